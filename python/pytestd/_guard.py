"""The safety net of a run child: a run that fails before its first test, in a way a fresh process
might not, is declined instead of reported.

A warm run inherits whatever the template's imports and warm-up left behind; code that may run only
once per process (``settings.configure()``, a registry that refuses a second entry) fails the second
time, in the run. Such failures happen while pytest starts — a conftest or plugin that fails to
import or register, an exception from ``pytest_configure`` or ``pytest_sessionstart`` — before
collection, so no test has run and (caught at the right place) pytest has printed nothing. The child
then writes the cause to the decline pipe the host made for this run and exits at once; the manager
answers the shim with a fallback, and the shim runs plain pytest, which gives the true answer.

Failures a fresh process would report the same way stay pytest's: usage errors, ``pytest.exit``,
Ctrl-C, and anything after the session has started.
"""

import os
import traceback

from pytestd import _patches

_decline_fd = -1
# Until the run's session has started: later failures are pytest's to report, and a Config made by a
# test (pytester's in-process runs) must never end the run.
_active = False
# pluggy's, pytest's and our own directories: the first frame outside them is the code that failed.
_MACHINERY = (os.path.dirname(_patches.__file__) + os.sep,)


def install(decline_fd: int) -> None:
    """Guards pytest's start-up in this run child; ``decline_fd`` is the pipe to the host."""
    global _decline_fd, _MACHINERY, _active
    _decline_fd = decline_fd
    _active = True
    import pluggy
    import _pytest
    from _pytest import config as config_module

    _MACHINERY = _MACHINERY + (os.path.dirname(pluggy.__file__) + os.sep, os.path.dirname(_pytest.__file__) + os.sep)
    _guard_prepareconfig(config_module)
    _guard_conftest_import(config_module.PytestPluginManager)
    _guard_configure(config_module.Config)


def decline(reason: str, details: str = "", remember: bool = True) -> None:
    """Hands the run to plain pytest: tells the host why, then ends this child without a word on the
    caller's terminal (nothing buffered is flushed, no atexit handler runs)."""
    flag = b"1" if remember else b"0"
    message = flag + " ".join(reason.split()).encode("utf-8", "replace") + b"\n" + details.encode("utf-8", "replace")
    # A pipe holds 64 KiB: the child must never block on it.
    view = memoryview(message[:60000])
    while view:
        try:
            view = view[os.write(_decline_fd, view):]
        except InterruptedError:
            continue
        except OSError:
            break
    os._exit(0)


def decline_for(exc: BaseException, where: str) -> None:
    if isinstance(exc, _patches.ServeCold):
        decline(exc.reason, exc.details or _traceback(exc), exc.remember)
    decline(f"{where} raised {_describe(exc)}{_origin(exc)}", _traceback(exc))


def _declinable(exc: BaseException) -> bool:
    """Failures a fresh process would report exactly the same way are pytest's to report: usage
    errors, ``pytest.exit``, source that does not compile, a module that does not exist."""
    from _pytest.config import UsageError
    from _pytest.outcomes import Exit

    return isinstance(exc, Exception) and not isinstance(exc, (UsageError, Exit, SyntaxError, ModuleNotFoundError))


def _guard_prepareconfig(config_module) -> None:
    """Plugin imports and registrations, ``pytest_cmdline_parse``, ``pytest_load_initial_conftests``."""
    original = config_module._prepareconfig

    def guarded_prepareconfig(*args, **kwargs):
        if not _active:
            return original(*args, **kwargs)
        try:
            config = original(*args, **kwargs)
        except Exception as exc:
            cause = getattr(exc, "cause", None) or exc.__cause__ or exc
            # pytest < 9 reports `-p name` of a module that does not exist as an ImportError.
            if not _declinable(exc) or not _declinable(cause):
                raise
            decline_for(cause if type(exc).__name__ == "PluginImportFailure" else exc, "pytest's start-up")
        _decline_if_pending()
        _decline_routed_options(config)
        return config

    config_module._prepareconfig = guarded_prepareconfig


# Options of plugins that must see the whole process (coverage of imports, worker processes): the shim
# sends them to plain pytest from the command line; these are their destinations once parsed, for when
# they come from `addopts` or PYTEST_ADDOPTS instead.
_ROUTED_DESTINATIONS = (("cov_source", "--cov"), ("numprocesses", "-n"), ("tx", "--tx"), ("looponfail", "--looponfail"))


def _decline_routed_options(config) -> None:
    option = config.option
    for destination, name in _ROUTED_DESTINATIONS:
        if getattr(option, destination, None) and not (name == "--cov" and getattr(option, "no_cov", False)):
            break
    else:
        if getattr(option, "dist", "no") in ("no", None):
            return
        name = "--dist"
    per_run = name.lstrip("-") in os.environ.get("PYTEST_ADDOPTS", "")
    decline(f"{name} comes from {'PYTEST_ADDOPTS' if per_run else 'the configuration (addopts)'}, and such runs "
            f"are not served warm", remember=not per_run)


def _guard_conftest_import(manager_class) -> None:
    """Declines inside pytest's capture of conftest imports, so what they printed is never shown."""
    original = manager_class._importconftest

    def guarded_importconftest(self, conftestpath, *args, **kwargs):
        if not _active:
            return original(self, conftestpath, *args, **kwargs)
        try:
            return original(self, conftestpath, *args, **kwargs)
        except Exception as exc:
            cause = getattr(exc, "cause", None) or exc.__cause__ or exc
            if not _declinable(cause):
                raise
            decline_for(cause, f"importing {_relative(str(conftestpath))}")

    manager_class._importconftest = guarded_importconftest


def _guard_configure(config_class) -> None:
    """``pytest_configure`` of every plugin, the run patches' ``run_configured``, then the session
    start, which the terminal reporter (``trylast``) reports last."""
    original = config_class._do_configure

    def guarded_do_configure(self):
        if not _active:
            return original(self)
        try:
            original(self)
        except Exception as exc:
            if not _declinable(exc):
                raise
            decline_for(exc, "pytest_configure")
        _decline_if_pending()
        try:
            _patches.run_configured_hooks(self)
        except _patches.ServeCold as exc:
            decline_for(exc, "a run patch")
        _guard_session_start(self)

    config_class._do_configure = guarded_do_configure


def _guard_session_start(config) -> None:
    relay = config.hook
    original = relay.pytest_sessionstart

    class GuardedSessionStart:
        """Stands in for the hook caller for exactly one call; registrations reach the real one."""

        def __getattr__(self, name):
            return getattr(original, name)

        def __call__(self, **kwargs):
            global _active
            setattr(relay, "pytest_sessionstart", original)
            try:
                result = original(**kwargs)
            except Exception as exc:
                if not _declinable(exc) or _session_reported(config):
                    _active = False
                    raise
                decline_for(exc, "pytest_sessionstart")
            _decline_if_pending()
            _active = False
            return result

    setattr(relay, "pytest_sessionstart", GuardedSessionStart())


def _session_reported(config) -> bool:
    """Whether pytest's terminal output of the session has started: the reporter's hook runs last,
    the progress plugin's (pytest 9, opt-in on a tty) may run earlier."""
    return any(getattr(config.pluginmanager.get_plugin(name), "_session", None) is not None
               for name in ("terminalreporter", "terminalprogress-plugin"))


def _decline_if_pending() -> None:
    """A patch may have raised ServeCold inside code that swallowed it (``except Exception``)."""
    if _patches.ServeCold.raised:
        decline_for(_patches.ServeCold.raised[0], "a run patch")


def _describe(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0]}" if text else type(exc).__name__


def _origin(exc: BaseException) -> str:
    """`` in conftest.py:12``: the first frame outside pluggy, pytest and pytestd."""
    tb = exc.__traceback__
    origin = None
    while tb is not None:
        filename = tb.tb_frame.f_code.co_filename
        if not filename.startswith(_MACHINERY) and not filename.startswith("<"):
            origin = f" in {_relative(filename)}:{tb.tb_lineno}"
            break
        tb = tb.tb_next
    return origin or ""


def _relative(path: str) -> str:
    try:
        relative = os.path.relpath(path)
    except ValueError:
        return path
    return path if relative.startswith("..") else relative


def _traceback(exc: BaseException) -> str:
    return "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))
