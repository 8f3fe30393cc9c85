"""Under a terminal, a run is a job of the caller's shell: Ctrl-Z stops it, `fg` and `bg` continue
it, and it has a controlling terminal of its own (/dev/tty, getpass, window changes) — as plain pytest."""
import re
import statistics
import time

import pytest

import harness as H
from conftest import PYPROJECT

JOBS = {
    "pyproject.toml": PYPROJECT,
    "tests/test_ticks.py": '''
        import time

        def test_ticks():
            for i in range(12):
                print(f"tick {i}", flush=True)
                time.sleep(0.25)
    ''',
    "tests/test_getpass.py": '''
        import getpass, warnings

        def test_getpass():
            with warnings.catch_warnings():
                warnings.simplefilter("error")
                secret = getpass.getpass("password: ")
            print("got", len(secret), "characters", secret[::-1])
    ''',
    "tests/test_resize.py": '''
        import os, signal

        def test_resize():
            changes = []
            signal.signal(signal.SIGWINCH, lambda *_: changes.append(1))
            print("before", tuple(os.get_terminal_size(1)), flush=True)
            input("resize now> ")
            print("after", tuple(os.get_terminal_size(1)), "sigwinch", bool(changes), flush=True)
    ''',
    "tests/test_echo.py": '''
        def test_echo():
            while (line := input()) != "end":
                print("echo:" + line, flush=True)
    ''',
    "tests/test_stubborn.py": '''
        import time

        def test_swallows_ctrl_c():
            while True:
                try:
                    print("started", flush=True)
                    time.sleep(30)
                except KeyboardInterrupt:
                    print("swallowed", flush=True)
    ''',
    "tests/test_default_sigint.py": '''
        import signal, time

        def test_dies_by_sigint():
            signal.signal(signal.SIGINT, signal.SIG_DFL)
            print("waiting for Ctrl-C", flush=True)
            time.sleep(30)
    ''',
}


@pytest.fixture(scope="module")
def jobs(module_ctx):
    return module_ctx.pair(JOBS, label="jobs")


def _shell(project, via):
    """An interactive bash on a fresh pty (its controlling terminal), with $PYTEST the command under test."""
    cmd, cwd, env, _ = project._prepare([], via, {"PS1": "$ ", "HISTFILE": "/dev/null"}, "script", None, None)
    env["PYTEST"] = str(cmd[0])
    shell = H.PtyRun(["bash", "--norc", "--noprofile", "-i"], cwd, env)
    project.ctx.track(shell)
    shell.expect(r"\$ $")
    return shell


def _ticks_after(text, marker):
    return re.findall(r"tick \d+", text[text.rindex(marker):])


@pytest.mark.parametrize("via", ["plain", "pytestd"])
def test_ctrl_z_stops_the_run_and_fg_resumes_it(jobs, via):
    project = jobs.p if via == "plain" else jobs.d
    shell = _shell(project, via)
    try:
        shell.send(b'"$PYTEST" -s -q -p no:cacheprovider tests/test_ticks.py\n')
        shell.expect(r"tick 2")
        shell.send(b"\x1a")
        shell.expect(r"Stopped")
        shell.expect(r"\$ $")
        time.sleep(1.5)
        assert _ticks_after(shell.output_so_far(), "Stopped") == [], f"the run went on printing:\n{shell.text}"
        shell.send(b"fg\n")
        shell.expect(r"passed.*\n.*\$ $")
        # `fg` returns the job's status.
        shell.send(b'echo "rc=$?"\n')
        shell.expect(r"rc=\d+")
        shell.send(b"exit\n")
        shell.wait(20)
    finally:
        shell.close()
    text = H.ANSI.sub("", shell.text)
    assert "rc=0" in text and re.search(r"1 passed", text), text
    assert sorted(set(int(n) for n in re.findall(r"tick (\d+)", text))) == list(range(12)), text


@pytest.mark.parametrize("via", ["plain", "pytestd"])
def test_keystrokes_reach_the_run_after_ctrl_z_and_fg(jobs, via):
    project = jobs.p if via == "plain" else jobs.d
    shell = _shell(project, via)
    try:
        shell.send(b'"$PYTEST" -s -q -p no:cacheprovider tests/test_echo.py\n')
        shell.send(b"one\n")
        shell.expect(r"echo:one")
        shell.send(b"\x1a")
        shell.expect(r"Stopped")
        shell.expect(r"\$ $")
        shell.send(b"fg\n")
        shell.expect(r"test_echo.py\r\n")
        shell.send(b"two\n")
        shell.expect(r"echo:two")
        shell.send(b"end\n")
        shell.expect(r"passed.*\n.*\$ $")
        shell.send(b'echo "rc=$?"\n')
        shell.expect(r"rc=\d+")
        shell.send(b"exit\n")
        shell.wait(20)
    finally:
        shell.close()
    assert "rc=0" in shell.text, shell.text


@pytest.mark.parametrize("via", ["plain", "pytestd"])
def test_bg_lets_a_stopped_run_finish_in_the_background(jobs, via):
    project = jobs.p if via == "plain" else jobs.d
    shell = _shell(project, via)
    try:
        shell.send(b'"$PYTEST" -s -q -p no:cacheprovider tests/test_ticks.py\n')
        shell.expect(r"tick 1")
        shell.send(b"\x1a")
        shell.expect(r"Stopped")
        shell.expect(r"\$ $")
        shell.send(b"bg\n")
        # The shell reads its own commands while the run goes on: the terminal is the shell's again.
        shell.send(b'echo "shell=$((6*7))"\n')
        shell.expect(r"shell=42")
        shell.expect(r"tick 11")
        shell.send(b'wait %1; echo "rc=$?"\n')
        shell.expect(r"rc=\d+")
        shell.send(b"exit\n")
        shell.wait(20)
    finally:
        shell.close()
    text = H.ANSI.sub("", shell.text)
    assert "rc=0" in text and re.search(r"1 passed", text), text


@pytest.mark.parametrize("via", ["plain", "pytestd"])
def test_getpass_asks_the_controlling_terminal_when_stdin_is_redirected(jobs, via):
    project = jobs.p if via == "plain" else jobs.d
    shell = _shell(project, via)
    try:
        shell.send(b'"$PYTEST" -s -q -p no:cacheprovider tests/test_getpass.py < /dev/null; echo "rc=$?"\n')
        shell.expect(r"password: ")
        shell.send(b"swordfish\n")
        shell.expect(r"rc=\d+")
        shell.send(b"exit\n")
        shell.wait(20)
    finally:
        shell.close()
    assert "rc=0" in shell.text, shell.text
    assert "got 9 characters hsifdrows" in shell.text, shell.text
    assert "swordfish" not in shell.text, "the password was echoed"


@pytest.mark.parametrize("via", ["plain", "pytestd"])
def test_window_size_change_reaches_the_test(jobs, via):
    project = jobs.p if via == "plain" else jobs.d
    p = project.pty("-s", "-q", "-p", "no:cacheprovider", "tests/test_resize.py", via=via, cols=80, rows=24)
    try:
        p.expect(r"resize now> ")
        H.set_winsize(p.master, 33, 111)
        time.sleep(0.3)
        p.send(b"\n")
        rc = p.wait(30)
    finally:
        p.close()
    assert rc == 0, p.text
    assert "before (80, 24)" in p.text and "after (111, 33) sigwinch True" in p.text, p.text


def test_ctrl_c_kills_a_run_that_keeps_the_default_handler_like_plain_pytest(jobs):
    statuses = {}
    for via, project in (("plain", jobs.p), ("pytestd", jobs.d)):
        shell = _shell(project, via)
        try:
            shell.send(b'"$PYTEST" -s -q -p no:cacheprovider tests/test_default_sigint.py\n')
            shell.expect(r"waiting for Ctrl-C")
            shell.send(b"\x03")
            # A job killed by SIGINT ends the command line it was on: ask for its status on the next.
            shell.expect(r"(?s)\^C.*\$ $")
            shell.send(b'echo "rc=$?"\n')
            statuses[via] = shell.expect(r"rc=(\d+)").group(1)
            shell.send(b"exit\n")
            shell.wait(20)
        finally:
            shell.close()
    assert statuses == {"plain": "130", "pytestd": "130"}


def test_second_ctrl_c_typed_kills_a_run_that_swallows_the_first(jobs, needs_daemon):
    p = jobs.d.pty("-s", "-q", "-p", "no:cacheprovider", "tests/test_stubborn.py")
    try:
        p.expect(r"started")
        p.send(b"\x03")
        p.expect(r"swallowed")
        t0 = time.monotonic()
        p.send(b"\x03")
        rc = p.wait(15)
    finally:
        p.close()
    assert time.monotonic() - t0 < 10 and rc != 0, p.text


def _echo_round_trips(project, via, count=60):
    p = project.pty("-s", "-q", "-p", "no:cacheprovider", "tests/test_echo.py", via=via)
    times = []
    try:
        p.send(b"warm\n")
        p.expect(r"echo:warm")
        for i in range(count):
            t0 = time.perf_counter()
            p.send(f"k{i}\n".encode())
            p.expect(rf"echo:k{i}\r")
            times.append(time.perf_counter() - t0)
        p.send(b"end\n")
        assert p.wait(30) == 0, p.text
    finally:
        p.close()
    return statistics.median(times)


def test_keystroke_round_trip_through_the_relay_adds_no_visible_latency(jobs):
    plain = _echo_round_trips(jobs.p, "plain")
    daemon = _echo_round_trips(jobs.d, "pytestd")
    print(f"keystroke round trip, median: plain {plain * 1e3:.2f} ms, pytestd {daemon * 1e3:.2f} ms")
    assert daemon - plain < 0.010, f"relay adds {(daemon - plain) * 1e3:.1f} ms"
