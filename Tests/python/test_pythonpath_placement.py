"""A run child places PYTHONPATH's entries where this very interpreter places them at start-up (compared
with a real start of it, for random values), and refuses an entry that would import another module than
the template's. Also the interpreter hook's rule of which starts it hands over."""
import json
import os
import random
import subprocess
import sys

import pytest

from pytestd import _interpreter_hook, _patches, _run


def real_sys_path(cwd, pythonpath):
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTHON")}
    if pythonpath is not None:
        env["PYTHONPATH"] = pythonpath
    out = subprocess.run([sys.executable, "-c", "import json, sys; print(json.dumps(sys.path))"],
                         cwd=cwd, env=env, capture_output=True, text=True, check=True).stdout
    return json.loads(out)


def placed_sys_path(cwd, pythonpath, template_path):
    saved_path, saved_cwd, saved_value = list(sys.path), os.getcwd(), os.environ.get("PYTHONPATH")
    try:
        os.chdir(cwd)
        os.environ["PYTHONPATH"] = pythonpath
        sys.path[:] = template_path
        _run._place_pythonpath(1)
        return list(sys.path)
    finally:
        sys.path[:] = saved_path
        os.chdir(saved_cwd)
        if saved_value is None:
            del os.environ["PYTHONPATH"]
        else:
            os.environ["PYTHONPATH"] = saved_value


def test_entries_go_where_the_interpreter_puts_them(tmp_path):
    for name in ("a", "b", "deep/c"):
        (tmp_path / name).mkdir(parents=True)
    pieces = ["a", "b", "", "a/../a", "./b", str(tmp_path / "a"), str(tmp_path / "deep/c"), "missing",
              "/nonexistent/x", "deep/../deep/c"]
    template = real_sys_path(tmp_path, None)
    generator = random.Random(7)
    for _ in range(25):
        value = ":".join(generator.choice(pieces) for _ in range(generator.randint(1, 5)))
        if not value:
            continue
        assert placed_sys_path(tmp_path, value, template) == real_sys_path(tmp_path, value), value


def test_an_entry_shadowing_a_template_module_is_refused(tmp_path):
    import json as already_imported  # noqa: F401 (in sys.modules, from the standard library)

    (tmp_path / "json.py").write_text("")
    with pytest.raises(_patches.ServeCold, match=r"holds module json"):
        placed_sys_path(tmp_path, str(tmp_path), list(sys.path))


def test_entries_without_template_modules_are_served(tmp_path):
    (tmp_path / "__main__.py").write_text("")
    (tmp_path / "a_new_module_nobody_imported.py").write_text("")
    (tmp_path / "json.egg-info").mkdir()
    (tmp_path / "README.txt").write_text("")
    template = real_sys_path(tmp_path, None)
    assert placed_sys_path(tmp_path, str(tmp_path), template)[1] == str(tmp_path)


def test_a_site_directory_is_refused():
    import site

    with pytest.raises(_patches.ServeCold, match="site directory"):
        placed_sys_path(os.getcwd(), site.getsitepackages()[0], list(sys.path))


RUNNER = "/home/u/.vscode/extensions/ms-python.python-2026.4.0/python_files/vscode_pytest/run_pytest_script.py"
DEBUGPY = "/home/u/.vscode/extensions/ms-python.debugpy-2026.4.0/bundled/libs/debugpy"


@pytest.mark.parametrize("argv, served", [
    (["python", "-m", "pytest"], True),
    (["python", "-m", "py.test", "-q"], True),
    (["/v/bin/python", RUNNER, "--rootdir=/p"], True),
    (["python", "vscode_pytest/run_pytest_script.py"], True),
    (["python", "-c", "pass"], False),
    (["python", "script.py", "-m", "pytest"], False),
    (["python", "-m", "pip"], False),
    (["python", "-mpytest"], False),
    (["python", "-u", "-m", "pytest"], False),
    (["python", "/x/my_vscode_pytest/run_pytest_script.py"], False),
    (["python"], False),
    ([], False),
    (["python", "-X", "frozen_modules=off", DEBUGPY, "--connect", "127.0.0.1:4", "--configure-qt", "none",
      "--adapter-access-token", "t", RUNNER, "--rootdir=/p"], True),
    (["python", "-m", "debugpy", "--listen", "5678", "--wait-for-client", "-m", "pytest", "-x"], True),
    (["python", DEBUGPY, "--connect", "h:1", "-m", "pytest"], True),
    (["python", DEBUGPY, "--connect", "h:1", "script.py"], False),
    (["python", DEBUGPY, "--connect", "h:1", "-m", "pip"], False),
    (["python", DEBUGPY, "--connect", "h:1", "-c", "pass"], False),
    (["python", DEBUGPY, "--help", RUNNER], False),
    (["python", DEBUGPY, "--connect"], False),
    (["python", "/x/notdebugpy", "--connect", "h:1", RUNNER], False),
    (["python", "-X", "dev", DEBUGPY, "--connect", "h:1", RUNNER], False),
    (["python", "-m", "debugpy.adapter"], False),
    (["python", DEBUGPY + "/launcher", "--connect", "h:1", RUNNER], False),
])
def test_the_hook_hands_over_exactly_the_served_starts(argv, served):
    """`InterpreterCommand` (Swift, InterpreterCommandTests) has the same cases."""
    assert _interpreter_hook._served(argv) is served
