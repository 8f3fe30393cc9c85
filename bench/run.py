#!/usr/bin/env python3
"""Benchmark plain pytest against pytestd on the same machine, in the same run.

Usage:
    run.py [--quick] [--runs N] [--warmup N] [--cases a,b,c,d] [--plain-only] ...

What it does (see bench/README.md):

1. creates (or reuses) a CPython 3.11 venv in bench/out/venv with the pinned
   packages of bench/requirements.txt;
2. generates (or reuses) the synthetic monolith and the empty project under
   bench/out/;
3. for each case, runs plain ``<venv>/bin/pytest`` and the pytestd shim
   ``<repo>/.build/release/pytest`` with the same argv, cwd and environment,
   interleaved, after untimed warm-up runs; checks that both give the same
   exit code and the same summary line ("1 passed");
4. prints a table (median, p10..p90, plain/pytestd ratio) and writes
   bench/out/results.json;
5. stops the benchmark's daemons (``pytestd stop`` in each project).

Only the standard library is used; any CPython >= 3.8 can run this script.
"""

import argparse
import datetime
import glob
import hashlib
import json
import os
import platform
import re
import shutil
import subprocess
import sys
import tarfile
import time

BENCH_DIR = os.path.dirname(os.path.abspath(__file__))
REPO_DIR = os.path.dirname(BENCH_DIR)
sys.path.insert(0, BENCH_DIR)

import generate_empty  # noqa: E402
import generate_monolith  # noqa: E402

REQUIREMENTS = os.path.join(BENCH_DIR, "requirements.txt")
SYMPY_REQUIREMENTS = os.path.join(BENCH_DIR, "requirements-sympy.txt")
# A large real codebase: sympy's own sdist (1,532 modules, 612 test files) and its test suite.
SYMPY_SDIST = "sympy==1.14.0"
SYMPY_FILE = "sympy/core/tests/test_basic.py"
# Warming the whole tree (every test path) takes minutes on 2 cores, and its collection creates
# `.hypothesis/` in the project, which adds a warning to every later run: the bench warms what it runs.
SYMPY_SETTINGS = '\n[tool.pytestd]\npreload = ["%s"]\n' % SYMPY_FILE
PYTEST_ARGS = ["-q", "-p", "no:randomly"]
RUN_TIMEOUT = 900  # seconds, per pytest invocation
# Environment variables that would make the two sides (or this machine's runs
# and another's) differ; removed from the environment of every run.
SCRUBBED_ENV = (
    "PYTEST_ADDOPTS", "PYTEST_PLUGINS", "PYTEST_DISABLE_PLUGIN_AUTOLOAD", "PYTHONPATH", "PYTHONHOME",
    "PYTHONDONTWRITEBYTECODE", "PYTHONSTARTUP", "PYTHONPYCACHEPREFIX", "PYTHONWARNINGS",
    "PYTHONDEVMODE", "PYTHONPROFILEIMPORTTIME", "PYTHONTRACEMALLOC", "PYTHONBREAKPOINT",
    "PYENV_VERSION", "CONDA_PREFIX",
)

# name -> (project, pytest arguments after PYTEST_ARGS, description)
CASES = {
    "a": ("monolith", ["tests/test_trivial.py"], "monolith: trivial test"),
    "b": ("empty", ["tests/test_trivial.py"], "empty project: trivial test"),
    "c": ("monolith", ["tests/test_real.py"], "monolith: tests/test_real.py"),
    "d": ("monolith", [], "monolith: full suite"),
    # Edit, then run at once: the time from the save to the run's exit (hot reload). f and g edit a
    # function body (patched in place), h and i a module-level constant (the module runs again; an importer
    # only if it read the constant at import time).
    # Each edit changes the value the tests assert, so a run served from older code fails the case.
    "f": ("monolith", ["tests/test_real.py", "-k", "top"], "monolith: edit a leaf's function body, run its tests"),
    "g": ("monolith", ["tests/test_trivial.py"], "monolith: edit a hub's function body (1,026 importers), run a test"),
    "h": ("monolith", ["tests/test_real.py", "-k", "top"], "monolith: edit a leaf's top level, run its tests"),
    "i": ("monolith", ["tests/test_trivial.py"], "monolith: edit a hub's top level (1,026 importers), run a test"),
    # No fresh template: the run must not wait longer than plain pytest takes (it runs plain pytest
    # when that is sooner). j: no daemon runs yet; k: the root conftest was just edited (a clean host).
    "j": ("monolith", ["tests/test_real.py"], "monolith: first run, no daemon yet: tests/test_real.py"),
    "k": ("monolith", ["tests/test_real.py"], "monolith: edit the root conftest's top level, run tests/test_real.py"),
    "l": ("sympy", [SYMPY_FILE], "sympy 1.14: first run, no daemon yet: core/tests/test_basic.py"),
    "m": ("sympy", [SYMPY_FILE], "sympy 1.14: warm run of core/tests/test_basic.py"),
    # A conftest edit that leaves the template as it is (a fixture's body): served without a clean host.
    "n": ("monolith", ["tests/test_real.py"], "monolith: edit a fixture in the root conftest, run tests/test_real.py"),
}

# Cases served the default way: plain pytest when it is sooner than any template. The others measure
# the warm path and reloads, so their runs wait for the template (PYTESTD_WAIT=1).
NO_FRESH_TEMPLATE = ("j", "k", "l")
# Cases that start every pytestd run with no daemon running.
FIRST_RUN = ("j", "l")

# The file each edit case changes (relative to the project, or "top": the module tests/test_real.py
# imports as `top`), and what it edits (see Editor).
EDITED = {
    "f": ("top", "body"),
    "g": ("mono/core/hub_05.py", "body"),
    "h": ("top", "top level"),
    "i": ("mono/core/hub_05.py", "top level"),
}

SUMMARY_RE = re.compile(
    r"^=*\s*(?P<summary>(?:\d+ \w+|no tests ran)(?:, \d+ \w+)*) in (?P<secs>[0-9.]+)s(?: \([0-9:]+\))?\s*=*$"
)


class BenchError(Exception):
    pass


def log(msg=""):
    print(msg, file=sys.stderr, flush=True)


# ---------------------------------------------------------------------------
# Environment: interpreter, venv, projects
# ---------------------------------------------------------------------------

def version_key(path):
    m = re.search(r"/versions/(\d+)\.(\d+)\.(\d+)/", path)
    return tuple(int(x) for x in m.groups()) if m else (0, 0, 0)


def find_python(requested):
    """A real CPython 3.11 interpreter (never a pyenv shim: shims cost ~140 ms)."""
    if requested:
        return requested
    roots = []
    if os.environ.get("PYENV_ROOT"):
        roots.append(os.environ["PYENV_ROOT"])
    roots.append(os.path.expanduser("~/.pyenv"))
    for root in roots:
        found = sorted(glob.glob(os.path.join(root, "versions", "3.11.*", "bin", "python3.11")), key=version_key)
        if found:
            return found[-1]
    exe = shutil.which("python3.11")
    if exe and "/shims/" not in exe:
        return exe
    raise BenchError("no CPython 3.11 found (looked in $PYENV_ROOT/versions/3.11.*); pass --python PATH")


def sha256_file(path):
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


def read_json(path):
    try:
        with open(path, encoding="utf-8") as f:
            return json.load(f)
    except (OSError, ValueError):
        return None


def write_json(path, data):
    tmp = path + ".tmp"
    with open(tmp, "w", encoding="utf-8") as f:
        json.dump(data, f, indent=2, sort_keys=True)
        f.write("\n")
    os.replace(tmp, path)


def ensure_venv(out, python, name="venv", requirements=REQUIREMENTS):
    venv = os.path.join(out, name)
    stamp_path = os.path.join(out, name + ".stamp.json")
    stamp = {
        "python": os.path.realpath(python),
        "requirements_sha256": sha256_file(requirements),
    }
    if read_json(stamp_path) == stamp and os.path.exists(os.path.join(venv, "bin", "pytest")):
        log("venv: reusing %s" % venv)
        return venv
    log("venv: creating %s with %s" % (venv, python))
    t0 = time.monotonic()
    if os.path.exists(stamp_path):
        os.remove(stamp_path)
    if os.path.exists(venv):
        shutil.rmtree(venv)
    subprocess.run([python, "-m", "venv", venv], check=True)
    subprocess.run(
        [os.path.join(venv, "bin", "python"), "-m", "pip", "install", "--quiet", "--disable-pip-version-check",
         "--only-binary", ":all:", "-r", requirements],
        check=True,
    )
    write_json(stamp_path, stamp)
    log("venv: ready in %.0f s" % (time.monotonic() - t0))
    return venv


def ensure_project(out, name, generator, params):
    """Generate project NAME under OUT unless an identical one is there."""
    path = os.path.join(out, name)
    stamp_path = path + ".stamp.json"
    stamp = {"generator_sha256": sha256_file(generator.__file__.replace(".pyc", ".py")),
             "monolith_sha256": sha256_file(generate_monolith.__file__.replace(".pyc", ".py")),
             "params": params}
    if read_json(stamp_path) == stamp and os.path.isdir(path):
        log("%s: reusing %s" % (name, path))
        return path
    log("%s: generating %s %s" % (name, path, params))
    if os.path.exists(stamp_path):
        os.remove(stamp_path)
    generator.generate(path, **params)
    write_json(stamp_path, stamp)
    return path


def ensure_sympy(out, venv):
    """sympy's sdist, unpacked as the project (its own pyproject.toml configures pytest)."""
    path = os.path.join(out, "sympy")
    stamp_path = path + ".stamp.json"
    stamp = {"sdist": SYMPY_SDIST, "settings": SYMPY_SETTINGS}
    if read_json(stamp_path) == stamp and os.path.isdir(path):
        log("sympy: reusing %s" % path)
        return path
    log("sympy: downloading the %s sdist" % SYMPY_SDIST)
    download = os.path.join(out, "sympy-sdist")
    shutil.rmtree(download, ignore_errors=True)
    subprocess.run([os.path.join(venv, "bin", "python"), "-m", "pip", "download", "--quiet", "--disable-pip-version-check",
                    "--no-deps", "--no-binary", ":all:", "-d", download, SYMPY_SDIST], check=True)
    (archive,) = os.listdir(download)
    with tarfile.open(os.path.join(download, archive)) as tar:
        if hasattr(tarfile, "data_filter"):
            tar.extractall(download, filter="data")
        else:
            tar.extractall(download)
    (tree,) = [d for d in os.listdir(download) if os.path.isdir(os.path.join(download, d))]
    if os.path.exists(stamp_path):
        os.remove(stamp_path)
    shutil.rmtree(path, ignore_errors=True)
    shutil.move(os.path.join(download, tree), path)
    shutil.rmtree(download)
    with open(os.path.join(path, "pyproject.toml"), "a", encoding="utf-8") as f:
        f.write(SYMPY_SETTINGS)
    write_json(stamp_path, stamp)
    return path


def ensure_copy(path):
    """A copy of the project at PATH for plain pytest: its edits must not start reloads in the
    daemon serving PATH."""
    copy = path + "-plain"
    stamp = read_json(path + ".stamp.json")
    if read_json(copy + ".stamp.json") == stamp and os.path.isdir(copy):
        return copy
    if os.path.exists(copy):
        shutil.rmtree(copy)
    shutil.copytree(path, copy, ignore=shutil.ignore_patterns("__pycache__", ".pytest_cache"))
    write_json(copy + ".stamp.json", stamp)
    return copy


def run_env(venv, runtime_dir):
    env = {k: v for k, v in os.environ.items() if k not in SCRUBBED_ENV}
    env["VIRTUAL_ENV"] = venv
    env["PATH"] = os.path.join(venv, "bin") + os.pathsep + os.environ.get("PATH", "")
    env["PYTESTD_RUNTIME_DIR"] = runtime_dir
    # The shim then reports the run child's own lifetime on stderr; wall minus that is pytestd's overhead.
    env["PYTESTD_TIMING"] = "1"
    return env


# ---------------------------------------------------------------------------
# Measuring
# ---------------------------------------------------------------------------

def parse_summary(output):
    """(summary without duration, pytest-reported seconds) of the last summary line."""
    for line in reversed(output.splitlines()):
        m = SUMMARY_RE.match(line.strip())
        if m:
            return m.group("summary"), float(m.group("secs"))
    return None, None


CHILD_TIME_RE = re.compile(r"^pytestd: run child (\d+) µs$", re.M)


def child_seconds(output):
    m = CHILD_TIME_RE.search(output)
    return int(m.group(1)) / 1e6 if m else None


def timed_run(argv, cwd, env):
    t0 = time.perf_counter()
    try:
        proc = subprocess.run(argv, cwd=cwd, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT, timeout=RUN_TIMEOUT)
    except subprocess.TimeoutExpired as e:
        out = (e.output or b"").decode("utf-8", "replace")
        return {"wall": time.perf_counter() - t0, "rc": None, "summary": None, "reported": None,
                "output": out + "\n[timed out after %d s]" % RUN_TIMEOUT}
    wall = time.perf_counter() - t0
    out = proc.stdout.decode("utf-8", "replace")
    summary, reported = parse_summary(out)
    return {"wall": wall, "rc": proc.returncode, "summary": summary, "reported": reported,
            "child": child_seconds(out), "output": out}


def quantile(sorted_xs, q):
    if not sorted_xs:
        return None
    pos = (len(sorted_xs) - 1) * q
    lo = int(pos)
    hi = min(lo + 1, len(sorted_xs) - 1)
    return sorted_xs[lo] + (sorted_xs[hi] - sorted_xs[lo]) * (pos - lo)


def stats(samples):
    xs = sorted(samples)
    if not xs:
        return None
    return {
        "n": len(xs),
        "median": quantile(xs, 0.5),
        "p10": quantile(xs, 0.1),
        "p90": quantile(xs, 0.9),
        "min": xs[0],
        "max": xs[-1],
        "mean": sum(xs) / len(xs),
    }


def fmt_time(s):
    if s is None:
        return "-"
    if s >= 1:
        return "%.2f s" % s
    return "%.1f ms" % (s * 1000)


def tail(text, n=25):
    lines = text.rstrip().splitlines()
    return "\n".join(("    | " + l) for l in lines[-n:])


class Mismatch(BenchError):
    pass


class Fallback(BenchError):
    pass


# The one line the shim prints on stderr when the daemon cannot serve a run.
FALLBACK_RE = re.compile(r"^pytestd: .*running plain pytest\s*$", re.M)


def check(case, side, result, reference):
    """Raise Mismatch unless RESULT agrees with the reference plain run."""
    problems = []
    if side == "pytestd" and case not in NO_FRESH_TEMPLATE:
        m = FALLBACK_RE.search(result["output"])
        if m:
            raise Fallback("case %s: the pytestd shim did not serve the run but fell back to plain pytest, so "
                           "there is nothing to compare:\n    %s" % (case, m.group(0)))
    if result["rc"] != reference["rc"]:
        problems.append("exit code %r, plain pytest gave %r" % (result["rc"], reference["rc"]))
    if result["summary"] != reference["summary"]:
        problems.append("summary %r, plain pytest gave %r" % (result["summary"], reference["summary"]))
    if problems:
        raise Mismatch("case %s, %s: %s\n  %s output:\n%s\n  plain pytest output:\n%s" % (
            case, side, "; ".join(problems), side, tail(result["output"]), tail(reference["output"])))


def measure_case(key, project_dirs, argv_tail, desc, sides, env, runs, warmup_plain, warmup_pytestd,
                 edits=None, settle=lambda: None):
    """Interleaved runs of each side, each in its own project directory; returns the case's result
    dict. ``edits[side]`` runs right before every run of that side (the edit cases: the time measured
    is from the save to the run's exit), ``settle`` (untimed) before every pytestd edit."""
    argv = PYTEST_ARGS + argv_tail
    edits = edits or {side: (lambda: None) for side in sides}
    project_dir = project_dirs["pytestd" if "pytestd" in sides else "plain"]
    log("")
    log("[%s] %s: pytest %s  (cwd %s)" % (key, desc, " ".join(argv), project_dir))
    samples = {side: [] for side in sides}
    reported = {side: [] for side in sides}
    children = {side: [] for side in sides}
    # Warm-up runs (untimed): plain pytest compiles .pyc files on the first run
    # in a fresh project; the first pytestd call starts the daemon.
    edits["plain"]()
    reference = timed_run([sides["plain"]] + argv, project_dirs["plain"], env)
    if reference["summary"] is None or reference["rc"] not in (0, 1):
        raise BenchError("case %s: plain pytest did not produce a pytest summary (exit %r):\n%s" % (
            key, reference["rc"], tail(reference["output"])))
    log("  reference (plain, untimed): exit %d, %s, %s" % (reference["rc"], reference["summary"],
                                                          fmt_time(reference["wall"])))
    for _ in range(max(0, warmup_plain - 1)):
        edits["plain"]()
        check(key, "plain", timed_run([sides["plain"]] + argv, project_dirs["plain"], env), reference)
    if "pytestd" in sides:
        for i in range(warmup_pytestd):
            settle()
            edits["pytestd"]()
            r = timed_run([sides["pytestd"]] + argv, project_dirs["pytestd"], env)
            log("  warm-up pytestd %d (untimed): %s" % (i + 1, fmt_time(r["wall"])))
            check(key, "pytestd", r, reference)
    order = list(sides)
    for i in range(runs):
        line = []
        # Alternate which side goes first to cancel out drift and order effects.
        for side in (order if i % 2 == 0 else order[::-1]):
            if side == "pytestd":
                settle()
            t0 = time.perf_counter()
            edits[side]()
            r = timed_run([sides[side]] + argv, project_dirs[side], env)
            r["wall"] = time.perf_counter() - t0  # from the save to the exit
            check(key, side, r, reference)
            samples[side].append(r["wall"])
            reported[side].append(r["reported"])
            children[side].append(r.get("child"))
            line.append("%s %s" % (side, fmt_time(r["wall"])))
        log("  run %d/%d: %s" % (i + 1, runs, ", ".join(sorted(line))))
    result = {
        "description": desc,
        "project": os.path.basename(project_dir),
        "cwd": project_dir,
        "argv": argv,
        "exit_code": reference["rc"],
        "summary": reference["summary"],
    }
    for side in sides:
        result[side] = dict(stats(samples[side]), samples=samples[side], pytest_reported_seconds=reported[side],
                            run_child_seconds=children[side])
    if "pytestd" in sides:
        result["ratio"] = result["plain"]["median"] / result["pytestd"]["median"]
    return result


class ConftestEditor:
    """Saves the root conftest with a new number each time: at its top level (``BENCH_EDIT = k`` at the
    end: pytestd needs a clean host), or in the body of the ``db`` fixture (which runs in no warm-up:
    the template stays as it is)."""

    FIXTURE = '    """An in-memory database filled from every registered module."""\n'

    def __init__(self, project_dir, kind):
        self.path = os.path.join(project_dir, "conftest.py")
        self.original = open(self.path, encoding="utf-8").read()
        self.kind = kind
        if kind == "fixture body" and self.original.count(self.FIXTURE) != 1:
            raise BenchError("%s: expected the db fixture's docstring once (regenerate the monolith)" % self.path)
        self.count = 0

    def edit(self):
        self.count += 1
        if self.kind == "top level":
            text = self.original + "BENCH_EDIT = %d\n" % self.count
        else:
            text = self.original.replace(self.FIXTURE, self.FIXTURE + "    bench_edit = %d  # noqa: F841\n" % self.count)
        with open(self.path, "w", encoding="utf-8") as f:
            f.write(text)

    def restore(self):
        with open(self.path, "w", encoding="utf-8") as f:
            f.write(self.original)


class Editor:
    """Saves a module the way an editor does, a new value each time, and restores it afterwards. The
    value is what the module's ``bench_value()`` returns, and the case's tests assert that it is what
    the source on disk says, so a run served from older code fails the case. A "body" edit changes
    ``return BENCH_VALUE + k`` (a function body: patched in place), a "top level" edit changes
    ``BENCH_VALUE = k`` (the module and all its importers execute again)."""

    PATTERNS = {"body": r"^(    return BENCH_VALUE \+ )\d+$", "top level": r"^(BENCH_VALUE = )\d+$"}

    def __init__(self, project_dir, target, kind):
        if target == "top":  # the module tests/test_real.py imports as `top`: a leaf of the graph
            source = open(os.path.join(project_dir, "tests", "test_real.py"), encoding="utf-8").read()
            package, name = re.search(r"^from (mono\.l\d+) import (m\d+) as top$", source, re.M).groups()
            target = os.path.join(*package.split("."), name + ".py")
        self.path = os.path.join(project_dir, target)
        self.original = open(self.path, encoding="utf-8").read()
        self.pattern = re.compile(self.PATTERNS[kind], re.M)
        if len(self.pattern.findall(self.original)) != 1:
            raise BenchError("%s: expected one line matching %s (regenerate the monolith)" % (self.path, self.pattern.pattern))
        self.count = 0

    def edit(self):
        self.count += 1
        text = self.pattern.sub(lambda m: m.group(1) + str(self.count), self.original)
        with open(self.path, "w", encoding="utf-8") as f:
            f.write(text)

    def restore(self):
        with open(self.path, "w", encoding="utf-8") as f:
            f.write(self.original)


def wait_for_clean_host(pytestd_bin, project_dir, env, timeout=120):
    """Until the project's daemon serves from a clean template: the edit that follows is then the
    only change since (reloads start from the last clean template, with every change since it)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        status = subprocess.run([pytestd_bin, "status"], cwd=project_dir, env=env, stdin=subprocess.DEVNULL,
                                capture_output=True, text=True, timeout=60)
        if status.returncode == 3:  # not running: the run will start a clean one
            return
        status = status.stdout
        if re.search(r"^host generation:.*\(clean(, forked from the zygote)?\)$", status, re.M) and re.search(r"^state: +ready$", status, re.M):
            return
        time.sleep(0.2)
    raise BenchError("no clean pytestd host in %s within %d s" % (project_dir, timeout))


def daemon_status(pytestd_bin, project_dir, env):
    return subprocess.run([pytestd_bin, "status"], cwd=project_dir, env=env, stdin=subprocess.DEVNULL,
                          capture_output=True, text=True, timeout=60).stdout


def template_memory(status):
    """The resident memory `pytestd status` reports for the template that served the case."""
    m = re.search(r"^host memory: +(\d+) MiB resident$", status, re.M)
    return int(m.group(1)) if m else None


def clean_host_seconds(status):
    """The manager's last full warm-up and last clean host forked from the zygote, in seconds."""
    found = {}
    for key, label in (("full", "clean warm-up"), ("forked", "clean host from the zygote")):
        m = re.search(r"^timings: .*\b%s ([0-9.]+) s" % label, status, re.M)
        if m:
            found[key] = float(m.group(1))
    return found


def stop_daemons(pytestd_bin, project_dirs, env):
    for d in project_dirs:
        if not os.path.isdir(d):
            continue
        try:
            subprocess.run([pytestd_bin, "stop"], cwd=d, env=env, stdin=subprocess.DEVNULL,
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=60)
        except (OSError, subprocess.SubprocessError) as e:
            log("warning: `pytestd stop` in %s failed: %s" % (d, e))


def shim_overhead(case_b):
    """pytestd's fixed cost around a run, from the empty-project case.

    The shim reports (PYTESTD_TIMING=1) how long the forked run child lived, fork to exit; wall time
    minus that is everything pytestd adds: shim start, connect, request with fds, dispatch, reply, exit.
    """
    if not case_b or "pytestd" not in case_b:
        return None
    side = case_b["pytestd"]
    overheads = [w - c for w, c in zip(side["samples"], side["run_child_seconds"]) if c is not None]
    return {
        "definition": "median over runs of (shim wall time - run child lifetime), empty project",
        "pytestd_wall_median": side["median"],
        "overhead": stats(overheads) if overheads else None,
    }


def fingerprint(paths):
    """(mtime, size) of each binary, to notice a rebuild during the run."""
    out = {}
    for p in paths:
        try:
            st = os.stat(p)
            out[p] = [st.st_mtime_ns, st.st_size]
        except OSError:
            out[p] = None
    return out


def machine_info(venv):
    info = {
        "hostname": platform.node(),
        "platform": platform.platform(),
        "cpus": os.cpu_count(),
        "loadavg_start": os.getloadavg(),
    }
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            models = [l.split(":", 1)[1].strip() for l in f if l.startswith("model name")]
        info["cpu_model"] = models[0] if models else None
    except OSError:
        pass
    try:
        info["python"] = subprocess.run([os.path.join(venv, "bin", "python"), "-c",
                                         "import sys, pytest; print(sys.version.split()[0], pytest.__version__)"],
                                        stdout=subprocess.PIPE, check=True).stdout.decode().split()
    except (OSError, subprocess.SubprocessError):
        pass
    try:
        info["repo_commit"] = subprocess.run(["git", "-C", REPO_DIR, "rev-parse", "HEAD"], stdout=subprocess.PIPE,
                                             stderr=subprocess.DEVNULL, check=True).stdout.decode().strip()
    except (OSError, subprocess.SubprocessError):
        info["repo_commit"] = None
    return info


def print_table(results, shim):
    rows = [("case", "plain median [p10..p90]", "pytestd median [p10..p90]", "plain/pytestd")]
    for key, r in results.items():
        def cell(side):
            s = r.get(side)
            if not s:
                return "-"
            return "%s [%s..%s]" % (fmt_time(s["median"]), fmt_time(s["p10"]), fmt_time(s["p90"]))
        ratio = "%.1fx" % r["ratio"] if r.get("ratio") else "-"
        rows.append(("%s %s (%s)" % (key, r["description"], r["summary"]), cell("plain"), cell("pytestd"), ratio))
    widths = [max(len(row[i]) for row in rows) for i in range(4)]
    print()
    for j, row in enumerate(rows):
        print("  ".join(row[i].ljust(widths[i]) if i < 3 else row[i].rjust(widths[i]) for i in range(4)))
        if j == 0:
            print("  ".join("-" * w for w in widths))
    memory = ["%s %d MiB" % (key, r["template_memory"]) for key, r in results.items() if r.get("template_memory")]
    if memory:
        print()
        print("template memory (resident, from pytestd status after the case): " + ", ".join(memory))
    clean = results.get("k", {}).get("clean_host_seconds", {})
    if "full" in clean and "forked" in clean:
        print()
        print("k clean host after the conftest edit (pytestd status): forked from the zygote %s, full warm-up %s (%.2f of it)"
              % (fmt_time(clean["forked"]), fmt_time(clean["full"]), clean["forked"] / clean["full"]))
    if shim and shim["overhead"]:
        o = shim["overhead"]
        print()
        print("e pytestd overhead (shim wall time minus run child lifetime, empty project): median %s [%s..%s]"
              % (fmt_time(o["median"]), fmt_time(o["p10"]), fmt_time(o["p90"])))


# ---------------------------------------------------------------------------

def parse_args(argv):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--quick", action="store_true",
                   help="smoke test: %d-module monolith, 3 runs, 1 warm-up" % 300)
    p.add_argument("--runs", type=int, help="timed runs per side and case (default 7, quick 3)")
    p.add_argument("--warmup", type=int,
                   help="untimed pytestd warm-up runs per case, the first starts the daemon (default 2, quick 1)")
    p.add_argument("--cases", default=",".join(CASES), help="comma-separated subset of %s (default all)" % ",".join(CASES))
    p.add_argument("--plain-only", action="store_true", help="measure plain pytest only (no pytestd binaries needed)")
    p.add_argument("--modules", type=int, help="monolith size (default %d, quick 300)"
                   % generate_monolith.DEFAULT_MODULES)
    p.add_argument("--import-cost", type=int, default=generate_monolith.DEFAULT_IMPORT_COST,
                   help="monolith import-time work per module (see generate_monolith.py; default %(default)s)")
    p.add_argument("--seed", type=int, default=generate_monolith.DEFAULT_SEED)
    p.add_argument("--python", help="CPython 3.11 for the venv (default: newest $PYENV_ROOT/versions/3.11.*)")
    p.add_argument("--out", default=os.path.join(BENCH_DIR, "out"), help="work dir (default bench/out)")
    p.add_argument("--build-dir", default=os.path.join(REPO_DIR, ".build", "release"),
                   help="where the pytest shim and pytestd binaries are (default .build/release)")
    p.add_argument("--keep-daemons", action="store_true", help="do not run `pytestd stop` at the end")
    args = p.parse_args(argv)
    args.runs = args.runs if args.runs is not None else (3 if args.quick else 7)
    args.warmup = args.warmup if args.warmup is not None else (1 if args.quick else 2)
    args.modules = args.modules if args.modules is not None else (300 if args.quick else
                                                                   generate_monolith.DEFAULT_MODULES)
    args.cases = [c.strip() for c in args.cases.split(",") if c.strip()]
    bad = [c for c in args.cases if c not in CASES]
    if bad:
        p.error("unknown case(s) %s; choose from %s" % (", ".join(bad), ", ".join(CASES)))
    if args.runs < 1:
        p.error("--runs must be >= 1")
    return args


def main(argv=None):
    args = parse_args(argv)
    shim_bin = os.path.join(args.build_dir, "pytest")
    pytestd_bin = os.path.join(args.build_dir, "pytestd")
    if not args.plain_only:
        missing = [b for b in (shim_bin, pytestd_bin) if not os.access(b, os.X_OK)]
        if missing:
            print("build first: make build  (missing %s)" % ", ".join(missing), file=sys.stderr)
            return 2
    started = time.time()
    out = os.path.abspath(args.out)
    os.makedirs(out, exist_ok=True)
    runtime_dir = os.path.join(out, "runtime")
    os.makedirs(runtime_dir, mode=0o700, exist_ok=True)
    os.chmod(runtime_dir, 0o700)  # pytestd refuses a runtime dir other users can reach
    try:
        python = find_python(args.python)
        venv = ensure_venv(out, python)
        mono_name = "monolith" if args.modules == generate_monolith.DEFAULT_MODULES else "monolith-%d" % args.modules
        projects = {
            "monolith": ensure_project(out, mono_name, generate_monolith, {
                "modules": args.modules, "seed": args.seed, "import_cost": args.import_cost}),
            "empty": ensure_project(out, "empty", generate_empty, {}),
        }
        venvs = {"monolith": venv, "empty": venv}
        if any(CASES[c][0] == "sympy" for c in args.cases):
            venvs["sympy"] = ensure_venv(out, python, "sympy-venv", SYMPY_REQUIREMENTS)
            projects["sympy"] = ensure_sympy(out, venvs["sympy"])
    except (BenchError, subprocess.CalledProcessError) as e:
        print("error: %s" % e, file=sys.stderr)
        return 1
    envs = {name: run_env(venvs[name], runtime_dir) for name in projects}
    sides = {"plain": os.path.join(venv, "bin", "pytest")}
    plain_projects = {name: ensure_copy(path) for name, path in projects.items()}

    def stop_all():
        for name, path in projects.items():
            stop_daemons(pytestd_bin, [path], envs[name])

    if not args.plain_only:
        sides["pytestd"] = shim_bin
        # Daemons left over from an interrupted run may serve stale code.
        stop_all()
    info = machine_info(venv)
    binaries = [] if args.plain_only else [shim_bin, pytestd_bin]
    binaries_before = fingerprint(binaries)
    results = {}
    failure = None
    try:
        for key in args.cases:
            project, argv_tail, desc = CASES[key]
            dirs = {"plain": plain_projects[project], "pytestd": projects[project]}
            case_sides = dict(sides, plain=os.path.join(venvs[project], "bin", "pytest"))
            editors = {side: Editor(dirs[side], *EDITED[key]) for side in sides} if key in EDITED else {}
            if key in ("k", "n"):
                editors = {side: ConftestEditor(dirs[side], "top level" if key == "k" else "fixture body") for side in sides}
            case_env = envs[project] if key in NO_FRESH_TEMPLATE else dict(envs[project], PYTESTD_WAIT="1")
            hooks = {}
            if editors:
                hooks["edits"] = {side: editor.edit for side, editor in editors.items()}
                if "pytestd" in sides:
                    hooks["settle"] = lambda d=projects[project], e=case_env: wait_for_clean_host(pytestd_bin, d, e)
            if key in FIRST_RUN and "pytestd" in sides:
                hooks["settle"] = lambda d=projects[project], e=case_env: stop_daemons(pytestd_bin, [d], e)
            try:
                results[key] = measure_case(key, dirs, argv_tail, desc, case_sides, case_env, args.runs,
                                            warmup_plain=1, warmup_pytestd=args.warmup, **hooks)
                if "pytestd" in sides and key not in FIRST_RUN:
                    status = daemon_status(pytestd_bin, projects[project], case_env)
                    results[key]["template_memory"] = template_memory(status)
                    if key == "k":
                        results[key]["clean_host_seconds"] = clean_host_seconds(status)
            finally:
                for editor in editors.values():
                    editor.restore()
    except BenchError as e:
        failure = e
    except KeyboardInterrupt:
        failure = BenchError("interrupted")
    finally:
        if not args.plain_only and not args.keep_daemons:
            stop_all()
    info["loadavg_end"] = os.getloadavg()
    rebuilt = [p for p in binaries if fingerprint([p]) != {p: binaries_before[p]}]
    shim = shim_overhead(results.get("b"))
    data = {
        "started": datetime.datetime.fromtimestamp(started).isoformat(timespec="seconds"),
        "duration_seconds": round(time.time() - started, 1),
        "machine": info,
        "settings": {"quick": args.quick, "runs": args.runs, "warmup_pytestd": args.warmup, "warmup_plain": 1,
                     "modules": args.modules, "import_cost": args.import_cost, "seed": args.seed,
                     "pytest_args": PYTEST_ARGS, "plain_only": args.plain_only,
                     "plain": sides["plain"], "pytestd": sides.get("pytestd"), "runtime_dir": runtime_dir},
        "monolith_manifest": read_json(os.path.join(projects["monolith"], generate_monolith.MANIFEST)),
        "cases": results,
        "shim_overhead": shim,
        "error": str(failure) if failure else None,
        "binaries_changed_during_run": rebuilt,
    }
    results_path = os.path.join(out, "results.json")
    write_json(results_path, data)
    if results:
        print_table(results, shim)
    print("\nresults: %s (%.0f s)" % (results_path, time.time() - started))
    if rebuilt:
        print("\nWARNING: %s changed during the run (rebuilt?): a rebuilt shim makes the running daemon "
              "restart, so some pytestd samples may include a cold start. Run again." % ", ".join(rebuilt),
              file=sys.stderr)
    if failure:
        bar = "!" * 78
        print("\n%s\nBENCHMARK FAILED: %s\n%s" % (bar, failure, bar), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
