"""What a run used that the warm-up could have imported for it: reported when the run ends, so the
manager learns the project's warm set (see ``LearnedImports`` in Sources/PytestdCore).

The report is a NUL-terminated list written to a pipe the host made for this run, in import order:
``m<name>`` for a module with a file that the template lacked (imported by this run), ``t<name>`` for
a test module or conftest the run imported (each run imports those afresh: they are never learned, but
the modules the warm-up saw them import are used), and ``r<name>`` for a module a test module refers to
(``import x``, ``from x import f``): template modules the run used without importing them.

Measured code: it runs after the exit status is settled but before the caller gets it.
"""

import os
import sys
import types
from fnmatch import fnmatch
from importlib import _bootstrap
from typing import List

from pytestd._frames import inside_import_system

_DEFAULT_TEST_FILES = ("test_*.py", "*_test.py")


class LoadOrder:
    """Records the modules whose loading starts, in that order: the order to import them again in.
    (``sys.modules`` holds them in the order their loading *ended*: CPython moves each module to the
    end once it has executed, so a module's imports come before it there.)"""

    def __init__(self) -> None:
        self.names: List[str] = []
        self._original = None

    def start(self) -> "LoadOrder":
        original = self._original = _bootstrap._load_unlocked
        names = self.names

        def recording_load(spec):
            __tracebackhide__ = True  # noqa: F841 (pytest hides this frame from tracebacks)
            names.append(spec.name)
            return original(spec)

        _bootstrap._load_unlocked = inside_import_system(recording_load)
        return self

    def stop(self) -> None:
        _bootstrap._load_unlocked = self._original

    def loaded(self):
        """``(name, module)`` of each recorded module still in ``sys.modules``, once each, in order."""
        seen = set()
        for name in self.names:
            module = sys.modules.get(name)
            if module is not None and name not in seen:
                seen.add(name)
                yield name, module


_run_loads = LoadOrder()
# Directories whose modules are this run's own, never learned into a template (see _run._place_pythonpath).
run_only_directories: List[str] = []
# False in a run under a debugger: what it imports (the debugger's standard-library modules too) is
# not the project's warm set.
learns = True


def mark_template() -> None:
    """At the start of the run: modules whose loading starts after this are the run's."""
    _run_loads.start()


def report(fd: int) -> None:
    if not learns:
        return
    items = []
    test_modules = []
    for name, module in list(_run_loads.loaded()):
        path = getattr(module, "__file__", None)
        if not isinstance(path, str) or path.startswith(tuple(run_only_directories)):
            continue
        if _is_test_module(module, path):
            items.append(b"t" + name.encode())
            test_modules.append(module)
        else:
            items.append(b"m" + name.encode())
    referenced = set()
    for module in test_modules:
        if os.path.basename(module.__file__) != "conftest.py":
            referenced.update(_references(module))
    items += [b"r" + name.encode() for name in sorted(referenced)]
    if not items:
        return
    data = memoryview(b"\0".join(items) + b"\0")
    # Never block: the host reads the pipe only once this child is gone. What does not fit is lost.
    while data:
        try:
            data = data[os.write(fd, data):]
        except InterruptedError:
            continue
        except OSError:
            return


def _is_test_module(module, path: str) -> bool:
    basename = os.path.basename(path)
    if basename == "conftest.py":
        return True
    loader = getattr(module, "__loader__", None)
    patterns = getattr(loader, "fnpats", None) if type(loader).__name__ == "AssertionRewritingHook" else None
    return any(fnmatch(basename, pattern) for pattern in (patterns or _DEFAULT_TEST_FILES) if "/" not in pattern)


def _references(module) -> set:
    """Modules the test module's globals come from."""
    names = set()
    for value in list(vars(module).values()):
        if type(value) is types.ModuleType:
            names.add(value.__name__)
        elif isinstance(value, (type, types.FunctionType)):
            owner = getattr(value, "__module__", None)
            if isinstance(owner, str):
                names.add(owner)
    names.discard(module.__name__)
    return names
