"""The fault and load campaign (issue 10): kill -9 of every process at every stage, hostile runtime
directories, a moved project, a deleted interpreter, protocol fuzz and load. After each fault: the
run in flight ends with an answer (never a hang, never a wrong pass), no process or descriptor leaks,
and the next run equals plain pytest's."""
import os
import random
import select
import shutil
import signal
import socket
import statistics
import struct
import subprocess
import threading
import time
from pathlib import Path

import pytest

import harness as H
from conftest import PYPROJECT, assert_same_run

pytestmark = pytest.mark.usefixtures("needs_daemon")


def campaign_files(hold: Path) -> dict:
    """`mod` waits while `hold` exists: a warm-up or a reload that lasts as long as the test wants."""
    return {
        "pyproject.toml": PYPROJECT,
        "conftest.py": "import mod  # noqa: F401\n",
        "src/mod.py": mod_source(hold, 1),
        "tests/test_mod.py": '''
            import os, time
            from pathlib import Path
            import pytest
            import mod

            def test_value():
                print("TOKEN", os.environ.get("RUN_TOKEN", "-"))
                assert mod.VALUE == 1

            def test_fails_on_purpose():
                assert mod.VALUE == 0

            def test_waits_for_release():
                if "STARTED_FILE" not in os.environ:
                    pytest.skip("started by the harness only")
                Path(os.environ["STARTED_FILE"]).write_text(str(os.getpid()))
                release = Path(os.environ["RELEASE_FILE"])
                deadline = time.monotonic() + 60
                while not release.exists() and time.monotonic() < deadline:
                    time.sleep(0.05)
                assert release.read_text() == "pass"
        ''',
    }


def mod_source(hold: Path, value: int) -> str:
    return (f"import time\nfrom pathlib import Path\n_deadline = time.monotonic() + 60\n"
            f"while Path({str(hold)!r}).exists() and time.monotonic() < _deadline:\n    time.sleep(0.05)\n"
            f"VALUE = {value}\n")


EXPECTED = "1 failed, 1 passed, 1 skipped"


# ------------------------------------------------------------------------------ processes and fds

def _stat(pid):
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = text[text.rfind(")") + 2:].split()
    return fields[0], int(fields[1])  # state, ppid


def descendants(pid) -> dict:
    """Every process below `pid`: pid -> state."""
    parents = {}
    for d in os.listdir("/proc"):
        if d.isdigit() and (s := _stat(int(d))):
            parents[int(d)] = s
    found, frontier = {}, [pid]
    while frontier:
        parent = frontier.pop()
        for child, (state, ppid) in parents.items():
            if ppid == parent and child not in found:
                found[child] = state
                frontier.append(child)
    return found


def fd_count(pid) -> int:
    return len(os.listdir(f"/proc/{pid}/fd"))


def project_processes(proj) -> dict:
    """Live pytestd processes of this project (manager, hosts, runs): pid -> command line."""
    return H.processes_mentioning(str(proj.root))


def status_json(proj) -> dict:
    import json
    r = proj.cli("status", "--json")
    assert r.rc == 0, r.describe()
    return json.loads(r.out)


def settled(proj, timeout=60) -> dict:
    """The status once the manager is ready with nothing warming, reloading or running."""
    def ready():
        d = status_json(proj)
        quiet = d["state"] == "ready" and d.get("runs_in_flight") == 0
        return d if quiet and "warming_host_pid" not in d and "reloading_host_pid" not in d else None
    document = H.wait_for(ready, timeout, 0.1)
    assert document, f"the manager never settled: {status_json(proj)}"
    return document


def serving_pids(document) -> set:
    """The manager's hosts and zygote that status names (what may legitimately live below it)."""
    return {document["host"]["pid"]} | {p for k, p in document.items() if k.endswith("_pid")}


class Baseline:
    """The manager's descriptors per live host once settled: later states must come back to it."""

    def __init__(self, proj):
        document = settled(proj)
        manager = document["pid"]
        self.per_manager = fd_count(manager) - len(descendants(manager))

    def check(self, proj, dead=()):
        gone = H.wait_gone(list(dead), 15)
        assert not gone, f"killed or orphaned processes still run: {[(p, H.proc_info(p)) for p in gone]}"
        document = settled(proj)
        manager = document["pid"]

        def clean():
            below = descendants(manager)
            extra = {p: H.proc_info(p) for p in below if p not in serving_pids(document)}
            zombies = [p for p, state in below.items() if state == "Z"]
            fds = fd_count(manager) - len(below)
            return (not extra and not zombies and fds <= self.per_manager), (extra, zombies, fds)
        ok = H.wait_for(lambda: clean()[0], 10)
        assert ok, f"leaks below manager {manager} (extra processes, zombies, fds vs {self.per_manager}): {clean()[1]}"
        others = {p: c for p, c in project_processes(proj).items() if p != manager and p not in descendants(manager)}
        assert not others, f"processes of the project outside the manager's tree: {others}"


# ------------------------------------------------------------------------------ the next run

def next_run_is_right(pair, token="next"):
    plain, daemon = pair.run_both("-q", "-s", env_extra={"RUN_TOKEN": token}, timeout=90)
    assert_same_run(plain, daemon, pair.p.root, pair.d.root)
    assert daemon.rc == 1 and H.summary_line(daemon.out) == EXPECTED and f"TOKEN {token}" in daemon.out, daemon.describe()


def answered(running, timeout=90) -> H.Result:
    """The run in flight ends, and never with a wrong pass: its true outcome is exit 1."""
    r = running.finish(timeout=timeout)
    assert r.rc != 0, f"a run in flight during a fault reported success\n{r.describe()}"
    if r.rc == 1:
        assert "failed" in r.out, r.describe()
    elif r.rc > 0:
        assert r.err.strip(), f"exit {r.rc} without a word on stderr\n{r.describe()}"
    return r


# ------------------------------------------------------------------------------ kill -9 at each stage

@pytest.fixture
def campaign(ctx):
    hold = ctx.workdir / f"hold-{time.monotonic_ns()}"
    pair = ctx.pair(campaign_files(hold), label="campaign")
    pair.hold = hold
    yield pair
    hold.unlink(missing_ok=True)


def _held(pair):
    pair.hold.write_text("")


def _release(pair):
    pair.hold.unlink(missing_ok=True)


def _start_full_run(pair):
    return pair.d.start("-q", env_extra={"RUN_TOKEN": "inflight"})


def _start_waiting_run(pair):
    started = pair.d.ctx.workdir / f"started-{time.monotonic_ns()}"
    release = pair.d.ctx.workdir / f"release-{time.monotonic_ns()}"
    running = pair.d.start("-q", "tests/test_mod.py::test_waits_for_release",
                           env_extra={"STARTED_FILE": started, "RELEASE_FILE": release})
    assert H.wait_for(lambda: started.exists() and started.read_text(), 60), running.output_so_far()
    return running, int(started.read_text()), release


def _warm(pair):
    next_run_is_right(pair, "warm")
    return Baseline(pair.d)


def _manager_pid(proj, timeout=30):
    def find():
        for pid, cmd in project_processes(proj).items():
            try:
                if os.path.basename(os.readlink(f"/proc/{pid}/exe")) == "pytestd":
                    return pid
            except OSError:
                pass
        return None
    pid = H.wait_for(find, timeout, 0.01)
    assert pid, "no manager started"
    return pid


def _warming_host(proj):
    document = H.wait_for(lambda: (d := status_json(proj)).get("warming_host_pid") and d, 30)
    assert document, status_json(proj)
    return document["warming_host_pid"]


def _reloading(pair, value=1):
    """Holds the next import of `mod`, edits it, and returns the reloading child's pid (and the base's)."""
    _held(pair)
    # A new top-level statement: the module executes again (and waits), it is not patched in place.
    pair.d.write("src/mod.py", mod_source(pair.hold, value) + f"EDIT = {time.monotonic_ns()}\n")
    document = H.wait_for(lambda: (d := status_json(pair.d)).get("reloading_host_pid") and d, 30)
    assert document, f"no reload started: {status_json(pair.d)}"
    return document["reloading_host_pid"], document


def test_kill_the_shim_at_start_up(campaign):
    running = _start_full_run(campaign)
    time.sleep(0.02)
    running.proc.kill()
    running.proc.wait(5)
    manager = _manager_pid(campaign.d)
    assert H.wait_for(lambda: status_json(campaign.d)["state"] == "ready", 60)
    baseline = Baseline(campaign.d)
    next_run_is_right(campaign)
    baseline.check(campaign.d)
    assert status_json(campaign.d)["pid"] == manager


def test_kill_the_shim_during_the_warm_up(campaign):
    _held(campaign)
    running = _start_full_run(campaign)
    _warming_host(campaign.d)
    running.proc.kill()
    running.proc.wait(5)
    _release(campaign)
    baseline = Baseline(campaign.d)
    next_run_is_right(campaign)
    baseline.check(campaign.d)


def test_kill_the_shim_mid_run(campaign):
    baseline = _warm(campaign)
    running, run_pid, _ = _start_waiting_run(campaign)
    running.proc.kill()
    running.proc.wait(5)
    baseline.check(campaign.d, dead=[run_pid])
    next_run_is_right(campaign)


def test_kill_the_shim_mid_reload(campaign):
    baseline = _warm(campaign)
    _reloading(campaign)
    running = _start_full_run(campaign)
    time.sleep(0.5)
    running.proc.kill()
    running.proc.wait(5)
    _release(campaign)
    next_run_is_right(campaign)
    baseline.check(campaign.d)


def test_kill_the_run_child_mid_run(campaign):
    baseline = _warm(campaign)
    running, run_pid, _ = _start_waiting_run(campaign)
    os.kill(run_pid, signal.SIGKILL)
    r = answered(running)
    assert r.rc == -signal.SIGKILL, r.describe()  # the shim dies as its run did
    baseline.check(campaign.d, dead=[run_pid])
    next_run_is_right(campaign)


def test_kill_the_host_during_the_warm_up(campaign):
    _held(campaign)
    running = _start_full_run(campaign)
    host = _warming_host(campaign.d)
    os.kill(host, signal.SIGKILL)
    _release(campaign)
    r = answered(running)
    assert "exited unexpectedly during warm-up" in r.err, r.describe()
    # A host that dies warming is taken for one that would die again: runs go to plain pytest, right,
    # until a change or `pytestd restart` tries again; nothing is left below the manager meanwhile.
    next_run_is_right(campaign)
    manager = status_json(campaign.d)["pid"]
    assert not H.wait_gone([host], 10) and not descendants(manager), descendants(manager)
    assert campaign.d.cli("restart").rc == 0
    baseline = Baseline(campaign.d)
    next_run_is_right(campaign)
    baseline.check(campaign.d)


def test_kill_the_host_mid_run(campaign):
    baseline = _warm(campaign)
    host = status_json(campaign.d)["host"]["pid"]
    running, run_pid, _ = _start_waiting_run(campaign)
    os.kill(host, signal.SIGKILL)
    answered(running)
    baseline.check(campaign.d, dead=[host, run_pid])
    next_run_is_right(campaign)


def test_kill_the_host_mid_reload(campaign):
    baseline = _warm(campaign)
    child, document = _reloading(campaign)
    base = document.get("host", {}).get("pid") or document["pid"]
    running = _start_full_run(campaign)
    os.kill(base, signal.SIGKILL)
    _release(campaign)
    answered(running)
    next_run_is_right(campaign)
    baseline.check(campaign.d, dead=[base])


def test_kill_the_reload_child_mid_reload(campaign):
    baseline = _warm(campaign)
    child, _ = _reloading(campaign)
    running = _start_full_run(campaign)
    os.kill(child, signal.SIGKILL)
    _release(campaign)
    answered(running)
    next_run_is_right(campaign)
    baseline.check(campaign.d, dead=[child])


def _kill_manager_and_check(campaign, baseline, running=None, also_running=()):
    before = set(project_processes(campaign.d))
    manager = _manager_pid(campaign.d)
    os.kill(manager, signal.SIGKILL)
    for each in ([running] if running is not None else []) + list(also_running):
        answered(each)
    _release(campaign)
    gone = H.wait_gone(list(before), 15)
    assert not gone, f"outlived their SIGKILLed manager: {[(p, H.proc_info(p)) for p in gone]}"
    next_run_is_right(campaign)  # a new manager, past the stale socket
    assert status_json(campaign.d)["pid"] != manager
    (baseline or Baseline(campaign.d)).check(campaign.d)


def test_kill_the_manager_at_start_up(campaign):
    _held(campaign)
    running = _start_full_run(campaign)
    _manager_pid(campaign.d)
    _kill_manager_and_check(campaign, None, running)


def test_kill_the_manager_during_the_warm_up(campaign):
    _held(campaign)
    running = _start_full_run(campaign)
    _warming_host(campaign.d)
    _kill_manager_and_check(campaign, None, running)


def test_kill_the_manager_mid_run(campaign):
    baseline = _warm(campaign)
    running, run_pid, _ = _start_waiting_run(campaign)
    _kill_manager_and_check(campaign, baseline, running)
    assert not H.pid_alive(run_pid)


def test_kill_the_manager_mid_reload(campaign):
    baseline = _warm(campaign)
    _reloading(campaign)
    running = _start_full_run(campaign)
    _kill_manager_and_check(campaign, baseline, running)


# ------------------------------------------------------------------------------ kill -9 mid-switch to a clean host
# pytest's configuration is never reloaded: an edit of it retires the template (it finishes the run it
# has), and runs wait for a clean host, which warms (held on `mod` for as long as the test wants) and
# then replaces it.

def _switching(pair):
    """Holds the next warm-up and edits the configuration; returns the clean host warming to serve it."""
    _held(pair)
    pair.write("pyproject.toml", PYPROJECT + f"# edited {time.monotonic_ns()}\n")
    document = H.wait_for(lambda: (d := status_json(pair.d)).get("warming_host_pid") and d["state"] == "waiting" and d, 30)
    assert document and "pyproject.toml changed" in document["reason"], status_json(pair.d)
    return document["warming_host_pid"]


def _queued_for_the_switch(pair):
    """A run the manager holds, with the caller's descriptors, until the clean host is ready."""
    running = _start_full_run(pair)
    manager = status_json(pair.d)["pid"]

    def held():
        try:
            stdout = os.readlink(f"/proc/{running.proc.pid}/fd/1")
            return stdout in {os.readlink(f"/proc/{manager}/fd/{fd}") for fd in os.listdir(f"/proc/{manager}/fd")}
        except OSError:
            return False
    assert H.wait_for(held, 30, 0.01), running.output_so_far()
    return running


def _served_after_the_switch(running):
    r = running.finish(timeout=90)
    assert r.rc == 1 and H.summary_line(r.out) == EXPECTED, r.describe()
    return r


def _ends_as_it_should(running, release):
    """A run on the retired template, left to finish: its own outcome (it fails on purpose)."""
    release.write_text("fail")
    r = running.finish(timeout=60)
    assert r.rc == 1 and "1 failed" in r.out, r.describe()


def test_kill_the_old_template_mid_switch_to_a_clean_host(campaign):
    baseline = _warm(campaign)
    old = status_json(campaign.d)["host"]["pid"]
    on_old, run_pid, _ = _start_waiting_run(campaign)
    warming = _switching(campaign)
    assert H.pid_alive(old), "the retired template went before its run ended"
    queued = _queued_for_the_switch(campaign)
    os.kill(old, signal.SIGKILL)
    r = answered(on_old)
    assert r.rc == 3 and f"the warm host {old} exited unexpectedly during the run" in r.err, r.describe()
    assert H.pid_alive(warming) and status_json(campaign.d)["warming_host_pid"] == warming
    _release(campaign)
    _served_after_the_switch(queued)
    assert status_json(campaign.d)["host"]["pid"] == warming
    baseline.check(campaign.d, dead=[old, run_pid])
    next_run_is_right(campaign)


def test_kill_the_clean_host_while_it_warms_mid_switch(campaign):
    baseline = _warm(campaign)
    manager = status_json(campaign.d)["pid"]
    old = status_json(campaign.d)["host"]["pid"]
    on_old, _, release = _start_waiting_run(campaign)
    warming = _switching(campaign)
    queued = _queued_for_the_switch(campaign)
    os.kill(warming, signal.SIGKILL)
    _release(campaign)
    # Nothing of it ran yet: plain pytest serves it, saying why.
    r = _served_after_the_switch(queued)
    assert "exited unexpectedly during warm-up" in r.err and "running plain pytest" in r.err, r.describe()
    _ends_as_it_should(on_old, release)
    next_run_is_right(campaign)  # plain pytest, until a change or `pytestd restart` tries again
    assert status_json(campaign.d)["pid"] == manager
    assert not H.wait_gone([old, warming], 10) and not descendants(manager), descendants(manager)
    assert campaign.d.cli("restart").rc == 0
    baseline.check(campaign.d)
    next_run_is_right(campaign)


def test_kill_the_clean_host_right_after_it_becomes_ready(campaign):
    baseline = _warm(campaign)
    old = status_json(campaign.d)["host"]["pid"]
    on_old, _, release = _start_waiting_run(campaign)
    warming = _switching(campaign)
    _release(campaign)
    assert H.wait_for(lambda: status_json(campaign.d).get("host", {}).get("pid") == warming, 60), status_json(campaign.d)
    assert H.pid_alive(old), "the retired template went before its run ended"
    on_new, new_run_pid, _ = _start_waiting_run(campaign)
    os.kill(warming, signal.SIGKILL)
    r = answered(on_new)
    assert r.rc == 3 and f"the warm host {warming} exited unexpectedly during the run" in r.err, r.describe()
    _ends_as_it_should(on_old, release)
    baseline.check(campaign.d, dead=[warming, new_run_pid, old])
    next_run_is_right(campaign)


def test_kill_the_manager_mid_switch_to_a_clean_host(campaign):
    baseline = _warm(campaign)
    on_old, run_pid, _ = _start_waiting_run(campaign)
    _switching(campaign)
    queued = _queued_for_the_switch(campaign)
    _kill_manager_and_check(campaign, baseline, on_old, also_running=[queued])
    assert not H.pid_alive(run_pid)


def test_kill_shims_waiting_for_the_switch(campaign):
    baseline = _warm(campaign)
    old = status_json(campaign.d)["host"]["pid"]
    on_old, run_pid, _ = _start_waiting_run(campaign)
    warming = _switching(campaign)
    queued = [_queued_for_the_switch(campaign) for _ in range(2)]
    for running in queued + [on_old]:
        running.proc.kill()
        running.proc.wait(5)
    # The retired template's run dies with its caller, and the template with its last run.
    assert not H.wait_gone([run_pid, old], 15)
    _release(campaign)
    assert H.wait_for(lambda: status_json(campaign.d).get("host", {}).get("pid") == warming, 60), status_json(campaign.d)
    baseline.check(campaign.d, dead=[run_pid, old])
    next_run_is_right(campaign)


# ------------------------------------------------------------------------------ protocol fuzz

def _protocol_version() -> int:
    """`Message.protocolVersion` of the build under test: fuzz past the version check, not at it."""
    import re
    source = (H.REPO / "Sources/PytestdCore/Wire/Message.swift").read_text()
    return int(re.search(r"static let protocolVersion: UInt32 = (\d+)", source).group(1))


VERSION = struct.pack("<I", _protocol_version())
TAG_CONTROL = 3


def _frame(payload: bytes) -> bytes:
    return struct.pack("<I", len(payload)) + payload


def _status_frame(identity: bytes = b"fuzz") -> bytes:
    return _frame(VERSION + bytes([TAG_CONTROL, 4]) + struct.pack("<I", len(identity)) + identity)


def _fuzz_frames(rng: random.Random, count: int):
    """Random payloads past the version header (any tag but `control`, which may legitimately stop the
    manager), mutated status frames (never their command byte), lengths beyond the limit, truncations."""
    seed = _status_frame()
    for i in range(count):
        kind = i % 5
        if kind == 0:
            tag = rng.choice([t for t in range(256) if t != TAG_CONTROL])
            yield _frame(VERSION + bytes([tag]) + rng.randbytes(rng.randrange(0, 300)))
        elif kind == 1:
            frame = bytearray(seed)
            for _ in range(rng.randrange(1, 6)):
                position = rng.choice([p for p in range(len(frame)) if p != 9])  # 9: the control command
                frame[position] = rng.randrange(256)
            yield bytes(frame)
        elif kind == 2:
            yield struct.pack("<I", rng.choice([0xFFFFFFFF, (16 << 20) + 1, 1 << 30])) + rng.randbytes(64)
        elif kind == 3:
            yield seed[:rng.randrange(1, len(seed))]
        else:
            yield _frame(VERSION + bytes([1]) + rng.randbytes(rng.randrange(0, 2000)))  # a run without fds


def _exchange(path: str, data: bytes, wait: float) -> bytes:
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
        s.settimeout(wait)
        s.connect(path)
        try:
            s.sendall(data)
            if wait:
                return s.recv(65536)
        except (socket.timeout, ConnectionResetError, BrokenPipeError):
            pass
    return b""


def test_protocol_fuzz_on_the_client_socket(campaign):
    baseline = _warm(campaign)
    document = status_json(campaign.d)
    manager, path = document["pid"], document["socket"]
    rng = random.Random(10)
    answers = 0
    for i, frame in enumerate(_fuzz_frames(rng, 400)):
        answers += bool(_exchange(path, frame, 0.3 if i % 10 == 0 else 0))
    assert H.pid_alive(manager), "the manager died of fuzz"
    assert answers > 0, "no fuzzed frame was ever answered"
    next_run_is_right(campaign, "after-fuzz")
    assert status_json(campaign.d)["pid"] == manager
    baseline.check(campaign.d)


def test_a_slow_writer_does_not_hold_up_other_runs(campaign):
    baseline = _warm(campaign)
    document = status_json(campaign.d)
    frame = _status_frame()
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
        s.settimeout(10)
        s.connect(document["socket"])
        started = time.monotonic()
        for byte in frame[:5]:  # one byte a second, a run served meanwhile
            s.sendall(bytes([byte]))
            if byte == frame[2]:
                quick = campaign.d.pytest("-q", "tests/test_mod.py::test_value", timeout=30)
                assert quick.rc == 0, quick.describe()
            time.sleep(1)
        assert time.monotonic() - started >= 4
        s.sendall(frame[5:])
        reply = s.recv(65536)
    assert reply, "the slow writer got no answer"
    next_run_is_right(campaign, "after-slow")
    assert status_json(campaign.d)["pid"] == document["pid"]
    baseline.check(campaign.d)


# ------------------------------------------------------------------------------ protocol fuzz, host side
# Written into a host's control socket from the host's side (a duplicate of its fd 3): to the manager,
# the host said it. Whatever it said, the manager lives on, the run in flight gets its own outcome or a
# precise message (exit 3), and a broken host is replaced.

def _u32(value):
    return struct.pack("<I", value)


def _u64(value):
    return struct.pack("<Q", value)


def _text(value: str) -> bytes:
    data = value.encode()
    return _u32(len(data)) + data


def _texts(values) -> bytes:
    return _u32(len(values)) + b"".join(_text(v) for v in values)


# Host -> manager tags (`Message.Tag` in Sources/PytestdCore/Wire/MessageCoding.swift).
HOST_READY, HOST_FAILED, RUN_STARTED, RUN_FINISHED = 21, 22, 23, 24
RELOAD_STARTED, RUN_DECLINED, RUN_IMPORTED, WARMUP_STARTED, RELOAD_NOT_STARTED = 26, 27, 28, 29, 30
# Far above any id a manager hands out in a test: forged messages about runs and reloads that do not exist.
FORGED_ID = 1 << 40


def _forged_host_messages(rng: random.Random, decoy_pid: int) -> dict:
    """Valid host -> manager frames, encoded as MessageCoding.swift does, about runs and reloads that do
    not exist; the pid they name is a decoy's, which nothing may kill."""
    run = FORGED_ID + rng.randrange(1 << 20)
    report = (_text("3.11.7") + _text("8.3.0") + _texts([]) + _texts([]) + _texts([]) + _texts([]) + b"\x00"
              + struct.pack("<d", 0.5) + _text("") + _texts([]) + _text("") + _texts([]) + _texts([])
              + struct.pack("<d", 0.0) + _texts([]))
    payloads = {
        "warmupStarted": bytes([WARMUP_STARTED]),
        "runStarted": bytes([RUN_STARTED]) + _u64(run) + struct.pack("<i", decoy_pid),
        "runFinished-passed": bytes([RUN_FINISHED]) + _u64(run) + b"\x00" + struct.pack("<i", 0) + struct.pack("<d", 0.2),
        "runFinished-killed": bytes([RUN_FINISHED]) + _u64(run + 1) + b"\x01" + struct.pack("<i", 9) + struct.pack("<d", 0.2),
        "runDeclined": bytes([RUN_DECLINED]) + _u64(run) + _text("forged") + b"\x01",
        "runImported": bytes([RUN_IMPORTED]) + _texts(["json"]) + _texts(["tests.test_mod"]) + _texts([]),
        "reloadNotStarted": bytes([RELOAD_NOT_STARTED]) + _u64(run) + _text("forged"),
        # Sent with a descriptor (the reloading child's channel), see `_write_as_host`.
        "reloadStarted": bytes([RELOAD_STARTED]) + struct.pack("<i", decoy_pid) + _u64(run),
        "hostReady": bytes([HOST_READY]) + report,
        "hostFailed": bytes([HOST_FAILED]) + _text("forged failure"),
    }
    return {name: _frame(VERSION + payload) for name, payload in payloads.items()}


def _mutated(rng: random.Random, frame: bytes) -> bytes:
    """Flipped, overwritten or truncated bytes; never the tag (offset 8), nor a pid field, which could name
    any process: the manager must not be able to kill the harness if a regression makes it trust one."""
    data = bytearray(frame)
    pid_field = {RUN_STARTED: {17, 18, 19, 20}, RELOAD_STARTED: {9, 10, 11, 12}}.get(frame[8], set())
    protected = {8} | pid_field
    positions = [p for p in range(len(data)) if p not in protected]
    for _ in range(rng.randrange(1, 4)):
        position = rng.choice(positions)
        data[position] = data[position] ^ (1 << rng.randrange(8)) if rng.random() < 0.5 else rng.randrange(256)
    if rng.random() < 0.3 and len(data) > 10:
        data = data[:rng.randrange(10, len(data))]
    return bytes(data)


def _random_frames(rng: random.Random, count: int):
    """Random payloads past the version header; not runStarted or reloadStarted, whose pid field would be
    random (see `_mutated`)."""
    tags = [t for t in range(256) if t not in (RUN_STARTED, RELOAD_STARTED)]
    return [_frame(VERSION + bytes([rng.choice(tags)]) + rng.randbytes(rng.randrange(0, 200))) for _ in range(count)]


def _oversized_frames(rng: random.Random):
    return [_u32(length) + rng.randbytes(64) for length in (0xFFFFFFFF, (64 << 20) + 1, 1 << 30)]


@pytest.fixture
def decoy():
    """A process of the user's that a host's message names: no message may get it killed."""
    process = subprocess.Popen(["sleep", "600"], start_new_session=True)
    yield process.pid
    process.kill()
    process.wait()


def _serving_template(pair) -> int:
    """The template's pid once it served a run; a restart first if fuzz left the project failed or cold."""
    document = status_json(pair.d)
    if document["state"] == "failed" or document.get("served_cold"):
        assert pair.d.cli("restart").rc == 0
    r = pair.d.pytest("-q", "tests/test_mod.py::test_value", timeout=60)
    assert r.rc == 0 and "1 passed" in r.out, r.describe()
    return settled(pair.d)["host"]["pid"]


def _write_as_host(host: int, frames) -> int:
    """Writes `frames` as the host would (a reloadStarted with a descriptor, as the real one has); returns
    how many were written (the manager may close first)."""
    written = 0
    with socket.socket(fileno=H.duplicate_descriptor(host, 3)) as channel:
        for frame in frames:
            try:
                if len(frame) > 8 and frame[8] == RELOAD_STARTED:
                    attached, other_end = os.pipe()
                    try:
                        _send_waiting(channel, frame, [attached])
                    finally:
                        os.close(attached)
                        os.close(other_end)
                else:
                    _send_waiting(channel, frame)
            except (BrokenPipeError, ConnectionResetError):
                break
            written += 1
    return written


def _send_waiting(channel, frame: bytes, descriptors=()):
    """Sends all of `frame` on the host's descriptor, which the host keeps non-blocking (a flag its
    duplicate shares: it must not be changed): waits whenever the manager has not read yet."""
    while frame:
        if not select.select([], [channel], [], 30)[1]:
            raise AssertionError("the manager stopped reading the host's channel for 30 s")
        try:
            sent = socket.send_fds(channel, [frame], descriptors) if descriptors else channel.send(frame)
        except BlockingIOError:
            continue
        frame, descriptors = frame[sent:], ()


class HostFuzz:
    """Fuzz into the serving template during a run, one burst at a time, with the checks after each."""

    def __init__(self, pair, decoy_pid):
        self.pair = pair
        self.decoy = decoy_pid
        self.baseline = _warm(pair)
        self.manager = status_json(pair.d)["pid"]
        self.injected = 0
        self.replaced = 0

    def burst(self, frames, inject=None):
        host = _serving_template(self.pair)
        running, run_pid, release = _start_waiting_run(self.pair)
        self.injected += (inject or _write_as_host)(host, frames)
        release.write_text("fail")
        r = running.finish(timeout=30)
        survived = r.rc == 1 and "1 failed" in r.out
        assert survived or r.rc == 3 and f"pytestd: the warm host {host} " in r.err, r.describe()
        assert not H.wait_gone([run_pid], 10), "the run outlived its answer"
        assert H.pid_alive(self.decoy), "a host's message made the manager kill a process that is not the host's"
        assert status_json(self.pair.d)["pid"] == self.manager, "the manager died of a host's message"
        if not survived:
            assert not H.wait_gone([host], 10), "a host that broke the protocol still runs"
            self.replaced += 1
        return r, host

    def done(self):
        next_run_is_right(self.pair, "after-host-fuzz")
        # Retiring every host finds any whose runs were miscounted: it would never go.
        assert self.pair.d.cli("restart").rc == 0
        self.baseline.check(self.pair.d)
        assert status_json(self.pair.d)["pid"] == self.manager
        print(f"\nHOST FUZZ: {self.injected} frames written, {self.replaced} hosts replaced, manager survived")


ABOUT_OTHER_RUNS = ["warmupStarted", "runStarted", "runFinished-passed", "runFinished-killed", "runDeclined",
                    "runImported", "reloadNotStarted", "reloadStarted"]


def test_host_messages_about_runs_it_does_not_have_change_nothing(campaign, decoy):
    """A forged "run N passed" must not answer this run, nor "run N (or reload N) started as pid P" get P
    killed."""
    fuzz = HostFuzz(campaign, decoy)
    host = _serving_template(campaign)
    frames = [_forged_host_messages(random.Random(seed), decoy)[name] for seed in range(40) for name in ABOUT_OTHER_RUNS]
    r, served_by = fuzz.burst(frames)
    assert r.rc == 1 and served_by == host, f"forged messages about other runs reached this one\n{r.describe()}"
    assert status_json(campaign.d)["host"]["pid"] == host
    fuzz.done()


@pytest.mark.parametrize("said", ["hostReady", "hostFailed"])
def test_a_serving_template_that_reports_ready_again_or_failed_is_replaced(campaign, decoy, said):
    """Its run is told why (exit 3), and a new clean host serves the next ones."""
    fuzz = HostFuzz(campaign, decoy)
    r, host = fuzz.burst([_forged_host_messages(random.Random(1), decoy)[said]])
    assert r.rc == 3 and f"pytestd: the warm host {host} " in r.err, r.describe()
    fuzz.done()


def test_protocol_fuzz_on_the_host_side(campaign, decoy):
    fuzz = HostFuzz(campaign, decoy)
    rng = random.Random(10)
    for _ in range(3):
        fuzz.burst(_random_frames(rng, 20))
    for seed in range(4):
        forged = list(_forged_host_messages(random.Random(seed), decoy).values())
        fuzz.burst([_mutated(rng, rng.choice(forged)) for _ in range(12)])
    r, _ = fuzz.burst(_oversized_frames(rng)[:1])
    assert "too large" in r.err, r.describe()
    for frame in _oversized_frames(rng)[1:]:
        fuzz.burst([frame])
    fuzz.done()
    # Whatever the fuzz made it learn, an edit is served.
    campaign.write("src/mod.py", mod_source(campaign.hold, 2))
    plain, daemon = campaign.run_both("-q")
    assert_same_run(plain, daemon, campaign.p.root, campaign.d.root)
    assert daemon.rc == 1 and "2 failed" in daemon.out, daemon.describe()


def test_a_host_that_writes_slowly_or_stops_mid_frame(campaign, decoy):
    fuzz = HostFuzz(campaign, decoy)
    frame = _forged_host_messages(random.Random(2), decoy)["warmupStarted"]

    def trickle(host, then_each_second):
        """The frame's first bytes, one a second; the rest is the caller's."""
        fd = H.duplicate_descriptor(host, 3)
        for byte in frame[:3]:
            os.write(fd, bytes([byte]))
            then_each_second()
            time.sleep(1)
        return fd

    def manager_answers():
        started = time.monotonic()
        assert status_json(campaign.d)["pid"] == fuzz.manager
        assert time.monotonic() - started < 1, "a slow host stalled the manager"

    def then(rest):
        def inject(host, _frames):
            fd = trickle(host, manager_answers)
            try:
                os.write(fd, rest)
            finally:
                os.close(fd)
            return 1
        return inject

    r, _ = fuzz.burst([], inject=then(frame[3:]))  # slow, but whole: nothing wrong
    assert r.rc == 1, r.describe()
    r, _ = fuzz.burst([], inject=then(b"\xff" + bytes(64)))  # then garbage
    assert r.rc == 3 and "too large" in r.err, r.describe()

    # Then nothing, from a template a configuration edit retired while it still runs a test: the clean
    # host that replaced it serves other runs meanwhile, and the manager gives up on the stuck one by
    # itself (the stuck run is never released: only that ends it).
    old = _serving_template(campaign)
    on_old, run_pid, _ = _start_waiting_run(campaign)
    campaign.write("pyproject.toml", PYPROJECT + "# edited\n")
    assert H.wait_for(lambda: status_json(campaign.d).get("host", {}).get("pid") not in (None, old), 60)

    def another_run_is_served():
        r = campaign.d.pytest("-q", "tests/test_mod.py::test_value", timeout=30)
        assert r.rc == 0 and "1 passed" in r.out, r.describe()
    os.close(trickle(old, another_run_is_served))
    fuzz.injected += 1
    r = on_old.finish(timeout=30)
    assert r.rc == 3 and f"the warm host {old} stopped in the middle of a message" in r.err, r.describe()
    assert not H.wait_gone([old, run_pid], 10)
    fuzz.replaced += 1
    fuzz.done()


# ------------------------------------------------------------------------------ load

LOAD_FILES = {
    "pyproject.toml": PYPROJECT,
    "src/ident.py": "PROJECT = {name!r}\n",
    "tests/test_load.py": '''
        import os, time
        import ident

        def test_token():
            time.sleep(0.2)  # runs overlap
            print("TOKEN", ident.PROJECT, os.environ["RUN_TOKEN"])
            assert ident.PROJECT == os.environ["EXPECT_PROJECT"]

        def test_fails_when_asked():
            assert os.environ.get("FAIL") != "1"
    ''',
}


def _load_project(ctx, name):
    files = dict(LOAD_FILES)
    files["src/ident.py"] = files["src/ident.py"].format(name=name)
    proj = ctx.project(files, label=f"load{name}")
    proj.load_name = name
    return proj


def _concurrent_runs(jobs, via="pytestd"):
    """Starts every (project, token, fail) at once; returns (job, result, seconds) per job."""
    barrier = threading.Barrier(len(jobs))
    results = [None] * len(jobs)

    def one(i, proj, token, fail):
        barrier.wait()
        started = time.monotonic()
        r = proj.pytest("-q", "-s", via=via, timeout=120,
                        env_extra={"RUN_TOKEN": token, "EXPECT_PROJECT": proj.load_name, "FAIL": "1" if fail else "0"})
        results[i] = (r, time.monotonic() - started)
    threads = [threading.Thread(target=one, args=(i, *job)) for i, job in enumerate(jobs)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(150)
    assert all(r is not None for r in results), "a run under load never ended"
    return [(job, *result) for job, result in zip(jobs, results)]


def _check_load(outcomes):
    tokens = [token for (_, token, _), _, _ in outcomes]
    for (proj, token, fail), r, _ in outcomes:
        assert r.rc == (1 if fail else 0), r.describe()
        assert H.summary_line(r.out) == ("1 failed, 1 passed" if fail else "2 passed"), r.describe()
        name = proj.load_name
        printed = [line for line in r.out.splitlines() if "TOKEN" in line]
        assert printed == [f"TOKEN {name} {token}"] or printed == [f".TOKEN {name} {token}"], r.describe()
        assert not [t for t in tokens if t != token and t in r.out], f"another run's output in this one\n{r.describe()}"
    return statistics.median(seconds for _, _, seconds in outcomes)


def _warm_load(proj):
    r = proj.pytest("-q", env_extra={"RUN_TOKEN": "warm", "EXPECT_PROJECT": proj.load_name})
    assert r.rc == 0, r.describe()


def test_sixteen_concurrent_runs_of_one_project(ctx):
    proj = _load_project(ctx, "one")
    _warm_load(proj)
    baseline = Baseline(proj)
    outcomes = _concurrent_runs([(proj, f"run{i:02d}", i % 3 == 0) for i in range(16)])
    median = _check_load(outcomes)
    document = settled(proj)
    assert document["runs"] == 17 and document.get("plain_runs", 0) == 0, document
    baseline.check(proj)
    plain = _check_load(_concurrent_runs([(proj, f"plain{i:02d}", i % 3 == 0) for i in range(16)], via="plain"))
    print(f"\nLOAD one project: 16 concurrent runs, median {median:.2f} s (plain pytest, same load: {plain:.2f} s)")


def test_four_projects_at_once(ctx):
    projects = [_load_project(ctx, name) for name in ("alpha", "bravo", "charl", "delta")]
    for proj in projects:
        _warm_load(proj)
    outcomes = _concurrent_runs([(proj, f"{proj.load_name}-{i}", i == 1) for proj in projects for i in range(4)])
    median = _check_load(outcomes)
    for proj in projects:
        assert settled(proj)["runs"] == 5
    print(f"\nLOAD four projects: 16 concurrent runs, median {median:.2f} s")


# ------------------------------------------------------------------------------ the environment

@pytest.mark.parametrize("kind", ["symlink", "mode-0755"])
def test_an_unsafe_runtime_directory_runs_plain_pytest_and_says_why(campaign, kind):
    real = campaign.d.ctx.workdir / f"rt-real-{kind}"
    real.mkdir(mode=0o700)
    unsafe = campaign.d.ctx.workdir / f"rt-{kind}"
    if kind == "symlink":
        unsafe.symlink_to(real)
    else:
        unsafe.mkdir()
        os.chmod(unsafe, 0o755)
    campaign.d.runtime_dir = unsafe
    plain, daemon = campaign.run_both("-q", "-s", env_extra={"RUN_TOKEN": "unsafe"}, timeout=60)
    assert_same_run(plain, daemon, campaign.p.root, campaign.d.root)
    assert f"runtime directory {unsafe}" in daemon.err, daemon.describe()
    assert not list(real.iterdir()) and not [p for p in unsafe.iterdir()], "files made in an unsafe directory"
    assert not project_processes(campaign.d), project_processes(campaign.d)
    campaign.d.used_daemon = False


def test_the_project_directory_renamed_while_the_manager_runs(campaign):
    _warm(campaign)
    old = status_json(campaign.d)
    old_pids = {old["pid"]} | serving_pids(old)
    moved = {}
    for proj in (campaign.d, campaign.p):
        moved[proj] = proj.root.with_name("prox")  # same length: outputs stay comparable
        proj.root.rename(moved[proj])
    old_root = campaign.d.root
    for proj, root in moved.items():
        proj.root = root
    next_run_is_right(campaign, "moved")
    new = status_json(campaign.d)
    assert new["root"] == str(campaign.d.root) and new["pid"] != old["pid"], new
    # The old manager serves a directory that is gone: it goes, with its hosts.
    gone = H.wait_gone(list(old_pids), 30)
    assert not gone, f"the old root's manager and hosts live on: {[(p, H.proc_info(p)) for p in gone]}"
    assert not H.processes_mentioning(str(old_root))


def test_the_interpreter_deleted_while_the_manager_runs(campaign):
    # A venv of its own (a copy of the test venv's layout), so deleting it harms nothing else.
    base = campaign.d.venv
    venv = campaign.d.ctx.workdir / f"venv-deleted-{time.monotonic_ns()}"
    made = H.run_command([base / "bin" / "python", "-m", "venv", "--without-pip", venv], campaign.d.root,
                         campaign.d.env(), timeout=60)
    assert made.rc == 0, made.describe()
    site = next((venv / "lib").glob("python3.*/site-packages"))
    shared = next((base / "lib").glob("python3.*/site-packages"))
    (site / "shared-test-venv.pth").write_text(f"{shared}\n")
    pytest_script = venv / "bin" / "pytest"
    pytest_script.write_text(f"#!{venv}/bin/python\nimport sys\nfrom pytest import console_main\nsys.exit(console_main())\n")
    pytest_script.chmod(0o755)
    campaign.d.venv = venv
    campaign.d.venvs_used = {venv}
    baseline = _warm(campaign)
    before = status_json(campaign.d)
    backup = venv.with_name(venv.name + ".bak")
    shutil.copytree(venv, backup, symlinks=True)
    shutil.rmtree(venv)
    r = campaign.d.pytest("-q", timeout=60)
    assert r.rc != 0 and r.err.strip(), r.describe()  # no interpreter: an answer, never a pass
    shutil.copytree(backup, venv, symlinks=True)
    next_run_is_right(campaign, "restored")
    after = status_json(campaign.d)
    assert after["host"]["pid"] != before["host"]["pid"], "the template of the deleted interpreter served on"
    baseline.check(campaign.d, dead=[before["host"]["pid"]])
