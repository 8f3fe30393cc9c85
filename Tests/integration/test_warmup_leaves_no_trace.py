"""The warm-up's pytest session leaves nothing a run can observe: each run collects, configures and runs
the project's hooks afresh, exactly once, as a fresh process does; only imports are shared. Every test
here runs each command twice through pytestd (the second is served warm) and compares with plain pytest."""
import pytest

from conftest import PYPROJECT


def _compare_twice(pair, *args):
    for _ in range(2):
        pair.compare(*args, full_output=True)


def test_iterators_in_parametrize_are_fresh_in_every_run(ctx):
    pair = ctx.pair({
        "pyproject.toml": PYPROJECT,
        "tests/test_iterators.py": '''
            import pytest
            inputs = [1, 2, 3, 4, 5, 6, 7]
            outputs = [2, 3, 4, 5, 6, 7, 8]

            @pytest.mark.parametrize("value,expected", zip(inputs, outputs))
            def test_zip(value, expected):
                assert value + 1 == expected

            @pytest.mark.parametrize("value", (x for x in range(3)))
            def test_generator(value):
                assert value < 3

            @pytest.mark.parametrize("value", map(str, range(2)))
            def test_map(value):
                assert value.isdigit()
        ''',
    }, label="iterators")
    _compare_twice(pair, "-v")


def test_module_state_of_tests_and_conftests_is_fresh_in_every_run(ctx):
    """Ids from a module-level counter, a cache filled during collection, conftest globals mutated by
    collection hooks: a second collection in the same process would see them changed."""
    pair = ctx.pair({
        "pyproject.toml": PYPROJECT,
        "conftest.py": '''
            SEEN = []
            GENERATED = []

            def pytest_generate_tests(metafunc):
                if "generated" in metafunc.fixturenames:
                    GENERATED.append(metafunc.function.__name__)
                    metafunc.parametrize("generated", range(len(GENERATED)))

            def pytest_collection_modifyitems(items):
                SEEN.append(len(items))

            def pytest_collect_file(file_path, parent):
                SEEN.append(file_path.name)
        ''',
        "tests/test_state.py": '''
            import functools
            import itertools
            import pytest

            COUNTER = itertools.count()
            CALLS = []

            @functools.lru_cache(maxsize=None)
            def cases():
                CALLS.append(1)
                return [1, 2]

            @pytest.mark.parametrize("x", cases(), ids=lambda x: f"case{next(COUNTER)}")
            def test_counted(x):
                assert x in (1, 2)

            def test_cache_filled_once():
                assert CALLS == [1]

            def test_generated(generated):
                assert generated == 0

            def test_hooks_ran_once():
                import conftest
                assert conftest.SEEN.count(5) == 1, conftest.SEEN
        ''',
    }, label="modstate")
    _compare_twice(pair, "-v")


def test_warnings_raised_while_importing_reach_every_run(ctx):
    """A project module that warns at import, an unregistered mark in a test module, a module that
    silences its own import's warnings, a filter a module adds for good while collected."""
    pair = ctx.pair({
        "pyproject.toml": PYPROJECT,
        "src/legacy.py": '''
            import warnings
            warnings.warn("legacy is deprecated", DeprecationWarning)
            warnings.warn("legacy says hello", UserWarning)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                import quiet
            import chatty
            VALUE = 1
        ''',
        "src/quiet.py": '''
            import warnings
            warnings.warn("this never shows", UserWarning)
        ''',
        "src/chatty.py": '''
            import warnings
            warnings.warn("chatty imported", FutureWarning, stacklevel=2)
            warnings.filterwarnings("ignore", message="silenced later")
        ''',
        "tests/test_warns.py": '''
            import warnings
            import pytest
            import legacy

            @pytest.mark.not_registered_anywhere
            def test_mark():
                assert legacy.VALUE == 1

            def test_silenced_by_a_collection_time_filter():
                warnings.warn("silenced later", UserWarning)
        ''',
    }, label="warnings")
    _compare_twice(pair)
    _compare_twice(pair, "-q", "-W", "error::DeprecationWarning")
    _compare_twice(pair, "-q", "-W", "ignore::UserWarning")
    _compare_twice(pair, "-q", "-p", "no:warnings")


def test_warnings_of_a_module_first_imported_by_a_later_test_module(ctx):
    """The replay follows the run's import order: the warning is attributed to whichever test module
    reaches the module first, and raised once."""
    pair = ctx.pair({
        "pyproject.toml": PYPROJECT,
        "src/base.py": "import warnings\nwarnings.warn('base imported', DeprecationWarning)\n",
        "src/middle.py": "import base\n",
        "tests/test_a.py": "def test_a():\n    pass\n",
        "tests/test_b.py": "import middle\n\ndef test_b():\n    pass\n",
        "tests/test_c.py": "import base\n\ndef test_c():\n    pass\n",
    }, label="warnorder")
    _compare_twice(pair)
    _compare_twice(pair, "tests/test_c.py")
    _compare_twice(pair, "-W", "error::DeprecationWarning", "tests/test_b.py", "tests/test_c.py")


def test_an_edited_test_module_needs_no_reload(ctx, needs_daemon):
    """Test modules are not part of the template: an edit is simply imported by the next run."""
    pair = ctx.pair({
        "pyproject.toml": PYPROJECT,
        "tests/test_edit.py": "def test_value():\n    assert 1 == 1\n",
    }, label="testedit")
    pair.compare("-q")
    generation = pair.d.status()["host generation"]
    pair.write("tests/test_edit.py", "def test_value():\n    assert 1 == 2\n\ndef test_new():\n    pass\n")
    plain, daemon = pair.compare("-q")
    assert daemon.rc == 1
    assert pair.d.status()["host generation"] == generation
