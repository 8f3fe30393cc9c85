"""Warnings that importing the template's modules raised, raised again in each run where a fresh
process would raise them.

A fresh ``pytest`` imports the project while it runs: a ``DeprecationWarning`` at the top of a module
lands in that run's warnings summary, and ``-W error::DeprecationWarning`` turns it into a collection
error. A run forked from the template finds the module imported already, so nothing is raised. The
warm-up therefore records, per module, what its import did to the warnings machinery — each warning,
each module it imported in turn, and filters it added for good — and a run replays a module's record
the first time one of its import statements reaches that module, under the run's own filters.

While recording, the warm-up session's filters are set aside (each run applies its own), but filters
the imported code sets itself (``catch_warnings`` + ``simplefilter("ignore")`` around an import) stay
in force, as they would in a fresh process.
"""

import ast
import builtins
import contextlib
import functools
import importlib
import linecache
import sys
import warnings
from importlib import _bootstrap
from typing import Dict, List, Optional, Set

from pytestd._frames import invisible_to_warnings

# Ends the filter list while a module loads: whatever the imported code did not filter itself is shown.
_SHOW_ALL = ("always", None, Warning, None, 0)

# At most this many warnings are kept per module (a module warning in a loop would otherwise fill memory).
_MAX_WARNINGS = 1000


class _Warning:
    """One warning as ``warnings.warn_explicit`` needs it again."""

    __slots__ = ("message", "category", "filename", "lineno", "module")

    def __init__(self, message, category, filename, lineno, module):
        self.message = message
        self.category = category
        self.filename = filename
        self.lineno = lineno
        self.module = module


class ImportWarnings:
    """Module name → what its import did, in order: ``("warn", _Warning)``, ``("import", name)`` for a
    module it loaded, ``("filters", front, back)`` for filters it added for good."""

    def __init__(self) -> None:
        self.records: Dict[str, list] = {}
        # Computed in the template (after recording, and by forget), so that runs only copy it.
        self.with_effects: Set[str] = set()
        self._stack: List[list] = []
        self._original_load = None

    # -- recording (warm-up and reloads) ---------------------------------------------------------

    @contextlib.contextmanager
    def recording(self):
        """Records every module load inside the block (the import system's ``_load_unlocked``)."""
        self._start()
        try:
            yield
        finally:
            self._stop()

    def _start(self) -> None:
        original = self._original_load = _bootstrap._load_unlocked
        recorder = self

        def recording_load(spec):
            token = recorder.begin(spec.name)
            try:
                return original(spec)
            finally:
                recorder.end(token)

        _bootstrap._load_unlocked = invisible_to_warnings(recording_load)

    def _stop(self) -> None:
        if self._original_load is not None:
            _bootstrap._load_unlocked = self._original_load
            self._original_load = None
        self.with_effects = self._modules_with_effects()

    def begin(self, name: str):
        """Module ``name`` starts executing: what it does to warnings is recorded until ``end``."""
        if self._stack:
            self._stack[-1].append(("import", name) + _importing_line())
        saved = None if self._stack else _set_aside_session_filters(self._record)
        events: list = []
        self._stack.append(events)
        return name, events, saved

    def end(self, token) -> None:
        name, events, saved = token
        self._stack.pop()
        if saved is not None:
            added = _restore_session_filters(saved)
            if added is not None and (added[0] or added[1]):
                events.append(("filters",) + added)
        self.records[name] = events

    def _record(self, message: warnings.WarningMessage) -> None:
        if not self._stack:
            return
        events = self._stack[-1]
        if sum(1 for event in events if event[0] == "warn") >= _MAX_WARNINGS:
            return
        events.append(("warn", _Warning(message.message, message.category, message.filename, message.lineno,
                                        _module_at(message.filename, message.lineno))))

    def forget(self, names) -> None:
        """Drops modules that runs import themselves (evicted test modules and conftests)."""
        for name in names:
            self.records.pop(name, None)
        self.with_effects = self._modules_with_effects()

    # -- replay (run child) ----------------------------------------------------------------------

    def install_replay(self) -> None:
        """In a run child: replays each recorded module the first time an import reaches it. Costs
        nothing when the template's imports raised no warning and added no filter."""
        if self.with_effects:
            _Replay(self.records, set(self.with_effects)).install()

    def _modules_with_effects(self) -> Set[str]:
        """Modules whose import, or an import under it, raised a warning or added a filter."""
        memo: Dict[str, bool] = {}

        def has_effects(name: str) -> bool:
            if name not in memo:
                memo[name] = False  # a module loads once: no cycle, but be safe
                memo[name] = any(event[0] != "import" or has_effects(event[1]) for event in self.records.get(name, ()))
            return memo[name]

        return {name for name in self.records if has_effects(name)}


class _Replay:
    def __init__(self, records: Dict[str, list], pending: Set[str]) -> None:
        self.records = records
        self.pending = pending
        self.original_import = builtins.__import__
        self.original_import_module = importlib.import_module

    def install(self) -> None:
        replay = self

        def replaying_import(name, globals=None, locals=None, fromlist=(), level=0):
            __tracebackhide__ = True  # noqa: F841 (pytest hides this frame from tracebacks)
            module = replay.original_import(name, globals, locals, fromlist, level)
            if replay.pending:
                replay.reached(_absolute(name, globals, level), fromlist)
            return module

        def replaying_import_module(name, package=None):
            __tracebackhide__ = True  # noqa: F841
            module = replay.original_import_module(name, package)
            if replay.pending:
                replay.reached(module.__name__, ())
            return module

        builtins.__import__ = invisible_to_warnings(replaying_import)
        importlib.import_module = invisible_to_warnings(replaying_import_module)

    def reached(self, name: Optional[str], fromlist) -> None:
        """An import statement got ``name`` (and the submodules in ``fromlist``): in a fresh process
        it would have executed each of them that nothing had imported yet."""
        __tracebackhide__ = True  # noqa: F841
        if name is None:
            return
        parts = name.split(".")
        for end in range(1, len(parts) + 1):
            self.replay(".".join(parts[:end]))
        for item in fromlist or ():
            if isinstance(item, str) and item != "*":
                self.replay(f"{name}.{item}")
        if not self.pending:
            builtins.__import__ = self.original_import
            importlib.import_module = self.original_import_module

    def replay(self, name: str) -> None:
        __tracebackhide__ = True  # noqa: F841
        if name not in self.pending:
            return
        # Marked replayed only once it went through: an import that raised (``-W error``) raises again
        # on the next attempt, as a module that failed to import would in a fresh process.
        for event in self.records[name]:
            if event[0] == "warn":
                _warn_again(event[1])
            elif event[0] == "import":
                # From the importing line, so that tracebacks pass through it as a fresh import's would.
                _call_as_module_at(event[2], event[3], functools.partial(self.replay, event[1]))
            else:
                _add_filters(event[1], event[2])
        self.pending.discard(name)


def _absolute(name: str, globals, level: int) -> Optional[str]:
    if not level:
        return name
    try:
        return _bootstrap._resolve_name(name, _bootstrap._calc___package__(globals or {}), level)
    except (ImportError, ValueError, AttributeError, KeyError, TypeError):
        return None


def _warn_again(warning: _Warning) -> None:
    """Raises the warning from a frame at its original line, so that when a filter turns it into an
    error, the traceback ends where a fresh import's would: ``legacy.py:2: in <module>``."""
    __tracebackhide__ = True  # noqa: F841
    module = sys.modules.get(warning.module) if warning.module else None
    namespace = getattr(module, "__dict__", None)
    registry = namespace.setdefault("__warningregistry__", {}) if isinstance(namespace, dict) else None
    message = warning.message
    # Raised as an error again, it must not carry the last raise's traceback.
    message.__traceback__ = message.__context__ = message.__cause__ = None

    def warn():
        __tracebackhide__ = True  # noqa: F841
        warnings.warn_explicit(message, warning.category, warning.filename, warning.lineno,
                               module=warning.module, registry=registry, module_globals=namespace)

    _call_as_module_at(warning.filename, warning.lineno, warn)


def _call_as_module_at(filename: Optional[str], lineno: int, call) -> None:
    """Calls ``call()`` from a module-body frame at ``filename:lineno`` that spans the whole line (so a
    traceback shows that line, without column markers, as for the original statement)."""
    __tracebackhide__ = True  # noqa: F841
    if not filename:
        return call()
    line = linecache.getline(filename, lineno)
    start = len(line) - len(line.lstrip())
    end = max(len(line.rstrip()), start + 1)
    tree = ast.parse("call()")
    for node in ast.walk(tree):
        if hasattr(node, "lineno"):
            node.lineno = node.end_lineno = max(lineno, 1)
            node.col_offset, node.end_col_offset = start, end
    exec(compile(tree, filename, "exec"), {"call": call})


def _importing_line():
    """``(filename, lineno)`` of the module-body statement that is importing right now, or ``(None, 0)``."""
    frame = sys._getframe(2)
    while frame is not None:
        if frame.f_code.co_name == "<module>":
            return frame.f_code.co_filename, frame.f_lineno
        frame = frame.f_back
    return None, 0


def _add_filters(front, back) -> None:
    for item in reversed(front):
        warnings._add_filter(*item, append=False)
    for item in back:
        warnings._add_filter(*item, append=True)


def _module_at(filename: str, lineno: int) -> Optional[str]:
    """The ``__name__`` of the frame the warning was attributed to (filters match module names)."""
    frame = sys._getframe(1)
    while frame is not None:
        if frame.f_code.co_filename == filename and frame.f_lineno == lineno:
            name = frame.f_globals.get("__name__")
            return name if isinstance(name, str) else None
        frame = frame.f_back
    return None


def _set_aside_session_filters(record):
    saved = (warnings.filters, warnings.showwarning, warnings._showwarnmsg_impl)
    warnings.filters = [_SHOW_ALL]
    warnings.showwarning = warnings._showwarning_orig
    warnings._showwarnmsg_impl = record
    warnings._filters_mutated()
    return saved


def _restore_session_filters(saved):
    """Puts the session's filters back, plus those the imported code added for good: ``(front, back)``,
    or None when the code replaced the filter list itself (nothing is carried over then)."""
    current = warnings.filters
    warnings.filters, warnings.showwarning, warnings._showwarnmsg_impl = saved
    warnings._filters_mutated()
    marker = next((index for index, item in enumerate(current) if item is _SHOW_ALL), None)
    if marker is None:
        return None
    added = (list(current[:marker]), list(current[marker + 1:]))
    _add_filters(*added)
    return added


template = ImportWarnings()
