"""Starting, stopping, crashing and killing: nothing hangs, nothing leaks, status tells the truth."""
import os
import re
import signal
import time

import pytest

import harness as H
from conftest import PYPROJECT

pytestmark = pytest.mark.usefixtures("needs_daemon")

FILES = {
    "pyproject.toml": PYPROJECT,
    "tests/test_quick.py": "def test_quick():\n    pass\n",
    "tests/test_sleep.py": '''
        import os, time
        from pathlib import Path
        import pytest

        def test_sleeps():
            if "PID_FILE" not in os.environ:
                pytest.skip("started by the harness only")
            Path(os.environ["PID_FILE"]).write_text(str(os.getpid()))
            time.sleep(float(os.environ.get("SLEEP", "30")))
    ''',
    "tests/test_child.py": '''
        import os, subprocess, sys, time
        from pathlib import Path
        import pytest

        def test_spawns_a_child_and_sleeps():
            if "PID_FILE" not in os.environ:
                pytest.skip("started by the harness only")
            child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
            Path(os.environ["PID_FILE"]).write_text(f"{os.getpid()} {child.pid}")
            time.sleep(30)
    ''',
}


@pytest.fixture
def proj(ctx):
    return ctx.project(FILES, label="life")


def _pid_file(proj):
    f = proj.ctx.workdir / f"pid-{time.monotonic_ns()}"
    return f


def _start_sleeper(proj, test="tests/test_sleep.py", **env):
    pid_file = _pid_file(proj)
    running = proj.start("-q", test, env_extra={"PID_FILE": pid_file, **env})
    text = H.wait_for(lambda: pid_file.exists() and pid_file.read_text().strip(), 30)
    assert text, f"the test never started\n{running.output_so_far()}"
    return running, [int(x) for x in text.split()]


def _status_pids(proj):
    s = proj.status()
    return int(s["pid"]), [int(x) for x in re.findall(r"\d+", s.get("host pid", ""))]


def test_command_substitution_returns_promptly_when_it_starts_the_manager(proj):
    assert proj.status() == {}, "expected no manager for a new project"
    r = proj.bash('out=$("$PYTEST" -q); rc=$?; echo "rc=$rc"; printf "%s\\n" "$out" | tail -1', timeout=30)
    assert "rc=0" in r.out and "1 passed, 2 skipped" in r.out, r.describe()
    assert r.duration < 10, f"$(pytest) took {r.duration:.1f}s to return\n{r.describe()}"
    r = proj.bash('out=$("$PYTEST" -q 2>&1); echo "rc=$?"', timeout=30)
    assert "rc=0" in r.out and r.duration < 5, r.describe()
    assert proj.status().get("state") is not None


def test_start_waits_until_ready_and_status_tells_the_truth(proj):
    r = proj.cli("start")
    assert r.rc == 0, r.describe()
    s = proj.status()
    assert s.get("state") == "ready", s
    pid = int(s["pid"])
    assert H.pid_alive(pid)
    assert s.get("root") == str(proj.root) or os.path.realpath(s.get("root", "")) == os.path.realpath(proj.root), s
    assert str(proj.venv) in s.get("python", "") or "3.11" in s.get("python", ""), s
    hosts = [int(x) for x in re.findall(r"\d+", s.get("host pid", ""))]
    assert hosts and all(H.pid_alive(h) for h in hosts), s
    runs_before = int(s.get("runs", "0"))
    assert proj.pytest("-q").rc == 0
    assert proj.pytest("-q").rc == 0
    s2 = proj.status()
    assert int(s2["pid"]) == pid, "a second manager was started for the same project"
    assert int(s2.get("runs", "0")) >= runs_before + 2, (s, s2)
    again = proj.cli("start")
    assert again.rc == 0, again.describe()
    assert int(proj.status()["pid"]) == pid, "`start` on a running manager must not replace it"


def test_stop_leaves_no_processes_behind(proj):
    assert proj.pytest("-q").rc == 0
    pid, hosts = _status_pids(proj)
    r = proj.cli("stop")
    assert r.rc == 0, r.describe()
    # `stop` returns when they are gone: check immediately, with no grace period.
    alive = [p for p in [pid, *hosts] if H.pid_alive(p)]
    assert not alive, f"`pytestd stop` returned while these still run: {alive}"
    s = proj.cli("status")
    assert s.rc == 3 and "not running" in s.out, s.describe()


def test_restart_replaces_the_warm_host_and_keeps_serving(proj):
    assert proj.pytest("-q").rc == 0
    pid, hosts = _status_pids(proj)
    r = proj.cli("restart")
    assert r.rc == 0, r.describe()
    assert not H.wait_gone(hosts, 10), "the old host survived `pytestd restart`"
    s = proj.status()
    assert s.get("state") == "ready", f"`restart` returned before the new host was ready: {s}"
    _, new_hosts = _status_pids(proj)
    assert new_hosts and not set(new_hosts) & set(hosts)
    assert proj.pytest("-q").rc == 0


def test_logs_prints_the_manager_log(proj):
    assert proj.pytest("-q").rc == 0
    r = proj.cli("logs")
    assert r.rc == 0 and r.out.strip(), r.describe()


@pytest.mark.parametrize("shell", ["bash", "zsh", "fish"])
def test_shell_init_prints_a_snippet(proj, shell):
    r = proj.cli("shell-init", shell)
    assert r.rc == 0 and r.out.strip(), r.describe()
    if shell == "bash":
        check = H.run_command(["bash", "-n", "-c", r.out], proj.root, proj.env(), timeout=10)
        assert check.rc == 0, check.describe()


def test_stale_socket_of_a_killed_manager_does_not_block_the_next_run(proj):
    assert proj.cli("start").rc == 0
    pid, hosts = _status_pids(proj)
    os.kill(pid, signal.SIGKILL)
    assert not H.wait_gone([pid], 5)
    r = proj.pytest("-q", timeout=30)
    assert r.rc == 0, r.describe()
    new_pid, _ = _status_pids(proj)
    assert new_pid != pid


def test_hosts_die_when_their_manager_is_killed(proj):
    assert proj.cli("start").rc == 0
    pid, hosts = _status_pids(proj)
    os.kill(pid, signal.SIGKILL)
    alive = H.wait_gone(hosts, 10)
    assert not alive, f"hosts outlived their SIGKILLed manager: {[(p, H.proc_info(p)) for p in alive]}"


def test_manager_killed_during_a_run_fails_the_shim_with_a_message(proj):
    running, (run_pid,) = _start_sleeper(proj)
    pid, _ = _status_pids(proj)
    os.kill(pid, signal.SIGKILL)
    r = running.finish(timeout=20)
    assert r.rc != 0, "the shim must not report success for a run whose daemon died\n" + r.describe()
    assert r.err.strip(), "the shim must say what happened on stderr\n" + r.describe()
    alive = H.wait_gone([run_pid], 10)
    assert not alive, "the run outlived its manager"


def test_shim_killed_mid_run_kills_the_run(proj):
    running, (run_pid,) = _start_sleeper(proj)
    running.proc.kill()  # SIGKILL to the shim only
    running.proc.wait(5)
    alive = H.wait_gone([run_pid], 10)
    assert not alive, f"the run {run_pid} survived its client: {H.proc_info(run_pid)}"
    assert proj.pytest("-q", "tests/test_quick.py").rc == 0


def test_shim_killed_mid_run_kills_processes_the_test_started(proj):
    running, (run_pid, child_pid) = _start_sleeper(proj, "tests/test_child.py")
    running.proc.kill()
    running.proc.wait(5)
    alive = H.wait_gone([run_pid, child_pid], 10)
    assert not alive, f"survived the client: {[(p, H.proc_info(p)) for p in alive]}"


def test_sigterm_to_the_shim_ends_the_run(proj):
    running, (run_pid,) = _start_sleeper(proj)
    running.send_signal(signal.SIGTERM)
    r = running.finish(timeout=15)
    assert r.rc != 0, r.describe()
    assert not H.wait_gone([run_pid], 10), "the run survived SIGTERM to its shim"


def test_next_run_works_after_the_host_is_killed(proj):
    assert proj.pytest("-q").rc == 0
    _, hosts = _status_pids(proj)
    for h in hosts:
        os.kill(h, signal.SIGKILL)
    assert not H.wait_gone(hosts, 5)
    r = proj.pytest("-q", timeout=30)
    assert r.rc == 0, r.describe()


def test_concurrent_runs_do_not_wait_for_each_other(proj):
    running, (run_pid,) = _start_sleeper(proj, SLEEP="8")
    t0 = time.monotonic()
    quick = proj.pytest("-q", "tests/test_quick.py", timeout=30)
    took = time.monotonic() - t0
    assert quick.rc == 0, quick.describe()
    assert took < 5, f"a second run waited {took:.1f}s for the first one"
    r = running.finish(timeout=30)
    assert r.rc == 0, r.describe()


def test_many_quick_runs_in_a_row_leave_no_zombies_or_extra_processes(proj):
    for _ in range(15):
        assert proj.pytest("-q", "tests/test_quick.py").rc == 0
    time.sleep(0.5)
    pid, hosts = _status_pids(proj)
    children = []
    for d in os.listdir("/proc"):
        if d.isdigit():
            try:
                stat = open(f"/proc/{d}/stat").read()
            except OSError:
                continue
            fields = stat[stat.rfind(")") + 2:].split()
            if int(fields[1]) in (pid, *hosts):
                children.append((int(d), fields[0], H.proc_info(int(d))))
    zombies = [c for c in children if c[1] == "Z"]
    assert not zombies, f"zombie children of the daemon: {zombies}"
    assert len(children) <= 6, f"unexpectedly many children after 15 runs: {children}"


def test_stop_during_a_run_ends_the_run_and_the_shim_fails(proj):
    running, (run_pid,) = _start_sleeper(proj)
    pid, hosts = _status_pids(proj)
    r = proj.cli("stop", timeout=30)
    assert r.rc == 0, r.describe()
    alive = [p for p in (pid, *hosts, run_pid) if H.pid_alive(p)]
    assert not alive, f"`pytestd stop` returned while these still run: {alive}"
    shim = running.finish(timeout=15)
    assert shim.rc != 0, "a run ended by `pytestd stop` must not look successful\n" + shim.describe()
