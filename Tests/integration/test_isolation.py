"""Projects (roots) and interpreters never share a warm host."""
import json

import pytest

from conftest import PYPROJECT


def _project(ctx, who, label):
    return ctx.project({
        "pyproject.toml": PYPROJECT,
        "src/shared_name.py": f'WHO = "{who}"\n',
        "conftest.py": f'''
            import pytest
            @pytest.fixture
            def who_am_i():
                return "{who}"
        ''',
        "tests/test_who.py": '''
            import shared_name
            def test_who(who_am_i):
                assert shared_name.WHO == who_am_i
        ''',
    }, label=label)


def test_two_projects_never_share_a_host(ctx):
    a = _project(ctx, "a", "iso-a")
    b = _project(ctx, "b", "iso-b")
    for _ in range(3):
        for p in (a, b):
            r = p.pytest("-q")
            assert r.rc == 0, r.describe()


def test_nested_project_with_its_own_config_is_a_separate_root(ctx):
    outer = _project(ctx, "outer", "nested")
    inner = ctx.project({
        "pyproject.toml": PYPROJECT,
        "src/shared_name.py": 'WHO = "inner"\n',
        "tests/test_inner.py": "import shared_name\ndef test_inner():\n    assert shared_name.WHO == 'inner'\n",
    }, parent=outer.root, name="inner")
    for _ in range(2):
        r = outer.pytest("-q", "tests")
        assert r.rc == 0, r.describe()
        r = inner.pytest("-q")
        assert r.rc == 0, r.describe()
        assert f"rootdir: {inner.root}" in inner.pytest().out


def test_same_project_with_another_interpreter_uses_that_interpreter(ctx, needs_daemon):
    project = ctx.project({
        "pyproject.toml": PYPROJECT,
        "tests/test_version.py": '''
            import json, os, sys
            def test_version():
                with open(os.environ["STATE_FILE"], "w") as f:
                    json.dump([list(sys.version_info[:2]), sys.executable, sys.prefix], f)
        ''',
    }, label="twovenv")
    state = ctx.workdir / "twovenv.json"
    for version in ("3.11", "3.13", "3.11"):
        venv = ctx.venv_for(version)
        r = project.pytest("-q", venv=venv, env_extra={"STATE_FILE": state})
        assert r.rc == 0, r.describe()
        seen = json.loads(state.read_text())
        assert seen == [[int(x) for x in version.split(".")], f"{venv}/bin/python", str(venv)], version
