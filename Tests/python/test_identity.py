"""Executing a module again while keeping what did not change (pytestd._identity), on generated
modules and random edits: every name ends with a value indistinguishable from a fresh execution of
the new source, names reported unchanged keep their old objects, and every name whose value differs
is reported changed."""
import dataclasses
import enum
import random
import sys
import types

import pytest

from pytestd import _identity


class NeverStarted:
    complete = True

    def started(self, code):
        return False


@pytest.fixture(autouse=True)
def nothing_ran(monkeypatch):
    monkeypatch.setattr(_identity._calls, "warmup", NeverStarted())


def render(spec):
    lines = ["import dataclasses, enum, functools", "REGISTRY = []"]
    for name, value in spec["constants"].items():
        lines.append(f"{name} = {value!r}")
    for name, expr in spec["functions"].items():
        lines.append(f"def {name}():\n    return {expr}")
    for name, (size, extra) in spec["classes"].items():
        lines.append(f"class {name}:\n    size = {size}\n    def get(self):\n        return self.size + {extra}")
        lines.append(f"{name}_INSTANCE = {name}()")
    lines.append(f"class Color(enum.Enum):\n" + "".join(f"    C{k} = {k}\n" for k in range(spec["members"])))
    lines.append(f"@dataclasses.dataclass(frozen=True)\nclass Point:\n    x: int = {spec['point']}\n"
                 f"    color: Color = Color.C0")
    lines.append("ORIGIN = Point()")
    lines.append(f"@functools.lru_cache(maxsize=None)\ndef cached():\n    return {spec['cached']}")
    lines.append(f"ITEMS = [1, 2]\nITEMS.append({spec['appended']})")
    return "\n".join(lines) + "\n"


def random_spec(rng):
    constants = {f"K{i}": rng.choice([rng.randint(0, 3), (1, rng.randint(0, 2)), "s", None, 1.5, -0.0])
                 for i in range(rng.randint(1, 4))}
    names = list(constants)
    functions = {f"f{i}": " + ".join(["0"] + [f"len(str({n}))" for n in rng.sample(names, rng.randint(0, len(names)))])
                 for i in range(rng.randint(0, 3))}
    classes = {f"C{i}": (rng.randint(0, 2), rng.randint(0, 2)) for i in range(rng.randint(0, 2))}
    return {"constants": constants, "functions": functions, "classes": classes, "members": rng.randint(1, 3),
            "point": rng.randint(0, 1), "cached": rng.randint(0, 1), "appended": rng.randint(0, 1)}


def mutate(spec, rng):
    spec = {key: dict(value) if isinstance(value, dict) else value for key, value in spec.items()}
    for _ in range(rng.randint(1, 3)):
        kind = rng.choice(["constant", "function", "class", "members", "point", "cached", "appended", "add"])
        if kind == "constant" and spec["constants"]:
            spec["constants"][rng.choice(sorted(spec["constants"]))] = rng.choice([0, 1, (1, 1), "t", 2.5, 0.0])
        elif kind == "function" and spec["functions"]:
            spec["functions"][rng.choice(sorted(spec["functions"]))] = str(rng.randint(0, 3))
        elif kind == "class" and spec["classes"]:
            spec["classes"][rng.choice(sorted(spec["classes"]))] = (rng.randint(0, 2), rng.randint(0, 2))
        elif kind == "add":
            spec["functions"][f"g{rng.randint(0, 99)}"] = "1"
        elif kind in ("members", "point", "cached", "appended"):
            spec[kind] = rng.randint(1, 3) if kind == "members" else rng.randint(0, 1)
    return spec


@pytest.fixture(autouse=True)
def modules(monkeypatch):
    """Generated modules are in sys.modules, as imported ones are (dataclasses look them up)."""
    monkeypatch.setattr(sys, "modules", dict(sys.modules))


def load(source, name="generated"):
    module = types.ModuleType(name)
    sys.modules[name] = module
    exec(compile(source, f"<{name}>", "exec"), vars(module))
    return module


def reexecute(module, source):
    def execute(target, namespace):
        name, builtins = target.__name__, vars(target)["__builtins__"]
        vars(target).clear()
        vars(target).update(__name__=name, __builtins__=builtins, __doc__=None)
        exec(compile(source, f"<{target.__name__}>", "exec"), vars(target), namespace)
    return _identity.reexecute(module, execute)


def observe(value, depth=0):
    """What a test could see of a value."""
    if depth > 4:
        return "..."
    if isinstance(value, types.ModuleType):
        return value.__name__
    if isinstance(value, type):
        return (value.__name__, sorted((k, observe(v, depth + 1)) for k, v in vars(value).items()
                                       if not k.startswith("__") and not callable(v)))
    if isinstance(value, enum.Enum):
        return (type(value).__name__, value.name, value.value)
    if dataclasses.is_dataclass(value):
        return (type(value).__name__, observe(dataclasses.asdict(value), depth + 1))
    if callable(value):
        try:
            return ("called", observe(value(), depth + 1))
        except TypeError:
            return ("callable", getattr(value, "__name__", "?"))
    if isinstance(value, (list, tuple)):
        return (type(value).__name__, [observe(v, depth + 1) for v in value])
    if isinstance(value, dict):
        return sorted((repr(k), observe(v, depth + 1)) for k, v in value.items())
    if hasattr(value, "__dict__") and type(value).__module__ not in ("builtins",):
        return (type(value).__name__, observe(vars(value), depth + 1), observe(getattr(value, "get", None), depth + 1))
    return (type(value).__name__, repr(value))


def public(module):
    return {k: v for k, v in vars(module).items() if not k.startswith("__")}


@pytest.mark.parametrize("seed", range(300))
def test_reexecution_matches_a_fresh_module_and_keeps_what_did_not_change(seed):
    rng = random.Random(seed)
    old_spec = random_spec(rng)
    new_spec = mutate(old_spec, rng) if seed % 5 else old_spec
    module = load(render(old_spec))
    before = public(module)
    before_seen = {k: observe(v) for k, v in before.items()}
    outcome = reexecute(module, render(new_spec))
    fresh = load(render(new_spec), "fresh")
    after = public(module)
    assert set(after) == set(public(fresh))
    for name, value in after.items():
        assert observe(value) == observe(vars(fresh)[name]), name
        if name not in outcome.changed:
            assert value is before[name], f"{name} reported unchanged but has a new object"
        elif name in before and value is before[name]:
            # A kept object that a later statement changed (ITEMS.append) is reported, not replaced.
            assert observe(value) != before_seen[name], name
    for name in set(before) - set(after):
        assert name in outcome.changed
    for name in set(before) & set(after):
        # A kept function may return something else now (it reads the changed names when called):
        # importers that called it at import are found through Outcome.affects, tested below.
        if before_seen[name] != observe(after[name]) and not isinstance(after[name], types.FunctionType):
            assert name in outcome.changed, f"{name} differs but is not reported"
    if new_spec is old_spec:
        # What a kept object cannot show: a list a later statement extended, a cache observe() filled.
        assert outcome.changed <= {"ITEMS", "cached"}, outcome.changed


def test_a_kept_class_is_what_later_statements_and_importers_build_on():
    module = load("class Config:\n    size = 1\nDEFAULT = Config()\nLIMIT = 1\n")
    old_config, old_default = module.Config, module.DEFAULT
    outcome = reexecute(module, "class Config:\n    size = 1\nDEFAULT = Config()\nLIMIT = 2\n")
    assert module.Config is old_config and module.DEFAULT is old_default
    assert outcome.changed == {"LIMIT"}
    assert not outcome.affects({"Config", "DEFAULT"}) and outcome.affects({"LIMIT"}) and outcome.affects({"__dict__"})


def test_a_function_that_ran_affects_importers_that_read_it_through_the_names_it_uses(monkeypatch):
    class RanLimit(NeverStarted):
        def started(self, code):
            return code.co_name == "limit"

    monkeypatch.setattr(_identity._calls, "warmup", RanLimit())
    module = load("LIMIT = 1\ndef limit():\n    return LIMIT\ndef other():\n    return LIMIT\n")
    outcome = reexecute(module, "LIMIT = 2\ndef limit():\n    return LIMIT\ndef other():\n    return LIMIT\n")
    assert outcome.changed == {"LIMIT"}
    assert outcome.affects({"limit"}) and not outcome.affects({"other"})


def test_objects_with_state_nobody_can_compare_are_changed():
    module = load("import threading\nLOCK = threading.Lock()\n")
    outcome = reexecute(module, "import threading\nLOCK = threading.Lock()\n")
    assert outcome.changed == {"LOCK"}
