"""Invariant 1: a result is never computed from code older than what is on disk.

Ground truth here is the file content, not plain pytest: a fresh `python -m pytest` itself can be fooled by
a same-second, same-size edit (stale .pyc), which pytestd must not be.
"""
import os
import shutil
import subprocess
import time

import pytest

from conftest import PYPROJECT

ITERATIONS = int(os.environ.get("PYTESTD_IT_FRESH_ITERATIONS", "100"))

FILES = {
    "pyproject.toml": PYPROJECT,
    "src/flag.py": "VALUE = 1\n",
    "src/base.py": "FACTOR = 1\n",
    "src/mid.py": '''
        from base import FACTOR

        def scaled(x):
            return x * FACTOR
    ''',
    "src/helpers.py": '''
        def helper():
            return 1
    ''',
    "conftest.py": '''
        import pytest

        @pytest.fixture
        def expected():
            return 1
    ''',
    "tests/test_flag.py": '''
        import flag
        def test_flag():
            assert flag.VALUE == 1
    ''',
    "tests/test_from_import.py": '''
        from flag import VALUE
        def test_from_import():
            assert VALUE == 1
    ''',
    "tests/test_transitive.py": '''
        from mid import scaled
        def test_transitive():
            assert scaled(1) == 1
    ''',
    "tests/test_fixture.py": '''
        def test_fixture(expected):
            assert expected == 1
    ''',
    "tests/test_self.py": '''
        def test_self():
            assert 1 == 1
    ''',
    "tests/test_helpers.py": '''
        import helpers
        def test_helper_exists():
            assert helpers.helper() == 1
    ''',
}

# target -> (test file to run, file to edit, content passing, content failing); same sizes on purpose.
EDITS = {
    "imported-module": ("tests/test_flag.py", "src/flag.py", "VALUE = 1\n", "VALUE = 0\n"),
    "from-import-constant": ("tests/test_from_import.py", "src/flag.py", "VALUE = 1\n", "VALUE = 0\n"),
    "transitive-dependency": ("tests/test_transitive.py", "src/base.py", "FACTOR = 1\n", "FACTOR = 0\n"),
    "conftest-fixture": ("tests/test_fixture.py", "conftest.py", None, None),
    "test-file-itself": ("tests/test_self.py", "tests/test_self.py",
                         "def test_self():\n    assert 1 == 1\n", "def test_self():\n    assert 1 == 0\n"),
}


@pytest.fixture(scope="module")
def fresh(module_ctx):
    project = module_ctx.project(FILES, label="fresh")
    warm = project.pytest("-q")
    assert warm.rc == 0, warm.describe()
    return project


def _contents(project, target):
    test, path, good, bad = EDITS[target]
    if good is None:  # the conftest: keep the recorder header, swap the fixture's value
        text = project.path(path).read_text()
        good = text.replace("return 0", "return 1")
        bad = text.replace("return 1", "return 0")
    return test, path, good, bad


@pytest.mark.parametrize("target", sorted(EDITS))
def test_edit_then_immediate_run_sees_the_edit(fresh, target):
    test, path, good, bad = _contents(fresh, target)
    wrong = []
    for i in range(ITERATIONS):
        passing = i % 2 == 1
        fresh.write(path, good if passing else bad, raw=True)
        r = fresh.pytest("-q", "-p", "no:cacheprovider", test)
        if r.rc != (0 if passing else 1):
            wrong.append(f"iteration {i}: file says {'pass' if passing else 'fail'}, run gave rc={r.rc}\n"
                         f"{r.out[-600:]}")
    fresh.write(path, good, raw=True)
    assert not wrong, f"{len(wrong)}/{ITERATIONS} runs used old code:\n" + "\n".join(wrong)


def test_edit_by_rename_is_seen(fresh):
    for i in range(6):
        old, new = ("VALUE = 1", "VALUE = 0") if i % 2 == 0 else ("VALUE = 0", "VALUE = 1")
        r = fresh.bash(f"sed -i 's/{old}/{new}/' src/flag.py && \"$PYTEST\" -q -p no:cacheprovider "
                       f"tests/test_flag.py")
        assert r.rc == (1 if i % 2 == 0 else 0), f"iteration {i}:\n{r.describe()}"
    fresh.write("src/flag.py", "VALUE = 1\n", raw=True)


@pytest.mark.parametrize("direction", ["pass-to-fail", "fail-to-pass"])
def test_same_second_same_size_edit_is_seen(fresh, direction):
    good, bad = "VALUE = 1\n", "VALUE = 0\n"
    first, second = (good, bad) if direction == "pass-to-fail" else (bad, good)
    path = fresh.write("src/flag.py", first, raw=True)
    st = path.stat()
    r1 = fresh.pytest("-q", "-p", "no:cacheprovider", "tests/test_flag.py")
    assert r1.rc == (0 if first == good else 1), r1.describe()
    # Same size, mtime in the same whole second (different nanoseconds): what a .pyc check cannot see.
    sec = st.st_mtime_ns // 1_000_000_000 * 1_000_000_000
    frac = (st.st_mtime_ns + 1_000_000) % 1_000_000_000
    fresh.write("src/flag.py", second, raw=True, mtime_ns=sec + frac)
    assert path.stat().st_size == st.st_size
    r2 = fresh.pytest("-q", "-p", "no:cacheprovider", "tests/test_flag.py")
    assert r2.rc == (0 if second == good else 1), ("a same-second same-size edit was not seen\n"
                                                     + r2.describe())
    fresh.write("src/flag.py", good, raw=True)


def test_removed_function_is_really_gone(fresh):
    fresh.write("src/helpers.py", "def other():\n    return 2\n", raw=True)
    r = fresh.pytest("-q", "tests/test_helpers.py")
    assert r.rc == 1, r.describe()
    assert "AttributeError" in r.out and "helper" in r.out, r.describe()
    fresh.write("src/helpers.py", "def helper():\n    return 1\n", raw=True)
    r = fresh.pytest("-q", "tests/test_helpers.py")
    assert r.rc == 0, r.describe()


def test_new_module_and_deleted_module_are_seen(fresh):
    fresh.write("src/brand_new.py", "ANSWER = 42\n", raw=True)
    fresh.write("tests/test_new_module.py", "import brand_new\ndef test_new():\n    assert brand_new.ANSWER == 42\n",
                raw=True)
    r = fresh.pytest("-q", "tests/test_new_module.py")
    assert r.rc == 0, r.describe()
    os.unlink(fresh.path("src/brand_new.py"))
    r = fresh.pytest("-q", "tests/test_new_module.py")
    assert r.rc == 2 and "ModuleNotFoundError" in r.out, ("a deleted module must not be importable from "
                                                         "a warm host\n" + r.describe())
    os.unlink(fresh.path("tests/test_new_module.py"))
    r = fresh.pytest("-q", "tests/test_new_module.py")
    assert r.rc == 4, r.describe()


def test_syntax_error_is_reported_like_plain_and_never_passes_on_old_code(ctx):
    pair = ctx.pair(FILES, label="syntax")
    pair.compare("-q", "tests/test_flag.py")
    pair.write("src/flag.py", "VALUE = = 1\n")
    plain, daemon = pair.compare("-q", "tests/test_flag.py", full_output=True)
    assert daemon.rc == 2 and "SyntaxError" in daemon.out, daemon.describe()
    pair.write("src/flag.py", "VALUE = 1\n")
    plain, daemon = pair.compare("-q", "tests/test_flag.py", full_output=True)
    assert daemon.rc == 0


def test_syntax_error_in_a_test_file_after_a_good_run(ctx):
    pair = ctx.pair(FILES, label="syntax2")
    pair.compare("-q")
    pair.write("tests/test_self.py", "def test_self(:\n    pass\n")
    plain, daemon = pair.compare("-q", full_output=True)
    assert plain.rc == 2


def test_configuration_edit_applies_to_the_next_run(ctx):
    pair = ctx.pair(FILES, label="config")
    pair.compare("-q")
    pair.write("pyproject.toml", PYPROJECT.replace("[tool.pytest.ini_options]\n",
                                                   '[tool.pytest.ini_options]\naddopts = "-v -k flag"\n'))
    pair.compare(full_output=True)
    pair.write("pyproject.toml", PYPROJECT)
    pair.compare(full_output=True)


def test_hook_only_conftest_edit_applies_to_the_next_run(ctx):
    pair = ctx.pair(FILES, label="hook")
    pair.compare("-q")
    pair.write("tests/conftest.py", '''
        def pytest_collection_modifyitems(items):
            items[:] = [i for i in items if "flag" in i.nodeid]
    ''')
    pair.compare("-v", full_output=True)
    pair.write("tests/conftest.py", '''
        def pytest_collection_modifyitems(items):
            items[:] = [i for i in items if "self" in i.nodeid]
    ''')
    pair.compare("-v", full_output=True)


def test_non_python_file_read_at_import_is_seen(ctx):
    project = ctx.project({
        "pyproject.toml": PYPROJECT,
        "src/settings.py": '''
            from pathlib import Path
            MODE = (Path(__file__).parent / "mode.txt").read_text().strip()
        ''',
        "src/mode.txt": "good\n",
        "tests/test_mode.py": "import settings\ndef test_mode():\n    assert settings.MODE == 'good'\n",
    }, label="datafile")
    assert project.pytest("-q").rc == 0
    project.write("src/mode.txt", "bad!\n", raw=True)
    r = project.pytest("-q")
    assert r.rc == 1, "a data file read at import time changed; the next run must not use the old value\n" \
        + r.describe()


def test_an_upgraded_interpreter_gets_a_new_template(ctx, needs_daemon):
    """A venv whose interpreter is a copy (`--copies`), replaced by a new file as an upgrade would:
    the template embedding the old one must not serve the next run."""
    venv = ctx.workdir / "copies-venv"
    base = ctx.venv_for("3.11") / "bin" / "python"
    subprocess.run([str(base), "-m", "venv", "--copies", "--without-pip", str(venv)], check=True, timeout=120)
    site = next((venv / "lib").glob("python3.*/site-packages"))
    (site / "tested.pth").write_text(subprocess.check_output(
        [str(base), "-c", "import pytest, os; print(os.path.dirname(os.path.dirname(pytest.__file__)))"],
        text=True))
    project = ctx.project({"pyproject.toml": PYPROJECT, "tests/test_ok.py": "def test_ok():\n    pass\n"},
                          label="upgrade")
    assert project.pytest("-q", venv=venv).rc == 0
    generation = project.status(venv=venv)["host generation"]
    interpreter = os.path.realpath(venv / "bin" / "python")
    upgraded = interpreter + ".new"
    shutil.copy2(interpreter, upgraded)
    os.replace(upgraded, interpreter)
    r = project.pytest("-q", venv=venv)
    assert r.rc == 0 and "1 passed" in r.out, r.describe()
    status = project.status(venv=venv)
    assert status["host generation"] != generation, status
    assert status["last run"] == f"served by generation {status['host generation'].split()[0]}", status
    assert "python" in status["last retirement"], status
