"""The caller's environment, working directory, argv and invocation style are honoured exactly, per command."""
import json

import pytest

from conftest import PYPROJECT

STATE = '''
    import json, os, sys
    from pathlib import Path

    def test_state():
        Path(os.environ["STATE_FILE"]).write_text(json.dumps({
            "env": dict(os.environ),
            "cwd": os.getcwd(),
            "argv": sys.argv,
            "path": sys.path,
            "executable": sys.executable,
            "prefix": sys.prefix,
            "main": getattr(sys.modules.get("__main__"), "__file__", None),
            "umask": os.umask(0o22),
        }))
'''

FILES = {
    "pyproject.toml": PYPROJECT,
    "src/pkg/__init__.py": "",
    "tests/test_state.py": STATE,
    "tests/test_marker_env.py": '''
        import os
        def test_marker_env():
            assert os.environ.get("ONLY_THIS_TIME") == os.environ.get("EXPECT_ONLY_THIS_TIME")
    ''',
    "tests/sub/__init__.py": "",
    "tests/sub/test_deep.py": '''
        import os
        from pathlib import Path
        def test_relative_data():
            assert Path("data.txt").read_text() == "beside the test"
        def test_cwd_is_sub():
            assert Path(os.getcwd()).name == "sub"
    ''',
    "tests/sub/data.txt": "beside the test",
}


@pytest.fixture(scope="module")
def envp(module_ctx):
    return module_ctx.pair(FILES, label="env")


def _state(project, via, env_extra=None, cwd=None, args=("tests/test_state.py",), invocation="script"):
    state = project.ctx.workdir / f"state-{via}.json"
    state.unlink(missing_ok=True)
    env = {"STATE_FILE": state, **(env_extra or {})}
    r = project.pytest(*args, "-q", via=via, env_extra=env, cwd=cwd, invocation=invocation)
    assert r.rc == 0, r.describe()
    s = json.loads(state.read_text())
    root = str(project.root)
    return json.loads(json.dumps(s).replace(root, "<ROOT>").replace(str(state), "<STATE>")), r


def _comparable_env(env):
    return {k: v for k, v in env.items() if k not in ("PYTESTD_IT_OUTCOMES",)}


def test_environment_inside_the_test_is_exactly_the_callers(envp):
    extra = {"SOME_VAR": "a b\nc", "EMPTY_VAR": "", "UNICODE_VAR": "h\u00e9llo \u2603"}
    plain, _ = _state(envp.p, "plain", extra)
    daemon, _ = _state(envp.d, "pytestd", extra)
    assert _comparable_env(daemon["env"]) == _comparable_env(plain["env"])
    assert daemon["env"]["UNICODE_VAR"] == "h\u00e9llo \u2603"


def test_a_variable_set_for_one_command_is_gone_in_the_next(envp):
    first = envp.d.pytest("tests/test_marker_env.py", "-q",
                          env_extra={"ONLY_THIS_TIME": "yes", "EXPECT_ONLY_THIS_TIME": "yes"})
    assert first.rc == 0, first.describe()
    second = envp.d.pytest("tests/test_marker_env.py", "-q")
    assert second.rc == 0, second.describe()
    # And the other way round: a variable removed between commands is really removed.
    third = envp.d.pytest("tests/test_marker_env.py", "-q", env_extra={"ONLY_THIS_TIME": "yes"})
    assert third.rc == 1, third.describe()


def test_the_run_sees_the_callers_cwd_and_relative_paths_from_a_subdirectory(envp):
    envp.compare("test_deep.py", "-v", cwd="tests/sub", full_output=True)
    envp.compare("test_deep.py::test_cwd_is_sub", "-q", cwd="tests/sub", full_output=True)
    envp.compare("../test_marker_env.py", "-q", cwd="tests/sub", full_output=True)
    plain, _ = _state(envp.p, "plain", cwd="tests/sub", args=("../test_state.py",))
    daemon, _ = _state(envp.d, "pytestd", cwd="tests/sub", args=("../test_state.py",))
    assert daemon["cwd"] == plain["cwd"] == "<ROOT>/tests/sub"
    assert daemon["argv"] == plain["argv"]
    assert daemon["path"] == plain["path"]


@pytest.mark.parametrize("invocation", ["script", "module"])
def test_sys_path_and_argv_match_the_invocation_style(envp, invocation):
    """`pytest` puts the script's bin dir in sys.path[0]; `python -m pytest` puts the cwd there."""
    if envp.d.ctx.bins.fake and invocation == "module":
        pytest.skip("PYTESTD_INVOCATION needs the real shim")
    plain, _ = _state(envp.p, "plain", invocation=invocation)
    daemon, _ = _state(envp.d, "pytestd", invocation=invocation)
    venv = str(envp.p.venv)
    if invocation == "script":
        assert f"{venv}/bin" in plain["path"]
        assert plain["argv"][0] == f"{venv}/bin/pytest"
    else:
        assert f"{venv}/bin" not in plain["path"]
        assert plain["argv"][0].endswith("pytest/__main__.py")
    assert daemon["argv"] == plain["argv"]
    assert daemon["path"] == plain["path"]
    assert daemon["executable"] == plain["executable"] == f"{venv}/bin/python"
    assert daemon["prefix"] == plain["prefix"] == venv


def test_umask_of_the_caller_is_used(envp):
    state = envp.d.ctx.workdir / "state-umask.json"
    for via, project in (("plain", envp.p), ("pytestd", envp.d)):
        r = project.pytest("tests/test_state.py", "-q", via=via, env_extra={"STATE_FILE": state},
                           umask=0o027)
        assert r.rc == 0, r.describe()
        assert json.loads(state.read_text())["umask"] == 0o027, via


def test_pytest_addopts_and_pythonpath_style_variables_apply_per_command(envp):
    envp.compare("tests/test_marker_env.py", env_extra={"PYTEST_ADDOPTS": "-v --tb=line"}, full_output=True)
    envp.compare("tests/test_marker_env.py", full_output=True)
    envp.compare("tests/test_marker_env.py", env_extra={"PYTEST_ADDOPTS": "--bogus"}, full_output=True)


@pytest.mark.parametrize("value", ["utf-8", "latin-1:replace", ":backslashreplace", "ascii"])
def test_pythonioencoding_is_served_with_the_streams_of_a_fresh_start(envp, value):
    """debugpy's launcher sets PYTHONIOENCODING=utf-8 for every editor debug session."""
    envp.write("tests/test_streams.py", '''
        import sys
        def test_streams():
            for stream in (sys.stdin, sys.stdout, sys.stderr):
                print(stream.encoding, stream.errors)
            print("\u00e9\u20ac")
    ''')
    before = int(envp.d.status().get("runs", "0"))
    envp.compare("-s", "-q", "tests/test_streams.py", env_extra={"PYTHONIOENCODING": value}, full_output=True)
    assert int(envp.d.status().get("runs", "0")) == before + 1, "not served by the warm manager"


def test_stdin_from_a_file_is_passed_through(envp):
    envp.write("tests/test_stdin.py", '''
        import sys
        def test_reads_stdin():
            assert sys.stdin.read() == "piped input\\n"
    ''')
    data = envp.d.ctx.workdir / "stdin.txt"
    data.write_text("piped input\n")
    for via, project in (("plain", envp.p), ("pytestd", envp.d)):
        with open(data) as f:
            r = project.pytest("-s", "-q", "tests/test_stdin.py", via=via, stdin=f)
        assert r.rc == 0, r.describe()


@pytest.mark.parametrize("where", ["src-module", "conftest"])
def test_code_reading_the_environment_at_import_sees_this_commands_value(ctx, where):
    """Settings modules commonly read os.environ at import; a warm host imported them under another
    command's environment (the one that started the manager), which must not leak into this run."""
    reader = 'import os\nMODE = os.environ.get("APP_MODE", "default")\n'
    files = {
        "pyproject.toml": PYPROJECT,
        "tests/test_settings.py": '''
            import os
            from settings import MODE
            def test_mode():
                assert MODE == os.environ.get("APP_MODE", "default")
        ''',
    }
    if where == "src-module":
        files["src/settings.py"] = reader
    else:
        files["conftest.py"] = reader
        files["tests/test_settings.py"] = files["tests/test_settings.py"].replace(
            "from settings import MODE", "from conftest import MODE")
    project = ctx.project(files, label=f"envimp-{where}")
    wrong = []
    for mode in ("first", None, "second", "second", None):
        r = project.pytest("-q", env_extra={"APP_MODE": mode})
        if r.rc != 0:
            wrong.append(f"APP_MODE={mode}: rc={r.rc}\n{r.out[-400:]}")
    assert not wrong, "\n".join(wrong)
