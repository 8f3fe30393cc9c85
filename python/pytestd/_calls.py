"""What ran while the template was built: which code objects started, and each project module's
top-level code.

A function that ran during the warm-up (called by a module body, a decorator, a collection hook) may
have left its results behind: ``TABLE = build_table()``, a cache entry, a parametrize list. A new
body would not reproduce them, so such a function is never patched in place (see ``_inplace``),
which also needs the top-level code each module really executed to compare an edit against.

On 3.12+ ``sys.monitoring`` reports each code object's first start once and is then disabled for
it: nearly free. On 3.8-3.11 CPython itself counts the starts of every code object (to decide when
to optimise it) in every thread; ``pytestd._native`` reads that counter, which costs the warm-up
nothing. Reading a C struct without its headers is checked before it is trusted (``counter_problem``),
at the start and the end of the warm-up; if the check fails, 3.9-3.11 fall back to a C profile hook
(every call of the warm-up's thread, about a third slower on 3.11) and 3.8 patches nothing in place.

The counters go on counting after the warm-up, in the template and in the reloading child that asks:
an answer covers everything that ran in this process so far, a superset of the warm-up, which is
only ever more conservative.
"""

import contextlib
import os
import sys
import types
import weakref
from typing import Any, Callable, Dict, Optional

from pytestd import _native

# sys.monitoring tool ids without an assigned role (0-2 and 5 are debugger, coverage, profiler, optimizer).
_FREE_TOOL_IDS = (4, 3)


class WarmupCalls:
    """The record of one warm-up (``warmup``, below): forked reloading children read it."""

    def __init__(self) -> None:
        self.complete = False
        self.incomplete_because = "patching in place is off ([tool.pytestd] patch_in_place = false)"
        self._recording = False
        self._counting = False
        self._counter_problem = ""
        # id -> weak reference: a later code object that takes a freed one's id is not taken for it
        # (weak, so reference counts stay what _inplace's check of a code object's holders expects).
        self._started: Dict[int, weakref.ref] = {}
        self._tool: Optional[int] = None
        self._roots = ()
        self._module_code: Dict[str, types.CodeType] = {}

    @contextlib.contextmanager
    def recording(self, root: str, enabled: bool):
        """Records what runs inside the block (when ``enabled``), and stops whatever happens."""
        if enabled:
            self._start(root)
        try:
            yield
        finally:
            self._stop()

    def _start(self, root: str) -> None:
        self._roots = tuple({os.path.join(root, ""), os.path.join(os.path.realpath(root), "")})
        if sys.version_info >= (3, 12):
            self._recording = self._start_monitoring()
            self.incomplete_because = "every sys.monitoring tool id was taken during the warm-up"
        else:
            self._counter_problem = counter_problem(_native.counted_starts)
            self._counting = not self._counter_problem
            self._recording = self._counting or _native.record_starts(_replaced_hook)
            self.incomplete_because = (f"Python {sys.version_info[0]}.{sys.version_info[1]} cannot record "
                                       f"which code ran ({self._counter_problem})")

    def _stop(self) -> None:
        if not self._recording:
            return
        self._recording = False
        if self._tool is not None:
            monitoring = sys.monitoring
            monitoring.set_events(self._tool, 0)
            monitoring.register_callback(self._tool, monitoring.events.PY_START, None)
            monitoring.free_tool_id(self._tool)
            self.complete = True
        elif self._counting:
            problem = counter_problem(_native.counted_starts)
            self.complete = not problem
            self.incomplete_because = f"the code start counters stopped counting during the warm-up ({problem})"
        else:
            intact = sys.getprofile() is _replaced_hook and not _replaced_hook.called
            recorded = _native.stop_recording()
            self.complete = recorded and intact
            self.incomplete_because = ("the warm-up replaced pytestd's profile hook (sys.setprofile)" if not intact
                                       else "memory ran out while recording which code ran")
            self.incomplete_because += f", used because {self._counter_problem}"

    def saw_exec(self, code: types.CodeType) -> None:
        """From the audit hook: a module body about to run. The last one per file is what its module holds."""
        if self._recording and code.co_name == "<module>" and self._is_project_file(code.co_filename):
            self._module_code[code.co_filename] = code

    def module_code(self, path: str) -> Optional[types.CodeType]:
        return self._module_code.get(path) if self.complete else None

    def started(self, code: types.CodeType) -> bool:
        """Whether ``code`` may have run during the warm-up (always yes when the record is incomplete;
        on 3.8-3.11, yes too if it ran later in this process)."""
        if not self.complete:
            return True
        if self._tool is not None:
            ref = self._started.get(id(code))
            return ref is not None and ref() is code
        if self._counting:
            return _native.counted_starts(code) != 0  # None (no reading) counts as started
        return _native.has_started(code)

    def _is_project_file(self, path: str) -> bool:
        return path.startswith(self._roots) and f"{os.sep}site-packages{os.sep}" not in path

    def _start_monitoring(self) -> bool:
        monitoring = sys.monitoring
        for tool in _FREE_TOOL_IDS:
            try:
                monitoring.use_tool_id(tool, "pytestd")
            except ValueError:
                continue
            started = self._started
            disable = monitoring.DISABLE

            def on_start(code, offset):
                started[id(code)] = weakref.ref(code)
                return disable

            monitoring.register_callback(tool, monitoring.events.PY_START, on_start)
            monitoring.set_events(tool, monitoring.events.PY_START)
            self._tool = tool
            return True
        return False


def counter_problem(counted_starts: Callable[[types.CodeType], Optional[int]]) -> str:
    """Why ``counted_starts`` (code -> how many starts CPython counted, or None) cannot be trusted here,
    or "". Two fresh functions: the one called must read 0, 1, 2 before and after each call, and the
    other 0 throughout; a wrong offset or a different struct layout reads something else."""
    namespace: Dict[str, Any] = {}
    exec(compile("def called(): pass\ndef uncalled(): pass\n", "<pytestd counter check>", "exec"), namespace)
    called, uncalled = namespace["called"], namespace["uncalled"]
    readings = [counted_starts(called.__code__)]
    for _ in range(2):
        called()
        readings.append(counted_starts(called.__code__))
    readings.append(counted_starts(uncalled.__code__))
    if readings[0] is None:
        return "this Python's code objects have no known start counter"
    if readings != [0, 1, 2, 0]:
        return f"this Python's code start counters read {readings}, not [0, 1, 2, 0]: another struct layout"
    return ""


def _replaced_hook(*args):
    """The C hook's profile object, so ``sys.getprofile()`` shows whether it is still installed. Called
    only if someone saved it and set it back as a Python profile function: the record is then broken."""
    _replaced_hook.called = True


_replaced_hook.called = False

warmup = WarmupCalls()
