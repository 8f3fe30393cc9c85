"""Conftest edits without a clean host: runs import conftests afresh, so an edit whose effect on the
template is provably the same (same top level, no edited function ran during the warm-up, nothing of
the old conftest alive) is served at once by the template as it is; any other waits for the clean host
(README: Freshness and hot reload). The conftest imports a slow module (1.5 s), so a clean host is
clearly slower than serving an edit at once. Every run is compared with plain pytest."""
import pytest

import harness as H
from conftest import PYPROJECT

pytestmark = pytest.mark.usefixtures("needs_daemon")

CONFTEST = '''
    import os
    import pytest
    import slow  # noqa: F401
    import registry

    os.environ.setdefault("FROM_CONFTEST", "1")


    def pytest_collection_modifyitems(items):
        items.sort(key=lambda item: item.name)


    def handler():
        return "h1"


    @pytest.fixture
    def value():
        return 1


    class Helper:
        def greet(self):
            return "hello"


    @pytest.fixture
    def helper():
        return Helper()
'''

FILES = {
    "pyproject.toml": PYPROJECT,
    "src/slow.py": "import time\ntime.sleep(1.5)\n",
    "src/registry.py": "HANDLERS = []\n",
    "conftest.py": CONFTEST,
    "tests/test_uses_conftest.py": '''
        import os
        import registry

        def test_value(value):
            assert value == 1

        def test_helper(helper):
            assert helper.greet() == "hello"

        def test_environment():
            assert os.environ["FROM_CONFTEST"] == "1"

        def test_latest_handler():
            assert not registry.HANDLERS or registry.HANDLERS[-1]() == "h1"
    ''',
}
# The same, but the conftest registers one of its functions in a project module: the template keeps it.
REGISTERING = dict(FILES, **{"conftest.py": CONFTEST + "\n\n    registry.HANDLERS.append(handler)\n"})


def _warm_pair(ctx, files):
    pair = ctx.pair(files, label="conftest")
    pair.compare("-q", daemon_first=True)
    assert pair.d.cli("start").rc == 0
    return pair


@pytest.fixture
def pair(ctx):
    return _warm_pair(ctx, FILES)


def test_fixture_and_method_edits_need_no_new_template(pair):
    before = pair.edit("conftest.py", "    return 1\n", "    return 2\n")
    plain, daemon = pair.compare("-q", daemon_first=True)
    assert plain.rc == 1 and "test_value" in plain.out, plain.describe()
    assert "nothing to execute again" in H.reload_after(pair.d, before)

    # A method of a class defined in the conftest, with moved lines, then a new fixture signature.
    before = pair.edit("conftest.py", '        return "hello"\n', '\n        return "hi"\n')
    pair.compare("-q", daemon_first=True)
    assert "nothing to execute again" in H.reload_after(pair.d, before)
    before = pair.edit("conftest.py", "def value():\n", "def value(request):\n")
    pair.compare("-q", daemon_first=True)
    assert "nothing to execute again" in H.reload_after(pair.d, before)


def test_edits_that_change_the_template_wait_for_a_clean_host(pair):
    # A hook that ran during the warm-up's collection.
    before = pair.edit("conftest.py", "items.sort(key=lambda item: item.name)", "items.sort(key=lambda item: item.name, reverse=True)")
    pair.compare("-v", daemon_first=True)
    assert "ran during the warm-up" in H.fallback_after(pair.d, before)

    # The top level: the environment it sets.
    before = pair.edit("conftest.py", 'setdefault("FROM_CONFTEST", "1")', 'setdefault("FROM_CONFTEST", "2")')
    pair.compare("-q", daemon_first=True)
    assert "top-level code" in H.fallback_after(pair.d, before) or "a constant" in H.fallback_after(pair.d, before)


def test_a_conftest_function_the_template_holds_means_a_clean_host(ctx):
    """Registered in a project module at import: the template holds the warm-up's handler, whose
    globals are the old conftest's, so even an edit of an unrelated fixture is not provably the same."""
    pair = _warm_pair(ctx, REGISTERING)
    before = pair.edit("conftest.py", "    return 1\n", "    return 2\n")
    pair.compare("-q", daemon_first=True)
    assert "still referenced by the template" in H.fallback_after(pair.d, before)
