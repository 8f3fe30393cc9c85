"""Top-level edits of a hub: the hub executes again keeping every object whose new version is
indistinguishable from the old one, and an importer executes again only when a name it read at import
time now has another value (or a function it called there depends on one). Every case is compared
with plain pytest; the reload note says how many importers could stay as they were."""
import re

import pytest

import harness as H
from conftest import PYPROJECT

pytestmark = pytest.mark.usefixtures("needs_daemon")

IMPORTERS = 6

HUB = '''
    import dataclasses
    import enum

    LIMIT = 10
    UNREAD = 1

    class Severity(enum.IntEnum):
        INFO = 20

    @dataclasses.dataclass(frozen=True)
    class Event:
        source: str
        severity: Severity = Severity.INFO

    DEFAULT = Event("hub")

    def limit():
        return LIMIT

    def unread():
        return UNREAD

    def counter():
        yield 1

    PENDING = counter()
'''

FILES = {
    "pyproject.toml": PYPROJECT,
    "conftest.py": "import slow  # noqa: F401\n",
    "src/slow.py": "import time\ntime.sleep(0.8)\n",
    "src/app/__init__.py": "",
    "src/app/hub.py": HUB,
    # Importers that read only names the edits below leave as they were.
    **{f"src/app/plain{k}.py": f"from app.hub import Event, Severity\n\nMINE = {k}\n\ndef made():\n"
       f"    return Event('p{k}', Severity.INFO).source\n" for k in range(IMPORTERS)},
    # One reads LIMIT at import, one calls limit() there, one sees everything (star import).
    "src/app/reader.py": "from app.hub import LIMIT\n\nDOUBLE = LIMIT * 2\n",
    "src/app/caller.py": "from app import hub\n\nCALLED = hub.limit() + 1\n",
    "src/app/star.py": "from app.hub import *  # noqa: F401,F403\n\nSTARRED = LIMIT\n",
    "tests/test_hub.py": f'''
        from app import caller, hub, reader, star
        from app import {", ".join(f"plain{k}" for k in range(IMPORTERS))}

        def test_read_at_import():
            assert reader.DOUBLE == 20

        def test_called_at_import():
            assert caller.CALLED == 11

        def test_star():
            assert star.STARRED == 10

        def test_unread():
            assert hub.unread() == 1

        def test_identities_hold():
            assert plain0.Event is hub.Event and plain0.Severity is hub.Severity
            assert hub.DEFAULT.severity is hub.Severity.INFO
            assert isinstance(hub.DEFAULT, plain0.Event)

        def test_importers():
            assert plain0.made() == "p0"
    ''',
}


@pytest.fixture
def hub(ctx):
    pair = ctx.pair(FILES, label="hub")
    pair.compare("-q", daemon_first=True)
    assert pair.d.cli("start").rc == 0
    return pair


def _reloaded(note):
    return set(re.findall(r"(app\.\w+) \(\d", note))


@pytest.mark.parametrize("old, new, executed, kept", [
    # Nobody read UNREAD at import but the star import, which reads every name.
    ("UNREAD = 1", "UNREAD = 2", {"app.hub", "app.star"}, IMPORTERS + 2),
    # Read at import by reader, through limit() by caller, and by the star import. (An importer that
    # only read limit would execute again too: limit ran during the warm-up, and which importer
    # called it is not recorded.)
    ("LIMIT = 10", "LIMIT = 11", {"app.hub", "app.reader", "app.caller", "app.star"}, IMPORTERS),
    # A new function and a new class change no name anyone read, except through the star import.
    ("def counter():", "def added():\n    return 1\n\nclass Added:\n    pass\n\ndef counter():",
     {"app.hub", "app.star"}, IMPORTERS + 2),
    # A changed class, and the dataclass whose default is one of its members: whoever read either.
    ("    INFO = 20", "    INFO = 20\n    WARNING = 30",
     {"app.hub", "app.star", *(f"app.plain{k}" for k in range(IMPORTERS))}, 2),
], ids=["constant nobody reads", "constant read at import", "definitions added", "class changed"])
def test_a_hub_top_level_edit_executes_only_importers_that_read_a_changed_name(hub, old, new, executed, kept):
    before = hub.edit("src/app/hub.py", old, new)
    hub.compare("-q", daemon_first=True)
    note = H.reload_after(hub.d, before)
    assert _reloaded(note) == executed, note
    assert f"{kept} importers read nothing that changed" in note, note


def test_a_new_object_held_elsewhere_goes_to_the_clean_host(hub):
    """The hub hands a new object to a registry outside it while executing again: old and new would
    coexist, so the reload is refused and the clean host serves, with plain pytest's results."""
    hub.write("src/app/registry.py", "SEEN = []\n")
    hub.compare("-q", daemon_first=True)
    before = hub.edit("src/app/hub.py", "def unread():", "from app import registry\nregistry.SEEN.append(limit)\n\n\ndef unread():")
    hub.compare("-q", daemon_first=True)
    before = hub.edit("src/app/hub.py", "UNREAD = 1", "UNREAD = 3")
    hub.compare("-q", daemon_first=True)
    assert "app.hub.limit was kept as it was" in H.fallback_after(hub.d, before)
