"""Differential fuzz of hot reload: a seeded sequence of random edits to a generated project; after
each edit the same invocation runs through pytestd and through plain pytest (without bytecode
caches: the ground truth), and every per-test outcome, the summary and the exit code must agree.

PYTESTD_FUZZ_EDITS (default 200) and PYTESTD_FUZZ_SEED (default 1) size and pick the run; a failure
names the seed and the step so it can be replayed."""
import os
import random
import shutil
import types

import pytest

from conftest import LIB_PYPROJECT, PYPROJECT, RECORDER, venv_with

pytestmark = pytest.mark.usefixtures("needs_daemon")

EDITS = int(os.environ.get("PYTESTD_FUZZ_EDITS", "200"))
SEED = int(os.environ.get("PYTESTD_FUZZ_SEED", "1"))
MODULES = 6


class Model:
    """The generated project as data: modules with a constant, from-imports of lower modules, plain
    imports of higher ones (import cycles), functions over all of them, and a table computed at
    import by one of its functions (an edit to that body must not be patched in place); tests
    pinning function values; a conftest fixture; and a sibling package outside the root, installed
    editable (`pip install -e ../sib`), that m0 imports."""

    def __init__(self, rng: random.Random):
        self.rng = rng
        self.value = {i: rng.randint(0, 9) for i in range(MODULES)}
        self.imports = {i: sorted(rng.sample(range(i), min(i, rng.randint(0, 2)))) for i in range(MODULES)}
        self.cycles = {i: [] for i in range(MODULES)}
        self.functions = {i: {} for i in range(MODULES)}
        self.table = {i: rng.randint(0, 5) for i in range(MODULES)}
        self.comment_lines = {i: 0 for i in range(MODULES)}
        self.broken = None
        self.fixture = 1
        self.iterated = 3
        self.sib_value = rng.randint(0, 9)
        self.sib_offset = rng.randint(0, 5)
        # Top-level edits a reload may answer without executing every importer again: a constant no
        # importer reads at import, classes, a decorator's argument, and an importer that calls a lower
        # module's function at import (what it returned depends on names the importer never read).
        self.unread = {i: rng.randint(0, 9) for i in range(MODULES)}
        self.classes = {i: {} for i in range(MODULES)}
        self.scale = {i: rng.randint(1, 3) for i in range(MODULES)}
        self.calls = {i: sorted(rng.sample(range(i), min(i, rng.randint(0, 1)))) for i in range(MODULES)}
        self.tests = {}
        self.serial = 0
        for i in range(MODULES):
            for _ in range(2):
                self.add_function(i)
        for _ in range(8):
            self.add_test()

    # --- rendering -------------------------------------------------------------------------
    def module_text(self, i):
        lines = ["# moved" for _ in range(self.comment_lines[i])]
        lines += [f"from pkg.m{j} import VALUE as V{j}" for j in self.imports[i]]
        if i == 0:
            lines.append("from sib.core import sib\ndef via_sib():\n    return sib() * 2")
        lines.append(f"VALUE = {self.value[i]}")
        lines += [f"import pkg.m{j} as C{j}" for j in self.cycles[i]]  # after VALUE, which m{j} may import
        lines += [f"from pkg.m{j} import tabulate as T{j}\nAT{j} = T{j}()" for j in self.calls[i]]
        lines.append(f"UNREAD = {self.unread[i]}")
        lines += [f"class {name}:\n    value = {value}" for name, value in sorted(self.classes[i].items())]
        lines.append("def scaled(k):\n    def wrap(f):\n        def inner():\n            return f() * k\n"
                     f"        return inner\n    return wrap\n@scaled({self.scale[i]})\ndef scaled_value():\n    return VALUE")
        lines.append(f"class K:\n    size = VALUE * 2")
        lines.append(f"def tabulate():\n    return VALUE * 3 + {self.table[i]}\nTABLE = tabulate()")
        for name, expr in sorted(self.functions[i].items()):
            lines.append(f"def {name}():\n    return {expr}")
        if self.broken == i:
            lines.append("def broken(:\n    pass")
        return "\n".join(lines) + "\n"

    def tests_text(self):
        lines = ["import pytest", "from pkg import " + ", ".join(f"m{i}" for i in range(MODULES))]
        # Collection state a second collection in one process would see consumed or mutated.
        lines.append(f"@pytest.mark.parametrize('v', zip(range({self.iterated})))\n"
                     f"def test_iterated(v):\n    assert v[0] < {self.iterated}")
        lines.append("def test_collection_hook_ran_once():\n    import conftest\n    assert len(conftest.SEEN) == 1")
        for name, (i, function, expected) in sorted(self.tests.items()):
            if function in ("K.size", "TABLE", "UNREAD", "scaled_value()") or function.startswith(("AT", "Class")):
                lines.append(f"def {name}():\n    assert m{i}.{function} == {expected}")
            elif function == "via_sib":
                lines.append(f"def {name}():\n    assert m0.via_sib() == {expected}")
            elif function == "fixture":
                lines.append(f"def {name}(base):\n    assert base == {expected}")
            else:
                lines.append(f"def {name}():\n    from pkg.m{i} import {function}\n    assert {function}() == {expected}")
        return "\n".join(lines) + "\n"

    def conftest_text(self):
        return (f"import pytest\nimport slow  # noqa: F401\n\nSEEN = []\n\n"
                f"def pytest_collection_modifyitems(items):\n    SEEN.append(len(items))\n\n"
                f"@pytest.fixture\ndef base():\n    return {self.fixture}\n")

    def sib_text(self):
        return f"SIB = {self.sib_value}\n\ndef sib():\n    return SIB + {self.sib_offset}\n"

    def files(self):
        files = {f"src/pkg/m{i}.py": self.module_text(i) for i in range(MODULES)}
        files["../sib/src/sib/core.py"] = self.sib_text()
        files["tests/test_gen.py"] = self.tests_text()
        files["conftest.py"] = self.conftest_text()
        return files

    # --- the model's own view of the values ---------------------------------------------------
    def evaluate(self, i, expr):
        names = {"VALUE": self.value[i], **{f"V{j}": self.value[j] for j in self.imports[i]},
                 **{f"C{j}": types.SimpleNamespace(VALUE=self.value[j]) for j in self.cycles[i]}}
        try:
            return eval(expr, {}, names)
        except NameError:
            return None

    # --- edits -------------------------------------------------------------------------------
    def add_function(self, i):
        self.serial += 1
        terms = ["VALUE"] + [f"V{j}" for j in self.imports[i]] + [f"C{j}.VALUE" for j in self.cycles[i]]
        expr = " + ".join(self.rng.sample(terms, self.rng.randint(1, len(terms)))) + f" + {self.rng.randint(0, 5)}"
        self.functions[i][f"f{self.serial}"] = expr
        return f"add f{self.serial} to m{i}"

    def add_test(self):
        self.serial += 1
        i = self.rng.randrange(MODULES)
        kind = self.rng.random()
        if kind < 0.1:
            self.tests[f"test_k{self.serial}"] = (i, "K.size", self.value[i] * 2)
        elif kind < 0.15:
            self.tests[f"test_table{self.serial}"] = (i, "TABLE", self.value[i] * 3 + self.table[i])
        elif kind < 0.25:
            self.tests[f"test_fixture{self.serial}"] = (i, "fixture", self.fixture)
        elif kind < 0.35:
            self.tests[f"test_sib{self.serial}"] = (0, "via_sib", (self.sib_value + self.sib_offset) * 2)
        elif kind < 0.4:
            self.tests[f"test_unread{self.serial}"] = (i, "UNREAD", self.unread[i])
        elif kind < 0.45:
            self.tests[f"test_scaled{self.serial}"] = (i, "scaled_value()", self.value[i] * self.scale[i])
        elif kind < 0.5 and self.calls[i]:
            j = self.calls[i][0]
            self.tests[f"test_at{self.serial}"] = (i, f"AT{j}", self.value[j] * 3 + self.table[j])
        elif kind < 0.55 and self.classes[i]:
            name = self.rng.choice(sorted(self.classes[i]))
            self.tests[f"test_class{self.serial}"] = (i, f"{name}.value", self.classes[i][name])
        elif self.functions[i]:
            function = self.rng.choice(sorted(self.functions[i]))
            expected = self.evaluate(i, self.functions[i][function])
            self.tests[f"test_{function}_{self.serial}"] = (i, function, expected if expected is not None else 0)
        return "add a test"

    def edit(self):
        rng, i = self.rng, self.rng.randrange(MODULES)
        if self.broken is not None and rng.random() < 0.6:
            fixed, self.broken = self.broken, None
            return f"fix the syntax of m{fixed}"
        choice = rng.random()
        if choice < 0.25:
            self.value[i] = rng.randint(0, 9)
            return f"m{i}.VALUE = {self.value[i]}"
        if choice < 0.3:
            return self.add_function(i)
        if choice < 0.4 and self.functions[i]:
            name = rng.choice(sorted(self.functions[i]))
            self.functions[i][name] = self.functions[i][name].rsplit("+", 1)[0] + f"+ {rng.randint(0, 5)}"
            return f"edit the body of m{i}.{name}"
        if choice < 0.43:
            self.table[i] = rng.randint(0, 5)
            return f"edit the body of m{i}.tabulate, which ran at import"
        if choice < 0.46:
            self.comment_lines[i] = rng.randint(0, 3)
            return f"move everything in m{i} to other lines"
        if choice < 0.5 and self.functions[i]:
            name = rng.choice(sorted(self.functions[i]))
            del self.functions[i][name]
            return f"remove m{i}.{name}"
        if choice < 0.55 and self.functions[i]:
            name = rng.choice(sorted(self.functions[i]))
            self.serial += 1
            self.functions[i][f"f{self.serial}"] = self.functions[i].pop(name)
            return f"rename m{i}.{name} to f{self.serial}"
        if choice < 0.64 and i > 0:
            j = rng.randrange(i)
            if j in self.imports[i]:
                self.imports[i].remove(j)
                return f"m{i} stops importing m{j}"
            self.imports[i] = sorted(self.imports[i] + [j])
            return f"m{i} imports m{j}"
        if choice < 0.67 and i < MODULES - 1:
            j = rng.randrange(i + 1, MODULES)
            if j in self.cycles[i]:
                self.cycles[i].remove(j)
                return f"m{i} stops importing m{j} (a cycle)"
            self.cycles[i] = sorted(self.cycles[i] + [j])
            return f"m{i} imports m{j}, which may import it back"
        if choice < 0.71 and self.broken is None:
            self.broken = i
            return f"break the syntax of m{i}"
        if choice < 0.78:
            return self.add_test()
        if choice < 0.85 and self.tests:
            del self.tests[rng.choice(sorted(self.tests))]
            return "remove a test"
        if choice < 0.865:
            return self.hub_edit(i)
        if choice < 0.9:
            self.fixture = rng.randint(0, 3)
            return f"fixture base = {self.fixture}"
        if choice < 0.93:
            self.sib_value = rng.randint(0, 9)
            return f"sib.core.SIB = {self.sib_value} (outside the root)"
        if choice < 0.95:
            self.sib_offset = rng.randint(0, 5)
            return f"edit the body of sib.core.sib (outside the root)"
        if choice < 0.97:
            self.iterated = rng.randint(0, 4)
            return f"parametrize test_iterated over an iterator of {self.iterated}"
        name = rng.choice(sorted(self.tests)) if self.tests else None
        if name:
            i, function, expected = self.tests[name]
            self.tests[name] = (i, function, expected + rng.choice([-1, 1]))
        return f"change the expectation of {name}"

    def hub_edit(self, i):
        """A top-level edit whose importers mostly read nothing that changed."""
        rng = self.rng
        kind = rng.random()
        if kind < 0.3:
            self.unread[i] = rng.randint(0, 9)
            return f"m{i}.UNREAD = {self.unread[i]} (no importer reads it at import)"
        if kind < 0.5:
            self.scale[i] = rng.randint(1, 3)
            return f"m{i}: @scaled({self.scale[i]}) (a decorator's argument)"
        if kind < 0.7 or not self.classes[i]:
            self.serial += 1
            self.classes[i][f"Class{self.serial}"] = rng.randint(0, 9)
            return f"add class Class{self.serial} to m{i}"
        name = rng.choice(sorted(self.classes[i]))
        if kind < 0.85:
            self.classes[i][name] = rng.randint(0, 9)
            return f"m{i}.{name}.value = {self.classes[i][name]}"
        del self.classes[i][name]
        return f"remove m{i}.{name}"


def test_random_edits_give_plain_pytests_results(ctx, build_tools):
    rng = random.Random(SEED)
    model = Model(rng)
    files = {"pyproject.toml": PYPROJECT, "src/slow.py": "import time\ntime.sleep(0.5)\n",
             "src/pkg/__init__.py": "", **model.files(),
             "../sib/pyproject.toml": LIB_PYPROJECT.format(name="sib"), "../sib/src/sib/__init__.py": ""}
    pair = ctx.pair(files, label="fuzz")
    for side in (pair.d, pair.p):
        side.venv = venv_with(ctx, f"fuzz-{side.root.parent.name}-venv", build_tools, editable=[side.root.parent / "sib"])
        side.venvs_used.add(side.venv)
    pair.compare("-q")
    assert pair.d.cli("start").rc == 0
    written = model.files()
    history = []
    for step in range(EDITS):
        # Sometimes a burst: several saves, each written on its own, then one run.
        for _ in range(rng.choice([1, 1, 1, 2, 3])):
            history.append(model.edit())
            current = model.files()
            for path, text in current.items():
                if written.get(path) != text:
                    pair.write(path, RECORDER + text if path == "conftest.py" else text, raw=True)
                    if path.startswith("../"):  # the plain side's ground truth has no bytecode caches
                        shutil.rmtree(pair.p.root.parent / "sib" / "src" / "sib" / "__pycache__", ignore_errors=True)
            written = current
        args = rng.choice([("-q",), ("-q",), ("-q", "-x"), ("-q", "-k", "k or fixture")])
        try:
            # pytestd first, right after the saves: the reload path is what is tested (run second, it would
            # mostly meet a clean host already forked from the zygote).
            pair.compare(*args, daemon_first=True)
        except AssertionError as failure:
            raise AssertionError(f"seed {SEED}, step {step}: after {history[-5:]} with {args}\n{failure}") from None
    # The point is the reload path: most edits must have been served by reloaded templates, some
    # of them patched in place.
    log = pair.d.cli("logs").out
    reloads, failures = log.count("reloaded template"), log.count("reload failed")
    # Edits of the test module alone need no reload at all (each run imports it afresh): about a quarter.
    assert reloads >= EDITS // 4, f"only {reloads} reloads ({failures} failed) in {EDITS} edits"
    served = [line for line in log.splitlines() if "reloaded template" in line]
    in_place = sum("patched in place" in line for line in served)
    assert 0 < in_place < len(served), f"{in_place} of {len(served)} reloads patched in place"
