"""The run-patch API (pytestd._patches): hooks are checked against their spec when registered, a
failing patch becomes a reason to serve cold that carries its own traceback, and a failed
after_warmup makes every run of that template serve cold."""
import pytest

import pytestd
from pytestd import _patches


@pytest.fixture(autouse=True)
def clean_registry(monkeypatch):
    for table in ("_after_fork", "_after_warmup", "_run_configured"):
        monkeypatch.setattr(_patches, table, [])
    monkeypatch.setattr(_patches, "_warmup_failure", None)
    monkeypatch.setattr(_patches.ServeCold, "raised", [])


@pytest.mark.parametrize("register, hook", [
    (pytestd.after_fork, lambda config: None),
    (pytestd.after_warmup, lambda a, b: None),
    (pytestd.run_configured, lambda: None),
    (pytestd.run_configured, lambda config, extra: None),
])
def test_a_hook_that_does_not_fit_its_spec_is_refused_when_registered(register, hook):
    with pytest.raises(TypeError, match=register.__name__):
        register(hook)


@pytest.mark.parametrize("register, hook", [
    (pytestd.after_fork, lambda: None),
    (pytestd.after_fork, lambda *args: None),
    (pytestd.after_warmup, lambda optional=1: None),
    (pytestd.run_configured, lambda config: None),
    (pytestd.run_configured, lambda config, optional=None: None),
])
def test_hooks_that_fit_their_spec_are_registered_and_returned(register, hook):
    assert register(hook) is hook


def test_not_a_function_is_refused():
    with pytest.raises(TypeError, match="decorates a function"):
        pytestd.after_fork("not callable")


def test_a_failing_patch_serves_cold_naming_itself_with_its_traceback():
    calls = []

    @pytestd.run_configured
    def check_settings(config):
        calls.append(config)
        raise KeyError("DATABASES")

    @pytestd.run_configured
    def never_reached(config):
        calls.append("second")

    with pytest.raises(pytestd.ServeCold) as caught:
        _patches.run_configured_hooks("the config")
    assert calls == ["the config"]
    assert "run_configured patch" in caught.value.reason and "check_settings" in caught.value.reason
    assert "KeyError: 'DATABASES'" in caught.value.reason
    assert "Traceback" in caught.value.details and "test_run_patches.py" in caught.value.details
    assert caught.value.remember


def test_serve_cold_from_a_patch_passes_through_unchanged_and_is_remembered_even_if_swallowed():
    @pytestd.after_fork
    def decline():
        try:
            raise pytestd.ServeCold("settings differ", remember=False)
        except Exception:
            pass  # code between a patch and pytest may swallow it
        raise pytestd.ServeCold("settings differ", remember=False)

    with pytest.raises(pytestd.ServeCold) as caught:
        _patches.run_after_fork()
    assert caught.value.reason == "settings differ" and not caught.value.remember
    assert len(pytestd.ServeCold.raised) == 2


def test_a_failed_after_warmup_makes_every_run_serve_cold(capsys):
    @pytestd.after_warmup
    def record():
        raise RuntimeError("cannot read the settings")

    ran = []
    pytestd.after_fork(lambda: ran.append(True))
    _patches.run_after_warmup()
    assert "cannot read the settings" in capsys.readouterr().err
    assert pytestd.ServeCold.raised == []
    for _ in range(2):
        with pytest.raises(pytestd.ServeCold, match="after_warmup patch .*record failed"):
            _patches.run_after_fork()
    assert ran == []
