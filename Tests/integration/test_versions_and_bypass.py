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
