"""When the daemon cannot or must not serve, the shim becomes the real pytest — never worse than
plain pytest — and says why in one line only when something is wrong."""
import socket
import struct

import pytest

from conftest import PYPROJECT

FILES = {"pyproject.toml": PYPROJECT, "tests/test_ok.py": "def test_ok():\n    pass\n"}


@pytest.mark.parametrize("option", [["--cov"], ["--cov=src"], ["-n", "2"], ["-n2"], ["--dist", "load"]])
def test_coverage_and_xdist_options_run_the_real_pytest(ctx, option):
    """Neither plugin is installed here, so plain pytest rejects the option: the shim must give the
    very same usage error (the real pytest ran), with no note of its own."""
    pair = ctx.pair(FILES, label="route")
    plain, daemon = pair.compare(*option, full_output=True)
    assert plain.rc == 4
    assert "pytestd" not in daemon.err


def test_configured_bypass_options_run_the_real_pytest_silently(ctx, needs_daemon):
    files = dict(FILES, **{"pyproject.toml": PYPROJECT + '\n[tool.pytestd]\nbypass_options = ["--runxfail"]\n'})
    project = ctx.project(files, label="cfgbypass")
    r = project.pytest("-q", "--runxfail", env_extra={"PYTESTD_TIMING": "1"})
    assert r.rc == 0, r.describe()
    assert "pytestd" not in r.err, "a configured bypass is silent (no timing line: the daemon did not run it)"
    served = project.pytest("-q", env_extra={"PYTESTD_TIMING": "1"})
    assert "pytestd: run child" in served.err, served.describe()


def _fake_interpreter(ctx, label, version, libpython):
    """A "venv" whose python describes itself as `version` with `libpython`, and otherwise runs the
    real 3.11 venv's python."""
    fake = ctx.workdir / f"fakevenv-{label}"
    (fake / "bin").mkdir(parents=True)
    python = fake / "bin" / "python"
    real = ctx.venv_for("3.11") / "bin" / "python"
    python.write_text(
        "#!/bin/sh\n"
        f'if [ "$1" = "-I" ]; then printf "{version}\\n{libpython}\\n/nonexistent\\n/nonexistent-stdlib\\n/nonexistent-stdlib\\n"; exit 0; fi\n'
        f'exec {real} "$@"\n')
    python.chmod(0o755)
    return fake


@pytest.mark.parametrize("version, libpython, reason", [
    ("3.11.7", "", "has no shared libpython to embed"),
    ("3.7.17", "/usr/lib/libpython3.7m.so", "Python 3.7.17 is not supported"),
])
def test_interpreter_that_cannot_be_embedded_falls_back_with_one_line(ctx, needs_daemon, version, libpython, reason):
    project = ctx.project(FILES, label="noshared")
    fake = _fake_interpreter(ctx, version, version, libpython)
    env = {"VIRTUAL_ENV": fake}
    try:
        r = project.pytest("-q", env_extra=env)
        assert r.rc == 0 and "1 passed" in r.out, r.describe()
        notes = [line for line in r.err.splitlines() if line.startswith("pytestd:")]
        assert len(notes) == 1 and reason in notes[0] and notes[0].endswith("running plain pytest"), r.describe()
        status = project.cli("status", env_extra=env)
        assert "state:" in status.out and "failed" in status.out and reason in status.out, status.describe()
    finally:
        project.cli("stop", env_extra=env)


def test_malformed_request_gets_a_clear_refusal_and_the_manager_keeps_serving(ctx, needs_daemon):
    project = ctx.project(FILES, label="garbage")
    assert project.pytest("-q").rc == 0
    path = project.status()["socket"]
    replies = []
    for garbage in (struct.pack("<I", 12) + b"\xff" * 12,       # a whole frame of nonsense
                    struct.pack("<I", 1 << 30),                 # a frame far over the size limit
                    struct.pack("<II", 9, 1) + b"\x01" + b"\x00" * 4):  # a run request cut short
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
            s.settimeout(10)
            s.connect(path)
            s.sendall(garbage)
            data = b""
            while True:
                chunk = s.recv(4096)
                if not chunk:
                    break
                data += chunk
            replies.append(data)
    for data in replies:
        assert b"malformed request" in data, replies
    r = project.pytest("-q")
    assert r.rc == 0 and "1 passed" in r.out, r.describe()
