"""Faults found by a review of the manager (issue 10): each ends in an answer — a precise message and a
correct exit code, or plain pytest when nothing has run yet — never a hang."""
import os
import shutil
import struct
import time

import pytest

import harness as H
from conftest import PYPROJECT, WAITS_FOR_RELEASE

pytestmark = pytest.mark.usefixtures("needs_daemon")

FILES = {
    "pyproject.toml": PYPROJECT,
    "tests/test_quick.py": "def test_quick():\n    pass\n",
    "tests/test_fails.py": "def test_fails():\n    assert 1 == 2\n",
    "tests/test_wait.py": WAITS_FOR_RELEASE,
}

# Lets a conftest stall its import until the test says so (a warm-up that takes as long as needed).
SLOW_CONFTEST = '''
    import os, time
    from pathlib import Path

    _gate = os.environ.get("WARMUP_GATE")
    if _gate:
        _deadline = time.monotonic() + 60
        while not Path(_gate).exists() and time.monotonic() < _deadline:
            time.sleep(0.05)
'''


@pytest.fixture
def proj(ctx):
    return ctx.project(FILES, label="faults")


def _start_waiting_run(proj, **env):
    started = proj.ctx.workdir / f"started-{time.monotonic_ns()}"
    release = proj.ctx.workdir / f"release-{time.monotonic_ns()}"
    running = proj.start("-q", "tests/test_wait.py",
                         env_extra={"STARTED_FILE": started, "RELEASE_FILE": release, **env})
    assert H.wait_for(lambda: started.exists(), 60), f"the test never started\n{running.output_so_far()}"
    return running, release


def _send_garbage_as_host(host_pid: int):
    """Writes a frame with no known message tag into the host's control socket (fd 3), from the host's
    side: the manager reads it as a malformed message from that host."""
    fd = H.duplicate_descriptor(host_pid, 3)
    try:
        os.write(fd, struct.pack("<I", 1) + b"\xff")
    finally:
        os.close(fd)


def test_a_host_sending_a_malformed_message_answers_its_running_clients(proj):
    assert proj.pytest("-q", "tests/test_quick.py").rc == 0
    running, release = _start_waiting_run(proj)
    host = int(proj.status()["host pid"])
    _send_garbage_as_host(host)
    r = running.finish(timeout=20)
    assert r.rc == 3, r.describe()
    assert "malformed message" in r.err, r.describe()
    assert H.wait_gone([host], 10) == [], "the host that sent it still runs"
    # The next run is served by a new host, correctly.
    assert proj.pytest("-q", "tests/test_fails.py").rc == 1
    assert proj.pytest("-q", "tests/test_quick.py").rc == 0


def test_a_warming_host_sending_a_malformed_message_sends_its_queued_runs_to_plain_pytest(ctx):
    gate = ctx.workdir / f"gate-{time.monotonic_ns()}"
    proj = ctx.project({**FILES, "conftest.py": SLOW_CONFTEST}, label="faults")
    running = proj.start("-q", "tests/test_fails.py", env_extra={"WARMUP_GATE": gate})
    warming = H.wait_for(lambda: proj.status().get("warming host pid"), 30)
    assert warming, proj.status()
    _send_garbage_as_host(int(warming))
    gate.write_text("open")
    r = running.finish(timeout=30)
    assert r.rc == 1, r.describe()
    assert "malformed message" in r.err and "running plain pytest" in r.err, r.describe()
    assert "1 failed" in r.out, r.describe()


# An upgrade replaces the installed `pytestd` while a manager of the old build serves.

def _own_install(ctx):
    """A copy of the build of our own, so replacing its binaries touches no other test."""
    inst = ctx.workdir / f"inst-{time.monotonic_ns()}"
    shutil.copytree(ctx.bins.dir.parent, inst, symlinks=True)
    return inst / "bin"


def _replace(path, text=None):
    new = path.with_name(path.name + ".new")
    if text is None:
        shutil.copy2(path, new)
    else:
        new.write_text(text)
        new.chmod(0o755)
    os.replace(new, path)


def _run(proj, shim, *args, **env):
    return H.run_command([shim, *args], proj.root, proj.env(env))


def test_a_superseded_manager_whose_successor_cannot_start_falls_back_to_plain_pytest(proj):
    bin_dir = _own_install(proj.ctx)
    assert _run(proj, bin_dir / "pytest", "-q", "tests/test_quick.py").rc == 0
    proj.used_daemon = True
    _replace(bin_dir / "pytestd", "#!/bin/sh\nexit 1\n")
    r = _run(proj, bin_dir / "pytest", "-q", "tests/test_fails.py")
    assert r.rc == 1, r.describe()
    assert "1 failed" in r.out and "running plain pytest" in r.err, r.describe()


def test_an_upgrade_with_a_run_in_flight_serves_the_next_run_at_once(proj):
    bin_dir = _own_install(proj.ctx)
    shim = bin_dir / "pytest"
    started = proj.ctx.workdir / f"started-{time.monotonic_ns()}"
    release = proj.ctx.workdir / f"release-{time.monotonic_ns()}"
    old = H.Running([shim, "-q", "tests/test_wait.py"], proj.root,
                    proj.env({"STARTED_FILE": started, "RELEASE_FILE": release}))
    proj.ctx.track(old)
    proj.used_daemon = True
    assert H.wait_for(lambda: started.exists(), 60), old.output_so_far()
    old_manager = int(proj.status()["pid"])
    _replace(bin_dir / "pytestd")
    r = _run(proj, shim, "-q", "tests/test_fails.py")
    assert r.rc == 1 and "1 failed" in r.out, r.describe()
    assert r.duration < 12, f"the run waited for the old manager's run: {r.describe()}"
    assert int(proj.status()["pid"]) != old_manager
    # The old manager finishes its run with the run's own status, then goes.
    release.write_text("fail")
    done = old.finish(timeout=30)
    assert done.rc == 1 and "1 failed" in done.out, done.describe()
    assert H.wait_gone([old_manager], 10) == []
    assert _run(proj, shim, "-q", "tests/test_quick.py").rc == 0


# Reloads are paired with their children by id: one that never started shifts nothing.

SLOW_IMPORT_PROJECT = {
    "pyproject.toml": PYPROJECT,
    "conftest.py": "import slow  # noqa: F401\n",
    "src/slow.py": "import time\ntime.sleep(3)\n",
    "src/model.py": "VALUE = 1\n",
    "tests/test_model.py": '''
        from model import VALUE

        def test_value():
            assert VALUE == 1
    ''',
}


def _log_text(proj):
    return open(proj.status()["log"], errors="replace").read()


def test_a_reload_that_cannot_start_does_not_shift_later_reloads(ctx):
    import resource
    proj = ctx.project(SLOW_IMPORT_PROJECT, label="reloadid")
    assert proj.pytest("-q").rc == 0
    assert proj.cli("start").rc == 0
    host = int(proj.status()["host pid"])
    # The host cannot open another descriptor: its reload's socket pair fails.
    soft, hard = resource.prlimit(host, resource.RLIMIT_NOFILE)
    resource.prlimit(host, resource.RLIMIT_NOFILE, (len(os.listdir(f"/proc/{host}/fd")), hard))
    proj.write("src/model.py", "VALUE = 2\n")
    assert H.wait_for(lambda: "cannot start a reload" in _log_text(proj), 20), _log_text(proj)
    resource.prlimit(host, resource.RLIMIT_NOFILE, (soft, hard))
    before = H.change_set_id(proj.status())
    proj.write("src/model.py", "VALUE = 3\n")
    r = proj.pytest("-q")
    assert r.rc == 1 and "assert 3 == 1" in r.out, r.describe()
    H.reload_after(proj, before)


def test_a_terminal_nobody_reads_does_not_stall_other_runs(ctx):
    """The manager writes its one-line notes ("waiting for the warm template") to a caller's terminal:
    one whose output is paused (Ctrl-S) or never read must not stop it from serving anyone else."""
    import subprocess
    import threading
    import tty
    gate = ctx.workdir / f"gate-{time.monotonic_ns()}"
    proj = ctx.project({**FILES, "conftest.py": SLOW_CONFTEST}, label="stuckterm")
    master, slave = os.openpty()
    tty.setraw(slave)
    filler = os.open(os.ttyname(slave), os.O_WRONLY | os.O_NONBLOCK | os.O_NOCTTY)
    try:
        while True:
            os.write(filler, b"x" * 4096)
    except BlockingIOError:
        pass
    os.close(filler)
    env = proj.env({"WARMUP_GATE": gate})
    stuck = subprocess.Popen([str(ctx.bins.shim), "-q", "tests/test_quick.py"], cwd=proj.root, env=env,
                             stdin=slave, stdout=slave, stderr=slave, start_new_session=True)
    proj.used_daemon = True
    os.close(slave)
    try:
        # Its request is sent once the shim waits in poll() on its connection to the manager.
        assert H.wait_for(lambda: _waits_on_manager(stuck.pid), 30)
        time.sleep(0.3)
        gate.write_text("open")
        r = proj.pytest("-q", "tests/test_fails.py", env_extra={"WARMUP_GATE": gate}, timeout=30)
        assert r.rc == 1 and "1 failed" in r.out, r.describe()
    finally:
        drained = []
        reader = threading.Thread(target=lambda: _drain(master, drained), daemon=True)
        reader.start()
        try:
            assert stuck.wait(30) == 0, b"".join(drained)
        finally:
            if stuck.poll() is None:
                H.kill_group(stuck.pid)
                stuck.wait()
            reader.join(5)


def _waits_on_manager(pid):
    try:
        sockets = [os.readlink(f"/proc/{pid}/fd/{fd}") for fd in os.listdir(f"/proc/{pid}/fd")]
        wchan = open(f"/proc/{pid}/wchan").read()
    except OSError:
        return False
    return any(target.startswith("socket:") for target in sockets) and wchan.startswith("poll")


def _drain(fd, into):
    while True:
        try:
            data = os.read(fd, 65536)
        except OSError:
            data = b""
        if not data:
            os.close(fd)
            return
        into.append(data)


# The log: rotated by size, and read from its end.

def test_logs_lines_reads_the_end_of_a_large_log(proj):
    assert proj.pytest("-q", "tests/test_quick.py").rc == 0
    log = proj.status()["log"]
    assert proj.cli("stop").rc == 0
    with open(log, "a") as f:
        line = "filler " * 15 + "\n"
        f.write(line * ((70 << 20) // len(line)))
        f.write("next to last line\nthe last line\n")
    r = proj.cli("logs", "--lines", "2")
    assert r.rc == 0 and r.out == "next to last line\nthe last line\n", r.describe()[:2000]


def test_the_log_is_rotated_by_size(ctx):
    proj = ctx.project({**FILES, "pyproject.toml": PYPROJECT + "\n[tool.pytestd]\nlog_max_mib = 0.1\n"},
                       label="logrot")
    assert proj.pytest("-q", "tests/test_quick.py").rc == 0
    log = proj.status()["log"]
    with open(log, "a") as f:
        f.write("written by a host\n" * 10000)  # 180 kB
    assert proj.pytest("-q", "tests/test_fails.py").rc == 1
    assert os.path.getsize(log) < 0.1 * (1 << 20), os.path.getsize(log)
    assert "written by a host" in open(log + ".1").read()
    # Logging goes on in the same file, and `logs` shows the rotated part before it.
    assert proj.pytest("-q", "tests/test_quick.py").rc == 0
    assert proj.cli("restart").rc == 0
    assert "restart requested" in open(log).read()
    shown = proj.cli("logs").out
    assert shown.index("written by a host") < shown.index("restart requested")


# Descriptors and buffers: bounded, and never a busy loop.

def _cpu_seconds(pid):
    fields = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def test_a_manager_out_of_descriptors_does_not_spin_and_recovers(proj):
    import resource
    import socket
    assert proj.pytest("-q", "tests/test_quick.py").rc == 0
    status = proj.status()
    manager = int(status["pid"])
    soft, hard = resource.prlimit(manager, resource.RLIMIT_NOFILE)
    resource.prlimit(manager, resource.RLIMIT_NOFILE, (len(os.listdir(f"/proc/{manager}/fd")) + 2, hard))
    connections = []
    try:
        for _ in range(8):
            s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            s.connect(status["socket"])
            connections.append(s)
        time.sleep(0.5)
        before = _cpu_seconds(manager)
        time.sleep(2)
        assert _cpu_seconds(manager) - before < 0.5, "the manager spins while it cannot accept"
    finally:
        resource.prlimit(manager, resource.RLIMIT_NOFILE, (soft, hard))
        for s in connections:
            s.close()
    assert proj.pytest("-q", "tests/test_fails.py").rc == 1
    assert "out of file descriptors" in _log_text(proj)


def test_a_client_announcing_a_huge_frame_is_closed_with_a_message(proj):
    import socket
    assert proj.pytest("-q", "tests/test_quick.py").rc == 0
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
        s.settimeout(5)
        s.connect(proj.status()["socket"])
        s.sendall(struct.pack("<I", 32 << 20) + b"\x00" * 4096)
        data = b""
        while True:
            chunk = s.recv(4096)
            if not chunk:
                break
            data += chunk
    assert b"too large" in data, data
    assert proj.pytest("-q", "tests/test_quick.py").rc == 0


# A warm-up that never ends: runs go to plain pytest after the configured time, the host is killed.

def test_a_warm_up_that_hangs_times_out_to_plain_pytest(ctx):
    proj = ctx.project({
        **FILES,
        "pyproject.toml": PYPROJECT + "\n[tool.pytestd]\nwarmup_timeout = 3\n",
        # Hangs only in pytestd's host, as a conftest waiting on an unreachable service would.
        "conftest.py": '''
            import os, time
            if os.path.basename(os.readlink("/proc/self/exe")) == "pytestd-host":
                time.sleep(3600)
        ''',
    }, label="warmtimeout")
    started = time.monotonic()
    r = proj.pytest("-q", "tests/test_fails.py", timeout=40)
    assert r.rc == 1 and "1 failed" in r.out, r.describe()
    assert "warm-up did not finish within 3 s" in r.err and "running plain pytest" in r.err, r.describe()
    assert time.monotonic() - started < 20
    status = proj.status()
    assert "warm-up did not finish within 3 s" in status.get("problem", ""), (status, _log_text(proj))
    # The zygote (paused before the conftest's body) stays: a fixed conftest is served from it.
    keep = [int(status["pid"])] + ([int(status["zygote pid"])] if "zygote pid" in status else [])
    assert H.wait_for(lambda: not H.processes_mentioning(str(proj.root), exclude=keep), 10), \
        "the stuck host lives on"
    r = proj.pytest("-q", "tests/test_quick.py", timeout=30)
    assert r.rc == 0 and "warm-up did not finish" in r.err, r.describe()
