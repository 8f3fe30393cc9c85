"""The memory budget (issue 10, health and bounds): an idle template expires when the machine is short
of memory or the project's processes are over their budget, never while a run is in flight; nothing is
left running, `pytestd status` says why, and the next run is right (equal to plain pytest's).

`PYTESTD_MEMINFO` points the manager at a file the test writes instead of /proc/meminfo: the machine is
short of memory, or not, exactly when the test says."""
import json
import os
import time
from pathlib import Path

import pytest

import harness as H
from conftest import PYPROJECT, WAITS_FOR_RELEASE, assert_same_run, dedent

pytestmark = pytest.mark.usefixtures("needs_daemon")

IDLE_SECONDS = 3
# The manager checks every 2 s once the template has been idle this long.
EXPIRY_WITHIN = IDLE_SECONDS + 2 + 10


def files(budget: str) -> dict:
    return {
        "pyproject.toml": PYPROJECT + f"\n[tool.pytestd]\nexpire_idle_minutes = {IDLE_SECONDS / 60}\n{budget}\n",
        "conftest.py": "import mod  # noqa: F401\n",
        "src/mod.py": "VALUE = 1\n",
        "tests/test_mod.py": dedent('''
            import mod

            def test_value():
                assert mod.VALUE == 1

            def test_fails_on_purpose():
                assert mod.VALUE == 0
        ''') + WAITS_FOR_RELEASE,
    }


EXPECTED = "1 failed, 1 passed, 1 skipped"


def write_meminfo(path: Path, available_percent: float):
    total = 16 << 20
    path.write_text(f"MemTotal:       {total} kB\nMemFree:        {total // 200} kB\n"
                    f"MemAvailable:   {int(total * available_percent / 100)} kB\n")


@pytest.fixture
def budget_pair(ctx, request):
    pair = ctx.pair(files(getattr(request, "param", "low_memory_percent = 5")), label="budget")
    pair.meminfo = ctx.workdir / f"meminfo-{time.monotonic_ns()}"
    write_meminfo(pair.meminfo, 50)
    pair.env = {"PYTESTD_MEMINFO": pair.meminfo}
    return pair


def status_json(proj) -> dict:
    r = proj.cli("status", "--json")
    assert r.rc == 0, r.describe()
    return json.loads(r.out)


def fd_count(pid) -> int:
    return len(os.listdir(f"/proc/{pid}/fd"))


def hosts_of(proj) -> dict:
    """The project's processes other than its manager: hosts (and their runs), pid -> command line."""
    manager = status_json(proj)["pid"]
    return {p: c for p, c in H.processes_mentioning(str(proj.root)).items() if p != manager}


def right_run(pair, **env):
    plain, daemon = pair.run_both("-q", env_extra={**pair.env, **env}, timeout=90)
    assert_same_run(plain, daemon, pair.p.root, pair.d.root)
    assert daemon.rc == 1 and H.summary_line(daemon.out) == EXPECTED, daemon.describe()
    return daemon


def expired(proj, timeout=EXPIRY_WITHIN) -> dict:
    document = H.wait_for(lambda: (d := status_json(proj))["state"] == "expired" and d, timeout, 0.2)
    assert document, f"the template did not expire: {status_json(proj)}"
    return document


def test_an_idle_template_expires_when_the_machine_is_short_of_memory(budget_pair):
    pair = budget_pair
    right_run(pair)
    warm = status_json(pair.d)
    assert warm["state"] == "ready", warm
    template = warm["host"]["pid"]
    # The manager's descriptors besides one channel per host: the expiry must give those back too.
    own_descriptors = fd_count(warm["pid"]) - len(hosts_of(pair.d))

    # Plenty of memory: idle for longer than the idle time and a few checks, the template stays.
    time.sleep(IDLE_SECONDS + 4)
    document = status_json(pair.d)
    assert document["state"] == "ready" and document["host"]["pid"] == template, document

    write_meminfo(pair.meminfo, 1)
    document = expired(pair.d)
    assert document["reason"].startswith("memory: 163 MiB of 16 GiB available, below 5%; no run for "), document
    assert "host" not in document and "memory" in document, document
    assert not H.wait_gone([template], 10), H.proc_info(template)
    assert H.wait_for(lambda: not hosts_of(pair.d), 10), f"processes left after the expiry: {hosts_of(pair.d)}"
    assert fd_count(warm["pid"]) <= own_descriptors, os.listdir(f"/proc/{warm['pid']}/fd")
    text = pair.d.status()
    assert text["state"].startswith("template expired (memory: 163 MiB of 16 GiB available, below 5%"), text
    assert text["last retirement"] == text["state"], text
    assert "the template expires after 3 s without a run when MemAvailable is below 5% of MemTotal (now 1%)" in text["memory budget"], text

    # An edit does not bring it back: only a run does.
    pair.write("src/mod.py", "VALUE = 1\nEDITED = True\n")
    time.sleep(1.5)
    assert status_json(pair.d)["state"] == "expired" and not hosts_of(pair.d), status_json(pair.d)

    # The next run, still short of memory, under the default policy (plain pytest when it is sooner).
    right_run(pair, PYTESTD_WAIT=None)
    # And the one after it is served warm again.
    right_run(pair)
    document = status_json(pair.d)
    assert document["state"] == "ready" and document["host"]["pid"] != template, document


def test_no_expiry_while_a_run_is_in_flight(budget_pair):
    pair = budget_pair
    right_run(pair)
    template = status_json(pair.d)["host"]["pid"]
    started = pair.d.ctx.workdir / f"started-{time.monotonic_ns()}"
    release = pair.d.ctx.workdir / f"release-{time.monotonic_ns()}"
    running = pair.d.start("-q", "tests/test_mod.py::test_waits_for_release",
                           env_extra={**pair.env, "STARTED_FILE": started, "RELEASE_FILE": release})
    assert H.wait_for(lambda: started.exists() and started.read_text(), 60), running.output_so_far()
    write_meminfo(pair.meminfo, 1)

    # Short of memory and the last run began long ago, but it is still running: nothing expires.
    time.sleep(IDLE_SECONDS + 5)
    document = status_json(pair.d)
    assert document["state"] == "ready" and document["runs_in_flight"] == 1 and document["host"]["pid"] == template, document
    release.write_text("pass")
    r = running.finish(timeout=60)
    assert r.rc == 0 and "1 passed" in r.out, r.describe()
    # Just ended: not idle yet.
    document = status_json(pair.d)
    assert document["state"] == "ready" and document["host"]["pid"] == template, document

    expired(pair.d)
    assert not H.wait_gone([template], 10)
    assert H.wait_for(lambda: not hosts_of(pair.d), 10), hosts_of(pair.d)
    right_run(pair)


@pytest.mark.parametrize("budget_pair", ["low_memory_percent = 0\nmemory_budget_mib = 1"], indirect=True)
def test_a_project_over_its_budget_expires_when_idle(budget_pair):
    pair = budget_pair
    right_run(pair)
    template = status_json(pair.d)["host"]["pid"]
    document = expired(pair.d)
    assert document["reason"].startswith("memory: the project's processes use "), document
    assert "over its budget of 1 MiB; no run for" in document["reason"], document
    assert not H.wait_gone([template], 10)
    assert H.wait_for(lambda: not hosts_of(pair.d), 10), hosts_of(pair.d)
    right_run(pair)
