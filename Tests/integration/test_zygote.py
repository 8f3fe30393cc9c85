"""Clean hosts forked from the zygote (README: Freshness and hot reload): a warm-up paused before the
root conftest, with that conftest's imports done. After a conftest edit the clean host is forked
from it, executes the new conftest and collects, and imports nothing the zygote already has. Every
run is compared with plain pytest; `slow.py` appends a line to a file each time it is executed, so a
test can see what a clean host imported again without timing anything."""
import os
import signal
import textwrap

import pytest

import harness as H
from conftest import PYPROJECT

pytestmark = pytest.mark.usefixtures("needs_daemon")

CONFTEST = '''
    """The root conftest."""
    import os
    import pytest
    import slow
    from registry import HANDLERS

    LIMIT = 1


    @pytest.fixture
    def limit():
        return LIMIT
'''

SLOW = '''
    import os
    import time

    with open(os.environ["SLOW_RUNS"], "a") as log:
        log.write(f"{os.getpid()}\\n")
    time.sleep(1.5)
'''

FILES = {
    "pyproject.toml": PYPROJECT,
    "src/slow.py": SLOW,
    "src/registry.py": "HANDLERS = []\n",
    "conftest.py": CONFTEST,
    "tests/test_limit.py": '''
        import slow

        def test_limit(limit):
            assert limit == 1

        def test_slow_once():
            assert slow.__name__ == "slow"
    ''',
}


@pytest.fixture
def pair(ctx, tmp_path):
    runs = tmp_path / "slow-runs"
    pair = ctx.pair(FILES, label="zygote")
    pair.env_extra = {"SLOW_RUNS": str(runs)}
    pair.compare("-q", env_extra=pair.env_extra, daemon_first=True)
    assert _zygote_ready(pair), pair.d.status()
    pair.slow_runs = runs
    return pair


def _zygote_ready(pair, timeout=60):
    return H.wait_for(lambda: "paused before conftest.py" in pair.d.status().get("zygote", ""), timeout)


def _compare(pair, *args):
    """Compares; returns both results and the processes that executed `slow.py` meanwhile (a plain
    run, a full warm-up: never a host forked from the zygote, nor a run)."""
    before = pair.slow_runs.read_text().split()
    plain, daemon = pair.compare(*args, env_extra=pair.env_extra, daemon_first=True)
    return plain, daemon, pair.slow_runs.read_text().split()[len(before):]


def test_a_top_level_conftest_edit_is_served_by_a_host_forked_from_the_zygote(pair):
    before = pair.edit("conftest.py", "LIMIT = 1\n", "LIMIT = 2\n")
    plain, daemon, new = _compare(pair, "-q")
    assert plain.rc == 1 and "test_limit" in plain.out, plain.describe()
    H.fallback_after(pair.d, before)
    status = pair.d.status()
    assert status["host generation"].endswith("(clean, forked from the zygote)"), status
    # Only plain pytest executed slow.py again: the forked host had it from the zygote.
    assert len(new) == 1 and int(new[0]) != int(status["host pid"]), (new, status)
    assert "1 clean hosts forked" in status["zygote"], status

    # And again: the same zygote serves every clean host while its files stay as they were.
    before = pair.edit("conftest.py", "LIMIT = 2\n", "LIMIT = 1\n\n\n@pytest.fixture\ndef extra():\n    return 3\n")
    plain, daemon, new = _compare(pair, "-q")
    assert plain.rc == 0, plain.describe()
    H.fallback_after(pair.d, before)
    assert len(new) == 1 and "2 clean hosts forked" in pair.d.status()["zygote"], pair.d.status()


def test_a_conftest_whose_imports_changed_gets_a_full_warm_up_and_a_new_zygote(pair):
    old_zygote = int(pair.d.status()["zygote pid"])
    before = pair.edit("conftest.py", "import slow\n", "import slow\nimport registry\n")
    plain, daemon, new = _compare(pair, "-q")
    H.fallback_after(pair.d, before)
    status = pair.d.status()
    assert status["host generation"].endswith("(clean)"), status
    assert "its import statements changed" in status["zygote"] or _zygote_ready(pair), status
    # A full warm-up executed slow.py again, besides plain pytest.
    assert len(new) == 2, new
    assert H.wait_gone([old_zygote], 10) == [], "the old zygote still runs"
    assert _zygote_ready(pair), pair.d.status()
    assert int(pair.d.status()["zygote pid"]) != old_zygote


def test_an_edit_of_a_module_the_zygote_imported_drops_it(pair):
    old_zygote = int(pair.d.status()["zygote pid"])
    before = H.change_set_id(pair.d.status())
    pair.write("src/registry.py", "HANDLERS = [1]\n")
    plain, daemon, new = _compare(pair, "-q")
    assert H.change_set_id(pair.d.status()) > before
    assert H.wait_gone([old_zygote], 10) == [], "a zygote holding the old registry still runs"
    assert "registry.py changed" in pair.d.status().get("zygote", "") or _zygote_ready(pair)


def test_a_conftest_that_appears_drops_it(pair):
    """A fresh process may execute a new conftest before the zygote's (pytest loads them from the
    root down): the zygote goes, and the next clean host warms up in full."""
    old_zygote = int(pair.d.status()["zygote pid"])
    pair.write("tests/conftest.py", "import pytest\n\n@pytest.fixture\ndef limit():\n    return 5\n")
    plain, daemon, new = _compare(pair, "-q")
    assert plain.rc == 1, plain.describe()
    assert H.wait_gone([old_zygote], 10) == [], "the zygote still runs"
    assert len(new) == 2, new


@pytest.mark.parametrize("first", [
    "import sys\nsys.path.insert(0, 'src')\n",
    "import os\nos.environ.setdefault('FROM_CONFTEST', '1')\n",
])
def test_a_conftest_doing_more_than_importing_before_its_imports_gets_no_zygote(ctx, tmp_path, first):
    files = dict(FILES, **{"conftest.py": first + textwrap.dedent(CONFTEST).replace('"""The root conftest."""', "")})
    pair = ctx.pair(files, label="no-zygote")
    env = {"SLOW_RUNS": str(tmp_path / "slow-runs")}
    pair.compare("-q", env_extra=env, daemon_first=True)
    status = pair.d.status()
    assert status.get("zygote") == "none" and "zygote pid" not in status, status
    assert "no zygote" in pair.d.cli("logs").out


def test_a_killed_zygote_means_full_warm_ups_and_correct_runs(pair):
    zygote = int(pair.d.status()["zygote pid"])
    os.kill(zygote, signal.SIGKILL)
    assert H.wait_for(lambda: "zygote pid" not in pair.d.status(), 10), pair.d.status()
    before = pair.edit("conftest.py", "LIMIT = 1\n", "LIMIT = 3\n")
    plain, daemon, new = _compare(pair, "-q")
    H.fallback_after(pair.d, before)
    assert pair.d.status()["host generation"].endswith("(clean)"), pair.d.status()
    assert "it exited" in pair.d.status()["zygote"] or _zygote_ready(pair)


def test_stopping_the_manager_ends_the_zygote(pair):
    zygote = int(pair.d.status()["zygote pid"])
    assert pair.d.cli("stop").rc == 0
    assert H.wait_gone([zygote], 10) == [], f"the zygote outlived the manager: {H.proc_info(zygote)}"
