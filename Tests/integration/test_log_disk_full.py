"""Disk full while writing the log (issue 10's campaign): the runtime directory is a small tmpfs that
the test fills. The manager keeps serving runs exactly as plain pytest does, never crashes or hangs,
says once that its log cannot be written (status; a note on the next run's terminal), and writes
again, saying how many lines were lost, once there is room. A manager started on the full disk serves
too: a socket, a lock and an empty log take no data blocks."""
import errno
import json
import os
import re
import subprocess
import time

import pytest

import harness as H
from conftest import PYPROJECT, assert_same_run

pytestmark = pytest.mark.usefixtures("needs_daemon")

FILES = {
    "pyproject.toml": PYPROJECT,
    "conftest.py": "import mod  # noqa: F401\n",
    "src/mod.py": "VALUE = 1\n",
    "tests/test_mod.py": '''
        import mod

        def test_value():
            assert mod.VALUE == 1

        def test_fails_on_purpose():
            assert mod.VALUE == 0
    ''',
}


@pytest.fixture
def full_disk(ctx):
    """A pair whose pytestd side keeps its runtime directory (socket, lock, log) on a 256 KiB tmpfs."""
    if os.geteuid() != 0:
        pytest.skip("mounting a tmpfs needs root")
    mount = ctx.workdir / f"tmpfs-{time.monotonic_ns()}"
    mount.mkdir(mode=0o700)
    r = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=256k,mode=0700", "tmpfs", str(mount)],
                       capture_output=True, text=True)
    if r.returncode != 0:
        mount.rmdir()
        pytest.skip(f"cannot mount a tmpfs: {r.stderr.strip()}")
    pair = ctx.pair(FILES, label="diskfull")
    pair.d.runtime_dir = mount
    pair.mount = mount
    try:
        yield pair
    finally:
        # The manager holds its log open: stop it first, and detach the mount in any case.
        problems = pair.d.stop()
        if subprocess.run(["umount", str(mount)], capture_output=True).returncode != 0:
            subprocess.run(["umount", "-l", str(mount)], capture_output=True)
        mount.rmdir()
        assert not problems, problems


def fill(directory) -> int:
    """Writes a file until the file system is full; returns how many bytes it took. The log is first
    padded to a page boundary: tmpfs takes a page at a time, and the rest of its last page would
    take a few more lines."""
    for log in directory.glob("*.log"):
        with open(log, "a") as f:
            f.write("\n" * (-log.stat().st_size % 4096))
    written = 0
    with open(directory / "filler", "ab", buffering=0) as f:
        while True:
            try:
                written += f.write(b"x" * 4096)
            except OSError as e:
                assert e.errno == errno.ENOSPC, e
                break
    return written


def status_json(proj) -> dict:
    r = proj.cli("status", "--json")
    assert r.rc == 0, r.describe()
    return json.loads(r.out)


def log_text(proj) -> str:
    return open(status_json(proj)["log"], errors="replace").read()


def right_run(pair, value: int, **kw):
    plain, daemon = pair.run_both("-q", "tests/test_mod.py", timeout=90, **kw)
    assert_same_run(plain, daemon, pair.p.root, pair.d.root)
    expected = "1 failed, 1 passed" if value == 1 else "2 failed"
    assert daemon.rc == 1 and H.summary_line(daemon.out) == expected, daemon.describe()
    return daemon


def edit_and_run(pair, value: int):
    """An edit, reloaded (or served by the clean host that warms meanwhile): the manager logs it."""
    before = H.change_set_id(pair.d.status())
    pair.write("src/mod.py", f"VALUE = {value}\n# {time.monotonic_ns()}\n")
    H.wait_for(lambda: H.change_set_id(pair.d.status()) > before, 10)
    right_run(pair, value)


def test_disk_full_while_writing_the_log(full_disk):
    pair = full_disk
    right_run(pair, 1)
    manager = status_json(pair.d)["pid"]
    assert "log_problem" not in status_json(pair.d)

    assert fill(pair.mount) > 0
    edit_and_run(pair, 2)
    # A clean host warms and serves on the full disk too.
    assert pair.d.cli("restart").rc == 0
    right_run(pair, 2)
    document = status_json(pair.d)
    assert document["pid"] == manager and document["state"] == "ready", document
    assert document["log_problem"].startswith("cannot be written for "), document
    assert "No space left on device (ENOSPC);" in document["log_problem"], document
    lost = int(document["log_problem"].split("; ")[-1].split()[0])
    assert lost >= 2, document
    assert pair.d.status()["log problem"].split(": ", 1)[1] == document["log_problem"].split(": ", 1)[1]

    # Said once on a terminal, not for every run (nor on pipes: those get what plain pytest writes).
    notes = []
    for _ in range(2):
        run = pair.d.pty("-q", env_extra={"PYTESTD_WAIT": "1"})
        assert run.wait(90) == 1, run.text
        assert "1 failed" not in run.text and "2 failed" in run.text, run.text
        notes.append(run.text.count("cannot write the log"))
    assert notes == [1, 0], notes

    # Room again: the manager notices with nothing to log, and says what was lost.
    (pair.mount / "filler").unlink()
    assert H.wait_for(lambda: "log_problem" not in status_json(pair.d), 15), status_json(pair.d)
    log = log_text(pair.d)
    resumed = re.search(r"the log can be written again: (\d+) lines were lost \(No space left on device \(ENOSPC\)\)", log)
    assert resumed and int(resumed[1]) >= lost, log[-2000:]
    edit_and_run(pair, 1)
    assert "reloading" in log_text(pair.d).split(resumed[0])[1], log_text(pair.d)[-2000:]
    assert status_json(pair.d)["pid"] == manager


def test_a_manager_started_on_a_full_disk_serves_runs(full_disk):
    pair = full_disk
    # The warm-up's collection fails here: the host writes a note about it to the (full) log.
    pair.write("tests/test_broken.py", "import no_such_module\n")
    fill(pair.mount)
    right_run(pair, 1)
    right_run(pair, 1)
    document = status_json(pair.d)
    assert document["state"] == "ready" and document["runs"] >= 1, document
    edit_and_run(pair, 2)
    assert "No space left on device (ENOSPC)" in status_json(pair.d)["log_problem"]
