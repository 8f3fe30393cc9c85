"""pytest plugin installed into every corpus venv (as an entry point, so plain pytest and pytestd load it
alike, and no project file is touched). Appends one JSON row per event to $PYTESTD_RW_OUTCOMES, tagged
with the pid and preceded by the session's invocation args, so the harness can tell a run from a daemon's
warm-up collection."""
import json
import os


def _record(*row):
    path = os.environ.get("PYTESTD_RW_OUTCOMES")
    if path:
        with open(path, "a") as f:
            f.write(json.dumps([os.getpid(), *row]) + "\n")


def pytest_sessionstart(session):
    _record("session", list(session.config.invocation_params.args))


def pytest_collectreport(report):
    if report.outcome != "passed":
        _record("collect", report.nodeid, report.outcome)


def pytest_runtest_logreport(report):
    _record("test", report.nodeid, report.when, report.outcome, hasattr(report, "wasxfail"))


def pytest_warning_recorded(warning_message, when, nodeid, location):
    _record("warning", when, nodeid, warning_message.category.__name__, str(warning_message.message))


def pytest_sessionfinish(session, exitstatus):
    _record("exit", int(exitstatus))
