"""Load-time fingerprints (pytestd._loaded_files): a file edited after the import system read it keeps
the fingerprint of the version that was loaded, however the module was found (a path entry, a
namespace package, an import finder like setuptools' editable one), and the hooks leave no trace."""
import importlib
import importlib.machinery
import importlib.util
import os
import sys

import pytest

from pytestd import _loaded_files


def _fingerprint(path):
    st = os.stat(path)
    return f"{st.st_dev}:{st.st_ino}:{st.st_size}:{st.st_mtime_ns}:{st.st_ctime_ns}".encode()


def _reported():
    fields = _loaded_files.report_fields()
    count = int(fields[0])
    files = {}
    for entry in fields[1:1 + count]:
        parts = entry.split(b":", 5)
        files[os.fsdecode(parts[5])] = b":".join(parts[:5])
    directories = [os.fsdecode(d) for d in fields[2 + count:]]
    assert int(fields[1 + count]) == len(directories)
    return files, directories


class EditableFinder:
    """What setuptools' `__editable___*_finder` does: a meta path finder mapping a name to a path."""

    def __init__(self, name, path):
        self.name, self.path = name, path

    def find_spec(self, fullname, path=None, target=None):
        if fullname == self.name:
            return importlib.util.spec_from_file_location(fullname, self.path)
        return None


@pytest.fixture
def scratch(tmp_path, monkeypatch):
    monkeypatch.syspath_prepend(str(tmp_path))
    yield tmp_path
    for name in [n for n in sys.modules if n.startswith("ldf_")]:
        del sys.modules[name]
    importlib.invalidate_caches()


@pytest.mark.parametrize("how", ["path-entry", "namespace-package", "import-finder"])
@pytest.mark.parametrize("edits", [1, 2, 5])
def test_an_edit_after_the_load_keeps_the_loaded_fingerprint(scratch, how, edits):
    if how == "namespace-package":
        (scratch / "ldf_ns").mkdir()
        path = scratch / "ldf_ns" / "ldf_mod.py"
        name = "ldf_ns.ldf_mod"
    else:
        path = scratch / ("ldf_mapped.py" if how == "import-finder" else "ldf_mod.py")
        name = "ldf_mod"
    path.write_text("VALUE = 1\n")
    finder = EditableFinder(name, str(path)) if how == "import-finder" else None
    if finder:
        sys.meta_path.insert(0, finder)
    try:
        with _loaded_files.recording():
            module = importlib.import_module(name)
        loaded = _fingerprint(path)
        for i in range(edits):
            path.write_text(f"VALUE = {i + 2}\n")
    finally:
        if finder:
            sys.meta_path.remove(finder)
    assert module.__file__ == str(path)
    files, directories = _reported()
    assert files[str(path)] == loaded != _fingerprint(path)
    if how != "import-finder":
        assert str(path.parent) in directories


def test_a_reload_takes_the_new_fingerprint_and_the_warm_up_the_first(scratch):
    path = scratch / "ldf_again.py"
    path.write_text("VALUE = 1\n")
    with _loaded_files.recording():
        module = importlib.import_module("ldf_again")
    first = _fingerprint(path)
    path.write_text("VALUE = 22\n")
    with _loaded_files.recording():
        importlib.reload(module)
    assert _reported()[0][str(path)] == first
    with _loaded_files.recording(replace=True):
        importlib.reload(module)
    assert _reported()[0][str(path)] == _fingerprint(path) != first


def test_the_hooks_are_gone_after_recording():
    before = (importlib.machinery.SourceFileLoader.path_stats, importlib.machinery.FileFinder.find_spec,
              importlib.machinery.ExtensionFileLoader.create_module)
    with _loaded_files.recording():
        assert importlib.machinery.SourceFileLoader.path_stats is not before[0]
    assert (importlib.machinery.SourceFileLoader.path_stats, importlib.machinery.FileFinder.find_spec,
            importlib.machinery.ExtensionFileLoader.create_module) == before
