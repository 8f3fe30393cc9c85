"""One run, inside a child forked from the warm template.

The host has already put the caller's terminal on fds 0-2 and made the child its own process group.
What remains is to make the interpreter look as if ``pytest ARGS`` had just been started by the
caller, run pytest's real entry point, and leave the way CPython would.
"""

import atexit
import importlib
import linecache
import os
import signal
import sys

from pytestd import _import_warnings, _patches, _wire

CONSOLE_SCRIPT = b"console"


def run(argv: bytes, cwd: bytes, environment: bytes, style: bytes, script: bytes) -> int:
    os.chdir(cwd)
    _replace_environment(_wire.split(environment))
    _restore_signals()
    _prepare_streams()
    _apply_runtime_switches()
    arguments = [os.fsdecode(a) for a in _wire.split(argv)]
    _set_argv_and_path(arguments, style == CONSOLE_SCRIPT, os.fsdecode(script))
    # The template's caches describe the disk as it was when the template was built.
    importlib.invalidate_caches()
    linecache.clearcache()
    _patches.run_after_fork()
    _import_warnings.template.install_replay()
    return _exit_status(_main)


def _main() -> int:
    import pytest

    return pytest.console_main()


def _replace_environment(entries):
    os.environb.clear()
    for entry in entries:
        name, sep, value = entry.partition(b"=")
        if sep and name:
            os.environb[name] = value


def _restore_signals():
    """What CPython's start-up installs (the host was initialised without signal handlers)."""
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGPIPE, signal.SIG_IGN)
    if hasattr(signal, "SIGXFSZ"):
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)


def _prepare_streams():
    unbuffered = bool(os.environ.get("PYTHONUNBUFFERED"))
    sys.stdout.reconfigure(line_buffering=sys.stdout.isatty(), write_through=unbuffered)
    sys.stderr.reconfigure(line_buffering=True, write_through=unbuffered)


def _apply_runtime_switches():
    """Start-up variables that are per-run switches rather than interpreter shape."""
    sys.dont_write_bytecode = bool(os.environ.get("PYTHONDONTWRITEBYTECODE"))
    if os.environ.get("PYTHONFAULTHANDLER"):
        import faulthandler

        faulthandler.enable()


def _set_argv_and_path(arguments, console_script: bool, script: str):
    if console_script:
        argv0 = script
        first_path = os.path.dirname(os.path.realpath(script))
    else:
        import pytest

        argv0 = os.path.join(os.path.dirname(pytest.__file__), "__main__.py")
        first_path = os.getcwd()
    sys.argv[:] = [argv0] + arguments[1:]
    if console_script:
        sys.orig_argv = [sys.executable, script] + arguments[1:]
    else:
        sys.orig_argv = [sys.executable, "-m", "pytest"] + arguments[1:]
    main = sys.modules["__main__"]
    main.__file__ = argv0
    if not (sys.version_info >= (3, 11) and os.environ.get("PYTHONSAFEPATH")):
        sys.path.insert(0, first_path)


def _exit_status(main) -> int:
    """Runs ``main`` and turns its end into an exit status the way CPython's own exit does."""
    try:
        code = main()
    except SystemExit as exc:
        code = _system_exit_code(exc)
    except KeyboardInterrupt:
        import traceback

        traceback.print_exc()
        _finish()
        # CPython ends an uncaught KeyboardInterrupt by dying of SIGINT.
        signal.signal(signal.SIGINT, signal.SIG_DFL)
        os.kill(os.getpid(), signal.SIGINT)
        code = 130
    except BaseException:
        sys.excepthook(*sys.exc_info())
        code = 1
    return _finish(code)


def _system_exit_code(exc: SystemExit) -> int:
    if exc.code is None:
        return 0
    if isinstance(exc.code, int):
        return exc.code
    print(exc.code, file=sys.stderr)
    return 1


def _finish(code: int = 0) -> int:
    """Interpreter shutdown as the run can observe it: non-daemon threads, atexit, flushed streams."""
    threading = sys.modules.get("threading")
    if threading is not None:
        threading._shutdown()
    atexit._run_exitfuncs()
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):
            code = code or 120
    return code & 0xFF
