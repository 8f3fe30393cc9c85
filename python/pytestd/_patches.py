"""Patches: the project's (and pytestd's built-in) hooks for code that cannot simply run again.

Reload patches serve modules that cannot simply be executed again — a registry that refuses a second
registration, a metaclass that remembers tables. They are keyed by module-name patterns (fnmatch:
``"app.tasks"``, ``"app.jobs.*"``).

Run patches serve configure-once code — ``settings.configure()`` in a conftest's ``pytest_configure``,
a client that must reconnect after fork — whose first call happened in the template, during the
warm-up session: ``after_warmup`` runs in the template once that session ended, ``after_fork`` in each
run child before pytest starts, ``run_configured(config)`` in each run child once every
``pytest_configure`` ran, before the session starts. Any of them may raise ``ServeCold("why")``: the run
then goes to plain pytest.

Patch files are loaded before the template is frozen, so every reloaded template and run child has
them.
"""

import fnmatch
import importlib.util
import inspect
import os
import sys
import traceback
from typing import Callable, List, Optional, Tuple

Hook = Callable[..., None]

_before: List[Tuple[Tuple[str, ...], Hook]] = []
_after: List[Tuple[Tuple[str, ...], Hook]] = []
_never: List[str] = []
_after_fork: List[Hook] = []
_after_warmup: List[Hook] = []
_run_configured: List[Hook] = []


class ServeCold(Exception):
    """Raised by a run patch (or by code a run patch wrapped) when this warm template cannot serve
    the run as a fresh process would: the run goes to plain pytest, with ``reason`` on stderr.
    ``remember=False`` when the cause belongs to this run alone (its options or environment), so the
    next runs are still tried warm; otherwise the project is served cold until its configuration,
    conftests or patches change."""

    # Every instance raised in this process: code between the patch and pytest may swallow it.
    raised: List["ServeCold"] = []

    def __init__(self, reason: str, remember: bool = True, details: str = ""):
        super().__init__(reason)
        self.reason = reason
        self.remember = remember
        self.details = details
        ServeCold.raised.append(self)


def before_reload(*patterns: str):
    """Registers ``hook(module)`` to run just before a matching module is executed again, with the
    old module object: undo what its import did (unregister, drop tables, close clients)."""
    return _register(_before, patterns)


def after_reload(*patterns: str):
    """Registers ``hook(module)`` to run just after a matching module was executed again."""
    return _register(_after, patterns)


def never_reload(*patterns: str) -> None:
    """A change to a matching module always waits for a clean host (settings, process-wide setup)."""
    _never.extend(patterns)


def after_fork(hook: Hook) -> Hook:
    """Registers ``hook()`` to run in every run child before pytest starts (reconnect, reseed,
    undo a configure-once call so that the run's own call works)."""
    return _register_run_hook(_after_fork, hook, "after_fork", ())


def after_warmup(hook: Hook) -> Hook:
    """Registers ``hook()`` to run in the template once the warm-up session ended, before it is
    frozen: record what the warm-up configured, close connections runs must not share."""
    return _register_run_hook(_after_warmup, hook, "after_warmup", ())


def run_configured(hook: Hook) -> Hook:
    """Registers ``hook(config)`` to run in every run child once every ``pytest_configure`` ran and
    before the session starts: check that the run configured what the template was built with."""
    return _register_run_hook(_run_configured, hook, "run_configured", ("config",))


def _register_run_hook(table: List[Hook], hook: Hook, spec: str, arguments: Tuple[str, ...]) -> Hook:
    """Validates ``hook`` against the spec when it is registered, not when a run calls it."""
    if not callable(hook):
        raise TypeError(f"@pytestd.{spec} decorates a function, not {hook!r}")
    try:
        inspect.signature(hook).bind(*arguments)
    except TypeError:
        raise TypeError(f"@pytestd.{spec}: {_name(hook)} must accept ({', '.join(arguments)})") from None
    except ValueError:
        pass  # builtins without a signature: trust them
    table.append(hook)
    return hook


def _name(hook: Hook) -> str:
    code = getattr(hook, "__code__", None)
    where = f" ({code.co_filename}:{code.co_firstlineno})" if code else ""
    return f"{getattr(hook, '__qualname__', repr(hook))}{where}"


def _call_run_hooks(table: List[Hook], spec: str, *arguments) -> None:
    """A failing patch is reported with its own traceback, as a reason to serve cold."""
    for hook in table:
        try:
            hook(*arguments)
        except ServeCold:
            raise
        except Exception as exc:
            raise ServeCold(
                f"the {spec} patch {getattr(hook, '__qualname__', hook)} failed: {type(exc).__name__}: {exc}",
                details=f"{_name(hook)}\n" + "".join(traceback.format_exception(type(exc), exc, exc.__traceback__)),
            ) from exc


def _register(table, patterns):
    if not patterns:
        raise TypeError("name at least one module pattern, e.g. @before_reload('app.tasks')")

    def decorator(hook: Hook) -> Hook:
        table.append((patterns, hook))
        return hook

    return decorator


def _matches(name: str, patterns) -> bool:
    return any(fnmatch.fnmatchcase(name, pattern) for pattern in patterns)


def never_reloaded(names: List[str]) -> List[str]:
    return [name for name in names if _matches(name, _never)]


def run_before(step: List[str]) -> None:
    for name in step:
        for patterns, hook in _before:
            if _matches(name, patterns):
                hook(sys.modules.get(name))


def run_after(step: List[str]) -> None:
    for name in step:
        for patterns, hook in _after:
            if _matches(name, patterns):
                hook(sys.modules.get(name))


def run_after_fork() -> None:
    if _warmup_failure is not None:
        raise ServeCold(_warmup_failure.reason, details=_warmup_failure.details)
    _call_run_hooks(_after_fork, "after_fork")


_warmup_failure: Optional[ServeCold] = None


def run_after_warmup() -> None:
    """A failing after_warmup patch leaves the template in a state nobody vouches for: every run of
    it then serves cold, saying why."""
    global _warmup_failure
    try:
        _call_run_hooks(_after_warmup, "after_warmup")
    except ServeCold as exc:
        ServeCold.raised.remove(exc)
        _warmup_failure = exc
        print(f"pytestd-host: {exc.reason}\n{exc.details}", file=sys.stderr)


def run_configured_hooks(config) -> None:
    _call_run_hooks(_run_configured, "run_configured", config)


def hint(step: List[str]) -> str:
    """What usually makes a module fail when executed again, and the remedy."""
    return f" — if {', '.join(step)} registers things at import, give it a reload patch (pytestd.before_reload)"


def load(directories: List[str]) -> List[str]:
    """Imports every ``*.py`` in the patch directories (missing ones are skipped); returns their paths."""
    loaded = []
    for directory in directories:
        if not os.path.isdir(directory):
            continue
        for entry in sorted(os.listdir(directory)):
            if not entry.endswith(".py") or entry.startswith("_"):
                continue
            path = os.path.join(directory, entry)
            name = f"pytestd.patches.{os.path.basename(os.path.dirname(path))}.{entry[:-3]}"
            spec = importlib.util.spec_from_file_location(name, path)
            module = importlib.util.module_from_spec(spec)
            sys.modules[name] = module
            spec.loader.exec_module(module)
            loaded.append(path)
    return loaded
