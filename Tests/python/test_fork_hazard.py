"""`pytestd._threads.fork_hazard`: the verdict the host asks for before it forks a template that has
threads besides its own. Each case runs in a fresh interpreter, so the suite's own threads (if any)
play no part."""
import subprocess
import sys
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[2] / "python"


def verdict(setup: str) -> str:
    code = f"import sys; sys.path.insert(0, {str(PACKAGE)!r})\n{setup}\n" \
           "from pytestd._threads import fork_hazard\nsys.stdout.write(fork_hazard().decode())\n"
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    return r.stdout


def test_no_other_thread_is_no_hazard():
    assert verdict("") == ""


def test_a_finished_thread_is_no_hazard():
    assert verdict("import threading\nt = threading.Thread(target=lambda: None)\nt.start()\nt.join()") == ""


def test_a_running_python_thread_is_named():
    said = verdict("import threading, time\n"
                   "def poll():\n    time.sleep(30)\n"
                   "threading.Thread(target=poll, name='poller', daemon=True).start()\ntime.sleep(0.1)")
    assert said.startswith("the warm template runs a thread an import started ('poller', target __main__.poll)"), said


def test_a_thread_subclass_is_named_by_its_run_method():
    said = verdict("import threading, time\n"
                   "class Pump(threading.Thread):\n    def run(self):\n        time.sleep(30)\n"
                   "Pump(name='pump', daemon=True).start()\ntime.sleep(0.1)")
    assert "('pump', target Pump.run)" in said, said


def test_a_thread_threading_does_not_know_counts_as_unknown():
    said = verdict("import _thread, time\n_thread.start_new_thread(time.sleep, (30,))\ntime.sleep(0.1)")
    assert said == "the warm template has 1 native thread an import started that pytestd cannot prove safe to fork across", said
