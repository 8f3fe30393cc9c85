"""A run through pytestd is indistinguishable from plain pytest: same exit code, same per-test outcomes,
same summary (and, where cheap to check, the same output modulo paths and timings)."""
import signal

import pytest

from conftest import SAMPLE, PYPROJECT


@pytest.fixture(scope="module")
def sample(module_ctx):
    """One sample project pair shared by the read-only fidelity tests (one warm manager)."""
    return module_ctx.pair(label="fidelity")


@pytest.mark.parametrize("args", [
    pytest.param([], id="default"),
    pytest.param(["-q"], id="q"),
    pytest.param(["-v"], id="v"),
    pytest.param(["-rA"], id="rA"),
    pytest.param(["-k", "add and not wrong"], id="k"),
    pytest.param(["-k", "TestGroup"], id="k-class"),
    pytest.param(["-m", "slow"], id="m"),
    pytest.param(["-m", "not slow", "-q"], id="m-not"),
    pytest.param(["-x"], id="x"),
    pytest.param(["--maxfail=2", "-q"], id="maxfail"),
    pytest.param(["tests/test_calc.py::test_table[two]", "tests/test_calc.py::test_table[zero-bad]", "-v"],
                 id="nodeid-param"),
    pytest.param(["tests/test_other.py::TestGroup::test_beta"], id="nodeid-method"),
    pytest.param(["-p", "no:warnings"], id="p-no-warnings"),
    pytest.param(["-p", "no:cacheprovider", "-q"], id="p-no-cache"),
    pytest.param(["--tb=short"], id="tb-short"),
    pytest.param(["--tb=line"], id="tb-line"),
    pytest.param(["--tb=no", "-q"], id="tb-no"),
    pytest.param(["--tb=long", "-l"], id="tb-long-locals"),
    pytest.param(["-s", "-q"], id="s"),
    pytest.param(["--co", "-q"], id="collect-only-q"),
    pytest.param(["--collect-only"], id="collect-only"),
    pytest.param(["-W", "error::DeprecationWarning", "-q"], id="W-error"),
    pytest.param(["--strict-markers", "-q", "tests/test_calc.py"], id="strict-markers"),
    pytest.param(["-k", "matches_nothing_at_all"], id="exit5-deselected"),
    pytest.param(["--no-such-option"], id="exit4-usage"),
    pytest.param(["tests/does_not_exist.py"], id="exit4-missing-file"),
    pytest.param(["--version"], id="version"),
    pytest.param(["--markers"], id="markers"),
    pytest.param(["--fixtures", "tests/test_calc.py"], id="fixtures"),
])
def test_output_equals_plain_pytest(sample, args):
    sample.compare(*args, full_output=True)


def test_help_equals_plain_pytest(sample):
    sample.compare("--help", full_output=True)


def test_last_failed_and_failed_first_see_the_same_cache_as_plain(sample):
    # The pair runs every command on both copies, so both caches evolve identically.
    sample.compare("-q")
    sample.compare("--lf", "-q", full_output=True)
    sample.compare("--lf", "-v", full_output=True)
    sample.compare("--ff", "-q", full_output=True)
    sample.compare("--lf", "--lfnf=none", "-k", "alpha", "-q")
    sample.compare("--cache-show", full_output=True)
    sample.compare("--sw", "-q")
    sample.compare("--sw", "-q")
    sample.compare("--cache-clear", "--lf", "-q")


def test_lf_after_fixing_the_failures_runs_everything_again(ctx):
    pair = ctx.pair({
        "pyproject.toml": PYPROJECT,
        "src/m.py": "X = 1\n",
        "tests/test_m.py": '''
            import m
            def test_x(): assert m.X == 2
            def test_y(): assert True
        ''',
    }, label="lf")
    pair.compare("-q")
    pair.compare("--lf", "-v", full_output=True)
    pair.write("src/m.py", "X = 2\n")
    pair.compare("--lf", "-v", full_output=True)
    pair.compare("--lf", "-v", full_output=True)


def _special(test_body, conftest="", extra=None):
    files = {"pyproject.toml": PYPROJECT, "conftest.py": conftest,
             "tests/test_special.py": test_body, "tests/test_fine.py": "def test_fine():\n    pass\n"}
    files.update(extra or {})
    return files


SPECIAL = {
    "collection-error": _special('''
        import no_such_module_anywhere
        def test_never(): pass
    '''),
    "syntax-error": _special('''
        def test_broken(:
            pass
    '''),
    "sys-exit-3": _special('''
        import sys
        def test_exit(): sys.exit(3)
        def test_after(): pass
    '''),
    "os-exit-7": _special('''
        import os
        def test_exit(): os._exit(7)
        def test_after(): pass
    '''),
    "pytest-exit": _special('''
        import pytest
        def test_exit(): pytest.exit("stop here", returncode=9)
        def test_after(): pass
    '''),
    "internal-error": _special("def test_x(): pass\n", conftest='''
        def pytest_collection_modifyitems(items):
            raise RuntimeError("hook exploded")
    '''),
    "conftest-import-error": _special("def test_x(): pass\n", extra={"tests/conftest.py": "import definitely_missing_pkg\n"}),
    "no-tests": {"pyproject.toml": PYPROJECT, "tests/test_empty.py": "x = 1\n"},
    "usage-error-in-ini": {"pyproject.toml": PYPROJECT.replace("pythonpath", 'addopts = "--bogus-flag"\npythonpath'),
                           "tests/test_a.py": "def test_a(): pass\n"},
    "keyboard-interrupt-in-test": _special('''
        def test_ki(): raise KeyboardInterrupt
        def test_after(): pass
    '''),
    "unraisable-and-thread-exc": _special('''
        import threading
        class Bad:
            def __del__(self): raise ValueError("in del")
        def test_unraisable():
            Bad()
        def test_thread():
            t = threading.Thread(target=lambda: 1 / 0); t.start(); t.join()
    '''),
    "recursion": _special('''
        def f(n): return f(n + 1)
        def test_deep(): f(0)
    '''),
    "stderr-and-stdout": _special('''
        import sys, logging
        def test_out():
            print("to stdout"); sys.stderr.write("to stderr\\n"); logging.getLogger("x").warning("logged")
            assert 0
    '''),
}


@pytest.mark.parametrize("kind", sorted(SPECIAL))
def test_special_outcomes_equal_plain_pytest(ctx, kind):
    pair = ctx.pair(SPECIAL[kind], label=kind)
    plain, daemon = pair.compare(full_output=kind not in ("recursion",))
    if kind == "no-tests":
        assert plain.rc == 5
    if kind == "internal-error":
        assert plain.rc == 3
    if kind == "usage-error-in-ini":
        assert plain.rc == 4
    if kind == "os-exit-7":
        assert plain.rc == 7


@pytest.mark.parametrize("how,sig", [
    ("os.kill(os.getpid(), signal.SIGKILL)", signal.SIGKILL),
    ("ctypes.string_at(0)", signal.SIGSEGV),
    ("os.abort()", signal.SIGABRT),
    ("os.kill(os.getpid(), signal.SIGTERM)", signal.SIGTERM),
], ids=["sigkill", "segfault", "abort", "sigterm"])
def test_run_killed_by_signal_is_reported_as_that_signal(ctx, how, sig):
    pair = ctx.pair(_special(f'''
        import ctypes, os, signal
        def test_before(): pass
        def test_dies(): {how}
        def test_after(): pass
    '''), label=f"sig{int(sig)}")
    plain, daemon = pair.run_both("-v")
    assert plain.rc == -sig, plain.describe()
    assert daemon.rc == -sig, ("the shim must die by the same signal as the run (never exit 0)\n"
                               + daemon.describe())
    assert daemon.outcomes == plain.outcomes
    # The output up to the crash is the same (faulthandler's dump included for the segfault).
    assert "test_before PASSED" in daemon.out, daemon.describe()
    if sig == signal.SIGSEGV:
        assert "Fatal Python error: Segmentation fault" in daemon.err, daemon.describe()


def test_manager_keeps_serving_after_a_run_crashes(ctx, needs_daemon):
    pair = ctx.pair(_special('''
        import os, signal
        def test_dies(): os.kill(os.getpid(), signal.SIGSEGV)
    '''), label="aftercrash")
    plain, daemon = pair.run_both("-q")
    assert daemon.rc == -signal.SIGSEGV, daemon.describe()
    pair.compare("-q", "tests/test_fine.py", full_output=True)
    assert pair.d.status().get("state") == "ready"
