"""pytestd's interpreter hook, written into a venv's site-packages as ``_pytestd_hook.py`` by
``pytestd install-hook`` (removed by ``pytestd uninstall-hook``) and imported by ``pytestd-hook.pth``
when ``sys.argv`` may be one of the starts below (see ``InterpreterHook.pthLine``).

When this interpreter starts as ``python -m pytest ARGS`` (or ``-m py.test``) or as an editor's pytest
runner (``python …/vscode_pytest/run_pytest_script.py ARGS``), or as either under debugpy's command
line (``python [-X frozen_modules=off] <…/debugpy | -m debugpy> OPTIONS TARGET ARGS``), it execs pytestd's ``pytest`` shim in its
place — same pid, argv, working directory, environment and descriptors — which serves the run warm
or, when it cannot, execs this interpreter command again with ``PYTESTD_HOOK_PASS`` set: that start
passes through here unchanged (the variable is removed). Every other start returns at once.
"""

import os
import sys

SHIM = None  # written by `pytestd install-hook`
RUNNER_SCRIPT = "vscode_pytest/run_pytest_script.py"
# debugpy's switches before its target (server/cli.py), with and without a value.
DEBUGPY_SWITCHES_WITH_VALUE = ("--log-to", "--listen", "--connect", "--parent-session-pid", "--adapter-access-token")
DEBUGPY_FLAGS = ("--log-to-stderr", "--wait-for-client", "--disable-sys-remote-exec", "--linux-attach-prefer-lldb")


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
    return _served_target(argv[1:]) or _served_target(_after_debugpy(argv[1:]))


def _served_target(words) -> bool:
    if not words:
        return False
    if words[0] == "-m":
        return len(words) > 1 and words[1] in ("pytest", "py.test")
    return words[0] == RUNNER_SCRIPT or words[0].endswith("/" + RUNNER_SCRIPT)


def _after_debugpy(words):
    """What follows ``[-X frozen_modules=off] (<dir>/debugpy | -m debugpy) OPTIONS``, or []."""
    index = 2 if words[:2] == ["-X", "frozen_modules=off"] else 0
    if words[index:index + 2] == ["-m", "debugpy"]:
        index += 2
    elif index < len(words) and (words[index] == "debugpy" or words[index].endswith("/debugpy")):
        index += 1
    else:
        return []
    while index < len(words):
        word = words[index]
        if word in DEBUGPY_FLAGS:
            index += 1
        elif word in DEBUGPY_SWITCHES_WITH_VALUE or word.startswith("--configure-"):
            index += 2
        else:
            break
    return words[index:]


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
