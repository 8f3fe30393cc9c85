"""Built-in run patch for Django: settings are configured once per process, and the warm-up did it.

Projects configure Django in one of two ways, and the warm-up session ran either in the template:

- ``settings.configure(...)`` (then ``django.setup()``) in a conftest's ``pytest_configure`` or at its
  top level. Each run calls it again, and Django refuses a second call ("Settings already
  configured"). In a run child the first ``configure`` replaces the template's settings, as in a fresh
  process; once pytest is configured, the run's settings must equal the template's (its app registry,
  models and caches were built from them), else the run goes to plain pytest naming the setting.
- a settings module (pytest-django's ``--ds``, ``DJANGO_SETTINGS_MODULE`` in the environment or the
  ini file). A run whose settings module is another goes to plain pytest; an edit to the module waits
  for a clean host (a reload would leave Django's settings object holding the old values).

Database connections the template opened are closed before any run is forked (forks must not share
them), pytest-django's database blocker is released if an older pytest-django left it installed, and
models of test modules (which each run imports afresh) are unregistered so they register as anew.
"""

import copy
import os
import sys
import types

import pytestd

# What the warm-up configured: the holder of ``settings.configure`` and its explicit settings, or the
# name of the settings module. None when the template has no configured Django.
_holder = None
_configured = None
_settings_module = None
# Connections a reloaded template opened: forks keep them referenced, never closed (closing would end
# the template's own session on the server).
_inherited_connections = []


@pytestd.after_warmup
def record_warm_settings():
    global _holder, _configured, _settings_module
    if "django.conf" not in sys.modules:
        return
    from django.conf import UserSettingsHolder, settings

    if not settings.configured:
        return
    holder = settings._wrapped
    if isinstance(holder, UserSettingsHolder):
        _holder, _configured = holder, _explicit(holder)
    else:
        _settings_module = getattr(holder, "SETTINGS_MODULE", None)
        if _settings_module:
            pytestd.never_reload(_settings_module)
    _release_database_blocker()
    if "django.db" in sys.modules:
        from django.db import connections

        connections.close_all()


@pytestd.after_fork
def configure_afresh():
    """The run's first ``settings.configure`` replaces the template's settings instead of failing."""
    _detach_inherited_connections()
    _forget_models_of_evicted_modules()
    if _holder is None:
        return
    from django.conf import LazySettings, settings
    from django.utils.functional import empty

    original = LazySettings.configure

    def configure(self, *args, **options):
        if self is settings and self._wrapped is _holder:
            self._wrapped = empty
        return original(self, *args, **options)

    LazySettings.configure = configure


@pytestd.run_configured
def check_run_settings(config):
    """The template's app registry and models were built from its settings: a run with others cannot
    be served by it."""
    if _settings_module is not None:
        run_module = os.environ.get("DJANGO_SETTINGS_MODULE")
        if run_module != _settings_module:
            raise pytestd.ServeCold(
                f"this run's Django settings module is {run_module or 'unset'}, the warm template's is "
                f"{_settings_module}", remember=False)
    if _holder is None:
        return
    from django.conf import settings

    if settings._wrapped is _holder:
        return  # the run did not configure again (the configuring conftest stayed warm)
    if not settings.configured:
        raise pytestd.ServeCold("the warm template configured Django's settings; this run did not", remember=False)
    run = _explicit(settings._wrapped)
    for name in sorted(set(run) | set(_configured)):
        if name not in run or name not in _configured or not _same(run[name], _configured[name]):
            raise pytestd.ServeCold(
                f"this run configures Django's {name} other than the warm template did", remember=False)


def _explicit(holder) -> dict:
    """The settings ``configure`` was given (or that were set on its holder since), as copies: Django
    fills in ``DATABASES`` in place when connections are first used, so those are compared with the
    defaults filled in."""
    values = {name: _copy(name, value) for name, value in vars(holder).items() if name.isupper()}
    default = holder.default_settings
    values["<default_settings>"] = getattr(default, "__name__", default)
    return values


def _copy(name, value):
    try:
        value = copy.deepcopy(value)
    except Exception:
        return value
    if name == "DATABASES":
        from django.db.utils import ConnectionHandler

        try:
            return ConnectionHandler().configure_settings(value)
        except Exception:
            return value
    return value


def _same(a, b) -> bool:
    """Equal values; functions and classes (a conftest imported again defines new ones) by name."""
    if a is b:
        return True
    if type(a) is not type(b):
        return False
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(_same(a[key], b[key]) for key in a)
    if isinstance(a, (list, tuple)):
        return len(a) == len(b) and all(map(_same, a, b))
    if isinstance(a, (type, types.FunctionType)):
        return (a.__module__, a.__qualname__) == (b.__module__, b.__qualname__)
    try:
        return bool(a == b)
    except Exception:
        return False


def _release_database_blocker():
    """pytest-django blocks database access by replacing ``BaseDatabaseWrapper.ensure_connection``
    with its blocker's wrapper, and (before 4.14, or with its blocker at module level) leaves it so
    after the session. A run's new blocker would take that wrapper for the real method, and unblocking
    would still block: put the real method back; each run blocks again itself."""
    plugin = sys.modules.get("pytest_django.plugin")
    blocker = getattr(plugin, "_blocking_manager", None)
    while blocker is not None and getattr(blocker, "_history", None):
        blocker.restore()
    base = sys.modules.get("django.db.backends.base.base")
    wrapper_class = getattr(base, "BaseDatabaseWrapper", None)
    current = vars(wrapper_class).get("ensure_connection") if wrapper_class is not None else None
    owner = getattr(current, "__self__", None)
    real = getattr(owner, "_real_ensure_connection", None)
    if real is not None and type(owner).__name__ == "DjangoDbBlocker":
        wrapper_class.ensure_connection = real


def _forget_models_of_evicted_modules():
    """Test modules are imported afresh by each run: models they define must register as in a fresh
    process, not as a second registration ("Model ... was already registered")."""
    if _holder is None and _settings_module is None:
        return
    from django.apps import apps

    dropped = False
    for models in apps.all_models.values():  # each AppConfig.models is the same dict
        for name, model in list(models.items()):
            if model.__module__ not in sys.modules:
                del models[name]
                dropped = True
    if dropped:
        apps.clear_cache()


def _detach_inherited_connections():
    if (_holder is None and _settings_module is None) or "django.db" not in sys.modules:
        return  # without settings the template cannot have connected
    from django.db import connections

    try:
        opened = connections.all(initialized_only=True)
    except TypeError:  # Django < 4.1
        return
    for connection in opened:
        if connection.connection is not None:
            _inherited_connections.append(connection.connection)
            connection.connection = None
