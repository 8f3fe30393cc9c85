"""What counts as an environment dependency of a template (pytestd._warmup.ImportTimeReads): a
variable a module body reads by name, with that module named; every way of iterating or copying the
whole environment counts only as the whole-environment dependency, however the copy is written."""
import itertools
import os

import pytest

from pytestd._warmup import ImportTimeReads

COPIES = [
    "SNAPSHOT = dict(os.environ)",
    "SNAPSHOT = os.environ.copy()",
    "SNAPSHOT = {**os.environ}",
    "SNAPSHOT = dict(os.environ.items())",
    "SNAPSHOT = {k: v for k, v in os.environ.items()}",
    "SNAPSHOT = {\n    k: v\n    for k, v in os.environ.items()\n}",
    "SNAPSHOT = list(os.environ.values())",
    "SNAPSHOT = sorted(os.environ)",
    "SNAPSHOT = dict(os.environb)",
    "SNAPSHOT = list(os.environ.keys())",
    "def copy():\n    return dict(os.environ)\nSNAPSHOT = copy()",
]
BY_NAME = [
    ("os.environ['PYTESTD_T_A']", b"PYTESTD_T_A"),
    ("os.environ.get('PYTESTD_T_B')", b"PYTESTD_T_B"),
    ("os.getenv('PYTESTD_T_C', 'x')", b"PYTESTD_T_C"),
    ("'PYTESTD_T_D' in os.environ", b"PYTESTD_T_D"),
    ("os.environb.get(b'PYTESTD_T_E')", b"PYTESTD_T_E"),
    ("os.environ.get('_')", b"_"),
]


def _import(name, source):
    reads = ImportTimeReads()
    with reads:
        exec(compile("import os\n" + source + "\n", f"{name}.py", "exec"), {"__name__": name})
    return reads


@pytest.fixture(autouse=True)
def environment(monkeypatch):
    monkeypatch.setenv("PYTESTD_T_A", "1")
    monkeypatch.setenv("_", "/usr/bin/pytest")
    monkeypatch.setenv("SHLVL", "2")


@pytest.mark.parametrize("copy", COPIES)
def test_copying_the_environment_is_one_whole_environment_dependency(copy):
    reads = _import("libx", copy)
    assert reads.whole_environment and reads.whole_environment_reader == "libx"
    assert reads.variables == {} and reads.readers == {}


@pytest.mark.parametrize("copy,read", list(itertools.product(COPIES, BY_NAME)))
def test_a_read_by_name_counts_before_or_after_a_copy(copy, read):
    expression, name = read
    for source in (f"{copy}\nVALUE = {expression}", f"VALUE = {expression}\n{copy}"):
        reads = _import("app.settings", source)
        assert set(reads.variables) == {name}, source
        assert reads.readers == {name: "app.settings"}
        assert reads.variables[name] == os.environb.get(name)
        assert reads.whole_environment


def test_the_innermost_importing_module_is_the_reader():
    reads = ImportTimeReads()
    with reads:
        exec(compile("import os\ndef load():\n    return os.environ.get('PYTESTD_T_A')\n", "lib.py", "exec"),
             lib := {"__name__": "lib"})
        exec(compile("VALUE = load()\n", "app.py", "exec"), {"__name__": "app", "load": lib["load"]})
    assert reads.readers == {b"PYTESTD_T_A": "app"}


def test_a_variable_the_import_set_first_is_not_a_dependency():
    reads = ImportTimeReads()
    with reads:
        exec(compile("import os\nos.environ['PYTESTD_T_F'] = '1'\nV = os.environ['PYTESTD_T_F']\n", "m.py", "exec"),
             {"__name__": "m"})
    os.environ.pop("PYTESTD_T_F", None)
    assert reads.variables == {} and not reads.whole_environment
