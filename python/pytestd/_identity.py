"""Executing a module again while keeping the objects an edit did not change.

Re-executing a module gives every function, class and constant a new identity, so each importer
that bound one of them (``from hub import mix``) would have to run again too: for a hub, a thousand
module bodies. But most of a hub's top level is the same after most edits. So after the module has
run again, each name whose new value is indistinguishable from its old one gets the old object back,
and only the names that really changed are reported; an importer runs again only when it read one
of those at import time (see ``_module_reads``).

"Indistinguishable" is structural and strict: atoms by type and value, containers item by item,
functions by code, defaults, closure and attributes, classes by bases, metaclass and every entry of
their namespace, instances of plain Python classes by type and state. Anything else (objects with C
state) is the same only if it is the same object. Objects are compared as a pair graph, so cycles
(a class and its enum members, a method's ``__class__`` cell) match when the whole graph does.

Putting an old object back must leave no new one behind: a new object that something else took
hold of during the execution (a registry outside the module) would make the two versions coexist.
The caller checks that every replaced new object dies.
"""

import abc
import functools
import sys
import types
import weakref
from typing import Dict, List, Set

from pytestd import _calls
from pytestd._inplace import _identical, constant_key, same_modulo_lines

_ATOMS = (int, float, complex, str, bytes, bool, type(None), type(Ellipsis), type(NotImplemented), range)
# Class namespace entries that belong to the class object itself: equal when of the same type.
_OWN_DESCRIPTORS = ("__dict__", "__weakref__")
_CO_GENERATORS = 0x20 | 0x80 | 0x200  # generator, coroutine, async generator


class Outcome:
    """What one module's execution changed, as its importers see it."""

    def __init__(self, module: types.ModuleType, changed: Set[str], discarded: List[weakref.ref],
                 kept: Dict[int, object], started_code: Dict[int, types.CodeType]):
        self.module = module
        self.changed = changed
        # New objects replaced by their old equals: each must die.
        self.discarded = discarded
        # Old objects put back, by id.
        self.kept = kept
        self._started_code = started_code
        self._behaviour: Dict[str, Set[str]] = {}

    def affects(self, names: Set[str]) -> bool:
        """Whether an importer that read ``names`` at import time could have seen something else."""
        if not self.changed:
            return False
        namespace = vars(self.module)
        for name in names:
            if name == "__dict__" or name in self.changed:
                return True
            if name not in namespace and "__getattr__" in namespace:
                name = "__getattr__"
            if self.behaviour_names(name) & self.changed:
                return True
        return False

    def behaviour_names(self, name: str) -> Set[str]:
        """The module's names that code reached from ``name`` used, if any of that code ran during the
        warm-up (an importer may have called it at import time): what it returned then may depend on
        them. Follows the module's own functions and classes those names lead to."""
        if name in self._behaviour:
            return self._behaviour[name]
        namespace = vars(self.module)
        names: Set[str] = set()
        pending, seen = [name], set()
        while pending:
            current = pending.pop()
            if current in seen or current not in namespace:
                continue
            seen.add(current)
            codes = _codes_of(namespace[current], namespace)
            if any(self._started(code) for code in codes):
                used = {n for code in codes for n in code.co_names}
                names |= used
                pending += used
        self._behaviour[name] = names
        return names

    def _started(self, code: types.CodeType) -> bool:
        return _calls.warmup.started(self._started_code.get(id(code), code))


def reexecute(module: types.ModuleType, execute) -> Outcome:
    """Runs ``execute(module, namespace)``, which clears the module and executes its body with
    ``namespace`` as its local namespace. Each name the body binds to a value indistinguishable from
    the name's old value gets the old object at once, so the statements after it (``X = Config()``,
    ``PENDING = counter()``) build on the objects importers hold. A kept object that the rest of the
    body then changed counts as changed."""
    old = dict(vars(module))
    matcher = _Matcher(vars(module))
    namespace = _KeepingNamespace(vars(module), old, matcher)
    execute(module, namespace)
    current = vars(module)
    changed = {name for name in old.keys() | current.keys()
               if name not in _MODULE_OWN and current.get(name, _MISSING) is not old.get(name, _MISSING)}
    # Compared again as they ended: a later statement may have changed a kept object.
    recheck = _Matcher(current)
    changed |= {name for name, kept, new in namespace.shadows
                if current.get(name) is kept and not recheck.match(kept, new)}
    matcher.apply_fixups()
    discarded, kept_objects = [], {}
    for name, kept, new in namespace.shadows:
        kept_objects[id(kept)] = kept
        try:
            discarded.append(weakref.ref(new))
        except TypeError:
            pass
    del namespace.shadows[:]
    return Outcome(module, changed, discarded, kept_objects, matcher.started_code)


_MISSING = object()


def everything_changed(module: types.ModuleType) -> Outcome:
    """For a module executed again without keeping anything: every name is new."""
    return Outcome(module, set(vars(module)) | {"__dict__"}, [], {}, {})


class _KeepingNamespace:
    """The local namespace of a module body that runs again: a view of its globals that, on each
    binding, keeps the old object when the new one is indistinguishable from it."""

    def __init__(self, namespace: dict, old: dict, matcher: "_Matcher"):
        self._namespace = namespace
        self._old = old
        self._matcher = matcher
        self.shadows: List[tuple] = []  # (name, old object kept, new object it replaced)

    def __getitem__(self, name):
        return self._namespace[name]

    def __setitem__(self, name, value):
        previous = self._old.get(name, _MISSING)
        if (previous is not _MISSING and previous is not value and name not in _MODULE_OWN
                and self._matcher.match(previous, value)):
            self.shadows.append((name, previous, value))
            value = previous
        self._namespace[name] = value

    def __delitem__(self, name):
        del self._namespace[name]

    def __contains__(self, name):
        return name in self._namespace

    def __iter__(self):
        return iter(self._namespace)

    def __len__(self):
        return len(self._namespace)

    def keys(self):
        return self._namespace.keys()

    def items(self):
        return self._namespace.items()

    def values(self):
        return self._namespace.values()

    def get(self, name, default=None):
        return self._namespace.get(name, default)


_MODULE_OWN = ("__name__", "__spec__", "__loader__", "__file__", "__path__", "__package__", "__cached__",
               "__builtins__")


def _codes_of(value, namespace) -> List[types.CodeType]:
    """Code objects of the module's own functions reachable from ``value`` (with their nested code)."""
    codes, pending, seen = [], [value], set()
    while pending:
        item = pending.pop()
        if id(item) in seen:
            continue
        seen.add(id(item))
        if isinstance(item, types.FunctionType):
            if item.__globals__ is namespace:
                codes += _nested(item.__code__)
            pending += [cell.cell_contents for cell in item.__closure__ or () if _filled(cell)]
            pending.append(item.__dict__.get("__wrapped__"))
        elif isinstance(item, (staticmethod, classmethod)):
            pending.append(item.__func__)
        elif isinstance(item, property):
            pending += [item.fget, item.fset, item.fdel]
        elif type(item) is functools._lru_cache_wrapper:
            pending.append(item.__wrapped__)
        elif isinstance(item, type):
            if item.__module__ == namespace.get("__name__"):
                pending += list(vars(item).values())
                pending.append(type(item))
        elif hasattr(type(item), "__module__") and type(item).__module__ == namespace.get("__name__"):
            pending.append(type(item))
    return codes


def _nested(code: types.CodeType) -> List[types.CodeType]:
    found = [code]
    for const in code.co_consts:
        if isinstance(const, types.CodeType):
            found += _nested(const)
    return found


def _filled(cell) -> bool:
    try:
        cell.cell_contents
    except ValueError:
        return False
    return True


class _Matcher:
    """Structural comparison of old and new objects, as a consistent pairing: each new object
    matches at most one old one. A failed comparison of one name undoes the pairs it assumed."""

    def __init__(self, namespace: dict):
        self.namespace = namespace
        self.pairs: Dict[int, object] = {}
        self.new_objects: List[object] = []  # alive while pairs are keyed by their ids
        self.fixups: List[tuple] = []
        self.started_code: Dict[int, types.CodeType] = {}

    def match(self, old, new) -> bool:
        mark = (len(self.new_objects), len(self.fixups))
        try:
            same = self._same(old, new)
        except (RecursionError, ValueError, TypeError, AttributeError):
            same = False
        if not same:
            for item in self.new_objects[mark[0]:]:
                del self.pairs[id(item)]
            del self.new_objects[mark[0]:]
            del self.fixups[mark[1]:]
        return same

    def apply_fixups(self) -> None:
        """Old objects kept whose code only moved to other lines get the new line numbers."""
        for kind, target, value in self.fixups:
            if kind == "code":
                self.started_code[id(value)] = target.__code__
                target.__code__ = value
            else:
                target.__firstlineno__ = value

    def _same(self, old, new) -> bool:
        if old is new:
            return True
        if id(new) in self.pairs:
            return self.pairs[id(new)] is old
        kind = type(old)
        if kind in _ATOMS or type(new) in _ATOMS:
            return kind is type(new) and constant_key(old) == constant_key(new)
        if isinstance(old, types.ModuleType) or not self._same(kind, type(new)):
            return False
        if kind in (frozenset, set):
            return all(type(x) in _ATOMS for x in old) and constant_key(frozenset(old)) == constant_key(frozenset(new))
        self.pairs[id(new)] = old
        self.new_objects.append(new)
        if kind is tuple or kind is list:
            return len(old) == len(new) and all(self._same(a, b) for a, b in zip(old, new))
        if kind is dict or kind is types.MappingProxyType:
            return self._same_items(old, new)
        if isinstance(old, types.FunctionType):
            return self._same_function(old, new)
        if isinstance(old, type):
            return self._same_class(old, new)
        if kind in (staticmethod, classmethod):
            return self._same(old.__func__, new.__func__) and self._same_attributes(old, new)
        if kind is property:
            return all(self._same(getattr(old, a), getattr(new, a)) for a in ("fget", "fset", "fdel", "__doc__"))
        if kind is functools.partial:
            return all(self._same(getattr(old, a), getattr(new, a)) for a in ("func", "args", "keywords"))
        if kind is functools._lru_cache_wrapper:
            # Equal only while neither has cached anything (a warm-up call filled the old one).
            return (old.cache_info().currsize == new.cache_info().currsize == 0
                    and old.cache_parameters() == new.cache_parameters()
                    and self._same(old.__wrapped__, new.__wrapped__) and self._same_attributes(old, new))
        if kind is types.MemberDescriptorType or kind is types.GetSetDescriptorType:
            return old.__name__ == new.__name__
        return self._same_instance(old, new)

    def _same_items(self, old, new) -> bool:
        if len(old) != len(new):
            return False
        return all(self._same(ka, kb) and self._same(va, vb) for (ka, va), (kb, vb) in zip(old.items(), new.items()))

    def _same_attributes(self, old, new) -> bool:
        return self._same_items(getattr(old, "__dict__", {}), getattr(new, "__dict__", {}))

    def _same_function(self, old: types.FunctionType, new: types.FunctionType) -> bool:
        if old.__globals__ is not new.__globals__ or (old.__name__, old.__qualname__) != (new.__name__, new.__qualname__):
            return False
        if not self._same_code(old, new.__code__):
            return False
        for attribute in ("__defaults__", "__kwdefaults__", "__doc__", "__module__", "__annotations__", "__type_params__"):
            if not self._same(getattr(old, attribute, None), getattr(new, attribute, None)):
                return False
        a, b = old.__closure__ or (), new.__closure__ or ()
        if len(a) != len(b):
            return False
        for x, y in zip(a, b):
            if _filled(x) != _filled(y) or (_filled(x) and not self._same(x.cell_contents, y.cell_contents)):
                return False
        return self._same_attributes(old, new)

    def _same_code(self, function: types.FunctionType, code: types.CodeType) -> bool:
        old = function.__code__
        if _identical(old, code):
            return True
        if not same_modulo_lines(old, code):
            return False
        # Only lines moved. Keeping the old function with the new code is what a fresh process has,
        # unless the old code made closures that live on (their lines would stay old) or is suspended.
        nested = _nested(old)
        if any(_calls.warmup.started(c) for c in nested[1:]):
            return False
        if _calls.warmup.started(old) and old.co_flags & _CO_GENERATORS:
            return False
        self.fixups.append(("code", function, code))
        return True

    def _same_class(self, old: type, new: type) -> bool:
        if (old.__name__, old.__qualname__, old.__module__) != (new.__name__, new.__qualname__, new.__module__):
            return False
        if not self._same(old.__bases__, new.__bases__):
            return False
        a, b = vars(old), vars(new)
        if list(a) != list(b):
            return False
        for key in a:
            if key in _OWN_DESCRIPTORS:
                if type(a[key]) is not type(b[key]):
                    return False
            elif key == "__firstlineno__":
                if a[key] != b[key]:
                    self.fixups.append(("line", old, b[key]))
            elif key == "_abc_impl":
                # ABC caches are derived; registered virtual subclasses are not.
                if abc._get_dump(old)[0] or abc._get_dump(new)[0]:
                    return False
            elif not self._same(a[key], b[key]):
                return False
        return True

    def _same_instance(self, old, new) -> bool:
        solid = _solid_base(type(old))
        if solid in (int, str, float):
            if constant_key(_BASE_VALUE[solid](old)) != constant_key(_BASE_VALUE[solid](new)):
                return False
        elif solid is tuple:  # named tuples
            if not self._same(tuple(tuple.__iter__(old)), tuple(tuple.__iter__(new))):
                return False
        elif solid is not object:
            return False  # C state nobody can compare
        for slot in _slots(type(old)):
            has = [hasattr(old, slot), hasattr(new, slot)]
            if has[0] != has[1] or (has[0] and not self._same(getattr(old, slot), getattr(new, slot))):
                return False
        return self._same_attributes(old, new)


_BASE_VALUE = {int: int.__int__, str: str.__str__, float: float.__float__}


def _solid_base(kind: type) -> type:
    """The nearest class whose instances carry C state (as CPython's ``solid_base``): a class made by
    a ``class`` statement adds only slots, a ``__dict__`` and a ``__weakref__`` to its base."""
    base = kind.__base__
    if base is None:
        return kind
    own_slots = sum(1 for value in vars(kind).values() if type(value) is types.MemberDescriptorType)
    added = 8 * own_slots
    # Pointers to the dict and the weak references, unless CPython manages them outside the object.
    if kind.__dictoffset__ and not base.__dictoffset__ and not (sys.version_info >= (3, 11) and kind.__flags__ & 1 << 4):
        added += 8
    if kind.__weakrefoffset__ and not base.__weakrefoffset__ and not (sys.version_info >= (3, 12) and kind.__flags__ & 1 << 3):
        added += 8
    return _solid_base(base) if kind.__basicsize__ - base.__basicsize__ == added else kind


def _slots(kind: type) -> List[str]:
    names = []
    for base in kind.__mro__:
        slots = vars(base).get("__slots__", ())
        names += [slots] if isinstance(slots, str) else [s for s in slots if s not in ("__dict__", "__weakref__")]
    return names
