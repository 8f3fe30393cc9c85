"""Invariant 6: the control socket lives in a 0700 directory, is 0600, refuses other uids, never TCP."""
import os
import shutil
import stat
import tempfile
from pathlib import Path

import pytest

import harness as H
from conftest import PYPROJECT

pytestmark = pytest.mark.usefixtures("needs_daemon")

FILES = {"pyproject.toml": PYPROJECT, "tests/test_ok.py": "def test_ok():\n    pass\n"}


@pytest.fixture
def secure(ctx):
    """A project with its own runtime dir below a world-traversable parent, created by the product."""
    base = Path(tempfile.mkdtemp(prefix="ptds-", dir="/tmp"))
    os.chmod(base, 0o755)
    project = ctx.project(FILES, label="sec")
    project.runtime_dir = base / "rt"
    yield project
    problems = project.stop_and_check()
    project.used_daemon = False
    shutil.rmtree(base, ignore_errors=True)
    assert not problems, problems


def _sockets(root: Path):
    found = []
    for dirpath, _, files in os.walk(root):
        for f in files:
            p = Path(dirpath) / f
            if stat.S_ISSOCK(p.lstat().st_mode):
                found.append(p)
    return found


def test_runtime_dir_is_0700_and_socket_is_0600_even_with_umask_0(secure):
    r = secure.pytest("-q", umask=0)
    assert r.rc == 0, r.describe()
    rt = secure.runtime_dir
    socks = _sockets(rt)
    assert socks, f"no socket under {rt}: {list(os.walk(rt))}"
    problems = []
    for dirpath, dirs, files in os.walk(rt):
        for name in [dirpath] + [os.path.join(dirpath, f) for f in files]:
            st = os.lstat(name)
            mode = stat.S_IMODE(st.st_mode)
            if st.st_uid != os.getuid():
                problems.append(f"{name} owned by uid {st.st_uid}")
            if stat.S_ISDIR(st.st_mode) and mode != 0o700:
                problems.append(f"dir {name} mode {oct(mode)} (want 0700)")
            elif stat.S_ISSOCK(st.st_mode) and mode != 0o600:
                problems.append(f"socket {name} mode {oct(mode)} (want 0600)")
            elif mode & 0o022:
                problems.append(f"{name} mode {oct(mode)} is group/world writable")
    assert not problems, "\n".join(problems)


CLIENT = r'''
import socket, sys
path = sys.argv[1]
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.settimeout(5)
try:
    s.connect(path)
except OSError as e:
    print("CONNECT_FAILED", e.errno); sys.exit(0)
try:
    s.sendall(b'{"run": ["-q"], "cwd": "/", "version": 1}\n' + b"\0" * 64)
    data = s.recv(4096)
    print("EOF" if not data else "DATA " + data[:200].hex())
except socket.timeout:
    print("TIMEOUT")
except (ConnectionResetError, BrokenPipeError):
    print("RESET")
'''


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root to act as another uid")
def test_connection_from_another_uid_is_refused(secure):
    assert secure.pytest("-q").rc == 0
    pid = int(secure.status()["pid"])
    rt = secure.runtime_dir
    socks = _sockets(rt)
    assert socks
    # Open the filesystem permissions so only the daemon's own peer check stands in the way.
    saved = {}
    for dirpath, _, _ in os.walk(rt):
        saved[dirpath] = stat.S_IMODE(os.stat(dirpath).st_mode)
        os.chmod(dirpath, 0o755)
    for s in socks:
        saved[str(s)] = stat.S_IMODE(os.lstat(s).st_mode)
        os.chmod(s, 0o666)
    client = secure.ctx.workdir.parent / f"ptd-client-{os.getpid()}.py"
    client.write_text(CLIENT)
    os.chmod(client, 0o644)
    try:
        results = {}
        for s in socks:
            r = H.run_command(["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups",
                               "/usr/bin/python3", str(client), str(s)], "/", {"PATH": "/usr/bin:/bin"},
                              timeout=20)
            results[str(s)] = r.out.strip() or r.describe()
    finally:
        client.unlink()
        for path, mode in saved.items():
            os.chmod(path, mode)
    bad = {s: v for s, v in results.items()
           if not (v in ("EOF", "RESET") or v.startswith("CONNECT_FAILED"))}
    assert not bad, f"a peer of another uid was not refused (want EOF/RESET at once): {bad}"
    assert H.pid_alive(pid), "the manager died after a foreign connection"
    r = secure.pytest("-q")
    assert r.rc == 0, r.describe()
    assert int(secure.status()["pid"]) == pid


def _socket_inodes(pid):
    inodes = set()
    try:
        for fd in os.listdir(f"/proc/{pid}/fd"):
            try:
                target = os.readlink(f"/proc/{pid}/fd/{fd}")
            except OSError:
                continue
            if target.startswith("socket:["):
                inodes.add(target[8:-1])
    except OSError:
        pass
    return inodes


def test_daemon_never_listens_on_tcp_or_udp(secure):
    assert secure.pytest("-q").rc == 0
    s = secure.status()
    pids = H.status_pids(s)
    assert pids
    inet = set()
    for table in ("tcp", "tcp6", "udp", "udp6"):
        try:
            lines = Path(f"/proc/net/{table}").read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            parts = line.split()
            if len(parts) > 9:
                inet.add(parts[9])
    leaks = {p: _socket_inodes(p) & inet for p in pids}
    assert not any(leaks.values()), f"inet sockets held by the daemon: {leaks}"
