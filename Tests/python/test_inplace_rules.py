"""The rules that decide whether an edit can be patched in place (pytestd._inplace), on code objects
compiled from generated modules: every body-only edit is accepted and pairs exactly the functions it
touched (or moved), every edit of the top level, a signature or a function that ran is refused."""
import random
import types

import pytest

from pytestd import _inplace


class Started:
    """Stands in for the warm-up's record: which functions (by name) ran."""

    def __init__(self, names=()):
        self.names = set(names)

    def started(self, code):
        return code.co_name in self.names


def compare(old_source, new_source, started=()):
    """The (old name, new name) pairs to patch, or the NotInPlace reason."""
    old, new = compile(old_source, "m.py", "exec"), compile(new_source, "m.py", "exec")
    edit = _inplace.ModuleEdit(types.ModuleType("m"))
    changed = []
    saved = _inplace._calls.warmup
    _inplace._calls.warmup = Started(started)
    try:
        _inplace._compare_executed(old, new, changed, edit)
    except _inplace.NotInPlace as exc:
        return str(exc)
    finally:
        _inplace._calls.warmup = saved
    return sorted(a.co_name for a, _ in changed)


class Module:
    """A generated module: constants, functions and a class, each function body a list of lines."""

    def __init__(self, rng):
        self.constants = {f"C{i}": rng.randint(0, 9) for i in range(3)}
        self.functions = {f"f{i}": [f"x = {rng.randint(0, 9)}", f"return x + C{i % 3}"] for i in range(4)}
        self.methods = {f"m{i}": [f"return {rng.randint(0, 9)}"] for i in range(2)}

    def source(self):
        lines = [f"{name} = {value}" for name, value in self.constants.items()]
        for name, body in self.functions.items():
            lines += [f"def {name}(a, *, b=1):"] + [f"    {line}" for line in body] + [""]
        lines += ["class K:", "    size = C0"]
        for name, body in self.methods.items():
            lines += [f"    def {name}(self):"] + [f"        {line}" for line in body]
        return "\n".join(lines) + "\n"


@pytest.mark.parametrize("seed", range(40))
def test_body_edits_are_accepted_and_pair_what_they_touched(seed):
    rng = random.Random(seed)
    module = Module(rng)
    before = module.source()
    edited = rng.choice(sorted(module.functions) + sorted(module.methods))
    body = module.functions.get(edited) or module.methods[edited]
    grows = rng.random() < 0.5
    if grows:
        body.insert(0, f"y = {rng.randint(10, 99)}")
    else:
        body[-1] = body[-1].replace("return ", f"return {rng.randint(10, 99)} + ")
    pairs = compare(before, module.source())
    assert isinstance(pairs, list), pairs
    order = list(module.functions) + list(module.methods)
    moved = order[order.index(edited) + 1:] if grows else []
    assert pairs == sorted([edited] + moved)


@pytest.mark.parametrize("seed", range(40))
def test_top_level_edits_are_refused(seed):
    rng = random.Random(seed)
    module = Module(rng)
    before = module.source()
    kind = rng.choice(["constant", "new constant", "default", "class attribute", "new method", "new function"])
    if kind == "constant":
        name = rng.choice(sorted(module.constants))
        module.constants[name] += 1
        after = module.source()
    elif kind == "new constant":
        after = module.source() + "EXTRA = 1\n"
    elif kind == "default":
        after = module.source().replace("b=1", "b=2", 1)
    elif kind == "class attribute":
        after = module.source().replace("size = C0", "size = C1")
    elif kind == "new method":
        after = module.source() + "    def extra(self):\n        return 0\n"
    else:
        after = module.source() + "def extra():\n    return 0\n"
    assert isinstance(compare(before, after), str), kind


SOURCE = '''
TABLE = 7

def build():
    return [1, 2]

def helper(a, b=1):
    return a

def decorate(function):
    def wrapper(*args):
        return function(*args)
    return wrapper
'''


@pytest.mark.parametrize("old, new, reason", [
    ("return [1, 2]", "return [1, 3]", "ran during the warm-up"),
    ("def helper(a, b=1):", "def helper(c, b=1):", "signature"),
    ("def helper(a, b=1):", "def helper(a, b=1, *rest):", "signature"),
    ("    return a\n", "    yield a\n", "signature"),
    ("TABLE = 7", "TABLE = 8", "a constant"),
    ("TABLE = 7", "TABLE = 7.0", "a constant"),
])
def test_what_is_refused_and_why(old, new, reason):
    assert reason in compare(SOURCE, SOURCE.replace(old, new), started={"build", "decorate"})


def test_a_function_that_ran_may_move_and_takes_its_closures_along():
    moved = "\n\n" + SOURCE
    assert compare(SOURCE, moved, started={"build", "decorate"}) == ["build", "decorate", "helper", "wrapper"]
    nested_edit = SOURCE.replace("return function(*args)", "return function(*args) or 0")
    assert "ran during the warm-up" in compare(SOURCE, nested_edit, started={"decorate"})


def test_an_identical_module_pairs_nothing():
    assert compare(SOURCE, SOURCE, started={"build"}) == []


@pytest.mark.parametrize("a, b", [(1, 1.0), (1, True), (0.0, -0.0), ("1", b"1"), ((1, 2), (1, 2.0)),
                                  (frozenset({1}), frozenset({True})), (float("nan"), 0.0)])
def test_constants_of_different_type_or_value_differ(a, b):
    assert _inplace.constant_key(a) != _inplace.constant_key(b)


@pytest.mark.parametrize("value", [1, 1.5, -0.0, float("nan"), "s", b"b", None, (1, (2, "x")), frozenset({1, 2})])
def test_a_constant_equals_itself(value):
    assert _inplace.constant_key(value) == _inplace.constant_key(value)
