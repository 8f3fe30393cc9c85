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
from itertools import islice

_template_size = 0
_DEFAULT_TEST_FILES = ("test_*.py", "*_test.py")


def mark_template() -> None:
    """At the start of the run: modules inserted into ``sys.modules`` after this are the run's."""
    global _template_size
    _template_size = len(sys.modules)


def report(fd: int) -> None:
    items = []
    test_modules = []
    for name, module in list(islice(sys.modules.items(), _template_size, None)):
        path = getattr(module, "__file__", None)
        if not isinstance(path, str):
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
