"""One run, inside a child forked from the warm template.

The host has already put the caller's terminal on fds 0-2 and made the child its own process group.
What remains is to make the interpreter look as if ``pytest ARGS`` (or ``python SCRIPT ARGS``, an
editor's pytest runner handed over by the interpreter hook) had just been started by the caller, run
pytest's real entry point (or the script), and leave the way CPython would.

Under debugpy's command line (an editor's "Debug Test": ``python -X frozen_modules=off <…/debugpy>
--connect HOST:PORT … TARGET ARGS``), the child becomes that command instead: debugpy's own
``__main__`` connects to the debug adapter, then runs the target as ``__main__``. debugpy is imported
here, from where the caller's command line names it, never into a template (such a run teaches the
warm set nothing).
"""

import atexit
import importlib
import linecache
import os
import signal
import sys

from pytestd import _import_warnings, _patches, _run_imports, _wire

CONSOLE_SCRIPT = b"console"
SCRIPT_KIND = b"script"


def run(argv: bytes, cwd: bytes, environment: bytes, style: bytes, script: bytes, kind: bytes,
        debugpy_words: bytes = b"") -> int:
    os.chdir(cwd)
    _replace_environment(_wire.split(environment))
    _restore_signals()
    _prepare_streams()
    _apply_runtime_switches()
    arguments = [os.fsdecode(a) for a in _wire.split(argv)]
    script_path = os.fsdecode(script)
    debugpy = [os.fsdecode(w) for w in _wire.split(debugpy_words)]
    if debugpy:
        target = [script_path] if kind == SCRIPT_KIND else ["-m", "pytest"]
        path0 = _set_debugpy_argv_and_path(debugpy, target + arguments[1:])
    else:
        path0 = _set_argv_and_path(arguments, style == CONSOLE_SCRIPT, script_path, kind == SCRIPT_KIND)
    _place_pythonpath(path0)
    # The template's caches describe the disk as it was when the template was built.
    importlib.invalidate_caches()
    linecache.clearcache()
    _patches.run_after_fork()
    _import_warnings.template.install_replay()
    if debugpy:
        return _exit_status(lambda: _run_debugpy(debugpy))
    if kind == SCRIPT_KIND:
        return _exit_status(lambda: _run_script(script_path))
    return _exit_status(_main)


def _main() -> int:
    import pytest

    return pytest.console_main()


def _run_script(path: str) -> int:
    """``python SCRIPT`` runs the script's code in a new ``__main__`` module, not through runpy (whose
    frames would show in the script's tracebacks)."""
    import builtins
    import importlib.machinery
    import types

    with open(path, "rb") as file:
        source = file.read()
    if sys.version_info >= (3, 9):  # as CPython names the script since 3.9
        path = os.path.abspath(path)
    main = types.ModuleType("__main__")
    main.__file__ = path
    main.__cached__ = None
    main.__annotations__ = {}
    main.__builtins__ = builtins
    main.__loader__ = importlib.machinery.SourceFileLoader("__main__", path)
    sys.modules["__main__"] = main
    exec(compile(source, path, "exec", dont_inherit=True), main.__dict__)
    return 0


def _run_debugpy(words) -> int:
    """What the interpreter does with ``python <dir>`` (its ``__main__.py``) or ``python -m debugpy``,
    in a fresh ``__main__`` module."""
    import builtins
    import runpy
    import types

    main = types.ModuleType("__main__")
    main.__builtins__ = builtins
    sys.modules["__main__"] = main
    if words[0] == "-m":
        runpy._run_module_as_main("debugpy", alter_argv=True)
    else:
        runpy._run_module_as_main("__main__", alter_argv=False)
    return 0


def _set_debugpy_argv_and_path(words, target) -> int:
    """``sys.argv`` and ``sys.path[0]`` of ``python WORDS TARGET`` for debugpy's command line: debugpy
    then sets them for the target as it would in a fresh process. ``-X frozen_modules=off`` is the
    interpreter's own option: a warm run keeps the template's (see README, Debugging warm runs).
    Returns what ``_set_argv_and_path`` returns."""
    sys.orig_argv = [sys.executable] + words + target
    if words[:2] == ["-X", "frozen_modules=off"]:
        words = words[2:]
    if words[0] == "-m":
        sys.argv[:] = ["-m"] + words[2:] + target
        first_path = os.getcwd()
    else:
        sys.argv[:] = words + target
        first_path = os.path.abspath(words[0])
    _run_imports.learns = False
    if sys.version_info >= (3, 11) and os.environ.get("PYTHONSAFEPATH"):
        return 0
    sys.path.insert(0, first_path)
    return 1


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
    encoding, _, errors = os.environ.get("PYTHONIOENCODING", "").partition(":")
    if encoding or errors:
        import codecs

        _open_stdio(encoding and codecs.lookup(encoding).name, errors)


def _open_stdio(encoding: str, errors: str) -> None:
    """The standard streams as start-up makes them under PYTHONIOENCODING=[encoding][:errors]
    (debugpy's launcher sets utf-8): the errors part (strict when only an encoding is named) is for
    stdin and stdout; stderr keeps its own.
    New objects, as ``reconfigure`` would seek a stream whose descriptor was a file in the template."""
    import io

    for name, fd, mode in (("stdin", 0, "r"), ("stdout", 1, "w"), ("stderr", 2, "w")):
        old = getattr(sys, name)
        if old is None:
            continue
        raw = io.FileIO(fd, mode, closefd=False)
        raw.name = f"<{name}>"
        buffered = io.BufferedReader(raw) if mode == "r" else io.BufferedWriter(raw)
        stream = io.TextIOWrapper(
            buffered, encoding=encoding or old.encoding, errors=old.errors if name == "stderr" else errors or (
                "strict" if encoding else old.errors),
            newline="\n", line_buffering=old.line_buffering, write_through=old.write_through)
        stream.mode = mode
        setattr(sys, name, stream)
        setattr(sys, f"__{name}__", stream)


def _apply_runtime_switches():
    """Start-up variables that are per-run switches rather than interpreter shape."""
    sys.dont_write_bytecode = bool(os.environ.get("PYTHONDONTWRITEBYTECODE"))
    if os.environ.get("PYTHONFAULTHANDLER"):
        import faulthandler

        faulthandler.enable()


def _set_argv_and_path(arguments, console_script: bool, script: str, runs_script: bool) -> int:
    """Returns how many entries now precede where the interpreter puts PYTHONPATH (0 or 1)."""
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
    if not runs_script:
        sys.modules["__main__"].__file__ = argv0
    if sys.version_info >= (3, 11) and os.environ.get("PYTHONSAFEPATH"):
        return 0
    sys.path.insert(0, first_path)
    return 1


def _place_pythonpath(index: int) -> None:
    """PYTHONPATH's entries where CPython puts them: after ``sys.path[0]``, before the standard
    library, made absolute against the working directory (an empty entry is the working directory)
    and without duplicates (``site`` keeps the first). An entry holding a module the template imported
    from elsewhere would import another module in a fresh process: such a run goes to plain Python."""
    value = os.environ.get("PYTHONPATH")
    if not value:
        return
    import site

    entries = []
    for entry in value.split(os.pathsep):
        entry = os.path.abspath(entry)
        if entry not in entries:
            entries.append(entry)
    site_directories = set(site.getsitepackages() + [site.getusersitepackages()])
    for entry in entries:
        reason = _unservable_entry(entry, site_directories)
        if reason:
            raise _patches.ServeCold(f"PYTHONPATH entry {entry} {reason}", remember=False, details=f"PYTHONPATH={value}")
    rest = [path for path in sys.path[index:] if os.path.abspath(path) not in entries]
    sys.path[index:] = entries + rest
    # An entry outside the working directory (an editor's plugin) provides modules for this run only:
    # a template that imported them would keep another run's module state.
    cwd = os.path.join(os.getcwd(), "")
    _run_imports.run_only_directories[:] = [
        os.path.join(entry, "") for entry in entries if not os.path.join(entry, "").startswith(cwd)]


def _unservable_entry(entry: str, site_directories):
    """Why importing with ``entry`` early on the path could differ from the template, or None."""
    if entry in site_directories:
        return "is a site directory (a fresh interpreter would not process its .pth files)"
    if not os.path.isdir(entry):
        return "is an archive" if os.path.exists(entry) else None
    from importlib.machinery import all_suffixes

    suffixes = tuple(all_suffixes())
    prefix = os.path.join(entry, "")
    for name in os.listdir(entry):
        if "." in name and not name.endswith(suffixes):
            continue
        top = name.partition(".")[0]
        module = sys.modules.get(top)
        if module is None or top == "__main__" or top in sys.builtin_module_names:
            continue
        locations = [getattr(module, "__file__", None) or ""] + list(getattr(module, "__path__", []))
        if not any(location.startswith(prefix) for location in locations if location):
            return f"holds module {top}, which the warm template imported from elsewhere"
    return None


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
