"""argv, environment and working directory reach pytest byte for byte, as the kernel gave them to the
shim: nothing on the way may decode them as UTF-8 (non-UTF-8 bytes would become U+FFFD)."""
import os

import pytest

from conftest import PYPROJECT

WEIRD = os.fsdecode(b"a\xffb")            # str with a surrogate: subprocess passes the raw byte
ODD_NAME = os.fsdecode(b"N\xffAME")

FILES = {
    "pyproject.toml": PYPROJECT,
    "conftest.py": '''
        import os

        WEIRD_AT_IMPORT = os.environb.get(b"WEIRD")

        def pytest_addoption(parser):
            parser.addoption("--label", default="")
    ''',
    "tests/test_bytes.py": '''
        import os
        import sys
        from pathlib import Path

        def test_environment_bytes():
            assert os.environb[b"WEIRD"] == b"a\\xffb"
            assert os.environb[b"N\\xffAME"] == b"v"

        def test_import_time_read_saw_this_commands_bytes():
            from conftest import WEIRD_AT_IMPORT
            assert WEIRD_AT_IMPORT == os.environb.get(b"WEIRD")

        def test_state(request):
            Path(os.environ["STATE_FILE"]).write_text(repr([
                os.getcwdb(), [os.fsencode(a) for a in sys.argv[1:]],
                os.fsencode(request.config.getoption("label"))]))
    ''',
    "tests/d\udcffir/.keep": "",
    "tests/test_locale.py": '''
        import locale
        import sys

        def test_locale():
            print("locale:", sys.flags.utf8_mode, locale.setlocale(locale.LC_CTYPE), sys.getfilesystemencoding(),
                  sys.stdout.encoding, sys.stdout.errors)
    ''',
    "tests/test_\u00fcn\u00ef.py": '''
        import pytest

        def test_\u00e7\u00e0_marche():
            pass

        @pytest.mark.parametrize("word", ["caf\u00e9", "na\u00efve", "\u65e5\u672c"])
        def test_mots(word):
            assert word != "na\u00efve"
    ''',
}


@pytest.fixture(scope="module")
def bytesp(module_ctx):
    return module_ctx.pair(FILES, label="bytes")


def _state(project, via, *args, cwd=None, env_extra=None):
    state = project.ctx.workdir / f"bytes-state-{via}"
    state.unlink(missing_ok=True)
    r = project.pytest(*args, "-q", via=via, cwd=cwd, env_extra={"STATE_FILE": state, **(env_extra or {})})
    assert r.rc == 0, r.describe()
    return eval(state.read_text()), r


def test_a_non_utf8_environment_value_and_name_reach_the_test_unchanged(bytesp, needs_daemon):
    args = ("tests/test_bytes.py::test_environment_bytes", "tests/test_bytes.py::test_import_time_read_saw_this_commands_bytes")
    plain, daemon = bytesp.compare(*args, env_extra={"WEIRD": WEIRD, ODD_NAME: "v"})
    assert plain.rc == 0, plain.describe()
    # Another non-UTF-8 value that decodes to the same text: the template imported with the first
    # one must not serve it.
    other = {"WEIRD": os.fsdecode(b"a\xfeb"), ODD_NAME: "v"}
    r = bytesp.d.pytest("tests/test_bytes.py::test_import_time_read_saw_this_commands_bytes", "-q", env_extra=other)
    assert r.rc == 0, r.describe()


def test_non_utf8_arguments_reach_pytest_unchanged(bytesp, needs_daemon):
    args = ("tests/test_bytes.py::test_state", f"--label=x{WEIRD}y")
    env = {"WEIRD": WEIRD, ODD_NAME: "v"}
    plain, _ = _state(bytesp.p, "plain", *args, env_extra=env)
    daemon, r = _state(bytesp.d, "pytestd", *args, env_extra=env)
    assert "plain pytest" not in r.err, r.describe()
    assert daemon[1:] == plain[1:] == [[b"tests/test_bytes.py::test_state", b"--label=xa\xffby", b"-q"], b"xa\xffby"]
    # `pytestd run -- ARGS` (editors, scripts) forwards the same bytes.
    state = bytesp.d.ctx.workdir / "bytes-state-cli"
    r = bytesp.d.cli("run", "--", *args, "-q", env_extra={"STATE_FILE": state, **env})
    assert r.rc == 0 and "plain pytest" not in r.err, r.describe()
    assert eval(state.read_text())[1:] == plain[1:]
    # A selection pytest cannot parse: the error quotes the argument as pytest received it.
    bytesp.compare("-k", f"st{WEIRD}ate", "tests/test_bytes.py", full_output=True, env_extra=env)


def test_a_non_utf8_working_directory_is_the_runs(bytesp, needs_daemon):
    env = {"WEIRD": WEIRD, ODD_NAME: "v"}
    cwd = "tests/d\udcffir"
    plain, _ = _state(bytesp.p, "plain", "../test_bytes.py::test_state", cwd=cwd, env_extra=env)
    daemon, r = _state(bytesp.d, "pytestd", "../test_bytes.py::test_state", cwd=cwd, env_extra=env)
    assert "plain pytest" not in r.err, r.describe()
    assert plain[0] == os.fsencode(bytesp.p.root) + b"/tests/d\xffir"
    assert daemon[0] == os.fsencode(bytesp.d.root) + b"/tests/d\xffir"
    assert daemon[1:] == plain[1:]
    bytesp.compare("../test_bytes.py", "-v", "-k", "not state", cwd=cwd, env_extra=env, full_output=True)


@pytest.mark.parametrize("first", ["C.UTF-8", "C"])
def test_non_ascii_test_names_and_selections_match_plain_pytest(ctx, needs_daemon, first):
    """Under a C/POSIX locale too (CI containers often have no locale): `python` turns on UTF-8 mode
    there, and so must the host; a run under another locale than the template's needs another one."""
    pair = ctx.pair(FILES, label=f"nonascii-{first}")
    for locale in (first, "C" if first == "C.UTF-8" else "C.UTF-8"):
        env = {"WEIRD": WEIRD, ODD_NAME: "v", "LC_ALL": locale, "LANG": locale}
        for args in (
            ("-v", "tests/test_\u00fcn\u00ef.py"),
            ("-v", "-k", "\u00e7\u00e0 or caf\u00e9"),
            ("-v", "tests/test_\u00fcn\u00ef.py::test_mots[\u65e5\u672c]"),
            ("-rA", "tests/test_\u00fcn\u00ef.py::test_mots[na\u00efve]"),
            ("-s", "tests/test_locale.py"),
        ):
            plain, daemon = pair.compare(*args, env_extra=env, full_output=True)
            assert "plain pytest" not in daemon.err, daemon.describe()
