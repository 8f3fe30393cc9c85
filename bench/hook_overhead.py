#!/usr/bin/env python3
"""What the interpreter hook (`pytestd install-hook`) adds to an unrelated interpreter start.

Two venvs of the same base interpreter, one with the hook and one without, each start
`python -c pass` (or `--command`) alternately, many times, in the same run; prints the medians of
wall time and of CPU time (user + system, less disturbed by other load) and their differences. Usage (one command; needs `make build`):

    bench/hook_overhead.py [--python BASE_PYTHON ...] [--runs 400]
"""

import argparse
import glob
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PYTESTD = os.path.join(ROOT, ".build", "release", "pytestd")


def start_once(python, command):
    """Wall time and CPU time (user + system) of one start."""
    started = time.perf_counter()
    pid = os.posix_spawn(python, [python, *command], {"PATH": "/usr/bin:/bin", "LANG": "C.UTF-8"})
    _, status, usage = os.wait4(pid, 0)
    elapsed = time.perf_counter() - started
    if status != 0:
        sys.exit(f"{python} {' '.join(command)} failed (wait status {status})")
    return elapsed, usage.ru_utime + usage.ru_stime


def measure(base, runs, command, scratch, other_pth):
    venvs = {}
    for name in ("without", "with"):
        venv = os.path.join(scratch, f"{os.path.basename(os.path.dirname(os.path.dirname(base)))}-{name}-{other_pth}")
        subprocess.run([base, "-m", "venv", "--without-pip", venv], check=True)
        venvs[name] = os.path.join(venv, "bin", "python")
    if other_pth:
        # As in most venvs (setuptools' distutils-precedence.pth, editable installs): site then
        # reads .pth files anyway, and what remains is the hook's own cost.
        for python in venvs.values():
            site = glob.glob(os.path.join(os.path.dirname(os.path.dirname(python)), "lib", "*", "site-packages"))[0]
            with open(os.path.join(site, "other.pth"), "w") as f:
                f.write("import os; var = 'SETUPTOOLS_USE_DISTUTILS'; enabled = os.environ.get(var, 'local') == 'local'\n")
    subprocess.run([PYTESTD, "install-hook", "--python", venvs["with"]], check=True, stdout=subprocess.DEVNULL)
    assert glob.glob(os.path.join(os.path.dirname(os.path.dirname(venvs["with"])), "lib", "*", "site-packages", "pytestd-hook.pth"))
    times = {"without": [], "with": []}
    for name in ("without", "with"):  # warm the page cache and write the hook's bytecode
        for _ in range(5):
            start_once(venvs[name], command)
    for i in range(runs):
        order = ("without", "with") if i % 2 == 0 else ("with", "without")
        for name in order:
            times[name].append(start_once(venvs[name], command))
    return {(name, kind): statistics.median(t[k] for t in values) * 1000
            for name, values in times.items() for k, kind in enumerate(("wall", "cpu"))}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--python", action="append", help="base interpreter(s); default: pyenv's 3.9 and 3.11")
    parser.add_argument("--runs", type=int, default=400)
    parser.add_argument("--command", default="-c pass", help="interpreter arguments (default: -c pass)")
    parser.add_argument("--bare-only", action="store_true", help="only venvs without any other .pth file")
    options = parser.parse_args()
    if not os.access(PYTESTD, os.X_OK):
        sys.exit("build first: make build")
    pyenv = os.environ.get("PYENV_ROOT", os.path.expanduser("~/.pyenv"))
    bases = options.python or sorted(
        path for minor in ("3.9", "3.11") for path in glob.glob(f"{pyenv}/versions/{minor}.*/bin/python{minor}"))
    scratch = tempfile.mkdtemp(prefix="hook-bench-")
    try:
        print(f"python {options.command}: median of {options.runs} starts each, alternating")
        for base in bases:
            for other_pth in (False,) if options.bare_only else (False, True):
                medians = measure(base, options.runs, options.command.split(), scratch, other_pth)
                venv = "a venv with another .pth" if other_pth else "a bare venv"
                for kind in ("wall", "cpu"):
                    without, with_hook = medians["without", kind], medians["with", kind]
                    print(f"{base}, {venv}, {kind}: without hook {without:.2f} ms, with hook {with_hook:.2f} ms, "
                          f"added {with_hook - without:+.2f} ms")
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


if __name__ == "__main__":
    main()
