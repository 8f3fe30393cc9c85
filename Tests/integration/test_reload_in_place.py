"""Edits that change only function bodies are patched into the live functions (``__code__``):
nothing executes again, however many modules import the edited one. Every test is differential
(plain pytest gives the ground truth) and also checks which path served the edit: patching a function
whose old results were kept at import time, or one that something else still runs, is how this
optimisation would return stale results."""
import time

import pytest

import harness as H
from conftest import PYPROJECT

pytestmark = pytest.mark.usefixtures("needs_daemon")

FILES = {
    # Every test path collected by each warm-up, so what the test modules call while collected (the
    # "parametrized a test" case) ran during it; a learned warm set collects no test module, and then
    # that function is patched in place (see test_learned_warm_set.py).
    "pyproject.toml": PYPROJECT + '[tool.pytestd]\npreload = ["tests"]\n',
    "conftest.py": "import slow  # noqa: F401\n",
    "src/slow.py": "import time\ntime.sleep(0.8)\n",
    "src/app/__init__.py": "",
    "src/app/core.py": '''
        import functools

        def helper():
            return 1

        def scale(x):
            return x * 2

        TABLE = [scale(i) for i in range(3)]

        def make_rows():
            return [1, 2]

        def traced(function):
            @functools.wraps(function)
            def wrapper(*args):
                return function(*args)
            return wrapper

        @traced
        def wrapped():
            return "w1"

        @functools.lru_cache(maxsize=None)
        def cached(x):
            return x + 1

        class Shape:
            def area(self):
                return 1

            @staticmethod
            def kind():
                return "s1"

            @classmethod
            def make(cls):
                return cls()

            @property
            def sides(self):
                return 4

        def documented():
            """Doc one."""
            return 1

        def fails():
            assert helper() == 99
    ''',
    # What holds old code where pytestd cannot see it: only a closure has `hidden`, and a generator
    # that never started keeps counter's code.
    "src/app/extra.py": '''
        def opaque(function):
            def wrapper(*args):
                return function(*args)
            return wrapper

        @opaque
        def hidden():
            return "o1"

        def counter():
            yield 1

        PENDING = counter()

        def constants(function):
            return function.__code__.co_consts

        @constants
        def table():
            return (1, 2, 3)
    ''',
    "src/app/user.py": "from app.core import helper\n\ndef use():\n    return helper()\n",
    "tests/test_core.py": '''
        import inspect

        import pytest

        from app import core, extra
        from app.core import Shape, cached, documented, helper, scale, wrapped
        from app.extra import hidden
        from app.user import use

        def test_helper():
            assert helper() == 1 and use() == 1

        def test_table():
            assert core.TABLE == [0, 2, 4] and scale(3) == 6

        @pytest.mark.parametrize("n", core.make_rows())
        def test_rows(n):
            assert n > 0

        def test_decorated():
            assert (wrapped(), hidden(), cached(1)) == ("w1", "o1", 2)

        def test_shape():
            shape = Shape.make()
            assert (shape.area(), shape.kind(), shape.sides) == (1, "s1", 4)
            assert inspect.getsource(Shape).startswith("class Shape")

        def test_pending():
            assert next(extra.PENDING) == 1

        def test_derived_from_a_function():
            assert (1, 2, 3) in extra.table

        def test_doc():
            assert documented.__doc__ == "Doc one."

        def test_fails():
            core.fails()
    ''',
}

CORE, EXTRA = "src/app/core.py", "src/app/extra.py"

IN_PLACE = [
    pytest.param(CORE, "return 1\n\ndef scale", "return 2\n\ndef scale", id="function also held by app.user"),
    pytest.param(CORE, 'return "w1"', 'return "w2"', id="through functools.wraps"),
    pytest.param(CORE, "return x + 1", "return x + 5", id="lru_cache never called yet"),
    pytest.param(CORE, "return 1\n\n    @staticmethod", "return 7\n\n    @staticmethod", id="method"),
    pytest.param(CORE, 'return "s1"', 'return "s2"', id="staticmethod"),
    pytest.param(CORE, "return 4", "return 5", id="property"),
    pytest.param(CORE, "return cls()", "return None", id="classmethod"),
    pytest.param(CORE, "import functools\n", "import functools\n# one\n# two\n", id="every line moves"),
    pytest.param(CORE, "def helper():\n    return 1", "def helper():\n    x = 1\n\n    return x",
                 id="lines below move"),
]

NOT_IN_PLACE = [
    pytest.param(CORE, "return x * 2", "return x * 3", "ran during the warm-up", id="computed TABLE at import"),
    pytest.param(CORE, "return [1, 2]", "return [1, 2, 3]", "ran during the warm-up", id="parametrized a test"),
    pytest.param(EXTRA, 'return "o1"', 'return "o2"', "held by something pytestd cannot update",
                 id="only a closure has it"),
    pytest.param(EXTRA, "yield 1", "yield 2", "held by something pytestd cannot update",
                 id="a generator that never started"),
    pytest.param(CORE, '"""Doc one."""', '"""Doc two."""', "docstring", id="docstring"),
    pytest.param(EXTRA, "(1, 2, 3)", "(1, 2, 4)", "what its decorator made of it", id="consumed by a decorator"),
    pytest.param(CORE, "def helper():", "def helper(*args):", "signature", id="signature"),
    pytest.param(CORE, "def cached(x):\n    return x + 1", "def cached(y):\n    return y + 1", "signature",
                 id="parameter renamed"),
    pytest.param(CORE, "TABLE = [", "TABLE = [0] + [", "top-level code", id="top level"),
]


def _warm_pair(ctx, venv="3.11"):
    pair = ctx.pair(FILES, venv=venv, label="inplace")
    pair.compare("-q", daemon_first=True)
    assert pair.d.cli("start").rc == 0
    return pair


def _settle(pair):
    """Until a clean host serves: the next edit is then compared with the files as they are now
    (reloads start from the last clean template, with every change since)."""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        status = pair.d.status()
        if status.get("host generation", "").split(" ", 1)[-1].startswith("(clean") and status.get("state") == "ready":
            return
        time.sleep(0.2)
    raise AssertionError(f"no clean host within 60 s: {status}")


def _edit(pair, path, old, new):
    """Saves the edit in both projects; returns the change set id before it."""
    before = H.change_set_id(pair.d.status())
    text = pair.d.path(path).read_text()
    assert text.count(old) == 1, f"{old!r} must occur once"
    pair.write(path, text.replace(old, new))
    return before


@pytest.fixture(scope="module")
def pair(module_ctx):
    return _warm_pair(module_ctx)


@pytest.mark.parametrize("path, old, new", IN_PLACE)
def test_body_edits_are_patched_in_place_with_plain_pytests_output(pair, path, old, new):
    _settle(pair)
    before = _edit(pair, path, old, new)
    try:
        pair.compare("-q", full_output=True, daemon_first=True)
        reload = H.reload_after(pair.d, before)
        assert "patched in place: app.core" in reload, reload
    finally:
        _edit(pair, path, new, old)
    pair.compare("-q", full_output=True, daemon_first=True)


@pytest.mark.parametrize("path, old, new, reason", NOT_IN_PLACE)
def test_edits_whose_effects_may_outlive_the_code_execute_again(pair, path, old, new, reason):
    _settle(pair)
    before = _edit(pair, path, old, new)
    try:
        pair.compare("-q", full_output=True, daemon_first=True)
        reload = H.reload_after(pair.d, before)
        assert "not in place" in reload and reason in reload, reload
    finally:
        _edit(pair, path, new, old)
    pair.compare("-q", full_output=True, daemon_first=True)


@pytest.mark.parametrize("version", ["3.9", "3.13"])
def test_other_pythons_know_what_ran_during_the_warm_up(ctx, version):
    """3.9 reads CPython's start counters, 3.13 records with sys.monitoring (and moves __firstlineno__)."""
    pair = _warm_pair(ctx, version)
    before = _edit(pair, CORE, "import functools\n", "import functools\n# moved\n")
    pair.compare("-q", full_output=True, daemon_first=True)
    assert "patched in place: app.core" in H.reload_after(pair.d, before)
    before = _edit(pair, CORE, "return x * 2", "return x * 3")
    pair.compare("-q", full_output=True, daemon_first=True)
    assert "ran during the warm-up" in H.reload_after(pair.d, before)
    _settle(pair)
    before = _edit(pair, CORE, 'return "w1"', 'return "w3"')
    pair.compare("-q", full_output=True, daemon_first=True)
    assert "patched in place: app.core" in H.reload_after(pair.d, before)


# One module per way a function can (not) run during the warm-up: each module is decided on its own.
PROBES = {
    "pyproject.toml": PYPROJECT,
    "src/probe/__init__.py": "",
    "src/probe/called.py": "def value():\n    return 1\n\nVALUE = value()\n",
    "src/probe/uncalled.py": "def value():\n    return 1\n",
    # Kept, never iterated (closing one evaluates its frame on 3.8-3.10: it would count as started).
    "src/probe/generator_created.py": "def values():\n    yield 1\n\nPENDING = values()\n",
    "src/probe/generator_iterated.py": "def values():\n    yield 1\n\nFIRST = next(values())\n",
    "src/probe/executed.py": "def value():\n    return 1\n\nexec('VALUE = value()')\n",
    "src/probe/registered.py": '''
        def register(cls):
            cls.NAME = cls().name()
            return cls

        @register
        class Thing:
            def name(self):
                return 1
    ''',
    "src/probe/profiler.py": "import sys\n\nPROFILER = repr(sys.getprofile())\n",
    "tests/test_probe.py": '''
        from probe import called, executed, generator_created, generator_iterated, profiler, registered, uncalled

        def test_values():
            assert called.value() == executed.value() == uncalled.value() == 1
            assert list(generator_created.values()) == list(generator_iterated.values()) == [1]
            assert registered.Thing().name() == registered.Thing.NAME == 1

        def test_no_profiler_during_the_warm_up():
            assert profiler.PROFILER == "None"
    ''',
}
RAN = {"called": "return 1", "generator_iterated": "yield 1", "executed": "return 1",
       "registered": "def name(self):\n        return 1"}
DID_NOT_RUN = {"uncalled": "return 1", "generator_created": "yield 1"}


@pytest.mark.parametrize("version", ["3.8", "3.9", "3.10", "3.11", "3.12", "3.13"])
def test_every_python_knows_which_functions_ran_during_the_warm_up(ctx, version):
    """3.8-3.11 read CPython's own start counters (no profile hook: sys.getprofile() stays None),
    3.12+ use sys.monitoring. Whatever ran is executed again; what did not is patched in place."""
    pair = ctx.pair(PROBES, venv=version, label="probes")
    pair.compare("-q", daemon_first=True)
    assert pair.d.cli("start").rc == 0
    before = H.change_set_id(pair.d.status())
    for module, old in {**RAN, **DID_NOT_RUN}.items():
        path = f"src/probe/{module}.py"
        pair.write(path, pair.d.path(path).read_text().replace(old, old.replace("1", "2")))
    pair.compare("-q", full_output=True, daemon_first=True)
    reload = H.reload_after(pair.d, before)
    assert "patched in place: probe.uncalled (" in reload, reload
    reasons = reload.split("not in place: ", 1)[-1].split("; ")
    for module in RAN:
        assert any(f"/{module}.py:" in r and "ran during the warm-up" in r for r in reasons), (module, reload)
    # Refused only later, because the generator still holds the old code: so it counted as not started.
    assert any("/generator_created.py:" in r and "held by something pytestd cannot update" in r
               for r in reasons), reload


def test_patching_in_place_can_be_turned_off(ctx):
    files = dict(FILES, **{"pyproject.toml": PYPROJECT + "\n[tool.pytestd]\npatch_in_place = false\n"})
    pair = ctx.pair(files, label="inplaceoff")
    pair.compare("-q", daemon_first=True)
    assert pair.d.cli("start").rc == 0
    before = _edit(pair, CORE, 'return "w1"', 'return "w2"')
    pair.compare("-q", full_output=True, daemon_first=True)
    reload = H.reload_after(pair.d, before)
    assert "reloaded app.core" in reload and "patch_in_place = false" in reload, reload


def test_with_a_top_level_edit_elsewhere_only_that_module_and_its_importers_execute_again(pair):
    """app.core is patched in place; app.user (top level edited) executes again, and app.core's other
    importers do not."""
    user = "src/app/user.py"
    _settle(pair)
    before = _edit(pair, CORE, 'return "w1"', 'return "w2"')
    _edit(pair, user, "def use():", "OFFSET = 0\n\ndef use():")
    try:
        pair.compare("-q", full_output=True, daemon_first=True)
        reload = H.reload_after(pair.d, before)
        assert "patched in place: app.core" in reload and "reloaded app.user" in reload, reload
        assert "reloaded app.core" not in reload and "app.extra" not in reload, reload
    finally:
        _edit(pair, CORE, 'return "w2"', 'return "w1"')
        _edit(pair, user, "OFFSET = 0\n\ndef use():", "def use():")
    pair.compare("-q", full_output=True, daemon_first=True)
