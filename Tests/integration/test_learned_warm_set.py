"""The learned warm set: clean hosts import what recent runs used (kept per project under
$XDG_CACHE_HOME/pytestd), not every test path; `preload` overrides it.

Each project module appends `<pid> <module>` to imports.log beside the project when it is imported,
so the tests see which process imported what: the host (the template) or a run child."""
import os
from pathlib import Path

import harness as H
from conftest import assert_same_run

LOGGING_MODULE = '''
    import os
    from pathlib import Path

    with open(Path(__file__).resolve().parents[3] / "imports.log", "a") as _log:
        _log.write(f"{os.getpid()} {__name__}\\n")

    def value():
        return "%s"
'''

FILES = {
    "pyproject.toml": '''
        [tool.pytest.ini_options]
        testpaths = ["tests"]
        pythonpath = ["src"]
    ''',
    "src/alpha/__init__.py": "",
    "src/alpha/core.py": LOGGING_MODULE % "alpha",
    "src/alpha/extra.py": LOGGING_MODULE % "extra",
    "src/beta/__init__.py": "",
    "src/beta/core.py": LOGGING_MODULE % "beta",
    "tests/a/test_a.py": '''
        from alpha.core import value
        import alpha.extra

        def test_alpha():
            assert value() == "alpha"

        def test_extra():
            assert alpha.extra.value() == "extra"
    ''',
    "tests/b/test_b.py": '''
        from beta.core import value

        def test_beta():
            assert value() == "beta"

        def test_beta_fails():
            assert value() == "gamma"
    ''',
}


def importers(project, module: str) -> set:
    """Pids that imported `module` (from imports.log)."""
    log = project.root.parent / "imports.log"
    if not log.exists():
        return set()
    return {int(pid) for pid, name in (line.split() for line in log.read_text().splitlines()) if name == module}


def host_pid(project) -> int:
    status = project.status()
    assert status.get("state") == "ready", status
    return int(status["host pid"])


def cache_file(project) -> Path:
    r = project.cli("project")
    assert r.rc == 0, r.describe()
    key = H.parse_status(r.out)["manager"].split()[0]
    return Path(project.env()["XDG_CACHE_HOME"]) / "pytestd" / f"{key}.learned"


def run_a_twice_then_restart(pair):
    for _ in range(2):
        pair.compare("tests/a", "-q")
    assert pair.d.cli("restart").rc == 0


def test_runs_of_one_package_make_the_next_template_import_only_its_modules(ctx, needs_daemon):
    pair = ctx.pair(FILES)
    pair.compare("tests/a", "-q")
    first = host_pid(pair.d)
    assert first in importers(pair.d, "beta.core"), "the first template collects every test path"
    assert pair.d.status()["warm set"].startswith("all test paths (learned set: "), "learned from that run already"
    learned = cache_file(pair.d)
    assert learned.is_file() and str(ctx.workdir) in str(learned), "the learned set lives under XDG_CACHE_HOME"
    assert "alpha.core" in learned.read_text() and "beta.core" not in learned.read_text()

    run_a_twice_then_restart(pair)
    second = host_pid(pair.d)
    assert second != first
    assert second in importers(pair.d, "alpha.core") and second in importers(pair.d, "alpha.extra")
    assert second not in importers(pair.d, "beta.core"), "B's modules were not learned"
    assert pair.d.status()["warm set"].startswith("learned (")

    _, daemon = pair.compare("tests/b", "-q")
    assert daemon.rc == 1
    runs_of_b = importers(pair.d, "beta.core") - {first, second}
    assert runs_of_b, "the run of B imported B's modules itself"

    # A restarted manager warms the learned set at once (read back from the cache file), which now
    # holds B's modules too.
    assert not pair.d.stop()
    pair.compare("tests/a", "-q")
    third = host_pid(pair.d)
    assert third in importers(pair.d, "alpha.core") and third in importers(pair.d, "beta.core")
    assert pair.d.status()["warm set"].startswith("learned (")


def test_a_learned_module_deleted_from_disk_is_skipped_and_forgotten(ctx, needs_daemon):
    pair = ctx.pair(FILES)
    run_a_twice_then_restart(pair)
    assert "alpha.extra" in cache_file(pair.d).read_text()
    for project in (pair.d, pair.p):
        project.path("src/alpha/extra.py").unlink()
    pair.write("tests/a/test_a.py", '''
        from alpha.core import value

        def test_alpha():
            assert value() == "alpha"
    ''')
    assert pair.d.cli("restart").rc == 0
    pair.compare("tests/a", "-q")
    pair.compare("-q")
    assert "alpha.extra" not in cache_file(pair.d).read_text()
    assert "skipped learned module alpha.extra" in pair.d.cli("logs").out


def test_a_corrupt_learned_set_is_ignored(ctx, needs_daemon):
    pair = ctx.pair(FILES)
    pair.compare("tests/a", "-q")
    learned = cache_file(pair.d)
    assert not pair.d.stop()
    learned.write_bytes(b"pytestd learned imports 1\n\xff\x00 not a learned set")
    pair.compare("tests/b", "-q")
    assert pair.d.status()["warm set"].startswith("all test paths")
    assert pair.d.status()["host pid"] in {str(pid) for pid in importers(pair.d, "alpha.core")}
    assert "ignoring the learned warm set" in pair.d.cli("logs").out
    assert learned.read_text().startswith("pytestd learned imports 1\n"), "rewritten from the runs that followed"


def test_configured_preload_overrides_the_learned_set(ctx, needs_daemon):
    files = dict(FILES)
    files["pyproject.toml"] = FILES["pyproject.toml"] + '''
        [tool.pytestd]
        preload = ["tests"]
    '''
    pair = ctx.pair(files)
    run_a_twice_then_restart(pair)
    assert "alpha.core" in cache_file(pair.d).read_text()
    host = host_pid(pair.d)
    assert host in importers(pair.d, "beta.core"), "preload collects tests/b although no run used it"
    assert pair.d.status()["warm set"] == "preload (configured)"
    pair.compare("tests/b", "-q")


def test_a_run_that_imports_many_new_modules_grows_the_template_in_the_background(ctx, needs_daemon):
    files = dict(FILES)
    for i in range(30):
        files[f"src/gamma/m{i}.py"] = LOGGING_MODULE % f"m{i}"
    files["src/gamma/__init__.py"] = ""
    files["tests/c/test_c.py"] = '''
        import importlib

        def test_imports_many():
            names = [importlib.import_module(f"gamma.m{i}").value() for i in range(30)]
            assert names == [f"m{i}" for i in range(30)]
    '''
    pair = ctx.pair(files)
    pair.compare("tests/a", "-q")
    assert pair.d.cli("restart").rc == 0
    learned_host = host_pid(pair.d)
    assert learned_host not in importers(pair.d, "gamma.m0")
    pair.compare("tests/c", "-q")
    # The imports are inside a test, so no collection would have found them: the run taught them.
    grown = H.wait_for(lambda: (s := pair.d.status()).get("state") == "ready" and int(s["host pid"]) != learned_host,
                       timeout=60, interval=0.5)
    assert grown, "no clean host was warmed for what the run imported"
    assert host_pid(pair.d) in importers(pair.d, "gamma.m29")
    pair.compare("tests/c", "-q")


def test_a_function_only_collection_called_is_patched_in_place_in_a_learned_template(ctx, needs_daemon):
    """A learned template collects no test module, so a function a test module calls while collected
    (a parametrize list) never ran in it: patching it is exact, since each run imports the test module
    afresh and calls the new code."""
    pair = ctx.pair({
        "pyproject.toml": FILES["pyproject.toml"],
        "conftest.py": "import slow  # noqa: F401\n",
        "src/slow.py": "import time\ntime.sleep(0.8)\n",
        "src/app/__init__.py": "",
        "src/app/core.py": '''
            def make_rows():
                return [1, 2]
        ''',
        "tests/test_rows.py": '''
            import pytest
            from app import core

            @pytest.mark.parametrize("n", core.make_rows())
            def test_row(n):
                assert n < 3
        ''',
    })
    pair.compare("-q")
    assert pair.d.cli("restart").rc == 0
    assert pair.d.status()["warm set"].startswith("learned (")
    before = H.change_set_id(pair.d.status())
    pair.write("src/app/core.py", pair.d.path("src/app/core.py").read_text().replace("[1, 2]", "[1, 2, 3]"))
    _, daemon = pair.compare("-q", daemon_first=True)
    assert daemon.rc == 1
    assert "patched in place: app.core" in H.reload_after(pair.d, before)
