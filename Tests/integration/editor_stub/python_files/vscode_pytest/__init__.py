"""A stand-in for VS Code's ``vscode_pytest`` plugin, with its contract (see
``../shared/research/vscode.md``): it reads ``TEST_RUN_PIPE`` at import, keeps module state, opens the
pipe once for writing and sends JSON-RPC messages framed by ``content-length`` headers: one discovery
payload after a ``--collect-only`` collection, one run payload per test report. The last writer
closing the pipe ends the results.

``imported_with_pipe`` tells whether this module was imported by this run (a module left in a warm
template would carry another run's pipe, and ``reports_sent`` would not start from zero).
"""

import json
import os

TEST_RUN_PIPE = os.environ.get("TEST_RUN_PIPE")
_writer = None
reports_sent = 0


def _send(payload):
    global _writer
    if _writer is None:
        _writer = open(TEST_RUN_PIPE, "wb", buffering=0)
    payload["imported_with_pipe"] = TEST_RUN_PIPE == os.environ.get("TEST_RUN_PIPE")
    body = json.dumps({"jsonrpc": "2.0", "params": payload}).encode()
    _writer.write(b"content-length: %d\r\ncontent-type: application/json\r\n\r\n" % len(body) + body)


def _absolute(nodeid):
    return os.path.join(os.getcwd(), nodeid)


def pytest_collection_finish(session):
    if session.config.option.collectonly:
        tests = [_absolute(item.nodeid) for item in session.items]
        _send({"cwd": os.getcwd(), "status": "success", "tests": tests, "error": [], "payloadVersion": 2})


session_is_discovery = [False]


def pytest_configure(config):
    session_is_discovery[0] = bool(config.option.collectonly)


def pytest_collectreport(report):
    if report.failed and session_is_discovery[0]:
        _send({"cwd": os.getcwd(), "status": "error", "tests": None, "error": [str(report.longrepr)]})


def pytest_runtest_logreport(report):
    global reports_sent
    if report.when != "call" and report.passed:
        return
    reports_sent += 1
    message = None if report.passed else report.longreprtext.splitlines()[-1:]
    _send({
        "cwd": os.getcwd(), "status": "success", "not_found": None, "error": None,
        "result": {_absolute(report.nodeid): {
            "test": _absolute(report.nodeid), "outcome": report.outcome, "when": report.when,
            "message": message, "reports_sent": reports_sent,
        }},
    })


def pytest_unconfigure(config):
    if _writer is not None:
        _writer.close()
