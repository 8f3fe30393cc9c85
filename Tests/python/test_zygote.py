"""The zygote's rule (pytestd._zygote): which conftests may be executed in a fork of a zygote that
ran another conftest's leading imports. Seeded random conftests built from imports, inert statements
and statements with effects; the strongest check runs each accepted pair for real, twice (fresh, and
as the zygote would), and requires the same import order and namespace."""
import ast
import json
import random
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from pytestd import _zygote

# Project modules: each records its execution, so the order of imports is observable.
MODULES = {f"m{i}": f"import trace_log\ntrace_log.ORDER.append(__name__)\n" for i in range(6)}
MODULES["m5"] += "import m4\n"
MODULES["trace_log"] = "ORDER = []\n"

IMPORTS = [
    "import m0", "import m1", "import m2 as two", "import m3",
    "from m4 import trace_log", "import m5", "import os", "import pytest", "from pytest import fixture",
    "try:\n    import m1\nexcept ImportError:\n    m1 = None",
    "try:\n    import not_there\nexcept (ImportError, ModuleNotFoundError):\n    not_there = None",
]
INERT = [
    '"""A docstring."""', "LIMIT = 3", "NAMES = ('a', 'b')", "CONFIG: dict = {'x': 1}", "pass",
    "def helper(x=1, *, y='z'):\n    return m0.ORDER",
    "@pytest.fixture\ndef value():\n    return 1",
    "@pytest.fixture(scope='session', autouse=False)\ndef db():\n    yield 1",
    "@fixture\ndef other() -> int:\n    return 2",
    "@pytest.mark.slow\ndef test_thing():\n    pass",
]
EFFECTS = [
    "trace_log.ORDER.append('conftest')",
    "import sys\nsys.path.insert(0, 'nowhere')",
    "__import__('m0')",
    "X = __import__('m2')",
    "class Recorder:\n    import m1",
    "def f(x=__import__('m3')):\n    pass",
    "@print\ndef g():\n    pass",
    "if True:\n    import m4",
    "for _ in ():\n    pass",
    "@pytest.fixture(params=sorted([2, 1]))\ndef p(request):\n    return request.param",
]


def _conftest(rng: random.Random, length: int, effects: float) -> str:
    statements = ["import trace_log"]
    for _ in range(length):
        roll = rng.random()
        pool = EFFECTS if roll < effects else IMPORTS if roll < 0.55 else INERT
        statements.append(rng.choice(pool))
    return "\n".join(statements) + "\n"


def _split(source: str):
    return ast.parse(source).body


def test_a_conftest_fits_the_zygote_made_from_it():
    rng = random.Random(1)
    for _ in range(400):
        source = _conftest(rng, rng.randint(0, 12), 0.15)
        prefix = _zygote.import_prefix(source.encode())
        if prefix is None:
            continue
        assert _zygote.fits([ast.dump(s) for s in prefix], source.encode()) is None, source


def test_the_prefix_is_every_import_up_to_the_last_when_nothing_before_it_has_effects():
    rng = random.Random(2)
    for _ in range(400):
        source = _conftest(rng, rng.randint(0, 12), 0.15)
        body = _split(source)
        is_import = [_zygote._is_import(s) for s in body]
        last = max(i for i, flag in enumerate(is_import) if flag)
        bound, has_effects = set(), False
        for statement, flag in zip(body[:last], is_import):
            if flag:
                bound |= _zygote._pytest_names([statement])
            elif not _zygote._is_inert(statement, bound):
                has_effects = True
        prefix = _zygote.import_prefix(source.encode())
        if has_effects:
            assert prefix is None, source
        else:
            assert [ast.dump(s) for s in prefix] == [ast.dump(s) for i, s in enumerate(body[:last + 1]) if is_import[i]]


@pytest.mark.parametrize("statement", EFFECTS)
def test_each_statement_with_effects_before_an_import_refuses_a_zygote(statement):
    source = f"import trace_log\n{statement}\nimport m0\n"
    assert _zygote.import_prefix(source.encode()) is None
    assert _zygote.fits([ast.dump(s) for s in _split("import trace_log\nimport m0\n")], source.encode()) is not None


@pytest.mark.parametrize("statement", INERT)
def test_each_inert_statement_before_an_import_keeps_the_zygote(statement):
    source = f"import pytest\nfrom pytest import fixture\n{statement}\nimport m0\n"
    assert _zygote.import_prefix(source.encode()) is not None, source


def test_edits_that_keep_or_break_the_fit():
    old = "import pytest\nimport m0\nimport m1\nLIMIT = 1\n"
    prefix = [ast.dump(s) for s in _zygote.import_prefix(old.encode())]
    keeps = [
        old.replace("LIMIT = 1", "LIMIT = 2"),
        old + "import m2\n",
        old + "import sys\nsys.path.insert(0, 'x')\n",
        old.replace("import pytest\n", "import pytest\n\n@pytest.fixture\ndef v():\n    return 1\n"),
        "# a comment\n" + old,
    ]
    breaks = [
        old.replace("import m1\n", ""),
        old.replace("import m0\nimport m1\n", "import m1\nimport m0\n"),
        old.replace("import m0\n", "import m0\nimport m2\n"),
        old.replace("import m1\n", "trace_log = 1\nprint(trace_log)\nimport m1\n"),
        "import m9\n" + old,
        "def broken(:\n",
    ]
    for source in keeps:
        assert _zygote.fits(prefix, source.encode()) is None, source
    for source in breaks:
        assert _zygote.fits(prefix, source.encode()) is not None, source


RUNNER = textwrap.dedent("""
    import ast, json, sys
    sys.path.insert(0, sys.argv[1])
    from pytestd import _zygote
    old, new, mode = open(sys.argv[2], "rb").read(), open(sys.argv[3], "rb").read(), sys.argv[4]
    import trace_log
    if mode == "zygote":
        prefix = _zygote.import_prefix(old)
        exec(compile(ast.Module(body=prefix, type_ignores=[]), "conftest.py", "exec"), {"__name__": "conftest"})
    namespace = {"__name__": "conftest"}
    try:
        exec(compile(new, "conftest.py", "exec"), namespace)
        error = None
    except Exception as exc:
        error = type(exc).__name__
    names = {k: type(v).__name__ for k, v in namespace.items() if not k.startswith("__")}
    print(json.dumps({"order": trace_log.ORDER, "names": names, "error": error,
                      "modules": sorted(m for m in sys.modules if m[:1] == "m" and m[1:].isdigit())}))
""")


def test_an_accepted_edit_executes_exactly_as_in_a_fresh_process(tmp_path):
    """The claim itself: for each (old, new) pair the rule accepts, executing the new conftest after
    the old one's prefix gives the import order and namespace a fresh execution gives."""
    for name, text in MODULES.items():
        (tmp_path / f"{name}.py").write_text(text)
    runner = tmp_path / "runner.py"
    runner.write_text(RUNNER)
    package = str(Path(_zygote.__file__).parent.parent)
    rng = random.Random(3)
    accepted = 0
    for case in range(150):
        old = _conftest(rng, rng.randint(0, 8), 0.1)
        prefix = _zygote.import_prefix(old.encode())
        if prefix is None:
            continue
        # The new conftest: the old one edited at random (statements added, removed or swapped).
        statements = [ast.get_source_segment(old, s) for s in _split(old)]
        for _ in range(rng.randint(1, 3)):
            at = rng.randint(0, len(statements))
            roll = rng.random()
            if roll < 0.4:
                statements.insert(at, rng.choice(EFFECTS + INERT + IMPORTS))
            elif roll < 0.7 and statements:
                statements.pop(min(at, len(statements) - 1))
            elif len(statements) > 1:
                i = min(at, len(statements) - 2)
                statements[i], statements[i + 1] = statements[i + 1], statements[i]
        new = "\n".join(statements) + "\n"
        if _zygote.fits([ast.dump(s) for s in prefix], new.encode()) is not None:
            continue
        accepted += 1
        (tmp_path / "old.py").write_text(old)
        (tmp_path / "new.py").write_text(new)
        results = [
            json.loads(subprocess.run(
                [sys.executable, str(runner), str(tmp_path), str(tmp_path / "old.py"), str(tmp_path / "new.py"), mode],
                capture_output=True, text=True, check=True, env={"PYTHONPATH": package}).stdout.splitlines()[-1])
            for mode in ("fresh", "zygote")
        ]
        assert results[0] == results[1], f"case {case}\n--- old\n{old}--- new\n{new}"
    assert accepted >= 30, accepted
