#!/usr/bin/env python3
"""VS Code's "Debug Test" on the benchmark monolith: plain Python against the interpreter hook.

Drives debugpy's adapter (`python -m debugpy.adapter`) as VS Code's test explorer does (the `launch`
of its runner script, see Tests/integration/test_debug_warm.py) with a breakpoint in
tests/test_trivial.py::test_trivial, and prints the median time from the `launch` request to the
`stopped` event, each side in the same run. The plain side carries PYTESTD_HOOK_PASS=1, so the hook
lets the interpreter run as if it were not installed. Needs `make build` and a previous `bench/run`
(bench/out/venv, bench/out/monolith); makes bench/out/debug-venv (the bench venv's packages through a
.pth, debugpy from bench/requirements-debug.txt, plus the hook).

    bench/debug_runs.py [--runs 5]
"""

import argparse
import os
import statistics
import subprocess
import sys
import time

from editor_runs import EXTENSION, HERE, OUT, PYTESTD, ROOT, hooked_venv

sys.path.insert(0, os.path.join(ROOT, "Tests", "integration"))

from dap_client import DapClient  # noqa: E402

RUNNER = os.path.join(EXTENSION, "vscode_pytest", "run_pytest_script.py")
TEST = "tests/test_trivial.py::test_trivial"


def session(python, project, line, plain):
    """One debug session: seconds from `launch` to `stopped`, the line it stopped at, the exit code."""
    ids = os.path.join(OUT, f"debug-ids-{time.monotonic_ns()}")
    with open(ids, "w") as f:
        f.write(f"{project}/{TEST}\n")
    run_env = {"PYTHONPATH": EXTENSION, "RUN_TEST_IDS_PIPE": ids, "PYTESTD_WAIT": "1",
               "PYTESTD_RUNTIME_DIR": os.path.join(OUT, "runtime"), **({"PYTESTD_HOOK_PASS": "1"} if plain else {})}
    env = {"PATH": "/usr/bin:/bin", "HOME": os.environ.get("HOME", "/root"), "LANG": "C.UTF-8",
           "PYTESTD_RUNTIME_DIR": run_env["PYTESTD_RUNTIME_DIR"]}
    client = DapClient([python, "-m", "debugpy.adapter"], project, env)
    try:
        client.request("initialize", {"clientID": "vscode", "adapterID": "debugpy", "pathFormat": "path",
                                      "linesStartAt1": True, "columnsStartAt1": True})
        started = time.monotonic()
        launch = client.send("launch", {
            "name": "Debug Unit Test", "type": "debugpy", "request": "launch", "program": RUNNER,
            "args": [f"--rootdir={project}", "--capture=no"], "python": [python], "cwd": project, "env": run_env,
            "console": "internalConsole", "redirectOutput": True, "justMyCode": True, "subProcess": True})
        client.event("initialized")
        client.request("setBreakpoints", {"source": {"path": os.path.join(project, TEST.split("::")[0])},
                                          "breakpoints": [{"line": line}]})
        client.request("configurationDone")
        client.response(launch)
        stopped = client.event("stopped", timeout=300)
        seconds = time.monotonic() - started
        thread = stopped["body"]["threadId"]
        frame = client.request("stackTrace", {"threadId": thread, "levels": 1})["body"]["stackFrames"][0]
        client.request("continue", {"threadId": thread})
        exited = client.event("exited", timeout=300)
        return seconds, frame["line"], exited["body"]["exitCode"]
    finally:
        client.close()
        if os.path.exists(ids):  # the runner deletes it once read, as VS Code's does
            os.unlink(ids)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    options = parser.parse_args()
    project = os.path.realpath(os.path.join(OUT, "monolith"))
    if not os.access(PYTESTD, os.X_OK) or not os.path.isdir(project):
        sys.exit("build first (make build) and run bench/run once (bench/out/monolith, bench/out/venv)")
    source = open(os.path.join(project, TEST.split("::")[0]), encoding="utf-8").read().splitlines()
    line = next(n for n, text in enumerate(source, 1) if text.startswith("def test_trivial")) + 1
    python = hooked_venv("debug-venv", os.path.join(HERE, "requirements-debug.txt"))
    session(python, project, line, plain=False)  # starts the manager and warms it
    plain = [session(python, project, line, plain=True) for _ in range(options.runs)]
    warm = [session(python, project, line, plain=False) for _ in range(options.runs)]
    same = all(r[1:] == (line, 0) for r in plain + warm)
    p, w = (statistics.median(r[0] for r in rs) for rs in (plain, warm))
    print(f"debug session, launch to breakpoint: plain {p * 1000:.0f} ms, warm {w * 1000:.0f} ms, {p / w:.1f}x; "
          f"stopped at line {line} and exited 0 every time: {same}")
    subprocess.run([PYTESTD, "stop"], cwd=project, stdout=subprocess.DEVNULL,
                   env={**os.environ, "VIRTUAL_ENV": os.path.dirname(os.path.dirname(python)),
                        "PYTESTD_RUNTIME_DIR": os.path.join(OUT, "runtime")})
    sys.exit(0 if same else 1)


if __name__ == "__main__":
    main()
