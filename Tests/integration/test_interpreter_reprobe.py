"""A venv recreated in place with another Python (`python -m venv --clear` on the same path, then
pytest installed again) is served by the same manager with the new interpreter: the manager asks the
interpreter about itself again instead of embedding the old libpython into the new venv."""
import subprocess

import harness as H
from conftest import PYPROJECT

FILES = {
    "pyproject.toml": PYPROJECT,
    "tests/test_version.py": '''
        import os
        import sys

        def test_version():
            assert "%d.%d" % sys.version_info[:2] == os.environ["EXPECTED_PYTHON"]
            assert sys.prefix == os.environ["VIRTUAL_ENV"]
    ''',
}


def _make_venv(path, version):
    base = H.PYENV_VERSIONS / H.PYTHON_VERSIONS[version] / "bin" / "python"
    subprocess.run([str(base), "-m", "venv", "--clear", str(path)], check=True, timeout=300)
    subprocess.run([str(path / "bin" / "pip"), "install", "-q", "--disable-pip-version-check", "pytest"],
                   check=True, timeout=600)


def _project_in_a_venv_of_its_own(ctx, label):
    project = ctx.project(FILES, label=label)
    venv = project.root.parent / "venv"
    _make_venv(venv, "3.11")
    project.venv = venv
    project.venvs_used = {venv}
    return project, venv


def test_a_venv_recreated_with_another_python_is_served_by_the_same_manager(ctx, needs_daemon):
    project, venv = _project_in_a_venv_of_its_own(ctx, "reprobe")
    r = project.pytest("-q", env_extra={"EXPECTED_PYTHON": "3.11"})
    assert r.rc == 0 and "plain pytest" not in r.err, r.describe()
    before = project.status()
    assert H.PYTHON_VERSIONS["3.11"] in before["python"], before

    _make_venv(venv, "3.13")
    for _ in range(2):
        r = project.pytest("-q", env_extra={"EXPECTED_PYTHON": "3.13"}, timeout=120)
        assert r.rc == 0 and "plain pytest" not in r.err, r.describe()
    after = project.status()
    assert after["pid"] == before["pid"], (before, after)
    assert H.PYTHON_VERSIONS["3.13"] in after["python"] and after["state"] == "ready", after
    assert after["host generation"] != before["host generation"], after


def test_restart_probes_the_interpreter_again(ctx, needs_daemon):
    project, venv = _project_in_a_venv_of_its_own(ctx, "reprobe-restart")
    assert project.pytest("-q", env_extra={"EXPECTED_PYTHON": "3.11"}).rc == 0
    pid = project.status()["pid"]
    _make_venv(venv, "3.13")
    r = project.cli("restart")
    assert r.rc == 0, r.describe()
    status = project.status()
    assert status["pid"] == pid and H.PYTHON_VERSIONS["3.13"] in status["python"], status
    r = project.pytest("-q", env_extra={"EXPECTED_PYTHON": "3.13"}, timeout=120)
    assert r.rc == 0 and "plain pytest" not in r.err, r.describe()
