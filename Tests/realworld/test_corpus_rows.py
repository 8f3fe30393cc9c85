"""The corpus's reading of the recorder's rows (pure logic, no installs): a run's tests are exactly those of
its own session, whatever the warm-up or sessions nested in its tests (pytester) recorded around them."""
from __future__ import annotations

import json
import random

import pytest

from corpus import outcome_of, read_rows

RUN_ARGS = ["-q", "tests"]


def test_outcome_words():
    assert outcome_of([("setup", "passed", False), ("call", "passed", False), ("teardown", "passed", False)]) == "passed"
    assert outcome_of([("setup", "passed", False), ("call", "passed", True), ("teardown", "passed", False)]) == "xpassed"
    assert outcome_of([("setup", "passed", False), ("call", "skipped", True), ("teardown", "passed", False)]) == "xfailed"
    assert outcome_of([("setup", "skipped", False), ("teardown", "passed", False)]) == "skipped"
    assert outcome_of([("setup", "failed", False), ("teardown", "passed", False)]) == "error in setup"
    assert outcome_of([("setup", "passed", False), ("call", "failed", False), ("teardown", "failed", False)]) \
        == "failed+error in teardown"
    assert outcome_of([("collect", "failed", False)]) == "error in collect"


def _session(pid, args, tests, rng, nest_depth=0):
    """Rows of one session: its tests, each maybe with a nested inline session of other args."""
    rows = [[pid, "session", args]]
    for name, outcome in tests:
        rows.append([pid, "test", name, "setup", "passed", False])
        if nest_depth < 2 and rng.random() < 0.3:
            inner = [(f"inner_{name}_{i}.py::t", rng.choice(["passed", "failed"])) for i in range(rng.randrange(3))]
            rows += _session(pid, ["-p", "pytester", f"--basetemp={name}"], inner, rng, nest_depth + 1)
        rows.append([pid, "test", name, "call", outcome, False])
        rows.append([pid, "test", name, "teardown", "passed", False])
        if rng.random() < 0.2:
            rows.append([pid, "warning", "runtest", name, "UserWarning", f"from {name} at 0x7f00deadbeef"])
    rows.append([pid, "exit", 0])
    return rows


@pytest.mark.parametrize("seed", range(50))
def test_only_the_runs_own_session_counts(seed, tmp_path):
    rng = random.Random(seed)
    tests = [(f"tests/test_{i}.py::test_{i}", rng.choice(["passed", "failed"])) for i in range(rng.randrange(1, 12))]
    run = _session(4242, RUN_ARGS, tests, rng)
    # The warm-up (another pid, other args) may write before, during and after the run.
    warmup = _session(17, ["--collect-only", "-q"], [(n + "_warm", "passed") for n, _ in tests], rng)
    rows, a, b = [], list(run), list(warmup)
    while a or b:
        src = a if (a and (not b or rng.random() < 0.5)) else b
        rows.append(src.pop(0))
    path = tmp_path / "rows.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))

    got_tests, got_warnings = read_rows(path, RUN_ARGS, tmp_path)

    assert got_tests == dict(tests)
    expected_warnings = sorted(("UserWarning", f"from {r[3]} at 0xADDR") for r in run
                               if r[1] == "warning" and any(r[3] == n for n, _ in tests))
    assert got_warnings == expected_warnings
