"""Which environment variables a warm template depends on: those its imports read by name. A library
that copies the whole environment at import makes every variable count, but not the shell's own
bookkeeping (`_`, `SHLVL`, `OLDPWD`, `PWD`): `env pytest`, `/usr/bin/time pytest` or a run from another
tool must be served by the same template. `pytestd status` names the module behind each dependency."""
from conftest import PYPROJECT

FILES = {
    "pyproject.toml": PYPROJECT,
    "src/libx.py": '''
        import os

        SNAPSHOT = dict(os.environ)
        COPY = os.environ.copy()
        MERGED = {**os.environ}
        PAIRS = list(os.environ.items())
        BYTES = dict(os.environb)
    ''',
    "src/settings.py": '''
        import os

        import libx

        MODE = os.environ.get("APP_MODE", "default")
    ''',
    "conftest.py": "import settings\n",
    "tests/test_settings.py": '''
        import os

        from settings import MODE

        def test_mode():
            assert MODE == os.environ.get("APP_MODE", "default")
    ''',
}


def _generation(project):
    status = project.status()
    assert status.get("state") == "ready", status
    return status["host generation"], status


def test_shell_bookkeeping_does_not_retire_a_template_that_copied_the_environment(ctx, needs_daemon):
    project = ctx.project(FILES, label="envdeps")
    first = project.pytest("-q")
    assert first.rc == 0, first.describe()
    generation, status = _generation(project)
    reads = status["environment read at import"]
    assert "APP_MODE (settings)" in reads and "every variable but the shell's (libx)" in reads, status
    for extra in ({"_": "/usr/bin/time"}, {"SHLVL": "7", "OLDPWD": "/elsewhere", "_": "/usr/bin/env"}, {"PWD": "/x"}):
        r = project.pytest("-q", env_extra=extra)
        assert r.rc == 0, r.describe()
        assert "waiting" not in r.err, r.describe()
        assert _generation(project)[0] == generation, (extra, project.status())
    # As a shell runs them: bash sets `_` to the command it runs, `env` to itself. (The harness's
    # bash adds PYTEST to the environment: the first command gets a template of its own.)
    r = project.bash('"$PYTEST" -q')
    assert r.rc == 0, r.describe()
    generation, _ = _generation(project)
    r = project.bash('env "$PYTEST" -q && SHLVL=9 "$PYTEST" -q && cd tests && "$PYTEST" -q')
    assert r.rc == 0, r.describe()
    assert _generation(project)[0] == generation, project.status()


def test_a_variable_read_by_name_still_retires_the_template_and_status_names_the_reader(ctx, needs_daemon):
    project = ctx.project(FILES, label="envdeps-key")
    assert project.pytest("-q").rc == 0
    generation, _ = _generation(project)
    r = project.pytest("-q", env_extra={"APP_MODE": "other"})
    assert r.rc == 0, r.describe()
    new_generation, status = _generation(project)
    assert new_generation != generation, status
    assert "APP_MODE=other" in status["last retirement"] and "read by settings" in status["last retirement"], status
    # Any other variable counts too (libx copied the whole environment), with the copier named.
    r = project.pytest("-q", env_extra={"APP_MODE": "other", "SOMETHING_NEW": "1"})
    assert r.rc == 0, r.describe()
    newest, status = _generation(project)
    assert newest != new_generation, status
    assert "SOMETHING_NEW=1" in status["last retirement"] and "libx copied the whole environment" in status["last retirement"], status


def test_a_variable_the_shell_sets_is_a_dependency_when_read_by_name(ctx, needs_daemon):
    files = dict(FILES)
    files["src/settings.py"] = FILES["src/settings.py"].rstrip(" ") + "        LAUNCHER = os.environ.get('_')\n"
    files["tests/test_settings.py"] = FILES["tests/test_settings.py"].rstrip(" ") + '''
        def test_launcher():
            from settings import LAUNCHER
            assert LAUNCHER == os.environ.get("_")
    '''
    project = ctx.project(files, label="envdeps-underscore")
    for launcher in (None, "/usr/bin/time", "/usr/bin/env", None):
        r = project.pytest("-q", env_extra={"_": launcher})
        assert r.rc == 0, (launcher, r.describe())
    assert "_ (settings)" in project.status()["environment read at import"]
