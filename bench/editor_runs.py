#!/usr/bin/env python3
"""VS Code's test explorer on the benchmark monolith: plain Python against the interpreter hook.

Does what the explorer does (a result FIFO in TEST_RUN_PIPE, the node ids in the file RUN_TEST_IDS_PIPE
names, PYTHONPATH=<extension>/python_files) around the stand-in plugin and runner of
Tests/integration/editor_stub, for a single-test run and for discovery. Both sides start the same venv's
python in the same project; the plain side carries PYTESTD_HOOK_PASS=1, so the hook lets it run as if
it were not installed. Prints the medians (time from the start to the FIFO's end-of-file) and checks
that exit codes and payloads are equal. Needs `make build` and a previous `bench/run` (bench/out/venv,
bench/out/monolith); makes bench/out/editor-venv (the bench venv's packages through a .pth, plus the hook).

    bench/editor_runs.py [--runs 5]
"""

import argparse
import os
import select
import shutil
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
OUT = os.path.join(HERE, "out")
PYTESTD = os.path.join(ROOT, ".build", "release", "pytestd")
EXTENSION = os.path.join(ROOT, "Tests", "integration", "editor_stub", "python_files")


def hooked_venv(name="editor-venv", requirements=None):
    """A venv with the bench venv's packages (through a .pth), ``requirements`` and the hook."""
    venv = os.path.join(OUT, name)
    base = os.path.join(OUT, "venv")
    shutil.rmtree(venv, ignore_errors=True)
    base_python = os.path.realpath(os.path.join(base, "bin", "python"))
    subprocess.run([base_python, "-m", "venv", *([] if requirements else ["--without-pip"]), venv], check=True)
    lib = os.listdir(os.path.join(venv, "lib"))[0]
    with open(os.path.join(venv, "lib", lib, "site-packages", "bench-venv.pth"), "w") as f:
        f.write(os.path.join(base, "lib", lib, "site-packages") + "\n")
    if requirements:
        subprocess.run([os.path.join(venv, "bin", "python"), "-m", "pip", "install", "--quiet",
                        "--disable-pip-version-check", "-r", requirements], check=True)
    subprocess.run([PYTESTD, "install-hook", "--python", os.path.join(venv, "bin", "python")], check=True,
                   stdout=subprocess.DEVNULL)
    return os.path.join(venv, "bin", "python")


def run(python, project, arguments, ids=None, plain=False):
    """One explorer start: seconds until the FIFO's end-of-file, exit status, the FIFO's bytes."""
    stamp = time.monotonic_ns()
    fifo = os.path.join(OUT, f"editor-fifo-{stamp}")
    os.mkfifo(fifo, 0o666)
    reader = os.open(fifo, os.O_RDONLY | os.O_NONBLOCK)
    env = {"PATH": "/usr/bin:/bin", "HOME": os.environ.get("HOME", "/root"), "LANG": "C.UTF-8",
           "PYTHONPATH": EXTENSION, "TEST_RUN_PIPE": fifo, "PYTESTD_RUNTIME_DIR": os.path.join(OUT, "runtime"),
           "PYTESTD_WAIT": "1"}
    if plain:
        env["PYTESTD_HOOK_PASS"] = "1"
    if ids:
        env["RUN_TEST_IDS_PIPE"] = os.path.join(OUT, f"editor-ids-{stamp}")
        with open(env["RUN_TEST_IDS_PIPE"], "w") as f:
            f.write("".join(f"{project}/{i}\n" for i in ids))
    started = time.perf_counter()
    process = subprocess.Popen([python, *arguments], cwd=project, env=env,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    data = b""
    while True:
        select.select([reader], [], [], 0.05)
        try:
            chunk = os.read(reader, 1 << 16)
        except BlockingIOError:
            chunk = None
        if chunk:
            data += chunk
        elif chunk == b"" and process.poll() is not None:
            break
        else:
            time.sleep(0.002)
    elapsed = time.perf_counter() - started
    os.close(reader)
    os.unlink(fifo)
    return elapsed, process.returncode, data


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    options = parser.parse_args()
    project = os.path.realpath(os.path.join(OUT, "monolith"))
    if not os.access(PYTESTD, os.X_OK) or not os.path.isdir(project):
        sys.exit("build first (make build) and run bench/run once (bench/out/monolith, bench/out/venv)")
    python = hooked_venv()
    runner = [os.path.join(EXTENSION, "vscode_pytest", "run_pytest_script.py"), f"--rootdir={project}"]
    discovery = ["-m", "pytest", "-p", "vscode_pytest", "--collect-only", f"--rootdir={project}"]
    run(python, project, runner, ["tests/test_trivial.py::test_trivial"])  # starts the manager, warms
    failed = False
    for name, arguments, ids in (("single-test run", runner, ["tests/test_trivial.py::test_trivial"]),
                                 ("discovery", discovery, None)):
        plain = [run(python, project, arguments, ids, plain=True) for _ in range(options.runs)]
        hooked = [run(python, project, arguments, ids) for _ in range(options.runs)]
        same = all((r[1], r[2]) == (plain[0][1], plain[0][2]) for r in plain + hooked)
        failed = failed or not same
        plain_median, hooked_median = (statistics.median(r[0] for r in rs) for rs in (plain, hooked))
        print(f"{name}: plain {plain_median * 1000:.0f} ms, hook {hooked_median * 1000:.0f} ms, "
              f"{plain_median / hooked_median:.1f}x; exit codes and payloads equal: {same}")
    subprocess.run([PYTESTD, "stop"], cwd=project, env={**os.environ, "VIRTUAL_ENV": os.path.dirname(os.path.dirname(python)),
                                                          "PYTESTD_RUNTIME_DIR": os.path.join(OUT, "runtime")},
                   stdout=subprocess.DEVNULL)
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
