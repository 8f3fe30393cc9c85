"""One build serves every supported interpreter; the one-word bypass always runs the real pytest."""
import json

import pytest

from conftest import SAMPLE


@pytest.mark.parametrize("version", ["3.9", "3.11", "3.13"])
def test_sample_suite_results_equal_plain_pytest_on_each_python(ctx, version):
    pair = ctx.pair(SAMPLE, venv=version, label=f"py{version}")
    plain, daemon = pair.compare(full_output=True)
    assert f"Python {ctx.venv_for(version).name[2:]}" in daemon.out
    pair.compare("-v", "-k", "table or Group", full_output=True)
    pair.compare("--lf", "-q", full_output=True)
    pair.write("src/calc.py", "def add(a, b):\n    return a - b\n\ndef old_api():\n    return 1\n")
    pair.compare("-q", full_output=True)


PROBE = {
    "pyproject.toml": "[tool.pytest.ini_options]\n",
    "tests/test_pid.py": '''
        import json, os, sys
        def test_pid():
            with open(os.environ["STATE_FILE"], "w") as f:
                json.dump({"pid": os.getpid(), "argv0": sys.argv[0]}, f)
    ''',
}


def test_disable_runs_the_real_pytest_and_starts_no_manager(ctx):
    pair = ctx.pair(PROBE, label="bypass")
    state = ctx.workdir / "bypass.json"
    env = {"PYTESTD_DISABLE": "1", "STATE_FILE": state}
    pair.compare("-q", env_extra=env, full_output=True)
    status = pair.d.cli("status")
    assert status.rc == 3 and "not running" in status.out, status.describe()
    # exec, not a child: the test runs in the very process we started, as the real pytest script.
    running = pair.d.start("-q", env_extra=env)
    r = running.finish()
    assert r.rc == 0, r.describe()
    seen = json.loads(state.read_text())
    if not ctx.bins.fake:
        assert seen["pid"] == running.pid, "PYTESTD_DISABLE=1 must exec the real pytest"
    assert seen["argv0"] == f"{pair.d.venv}/bin/pytest"


def test_disable_is_per_command(ctx, needs_daemon):
    pair = ctx.pair(PROBE, label="bypass2")
    state = ctx.workdir / "bypass2.json"
    assert pair.d.pytest("-q", env_extra={"STATE_FILE": state}).rc == 0
    assert pair.d.status().get("pid")
    r = pair.d.pytest("-q", env_extra={"PYTESTD_DISABLE": "1", "STATE_FILE": state})
    assert r.rc == 0, r.describe()


COVERED = {
    "pyproject.toml": '[tool.pytest.ini_options]\npythonpath = ["src"]\naddopts = "--cov=covered --cov-report=term"\n',
    "src/covered.py": "VALUE = 1\n\ndef double(x):\n    return 2 * x\n",
    "tests/test_covered.py": "import covered\n\ndef test_double():\n    assert covered.double(covered.VALUE) == 2\n",
}


def _total(output):
    """The coverage report's total percentage."""
    return next((line.split()[-1] for line in output.splitlines() if line.startswith("TOTAL")), None)


@pytest.fixture(scope="session")
def coverage_venv(workdir):
    import subprocess

    import harness as H
    venv = H.VENV_ROOT / "cov-3.11"
    if not (venv / "bin" / "python").exists() or subprocess.run(
            [str(venv / "bin" / "python"), "-c", "import pytest_cov"], capture_output=True).returncode:
        base = H.PYENV_VERSIONS / H.PYTHON_VERSIONS["3.11"] / "bin" / "python"
        subprocess.run([str(base), "-m", "venv", "--clear", str(venv)], check=True, timeout=300)
        subprocess.run([str(venv / "bin" / "pip"), "install", "-q", "pytest==9.2.0", "pytest-cov==6.2.1"],
                       check=True, timeout=600)
    return venv


def test_coverage_from_addopts_or_pytest_addopts_runs_under_plain_pytest(ctx, needs_daemon, coverage_venv):
    """Coverage must see the imports a warm template already made: wherever `--cov` comes from, the run
    is plain pytest's (the report says 100%, not the lines a test touched)."""
    pair = ctx.pair(COVERED, label="covaddopts")
    for project in (pair.d, pair.p):
        project.venv = coverage_venv
        project.venvs_used = {coverage_venv}
    for _ in range(2):
        plain, daemon = pair.compare("-q", full_output=False)
        assert _total(daemon.out) == _total(plain.out) == "100%", daemon.describe()
    pair.write("pyproject.toml", '[tool.pytest.ini_options]\npythonpath = ["src"]\n')
    for _ in range(2):
        plain, daemon = pair.compare("-q", env_extra={"PYTEST_ADDOPTS": "--cov=covered --cov-report=term"})
        assert _total(daemon.out) == _total(plain.out) == "100%", daemon.describe()
