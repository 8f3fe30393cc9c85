"""The project is the one pytest would pick: pytestd's rootdir and configuration file for an invocation
agree with the `rootdir:`/`configfile:` header of the real pytest, on generated trees with random
working directories and arguments; `cd parent && pytest app/tests/...` is served by `app`'s manager; and
arguments spanning two projects run under plain pytest."""
from __future__ import annotations

import os
import random
import re
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

import harness as H
from conftest import RECORDER

# What a directory of a generated tree may hold, and whether pytest reads it as configuration
# (the comparison does not rely on this: real pytest is the oracle).
CONFIG_FILES = [
    ("pytest.ini", "[pytest]\n"),
    ("pytest.ini", "# no section: still pytest's\n"),
    (".pytest.ini", "[pytest]\n"),
    (".pytest.ini", "[other]\nx = 1\n"),
    ("pyproject.toml", "[tool.pytest.ini_options]\nminversion = \"6\"\n"),
    ("pyproject.toml", "[project]\nname = \"x\"\nversion = \"1\"\n"),
    ("pyproject.toml", "[tool.pytest]\nminversion = \"6\"\n"),
    ("pyproject.toml", "[tool.black]\nline-length = 99\n[tool.pytest.ini_options]\n"),
    ("tox.ini", "[tox]\nenvlist = py311\n\n[pytest]\n"),
    ("tox.ini", "[tox]\nenvlist = py311\n"),
    ("setup.cfg", "[metadata]\nname = x\n\n[tool:pytest]\n"),
    ("setup.cfg", "[metadata]\nname = x\n"),
    ("setup.py", "# setup.py\n"),
    ("pytest.toml", "[pytest]\n"),
]
NAMES = ["a", "b", "tests", "pkg"]


def generate_tree(rng: random.Random, base: Path) -> list[Path]:
    """Nested directories, each with a random configuration file or none, and a test module."""
    dirs = [base]
    frontier = [base]
    while frontier:
        parent = frontier.pop()
        depth = len(parent.relative_to(base).parts)
        for name in rng.sample(NAMES, rng.randint(0, 2 if depth < 3 else 0)):
            child = parent / name
            child.mkdir()
            dirs.append(child)
            frontier.append(child)
    for d in dirs:
        for _ in range(rng.choice([0, 0, 1, 1, 2])):
            name, text = rng.choice(CONFIG_FILES)
            if not (d / name).exists():
                (d / name).write_text(text)
        if rng.random() < 0.6:
            unique = "_".join(("top",) + d.relative_to(base).parts)
            (d / f"test_{unique}.py").write_text("def test_one():\n    pass\n")
    return dirs


def random_invocation(rng: random.Random, base: Path, dirs: list[Path]):
    cwd = rng.choice(dirs)
    files = [p for d in dirs for p in d.iterdir() if p.is_file()]
    tests = [p for p in files if p.name.startswith("test_")]
    configs = [p for p in files if not p.name.startswith("test_") and p.name != "setup.py"]

    def path_arg(p: Path) -> str:
        return str(p) if rng.random() < 0.3 else os.path.relpath(p, cwd)

    args, addopts = [], []
    for _ in range(rng.choice([0, 1, 1, 2, 3])):
        kind = rng.random()
        if kind < 0.3 and tests:
            args.append(path_arg(rng.choice(tests)) + rng.choice(["", "::test_one"]))
        elif kind < 0.5:
            args.append(path_arg(rng.choice(dirs)))
        elif kind < 0.55:
            args.append(path_arg(cwd / "missing" / "test_gone.py"))
        elif kind < 0.65:
            args += rng.choice([["-q"], ["-k", "one"], ["-rA"], ["--deselect", path_arg(rng.choice(dirs))]])
        elif kind < 0.75:
            option = rng.choice(["--rootdir={}", "--rootdir {}"])
            args += option.format(path_arg(rng.choice(dirs))).split(" ")
        elif kind < 0.85 and configs:
            config = path_arg(rng.choice(configs))
            args += rng.choice([["-c", config], [f"--config-file={config}"], ["-qc", config], ["-c", "/dev/null"]])
        elif kind < 0.9:
            args.append("--confcutdir=" + path_arg(rng.choice(dirs)))
        elif kind < 0.95:
            addopts.append(rng.choice(["", "--rootdir="]) + path_arg(rng.choice(dirs)))
        else:
            args += ["--", path_arg(rng.choice(dirs))]
    return cwd, args, " ".join(addopts)


def pytest_header(venv: Path, cwd: Path, args, env) -> tuple[str | None, str | None, str]:
    r = H.run_command([venv / "bin" / "pytest", "--co", "-p", "no:cacheprovider", *args], cwd, env)
    rootdir = re.search(r"^rootdir: (.*)$", r.out, re.M)
    configfile = re.search(r"^configfile: (.*?)(?: \(WARNING: .*\))?$", r.out, re.M)
    return (rootdir and rootdir.group(1)), (configfile and configfile.group(1)), r.text


def pytestd_project(bins, cwd: Path, args, env) -> H.Result:
    return H.run_command([bins.cli, "project", "--", *args], cwd, env)


def fields(text: str) -> dict:
    return {k: v.strip() for k, v in (line.split(":", 1) for line in text.splitlines() if ":" in line)}


def _environment(venv: Path, runtime_dir: Path, addopts: str = "") -> dict:
    env = {"PATH": f"{venv}/bin:/usr/bin:/bin", "VIRTUAL_ENV": str(venv), "HOME": os.environ.get("HOME", "/root"),
           "LANG": "C.UTF-8", "PYTESTD_RUNTIME_DIR": str(runtime_dir),
           "PYTESTD_WAIT": "1"}
    if addopts:
        env["PYTEST_ADDOPTS"] = addopts
    return env


@pytest.mark.parametrize("version, cases", [("3.11", 100), ("3.9", 40)])
def test_rootdir_and_configfile_agree_with_pytest_on_generated_trees(ctx, needs_daemon, version, cases):
    """Seeded (PYTESTD_IT_SEED explores others): a failure names its case; the same seed reproduces it."""
    venv = ctx.venv_for(version)
    rng = random.Random(int(os.environ.get("PYTESTD_IT_SEED", "7000")) + cases)
    mismatches, served = [], 0
    invocations = []
    for case in range(cases):
        base = ctx.new_root(f"tree{case}")
        dirs = generate_tree(rng, base)
        invocations.append(random_invocation(rng, base, dirs))

    def both(invocation):
        cwd, args, addopts = invocation
        env = _environment(venv, ctx.runtime_dir, addopts)
        return pytest_header(venv, cwd, args, env), pytestd_project(ctx.bins, cwd, args, env)

    with ThreadPoolExecutor(4) as pool:
        answers = list(pool.map(both, invocations))
    for case, ((cwd, args, addopts), ((rootdir, configfile, pytest_text), ours)) in enumerate(zip(invocations, answers)):
        where = f"case {case}: cd {cwd} && PYTEST_ADDOPTS={addopts!r} pytest {' '.join(args)}"
        if rootdir is None:
            continue  # pytest rejects the invocation: the warm run reports the same usage error
        if ours.rc == 4:
            # Plain pytest runs it: right only when pytest's rootdir is / or a path lies outside it.
            reason = ours.out.strip()
            span = re.search(r"plain pytest: (.*) is outside the project at (.*?)(?: \(the arguments span.*)?$", reason)
            outside = span and (str(cwd) if span.group(1) == "the working directory" else span.group(1))
            if not (rootdir == "/" and "rootdir would be /" in reason
                    or span and span.group(2) == rootdir and outside != rootdir and not outside.startswith(rootdir + "/")):
                mismatches.append(f"{where}\n  pytestd sends it to plain pytest: {reason}\n  pytest: rootdir {rootdir}")
            continue
        assert ours.rc == 0, f"{where}\n{ours.describe()}"
        served += 1
        got = fields(ours.out)
        got_config = None if got["configfile"] == "(none)" else os.path.relpath(got["configfile"], got["rootdir"])
        if (got["rootdir"], got_config) != (rootdir, configfile):
            mismatches.append(f"{where}\n  pytestd: rootdir {got['rootdir']}, configfile {got_config}\n"
                              f"  pytest:  rootdir {rootdir}, configfile {configfile}\n{pytest_text[-600:]}")
    assert not mismatches, f"{len(mismatches)} of {cases} differ:\n" + "\n".join(mismatches[:8])
    print(f"{served} of {cases} served, the rest plain pytest or rejected by pytest")
    assert served >= cases // 2, f"only {served} of {cases} cases were served: the generator is off"


APP = {
    "app/pyproject.toml": "[tool.pytest.ini_options]\nmarkers = [\"slow: slow\"]\n",
    "app/tests/test_x.py": """
        def test_passes():
            assert 1 + 1 == 2

        def test_fails():
            assert 1 + 1 == 3
    """,
    # Importing this means a warm-up collected the parent directory, not the project.
    "other/conftest.py": """
        import os
        open(os.path.join(os.path.dirname(__file__), "IMPORTED"), "w").close()
    """,
    "other/pytest.ini": "[pytest]\n",
    "other/tests/test_y.py": "def test_y():\n    pass\n",
}


def test_run_from_the_parent_directory_is_served_by_the_apps_manager(ctx, needs_daemon):
    pair = ctx.pair(APP, label="parent")
    for project in (pair.d, pair.p):
        project.write("app/conftest.py", RECORDER, raw=True)
    plain, daemon = pair.compare("app/tests/test_x.py", "-q")
    assert plain.rc == 1 and "1 failed, 1 passed" in plain.out and plain.outcomes, plain.describe()

    app = pair.d.root / "app"
    try:
        served = pair.d.pytest("app/tests/test_x.py", "-q", env_extra={"PYTESTD_TIMING": "1"})
        assert "pytestd: run child" in served.err and served.outcomes == plain.outcomes, served.describe()
        assert not (pair.d.root / "other" / "IMPORTED").exists(), "the warm-up collected outside the project"
        status = H.run_command([ctx.bins.cli, "status"], app, pair.d.env())
        fields_ = H.parse_status(status.out)
        assert fields_.get("root") == str(app) and fields_.get("configfile") == str(app / "pyproject.toml"), status.describe()
        assert int(fields_["runs"]) == 2, status.describe()
        shown = fields(pair.d.cli("project", "--", "app/tests/test_x.py").out)
        assert shown["rootdir"] == str(app) and shown["configfile"] == str(app / "pyproject.toml"), shown
        assert shown["manager"].endswith("(running)"), shown
    finally:
        H.run_command([ctx.bins.cli, "stop"], app, pair.d.env())


def test_arguments_spanning_two_projects_run_under_plain_pytest_with_a_note(ctx, needs_daemon):
    pair = ctx.pair(APP, label="span")
    plain, daemon = pair.compare("app/tests", "other/tests", "-q")
    assert plain.rc == 1, plain.describe()
    notes = [line for line in daemon.err.splitlines() if line.startswith("pytestd:")]
    assert len(notes) == 1 and "span two projects" in notes[0] and notes[0].endswith("running plain pytest"), daemon.describe()
    app_status = H.run_command([ctx.bins.cli, "status"], pair.d.root / "app", pair.d.env())
    assert app_status.rc == 3, f"no manager should have started:\n{app_status.describe()}"


def test_arguments_pytest_rejects_run_under_plain_pytest_silently(ctx, needs_daemon):
    pair = ctx.pair(APP, label="reject")
    plain, daemon = pair.compare("app/tests", "--rootdir", "app/nowhere", full_output=True)
    assert plain.rc == 4 and "--rootdir" in plain.err, plain.describe()
    assert "pytestd" not in daemon.err, daemon.describe()
