"""The caller's terminal is honoured exactly: tty-ness, colours, width, stdin, pdb, pipes, Ctrl-C."""
import json
import re
import signal
import time

import pytest

import harness as H
from conftest import PYPROJECT, SAMPLE

PROBE = '''
    import json, os, shutil, sys
    from pathlib import Path

    def test_probe():
        Path(__file__).parent.parent.joinpath("probe.json").write_text(json.dumps({
            "fd_isatty": [os.isatty(0), os.isatty(1), os.isatty(2)],
            "sys_isatty": [sys.stdin.isatty(), sys.stdout.isatty(), sys.stderr.isatty()],
            "line_buffering": [sys.stdout.line_buffering, sys.stderr.line_buffering],
            "size": list(shutil.get_terminal_size((1, 1))),
            "encoding": [sys.stdout.encoding, sys.stdin.encoding],
            "ctty": controlling_terminal(),
        }))

    def controlling_terminal():
        out = {}
        try:
            out["stdin_fg_pgrp_is_mine"] = os.tcgetpgrp(0) == os.getpgrp()
        except OSError as e:
            out["stdin_fg_pgrp_is_mine"] = f"error {e.errno}"
        try:
            with open("/dev/tty", "rb"):
                out["dev_tty"] = "opens"
        except OSError as e:
            out["dev_tty"] = f"error {e.errno}"
        return out
'''

TERMINAL = {
    "pyproject.toml": PYPROJECT,
    "tests/test_probe.py": PROBE,
    "tests/test_input.py": '''
        def test_input():
            name = input("name? ")
            print("got:", name)
            assert name == "hello"
    ''',
    "tests/test_pdb.py": '''
        def test_fails():
            answer = 41
            assert answer == 42
    ''',
    "tests/test_colour.py": '''
        def test_ok(): pass
        def test_bad(): assert [1, 2] == [1, 3]
    ''',
}


@pytest.fixture(scope="module")
def term(module_ctx):
    return module_ctx.pair(TERMINAL, label="terminal")


def _pty_run(project, args, via, cols=80, rows=24):
    p = project.pty(*args, via=via, cols=cols, rows=rows)
    try:
        rc = p.wait()
    finally:
        p.close()
    return rc, p.text


def _probe(project, args, via, pty, cols=80, rows=24):
    probe = project.path("probe.json")
    probe.unlink(missing_ok=True)
    if pty:
        rc, text = _pty_run(project, [*args, "tests/test_probe.py"], via, cols, rows)
    else:
        r = project.pytest(*args, "tests/test_probe.py", via=via)
        rc, text = r.rc, r.text
    assert rc == 0, text
    return json.loads(probe.read_text())


@pytest.mark.parametrize("pty", [True, False], ids=["pty", "pipe"])
@pytest.mark.parametrize("capture", [["-s"], []], ids=["s", "capture"])
def test_isatty_and_terminal_size_inside_the_test_equal_plain(term, pty, capture):
    plain = _probe(term.p, capture, "plain", pty, cols=132, rows=40)
    daemon = _probe(term.d, capture, "pytestd", pty, cols=132, rows=40)
    plain.pop("ctty"), daemon.pop("ctty")
    assert daemon == plain
    if pty and capture:
        assert plain["fd_isatty"] == [True, True, True]
        assert plain["size"] == [132, 40]


def test_the_callers_terminal_is_the_runs_controlling_terminal(term):
    """Code that asks for the foreground process group or opens /dev/tty (getpass, job control,
    interactive prompts) behaves as under plain pytest."""
    plain = _probe(term.p, ["-s"], "plain", True)["ctty"]
    daemon = _probe(term.d, ["-s"], "pytestd", True)["ctty"]
    assert plain == {"stdin_fg_pgrp_is_mine": True, "dev_tty": "opens"}
    assert daemon == plain


@pytest.mark.parametrize("via", ["plain", "pytestd"])
def test_colours_under_a_pty_and_none_when_piped(term, via):
    project = term.p if via == "plain" else term.d
    rc, text = _pty_run(project, ["tests/test_colour.py"], via)
    assert rc == 1, text
    assert "\x1b[" in text, f"no ANSI colour under a pty:\n{text!r}"
    r = project.pytest("tests/test_colour.py", via=via)
    assert r.rc == 1
    assert "\x1b[" not in r.text, r.describe()


def test_forced_and_disabled_colour_env_equals_plain(term):
    for env in ({"PY_COLORS": "1"}, {"NO_COLOR": "1"}, {"FORCE_COLOR": "1"}):
        term.compare("tests/test_colour.py", env_extra=env, full_output=True)


@pytest.mark.parametrize("cols", [132, 57])
def test_terminal_width_is_honoured(term, cols):
    outputs = {}
    for via, project in (("plain", term.p), ("pytestd", term.d)):
        rc, text = _pty_run(project, ["-v", "tests/test_colour.py"], via, cols=cols)
        plain_text = H.ANSI.sub("", text)
        sep = [l for l in plain_text.splitlines() if "test session starts" in l]
        assert sep and len(sep[0].rstrip("\r")) == cols, f"{via}: separator is not {cols} wide:\n{plain_text}"
        outputs[via] = H.normalise(text, project.root).replace("\r", "").splitlines()
    assert outputs["pytestd"] == outputs["plain"], "pty output (with colours) differs from plain pytest"


@pytest.mark.parametrize("via", ["plain", "pytestd"])
def test_input_in_a_test_reads_a_line_typed_into_the_terminal(term, via):
    project = term.p if via == "plain" else term.d
    p = project.pty("-s", "tests/test_input.py", via=via)
    try:
        p.expect(r"name\? ")
        p.send(b"hello\n")
        p.expect(r"got: hello")
        rc = p.wait()
    finally:
        p.close()
    assert rc == 0, p.text


@pytest.mark.parametrize("via", ["plain", "pytestd"])
def test_pdb_prompt_accepts_commands_and_continue(term, via):
    project = term.p if via == "plain" else term.d
    p = project.pty("--pdb", "tests/test_pdb.py", via=via)
    try:
        p.expect(r"\(Pdb\) ")
        p.send(b"p answer + 1\n")
        p.expect(r"\b42\b")
        p.send(b"c\n")
        rc = p.wait()
    finally:
        p.close()
    assert rc == 1, p.text
    assert re.search(r"1 failed", H.ANSI.sub("", p.text)), p.text


@pytest.mark.parametrize("via", ["plain", "pytestd"])
def test_breakpoint_with_capture_reads_the_terminal(term, via):
    project = term.p if via == "plain" else term.d
    project.write("tests/test_bp.py", '''
        def test_bp():
            value = 5
            breakpoint()
            assert value == 6
    ''')
    p = project.pty("tests/test_bp.py", via=via)
    try:
        p.expect(r"\(Pdb\) ")
        p.send(b"value = 6\n")
        p.expect(r"\(Pdb\) ")
        p.send(b"c\n")
        rc = p.wait()
    finally:
        p.close()
    assert rc == 0, p.text


MANY = {
    "pyproject.toml": PYPROJECT,
    "tests/test_many.py": '''
        import time
        import pytest

        @pytest.mark.parametrize("i", range(300))
        def test_quick(i):
            pass

        def test_zz_slow():
            time.sleep(40)
    ''',
}


@pytest.mark.parametrize("via", ["plain", "pytestd"])
def test_pipe_into_head_returns_promptly(ctx, via):
    project = ctx.project(MANY, label="head")
    r = project.bash('"$PYTEST" -v -p no:cacheprovider | head -1; echo "status=${PIPESTATUS[*]}"',
                     via=via, timeout=30)
    first = r.out.splitlines()[0] if r.out else ""
    assert "test session starts" in first, r.describe()
    assert r.duration < 15, f"`| head -1` took {r.duration:.1f}s\n{r.describe()}"


def _wait_pidfile(path, running, timeout=30):
    pid = H.wait_for(lambda: path.exists() and path.read_text().strip(), timeout)
    assert pid, f"the test never started\n{running.output_so_far()}"
    return int(pid)


SLEEPER = {
    "pyproject.toml": PYPROJECT,
    "tests/test_sleep.py": '''
        import os, time
        from pathlib import Path
        ROOT = Path(__file__).parent.parent

        def test_first():
            pass

        def test_sleeps():
            (ROOT / "run.pid").write_text(str(os.getpid()))
            time.sleep(30)

        def test_never_reached():
            pass
    ''',
    "tests/test_stubborn.py": '''
        import os, time
        from pathlib import Path
        ROOT = Path(__file__).parent.parent

        def test_swallows_ctrl_c():
            (ROOT / "run.pid").write_text(str(os.getpid()))
            while True:
                try:
                    time.sleep(30)
                except KeyboardInterrupt:
                    (ROOT / "swallowed").write_text("1")
    ''',
}


@pytest.fixture
def sleeper(ctx):
    return ctx.pair(SLEEPER, label="sleeper")


def _interrupt_piped(project, via):
    project.path("run.pid").unlink(missing_ok=True)
    running = project.start("tests/test_sleep.py", via=via)
    run_pid = _wait_pidfile(project.path("run.pid"), running)
    running.send_signal(signal.SIGINT)
    r = running.finish(timeout=20)
    return r, run_pid


def test_sigint_to_the_shim_interrupts_like_plain_pytest(sleeper):
    plain, _ = _interrupt_piped(sleeper.p, "plain")
    daemon, run_pid = _interrupt_piped(sleeper.d, "pytestd")
    assert plain.rc == 2, plain.describe()
    assert daemon.rc == 2, daemon.describe()
    assert "KeyboardInterrupt" in daemon.text
    assert H.summary_line(daemon.out) == H.summary_line(plain.out)
    assert H.normalise(daemon.out, sleeper.d.root).splitlines() == \
        H.normalise(plain.out, sleeper.p.root).splitlines()
    assert not H.wait_gone([run_pid], 5), "the interrupted run is still alive"


@pytest.mark.parametrize("via", ["plain", "pytestd"])
def test_ctrl_c_typed_into_the_terminal_interrupts_the_run(sleeper, via):
    project = sleeper.p if via == "plain" else sleeper.d
    p = project.pty("tests/test_sleep.py", via=via)
    try:
        _wait_pidfile(project.path("run.pid"), p)
        time.sleep(0.2)
        p.send(b"\x03")
        rc = p.wait(20)
    finally:
        p.close()
    text = H.ANSI.sub("", p.text)
    assert rc == 2, text
    assert "KeyboardInterrupt" in text
    assert re.search(r"1 passed.* in ", text), text


def test_second_sigint_kills_a_run_that_swallows_the_first(sleeper, needs_daemon):
    project = sleeper.d
    running = project.start("tests/test_stubborn.py")
    run_pid = _wait_pidfile(project.path("run.pid"), running)
    running.send_signal(signal.SIGINT)
    assert H.wait_for(lambda: project.path("swallowed").exists(), 10), \
        f"first SIGINT never reached the run\n{running.output_so_far()}"
    t0 = time.monotonic()
    running.send_signal(signal.SIGINT)
    r = running.finish(timeout=15)
    assert time.monotonic() - t0 < 10, r.describe()
    assert r.rc != 0, r.describe()
    assert not H.wait_gone([run_pid], 5), "the run survived the second Ctrl-C"
    # and the daemon keeps working
    ok = project.pytest("tests/test_sleep.py::test_first", "-q")
    assert ok.rc == 0, ok.describe()
