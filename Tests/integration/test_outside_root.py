"""Invariant 1 for code outside the project root: a sibling package installed editable (`pip install -e
../libb`, through setuptools' import finder or a `.pth` path), a `pythonpath` entry pointing outside the
root, and files in site-packages. An edit to any file the template loaded gives plain pytest's result,
even an edit made while the template was warming; project-like code outside the root is reloaded.

Each side of a pair gets its own venv (its editable install points at its own sibling)."""
import shutil
import time

import pytest

import harness as H
from conftest import LIB_PYPROJECT, assert_same_run, venv_with

pytestmark = pytest.mark.usefixtures("needs_daemon")

SLOW = "import time\ntime.sleep(0.8)\n"

# How the sibling is made importable -> (files of the sibling, relative to its directory; pytest ini lines).
LAYOUTS = {
    # package-dir maps the package to another directory name: setuptools installs an import finder
    # (`__editable___libb_0_1_finder.py`), not a path.
    "editable-finder": ({
        "pyproject.toml": LIB_PYPROJECT.format(name="libb") + '[tool.setuptools]\npackage-dir = {"libb" = "code"}\n'
                                                              'packages = ["libb"]\n',
        "code/__init__.py": "from libb.values import value\n",
        "code/values.py": "def value():\n    return 1\n",
    }, ""),
    # A src layout: setuptools installs a `.pth` file naming the sibling's src directory.
    "editable-pth": ({
        "pyproject.toml": LIB_PYPROJECT.format(name="libb"),
        "src/libb/__init__.py": "from libb.values import value\n",
        "src/libb/values.py": "def value():\n    return 1\n",
    }, ""),
    # No install at all: pytest's `pythonpath` puts `<root>/../libb` on sys.path.
    "pythonpath": ({
        "libb/__init__.py": "from libb.values import value\n",
        "libb/values.py": "def value():\n    return 1\n",
    }, 'pythonpath = ["src", "../libb"]\n'),
}

VALUES = {"editable-finder": "code/values.py", "editable-pth": "src/libb/values.py", "pythonpath": "libb/values.py"}


def _project_files(ini_lines, conftest="import slow  # noqa: F401\n"):
    return {
        "pyproject.toml": "[tool.pytest.ini_options]\n" + (ini_lines or 'pythonpath = ["src"]\n'),
        "conftest.py": conftest,
        "src/slow.py": SLOW,
        "tests/test_lib.py": '''
            from libb import value

            def test_value():
                assert value() == 1
        ''',
    }


class SiblingPair:
    """A pytestd/plain pair of projects, each with its own sibling directory and venv."""

    def __init__(self, ctx, build_tools, layout, label, conftest=None):
        lib_files, ini = LAYOUTS[layout]
        files = _project_files(ini) if conftest is None else _project_files(ini, conftest)
        self.pair = ctx.pair(files, label=label)
        for side in ("d", "p"):
            project = getattr(self.pair, side)
            for rel, text in lib_files.items():
                project.write(f"../libb/{rel}", text, raw=True)
            editable = [project.root.parent / "libb"] if layout.startswith("editable") else []
            project.venv = venv_with(ctx, f"{label}-{side}-venv", build_tools, editable=editable)
            project.venvs_used.add(project.venv)

    def write(self, rel, text):
        """Saves in both; the plain side without bytecode caches (as Pair.write: purging is pytestd's job)."""
        self.pair.write(rel, text, raw=True)
        for cache in (self.pair.p.root.parent / "libb").rglob("__pycache__"):
            shutil.rmtree(cache, ignore_errors=True)

    def compare(self, *args, **kw):
        """pytestd first: right after an edit, the reloaded template serves it (the clean host is slower)."""
        daemon = self.pair.d.pytest(*args, **kw)
        plain = self.pair.p.pytest(*args, via="plain", **kw)
        assert_same_run(plain, daemon, self.pair.p.root, self.pair.d.root)
        return plain, daemon

    def status(self):
        return self.pair.d.status()


@pytest.mark.parametrize("layout", sorted(LAYOUTS))
def test_an_edit_to_a_sibling_package_gives_plain_results_and_is_reloaded(ctx, build_tools, layout):
    sib = SiblingPair(ctx, build_tools, layout, label=layout[:9])
    plain, daemon = sib.compare("-q")
    assert plain.rc == 0, plain.describe()
    assert sib.pair.d.cli("start").rc == 0
    values = f"../libb/{VALUES[layout]}"
    # A new module constant: the module executes again, with its importers.
    sib.write(values, "FACTOR = 2\n\ndef value():\n    return FACTOR\n")
    plain, daemon = sib.compare("-q")
    assert plain.rc == 1, plain.describe()
    status = sib.status()
    assert VALUES[layout] in status["last change set"], status
    assert "libb.values" in status["last reload"] and status["last fallback"] == "none", status
    # And back: a body-only edit, patched in place.
    sib.write(values, "FACTOR = 2\n\ndef value():\n    return FACTOR // 2\n")
    plain, daemon = sib.compare("-q")
    assert plain.rc == 0, plain.describe()


WARMUP_MARKER_CONFTEST = '''
import os
import time

import libb  # noqa: F401

# The first import (the warm-up's) signals the test and waits for it to edit libb meanwhile.
_marker = os.path.join(os.path.dirname(__file__), "imported-libb")
if not os.path.exists(_marker):
    open(_marker, "w").close()
    time.sleep(3)
'''


def test_an_edit_made_during_the_warm_up_is_caught(ctx, build_tools):
    sib = SiblingPair(ctx, build_tools, "editable-finder", label="during", conftest=WARMUP_MARKER_CONFTEST)
    daemon_side = sib.pair.d
    first = daemon_side.start("-q")
    marker = daemon_side.path("imported-libb")
    deadline = time.monotonic() + 60
    while not marker.exists():
        assert time.monotonic() < deadline, first.output_so_far()
        time.sleep(0.02)
    # The template has loaded libb; same size, so only a load-time fingerprint tells the difference.
    for side in (sib.pair.d, sib.pair.p):
        side.write("../libb/code/values.py", "def value():\n    return 2\n", raw=True)
    daemon = first.finish()
    daemon.outcomes = H.read_outcomes(first.outcomes_file, ("-q",))
    plain = sib.pair.p.pytest("-q", via="plain")
    assert plain.rc == 1, plain.describe()
    assert_same_run(plain, daemon, sib.pair.p.root, sib.pair.d.root)


SITE_PACKAGE = {
    "pyproject.toml": LIB_PYPROJECT.format(name="libsite"),
    "libsite/__init__.py": "def value():\n    return 1\n",
}


def test_an_edit_in_site_packages_gives_plain_results(ctx, build_tools):
    files = _project_files("")
    files["tests/test_lib.py"] = '''
        from libsite import value

        def test_value():
            assert value() == 1
    '''
    pair = ctx.pair(files, label="sitepkg")
    modules = {}
    for side in ("d", "p"):
        project = getattr(pair, side)
        for rel, text in SITE_PACKAGE.items():
            project.write(f"../libsite/{rel}", text, raw=True)
        project.venv = venv_with(ctx, f"sitepkg-{side}-venv", build_tools, installs=[project.root.parent / "libsite"])
        project.venvs_used.add(project.venv)
        modules[side] = next((project.venv / "lib").glob("python3.*/site-packages/libsite/__init__.py"))

    assert pair.compare("-q")[0].rc == 0
    assert pair.d.cli("start").rc == 0
    # Same size: pytestd must also purge the bytecode cache (plain pytest's is purged here).
    for side in ("d", "p"):
        modules[side].write_text("def value():\n    return 2\n")
    shutil.rmtree(modules["p"].parent / "__pycache__", ignore_errors=True)
    assert pair.compare("-q")[0].rc == 1
    assert "site-packages changed" in pair.d.status()["last change set"]


def test_a_new_module_in_an_earlier_namespace_portion_takes_over(ctx):
    """`nsp` has a portion in each of two `pythonpath` entries outside the root; `nsp.mod` comes from
    the second until a `mod.py` appears in the first, which then wins, in plain pytest as in pytestd."""
    files = _project_files('pythonpath = ["src", "../first", "../second"]\n')
    files["tests/test_lib.py"] = '''
        from nsp.mod import VALUE

        def test_value():
            assert VALUE == 1
    '''
    pair = ctx.pair(files, label="namespace")
    for side in (pair.d, pair.p):
        side.write("../first/nsp/README", "a portion with no modules yet\n", raw=True)
        side.write("../second/nsp/mod.py", "VALUE = 1\n", raw=True)
    assert pair.compare("-q")[0].rc == 0
    assert pair.d.cli("start").rc == 0
    pair.write("../first/nsp/mod.py", "VALUE = 2\n", raw=True)
    assert pair.compare("-q")[0].rc == 1
    assert "first/nsp/mod.py" in pair.d.status()["last change set"]
