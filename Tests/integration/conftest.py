"""Fixtures of the black-box suite: interpreters (venvs), the binaries under test, an isolated runtime
directory, a project factory, and a runner that executes the same command through pytestd or plain pytest.

Set PYTESTD_IT_FAKE=1 to develop the harness without a build: the "pytestd" side then runs plain pytest
and tests that need the daemon itself are skipped.
"""
from __future__ import annotations

import itertools
import os
import shutil
import subprocess
import tempfile
import textwrap
from pathlib import Path

import pytest

import harness as H

FAKE = os.environ.get("PYTESTD_IT_FAKE") == "1"

# ------------------------------------------------------------------------------------------ venvs


def _venv_works(venv: Path) -> bool:
    py = venv / "bin" / "python"
    if not (py.exists() and (venv / "bin" / "pytest").exists()):
        return False
    r = subprocess.run([str(py), "-c", "import pytest"], capture_output=True, timeout=60)
    return r.returncode == 0


def ensure_venv(version: str) -> Path:
    full = H.PYTHON_VERSIONS[version]
    venv = H.VENV_ROOT / f"py{full}"
    if _venv_works(venv):
        return venv
    base = H.PYENV_VERSIONS / full / "bin" / "python"
    if not base.exists():
        pytest.skip(f"CPython {full} is not installed at {base}")
    shutil.rmtree(venv, ignore_errors=True)
    H.VENV_ROOT.mkdir(parents=True, exist_ok=True)
    subprocess.run([str(base), "-m", "venv", str(venv)], check=True, timeout=300)
    subprocess.run([str(venv / "bin" / "pip"), "install", "-q", "pytest"], check=True, timeout=600)
    assert _venv_works(venv), f"could not build a working venv at {venv}"
    return venv


@pytest.fixture(scope="session")
def venv_for():
    cache = {}

    def get(version="3.11") -> Path:
        if version not in cache:
            cache[version] = ensure_venv(version)
        return cache[version]
    return get


@pytest.fixture(scope="session")
def venv(venv_for) -> Path:
    return venv_for("3.11")


# ------------------------------------------------------------------------------------- binaries


class Bins:
    def __init__(self, bin_dir: Path, fake: bool):
        self.dir = bin_dir
        self.fake = fake
        self.shim = bin_dir / "pytest"
        self.cli = bin_dir / "pytestd"


@pytest.fixture(scope="session")
def bins(workdir) -> Bins:
    b = H.BIN_DIR
    if FAKE:
        return Bins(b, True)
    missing = [p for p in ("pytest", "pytestd", "pytestd-host") if not (b / p).exists()]
    if missing:
        pytest.fail(f"binaries under test are missing from {b}: {', '.join(missing)} (run `make build`, "
                    f"or set PYTESTD_IT_FAKE=1 to exercise the harness against plain pytest)")
    return Bins(_snapshot(b, workdir), False)


def _snapshot(bin_dir: Path, workdir: Path) -> Path:
    """Copy the build into an installed layout (bin/ + python/) so a rebuild during the session cannot
    swap binaries under running tests. PYTESTD_IT_SNAPSHOT=0 tests the build tree in place."""
    package = next((p / "python" for p in bin_dir.parents if (p / "python" / "pytestd").is_dir()), None)
    if os.environ.get("PYTESTD_IT_SNAPSHOT") == "0" or package is None:
        return bin_dir
    inst = workdir / "inst"
    (inst / "bin").mkdir(parents=True)
    for name in ("pytest", "pytestd", "pytestd-host"):
        shutil.copy2(bin_dir / name, inst / "bin" / name)
    shutil.copytree(package, inst / "python", ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    shutil.copytree(package.parent / "patches", inst / "patches", ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    return inst / "bin"


@pytest.fixture
def needs_daemon(bins):
    if bins.fake:
        pytest.skip("needs the real pytestd (PYTESTD_IT_FAKE=1)")


# --------------------------------------------------------------------------------- runtime dir


@pytest.fixture(scope="session")
def workdir():
    """Short-pathed scratch area (unix socket paths are limited to 108 bytes)."""
    base = Path(tempfile.mkdtemp(prefix="ptd-", dir="/tmp"))
    yield base
    if os.environ.get("PYTESTD_IT_KEEP") != "1":
        shutil.rmtree(base, ignore_errors=True)


@pytest.fixture(scope="session")
def runtime_dir(workdir):
    """PYTESTD_RUNTIME_DIR for the whole session. Not created by us: the product must create it (0700)."""
    rt = workdir / "rt"
    yield rt
    leftovers = H.processes_mentioning(str(rt))
    for pid in leftovers:
        try:
            os.kill(pid, 9)
        except OSError:
            pass
    assert not leftovers, f"processes survived the session (killed now): {leftovers}"


# ------------------------------------------------------------------------------------ projects

RECORDER = '''\
# Test harness: records each report to $PYTESTD_IT_OUTCOMES (one JSON row per line, tagged with the pid and
# preceded by the session's invocation args, so the harness can tell a run from a daemon's warm-up).
import json as _it_json
import os as _it_os


def _it_record(*row):
    path = _it_os.environ.get("PYTESTD_IT_OUTCOMES")
    if path:
        with open(path, "a") as f:
            f.write(_it_json.dumps([_it_os.getpid(), *row]) + "\\n")


def pytest_sessionstart(session):
    _it_record("<session>", list(session.config.invocation_params.args))


def pytest_runtest_logreport(report):
    _it_record(report.nodeid, report.when, report.outcome, bool(getattr(report, "wasxfail", "")))


def pytest_collectreport(report):
    if report.outcome != "passed":
        _it_record(report.nodeid, "collect", report.outcome, False)

'''

PYPROJECT = '''\
[tool.pytest.ini_options]
pythonpath = ["src"]
markers = ["slow: slow tests"]
'''

# A test the harness holds in flight: it writes its pid to STARTED_FILE and waits until RELEASE_FILE exists
# (it passes when that says "pass"); skipped in runs the harness did not start. Appended to a test module.
WAITS_FOR_RELEASE = '''
import os, time
from pathlib import Path
import pytest


def test_waits_for_release():
    if "STARTED_FILE" not in os.environ:
        pytest.skip("started by the harness only")
    Path(os.environ["STARTED_FILE"]).write_text(str(os.getpid()))
    release = Path(os.environ["RELEASE_FILE"])
    deadline = time.monotonic() + 60
    while not release.exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert release.read_text() == "pass"
'''

# A small real project: src module, conftest fixture, passing/failing/parametrized/marked tests.
SAMPLE = {
    "pyproject.toml": PYPROJECT,
    "conftest.py": '''
        import pytest

        @pytest.fixture
        def base():
            return 10
    ''',
    "src/calc.py": '''
        import warnings

        def add(a, b):
            return a + b

        def old_api():
            warnings.warn("old_api is deprecated", DeprecationWarning)
            return 1
    ''',
    "tests/__init__.py": "",
    "tests/test_calc.py": '''
        import pytest
        from calc import add, old_api

        def test_add(base):
            assert add(base, 1) == 11

        def test_add_wrong():
            assert add(2, 2) == 5, "two and two"

        @pytest.mark.parametrize("a,b,c", [(1, 1, 2), (2, 3, 5), (0, 0, 1)], ids=["one", "two", "zero-bad"])
        def test_table(a, b, c):
            assert add(a, b) == c

        @pytest.mark.slow
        def test_slow_marker():
            assert True

        @pytest.mark.xfail(reason="known bug")
        def test_known_bug():
            assert add(1, 1) == 3

        @pytest.mark.xfail(reason="fixed already")
        def test_fixed_bug():
            assert add(1, 1) == 2

        @pytest.mark.skip(reason="not today")
        def test_skipped():
            pass

        def test_warns():
            assert old_api() == 1

        def test_prints():
            print("hello from test_prints")
            assert False
    ''',
    "tests/test_other.py": '''
        import pytest

        class TestGroup:
            def test_alpha(self):
                assert 1

            def test_beta(self):
                raise ValueError("beta broke")

        @pytest.fixture
        def broken():
            raise RuntimeError("fixture broke")

        def test_uses_broken_fixture(broken):
            pass

        def test_gamma():
            assert "abc" == "abd"
    ''',
}


def dedent(text: str) -> str:
    return textwrap.dedent(text).lstrip("\n")


class Project:
    """A project directory plus how to run commands in it (through pytestd or plain pytest)."""

    _outcome_ids = itertools.count()

    def __init__(self, root: Path, ctx: "Ctx", venv: Path):
        self.root = root
        self.ctx = ctx
        self.venv = venv
        self.venvs_used = {venv}
        self.used_daemon = False
        self.runtime_dir = ctx.runtime_dir

    # files
    def write(self, rel: str, text: str, mtime_ns: int | None = None, raw=False):
        p = self.root / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(text if raw else dedent(text))
        if mtime_ns is not None:
            os.utime(p, ns=(mtime_ns, mtime_ns))
        return p

    def write_files(self, files: dict):
        for rel, text in files.items():
            self.write(rel, text)

    def path(self, rel: str) -> Path:
        return self.root / rel

    # environment
    def env(self, env_extra=None, venv=None) -> dict:
        venv = venv or self.venv
        env = {
            "PATH": f"{venv}/bin:/usr/local/bin:/usr/bin:/bin",
            "VIRTUAL_ENV": str(venv),
            "HOME": os.environ.get("HOME", "/root"),
            "LANG": "C.UTF-8",
            "LC_ALL": "C.UTF-8",
            "TERM": "xterm-256color",
            "PYTESTD_RUNTIME_DIR": str(self.runtime_dir),
            # Runs wait for the warm template rather than run plain pytest while it warms: these tests
            # are about what the template serves (test_plain_while_warming.py tests the default).
            "PYTESTD_WAIT": "1",
            # Learned warm sets go here, never to the real home (one directory: the same value on
            # both sides of a Pair).
            "XDG_CACHE_HOME": str(self.ctx.workdir / "xdg-cache"),
        }
        for k, v in (env_extra or {}).items():
            if v is None:
                env.pop(k, None)
            else:
                env[k] = str(v)
        return env

    def command(self, args, via="pytestd", invocation="script", venv=None):
        venv = venv or self.venv
        if via == "plain":
            if invocation == "module":
                return [venv / "bin" / "python", "-m", "pytest", *args]
            return [venv / "bin" / "pytest", *args]
        shim = venv / "bin" / "pytest" if self.ctx.bins.fake else self.ctx.bins.shim
        return [shim, *args]

    def _prepare(self, args, via, env_extra, invocation, venv, cwd):
        venv = venv or self.venv
        if via == "pytestd":
            self.venvs_used.add(venv)
            self.used_daemon = True
        env_extra = dict(env_extra or {})
        if via == "pytestd" and invocation == "module":
            env_extra["PYTESTD_INVOCATION"] = "module"
        out_file = self.ctx.workdir / "outcomes" / f"{next(self._outcome_ids)}.jsonl"
        out_file.parent.mkdir(exist_ok=True)
        env_extra.setdefault("PYTESTD_IT_OUTCOMES", out_file)
        cmd = self.command(args, via, invocation, venv)
        cwd = self.root / cwd if cwd else self.root
        return cmd, cwd, self.env(env_extra, venv), out_file

    def pytest(self, *args, via="pytestd", env_extra=None, invocation="script", venv=None, cwd=None,
               timeout=H.DEFAULT_TIMEOUT, stdin=subprocess.DEVNULL, umask=None) -> H.Result:
        cmd, cwd, env, out_file = self._prepare(args, via, env_extra, invocation, venv, cwd)
        r = H.run_command(cmd, cwd, env, timeout=timeout, stdin=stdin, umask=umask)
        r.outcomes = H.read_outcomes(out_file, args)
        return r

    def start(self, *args, via="pytestd", env_extra=None, invocation="script", venv=None, cwd=None,
              timeout=H.DEFAULT_TIMEOUT) -> H.Running:
        cmd, cwd, env, out_file = self._prepare(args, via, env_extra, invocation, venv, cwd)
        running = H.Running(cmd, cwd, env, timeout=timeout)
        running.outcomes_file = out_file
        self.ctx.track(running)
        return running

    def pty(self, *args, via="pytestd", env_extra=None, cols=80, rows=24, venv=None, cwd=None,
            timeout=H.DEFAULT_TIMEOUT) -> H.PtyRun:
        cmd, cwd, env, _ = self._prepare(args, via, env_extra, "script", venv, cwd)
        p = H.PtyRun(cmd, cwd, env, cols=cols, rows=rows, timeout=timeout)
        self.ctx.track(p)
        return p

    def bash(self, script: str, via="pytestd", env_extra=None, timeout=H.DEFAULT_TIMEOUT) -> H.Result:
        """Run a bash script with $PYTEST set to the command under test (absolute path)."""
        env = self.env(env_extra)
        env["PYTEST"] = str(self.command([], via)[0])
        if via == "pytestd":
            self.used_daemon = True
        return H.run_command(["bash", "-c", script], self.root, env, timeout=timeout)

    # daemon control
    def cli(self, *args, venv=None, env_extra=None, timeout=H.DEFAULT_TIMEOUT) -> H.Result:
        self.used_daemon = True
        if self.ctx.bins.fake:
            rc, out = (3, "not running\n") if args[:1] == ("status",) else (0, "")
            return H.Result(["pytestd", *args], rc, out, "", 0.0)
        return H.run_command([self.ctx.bins.cli, *args], self.root, self.env(env_extra, venv),
                             timeout=timeout)

    def status(self, venv=None) -> dict:
        r = self.cli("status", venv=venv)
        if r.rc == 3:
            assert "not running" in r.text, r.describe()
            return {}
        assert r.rc == 0, r.describe()
        return H.parse_status(r.out)

    def stop_and_check(self):
        """Stop every manager this project used and prove its processes are gone."""
        return self.stop() + self.leftovers()

    def stop(self):
        problems = []
        for venv in (self.venvs_used if self.used_daemon else ()):
            pids = H.status_pids(self.status(venv)) if not self.ctx.bins.fake else []
            r = self.cli("stop", venv=venv)
            if r.rc not in (0, 3):
                problems.append(f"`pytestd stop` failed:\n{r.describe()}")
            alive = H.wait_gone(pids, 10)
            if alive:
                problems.append(f"still running after `pytestd stop`: "
                                f"{[(p, H.proc_info(p)) for p in alive]}")
                for p in alive:
                    os.kill(p, 9)
            if not self.ctx.bins.fake:
                s = self.cli("status", venv=venv)
                if s.rc != 3 or "not running" not in s.text:
                    problems.append(f"status after stop is not `not running` (rc 3):\n{s.describe()}")
        return problems

    def leftovers(self):
        problems = []
        left = H.processes_mentioning(str(self.root))
        if self.runtime_dir != self.ctx.runtime_dir:
            left.update(H.processes_mentioning(str(self.runtime_dir)))
        if left:
            H.wait_gone(list(left), 5)
            left = {p: c for p, c in left.items() if H.pid_alive(p)}
        if left:
            problems.append(f"processes mentioning the project survive: {left}")
            for p in left:
                os.kill(p, 9)
        return problems


class Ctx:
    _n = itertools.count()

    def __init__(self, bins, runtime_dir, workdir, venv_for):
        self.bins = bins
        self.runtime_dir = runtime_dir
        self.workdir = workdir
        self.venv_for = venv_for
        self.projects: list[Project] = []
        self._running = []

    def track(self, r):
        self._running.append(r)

    def new_root(self, label: str) -> Path:
        d = self.workdir / f"{next(self._n)}-{label[:12]}"
        d.mkdir(parents=True)
        return d

    def project(self, files=None, venv="3.11", name="proj", label="p", parent=None) -> Project:
        parent = parent or self.new_root(label)
        root = parent / name
        root.mkdir(parents=True)
        p = Project(root, self, self.venv_for(venv))
        files = dict(SAMPLE if files is None else files)
        files["conftest.py"] = RECORDER + dedent(files.get("conftest.py", ""))
        p.write_files({k: v for k, v in files.items() if k != "conftest.py"})
        p.write("conftest.py", files["conftest.py"], raw=True)
        self.projects.append(p)
        return p

    def pair(self, files=None, venv="3.11", label="pair") -> "Pair":
        parent = self.new_root(label)
        d = self.project(files, venv, parent=parent / "d")
        p = self.project(files, venv, parent=parent / "p")
        return Pair(d, p)

    def cleanup(self):
        for r in self._running:
            try:
                r.kill() if isinstance(r, H.Running) else r.close()
            except Exception:
                pass
        problems = []
        for p in self.projects:
            problems += p.stop()
        for p in self.projects:
            problems += p.leftovers()
        return problems


def _make_ctx(request, bins, runtime_dir, workdir, venv_for):
    ctx = Ctx(bins, runtime_dir, workdir, venv_for)
    yield ctx
    problems = ctx.cleanup()
    assert not problems, "\n".join(problems)


@pytest.fixture
def ctx(request, bins, runtime_dir, workdir, venv_for):
    yield from _make_ctx(request, bins, runtime_dir, workdir, venv_for)


@pytest.fixture(scope="module")
def module_ctx(request, bins, runtime_dir, workdir, venv_for):
    yield from _make_ctx(request, bins, runtime_dir, workdir, venv_for)


# --------------------------------------------------------------------------------- differential


class Pair:
    """The same project twice: `d` is served by pytestd, `p` by plain pytest. Same relative layout, same
    path length, so normalised outputs are comparable. Every command goes to both, which keeps their
    .pytest_cache states in step (--lf/--ff)."""

    def __init__(self, d: Project, p: Project):
        self.d, self.p = d, p

    def write(self, rel, text, **kw):
        self.d.write(rel, text, **kw)
        self.p.write(rel, text, **kw)
        # Ground truth is plain pytest without bytecode caches: CPython and pytest trust a .pyc whose
        # whole-second mtime and size match, so a same-second, same-size edit fools plain pytest too.
        # pytestd's copy keeps its caches: purging them is pytestd's job.
        for cache in self.p.root.rglob("__pycache__"):
            shutil.rmtree(cache, ignore_errors=True)

    def edit(self, rel, old, new) -> int:
        """Saves `rel` in both projects with `old` replaced by `new`; returns the change set id before."""
        before = H.change_set_id(self.d.status())
        text = self.d.path(rel).read_text()
        assert old in text, f"{old!r} not in {rel}"
        self.write(rel, text.replace(old, new))
        return before

    def run_both(self, *args, env_extra=None, cwd=None, invocation="script", venv=None,
                 timeout=H.DEFAULT_TIMEOUT, daemon_first=False):
        """`daemon_first`: right after an edit, before a clean host could be ready (reload tests)."""
        def plain():
            return self.p.pytest(*args, via="plain", env_extra=env_extra, cwd=cwd, invocation=invocation,
                                 venv=venv, timeout=timeout)
        if not daemon_first:
            plain_result = plain()
        daemon = self.d.pytest(*args, via="pytestd", env_extra=env_extra, cwd=cwd, invocation=invocation,
                               venv=venv, timeout=timeout)
        if daemon_first:
            plain_result = plain()
        return plain_result, daemon

    def compare(self, *args, full_output=False, **kw):
        plain, daemon = self.run_both(*args, **kw)
        assert_same_run(plain, daemon, self.p.root, self.d.root, full_output=full_output)
        return plain, daemon


def assert_same_run(plain: H.Result, daemon: H.Result, plain_root: Path, daemon_root: Path,
                    full_output=False):
    ctx = f"\n===== plain =====\n{plain.describe()}\n===== pytestd =====\n{daemon.describe()}"
    assert daemon.rc == plain.rc, f"exit code differs: pytestd {daemon.rc} vs plain {plain.rc}{ctx}"
    assert daemon.outcomes == plain.outcomes, f"per-test outcomes differ{ctx}"
    assert H.summary_line(daemon.out) == H.summary_line(plain.out), f"summary line differs{ctx}"
    if full_output:
        a = H.normalise(plain.out, plain_root)
        b = H.normalise(daemon.out, daemon_root)
        assert b.splitlines() == a.splitlines(), f"normalised stdout differs{ctx}"
        ae = H.normalise(plain.err, plain_root)
        be = H.normalise(daemon.err, daemon_root)
        assert be.splitlines() == ae.splitlines(), f"normalised stderr differs{ctx}"


# ------------------------------------------------------------------------------ installed packages


@pytest.fixture(scope="session")
def build_tools(venv_for, workdir):
    """setuptools for `pip install -e` without build isolation (one download per session)."""
    target = workdir / "build-tools"
    if not target.exists():
        subprocess.run([str(venv_for("3.11") / "bin" / "pip"), "install", "-q", "--target", str(target),
                        "setuptools>=64"], check=True, timeout=600)
    return target


# A setuptools project for a sibling package (`pip install -e ../NAME`).
LIB_PYPROJECT = '''\
[build-system]
requires = ["setuptools>=64"]
build-backend = "setuptools.build_meta"

[project]
name = "{name}"
version = "0.1"
'''


def venv_with(ctx, name, build_tools, installs=(), editable=()):
    """A venv sharing the test venv's packages (pytest, pip) through a `.pth`, plus `installs`
    (directories, installed normally) and `editable` ones (`pip install -e`)."""
    base = ctx.venv_for("3.11")
    venv = ctx.workdir / name
    subprocess.run([str(base / "bin" / "python"), "-m", "venv", "--without-pip", str(venv)], check=True, timeout=120)
    site = next((venv / "lib").glob("python3.*/site-packages"))
    shared = next((base / "lib").glob("python3.*/site-packages"))
    (site / "shared-test-venv.pth").write_text(f"{shared}\n")
    python = venv / "bin" / "python"
    (venv / "bin" / "pytest").write_text(f"#!{python}\nimport sys\nfrom pytest import console_main\n"
                                         f"sys.exit(console_main())\n")
    (venv / "bin" / "pytest").chmod(0o755)
    env = dict(os.environ, PYTHONPATH=str(build_tools), PIP_DISABLE_PIP_VERSION_CHECK="1")
    for directory, flag in [(d, []) for d in installs] + [(d, ["-e"]) for d in editable]:
        subprocess.run([str(python), "-m", "pip", "install", "-q", "--no-build-isolation", "--no-deps", "--no-index",
                        *flag, str(directory)], check=True, timeout=300, env=env, capture_output=True)
    return venv
