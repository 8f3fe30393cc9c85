"""Reload patches: the project's (and pytestd's built-in) hooks for modules that cannot simply be
executed again — a registry that refuses a second registration, a metaclass that remembers tables,
a client that must reconnect after fork.

Hooks are keyed by module-name patterns (fnmatch: ``"app.tasks"``, ``"app.jobs.*"``) and are loaded
from patch files before the template is frozen, so every reloaded template and run child has them.
"""

import fnmatch
import importlib.util
import os
import sys
from typing import Callable, List, Tuple

Hook = Callable[..., None]

_before: List[Tuple[Tuple[str, ...], Hook]] = []
_after: List[Tuple[Tuple[str, ...], Hook]] = []
_never: List[str] = []
_after_fork: List[Hook] = []


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
    """Registers ``hook()`` to run in every run child before pytest starts (reconnect, reseed)."""
    _after_fork.append(hook)
    return hook


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
    for hook in _after_fork:
        hook()


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
