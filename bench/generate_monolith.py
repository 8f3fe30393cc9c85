#!/usr/bin/env python3
"""Generate a synthetic Python "monolith" project for the pytestd benchmark.

Usage:
    generate_monolith.py OUTDIR [--modules N] [--seed S] [--import-cost K]
                                [--layers L] [--hubs H] [--test-files-per-layer F]

The output is fully deterministic for a given set of options (same seed, same
files, byte for byte).  It contains:

* ``mono/``: a package of N layered modules (default 1,200) in ``mono/l0`` ..
  ``mono/l{L-1}``.  Every module imports a few modules of lower layers and a
  few "hub" modules in ``mono/core/hub_*.py``; ``hub_00`` is imported by every
  module, so editing it touches every module's transitive import closure.
  ``mono/app.py`` imports the top layer and thereby the whole package.
* ``conftest.py``: imports the universe (``mono.app``) plus heavy third-party
  packages (numpy, pandas, scipy, sympy, pydantic) and defines a
  session-scoped ``db`` fixture that builds an in-memory sqlite database.
* ``pyproject.toml`` with ``[tool.pytest.ini_options]`` (testpaths = tests).
* ``tests/test_trivial.py`` (one trivial test), ``tests/test_real.py``
  (~20 tests using fixtures and parametrize) and ``tests/test_l*_*.py``
  (a few hundred fast tests in total).

Import cost: besides realistic declarations (an enum, two dataclasses, a
pydantic model, classes, regexes, functions), every module builds a 256-entry
CRC-style lookup table at import time.  ``--import-cost K`` is the number of
inner-loop steps spent on that table, in thousands, per module (default
%(default_cost)d, i.e. roughly 2.3 ms per module with CPython 3.11 on the 2-core
reference machine, where one step costs ~58 ns).  The rest of a module
(declarations, regexes, pydantic model, garbage collection) costs about
3.5 ms.  With the defaults, a plain ``pytest tests/test_trivial.py`` takes
about 10 s there: ~1 s for the third-party imports, ~0.2 s for pytest itself,
the rest is the monolith's own import work.  Each +10 of --import-cost adds
about 0.7 s with 1,200 modules.

A manifest ``monolith.json`` is written at the project root: options, module
count, and the number of transitive importers of each hub.
"""

import argparse
import json
import os
import random
import shutil
import sys

GENERATOR_VERSION = 5
DEFAULT_MODULES = 1200
DEFAULT_SEED = 1
DEFAULT_IMPORT_COST = 40  # thousands of table-building steps per module
DEFAULT_LAYERS = 6
DEFAULT_HUBS = 6
DEFAULT_TEST_FILES_PER_LAYER = 2
MODULES_PER_TEST_FILE = 6
TABLE_SIZE = 256
REAL_TESTS = 25  # tests collected from TEST_REAL below
MANIFEST = "monolith.json"
# Every module ends with these: the value bench f-i edit (the body of `bench_value`, or the
# constant) and that the tests compare with the source on disk, so a stale run fails.
BENCH_VALUE = """

BENCH_VALUE = 0


def bench_value() -> int:
    return BENCH_VALUE + 0
"""
# The tests' side: what `module.bench_value()` must return by the source saved now.
ON_DISK = """

def bench_value_on_disk(module):
    source = open(module.__file__, encoding="utf-8").read()
    constant = re.search(r"^BENCH_VALUE = (\\d+)$", source, re.M)
    body = re.search(r"^    return BENCH_VALUE \\+ (\\d+)$", source, re.M)
    return int(constant.group(1)) + int(body.group(1))
"""

# Heavy third-party modules imported by the root conftest (all ship wheels).
THIRD_PARTY_IMPORTS = [
    "numpy",
    "pandas",
    "pydantic",
    "scipy.integrate",
    "scipy.optimize",
    "scipy.signal",
    "scipy.stats",
    "sympy",
]
THIRD_PARTY_DISTRIBUTIONS = ["numpy", "pandas", "pydantic", "scipy", "sympy"]

__doc__ = __doc__ % {"default_cost": DEFAULT_IMPORT_COST}

WORDS = (
    "account", "ledger", "invoice", "order", "payment", "refund", "customer",
    "vendor", "catalog", "price", "tax", "audit", "report", "session", "token",
    "policy", "quota", "region", "tenant", "schedule", "shipment", "warehouse",
    "stock", "coupon", "campaign", "metric", "alert", "billing", "contract",
    "profile", "review", "ticket", "queue", "worker", "cache", "index", "search",
    "export", "import", "backup", "archive", "payout", "balance", "currency",
)


def module_name(layer, index):
    return "m%04d" % index


def write(path, text):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w", encoding="utf-8", newline="\n") as f:
        f.write(text)


class Module:
    """Plan of one layered module (everything derived from the seed)."""

    def __init__(self, layer, index, rng):
        self.layer = layer
        self.index = index
        self.name = module_name(layer, index)
        self.dotted = "mono.l%d.%s" % (layer, self.name)
        self.rng = rng
        self.deps = []  # list of Module (lower layers)
        self.hubs = [0]
        self.mul = rng.randrange(3, 10007, 2)
        self.add = rng.randrange(1, 100003)
        self.mod = rng.choice((65521, 65537, 99991, 100003, 131071, 262139))
        self.salt = rng.randrange(1, 1 << 16)
        self.word = rng.choice(WORDS)
        self.prefix = "%s%d" % (self.word[:3], index)

    def transform(self, x):
        return (x * self.mul + self.add) % self.mod

    def handle(self, x):
        total = self.transform(x)
        for dep in self.deps:
            total += dep.transform(x)
        return total % self.mod


def plan(modules, seed, layers, hubs):
    rng = random.Random("pytestd-monolith:%d" % seed)
    per_layer = [modules // layers + (1 if i < modules % layers else 0) for i in range(layers)]
    plan_layers = []
    index = 0
    for layer in range(layers):
        mods = []
        for _ in range(per_layer[layer]):
            mods.append(Module(layer, index, random.Random("pytestd-monolith:%d:%d" % (seed, index))))
            index += 1
        plan_layers.append(mods)
    # Guarantee every module below the top layer has an importer one layer up.
    for layer in range(layers - 1):
        above = plan_layers[layer + 1]
        for mod in plan_layers[layer]:
            parent = rng.choice(above)
            parent.deps.append(mod)
    for layer in range(1, layers):
        for mod in plan_layers[layer]:
            want = rng.randint(2, 4)
            tries = 0
            while len(mod.deps) < want and tries < 20:
                tries += 1
                # Mostly the layer right below, sometimes any lower layer.
                src = layer - 1 if rng.random() < 0.7 else rng.randrange(0, layer)
                cand = rng.choice(plan_layers[src])
                if cand not in mod.deps:
                    mod.deps.append(cand)
            mod.deps.sort(key=lambda m: m.index)
    for layer_mods in plan_layers:
        for mod in layer_mods:
            extra = rng.sample(range(1, hubs), k=min(hubs - 1, rng.randint(1, 2))) if hubs > 1 else []
            mod.hubs = [0] + sorted(extra)
    return plan_layers


# ---------------------------------------------------------------------------
# Source templates
# ---------------------------------------------------------------------------

def hub_source(h, hubs, rounds):
    lines = [
        '"""mono.core.hub_%02d -- shared infrastructure imported by most of the monolith.' % h,
        "",
        "Generated by bench/generate_monolith.py; do not edit by hand.",
        '"""',
        "from __future__ import annotations",
        "",
        "import dataclasses",
        "import enum",
        "import functools",
        "import re",
        "from typing import Any, Callable, Dict, Iterable, List, Optional, Tuple",
        "",
    ]
    if h == 0:
        lines += ["import pydantic", ""]
    else:
        lines += ["from mono.core import hub_%02d as _base" % (h - 1), ""]
    lines += [
        "HUB_ID = %d" % h,
        "POLY = 0x%08X" % (0xEDB88320 ^ (h * 0x1021)),
        "",
        "",
        "def build_table(rounds: int, salt: int) -> Tuple[int, ...]:",
        '    """CRC-style lookup table; the monolith spends its import time here."""',
        "    table = [0] * %d" % TABLE_SIZE,
        "    for n in range(%d):" % TABLE_SIZE,
        "        c = n ^ (salt & 0xFF)",
        "        for _ in range(rounds):",
        "            c = (POLY ^ (c >> 1)) if c & 1 else (c >> 1)",
        "        table[n] = c",
        "    return tuple(table)",
        "",
        "",
        "def fold(values: Iterable[int]) -> int:",
        "    acc = 0",
        "    for v in values:",
        "        acc = ((acc << 5) ^ (acc >> 2) ^ v) & 0xFFFFFFFF",
        "    return acc",
        "",
        "",
        "def mix(x: int) -> int:",
        "    return (x * %d + %d) & 0xFFFF" % (2 * h + 3, 17 * h + 1),
        "",
        "",
        "TABLE = build_table(%d, %d)" % (rounds, h + 1),
        "",
        "",
        "class Severity(enum.IntEnum):",
        "    DEBUG = 10",
        "    INFO = 20",
        "    WARNING = 30",
        "    ERROR = 40",
        "",
        "",
        "@dataclasses.dataclass(frozen=True)",
        "class Event:",
        "    source: str",
        "    severity: Severity = Severity.INFO",
        "    payload: Tuple[Tuple[str, Any], ...] = ()",
        "",
        "    def describe(self) -> str:",
        '        return "%s[%s]" % (self.source, self.severity.name)',
        "",
        "",
    ]
    if h == 0:
        lines += [
            "REGISTRY: Dict[str, Callable[[int], int]] = {}",
            "EVENTS: List[Event] = []",
            "",
            "",
            "def register(name: str, fn: Callable[[int], int]) -> int:",
            "    if name in REGISTRY:",
            '        raise ValueError("duplicate registration: %s" % name)',
            "    REGISTRY[name] = fn",
            "    return len(REGISTRY)",
            "",
            "",
            "def emit(event: Event) -> None:",
            "    EVENTS.append(event)",
            "",
            "",
            "class Model(pydantic.BaseModel):",
            '    model_config = pydantic.ConfigDict(extra="forbid", validate_assignment=True)',
            "",
            "",
            "class ServiceBase:",
            '    kind = "service"',
            "",
            "    def __init__(self, name: str) -> None:",
            "        self.name = name",
            "        self.calls = 0",
            "",
            "    def describe(self) -> str:",
            '        return "%s:%s" % (self.kind, self.name)',
            "",
            "    def record(self) -> None:",
            "        self.calls += 1",
            "",
        ]
    else:
        lines += [
            "register = _base.register",
            "",
            "",
            "class Mixin%02d:" % h,
            "    def hub%02d_score(self, x: int) -> int:" % h,
            "        return mix(x) ^ _base.mix(x)",
            "",
            "",
            "@functools.lru_cache(maxsize=None)",
            "def pattern(word: str) -> 're.Pattern[str]':",
            '    return re.compile(r"^%s-(\\d+)$" % re.escape(word))',
            "",
        ]
    return "\n".join(lines) + "\n" + BENCH_VALUE


PATTERN_TEMPLATES = [
    # (regex template, sample template); {p} is the module prefix, {i} a counter
    (r"^{p}-(?P<id>\d{{3,6}})-(?:[a-f0-9]{{2}}){{2,4}}$", "{p}-12345-abcd"),
    (r"(?P<key>{p}_[A-Z]{{2,5}})=(?P<val>[^;\s]+);?", "{p}_KEY=v{i};"),
    (r"^/api/v(?P<ver>[12])/{w}/(?P<oid>\d+)(?:/(?P<sub>[a-z_]+))?/?$", "/api/v1/{w}/{i}/items"),
    (r"\b(?:{w}|{p})\s+#(?P<num>\d{{1,5}})\b", "{w} #{i}"),
    (r"^(?P<date>\d{{4}}-\d{{2}}-\d{{2}})T(?P<time>\d{{2}}:\d{{2}})(?::\d{{2}})?Z?\s+{p}$", "2024-01-02T03:04 {p}"),
    (r"(?i)^(?:error|warn(?:ing)?|info)\[{p}\]:\s+(?P<msg>.+)$", "WARN[{p}]: hi {i}"),
    (r"^(?P<user>[a-z][a-z0-9_.]{{1,20}})@{w}-(?P<dom>[a-z]{{2,8}})\.example$", "bob@{w}-abc.example"),
    (r"^{p}:(?P<a>-?\d+(?:\.\d+)?),(?P<b>-?\d+(?:\.\d+)?)(?:,(?P<c>-?\d+(?:\.\d+)?))?$", "{p}:1.5,-2"),
]


def module_source(mod, rounds, seed):
    rng = mod.rng
    hub_imports = ", ".join("hub_%02d" % h for h in mod.hubs)
    L = []
    a = L.append
    a('"""%s -- synthetic module (layer %d) of the pytestd benchmark monolith.' % (mod.dotted, mod.layer))
    a("")
    a("Generated by bench/generate_monolith.py (seed %d); do not edit by hand." % seed)
    a('"""')
    a("from __future__ import annotations")
    a("")
    a("import dataclasses")
    a("import enum")
    a("import re")
    a("from typing import Dict, List, Optional, Tuple")
    a("")
    a("from mono.core import %s" % hub_imports)
    for i, dep in enumerate(mod.deps):
        a("from mono.l%d import %s as dep_%d" % (dep.layer, dep.name, i))
    a("")
    a("LAYER = %d" % mod.layer)
    a("MODULE_INDEX = %d" % mod.index)
    a('NAME = "%s"' % mod.dotted)
    a("MUL = %d" % mod.mul)
    a("ADD = %d" % mod.add)
    a("MOD = %d" % mod.mod)
    a("SALT = 0x%04X" % mod.salt)
    a("TABLE_ROUNDS = %d" % rounds)
    a("DEPENDENCIES = (%s)" % "".join("dep_%d, " % i for i in range(len(mod.deps))))
    a("")
    limits = {w: rng.randrange(1, 1000) for w in rng.sample(WORDS, 6)}
    a("LIMITS: Dict[str, int] = {")
    for k in sorted(limits):
        a('    "%s": %d,' % (k, limits[k]))
    a("}")
    a("ALIASES = (%s)" % ", ".join('"%s_%s"' % (mod.word, w) for w in rng.sample(WORDS, 5)))
    a("")
    a("TABLE = hub_00.build_table(TABLE_ROUNDS, SALT)")
    a("CHECKSUM = hub_00.fold(TABLE)")
    a("")
    templates = list(PATTERN_TEMPLATES)
    a("PATTERNS = tuple(")
    a("    re.compile(p)")
    a("    for p in (")
    for i, (tpl, _) in enumerate(templates):
        pattern = tpl.format(p=mod.prefix, w=mod.word, i=i)
        assert '"' not in pattern and not pattern.endswith("\\")
        a('        r"%s",' % pattern)
    a("    )")
    a(")")
    sample_i = rng.randrange(len(templates))
    a('SAMPLE = "%s"' % templates[sample_i][1].format(p=mod.prefix, w=mod.word, i=mod.index))
    a("SAMPLE_PATTERN = %d" % sample_i)
    a("")
    a("")
    a("class Kind(enum.Enum):")
    for i, w in enumerate(rng.sample(WORDS, 5)):
        a('    %s = "%s"' % (w.upper(), w))
    a("")
    a("")
    a("@dataclasses.dataclass(frozen=True)")
    a("class Record:")
    a("    key: str")
    a("    value: int")
    a("    kind: Optional[Kind] = None")
    a("    tags: Tuple[str, ...] = ()")
    a("")
    a("    def weight(self) -> int:")
    a("        return (self.value * MUL + len(self.tags)) % MOD")
    a("")
    a("    def with_tag(self, tag: str) -> Record:")
    a("        return dataclasses.replace(self, tags=self.tags + (tag,))")
    a("")
    a("")
    a("@dataclasses.dataclass")
    a("class Batch:")
    a("    records: List[Record] = dataclasses.field(default_factory=list)")
    a("    limit: int = %d" % rng.randrange(10, 500))
    a("")
    a("    def add(self, record: Record) -> bool:")
    a("        if len(self.records) >= self.limit:")
    a("            return False")
    a("        self.records.append(record)")
    a("        return True")
    a("")
    a("    def total(self) -> int:")
    a("        return sum(r.weight() for r in self.records) % MOD")
    a("")
    a("")
    a("class Settings(hub_00.Model):")
    a('    name: str = "%s"' % mod.name)
    a("    retries: int = %d" % rng.randint(1, 9))
    a("    ratio: float = %r" % round(rng.random(), 3))
    a("    enabled: bool = %r" % (rng.random() < 0.8))
    a("    tags: List[str] = []")
    a("    limits: Dict[str, int] = {}")
    a("")
    a("")
    a("def transform(x: int) -> int:")
    a("    return (x * MUL + ADD) % MOD")
    a("")
    a("")
    a("def classify(text: str) -> Optional[int]:")
    a("    for i, pattern in enumerate(PATTERNS):")
    a("        if pattern.search(text):")
    a("            return i")
    a("    return None")
    a("")
    a("")
    a("def lookup(i: int) -> int:")
    a("    return TABLE[i %% %d]" % TABLE_SIZE)
    a("")
    a("")
    mixins = "".join("hub_%02d.Mixin%02d, " % (h, h) for h in mod.hubs if h != 0)
    a("class Service(%shub_00.ServiceBase):" % mixins)
    a('    kind = "%s"' % mod.word)
    a("")
    a("    def __init__(self, settings: Optional[Settings] = None) -> None:")
    a("        super().__init__(NAME)")
    a("        self.settings = settings or Settings()")
    a("        self.batch = Batch()")
    a("")
    a("    def handle(self, x: int) -> int:")
    a("        self.record()")
    a("        total = transform(x)")
    a("        for dep in DEPENDENCIES:")
    a("            total += dep.transform(x)")
    a("        return total % MOD")
    a("")
    a("    def ingest(self, key: str, value: int) -> Record:")
    a("        record = Record(key=key, value=value)")
    a("        if not self.batch.add(record):")
    a("            self.batch = Batch(records=[record])")
    a("        return record")
    a("")
    a("    def score(self, x: int) -> int:")
    a("        s = lookup(x) ^ hub_00.mix(x)")
    for h in mod.hubs:
        if h != 0:
            a("        s ^= self.hub%02d_score(x)" % h)
    a("        return s")
    a("")
    a("    def budget(self, name: str) -> int:")
    a("        limit = LIMITS.get(name)")
    a("        if limit is None:")
    a("            return self.settings.retries")
    a("        if not self.settings.enabled:")
    a("            return 0")
    a("        return int(limit * self.settings.ratio) + 1")
    a("")
    a("")
    # Filler functions with some branching, loops, comprehensions.
    for k in range(rng.randint(4, 7)):
        c1, c2, c3 = rng.randrange(2, 97), rng.randrange(2, 97), rng.randrange(1, 13)
        a("def %s_step_%d(values: List[int], threshold: int = %d) -> Dict[str, int]:" % (mod.word, k, c1))
        a('    """Helper %d of %s."""' % (k, mod.dotted))
        a("    out: Dict[str, int] = {}")
        a("    for i, v in enumerate(values):")
        a("        if v > threshold:")
        a('            out["hi_%%d" %% i] = (v * %d) %% MOD' % c2)
        a("        elif v %% %d == 0:" % c3)
        a('            out["mod_%d" % i] = lookup(v)')
        a("        else:")
        a('            out.setdefault("rest", 0)')
        a('            out["rest"] += v')
        a("    return {k: v for k, v in sorted(out.items()) if v >= 0}")
        a("")
        a("")
    a("REGISTRATION = hub_00.register(NAME, transform)")
    return "\n".join(L) + "\n" + BENCH_VALUE


def app_source(plan_layers):
    top = plan_layers[-1]
    L = [
        '"""mono.app -- imports the top layer and so, transitively, the whole monolith."""',
        "from __future__ import annotations",
        "",
        "from typing import Dict",
        "",
        "from mono.core import hub_00",
    ]
    for mod in top:
        L.append("from mono.l%d import %s" % (mod.layer, mod.name))
    L += [
        "",
        "TOP = (",
    ]
    for mod in top:
        L.append("    %s," % mod.name)
    L += [
        ")",
        "",
        "",
        "def all_modules() -> Dict[str, object]:",
        "    import sys",
        "",
        '    return {name: sys.modules[name] for name in sorted(hub_00.REGISTRY)}',
        "",
        "",
        "def build_app() -> Dict[str, object]:",
        "    return {mod.NAME: mod.Service() for mod in TOP}",
        "",
    ]
    return "\n".join(L) + "\n"


CONFTEST = '''\
"""Root conftest of the synthetic monolith: it imports the universe.

Generated by bench/generate_monolith.py; do not edit by hand.
"""
import sqlite3

%(third_party)s
import pytest

import mono.app  # transitively imports every module of the monolith
from mono.core import hub_00

EXPECTED_MODULES = %(modules)d


@pytest.fixture(scope="session")
def db():
    """An in-memory database filled from every registered module."""
    conn = sqlite3.connect(":memory:")
    conn.execute("CREATE TABLE modules (name TEXT PRIMARY KEY, layer INTEGER, checksum INTEGER)")
    conn.execute("CREATE TABLE facts (module TEXT, x INTEGER, y INTEGER)")
    mods = mono.app.all_modules()
    conn.executemany(
        "INSERT INTO modules VALUES (?, ?, ?)",
        [(name, m.LAYER, m.CHECKSUM) for name, m in mods.items()],
    )
    conn.executemany(
        "INSERT INTO facts VALUES (?, ?, ?)",
        [(name, x, m.transform(x)) for name, m in mods.items() for x in range(20)],
    )
    conn.execute("CREATE INDEX facts_module ON facts (module)")
    conn.commit()
    yield conn
    conn.close()


@pytest.fixture
def app():
    return mono.app.build_app()


@pytest.fixture
def frame():
    """A small pandas frame describing the top layer."""
    rows = [(m.NAME, m.LAYER, m.CHECKSUM) for m in mono.app.TOP]
    return pandas.DataFrame(rows, columns=["name", "layer", "checksum"])
'''


TEST_REAL = '''\
"""Realistic tests: fixtures, parametrize, several layers of the monolith."""
import dataclasses
import re

import numpy
import pydantic
import pytest
import sympy

import mono.app
from mono.core import hub_00
from %(bottom_pkg)s import %(bottom)s as bottom
from %(top_pkg)s import %(top)s as top

EXPECTED_MODULES = %(modules)d
%(on_disk)s


def test_registry_complete():
    assert len(hub_00.REGISTRY) == EXPECTED_MODULES


def test_all_modules_importable():
    mods = mono.app.all_modules()
    assert len(mods) == EXPECTED_MODULES
    assert {m.LAYER for m in mods.values()} == set(range(%(layers)d))


@pytest.mark.parametrize("x,expected", %(top_cases)r)
def test_top_transform(x, expected):
    assert top.transform(x) == expected


@pytest.mark.parametrize("x,expected", %(top_handle)r)
def test_top_handle(x, expected):
    assert top.Service().handle(x) == expected


@pytest.mark.parametrize("x,expected", %(bottom_cases)r)
def test_bottom_transform(x, expected):
    assert bottom.transform(x) == expected


def test_db_modules(db):
    (count,) = db.execute("SELECT COUNT(*) FROM modules").fetchone()
    assert count == EXPECTED_MODULES


def test_db_layers(db):
    rows = db.execute("SELECT layer, COUNT(*) FROM modules GROUP BY layer ORDER BY layer").fetchall()
    assert [layer for layer, _ in rows] == list(range(%(layers)d))
    assert sum(n for _, n in rows) == EXPECTED_MODULES


def test_db_facts_match_code(db):
    rows = db.execute("SELECT x, y FROM facts WHERE module = ? ORDER BY x", (top.NAME,)).fetchall()
    assert rows == [(x, top.transform(x)) for x in range(20)]


def test_app_services(app):
    assert len(app) == len(mono.app.TOP)
    assert all(s.describe().endswith(name) for name, s in app.items())


def test_frame(frame):
    assert len(frame) == len(mono.app.TOP)
    assert set(frame["layer"]) == {%(top_layer)d}


def test_record_roundtrip():
    rec = top.Record(key="k", value=3).with_tag("a")
    assert dataclasses.asdict(rec)["tags"] == ("a",)
    assert rec.weight() == (3 * top.MUL + 1) %% top.MOD


def test_batch_limit():
    svc = top.Service()
    for i in range(top.Batch().limit + 1):
        svc.ingest("k%%d" %% i, i)
    assert len(svc.batch.records) == 1


def test_settings_validation():
    with pytest.raises(pydantic.ValidationError):
        top.Settings(retries="many")
    with pytest.raises(pydantic.ValidationError):
        top.Settings(unknown=1)


def test_classify_sample():
    assert top.classify(top.SAMPLE) is not None


def test_numpy_tables():
    arr = numpy.array(top.TABLE, dtype=numpy.uint64)
    assert arr.shape == (%(table_size)d,)
    assert int(arr.sum()) == sum(top.TABLE)


def test_top_runs_the_code_on_disk():
    """bench f and h edit `top`: a run served from older code fails here."""
    assert top.bench_value() == bench_value_on_disk(top)


def test_sympy_formula():
    x = sympy.Symbol("x")
    expr = sympy.Mod(x * top.MUL + top.ADD, top.MOD)
    assert int(expr.subs(x, 12)) == top.transform(12)
'''


TEST_LAYER = '''\
"""Fast tests for a slice of layer %(layer)d of the monolith."""
import pytest

from mono.l%(layer)d import %(imports)s

MODULES = [%(mods)s]

TRANSFORM_CASES = %(transform_cases)s

HANDLE_CASES = %(handle_cases)s


@pytest.mark.parametrize("mod,x,expected", TRANSFORM_CASES)
def test_transform(mod, x, expected):
    assert mod.transform(x) == expected


@pytest.mark.parametrize("mod,x,expected", HANDLE_CASES)
def test_handle(mod, x, expected):
    assert mod.Service().handle(x) == expected


@pytest.mark.parametrize("mod", MODULES)
def test_table(mod):
    assert len(mod.TABLE) == %(table_size)d
    assert mod.CHECKSUM == mod.hub_00.fold(mod.TABLE)


@pytest.mark.parametrize("mod", MODULES)
def test_settings(mod):
    s = mod.Settings()
    assert s.retries >= 1 and s.name == mod.NAME.rsplit(".", 1)[1]


@pytest.mark.parametrize("mod", MODULES)
def test_classify(mod):
    assert mod.classify(mod.SAMPLE) == mod.SAMPLE_PATTERN
'''


def pyproject(name, deps):
    return (
        "[project]\n"
        'name = "%s"\n'
        'version = "0.0.0"\n'
        'requires-python = ">=3.8"\n'
        "dependencies = [%s]\n"
        "\n"
        "[tool.pytest.ini_options]\n"
        'testpaths = ["tests"]\n'
        'pythonpath = ["."]\n'
    ) % (name, ", ".join('"%s"' % d for d in deps))


TEST_TRIVIAL = "def test_trivial():\n    assert True\n"
# bench g and i edit hub_05; already imported by the conftest, so still a trivial test.
TEST_TRIVIAL_MONOLITH = '''import re

from mono.core import hub_05
%s

def test_trivial():
    assert hub_05.bench_value() == bench_value_on_disk(hub_05)
''' % ON_DISK


def transitive_importers(plan_layers, hubs):
    """Number of layered modules whose import closure contains each hub."""
    closure = {}
    for layer_mods in plan_layers:
        for mod in layer_mods:
            s = set(mod.hubs)
            for dep in mod.deps:
                s |= closure[dep.index]
            closure[mod.index] = s
    counts = []
    for h in range(hubs):
        # hub_k imports hub_{k-1}, so a module importing hub_j reaches all hubs <= j
        counts.append(sum(1 for s in closure.values() if max(s) >= h))
    return counts


def start_output(outdir, marker):
    """Check OUTDIR may be (re)written; return a fresh staging dir next to it.

    The project is written to the staging dir and moved into place by
    finish_output(), so an interrupted run never leaves a half-written project.
    """
    outdir = os.path.abspath(outdir)
    if os.path.isdir(outdir) and os.listdir(outdir) and not os.path.exists(os.path.join(outdir, marker)):
        sys.exit("refusing to overwrite non-empty %s (no %s in it)" % (outdir, marker))
    staging = outdir + ".partial"
    if os.path.exists(staging):
        shutil.rmtree(staging)
    os.makedirs(staging)
    return staging


def finish_output(staging, outdir):
    outdir = os.path.abspath(outdir)
    if os.path.exists(outdir):
        shutil.rmtree(outdir)
    os.rename(staging, outdir)


# The reload patch the monolith needs, as a real project with such a registry would have it:
# hub_00.register refuses a name twice, so a module executed again gives up its name first.
RELOAD_PATCH = '''"""pytestd reload patch for the monolith's registry (hub_00.register refuses duplicates)."""
import sys

import pytestd


@pytestd.before_reload("mono.*")
def unregister(module):
    hub = sys.modules.get("mono.core.hub_00")
    name = getattr(module, "NAME", None)
    if hub is not None and isinstance(name, str):
        hub.REGISTRY.pop(name, None)
'''


def generate(outdir, modules=DEFAULT_MODULES, seed=DEFAULT_SEED, import_cost=DEFAULT_IMPORT_COST,
             layers=DEFAULT_LAYERS, hubs=DEFAULT_HUBS, test_files_per_layer=DEFAULT_TEST_FILES_PER_LAYER):
    if modules < layers:
        raise ValueError("need at least one module per layer")
    if layers < 2 or hubs < 1:
        raise ValueError("need at least 2 layers and 1 hub")
    rounds = max(0, (import_cost * 1000 + TABLE_SIZE - 1) // TABLE_SIZE)
    final, outdir = outdir, start_output(outdir, MANIFEST)
    plan_layers = plan(modules, seed, layers, hubs)
    mono = os.path.join(outdir, "mono")
    write(os.path.join(mono, "__init__.py"), '"""Synthetic monolith for the pytestd benchmark."""\n')
    write(os.path.join(mono, "core", "__init__.py"), "")
    for h in range(hubs):
        write(os.path.join(mono, "core", "hub_%02d.py" % h), hub_source(h, hubs, rounds))
    for layer_mods in plan_layers:
        for mod in layer_mods:
            write(os.path.join(mono, "l%d" % mod.layer, mod.name + ".py"), module_source(mod, rounds, seed))
    for layer in range(layers):
        write(os.path.join(mono, "l%d" % layer, "__init__.py"), "")
    write(os.path.join(mono, "app.py"), app_source(plan_layers))

    third_party = "\n".join(
        ("import %s" % m) if "." in m else ("import %s  # noqa: F401" % m) for m in THIRD_PARTY_IMPORTS
    )
    write(os.path.join(outdir, "conftest.py"), CONFTEST % {"third_party": third_party, "modules": modules})
    write(os.path.join(outdir, "pyproject.toml"), pyproject("mono", ["pytest"] + THIRD_PARTY_DISTRIBUTIONS))
    write(os.path.join(outdir, "pytestd_patches", "registry.py"), RELOAD_PATCH)

    tests = os.path.join(outdir, "tests")
    write(os.path.join(tests, "test_trivial.py"), TEST_TRIVIAL_MONOLITH)
    trng = random.Random("pytestd-monolith-tests:%d" % seed)
    top, bottom = plan_layers[-1][-1], plan_layers[0][0]
    xs = [0, 1, 7, 12345, 10 ** 9 + 7]
    write(os.path.join(tests, "test_real.py"), TEST_REAL % {
        "bottom_pkg": "mono.l%d" % bottom.layer, "bottom": bottom.name,
        "top_pkg": "mono.l%d" % top.layer, "top": top.name,
        "modules": modules, "layers": layers, "top_layer": top.layer, "table_size": TABLE_SIZE,
        "on_disk": ON_DISK,
        "top_cases": [(x, top.transform(x)) for x in xs],
        "top_handle": [(x, top.handle(x)) for x in xs[:3]],
        "bottom_cases": [(x, bottom.transform(x)) for x in xs[:3]],
    })
    n_tests = 1 + REAL_TESTS
    for layer, layer_mods in enumerate(plan_layers):
        for part in range(test_files_per_layer):
            chosen = sorted(trng.sample(layer_mods, min(MODULES_PER_TEST_FILE, len(layer_mods))),
                            key=lambda m: m.index)
            tcases, hcases = [], []
            for m in chosen:
                for x in trng.sample(range(1, 10 ** 6), 2):
                    tcases.append("    (%s, %d, %d)," % (m.name, x, m.transform(x)))
                x = trng.randrange(1, 10 ** 6)
                hcases.append("    (%s, %d, %d)," % (m.name, x, m.handle(x)))
            names = [m.name for m in chosen]
            write(os.path.join(tests, "test_l%d_%d.py" % (layer, part)), TEST_LAYER % {
                "layer": layer,
                "imports": ", ".join(names),
                "mods": ", ".join(names),
                "transform_cases": "[\n%s\n]" % "\n".join(tcases),
                "handle_cases": "[\n%s\n]" % "\n".join(hcases),
                "table_size": TABLE_SIZE,
            })
            n_tests += len(tcases) + len(hcases) + 3 * len(chosen)

    counts = transitive_importers(plan_layers, hubs)
    manifest = {
        "generator_version": GENERATOR_VERSION,
        "modules": modules,
        "seed": seed,
        "import_cost": import_cost,
        "table_rounds": rounds,
        "layers": layers,
        "hubs": hubs,
        "test_files_per_layer": test_files_per_layer,
        "modules_per_layer": [len(m) for m in plan_layers],
        "hub_transitive_importers": {"mono.core.hub_%02d" % h: c for h, c in enumerate(counts)},
        "tests": n_tests,
        "third_party_imports": THIRD_PARTY_IMPORTS,
    }
    with open(os.path.join(outdir, MANIFEST), "w", encoding="utf-8") as f:
        json.dump(manifest, f, indent=2, sort_keys=True)
        f.write("\n")
    finish_output(outdir, final)
    return manifest


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("outdir")
    p.add_argument("--modules", type=int, default=DEFAULT_MODULES,
                   help="number of layered modules (default %(default)s)")
    p.add_argument("--seed", type=int, default=DEFAULT_SEED, help="random seed (default %(default)s)")
    p.add_argument("--import-cost", type=int, default=DEFAULT_IMPORT_COST,
                   help="import-time work per module, in thousands of table-building loop steps "
                        "(default %(default)s: ~2.3 ms/module on the 2-core reference machine, "
                        "on top of ~3.5 ms/module for the declarations; 0 = declarations only)")
    p.add_argument("--layers", type=int, default=DEFAULT_LAYERS, help="default %(default)s")
    p.add_argument("--hubs", type=int, default=DEFAULT_HUBS, help="default %(default)s")
    p.add_argument("--test-files-per-layer", type=int, default=DEFAULT_TEST_FILES_PER_LAYER,
                   help="default %(default)s")
    args = p.parse_args(argv)
    manifest = generate(args.outdir, args.modules, args.seed, args.import_cost, args.layers, args.hubs,
                        args.test_files_per_layer)
    print("wrote %s: %d modules, %d tests, hub importers %s" % (
        args.outdir, manifest["modules"], manifest["tests"],
        sorted(manifest["hub_transitive_importers"].values(), reverse=True)))


if __name__ == "__main__":
    main()
