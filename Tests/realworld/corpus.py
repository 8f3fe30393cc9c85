"""One corpus project end to end: a venv with the pinned packages, two copies of the project's own sdist
(one served by pytestd, one by plain pytest, same path length), the runs, and their per-test outcomes."""
from __future__ import annotations

import itertools
import json
import os
import shutil
import statistics
import tarfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import harness as H

from projects import Project

RECORDER = Path(__file__).with_name("recorder.py")
INSTALL_TIMEOUT = 900


@dataclass
class Run:
    """One pytest invocation: exit code, summary line, and what the recorder plugin saw."""
    via: str
    args: list
    result: H.Result
    tests: dict = field(default_factory=dict)     # node id -> "passed" / "failed" / "skipped" / ...
    warnings: list = field(default_factory=list)  # sorted (category, message) of the run's warnings
    served_warm: bool | None = None               # pytestd only: did the manager's run counter move

    @property
    def rc(self) -> int:
        return self.result.rc

    @property
    def summary(self) -> str:
        return H.summary_line(self.result.out)


def outcome_of(phases: list) -> str:
    """pytest's own words for one test, from its (when, outcome, wasxfail) reports."""
    words = []
    for when, outcome, wasxfail in phases:
        if outcome == "passed":
            if when == "call":
                words.append("xpassed" if wasxfail else "passed")
        elif outcome == "skipped":
            words.append("xfailed" if wasxfail else "skipped")
        elif when == "call":
            words.append("failed")
        else:
            words.append(f"error in {when}")
    return "+".join(words) or "no call"


def read_rows(path: Path, args: list, root: Path):
    """(tests, warnings) of the session(s) whose invocation had exactly `args`: not the daemon's warm-up,
    nor sessions nested in a test of the same process (pytester's inline runs)."""
    if not path.exists():
        return {}, []
    args = [str(a) for a in args]
    sessions = {}  # pid -> stack of the args of its open sessions
    phases, warnings = {}, []
    for line in path.read_text().splitlines():
        if not line.strip():
            continue
        pid, kind, *row = json.loads(line)
        stack = sessions.setdefault(pid, [])
        if kind == "session":
            stack.append(row[0])
            continue
        mine = bool(stack) and stack[-1] == args
        if kind == "exit":
            if stack:
                stack.pop()
        elif not mine:
            continue
        elif kind == "test":
            phases.setdefault(row[0], []).append(tuple(row[1:]))
        elif kind == "collect":
            phases.setdefault(row[0], []).append(("collect", row[1], False))
        elif kind == "warning":
            warnings.append((row[2], H.normalise(row[3], root)))
    return {nodeid: outcome_of(p) for nodeid, p in phases.items()}, sorted(warnings)


class CorpusProject:
    """A spec made real under `base`: `p/<name>` for plain pytest, `d/<name>` for pytestd."""

    def __init__(self, spec: Project, base: Path, bin_dir: Path, runtime_dir: Path):
        self.spec = spec
        self.base = base
        self.bin_dir = bin_dir
        self.runtime_dir = runtime_dir
        self.venv = base / "venv"
        self.roots = {"plain": base / "p" / spec.name, "pytestd": base / "d" / spec.name}
        self.outcome_files = itertools.count()
        self.install_seconds = 0.0

    # ------------------------------------------------------------------------------------ install

    def install(self):
        start = time.monotonic()
        self.base.mkdir(parents=True)
        python = H.PYENV_VERSIONS / self.spec.python / "bin" / "python"
        self._check([python, "-m", "venv", self.venv], 300)
        pip = [self.venv / "bin" / "python", "-m", "pip", "--disable-pip-version-check", "-q"]
        self._check([*pip, "install", *self.spec.requirements], INSTALL_TIMEOUT)
        self._install_recorder()
        # The project's own tests come from its sdist (the wheel has none).
        sdist_dir = self.base / "sdist"
        self._check([*pip, "download", "--no-deps", "--no-binary", self.spec.sdist.split("==")[0],
                     "-d", sdist_dir, self.spec.sdist], INSTALL_TIMEOUT)
        (archive,) = sdist_dir.iterdir()
        with tarfile.open(archive) as tar:
            tar.extractall(sdist_dir, filter="data")
        (tree,) = [p for p in sdist_dir.iterdir() if p.is_dir()]
        for root in self.roots.values():
            root.parent.mkdir(parents=True)
            shutil.copytree(tree, root, symlinks=True)
        if self.spec.pytestd_settings:
            with open(self.roots["pytestd"] / "pyproject.toml", "a") as f:
                f.write("\n" + self.spec.pytestd_settings)
        self.install_seconds = time.monotonic() - start

    def _install_recorder(self):
        """The recorder as a pytest11 entry point, written straight into site-packages (no build step)."""
        out = self._check([self.venv / "bin" / "python", "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"], 60)
        site = Path(out.out.strip())
        shutil.copy(RECORDER, site / "pytestd_rw_recorder.py")
        dist = site / "pytestd_rw_recorder-0.dist-info"
        dist.mkdir()
        (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: pytestd-rw-recorder\nVersion: 0\n")
        (dist / "entry_points.txt").write_text("[pytest11]\npytestd_rw_recorder = pytestd_rw_recorder\n")

    def _check(self, cmd, timeout) -> H.Result:
        r = H.run_command(cmd, self.base, self.env(), timeout=timeout)
        assert r.rc == 0, r.describe()
        return r

    # ---------------------------------------------------------------------------------------- runs

    def env(self, extra=None) -> dict:
        env = {
            "PATH": f"{self.venv}/bin:/usr/local/bin:/usr/bin:/bin",
            "VIRTUAL_ENV": str(self.venv),
            "HOME": os.environ.get("HOME", "/root"),
            "LANG": "C.UTF-8",
            "LC_ALL": "C.UTF-8",
            "TERM": "xterm-256color",
            "PYTESTD_RUNTIME_DIR": str(self.runtime_dir),
            # The cold-start comparison is of a run served by a template that just warmed.
            "PYTESTD_WAIT": "1",
        }
        env.update(self.spec.env)
        env.update(extra or {})
        return env

    def args(self, selection: list) -> list:
        return [*self.spec.options, *selection, *(f"--deselect={d}" for d in self.spec.deselect)]

    def pytest(self, via: str, selection: list, timeout=None) -> Run:
        args = self.args(selection)
        root = self.roots[via]
        out_file = self.base / "outcomes" / f"{next(self.outcome_files)}.jsonl"
        out_file.parent.mkdir(exist_ok=True)
        exe = self.venv / "bin" / "pytest" if via == "plain" else self.bin_dir / "pytest"
        before = self.runs_served() if via == "pytestd" else None
        result = H.run_command([exe, *args], root, self.env({"PYTESTD_RW_OUTCOMES": str(out_file)}),
                               timeout=timeout or self.spec.timeout)
        tests, warnings = read_rows(out_file, args, root)
        run = Run(via, args, result, tests, warnings)
        if via == "pytestd":
            run.served_warm = self.runs_served() == (before or 0) + 1
        return run

    def cli(self, *args) -> H.Result:
        return H.run_command([self.bin_dir / "pytestd", *args], self.roots["pytestd"], self.env(), timeout=120)

    def runs_served(self) -> int:
        r = self.cli("status")
        return int(H.parse_status(r.out).get("runs", "0")) if r.rc == 0 else 0

    def stop(self):
        self.cli("stop")

    def timed(self, via: str, selection: list, times: int) -> tuple[float, list]:
        runs = [self.pytest(via, selection) for _ in range(times)]
        return statistics.median(r.result.duration for r in runs), runs


def clean_bytecode(root: Path):
    for cache in root.rglob("__pycache__"):
        shutil.rmtree(cache, ignore_errors=True)


def compare(plain: Run, daemon: Run) -> list:
    """Every difference between two runs of the same command, as readable lines (empty: identical)."""
    problems = []
    if daemon.rc != plain.rc:
        problems.append(f"exit code: pytestd {daemon.rc}, plain {plain.rc}")
    if daemon.served_warm is False:
        problems.append("pytestd did not serve the run warm (the manager's run counter did not move)")
    if not plain.tests:
        problems.append("plain pytest recorded no test at all")
    only_plain = sorted(set(plain.tests) - set(daemon.tests))
    only_daemon = sorted(set(daemon.tests) - set(plain.tests))
    changed = sorted(n for n in set(plain.tests) & set(daemon.tests) if plain.tests[n] != daemon.tests[n])
    if only_plain:
        problems.append(f"{len(only_plain)} tests only in plain, e.g. " + ", ".join(only_plain[:5]))
    if only_daemon:
        problems.append(f"{len(only_daemon)} tests only in pytestd, e.g. " + ", ".join(only_daemon[:5]))
    for n in changed[:10]:
        problems.append(f"{n}: pytestd {daemon.tests[n]}, plain {plain.tests[n]}")
    if len(changed) > 10:
        problems.append(f"... {len(changed) - 10} more tests with another outcome")
    if daemon.warnings != plain.warnings:
        lost = [w for w in plain.warnings if w not in daemon.warnings]
        extra = [w for w in daemon.warnings if w not in plain.warnings]
        problems.append(f"warnings differ: {len(plain.warnings)} plain vs {len(daemon.warnings)} pytestd; "
                        f"only plain: {lost[:3]}; only pytestd: {extra[:3]}")
    if daemon.summary != plain.summary:
        problems.append(f"summary: pytestd {daemon.summary!r}, plain {plain.summary!r}")
    if problems:
        tail = lambda r: "\n".join(r.result.text.splitlines()[-25:])  # noqa: E731
        problems.append(f"--- plain (last lines) ---\n{tail(plain)}\n--- pytestd (last lines) ---\n{tail(daemon)}")
    return problems


def counts(run: Run) -> dict:
    c = {}
    for outcome in run.tests.values():
        c[outcome] = c.get(outcome, 0) + 1
    return c
