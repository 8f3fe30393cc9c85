"""`pytestd status --json`: the versioned document editors read follows the manager's real state —
stopped, warming, ready, waiting for a clean host and reloading, each with its reason."""
import json
import os
import subprocess
import time
from pathlib import Path

import pytest

import harness as H
from conftest import PYPROJECT

pytestmark = pytest.mark.usefixtures("needs_daemon")

# Importing `slow` takes a second, in the warm-up and in a reload: long enough to see each state.
FILES = {
    "pyproject.toml": PYPROJECT,
    "src/slow.py": "import time\ntime.sleep(1.0)\nVALUE = 1\n",
    "tests/test_value.py": "from slow import VALUE\n\ndef test_value():\n    assert VALUE == 1\n",
}


def status_json(proj) -> dict:
    r = proj.cli("status", "--json")
    assert r.rc == 0, r.describe()
    document = json.loads(r.out)
    assert document["format"] == 1, document
    return document


def states_until(proj, done, timeout=30.0) -> list:
    """Polls the document until `done(document)`; returns every document seen, in order."""
    seen = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        seen.append(status_json(proj))
        if done(seen[-1]):
            return seen
        time.sleep(0.05)
    raise AssertionError(f"no document satisfied the condition in {timeout}s; states seen: {[d['state'] for d in seen]}")


STATUS_JS = Path(__file__).resolve().parents[2] / "editors" / "vscode" / "src" / "status.js"


def extension_view(output: str) -> dict:
    """What the VS Code extension's status bar shows for this output of `pytestd status --json`."""
    script = ("const s = require(process.argv[1]); let text = '';"
              "process.stdin.on('data', (d) => { text += d; });"
              "process.stdin.on('end', () => console.log(JSON.stringify(s.statusBarView(s.parseStatus(text)))));")
    r = subprocess.run(["node", "-e", script, str(STATUS_JS)], input=output, capture_output=True, text=True, timeout=30)
    assert r.returncode == 0, r.stderr
    return json.loads(r.stdout)


def distinct(states):
    return [s for i, s in enumerate(states) if i == 0 or states[i - 1] != s]


def test_status_json_follows_the_manager_from_stopped_through_warming_to_ready(ctx):
    proj = ctx.project(FILES, label="sjson")
    stopped = status_json(proj)
    assert stopped["state"] == "stopped" and "pid" not in stopped and "host" not in stopped, stopped
    assert stopped["root"] == str(proj.root) and stopped["python"] == f"{proj.venv}/bin/python", stopped
    assert stopped["socket"].endswith(".sock") and stopped["log"].endswith(".log"), stopped

    running = proj.start("-q")  # starts the manager; the run waits for the warm template
    seen = states_until(proj, lambda d: d["state"] == "ready")
    states = distinct([d["state"] for d in seen])
    assert states[-2:] == ["warming", "ready"] and set(states) <= {"stopped", "warming", "ready"}, states
    warming = next(d for d in seen if d["state"] == "warming")
    assert "host" not in warming and H.pid_alive(warming["warming_host_pid"]), warming
    assert running.finish(timeout=30).rc == 0

    ready = status_json(proj)
    text = proj.status()
    assert ready["pid"] == int(text["pid"]) == warming["pid"], (ready, text)
    host = ready["host"]
    assert host["pid"] == int(text["host pid"]) and H.pid_alive(host["pid"]), (ready, text)
    assert host["generation"] == 1 and "reloaded_from" not in host, host
    assert host["pytest_version"] == text["pytest"] and host["warmup_seconds"] >= 1.0, (host, text)
    assert host["project_files"] >= 2 and host["loaded_files"] > host["project_files"], host
    assert ready["runs"] == 1 and ready["runs_in_flight"] == 0 and "reason" not in ready, ready
    assert ready["uptime_seconds"] >= warming["uptime_seconds"] + 1.0, (warming, ready)

    # The extension reads the real document (each side is unit-tested against its own idea of it).
    view = extension_view(proj.cli("status", "--json").out)
    assert view["text"] == "$(check) pytestd: ready" and f"host {host['pid']}, generation 1 (clean)" in view["tooltip"], view

    assert proj.cli("stop").rc == 0
    stopped = proj.cli("status", "--json").out
    assert json.loads(stopped)["state"] == "stopped"
    assert extension_view(stopped)["text"] == "$(circle-slash) pytestd: stopped"


def test_status_json_says_why_runs_wait_and_what_reloads(ctx):
    proj = ctx.project(FILES, label="sjwait")
    assert proj.cli("start").rc == 0
    first = status_json(proj)["host"]

    assert proj.cli("restart", "--no-wait").rc == 0
    seen = states_until(proj, lambda d: d["state"] == "ready")
    assert distinct([d["state"] for d in seen]) == ["waiting", "ready"], [d["state"] for d in seen]
    assert seen[0]["reason"] == "restart requested" and H.pid_alive(seen[0]["warming_host_pid"]), seen[0]
    assert seen[-1]["host"]["generation"] > first["generation"] and not H.pid_alive(first["pid"]), seen[-1]

    # A module's edit is reloaded into a copy of the clean template (a clean host warms meanwhile).
    proj.write("src/slow.py", "import time\ntime.sleep(1.0)\nVALUE = 2\n")
    seen = states_until(proj, lambda d: d["state"] == "reloading")
    assert "src/slow.py" in seen[-1]["reason"], seen[-1]
    assert extension_view(json.dumps(seen[-1]))["text"] == "$(sync~spin) pytestd: reloading"
    seen = states_until(proj, lambda d: d["state"] == "ready")
    assert set(d["state"] for d in seen) <= {"reloading", "ready"}, [d["state"] for d in seen]
    assert proj.pytest("-q").rc == 1  # the edit is served: VALUE is 2 now

    # pytest's configuration is never reloaded: runs wait for a clean host, and the document says why.
    proj.write("pyproject.toml", PYPROJECT + "# edited\n")
    seen = states_until(proj, lambda d: d["state"] == "waiting")
    assert "pyproject.toml changed" in seen[-1]["reason"], seen[-1]
    assert states_until(proj, lambda d: d["state"] == "ready")[-1]["host"].get("reloaded_from") is None


def test_status_json_says_why_no_host_can_start(ctx):
    proj = ctx.project(FILES, label="sjfail")
    venv = ctx.workdir / "venv-without-pytest"
    made = H.run_command([ctx.venv_for("3.11") / "bin" / "python", "-m", "venv", "--without-pip", venv], proj.root,
                         proj.env(), timeout=60)
    assert made.rc == 0, made.describe()
    env = {"VIRTUAL_ENV": venv}
    try:
        assert proj.cli("start", env_extra=env).rc == 1
        r = proj.cli("status", "--json", env_extra=env)
        document = json.loads(r.out)
        assert r.rc == 0 and document["state"] == "failed" and "host" not in document, r.describe()
        assert "pytest is not importable" in document["reason"] and document["python"] == f"{venv}/bin/python", document
    finally:
        proj.cli("stop", env_extra=env)


def test_status_reports_memory_descriptors_reloads_and_fallbacks(ctx):
    proj = ctx.project(FILES, label="sjhealth")
    assert proj.pytest("-q", env_extra={"PYTESTD_WAIT": "1"}).rc == 0
    proj.write("src/slow.py", "import time\ntime.sleep(1.0)\nVALUE = 2\n")
    assert proj.pytest("-q").rc == 1  # served by the reload
    proj.write("pyproject.toml", PYPROJECT + "# edited\n")
    assert proj.pytest("-q", env_extra={"PYTESTD_WAIT": "1"}).rc == 1  # served by a clean host

    document = status_json(proj)
    manager = document["pid"]
    memory = document["memory"]
    assert memory["template_kib"] > 10 * 1024 and memory["manager_kib"] > 1024, memory
    assert memory["template_kib"] == document["host"]["resident_memory_kib"] or abs(
        memory["template_kib"] - document["host"]["resident_memory_kib"]) < 1024, (memory, document["host"])
    assert memory["runs_kib"] == 0 and memory["total_proportional_kib"] > 10 * 1024, memory
    descriptors = len(os.listdir(f"/proc/{manager}/fd"))
    assert 3 < document["open_descriptors"] < 100 and abs(document["open_descriptors"] - descriptors) <= 2, \
        (document["open_descriptors"], descriptors)
    assert document["runs"] == 3 and document["reloads"] == 1 and document["uptime_seconds"] > 1, document
    assert document["fallbacks"].get("not_reloadable") == 1, document["fallbacks"]

    text = proj.status()
    assert text["reloads"] == "1" and "not reloadable 1" in text["fallbacks"], text
    assert text["memory"].startswith("manager ") and "template " in text["memory"], text
    assert text["descriptors"].endswith("open in the manager"), text
