"""What each module's import read from other project modules (pytestd._module_reads), recorded
through real imports of a generated package while the warm-up's import hooks are active."""
import sys
import textwrap

import pytest

from pytestd import _module_reads, _warmup

FILES = {
    "hub.py": """
        LIMIT = 1
        OTHER = 2
        def limit():
            return LIMIT
    """,
    "by_from.py": "from hub import LIMIT\n",
    "by_attribute.py": "import hub\nX = hub.OTHER\ndef later():\n    return hub.LIMIT\n",
    "by_call.py": "import helper\nY = helper.read()\n",
    "helper.py": "def read():\n    import hub\n    return hub.OTHER\n",
    "by_star.py": "from hub import *\n",
    "by_vars.py": "import hub\nZ = sorted(vars(hub))\n",
    "by_missing.py": "import hub\nW = getattr(hub, 'ABSENT', None)\n",
    "lazy.py": "import sys, types\nclass Lazy(types.ModuleType):\n    pass\nVALUE = 1\n",
    "by_lazy.py": "import lazy\nimport sys\nsys.modules['lazy'].__class__ = lazy.Lazy\nV = lazy.VALUE\n",
}


@pytest.fixture
def recorded(tmp_path, monkeypatch):
    for name, text in FILES.items():
        (tmp_path / name).write_text(textwrap.dedent(text))
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setattr(sys, "modules", dict(sys.modules))
    reads = _module_reads.ModuleReads()
    reads._is_project = lambda path: isinstance(path, str) and path.startswith(str(tmp_path))
    monkeypatch.setattr(_module_reads, "template", reads)
    monkeypatch.setattr(_warmup, "ImportTimeReads", type("Fresh", (_warmup.ImportTimeReads,), {}))
    _warmup.ImportTimeReads.template = _warmup.ImportTimeReads()
    reads.start()
    with _warmup.ImportTimeReads.resume():
        for name in FILES:
            if name.startswith("by_"):
                __import__(name[:-3])
    reads.stop()
    return reads


def test_reads_at_import_are_charged_to_the_importing_module(recorded):
    def of(name):
        return recorded.of(sys.modules[name])
    assert of("by_from")["hub"] == {"LIMIT"}
    assert of("by_attribute")["hub"] == {"OTHER"}  # not LIMIT: later() never ran
    assert "OTHER" in of("by_call")["hub"]  # read by a function it called, while its body ran
    assert _module_reads.EVERY_NAME in of("by_star")["hub"]
    assert _module_reads.EVERY_NAME in of("by_vars")["hub"]
    assert "ABSENT" in of("by_missing")["hub"]


def test_modules_that_changed_their_class_have_no_complete_record(recorded):
    assert recorded.complete_for("hub")
    assert not recorded.complete_for("lazy")
    assert type(sys.modules["hub"]).__name__ == "module"  # runs never see the recording class
