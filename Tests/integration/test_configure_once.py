"""Configure-once code: the warm-up's pytest session already ran it in the template, so a run may fail
where a fresh process would not. The safety net hands such a run to plain pytest before anything is
printed (and remembers it until the conftests, configuration or patches change); the built-in Django
run patch makes both ways of configuring Django run warm, against the real Django and pytest-django."""
import subprocess

import pytest

import harness as H
from conftest import PYPROJECT

pytestmark = pytest.mark.usefixtures("needs_daemon")


def _note_lines(result):
    return [line for line in result.err.splitlines() if line.startswith("pytestd:")]


def assert_same_as_plain(plain, daemon, pair, note=None):
    """Same exit code, per-test outcomes, stdout and stderr; stderr may add exactly one pytestd line,
    which (when `note` is given) names that cause."""
    ctx = f"\n===== plain =====\n{plain.describe()}\n===== pytestd =====\n{daemon.describe()}"
    assert daemon.rc == plain.rc, f"exit code differs{ctx}"
    assert daemon.outcomes == plain.outcomes, f"per-test outcomes differ{ctx}"
    assert H.normalise(daemon.out, pair.d.root).splitlines() == H.normalise(plain.out, pair.p.root).splitlines(), ctx
    notes = _note_lines(daemon)
    err = [line for line in daemon.err.splitlines() if not line.startswith("pytestd:")]
    assert H.normalise("\n".join(err), pair.d.root) == H.normalise(plain.err, pair.p.root).rstrip("\n"), ctx
    assert "INTERNALERROR" not in daemon.out + daemon.err or "INTERNALERROR" in plain.out + plain.err, ctx
    if note is None:
        assert notes == [], f"served warm without a note{ctx}"
    else:
        assert len(notes) == 1 and note in notes[0] and notes[0].endswith("running plain pytest"), ctx


def wait_for_status(project, key, predicate, timeout=10):
    H.wait_for(lambda: predicate(project.status().get(key, "")), timeout=timeout)
    return project.status()


# ------------------------------------------------------------------------------------ safety net

REGISTRY = "WARMED = False\nCONFIGURED = False\nSTARTED = False\n"

SAFETY_FILES = {
    "pyproject.toml": PYPROJECT + 'testpaths = ["tests"]\n',
    "src/registry.py": REGISTRY,
    "tests/__init__.py": "",
    "tests/test_ok.py": "def test_ok():\n    assert True\n\ndef test_fails():\n    assert 1 == 2\n",
}

CONFIGURE_ONCE = '''
    import registry

    def pytest_configure(config):
        if registry.CONFIGURED:
            raise RuntimeError("the registry is configured already")
        registry.CONFIGURED = True
'''

SESSIONSTART_ONCE = '''
    import registry

    def pytest_sessionstart(session):
        if registry.STARTED:
            raise RuntimeError("the registry has started already")
        registry.STARTED = True
'''


@pytest.mark.parametrize("hooks, cause", [
    (CONFIGURE_ONCE, "pytest_configure raised RuntimeError: the registry is configured already"),
    (SESSIONSTART_ONCE, "pytest_sessionstart raised RuntimeError: the registry has started already"),
])
def test_a_hook_that_fails_only_warm_goes_to_plain_pytest_until_the_conftest_changes(ctx, hooks, cause):
    pair = ctx.pair(dict(SAFETY_FILES, **{"tests/conftest.py": hooks}), label="net")
    assert pair.d.cli("start").rc == 0
    plain, daemon = pair.run_both("-q")
    assert plain.rc == 1 and "1 failed, 1 passed" in plain.out, plain.describe()
    assert_same_as_plain(plain, daemon, pair, note=cause)
    assert "Run patches" in _note_lines(daemon)[0] and "tests/conftest.py" in _note_lines(daemon)[0], daemon.describe()
    status = pair.d.status()
    assert status["served cold"].startswith("yes") and cause in status["served cold"], status
    runs = int(status["runs"])

    # Remembered: the next run goes straight to plain pytest, with the note.
    plain, daemon = pair.run_both("-q")
    assert_same_as_plain(plain, daemon, pair, note="serving this project cold")
    assert int(pair.d.status()["runs"]) == runs

    # Editing the conftest clears the memory: runs are served warm again (and give plain's answer).
    fixed = hooks.replace("raise RuntimeError", "pass  # ")
    pair.write("tests/conftest.py", fixed)
    wait_for_status(pair.d, "served cold", lambda value: value == "no")
    plain, daemon = pair.run_both("-q")
    assert_same_as_plain(plain, daemon, pair)
    assert int(pair.d.status()["runs"]) == runs + 1


@pytest.mark.parametrize("version", ["3.9", "3.13"])
def test_the_safety_net_with_other_pythons_and_pytest_versions(ctx, version):
    pair = ctx.pair(dict(SAFETY_FILES, **{"tests/conftest.py": CONFIGURE_ONCE}), venv=version, label=f"net{version}")
    for note in ("the registry is configured already", "serving this project cold"):
        plain, daemon = pair.run_both("-q")
        assert_same_as_plain(plain, daemon, pair, note=note)


def test_a_conftest_that_fails_to_import_only_warm_goes_to_plain_pytest(ctx):
    """`other/conftest.py` is not part of the warm-up (testpaths), and fails if the registry was set up
    by another conftest in the same process — as the template's warm-up did."""
    files = dict(SAFETY_FILES, **{
        "tests/conftest.py": "import registry\nregistry.WARMED = True\n",
        "other/conftest.py": '''
            import registry

            if registry.WARMED:
                raise RuntimeError("the registry was set up by another session")
        ''',
        "other/test_other.py": "def test_other():\n    assert True\n",
    })
    pair = ctx.pair(files, label="netimp")
    assert pair.d.cli("start").rc == 0
    plain, daemon = pair.run_both("-q", "other")
    assert plain.rc == 0, plain.describe()
    assert_same_as_plain(plain, daemon, pair, note="importing other/conftest.py raised RuntimeError")
    assert pair.d.status()["served cold"].startswith("yes")
    plain, daemon = pair.run_both("-q", "tests")
    assert_same_as_plain(plain, daemon, pair, note="serving this project cold")
    assert pair.d.cli("restart").rc == 0
    assert pair.d.status()["served cold"] == "no"


def test_a_conftest_that_never_imports_is_pytests_to_report(ctx):
    """A missing module or a syntax error fails a fresh process the same way: no decline, no note."""
    files = dict(SAFETY_FILES, **{"tests/conftest.py": "import definitely_missing_pkg\n",
                                  "other/conftest.py": "def broken(:\n", "other/test_o.py": "def test_o(): pass\n"})
    pair = ctx.pair(files, label="netsrc")
    for args in (["-q"], ["-q", "other"]):
        plain, daemon = pair.run_both(*args)
        assert plain.rc == 4, plain.describe()
        assert_same_as_plain(plain, daemon, pair)
    assert pair.d.status()["served cold"] == "no"


def test_a_configure_failure_inside_a_test_is_that_tests_own(ctx):
    """pytester's in-process runs make a Config inside a test: the safety net guards only the run's
    own start, so a test is never interrupted (and never run twice)."""
    files = dict(SAFETY_FILES, **{
        "conftest.py": "pytest_plugins = ['pytester']\n",
        "tests/test_inner.py": '''
            def test_inner_run_fails_to_configure(pytester):
                pytester.makeconftest("def pytest_configure(config):\\n    raise RuntimeError('inner')\\n")
                pytester.makepyfile("def test_x(): pass")
                assert pytester.runpytest_inprocess().ret == 3

            def test_inner_conftest_fails_to_import(pytester):
                pytester.makeconftest("raise RuntimeError('inner import')")
                pytester.makepyfile("def test_x(): pass")
                assert pytester.runpytest_inprocess().ret == 4
        ''',
    })
    pair = ctx.pair(files, label="netinner")
    plain, daemon = pair.run_both("-q", "-p", "no:cacheprovider", "tests/test_inner.py")
    assert plain.rc == 0 and "2 passed" in plain.out, plain.describe()
    assert_same_as_plain(plain, daemon, pair)


def test_a_failure_a_fresh_process_has_too_is_declined_without_an_internal_error(ctx):
    """A hook that always raises: plain pytest prints its INTERNALERROR itself; pytestd adds nothing
    but its note, and never prints one of its own."""
    files = dict(SAFETY_FILES, **{"tests/conftest.py": '''
        def pytest_configure(config):
            raise ValueError("broken for everyone")
    '''})
    pair = ctx.pair(files, label="netall")
    plain, daemon = pair.run_both("-q")
    assert plain.rc == 3 and "INTERNALERROR" in plain.out + plain.err, plain.describe()
    assert_same_as_plain(plain, daemon, pair, note="broken for everyone")


# ------------------------------------------------------------------------------------------ Django

DJANGO_LIBRARIES = ["pytest==9.2.0", "django==5.2.19", "pytest-django==4.14.0"]


@pytest.fixture(scope="session")
def django_venv():
    venv = H.VENV_ROOT / "django-3.11"
    probe = [str(venv / "bin" / "python"), "-c",
             "import django, pytest, pytest_django; assert django.__version__ == '5.2.19' and pytest_django.__version__ == '4.14.0'"]
    if not (venv / "bin" / "python").exists() or subprocess.run(probe, capture_output=True).returncode:
        base = H.PYENV_VERSIONS / H.PYTHON_VERSIONS["3.11"] / "bin" / "python"
        subprocess.run([str(base), "-m", "venv", "--clear", str(venv)], check=True, timeout=300)
        subprocess.run([str(venv / "bin" / "pip"), "install", "-q", *DJANGO_LIBRARIES], check=True, timeout=600)
    return venv


def django_pair(ctx, venv, files, label):
    pair = ctx.pair(files, label=label)
    for project in (pair.d, pair.p):
        project.venv = venv
        project.venvs_used = {venv}
    return pair


SHOP = {
    "src/shop/__init__.py": "",
    "src/shop/models.py": '''
        from django.db import models

        class Item(models.Model):
            name = models.CharField(max_length=20)

            class Meta:
                app_label = "shop"
    ''',
    "tests/__init__.py": "",
    "tests/test_shop.py": '''
        import pytest
        from django.conf import settings
        from shop.models import Item

        def test_model_is_registered():
            from django.apps import apps
            assert apps.get_model("shop", "Item") is Item

        @pytest.mark.django_db
        def test_database():
            Item.objects.create(name="a")
            assert Item.objects.count() == 1

        @pytest.mark.django_db
        def test_database_is_clean_again():
            assert Item.objects.count() == 0

        def test_greeting():
            assert settings.GREETING == "hello"
    ''',
    "tests/test_local_model.py": '''
        from django.db import models

        class Note(models.Model):  # each run imports this module afresh: no "already registered"
            text = models.CharField(max_length=20)

            class Meta:
                app_label = "shop"

        def test_note():
            assert Note._meta.app_label == "shop"
    ''',
}

CONFTEST_CONFIGURE = '''
    import django
    from django.conf import settings

    def pytest_addoption(parser):
        parser.addoption("--greeting", default="hello")

    def pytest_configure(config):
        settings.configure(
            SECRET_KEY="not secret",
            INSTALLED_APPS=["django.contrib.contenttypes", "django.contrib.auth", "shop"],
            DATABASES={"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": ":memory:"}},
            DEFAULT_AUTO_FIELD="django.db.models.AutoField",
            GREETING=config.getoption("--greeting"),
        )
        settings.ANONYMOUS_USER_ID = -1  # set after configure, as django-rest-framework's conftest does
        django.setup()
'''


def test_django_configured_in_a_conftest_runs_warm(ctx, django_venv):
    files = dict(SHOP, **{"pyproject.toml": PYPROJECT, "conftest.py": CONFTEST_CONFIGURE})
    pair = django_pair(ctx, django_venv, files, "djconf")
    assert pair.d.cli("start").rc == 0
    for _ in range(2):
        plain, daemon = pair.run_both("-q")
        assert plain.rc == 0 and "5 passed" in plain.out, plain.describe()
        assert_same_as_plain(plain, daemon, pair)
    status = pair.d.status()
    assert status["served cold"] == "no" and int(status["runs"]) == 2, status

    # Settings that differ for one run (here from its options): plain pytest serves that run only.
    plain, daemon = pair.run_both("-q", "--greeting=bonjour")
    assert plain.rc == 1 and "test_greeting" in plain.out, plain.describe()
    assert_same_as_plain(plain, daemon, pair, note="Django's GREETING")
    assert pair.d.status()["served cold"] == "no"

    # The conftest changes: the next run sees the new settings, never the old ones — from a clean host,
    # or (if a reloaded template, whose settings are the old ones, is ready first) from plain pytest.
    pair.write("conftest.py", (pair.d.root / "conftest.py").read_text().replace('default="hello"', 'default="bye"'))
    plain, daemon = pair.run_both("-q")
    assert plain.rc == 1 and "test_greeting" in plain.out, plain.describe()
    assert_same_as_plain(plain, daemon, pair, note="Django's GREETING" if _note_lines(daemon) else None)


def _settings_files(ini_settings):
    settings = '''
        from pathlib import Path

        BASE = Path(__file__).resolve().parent.parent.parent
        SECRET_KEY = "not secret"
        INSTALLED_APPS = ["django.contrib.contenttypes", "django.contrib.auth", "shop"]
        DATABASES = {"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": str(BASE / "db.sqlite3"),
                                 "TEST": {"NAME": str(BASE / "test_db.sqlite3")}}}
        DEFAULT_AUTO_FIELD = "django.db.models.AutoField"
        GREETING = "hello"
    '''
    ini = PYPROJECT + (f'DJANGO_SETTINGS_MODULE = "{ini_settings}"\n' if ini_settings else "")
    return dict(SHOP, **{
        "pyproject.toml": ini,
        "src/proj/__init__.py": "",
        "src/proj/settings.py": settings,
        "src/proj/settings_other.py": "from proj.settings import *  # noqa\nGREETING = 'other'\n",
    })


def test_pytest_django_with_the_settings_module_in_the_ini_file(ctx, django_venv):
    pair = django_pair(ctx, django_venv, _settings_files("proj.settings"), "djini")
    assert pair.d.cli("start").rc == 0
    for args in (["--reuse-db"], ["--reuse-db"], ["--create-db"], ["--create-db"], []):
        plain, daemon = pair.run_both("-q", *args)
        assert plain.rc == 0, plain.describe()
        assert_same_as_plain(plain, daemon, pair)

    # Another settings module on the command line, for one run: plain pytest serves it.
    plain, daemon = pair.run_both("-q", "--ds", "proj.settings_other")
    assert plain.rc == 1 and "test_greeting" in plain.out, plain.describe()
    assert_same_as_plain(plain, daemon, pair, note="Django settings module is proj.settings_other")

    # An edit to the settings module: Django's settings object would keep the old values after a
    # reload, so the edit waits for a clean host.
    # pytestd's side runs first, while a reloaded template would be the first ready.
    text = (pair.d.root / "src/proj/settings.py").read_text()
    pair.write("src/proj/settings.py", text.replace('GREETING = "hello"', 'GREETING = "bye"'))
    daemon = pair.d.pytest("-q")
    plain = pair.p.pytest("-q", via="plain")
    assert plain.rc == 1 and "test_greeting" in plain.out, plain.describe()
    assert_same_as_plain(plain, daemon, pair)
    assert pair.d.status()["served cold"] == "no"


def test_pytest_django_with_the_settings_module_from_the_environment(ctx, django_venv):
    pair = django_pair(ctx, django_venv, _settings_files(None), "djenv")
    env = {"DJANGO_SETTINGS_MODULE": "proj.settings"}
    assert pair.d.cli("start", env_extra=env).rc == 0
    for _ in range(2):
        plain, daemon = pair.run_both("-q", env_extra=env)
        assert plain.rc == 0, plain.describe()
        assert_same_as_plain(plain, daemon, pair)
    # Another settings module for one run: the template's settings cannot serve it. The manager may
    # already know the template's imports read the variable (then a template of its own serves it);
    # else the run patch sends it to plain pytest. Never the template's settings.
    plain, daemon = pair.run_both("-q", env_extra={"DJANGO_SETTINGS_MODULE": "proj.settings_other"})
    assert plain.rc == 1 and "test_greeting" in plain.out, plain.describe()
    assert_same_as_plain(plain, daemon, pair,
                         note="Django settings module is proj.settings_other" if _note_lines(daemon) else None)
    plain, daemon = pair.run_both("-q", env_extra=env)
    assert_same_as_plain(plain, daemon, pair)
    assert pair.d.status()["served cold"] == "no"


def test_pytest_django_with_the_settings_module_on_the_command_line(ctx, django_venv):
    pair = django_pair(ctx, django_venv, _settings_files(None), "djds")
    for args in (["--ds", "proj.settings"], ["--ds=proj.settings", "--reuse-db"], ["--ds", "proj.settings_other"],
                 ["--ds", "proj.settings"]):
        plain, daemon = pair.run_both("-q", *args)
        assert_same_as_plain(plain, daemon, pair)
    assert pair.d.status()["served cold"] == "no"
