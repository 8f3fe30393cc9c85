"""Real projects' own test suites through pytestd and through plain pytest: the same tests with the same
outcomes, warnings, summary and exit code, right after a cold start and warm, and a single file faster.

One test per project (select with PYTESTD_REALWORLD=click,attrs or -k). Every difference is collected
before the test fails, so one run shows all of them; timings go to $PYTESTD_RW_RESULTS (JSON lines).
"""
from __future__ import annotations

import json
import os
import time

import pytest

from conftest import selected_projects
from corpus import CorpusProject, clean_bytecode, compare, counts
from projects import PROJECTS

TIMED_RUNS = int(os.environ.get("PYTESTD_RW_TIMED_RUNS", "5"))
# Run plain pytest twice to find flaky tests (development aid: deselect what differs, with a reason).
CHECK_FLAKY = os.environ.get("PYTESTD_RW_FLAKY") == "1"


@pytest.mark.parametrize("name", selected_projects())
def test_project(name, workdir, bin_dir, capsys):
    spec = PROJECTS[name]
    proj = CorpusProject(spec, workdir / name, bin_dir, workdir / "rt")
    proj.install()
    problems, record = [], {"project": name, "sdist": spec.sdist, "install_s": round(proj.install_seconds, 1)}
    finished = False
    try:
        plain = proj.pytest("plain", list(spec.suite))
        record["suite_plain_s"] = round(plain.result.duration, 1)
        record["plain"] = {"rc": plain.rc, "tests": len(plain.tests), **counts(plain)}
        if CHECK_FLAKY:
            again = proj.pytest("plain", list(spec.suite))
            problems += [f"plain vs plain: {p}" for p in compare(plain, again)[:-1]]

        # Cold: the first run starts the manager, waits for its warm-up, and is served from it.
        clean_bytecode(proj.roots["pytestd"])
        cold = proj.pytest("pytestd", list(spec.suite))
        record["suite_cold_s"] = round(cold.result.duration, 1)
        differences = compare(plain, cold)
        record["cold_same"] = not differences
        problems += [f"cold: {p}" for p in differences]
        warm = proj.pytest("pytestd", list(spec.suite))
        record["suite_warm_s"] = round(warm.result.duration, 1)
        differences = compare(plain, warm)
        record["warm_same"] = not differences
        problems += [f"warm: {p}" for p in differences]

        # One file, timed: median of warm runs on each side (the plain side is warm too: OS caches, pycs).
        # Not when the warm run already differs: the speed of a wrong answer means nothing.
        if record["warm_same"]:
            single = [spec.single_file]
            proj.pytest("plain", single)
            plain_median, plain_runs = proj.timed("plain", single, TIMED_RUNS)
            daemon_median, daemon_runs = proj.timed("pytestd", single, TIMED_RUNS)
            problems += [f"single file: {p}" for p in compare(plain_runs[0], daemon_runs[-1])]
            record.update(single_plain_ms=round(plain_median * 1000), single_pytestd_ms=round(daemon_median * 1000),
                          single_ratio=round(plain_median / daemon_median, 1))
            if daemon_median >= plain_median:
                problems.append(f"single file: pytestd is not faster (median {daemon_median * 1000:.0f} ms, "
                                f"plain {plain_median * 1000:.0f} ms)")
        finished = True
    finally:
        proj.stop()
        record["ok"] = finished and not problems
        _save(record)
        with capsys.disabled():
            print(f"\n[realworld] {json.dumps(record)}")
    assert not problems, f"{name}: pytestd differs from plain pytest:\n" + "\n".join(problems)


def _save(record):
    path = os.environ.get("PYTESTD_RW_RESULTS")
    if path:
        with open(path, "a") as f:
            f.write(json.dumps({**record, "at": time.strftime("%Y-%m-%dT%H:%M:%S")}) + "\n")
