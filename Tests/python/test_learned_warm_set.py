"""The in-interpreter half of the learned warm set: what a run reports it imported
(pytestd._run_imports) and how the warm-up imports a learned module (pytestd._warmup._import_whole)."""
import os
import sys
import time

import pytest

from pytestd import _run_imports
from pytestd._warmup import _import_whole


@pytest.fixture
def package(tmp_path, monkeypatch):
    monkeypatch.syspath_prepend(str(tmp_path))
    before = set(sys.modules)
    yield tmp_path
    for name in set(sys.modules) - before:
        del sys.modules[name]


def read_report(fd):
    data = b""
    while True:
        try:
            chunk = os.read(fd, 65536)
        except BlockingIOError:
            break
        if not chunk:
            break
        data += chunk
    return [item.decode() for item in data.split(b"\0") if item]


def pipe():
    read, write = os.pipe()
    os.set_blocking(read, False)
    os.set_blocking(write, False)
    return read, write


def test_a_run_reports_new_modules_in_import_order_test_modules_and_what_they_refer_to(package):
    (package / "lrn_helper.py").write_text("import json\ndef helper(): pass\n")
    (package / "lrn_other.py").write_text("X = 1\n")
    (package / "test_lrn.py").write_text("import lrn_other\nfrom lrn_helper import helper\nimport os\n")
    (package / "conftest.py").write_text("import lrn_other\n")
    _run_imports.mark_template()
    import lrn_helper  # noqa: F401
    import test_lrn  # noqa: F401
    read, write = pipe()
    _run_imports.report(write)
    items = read_report(read)
    assert items[:3] == ["mlrn_helper", "ttest_lrn", "mlrn_other"]
    assert {"rlrn_other", "rlrn_helper", "ros"} <= set(items[3:])
    assert "rtest_lrn" not in items


def test_modules_without_a_file_are_not_reported(package):
    import types

    _run_imports.mark_template()
    sys.modules["lrn_virtual"] = types.ModuleType("lrn_virtual")
    read, write = pipe()
    _run_imports.report(write)
    assert read_report(read) == []


def test_a_full_pipe_never_blocks_the_run(package):
    _run_imports.mark_template()
    for i in range(1500):
        (package / f"lrn_many_{i:04d}_{'x' * 40}.py").write_text("")
    for i in range(1500):
        __import__(f"lrn_many_{i:04d}_{'x' * 40}")
    read, write = pipe()
    started = time.perf_counter()
    _run_imports.report(write)
    assert time.perf_counter() - started < 1.0
    items = read_report(read)
    assert 0 < len(items) <= 1500


def test_a_learned_module_that_fails_leaves_no_module_of_the_attempt(package, capfd):
    (package / "lrn_pkg").mkdir()
    (package / "lrn_pkg" / "__init__.py").write_text("from . import sub\nraise RuntimeError('broken')\n")
    (package / "lrn_pkg" / "sub.py").write_text("import lrn_dep\n")
    (package / "lrn_dep.py").write_text("")
    assert not _import_whole("lrn_pkg")
    assert not {"lrn_pkg", "lrn_pkg.sub", "lrn_dep"} & set(sys.modules)
    assert "skipped learned module lrn_pkg: RuntimeError: broken" in capfd.readouterr().err
    assert not _import_whole("lrn_missing_module")
    assert _import_whole("lrn_dep") and "lrn_dep" in sys.modules


def test_a_module_level_skip_is_a_failed_import_too(package):
    (package / "lrn_skips.py").write_text("import pytest\npytest.skip('no', allow_module_level=True)\n")
    assert not _import_whole("lrn_skips")
    assert "lrn_skips" not in sys.modules
