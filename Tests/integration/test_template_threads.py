"""Threads in the warm template (issue 10 item 4): fork() copies only the forking thread, so a lock
another thread holds stays held forever in the run. OpenBLAS's pool (numpy) is safe — OpenBLAS stops it
before every fork — and is forked; any other thread sends the run to plain pytest, saying why."""
import subprocess

import pytest

import harness as H
from conftest import PYPROJECT

pytestmark = pytest.mark.usefixtures("needs_daemon")

NUMPY = "numpy==2.4.6"


@pytest.fixture(scope="session")
def numpy_venv():
    venv = H.VENV_ROOT / "numpy-3.11"
    probe = [str(venv / "bin" / "python"), "-c", f"import numpy, pytest; assert numpy.__version__ == {NUMPY.split('==')[1]!r}"]
    if not (venv / "bin" / "python").exists() or subprocess.run(probe, capture_output=True).returncode:
        base = H.PYENV_VERSIONS / H.PYTHON_VERSIONS["3.11"] / "bin" / "python"
        subprocess.run([str(base), "-m", "venv", "--clear", str(venv)], check=True, timeout=300)
        subprocess.run([str(venv / "bin" / "pip"), "install", "-q", "pytest", NUMPY], check=True, timeout=600)
    return venv


def pair_in(ctx, venv, files, label):
    pair = ctx.pair(files, label=label)
    for project in (pair.d, pair.p):
        project.venv = venv
        project.venvs_used = {venv}
    return pair


NUMPY_FILES = {
    "pyproject.toml": PYPROJECT,
    # A matrix product at import starts OpenBLAS's worker threads in the template.
    "conftest.py": '''
        import numpy as np

        WARM = np.arange(40000, dtype=float).reshape(200, 200) / 1e4
        WARM_PRODUCT = WARM @ WARM
    ''',
    "tests/test_products.py": '''
        import numpy as np
        import pytest

        @pytest.mark.parametrize("n", [50, 200, 400])
        def test_product(n):
            a = np.arange(n * n, dtype=float).reshape(n, n) / (n * n)
            product = a @ a.T
            print(f"sum {n}: {product.sum():.6f}")
            assert np.allclose(product, product.T)

        def test_product_of_the_warm_matrix():
            import conftest
            assert np.array_equal(conftest.WARM @ conftest.WARM, conftest.WARM_PRODUCT)

        def test_fails_on_purpose():
            assert (np.ones((300, 300)) @ np.ones((300, 300)))[0, 0] == 299
    ''',
}


def test_a_template_with_openblas_threads_serves_runs_warm_and_right(ctx, numpy_venv):
    pair = pair_in(ctx, numpy_venv, NUMPY_FILES, label="numpy")
    for args, rc, summary in [(("-q", "-s"), 1, "1 failed, 4 passed"), (("-q", "-s", "-k", "warm or 200"), 0, "2 passed, 3 deselected"),
                              (("-q", "-s"), 1, "1 failed, 4 passed")]:
        plain, daemon = pair.compare(*args, timeout=120)
        assert daemon.rc == rc and H.summary_line(daemon.out) == summary, daemon.describe()
        assert "pytestd:" not in daemon.err, daemon.describe()  # served warm, no note
    status = pair.d.status()
    assert status["runs"] == "3" and status["fallbacks"] == "none", status
    assert "each known safe to fork across" in pair.d.cli("logs").out


THREAD_FILES = {
    "pyproject.toml": PYPROJECT,
    "conftest.py": "import poller  # noqa: F401\n",
    # A background thread started at import that nearly always holds its lock: a fork copies it held.
    "src/poller.py": '''
        import threading, time

        LOCK = threading.Lock()

        def poll():
            while True:
                with LOCK:
                    time.sleep(0.2)
                time.sleep(0.0001)

        threading.Thread(target=poll, name="poller", daemon=True).start()
    ''',
    "tests/test_lock.py": '''
        import poller

        def test_takes_the_lock():
            assert poller.LOCK.acquire(timeout=5), "the lock is held forever: a fork copied it held"
            poller.LOCK.release()

        def test_fails_on_purpose():
            assert 1 == 2
    ''',
}


def test_a_template_with_a_thread_of_its_own_runs_plain_pytest_and_says_why(ctx):
    pair = ctx.pair(THREAD_FILES, label="threaded")
    for _ in range(2):
        plain, daemon = pair.run_both("-q", "tests/test_lock.py", timeout=60)
        assert plain.rc == daemon.rc == 1, daemon.describe()
        assert H.summary_line(plain.out) == H.summary_line(daemon.out) == "1 failed, 1 passed", daemon.describe()
        notes = [line for line in daemon.err.splitlines() if line.startswith("pytestd:")]
        assert len(notes) == 1 and "a thread an import started ('poller', target poller.poll)" in notes[0], daemon.err
    status = pair.d.status()
    assert "declined run 2" in status["fallbacks"], status
