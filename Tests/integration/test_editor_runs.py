"""VS Code's test explorer through the interpreter hook (`pytestd install-hook`), compared with plain Python.

The explorer never runs a `pytest` executable: it starts the interpreter as `python -m pytest -p
vscode_pytest --collect-only …` to discover and `python …/vscode_pytest/run_pytest_script.py …` to run,
with `PYTHONPATH=<extension>/python_files`, a result FIFO in `TEST_RUN_PIPE` and the node ids in the file
`RUN_TEST_IDS_PIPE` names (see ../shared/research/vscode.md). `Editor` does the same around
`editor_stub/`, a plugin and runner of ours with the same contract, in two venvs of one interpreter: one
with the hook, one without. Same project, same arguments: payloads and exit codes must be equal, the FIFO
must reach end-of-file within 5 s of the exit (the extension waits that long), and the hooked runs must
have been served by the warm manager.
"""
from __future__ import annotations

import json
import os
import select
import shutil
import signal
import subprocess
import threading
import time
from pathlib import Path

import pytest

import harness as H

pytestmark = pytest.mark.usefixtures("needs_daemon")

STUB = Path(__file__).parent / "editor_stub"

FILES = {
    "pytest.ini": "[pytest]\n",
    # colorsys is imported into the template: a PYTHONPATH entry holding a colorsys would shadow it.
    "conftest.py": "import colorsys\n",
    "app/__init__.py": "",
    "app/calc.py": "def add(a, b):\n    return a + b\n",
    "tests/__init__.py": "",
    "tests/test_calc.py": """\
        import pytest
        from app.calc import add

        def test_add():
            assert add(1, 2) == 3

        def test_add_wrong():
            assert add(1, 1) == 3

        @pytest.mark.parametrize("a", [1, 2])
        def test_param(a):
            assert add(a, 0) == a

        @pytest.mark.skip(reason="not today")
        def test_skipped():
            pass
        """,
}


def make_venv(ctx, name: str, version: str = "3.11") -> Path:
    """A venv of the test interpreter sharing its packages (pytest) through a `.pth`."""
    base = ctx.venv_for(version)
    venv = ctx.workdir / name
    subprocess.run([str(base / "bin" / "python"), "-m", "venv", "--without-pip", str(venv)], check=True, timeout=120)
    site = next((venv / "lib").glob("python3.*/site-packages"))
    shared = next((base / "lib").glob("python3.*/site-packages"))
    (site / "shared-test-venv.pth").write_text(f"{shared}\n")
    return venv


def install_hook(project, venv: Path) -> H.Result:
    project.venvs_used.add(venv)
    r = project.cli("install-hook", "--python", venv / "bin" / "python")
    assert r.rc == 0, r.describe()
    return r


def hook_files(venv: Path) -> list:
    return sorted(p.name for p in next((venv / "lib").glob("python3.*/site-packages")).iterdir() if "pytestd" in p.name)


class EditorRun:
    def __init__(self, rc, out, err, payloads, eof_seconds, pid):
        self.rc, self.out, self.err, self.payloads, self.eof_seconds, self.pid = rc, out, err, payloads, eof_seconds, pid

    def describe(self) -> str:
        return f"rc={self.rc} eof after exit: {self.eof_seconds}\n--- stdout ---\n{self.out}\n--- stderr ---\n{self.err}"


class Editor:
    """What the test explorer does around one interpreter start."""

    RUNNER = STUB / "python_files" / "vscode_pytest" / "run_pytest_script.py"

    def __init__(self, project, hooked: Path, plain: Path):
        self.project, self.hooked, self.plain = project, hooked, plain
        self.scratch = project.ctx.new_root("editor")

    def env(self, fifo: Path, ids: Path | None, extra=None) -> dict:
        # The explorer passes the workspace environment (no activated venv here) plus its variables.
        env = self.project.env({"VIRTUAL_ENV": None, **(extra or {})})
        env.update(PYTHONPATH=str(STUB / "python_files") + (":" + env["PYTHONPATH"] if env.get("PYTHONPATH") else ""),
                   TEST_RUN_PIPE=str(fifo))
        if ids is not None:
            env["RUN_TEST_IDS_PIPE"] = str(ids)
        return env

    def start(self, venv: Path, arguments, ids=None, extra=None):
        fifo = self.scratch / f"python-test-results-{time.monotonic_ns()}"
        os.mkfifo(fifo, 0o666)
        ids_file = None
        if ids is not None:
            ids_file = self.scratch / f"ids-{time.monotonic_ns()}"
            ids_file.write_text("".join(f"{self.project.root / i}\n" for i in ids))
        reader = FifoReader(fifo)
        running = H.Running([venv / "bin" / "python", *arguments], self.project.root, self.env(fifo, ids_file, extra))
        self.project.ctx.track(running)
        reader.watch(running.proc)
        return running, reader

    def finish(self, running, reader, timeout=120) -> EditorRun:
        r = running.finish(timeout)
        assert not r.pipe_held_open, "stdout/stderr stayed open after the exit\n" + r.describe()
        payloads, eof = reader.result()
        return EditorRun(r.rc, r.out, r.err, payloads, eof, running.pid)

    def run_tests(self, venv: Path, ids, extra=None) -> EditorRun:
        return self.finish(*self.start(venv, [self.RUNNER, f"--rootdir={self.project.root}"], ids=ids, extra=extra))

    def discover(self, venv: Path, *options) -> EditorRun:
        return self.finish(*self.start(
            venv, ["-m", "pytest", "-p", "vscode_pytest", "--collect-only", *options, f"--rootdir={self.project.root}"]))

    def both(self, action, *args, **kw):
        return action(self, self.plain, *args, **kw), action(self, self.hooked, *args, **kw)

    def runs_served(self) -> int:
        return int(self.project.status(self.hooked).get("runs", "0"))


class FifoReader:
    """The extension's end of the result FIFO: opened read-only and non-blocking before the process
    starts, read until end-of-file (no writer left once the process has exited)."""

    def __init__(self, path: Path):
        self.fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
        self.data = b""
        self.eof_after_exit = None

    def watch(self, proc):
        self.thread = threading.Thread(target=self._read, args=(proc,), daemon=True)
        self.thread.start()

    def _read(self, proc):
        exited_at = None
        while True:
            select.select([self.fd], [], [], 0.05)
            try:
                chunk = os.read(self.fd, 65536)
            except BlockingIOError:
                chunk = None
            if chunk:
                self.data += chunk
                continue
            if exited_at is None and proc.poll() is not None:
                exited_at = time.monotonic()
            if exited_at is not None:
                if chunk == b"":
                    self.eof_after_exit = time.monotonic() - exited_at
                    return
                if time.monotonic() - exited_at > 5:
                    return
            time.sleep(0.01)

    def result(self):
        self.thread.join(30)
        os.close(self.fd)
        return parse_frames(self.data), self.eof_after_exit


def parse_frames(data: bytes) -> list:
    """`content-length: N\\r\\ncontent-type: application/json\\r\\n\\r\\n{json}` messages → their params."""
    payloads = []
    while data:
        header, sep, rest = data.partition(b"\r\n\r\n")
        assert sep, f"unterminated header: {data[:200]!r}"
        fields = dict(line.split(b": ", 1) for line in header.split(b"\r\n"))
        length = int(fields[b"content-length"])
        message = json.loads(rest[:length])
        assert message["jsonrpc"] == "2.0"
        payloads.append(message["params"])
        data = rest[length:]
    return payloads


def assert_same(plain: EditorRun, hooked: EditorRun):
    assert hooked.rc == plain.rc, f"plain:\n{plain.describe()}\nhooked:\n{hooked.describe()}"
    assert hooked.payloads == plain.payloads, f"plain:\n{plain.describe()}\nhooked:\n{hooked.describe()}"
    for run in (plain, hooked):
        assert run.eof_seconds is not None and run.eof_seconds <= 5, "the result FIFO did not reach end-of-file\n" + run.describe()


@pytest.fixture(scope="module")
def editor(module_ctx):
    project = module_ctx.project(FILES, label="editor")
    hooked = make_venv(module_ctx, "editor-hooked")
    plain = make_venv(module_ctx, "editor-plain")
    install_hook(project, hooked)
    return Editor(project, hooked, plain)


TEST_IDS = ["tests/test_calc.py::test_add", "tests/test_calc.py::test_add_wrong", "tests/test_calc.py::test_param[2]",
            "tests/test_calc.py::test_skipped"]


def test_run_gives_plain_payloads_and_exit_code(editor):
    plain, first = editor.both(Editor.run_tests, TEST_IDS)
    assert_same(plain, first)
    # The runner exits 0 with failing tests; every report is this run's own (a fresh plugin module).
    assert first.rc == 0
    outcomes = {k: v["outcome"] for p in first.payloads for k, v in p["result"].items()}
    assert list(outcomes.values()) == ["passed", "failed", "passed", "skipped"], first.describe()
    assert all(p["imported_with_pipe"] for p in first.payloads)
    served = editor.runs_served()
    again = editor.run_tests(editor.hooked, TEST_IDS)
    assert_same(plain, again)
    assert editor.runs_served() == served + 1, "the second run was not served by the warm manager"


def test_the_editor_plugin_is_never_learned_into_a_template(editor):
    """Runs report what they imported, and the manager warms later templates with it: never the plugin,
    which would then keep one run's pipe and state for the next."""
    editor.run_tests(editor.hooked, TEST_IDS)
    assert editor.project.cli("stop", venv=editor.hooked).rc == 0  # the manager saves what it learned
    learned = [p.read_text() for p in (editor.project.ctx.workdir / "xdg-cache" / "pytestd").glob("*.learned")
               if str(editor.project.root) in p.read_text()]
    assert learned and "app.calc" in learned[0] and "vscode_pytest" not in learned[0], learned


def test_discovery_matches_plain_and_sees_a_new_test_file(editor):
    assert_same(*editor.both(Editor.discover))
    editor.project.write("tests/test_new.py", "def test_fresh():\n    pass\n")
    plain, hooked = editor.both(Editor.discover)
    assert_same(plain, hooked)
    assert any(t.endswith("tests/test_new.py::test_fresh") for t in hooked.payloads[0]["tests"]), hooked.describe()
    # Nothing selected: pytest's exit status 5, which the explorer accepts.
    plain, hooked = editor.both(Editor.discover, "-k", "no_such_test")
    assert_same(plain, hooked)
    assert hooked.rc == 5


def test_rerun_after_an_edit_is_not_stale(editor):
    ids = ["tests/test_calc.py::test_add"]
    assert_same(*editor.both(Editor.run_tests, ids))
    editor.project.write("app/calc.py", "def add(a, b):\n    return a - b\n")
    try:
        plain, hooked = editor.both(Editor.run_tests, ids)
        assert_same(plain, hooked)
        assert [v["outcome"] for p in hooked.payloads for v in p["result"].values()] == ["failed"], hooked.describe()
    finally:
        editor.project.write("app/calc.py", FILES["app/calc.py"])


def test_cancel_ends_the_run_and_its_process_group(editor):
    marker = editor.project.root / "slow-run.json"
    editor.project.write("tests/test_slow.py", f"""\
        import json, os, subprocess, time

        def test_quick():
            pass

        def test_sleeps():
            child = subprocess.Popen(["sleep", "120"])
            with open({str(marker)!r}, "w") as f:
                json.dump({{"pid": os.getpid(), "pgid": os.getpgid(0), "child": child.pid}}, f)
            time.sleep(120)
        """)
    running, reader = editor.start(editor.hooked, [Editor.RUNNER, f"--rootdir={editor.project.root}"],
                                   ids=["tests/test_slow.py::test_quick", "tests/test_slow.py::test_sleeps"])
    assert H.wait_for(lambda: marker.exists() and marker.read_text().endswith("}"), 60), running.output_so_far()
    started = json.loads(marker.read_text())
    # The extension's cancel: SIGTERM to the process it spawned (not its group).
    running.send_signal(signal.SIGTERM)
    run = editor.finish(running, reader, timeout=30)
    assert run.rc == -signal.SIGTERM, run.describe()
    assert [list(p["result"]) for p in run.payloads] == [[str(editor.project.root / "tests/test_slow.py::test_quick")]], run.describe()
    assert run.eof_seconds is not None and run.eof_seconds <= 5, run.describe()
    assert H.wait_gone([started["pid"], started["child"]], 5) == [], "the run or its child survived the cancel"

    def group_exists():
        try:
            os.killpg(started["pgid"], 0)
            return True
        except ProcessLookupError:
            return False
    # Members that died are in the group until reaped.
    assert H.wait_for(lambda: not group_exists(), 5), f"processes remain in the run's group {started['pgid']}"


def test_pythonpath_is_placed_where_the_interpreter_places_it(editor):
    editor.project.write("tests/test_path.py", f"""\
        import json, sys

        def test_path():
            with open({str(editor.project.root / "path-")!r} + sys.prefix.rsplit("-", 1)[1] + ".json", "w") as f:
                json.dump(sys.path, f)
        """)
    (editor.project.root / "extra").mkdir(exist_ok=True)
    # Relative and empty entries are made absolute against the working directory; duplicates dropped.
    extra = {"PYTHONPATH": "extra::extra/../extra"}
    plain, hooked = editor.both(Editor.run_tests, ["tests/test_path.py::test_path"], extra=extra)
    assert_same(plain, hooked)

    def read(name):
        text = (editor.project.root / f"path-{name}.json").read_text()
        return json.loads(text.replace(str(editor.hooked), "VENV").replace(str(editor.plain), "VENV"))
    assert read("hooked") == read("plain")
    path = read("hooked")
    assert path.index(str(editor.project.root / "extra")) < next(i for i, p in enumerate(path) if "/lib/python3" in p), path


def test_pythonpath_entry_shadowing_a_template_module_runs_plain(editor):
    shadow = editor.project.root.parent / "shadow"
    shadow.mkdir(exist_ok=True)
    (shadow / "colorsys.py").write_text("MARK = 'shadow'\n")
    editor.project.write("tests/test_shadow.py", """\
        import colorsys

        def test_which_colorsys():
            assert getattr(colorsys, "MARK", "stdlib") == "stdlib"
        """)
    plain, hooked = editor.both(Editor.run_tests, ["tests/test_shadow.py::test_which_colorsys"],
                                extra={"PYTHONPATH": str(shadow)})
    assert_same(plain, hooked)
    # A fresh interpreter imports the shadowing module: the test fails, as it does through the hook.
    assert [v["outcome"] for p in hooked.payloads for v in p["result"].values()] == ["failed"], hooked.describe()
    assert "PYTHONPATH entry" in hooked.err and "colorsys" in hooked.err, hooked.describe()


@pytest.mark.parametrize("version", ["3.9", "3.13"])
def test_python_m_pytest_is_served_on_other_versions(ctx, version):
    """3.9 has no sys.orig_argv: the hook reads /proc/self/cmdline."""
    project = ctx.project(FILES, venv=version, label=f"hook{version}")
    hooked = make_venv(ctx, f"hooked-{version}", version)
    install_hook(project, hooked)
    env = project.env({"VIRTUAL_ENV": None})
    command = [hooked / "bin" / "python", "-m", "pytest", "-q", "-p", "no:cacheprovider", "tests/test_calc.py"]
    served = H.run_command(command, project.root, env)
    plain = H.run_command(command, project.root, dict(env, PYTESTD_DISABLE="1"))
    assert served.rc == plain.rc == 1, served.describe()
    assert H.summary_line(served.out) == H.summary_line(plain.out)
    assert int(project.status(hooked).get("runs", "0")) == 1, project.status(hooked)


def test_hook_leaves_other_starts_alone_and_uninstall_removes_it(ctx):
    project = ctx.project(FILES, label="hookalone")
    hooked = make_venv(ctx, "hooked-alone")
    python = hooked / "bin" / "python"
    install_hook(project, hooked)
    assert hook_files(hooked) == ["_pytestd_hook.py", "pytestd-hook.pth"]
    env = project.env({"VIRTUAL_ENV": None})
    probe = ("import json, os, sys; print(json.dumps([os.path.realpath('/proc/self/exe'), sys.argv, "
             "sorted(k for k in os.environ if k.startswith('PYTESTD_HOOK'))]))")
    project.write("probe.py", probe + "\n")
    for arguments, argv in [(["-c", probe], ["-c"]), (["probe.py", "-m", "pytest"], ["probe.py", "-m", "pytest"])]:
        r = H.run_command([python, *arguments], project.root, env)
        assert r.rc == 0, r.describe()
        exe, seen_argv, variables = json.loads(r.out)
        assert (exe, seen_argv, variables) == (os.path.realpath(python), argv, []), r.describe()
    # A pytest started by a test runs as it would without pytestd.
    r = H.run_command([python, "-m", "pytest", "-q", "tests/test_calc.py::test_add"], project.root,
                      dict(env, PYTEST_CURRENT_TEST="tests/test_outer.py::test_x (call)"))
    assert r.rc == 0 and project.status(hooked) == {}, r.describe()
    r = H.run_command([python, "-m", "pytest", "-q", "tests/test_calc.py::test_add"], project.root, env)
    assert r.rc == 0, r.describe()
    status = project.status(hooked)
    assert status["runs"] == "1" and status["interpreter hook"].startswith("installed"), status

    r = project.cli("uninstall-hook", "--python", python)
    assert r.rc == 0 and hook_files(hooked) == [], r.describe()
    r = H.run_command([python, "-m", "pytest", "-q", "tests/test_calc.py::test_add"], project.root, env)
    assert r.rc == 0, r.describe()
    status = project.status(hooked)
    assert status["runs"] == "1" and status["interpreter hook"].startswith("not installed"), status


def test_a_run_while_the_template_warms_is_the_plain_interpreter_command(ctx):
    """The default policy (no PYTESTD_WAIT): while the first template warms, the shim runs the
    interpreter command itself, and the results are still the editor's, with the FIFO closed at the end."""
    project = ctx.project(dict(FILES, **{"conftest.py": "import colorsys, time\ntime.sleep(3)\n"}), label="editorwarm")
    editor = Editor(project, make_venv(ctx, "warm-hooked"), make_venv(ctx, "warm-plain"))
    install_hook(project, editor.hooked)
    plain, hooked = editor.both(Editor.run_tests, TEST_IDS, extra={"PYTESTD_WAIT": None})
    assert_same(plain, hooked)
    assert "running plain pytest" in hooked.err, hooked.describe()
