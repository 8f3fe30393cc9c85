"""An editor's "Debug Test" served warm: debugpy's adapter (`python -m debugpy.adapter`, from PyPI)
driven by a Debug Adapter Protocol client the way VS Code drives it.

The test explorer sends the adapter a `launch` for its runner script (debugLauncher.ts: `program`
run_pytest_script.py, `console: internalConsole`, `redirectOutput`, `subProcess`, the run's `env`);
debugpy's launcher starts `python -X frozen_modules=off <…/debugpy> --connect 127.0.0.1:PORT …
run_pytest_script.py ARGS`, which the interpreter hook hands to pytestd: the run child connects to the
adapter itself and runs the runner there. A breakpoint must stop at its line, in the test and in
project code edited since the template was built (patched in place), and the run must end with the
exit status a plain interpreter gives. Same session with a venv without the hook for comparison.
"""
from __future__ import annotations

import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

import pytest

import harness as H
from dap_client import DapClient
from test_editor_runs import STUB, FifoReader, install_hook

pytestmark = pytest.mark.usefixtures("needs_daemon")

DEBUG_LIBRARIES = ["pytest==9.2.0", "debugpy==1.8.22"]

FILES = {
    "pytest.ini": "[pytest]\n",
    "app/__init__.py": "",
    "app/calc.py": """\
        def add(a, b):
            total = a + b
            return total
        """,
    "tests/__init__.py": "",
    "tests/test_calc.py": """\
        from app.calc import add

        def test_add():
            result = add(1, 2)
            assert result == 3

        def test_add_wrong():
            assert add(1, 1) == 3
        """,
}
TEST_ADD_LINE = 4  # `result = add(1, 2)`
ADD_LINE = 2  # `total = a + b`


@pytest.fixture(scope="session")
def debugpy_venv():
    venv = H.VENV_ROOT / "debugpy-3.11"
    probe = [str(venv / "bin" / "python"), "-c", "import debugpy, pytest; assert debugpy.__version__ == '1.8.22'"]
    if not (venv / "bin" / "python").exists() or subprocess.run(probe, capture_output=True).returncode:
        base = H.PYENV_VERSIONS / H.PYTHON_VERSIONS["3.11"] / "bin" / "python"
        subprocess.run([str(base), "-m", "venv", "--clear", str(venv)], check=True, timeout=300)
        subprocess.run([str(venv / "bin" / "pip"), "install", "-q", *DEBUG_LIBRARIES], check=True, timeout=600)
    return venv


def sharing_venv(ctx, base: Path, name: str) -> Path:
    """A venv of `base`'s interpreter that sees `base`'s packages (debugpy, pytest) through a `.pth`."""
    venv = ctx.workdir / name
    subprocess.run([str(base / "bin" / "python"), "-m", "venv", "--without-pip", str(venv)], check=True, timeout=120)
    site = next((venv / "lib").glob("python3.*/site-packages"))
    shared = next((base / "lib").glob("python3.*/site-packages"))
    (site / "shared-test-venv.pth").write_text(f"{shared}\n")
    return venv


class Stop:
    def __init__(self, seconds, reason, line, name, path, exit_code, output, payloads):
        self.seconds, self.reason, self.line, self.name, self.path = seconds, reason, line, name, path
        self.exit_code, self.output, self.payloads = exit_code, output, payloads

    def outcomes(self) -> list:
        return [v["outcome"] for p in self.payloads for v in p["result"].values()]


class Debugger:
    """VS Code's side: the adapter started with the workspace's interpreter, then one debug session."""

    RUNNER = STUB / "python_files" / "vscode_pytest" / "run_pytest_script.py"

    def __init__(self, project, hooked: Path, plain: Path):
        self.project, self.hooked, self.plain = project, hooked, plain
        self.scratch = project.ctx.new_root("debug")

    def session(self, venv: Path, breakpoints: dict, ids=None, module_args=None) -> Stop:
        """Launches the explorer's runner on `ids` (or `python -m pytest MODULE_ARGS`, as the pytestd
        extension's debug command does), stops at the first breakpoint, continues to the end."""
        root = self.project.root
        env = self.project.env({"VIRTUAL_ENV": None})
        fifo = reader = None
        run_env = {"PYTHONPATH": str(STUB / "python_files")}
        if module_args is None:
            fifo = self.scratch / f"python-test-results-{time.monotonic_ns()}"
            os.mkfifo(fifo, 0o666)
            ids_file = self.scratch / f"ids-{time.monotonic_ns()}"
            ids_file.write_text("".join(f"{root / i}\n" for i in ids))
            run_env.update(TEST_RUN_PIPE=str(fifo), RUN_TEST_IDS_PIPE=str(ids_file))
            target = {"program": str(self.RUNNER), "args": [f"--rootdir={root}", "--capture=no"]}
        else:
            target = {"module": "pytest", "args": module_args}
        launch = {
            "name": "Debug Unit Test", "type": "debugpy", "request": "launch", **target,
            "python": [str(venv / "bin" / "python")], "cwd": str(root), "env": run_env,
            "console": "internalConsole", "redirectOutput": True, "stopOnEntry": False, "showReturnValue": True,
            "justMyCode": True, "subProcess": True, "purpose": [],
        }
        client = DapClient([str(venv / "bin" / "python"), "-m", "debugpy.adapter"], root, env)
        try:
            if fifo is not None:
                reader = FifoReader(fifo)
            client.request("initialize", {
                "clientID": "vscode", "clientName": "Visual Studio Code", "adapterID": "debugpy", "locale": "en",
                "pathFormat": "path", "linesStartAt1": True, "columnsStartAt1": True, "supportsVariableType": True,
                "supportsRunInTerminalRequest": False})
            started = time.monotonic()
            launch_seq = client.send("launch", launch)
            client.event("initialized")
            for path, lines in breakpoints.items():
                answer = client.request("setBreakpoints", {
                    "source": {"path": str(root / path)}, "breakpoints": [{"line": line} for line in lines]})
                assert all(b["verified"] for b in answer["body"]["breakpoints"]), answer
            client.request("configurationDone")
            client.response(launch_seq)
            process = client.event("process")
            stopped = client.event("stopped")
            seconds = time.monotonic() - started
            frame = client.request("stackTrace", {"threadId": stopped["body"]["threadId"], "levels": 1})["body"]["stackFrames"][0]
            client.request("continue", {"threadId": stopped["body"]["threadId"]})
            exited = client.event("exited")
            client.event("terminated")
            payloads = []
            if reader is not None:
                reader.watch(_ExitedProcess(process["body"]["systemProcessId"]))
                payloads, _ = reader.result()
            return Stop(seconds, stopped["body"]["reason"], frame["line"], frame["name"], frame["source"]["path"],
                        exited["body"]["exitCode"], client.output(), payloads)
        finally:
            client.close()

    def runs_served(self) -> int:
        return int(self.project.status(self.hooked).get("runs", "0"))


class _ExitedProcess:
    """FifoReader watches a process; the debuggee's is not ours to wait for."""

    def __init__(self, pid):
        self.pid = pid

    def poll(self):
        try:
            os.kill(self.pid, 0)
        except ProcessLookupError:
            return 0
        return None


@pytest.fixture(scope="module")
def debugger(module_ctx, debugpy_venv):
    project = module_ctx.project(FILES, label="debug")
    hooked = sharing_venv(module_ctx, debugpy_venv, "debug-hooked")
    plain = sharing_venv(module_ctx, debugpy_venv, "debug-plain")
    project.venv = hooked
    install_hook(project, hooked)
    return Debugger(project, hooked, plain)


def test_breakpoint_in_a_test_stops_in_a_warm_run(debugger):
    breakpoints = {"tests/test_calc.py": [TEST_ADD_LINE]}
    plain = debugger.session(debugger.plain, breakpoints, ids=["tests/test_calc.py::test_add"])
    debugger.session(debugger.hooked, breakpoints, ids=["tests/test_calc.py::test_add"])  # warms the manager
    served = debugger.runs_served()
    warm = debugger.session(debugger.hooked, breakpoints, ids=["tests/test_calc.py::test_add"])
    assert debugger.runs_served() == served + 1, "the debug run was not served by the warm manager"
    for stop in (plain, warm):
        assert (stop.reason, stop.line, stop.name) == ("breakpoint", TEST_ADD_LINE, "test_add"), stop.output
        assert stop.path == str(debugger.project.root / "tests/test_calc.py")
    # The runner exits 0 whatever the tests did; the result pipe has this run's report.
    assert warm.exit_code == plain.exit_code == 0, warm.output
    assert warm.outcomes() == plain.outcomes() == ["passed"], warm.output


def test_pytest_module_under_the_debugger_exits_as_plain(debugger):
    """`python -m pytest NODEID` under debugpy (the pytestd extension's debug command): pytest's exit
    status reaches the adapter."""
    args = ["tests/test_calc.py::test_add_wrong", "-q"]
    breakpoints = {"app/calc.py": [ADD_LINE]}
    plain = debugger.session(debugger.plain, breakpoints, module_args=args)
    served = debugger.runs_served()
    warm = debugger.session(debugger.hooked, breakpoints, module_args=args)
    assert debugger.runs_served() == served + 1
    for stop in (plain, warm):
        assert (stop.reason, stop.line, stop.name) == ("breakpoint", ADD_LINE, "add"), stop.output
    assert warm.exit_code == plain.exit_code == 1, warm.output
    assert "1 failed" in warm.output, warm.output


def test_breakpoint_binds_in_code_patched_in_place(debugger):
    """A body-only edit of `add` is patched into the live function: the breakpoint on the edited body's
    new line stops there, in the warm run."""
    project = debugger.project
    ids = ["tests/test_calc.py::test_add"]
    debugger.session(debugger.hooked, {"app/calc.py": [ADD_LINE]}, ids=ids)
    before = H.change_set_id(project.status())
    project.write("app/calc.py", "def add(a, b):\n    a = a * 1\n    b = b * 1\n    total = a + b\n    return total\n")
    try:
        served = debugger.runs_served()
        stop = debugger.session(debugger.hooked, {"app/calc.py": [4]}, ids=ids)
        assert debugger.runs_served() == served + 1
        assert (stop.reason, stop.line, stop.name) == ("breakpoint", 4, "add"), stop.output
        reload = H.reload_after(project, before)
        assert "patched in place: app.calc" in reload, reload
    finally:
        project.write("app/calc.py", FILES["app/calc.py"])


def test_warm_debug_session_stops_sooner_than_plain(debugger):
    """Time from the `launch` request to the `stopped` event, median of three each (the README quotes it)."""
    breakpoints = {"tests/test_calc.py": [TEST_ADD_LINE]}
    ids = ["tests/test_calc.py::test_add"]
    debugger.session(debugger.hooked, breakpoints, ids=ids)
    times = {"plain": [], "warm": []}
    for _ in range(3):
        times["plain"].append(debugger.session(debugger.plain, breakpoints, ids=ids).seconds)
        times["warm"].append(debugger.session(debugger.hooked, breakpoints, ids=ids).seconds)
    medians = {k: statistics.median(v) for k, v in times.items()}
    print(f"launch → stopped, median of 3: plain {medians['plain']:.3f} s, warm {medians['warm']:.3f} s", file=sys.stderr)
    assert medians["warm"] < medians["plain"], times


def test_debugpy_typed_in_a_shell_is_served_and_teaches_the_warm_set_nothing(debugger):
    """`python -m debugpy --listen … -m pytest …`: served, pytest's exit status; neither debugpy nor the
    standard-library modules it imports (xmlrpc, http.server) are learned into later templates."""
    project = debugger.project
    env = project.env({"VIRTUAL_ENV": None})
    command = ["-m", "debugpy", "--listen", "127.0.0.1:0", "-m", "pytest", "-q", "tests/test_calc.py::test_add_wrong"]
    plain = H.run_command([debugger.plain / "bin" / "python", *command], project.root, env)
    served = debugger.runs_served()
    warm = H.run_command([debugger.hooked / "bin" / "python", *command], project.root, env)
    assert debugger.runs_served() == served + 1, warm.describe()
    assert warm.rc == plain.rc == 1, warm.describe()
    assert H.summary_line(warm.out) == H.summary_line(plain.out) == "1 failed", warm.describe()
    assert project.cli("stop", venv=debugger.hooked).rc == 0  # the manager saves what it learned
    learned = "".join(p.read_text() for p in (project.ctx.workdir / "xdg-cache" / "pytestd").glob("*.learned")
                      if str(project.root) in p.read_text())
    for name in ("debugpy", "pydevd", "xmlrpc"):
        assert name not in learned, learned
