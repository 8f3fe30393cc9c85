"""What each module's import read from other project modules: the names a reload must check.

A module that did ``from hub import x`` (or read ``hub.x`` at its top level, or through a function it
called there) holds what ``x`` was when it ran. When ``hub`` executes again, that importer needs to
run again only if one of the names it read now has another value (see ``_identity``). So while a
template is being built, project modules read attributes through a recording class, and each read
is charged to the innermost module body executing at the time. Reading ``__dict__`` (``vars()``,
``dir()``, ``inspect``, a star import without ``__all__``) counts as reading every name.

Runs never see the recording class: it is put back to ``types.ModuleType`` when the warm-up ends.
"""

import os
import sys
import types
from typing import Dict, Optional, Set

EVERY_NAME = "__dict__"


class ModuleReads:
    """The record of one template (``template``, below): forked reloading children read it."""

    def __init__(self) -> None:
        self.active = False
        # importer -> {module read from -> names}
        self.reads: Dict[str, Dict[str, Set[str]]] = {}
        # Source files whose module body executed while recording: a module outside it has no record.
        self.executed: Set[str] = set()
        # Modules read through the recording class from their import to the end: reads of any other
        # module (one that replaced its class or itself) may be missing.
        self.watched: Set[str] = set()
        self._excluded = ()
        # Modules found not to be project code, by name: every import statement of the warm-up asks
        # about each module it names (numpy's and sympy's own ones too), so the answer is kept.
        self._not_project: Dict[str, types.ModuleType] = {}

    def start(self) -> None:
        # The interpreter's own libraries and site-packages, and pytestd itself: never reloaded.
        self._excluded = tuple({os.path.join(p, "") for p in (sys.prefix, sys.base_prefix, sys.exec_prefix,
                                                              os.path.dirname(__file__))})
        self.active = True
        for module in list(sys.modules.values()):
            self.watch(module)

    def stop(self) -> None:
        self.active = False
        self._not_project.clear()
        self.watched = {name for name in self.watched if type(sys.modules.get(name)) is _ReadingModule}
        for module in list(sys.modules.values()):
            if type(module) is _ReadingModule:
                module.__class__ = types.ModuleType

    def watch(self, module) -> None:
        """Reads of ``module`` are recorded from now on, if it is a plain module of project code."""
        if not self.active or type(module) is not types.ModuleType:
            return
        name = getattr(module, "__name__", None)
        if self._not_project.get(name) is module:
            return
        if self._is_project(getattr(module, "__file__", None)):
            self.watched.add(name)
            module.__class__ = _ReadingModule
        else:
            self._not_project[name] = module

    def saw_exec(self, code: types.CodeType) -> None:
        if self.active and code.co_name == "<module>":
            self.executed.add(code.co_filename)

    def complete_for(self, name: str) -> bool:
        """Whether every read of module ``name`` during the template's imports was recorded."""
        return name in self.watched

    def of(self, module: types.ModuleType) -> Optional[Dict[str, Set[str]]]:
        """What ``module``'s body read from other modules, or None when it did not run while recording."""
        origin = getattr(module.__spec__, "origin", None)
        if origin not in self.executed:
            return None
        return self.reads.get(module.__name__, {})

    def _is_project(self, path) -> bool:
        return isinstance(path, str) and path.endswith(".py") and not path.startswith(self._excluded)

    def _record(self, module_name: str, attribute: str) -> None:
        importer = _importer(sys._getframe(2))
        if importer is not None and importer != module_name:
            self.reads.setdefault(importer, {}).setdefault(module_name, set()).add(attribute)


def _importer(frame) -> Optional[str]:
    """The innermost module whose body is executing at or above ``frame``."""
    while frame is not None:
        if frame.f_code.co_name == "<module>":
            name = frame.f_globals.get("__name__")
            return name if isinstance(name, str) else None
        frame = frame.f_back
    return None


# What the import system reads of every module it meets; set up once, never changed by a reload.
_IMPORT_SYSTEM = frozenset({"__spec__", "__path__", "__name__", "__loader__", "__file__", "__package__"})


class _ReadingModule(types.ModuleType):
    def __getattribute__(self, attribute):
        if template.active and attribute not in _IMPORT_SYSTEM:
            template._record(types.ModuleType.__getattribute__(self, "__name__"), attribute)
        return super().__getattribute__(attribute)


template = ModuleReads()
