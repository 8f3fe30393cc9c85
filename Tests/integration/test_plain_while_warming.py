"""Never slower than plain pytest: a run that finds no fresh template runs plain pytest at once unless
the template is expected to serve it sooner (README: Never slower than plain pytest).

The project makes the choice clear-cut: every run pays the conftest's 1.5 s, and the warm-up also
collects a test module whose import takes 3 s, which a run of tests/test_a.py never imports. So a
clean warm-up takes ~5 s and a plain run of tests/test_a.py ~2 s.
"""
import os
import signal
import time

import pytest

import harness as H
from conftest import PYPROJECT

pytestmark = pytest.mark.usefixtures("needs_daemon")

CONFTEST = "import time\n\nimport app  # noqa: F401\n\ntime.sleep(1.5)\n"
FILES = {
    "pyproject.toml": PYPROJECT,
    "src/app.py": "VALUE = 1\n",
    "conftest.py": CONFTEST,
    "tests/test_a.py": '''
        import os, time
        from pathlib import Path

        def test_a():
            if "PID_FILE" in os.environ:
                Path(os.environ["PID_FILE"]).write_text(str(os.getpid()))
                time.sleep(float(os.environ["SLEEP"]))
            assert os.environ.get("FAIL") != "1"
    ''',
    "tests/test_heavy_collection.py": "import time\n\ntime.sleep(3)\n\n\ndef test_heavy():\n    pass\n",
}
# The default policy: these tests must not wait for the template (the harness sets PYTESTD_WAIT=1).
POLICY = {"PYTESTD_WAIT": None}
PLAIN_NOTE = "; running plain pytest\n"


@pytest.fixture
def proj(ctx):
    return ctx.project(FILES, label="plainwarm")


def run_a(proj, **env):
    return proj.pytest("-q", "tests/test_a.py", env_extra={**POLICY, **env})


def assert_same_as_plain(proj, served, **env):
    plain = proj.pytest("-q", "tests/test_a.py", via="plain", env_extra={**POLICY, **env})
    assert served.rc == plain.rc, served.describe()
    assert H.normalise(served.out) == H.normalise(plain.out), served.describe() + plain.describe()


def edit_conftest(proj, n):
    """A top-level edit: the manager first tries a reload, which refuses it (see test_conftest_edits.py);
    a run waiting for that reload is decided again when it fails."""
    proj.write("conftest.py", CONFTEST + f"EDIT = {n}\n")


def host_state(pid: int) -> str:
    return open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()[0]


def test_first_run_is_plain_then_timings_decide(proj):
    first = run_a(proj)
    assert first.err.endswith("pytestd: the warm template is not ready and its warm-up has not been timed yet"
                              + PLAIN_NOTE), first.describe()
    assert_same_as_plain(proj, first)
    assert proj.status()["plain runs"].startswith("1 (last: the warm template is not ready")

    assert proj.cli("start").rc == 0
    timings = proj.status()["timings"]
    assert "clean warm-up" in timings and "fastest plain run" in timings, timings

    # A conftest edit needs a clean host (~5 s); plain pytest takes ~2 s: plain, at once.
    edit_conftest(proj, 1)
    second = run_a(proj)
    assert "pytestd: plain pytest is sooner: the warm template is ready in ~" in second.err, second.describe()
    assert second.duration < 4.5, second.describe()
    assert_same_as_plain(proj, second)

    # A run that arrives late in the warm-up waits for it: ready in ~1 s beats plain's ~2 s.
    assert proj.cli("start").rc == 0
    clean_warmup = float(proj.status()["timings"].split("clean warm-up ")[1].split(" s")[0])
    edit_conftest(proj, 2)
    time.sleep(max(0.0, clean_warmup - 1.0))
    late = run_a(proj)
    assert "running plain pytest" not in late.err, late.describe()
    assert proj.status()["last run"].startswith("served by generation"), late.describe()

    # PYTESTD_WAIT=1 always waits.
    edit_conftest(proj, 3)
    waited = run_a(proj, PYTESTD_WAIT=1)
    assert waited.rc == 0 and "running plain pytest" not in waited.err, waited.describe()


def test_warmup_paused_while_plain_runs_and_exit_status_kept(proj):
    pid_file = proj.ctx.workdir / f"pid-{time.monotonic_ns()}"
    running = proj.start("-q", "tests/test_a.py", env_extra={**POLICY, "PID_FILE": pid_file, "SLEEP": "3"})
    assert H.wait_for(lambda: pid_file.exists() and pid_file.read_text(), 30), running.output_so_far()
    status = proj.status()
    warming = int(status["warming host pid"])
    assert status.get("warm-up paused") == "while 1 plain run(s) go", status
    assert host_state(warming) == "T"
    result = running.finish()
    assert result.rc == 0 and result.err.endswith(PLAIN_NOTE), result.describe()
    assert H.wait_for(lambda: "warm-up paused" not in proj.status(), 5)
    assert H.wait_for(lambda: not H.pid_alive(warming) or host_state(warming) != "T", 5)

    # A failing plain run's exit code reaches the caller.
    assert proj.cli("stop").rc == 0
    failed = run_a(proj, FAIL="1")
    assert failed.rc == 1 and failed.err.endswith(PLAIN_NOTE), failed.describe()


def test_plain_run_receives_the_callers_signal(proj):
    pid_file = proj.ctx.workdir / f"pid-{time.monotonic_ns()}"
    running = proj.start("-q", "tests/test_a.py", env_extra={**POLICY, "PID_FILE": pid_file, "SLEEP": "30"})
    assert H.wait_for(lambda: pid_file.exists() and pid_file.read_text(), 30), running.output_so_far()
    test_pid = int(pid_file.read_text())
    running.send_signal(signal.SIGTERM)
    result = running.finish(timeout=20)
    # Plain pytest dies of SIGTERM; the shim dies the same way.
    assert result.rc == -signal.SIGTERM, result.describe()
    assert H.wait_for(lambda: not H.pid_alive(test_pid), 5)


def test_manager_killed_while_warmup_paused_leaves_no_host(proj):
    pid_file = proj.ctx.workdir / f"pid-{time.monotonic_ns()}"
    running = proj.start("-q", "tests/test_a.py", env_extra={**POLICY, "PID_FILE": pid_file, "SLEEP": "5"})
    assert H.wait_for(lambda: pid_file.exists() and pid_file.read_text(), 30), running.output_so_far()
    status = proj.status()
    manager, warming = int(status["pid"]), int(status["warming host pid"])
    assert host_state(warming) == "T"
    os.kill(manager, signal.SIGKILL)
    assert H.wait_for(lambda: not H.pid_alive(warming), 5), f"paused host {warming} outlived its manager"
    result = running.finish()
    assert result.rc == 0, result.describe()
