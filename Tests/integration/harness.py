"""Process plumbing for the black-box suite: running commands with hard timeouts, driving a pty,
normalising pytest output, and inspecting processes through /proc.

Nothing here knows about pytestd's internals; it only starts processes and looks at what they print,
return and leave behind.
"""
from __future__ import annotations

import errno
import fcntl
import json
import os
import re
import select
import signal
import struct
import subprocess
import termios
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
BIN_DIR = Path(os.environ.get("PYTESTD_BIN_DIR", REPO / ".build" / "release"))
VENV_ROOT = Path(os.environ.get("PYTESTD_TEST_VENVS", REPO / ".build" / "test-venvs"))
PYENV_VERSIONS = Path(os.environ.get("PYENV_ROOT", Path.home() / ".pyenv")) / "versions"
PYTHON_VERSIONS = {"3.9": "3.9.18", "3.11": "3.11.7", "3.13": "3.13.0",
                   "3.8": "3.8.18", "3.10": "3.10.13", "3.12": "3.12.1"}

# Every subprocess gets this unless a test says otherwise; no command of the suite may run longer.
DEFAULT_TIMEOUT = float(os.environ.get("PYTESTD_IT_TIMEOUT", "60"))
# After the command exits its stdout/stderr must reach EOF within this many seconds; otherwise some
# process it started (a daemon) still holds the caller's pipe, which is what makes `$(pytest)` hang.
PIPE_GRACE = 5.0


class CommandTimeout(AssertionError):
    pass


@dataclass
class Result:
    cmd: list
    rc: int
    out: str
    err: str
    duration: float
    pipe_held_open: bool = False
    outcomes: list = field(default_factory=list)

    @property
    def text(self) -> str:
        return self.out + self.err

    def describe(self) -> str:
        return (f"$ {' '.join(map(str, self.cmd))}\nrc={self.rc} ({self.duration:.2f}s)\n"
                f"--- stdout ---\n{self.out}\n--- stderr ---\n{self.err}")


def _no_core_dumps():
    import resource
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))


def _preexec(umask=None):
    def fn():
        _no_core_dumps()
        if umask is not None:
            os.umask(umask)
    return fn


def kill_group(pid: int, sig=signal.SIGKILL):
    try:
        os.killpg(pid, sig)
    except (ProcessLookupError, PermissionError):
        pass


def stop_process(proc, pid):
    """Kill a still running command's whole process group and reap it (bounded)."""
    if proc.poll() is None:
        kill_group(pid)
        try:
            proc.wait(5)
        except subprocess.TimeoutExpired:
            pass


def _reader(stream, chunks):
    try:
        for chunk in iter(lambda: stream.read1(65536), b""):
            chunks.append(chunk)
    except (OSError, ValueError):
        pass


class Running:
    """A command started in its own session with pipes; `finish()` enforces the timeout."""

    def __init__(self, cmd, cwd, env, timeout=DEFAULT_TIMEOUT, stdin=subprocess.DEVNULL, umask=None):
        self.cmd = [str(c) for c in cmd]
        self.timeout = timeout
        self.start = time.monotonic()
        self.proc = subprocess.Popen(self.cmd, cwd=str(cwd), env=env, stdin=stdin,
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                     start_new_session=True, preexec_fn=_preexec(umask))
        self.pid = self.proc.pid
        self._out, self._err = [], []
        self._threads = [threading.Thread(target=_reader, args=(self.proc.stdout, self._out), daemon=True),
                         threading.Thread(target=_reader, args=(self.proc.stderr, self._err), daemon=True)]
        for t in self._threads:
            t.start()

    def output_so_far(self) -> str:
        return b"".join(self._out + self._err).decode("utf-8", "replace")

    def send_signal(self, sig):
        self.proc.send_signal(sig)

    def finish(self, timeout=None) -> Result:
        timeout = self.timeout if timeout is None else timeout
        deadline = self.start + timeout
        try:
            rc = self.proc.wait(timeout=max(0.0, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            kill_group(self.pid)
            self.proc.wait()
            for t in self._threads:
                t.join(2)
            res = self._result(None, False)
            raise CommandTimeout(f"command did not finish within {timeout:.0f}s (killed its group)\n"
                                 + res.describe())
        except BaseException:  # e.g. the per-test timeout or Ctrl-C of the suite: leave nothing running
            kill_group(self.pid)
            raise
        held = False
        for t in self._threads:
            t.join(PIPE_GRACE)
            held = held or t.is_alive()
        if held:
            # Close our ends so the reader threads stop; the culprit is reported by the caller.
            for s in (self.proc.stdout, self.proc.stderr):
                try:
                    s.close()
                except OSError:
                    pass
        return self._result(rc, held)

    def _result(self, rc, held) -> Result:
        return Result(self.cmd, rc if rc is not None else -999,
                      b"".join(self._out).decode("utf-8", "replace"),
                      b"".join(self._err).decode("utf-8", "replace"),
                      time.monotonic() - self.start, held)

    def kill(self):
        stop_process(self.proc, self.pid)


def run_command(cmd, cwd, env, timeout=DEFAULT_TIMEOUT, stdin=subprocess.DEVNULL, umask=None,
                allow_held_pipe=False) -> Result:
    r = Running(cmd, cwd, env, timeout=timeout, stdin=stdin, umask=umask).finish()
    if r.pipe_held_open and not allow_held_pipe:
        raise AssertionError("the command exited but its stdout/stderr stayed open: a process it started "
                             "inherited the caller's pipe (this is what hangs `out=$(pytest ...)`)\n"
                             + r.describe())
    return r


# ---------------------------------------------------------------------------------------------- pty

def set_winsize(fd, rows, cols):
    fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))


class PtyRun:
    """A command whose stdin/stdout/stderr are the slave side of a fresh pty (its controlling terminal)."""

    def __init__(self, cmd, cwd, env, cols=80, rows=24, timeout=DEFAULT_TIMEOUT):
        self.cmd = [str(c) for c in cmd]
        self.timeout = timeout
        self.start = time.monotonic()
        self.master, slave = os.openpty()
        set_winsize(slave, rows, cols)

        def preexec():
            _no_core_dumps()
            os.setsid()
            fcntl.ioctl(0, termios.TIOCSCTTY, 0)

        try:
            self.proc = subprocess.Popen(self.cmd, cwd=str(cwd), env=env, stdin=slave, stdout=slave,
                                         stderr=slave, preexec_fn=preexec, close_fds=True)
        finally:
            os.close(slave)
        self.pid = self.proc.pid
        self.buf = b""

    @property
    def text(self) -> str:
        return self.buf.decode("utf-8", "replace")

    def _read(self, wait) -> bool:
        r, _, _ = select.select([self.master], [], [], wait)
        if not r:
            return True
        try:
            data = os.read(self.master, 65536)
        except OSError as e:
            if e.errno == errno.EIO:
                return False
            raise
        if not data:
            return False
        self.buf += data
        return True

    def expect(self, pattern, timeout=30.0):
        """Wait until `pattern` (regex on the decoded output) appears; return the match."""
        rx = re.compile(pattern)
        deadline = time.monotonic() + timeout
        while True:
            m = rx.search(self.text)
            if m:
                return m
            left = deadline - time.monotonic()
            if left <= 0 or (not self._read(min(left, 0.2)) and self.proc.poll() is not None):
                m = rx.search(self.text)
                if m:
                    return m
                raise AssertionError(f"{pattern!r} did not appear within {timeout}s "
                                     f"(rc={self.proc.poll()})\n--- pty output ---\n{self.text}")

    def output_so_far(self) -> str:
        self._read(0)
        return self.text

    def send(self, data: bytes):
        os.write(self.master, data)

    def wait(self, timeout=None) -> int:
        timeout = self.timeout if timeout is None else timeout
        deadline = time.monotonic() + timeout
        while self.proc.poll() is None:
            if time.monotonic() > deadline:
                self.close()
                raise CommandTimeout(f"pty command did not finish within {timeout}s\n{self.text}")
            self._read(0.1)
        # Drain what is left; a slave still held open by someone else must not block us.
        end = time.monotonic() + 2.0
        while time.monotonic() < end and self._read(0.1):
            r, _, _ = select.select([self.master], [], [], 0)
            if not r:
                break
        return self.proc.returncode

    def close(self):
        stop_process(self.proc, self.pid)
        try:
            os.close(self.master)
        except OSError:
            pass


# ----------------------------------------------------------------------------------- output shapes

_TIMING = re.compile(r" in \d+(\.\d+)?s( \(\d+:\d\d:\d\d\))?")
_SUMMARY_WORDS = re.compile(r"\b(passed|failed|errors?|skipped|deselected|xfailed|xpassed|warnings?|"
                            r"no tests ran|interrupted|rerun)\b")
ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")


def strip_timing(line: str) -> str:
    return _TIMING.sub("", line)


def summary_line(text: str) -> str:
    """The final pytest summary line ("=== 1 failed, 2 passed ===" or "1 failed, 2 passed"), timing removed."""
    for line in reversed(ANSI.sub("", text).splitlines()):
        line = line.strip()
        if line and _SUMMARY_WORDS.search(line) and (" in " in line or line.startswith("=")):
            return strip_timing(line).strip("= ").strip()
    return ""


def normalise(text: str, root: Path | None = None, extra=()) -> str:
    """Make two runs' output comparable: paths of the project copy, timings, addresses, pids."""
    if root is not None:
        for r in {str(root), os.path.realpath(root)}:
            text = text.replace(r, "<ROOT>")
    for old, new in extra:
        text = text.replace(old, new)
    text = _TIMING.sub(" in <T>", text)
    text = re.sub(r"0x[0-9a-fA-F]{6,}", "0xADDR", text)
    text = re.sub(r"pytest-of-[^/]+/pytest-\d+", "pytest-of-U/pytest-N", text)
    text = re.sub(r"\[\d+(\.\d+)?s\]", "[<T>]", text)
    return text


def read_outcomes(path: Path, args=None) -> list:
    """Rows written by the project's recorder conftest, keeping only the processes whose pytest session
    had exactly `args` (a daemon's warm-up collection also runs the project's hooks)."""
    if not path.exists():
        return []
    rows = [json.loads(l) for l in path.read_text().splitlines() if l.strip()]
    if args is not None:
        args = [str(a) for a in args]
        mine = {r[0] for r in rows if r[1] == "<session>" and r[2] == args}
        if mine:
            rows = [r for r in rows if r[0] in mine]
    return [tuple(r[1:]) for r in rows if r[1] != "<session>"]


# --------------------------------------------------------------------------------------- processes

def pid_alive(pid: int) -> bool:
    """Running (not a zombie): /proc/<pid> exists and its state is not Z/X."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except (FileNotFoundError, ProcessLookupError):
        return False
    state = stat[stat.rfind(")") + 2:].split()[0]
    return state not in ("Z", "X")


def wait_gone(pids, timeout=10.0) -> list:
    """Wait until none of `pids` runs; return those that still do."""
    deadline = time.monotonic() + timeout
    alive = [p for p in pids if pid_alive(p)]
    while alive and time.monotonic() < deadline:
        time.sleep(0.05)
        alive = [p for p in alive if pid_alive(p)]
    return alive


def wait_for(pred, timeout=10.0, interval=0.05):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        v = pred()
        if v:
            return v
        time.sleep(interval)
    return pred()


def processes_mentioning(needle: str, exclude=()) -> dict:
    """Live processes whose command line or initial environment contains `needle` (pid -> cmdline)."""
    found = {}
    me = os.getpid()
    b = needle.encode()
    for d in Path("/proc").iterdir():
        if not d.name.isdigit():
            continue
        pid = int(d.name)
        if pid == me or pid in exclude:
            continue
        try:
            cmdline = (d / "cmdline").read_bytes()
            environ = (d / "environ").read_bytes()
        except OSError:
            continue
        if (b in cmdline or b in environ) and pid_alive(pid):
            found[pid] = cmdline.replace(b"\0", b" ").decode("utf-8", "replace").strip()
    return found


def duplicate_descriptor(pid: int, fd: int) -> int:
    """A duplicate of another process's descriptor `fd` (pidfd_getfd, Linux 5.6): writing to it is
    writing as that process. The caller closes it."""
    import ctypes
    libc = ctypes.CDLL(None, use_errno=True)
    pidfd_open, pidfd_getfd = 434, 438
    pidfd = libc.syscall(pidfd_open, pid, 0)
    if pidfd < 0:
        raise OSError(ctypes.get_errno(), f"pidfd_open({pid}): {os.strerror(ctypes.get_errno())}")
    try:
        duplicate = libc.syscall(pidfd_getfd, pidfd, fd, 0)
        if duplicate < 0:
            raise OSError(ctypes.get_errno(), f"pidfd_getfd({pid}, {fd}): {os.strerror(ctypes.get_errno())}")
        return duplicate
    finally:
        os.close(pidfd)


def proc_info(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode().strip()
    except OSError:
        return "?"


def parse_status(text: str) -> dict:
    out = {}
    for line in text.splitlines():
        if ":" in line:
            k, v = line.split(":", 1)
            out[k.strip().lower()] = v.strip()
    return out


def status_pids(status: dict) -> list:
    pids = []
    for k, v in status.items():
        if k == "pid" or k.endswith(" pid") or k.endswith(" pids") or k == "pids":
            pids += [int(x) for x in re.findall(r"\d+", v)]
    return pids


# Status assertions prove that *this* edit took *that* path: the edit's change set is new, the reload
# or fallback names it, and the last run was served by the host it produced. A `last reload` line
# alone may be an earlier edit's.

def change_set_id(status: dict) -> int:
    """The id of the last change set `pytestd status` shows; 0 before the first."""
    m = re.match(r"#(\d+) ", status.get("last change set", ""))
    return int(m[1]) if m else 0


def reload_after(project, before: int) -> str:
    """The `last reload` line of the edit saved after change set `before`, served the last run."""
    status = project.status()
    change_set = change_set_id(status)
    assert change_set > before, f"the edit made no change set after #{before}: {status}"
    m = re.match(r"generation (\d+) from \d+, change set #(\d+): ", status.get("last reload", ""))
    assert m and int(m[2]) == change_set, f"the last reload is not of change set #{change_set}: {status}"
    assert status.get("last run") == f"served by generation {m[1]}", \
        f"the last run was not served by that reload: {status}"
    return status["last reload"]


def fallback_after(project, before: int) -> str:
    """The `last fallback` line of the edit saved after change set `before`; the last run was served
    by a clean host."""
    status = project.status()
    change_set = change_set_id(status)
    assert change_set > before, f"the edit made no change set after #{before}: {status}"
    fallback = status.get("last fallback", "")
    assert fallback.endswith(f"(change set #{change_set})"), f"the last fallback is not of change set #{change_set}: {status}"
    generation = status.get("host generation", "").split(" ")[0]
    assert re.search(r"\(clean(, forked from the zygote)?\)$", status.get("host generation", "")) and status.get("last run") == f"served by generation {generation}", \
        f"the last run was not served by the clean host: {status}"
    return fallback
