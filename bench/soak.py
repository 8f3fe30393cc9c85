#!/usr/bin/env python3
"""Soak: many runs and edits in a row against one manager; does anything grow, is anything wrong?

Generates a project (bench/out/soak: modules with a constant and a function, tests that assert the
values the last edit wrote) and a plain copy, then makes --runs runs through the shim with --edits
edits spread among them (a constant at the top level, or a function body, alternately). Every run
checks its own outcome: the expected values travel in the run's environment, so a run served from
older code fails. Every --sample-th run is also made with plain pytest on the copy (same edits) and
must give the same exit code and summary. The manager's and template's resident memory and
descriptors (`pytestd status --json`) are sampled once the first runs are done and at the end, with
the manager settled; the growth is printed. Not in CI.

    bench/soak.py [--runs 1000] [--edits 300] [--sample 10] [--python PATH]
"""

import argparse
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
OUT = os.path.join(HERE, "out")
BIN = os.path.join(ROOT, ".build", "release")
MODULES = 12

PYPROJECT = '[tool.pytest.ini_options]\npythonpath = ["src"]\n'


def module_source(i, constant, body):
    return (f"from soak import base\n\nVALUE = {constant}\n\n\n"
            f"def value():\n    return base.OFFSET + {body}\n")


def test_source(i):
    return (f"import os\nimport m{i}\n\n\n"
            f"def test_constant():\n    assert m{i}.VALUE == int(os.environ['EXPECT_VALUE'])\n\n\n"
            f"def test_function():\n    assert m{i}.value() == int(os.environ['EXPECT_BODY'])\n\n\n"
            f"def test_fails_for_multiples_of_seven():\n    assert m{i}.VALUE % 7 != 0\n")


def generate(directory):
    shutil.rmtree(directory, ignore_errors=True)
    os.makedirs(os.path.join(directory, "src", "soak"))
    os.makedirs(os.path.join(directory, "tests"))
    write(directory, "pyproject.toml", PYPROJECT)
    write(directory, "src/soak/__init__.py", "")
    write(directory, "src/soak/base.py", "OFFSET = 0\n")
    write(directory, "conftest.py", "".join(f"import m{i}  # noqa: F401\n" for i in range(MODULES)))
    for i in range(MODULES):
        write(directory, f"src/m{i}.py", module_source(i, 1, 1))
        write(directory, f"tests/test_m{i}.py", test_source(i))


def write(directory, relative, text):
    with open(os.path.join(directory, relative), "w") as f:
        f.write(text)


def environment(python, runtime):
    venv = os.path.dirname(os.path.dirname(python))
    return {"PATH": f"{venv}/bin:/usr/bin:/bin", "VIRTUAL_ENV": venv, "HOME": os.environ.get("HOME", "/root"),
            "LANG": "C.UTF-8", "PYTESTD_RUNTIME_DIR": runtime, "PYTESTD_WAIT": "1"}


def summary(text):
    lines = [line for line in text.splitlines() if line.strip()]
    return re.sub(r" in [\d.]+s.*$", "", lines[-1]) if lines else ""


def status(project, env):
    r = subprocess.run([os.path.join(BIN, "pytestd"), "status", "--json"], cwd=project, env=env,
                       capture_output=True, text=True, timeout=30)
    return json.loads(r.stdout)


def settled(project, env, timeout=120):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        d = status(project, env)
        if d["state"] == "ready" and not d.get("runs_in_flight") and "warming_host_pid" not in d \
                and "reloading_host_pid" not in d:
            return d
        time.sleep(0.2)
    raise SystemExit(f"the manager never settled: {status(project, env)}")


def sample(document):
    m = document["memory"]
    return {"manager RSS MiB": m["manager_kib"] / 1024, "template RSS MiB": m["template_kib"] / 1024,
            "all processes PSS MiB": m["total_proportional_kib"] / 1024,
            "manager fds": document["open_descriptors"],
            "manager threads": len(os.listdir(f"/proc/{document['pid']}/task"))}


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=1000)
    parser.add_argument("--edits", type=int, default=300)
    parser.add_argument("--sample", type=int, default=10, help="compare every Nth run with plain pytest")
    parser.add_argument("--python", default=os.path.join(ROOT, ".build", "test-venvs", "py3.11.7", "bin", "python"))
    args = parser.parse_args()
    if not os.path.exists(os.path.join(BIN, "pytest")):
        sys.exit("build first: make build")
    project, plain_project = os.path.join(OUT, "soak"), os.path.join(OUT, "soak-plain")
    runtime = os.path.join(OUT, "soak-runtime")
    os.makedirs(runtime, mode=0o700, exist_ok=True)
    env = environment(args.python, runtime)
    subprocess.run([os.path.join(BIN, "pytestd"), "stop"], cwd=project, env=env, capture_output=True) \
        if os.path.isdir(project) else None
    generate(project)
    generate(plain_project)
    venv_bin = os.path.dirname(args.python)

    state = {i: [1, 1] for i in range(MODULES)}  # module -> [constant, body]
    edit_every = max(1, args.runs // max(1, args.edits))
    edits = wrong = compared = 0
    latencies, start = [], None
    for n in range(args.runs):
        i = n % MODULES
        if n % edit_every == 0 and edits < args.edits:
            target = (n // edit_every) % MODULES
            state[target][edits % 2] += 1  # a top-level constant, then a function body
            for directory in (project, plain_project):
                write(directory, f"src/m{target}.py", module_source(target, *state[target]))
            edits += 1
            i = target
        run_env = dict(env, EXPECT_VALUE=str(state[i][0]), EXPECT_BODY=str(state[i][1]))
        expected_rc = 1 if state[i][0] % 7 == 0 else 0
        started = time.perf_counter()
        r = subprocess.run([os.path.join(BIN, "pytest"), "-q", f"tests/test_m{i}.py"], cwd=project, env=run_env,
                           capture_output=True, text=True, timeout=120)
        latencies.append(time.perf_counter() - started)
        want = "1 failed, 2 passed" if expected_rc else "3 passed"
        if r.returncode != expected_rc or summary(r.stdout) != want:
            wrong += 1
            print(f"WRONG run {n} (m{i}, {state[i]}): exit {r.returncode}, {summary(r.stdout)!r}\n{r.stderr}")
        if n % args.sample == 0:
            p = subprocess.run([os.path.join(venv_bin, "pytest"), "-q", "-p", "no:cacheprovider", f"tests/test_m{i}.py"],
                               cwd=plain_project, env=dict(run_env, PYTESTD_DISABLE="1"), capture_output=True,
                               text=True, timeout=120)
            compared += 1
            if (p.returncode, summary(p.stdout)) != (r.returncode, summary(r.stdout)):
                wrong += 1
                print(f"DIFFERS from plain pytest, run {n}: {p.returncode} {summary(p.stdout)!r} vs "
                      f"{r.returncode} {summary(r.stdout)!r}")
        if n == min(20, args.runs - 1):
            start = sample(settled(project, env))
    end_document = settled(project, env)
    end = sample(end_document)
    print(f"{args.runs} runs, {edits} edits, {compared} compared with plain pytest, {wrong} wrong")
    print(f"run latency median {statistics.median(latencies) * 1000:.0f} ms "
          f"(p90 {sorted(latencies)[int(len(latencies) * 0.9)] * 1000:.0f} ms, edits included)")
    print(f"reloads {end_document['reloads']}, fallbacks {end_document['fallbacks'] or 'none'}")
    print(f"{'':24} {'start':>8} {'end':>8} {'growth':>8}")
    for key in start:
        print(f"{key:24} {start[key]:8.1f} {end[key]:8.1f} {end[key] - start[key]:+8.1f}")
    subprocess.run([os.path.join(BIN, "pytestd"), "stop"], cwd=project, env=env, capture_output=True, timeout=60)
    return 1 if wrong else 0


if __name__ == "__main__":
    sys.exit(main())
