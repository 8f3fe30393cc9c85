"""pytestd's interpreter hook, written into a venv's site-packages as ``_pytestd_hook.py`` by
``pytestd install-hook`` (removed by ``pytestd uninstall-hook``) and imported by ``pytestd-hook.pth``
when ``sys.argv`` may be one of the starts below (see ``InterpreterHook.pthLine``).

When this interpreter starts as ``python -m pytest ARGS`` (or ``-m py.test``) or as an editor's pytest
runner (``python …/vscode_pytest/run_pytest_script.py ARGS``), it execs pytestd's ``pytest`` shim in its
place — same pid, argv, working directory, environment and descriptors — which serves the run warm
or, when it cannot, execs this interpreter command again with ``PYTESTD_HOOK_PASS`` set: that start
passes through here unchanged (the variable is removed). Every other start returns at once.
"""

import os
import sys

SHIM = None  # written by `pytestd install-hook`
RUNNER_SCRIPT = "vscode_pytest/run_pytest_script.py"


def _interpreter_argv():
    argv = getattr(sys, "orig_argv", None)  # 3.10+
    if argv is not None:
        return argv
    try:
        with open("/proc/self/cmdline", "rb") as cmdline:
            return [os.fsdecode(word) for word in cmdline.read().split(b"\0")[:-1]]
    except OSError:
        return []


def _served(argv) -> bool:
    """`InterpreterCommand` in Swift applies the same rule."""
    if len(argv) < 2:
        return False
    if argv[1] == "-m":
        return len(argv) > 2 and argv[2] in ("pytest", "py.test")
    return argv[1] == RUNNER_SCRIPT or argv[1].endswith("/" + RUNNER_SCRIPT)


def _hand_over() -> None:
    environ = os.environ
    if "PYTESTD_HOOK_PASS" in environ:
        del environ["PYTESTD_HOOK_PASS"]
        return
    argv = _interpreter_argv()
    # A pytest started by a test (PYTEST_CURRENT_TEST is inherited) runs as it would without pytestd.
    if not _served(argv) or "PYTEST_CURRENT_TEST" in environ or not SHIM or not sys.executable:
        return
    import signal

    # CPython ignored these at start-up; the exec'd process inherits ignored signals.
    signal.signal(signal.SIGPIPE, signal.SIG_DFL)
    signal.signal(signal.SIGXFSZ, signal.SIG_DFL)
    environ["PYTESTD_HOOKED_PYTHON"] = sys.executable
    try:
        os.execv(SHIM, argv)
    except OSError:
        # pytestd is gone or moved: run as if the hook were not installed.
        del environ["PYTESTD_HOOKED_PYTHON"]
        signal.signal(signal.SIGPIPE, signal.SIG_IGN)
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)


_hand_over()
