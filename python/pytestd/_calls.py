"""What ran while the template was built: which code objects started, and each project module's
top-level code.

A function that ran during the warm-up (called by a module body, a decorator, a collection hook) may
have left its results behind: ``TABLE = build_table()``, a cache entry, a parametrize list. A new
body would not reproduce them, so such a function is never patched in place (see ``_inplace``),
which also needs the top-level code each module really executed to compare an edit against.

On 3.12+ ``sys.monitoring`` reports each code object's first start once and is then disabled for
it: nearly free. Before 3.12 a C profile hook (``pytestd._native``) sees every call of the warm-up's
thread, which makes the warm-up about a third slower on 3.11; it cannot see other threads, and on
3.8 it is unavailable, so nothing is patched in place there.
"""

import contextlib
import os
import sys
import types
from typing import Dict, Optional

from pytestd import _native

# sys.monitoring tool ids without an assigned role (0-2 and 5 are debugger, coverage, profiler, optimizer).
_FREE_TOOL_IDS = (4, 3)


class WarmupCalls:
    """The record of one warm-up (``warmup``, below): forked reloading children read it."""

    def __init__(self) -> None:
        self.complete = False
        self.incomplete_because = "patching in place is off ([tool.pytestd] patch_in_place = false)"
        self._recording = False
        self._started_ids = set()
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
            self._recording = _native.record_starts(_replaced_hook)
            self.incomplete_because = f"Python {sys.version_info[0]}.{sys.version_info[1]} cannot record which code ran"

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
        else:
            intact = sys.getprofile() is _replaced_hook and not _replaced_hook.called
            recorded = _native.stop_recording()
            self.complete = recorded and intact
            self.incomplete_because = ("the warm-up replaced pytestd's profile hook (sys.setprofile)" if not intact
                                       else "memory ran out while recording which code ran")

    def saw_exec(self, code: types.CodeType) -> None:
        """From the audit hook: a module body about to run. The last one per file is what its module holds."""
        if self._recording and code.co_name == "<module>" and self._is_project_file(code.co_filename):
            self._module_code[code.co_filename] = code

    def module_code(self, path: str) -> Optional[types.CodeType]:
        return self._module_code.get(path) if self.complete else None

    def started(self, code: types.CodeType) -> bool:
        """Whether ``code`` may have run during the warm-up (always yes when the record is incomplete)."""
        if not self.complete:
            return True
        if self._tool is not None:
            return id(code) in self._started_ids
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
            started_ids = self._started_ids
            disable = monitoring.DISABLE

            def on_start(code, offset):
                started_ids.add(id(code))
                return disable

            monitoring.register_callback(tool, monitoring.events.PY_START, on_start)
            monitoring.set_events(tool, monitoring.events.PY_START)
            self._tool = tool
            return True
        return False


def _replaced_hook(*args):
    """The C hook's profile object, so ``sys.getprofile()`` shows whether it is still installed. Called
    only if someone saved it and set it back as a Python profile function: the record is then broken."""
    _replaced_hook.called = True


_replaced_hook.called = False

warmup = WarmupCalls()
