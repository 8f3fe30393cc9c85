"""Applying an edit that changed only function bodies, without executing any module again.

Re-executing a module gives its functions and classes new identities, so each importer must run
again too (``from hub import mix`` holds the old one): for a hub, a thousand module bodies. But when
an edit leaves a module's top level as it was and only changes bodies of functions that never ran,
re-executing the module and all its importers would rebuild the very same objects around new code.
So the new code objects go into the live functions (``__code__``) and nothing runs again.

Only when all of this holds; otherwise the full reload runs:

- the module was loaded by the standard source loader (pytest's rewrite hook loads test modules and
  conftests, which are evicted instead), and its top-level code was recorded by the warm-up;
- its top level and every class body compile to the same instructions, names and constants, line
  numbers aside;
- no edited function started during the warm-up (see ``_calls``), apart from one whose lines merely
  moved (it and the closures it made get the new line numbers);
- each edited function keeps its signature: parameter names and kinds, flags (generator,
  coroutine), free variables, name;
- every live function of an edited code object is found (module and class attributes, through
  ``__wrapped__``, ``staticmethod``, ``classmethod``, ``property``, ``cached_property``), at least one
  (a decorator that kept only something derived from the function would keep the old body), and
  nothing else holds the old code: a suspended generator or a copied function would go on running it;
- docstrings are unchanged (``functools.wraps`` copied them into wrappers nobody can find).
"""

import functools
import sys
import types
from importlib.machinery import SourceFileLoader
from typing import Dict, List, Tuple

from pytestd import _calls

CO_OPTIMIZED = 0x0001  # set for functions; module and class bodies run with a namespace instead
_CO_VARARGS, _CO_VARKEYWORDS = 0x0004, 0x0008
_SIGNATURE = ("co_argcount", "co_posonlyargcount", "co_kwonlyargcount", "co_flags", "co_freevars", "co_name")
_INSTRUCTIONS = _SIGNATURE + ("co_code", "co_names", "co_varnames", "co_cellvars") + tuple(
    name for name in ("co_qualname", "co_exceptiontable") if hasattr(types.CodeType, name))

CodePair = Tuple[types.CodeType, types.CodeType]


class NotInPlace(Exception):
    """Why an edit needs a full reload (said in the reload note)."""


class ModuleEdit:
    """The functions of one module that get new code, and (3.13+) classes whose first line moved."""

    def __init__(self, module: types.ModuleType):
        self.module = module
        self.functions: List[Tuple[types.FunctionType, types.CodeType]] = []
        self.first_lines: List[Tuple[str, int, int]] = []
        self.moved_classes: List[Tuple[type, int]] = []
        # Old code objects whose body changed (the others only moved to other lines).
        self.rewritten = set()


def plan_each(names: List[str]) -> Tuple[List[ModuleEdit], Dict[str, str]]:
    """For each changed module, its in-place edit or the reason it needs a full reload (NotInPlace
    never escapes: its traceback would hold old functions). Changes nothing."""
    if not _calls.warmup.complete:
        return [], {name: _calls.warmup.incomplete_because for name in names}
    edits, refused = [], {}
    for name in names:
        try:
            edits.append(_plan_module(name))
        except NotInPlace as exc:
            refused[name] = str(exc)
    return edits, refused


def apply(edits: List[ModuleEdit]) -> int:
    """Puts the new code into the live functions; returns how many got new code."""
    count = 0
    for edit in edits:
        for function, code in edit.functions:
            function.__code__ = code
            count += 1
        for cls, line in edit.moved_classes:
            cls.__firstlineno__ = line
    return count


def _plan_module(name: str) -> ModuleEdit:
    module = sys.modules.get(name)
    if module is None:
        raise NotInPlace(f"{name} is not loaded")
    spec = module.__spec__
    if spec is None or type(spec.loader) is not SourceFileLoader or not isinstance(spec.origin, str):
        raise NotInPlace(f"{name} is not loaded from source by the standard loader")
    old = _calls.warmup.module_code(spec.origin)
    if old is None:
        raise NotInPlace(f"the warm-up did not see {name} execute")
    try:
        new = spec.loader.source_to_code(spec.loader.get_data(spec.origin), spec.origin)
    except (OSError, SyntaxError, ValueError) as exc:
        raise NotInPlace(f"{name} does not compile: {exc}") from exc
    edit = ModuleEdit(module)
    changed: List[CodePair] = []
    _compare_executed(old, new, changed, edit)
    # No loop variable may hold an old code object here: _check_sole_holders counts references.
    redocumented = next((old_code for old_code, new_code in changed if _docstring(old_code) != _docstring(new_code)), None)
    if redocumented is not None:
        raise NotInPlace(f"the docstring of {where(redocumented)} changed")
    holders = _live_functions(module, {id(old_code) for old_code, _ in changed})
    _check_sole_holders(changed, holders, name)
    orphan = next((old_code for old_code, _ in changed if id(old_code) in edit.rewritten and id(old_code) not in holders), None)
    if orphan is not None:
        raise NotInPlace(f"no function found runs {where(orphan)}: what its decorator made of it keeps the old body")
    edit.functions = [(function, new_code) for old_code, new_code in changed for function in holders.get(id(old_code), ())]
    edit.moved_classes = _moved_classes(module, edit.first_lines)
    return edit


def _compare_executed(old: types.CodeType, new: types.CodeType, changed: List[CodePair], edit: ModuleEdit) -> None:
    """``old`` ran at import (a module or class body): the new version must run the same way."""
    if not same_instructions(old, new):
        raise NotInPlace(f"top-level code of {where(old)} changed")
    first_line = first_line_constant(old, new)
    for index, (a, b) in enumerate(zip(old.co_consts, new.co_consts)):
        if isinstance(a, types.CodeType) and isinstance(b, types.CodeType):
            _compare_definition(a, b, changed, edit)
        elif index == first_line:
            if a != b:
                edit.first_lines.append((old.co_qualname, a, b))
        elif isinstance(a, types.CodeType) or isinstance(b, types.CodeType) or constant_key(a) != constant_key(b):
            raise NotInPlace(f"a constant in {where(old)} changed")


def _compare_definition(old: types.CodeType, new: types.CodeType, changed: List[CodePair], edit: ModuleEdit) -> None:
    if not old.co_flags & CO_OPTIMIZED:  # a class body: it ran with its module
        _compare_executed(old, new, changed, edit)
        return
    if _identical(old, new):
        return
    if _calls.warmup.started(old):
        if not same_modulo_lines(old, new):
            raise NotInPlace(f"{where(old)} ran during the warm-up; what it computed may depend on it")
        _pair_moved_lines(old, new, changed)
        return
    if any(getattr(old, field) != getattr(new, field) for field in _SIGNATURE) or _parameters(old) != _parameters(new):
        raise NotInPlace(f"the signature of {where(old)} changed")
    changed.append((old, new))
    edit.rewritten.add(id(old))


def _parameters(code: types.CodeType) -> tuple:
    """The parameter names (a framework may have read them when it registered the function)."""
    count = code.co_argcount + code.co_kwonlyargcount
    count += bool(code.co_flags & _CO_VARARGS) + bool(code.co_flags & _CO_VARKEYWORDS)
    return code.co_varnames[:count]


def _pair_moved_lines(old: types.CodeType, new: types.CodeType, changed: List[CodePair]) -> None:
    """Only the lines of a function that ran moved: it and every closure it made (a decorator's
    wrapper) get the new line numbers, so tracebacks point where plain pytest's do."""
    if _identical(old, new):
        return
    changed.append((old, new))
    for a, b in zip(old.co_consts, new.co_consts):
        if isinstance(a, types.CodeType):
            _pair_moved_lines(a, b, changed)


def same_instructions(a: types.CodeType, b: types.CodeType) -> bool:
    return len(a.co_consts) == len(b.co_consts) and all(getattr(a, f) == getattr(b, f) for f in _INSTRUCTIONS)


def same_modulo_lines(a: types.CodeType, b: types.CodeType) -> bool:
    if not same_instructions(a, b):
        return False
    for x, y in zip(a.co_consts, b.co_consts):
        if isinstance(x, types.CodeType) and isinstance(y, types.CodeType):
            if not same_modulo_lines(x, y):
                return False
        elif isinstance(x, types.CodeType) or isinstance(y, types.CodeType) or constant_key(x) != constant_key(y):
            return False
    return True


def _identical(a: types.CodeType, b: types.CodeType) -> bool:
    """Same instructions and the same lines: nothing a traceback or a run could tell apart."""
    if not same_modulo_lines(a, b) or a.co_firstlineno != b.co_firstlineno or _lines(a) != _lines(b):
        return False
    return all(_identical(x, y) for x, y in zip(a.co_consts, b.co_consts) if isinstance(x, types.CodeType))


def _lines(code: types.CodeType):
    return list(code.co_lines()) if hasattr(code, "co_lines") else code.co_lnotab


def constant_key(value):
    """Equal only for constants of the same type and value (``1``, ``1.0``, ``True`` and ``-0.0`` differ)."""
    if isinstance(value, (tuple, frozenset)):
        items = tuple(constant_key(v) for v in value)
        return type(value), (frozenset(items) if isinstance(value, frozenset) else items)
    if isinstance(value, (float, complex)):
        return type(value), repr(value)
    return type(value), value


def first_line_constant(old: types.CodeType, new: types.CodeType) -> int:
    """3.13+ class bodies store their own first line (``__firstlineno__``): the index of that constant
    when old and new load it from the same slot and nothing else does, else -1."""
    if sys.version_info < (3, 13) or "__firstlineno__" not in old.co_names:
        return -1
    import dis

    slots = []
    for code in (old, new):
        instructions = list(dis.get_instructions(code))
        slot = next((a.arg for a, b in zip(instructions, instructions[1:]) if a.opname == "LOAD_CONST"
                     and b.opname == "STORE_NAME" and b.argval == "__firstlineno__"), None)
        if slot is None or sum(1 for i in instructions if i.opcode in dis.hasconst and i.arg == slot) != 1:
            return -1
        slots.append(slot)
    return slots[0] if slots[0] == slots[1] else -1


def _live_functions(module: types.ModuleType, wanted: set) -> Dict[int, List[types.FunctionType]]:
    """The functions reachable from the module's namespace whose code is in ``wanted`` (by id)."""
    found: Dict[int, List[types.FunctionType]] = {}
    seen = set()
    pending = list(vars(module).values())
    while pending:
        value = pending.pop()
        if id(value) in seen:
            continue
        seen.add(id(value))
        if isinstance(value, types.FunctionType):
            if id(value.__code__) in wanted:
                found.setdefault(id(value.__code__), []).append(value)
            if "__wrapped__" in value.__dict__:
                pending.append(value.__dict__["__wrapped__"])
        elif isinstance(value, (staticmethod, classmethod)):
            pending.append(value.__func__)
        elif isinstance(value, property):
            pending += [value.fget, value.fset, value.fdel]
        elif isinstance(value, (functools.cached_property, functools.partialmethod)):
            pending.append(value.func)
        elif type(value) is functools._lru_cache_wrapper:
            pending.append(value.__wrapped__)
        elif isinstance(value, type) and value.__module__ == module.__name__:
            pending += list(vars(value).values())
    return found


def _check_sole_holders(changed: List[CodePair], holders: Dict[int, List[types.FunctionType]], name: str) -> None:
    """Each old code object may be held only by the functions found and by its parent's constants.
    A probe with exactly those holders, measured the same way, gives the expected reference count."""
    probe_parent = compile("def probe(): pass", "<pytestd probe>", "exec")
    probe = next(c for c in probe_parent.co_consts if isinstance(c, types.CodeType))
    probe_function = types.FunctionType(probe, {})
    pairs = [(probe, probe_parent)] + changed
    counts = {id(probe): [probe_function]}
    counts.update(holders)
    del probe
    excess = [sys.getrefcount(old_code) - len(counts.get(id(old_code), ())) for old_code, _ in pairs]
    for (old_code, _), extra in zip(pairs[1:], excess[1:]):
        if extra != excess[0]:
            raise NotInPlace(f"{where(old_code)} in {name} is held by something pytestd cannot update "
                             f"(a copied function, a suspended generator or an unusual decorator)")
    del probe_function


def _docstring(code: types.CodeType):
    """What a function made from ``code`` gets as ``__doc__`` (CPython 3.8-3.13: a leading str constant)."""
    return code.co_consts[0] if code.co_consts and isinstance(code.co_consts[0], str) else None


def _moved_classes(module: types.ModuleType, first_lines: List[Tuple[str, int, int]]) -> List[Tuple[type, int]]:
    classes = []
    for qualname, old_line, new_line in first_lines:
        value = module
        for part in qualname.split("."):
            value = getattr(value, part, None)
        if not isinstance(value, type) or getattr(value, "__firstlineno__", None) != old_line:
            raise NotInPlace(f"class {qualname} of {module.__name__} moved and cannot be found")
        classes.append((value, new_line))
    return classes


def where(code: types.CodeType) -> str:
    return f"{getattr(code, 'co_qualname', code.co_name)} ({code.co_filename}:{code.co_firstlineno})"
