"""Each command selects and discovers tests from scratch, as plain pytest would."""
import pytest

from conftest import PYPROJECT

FILES = {
    "pyproject.toml": PYPROJECT,
    "tests/test_a.py": '''
        def test_apple(): pass
        def test_avocado(): assert False
    ''',
    "tests/test_b.py": '''
        def test_banana(): pass
        def test_blueberry(): pass
    ''',
    "tests/pkg/__init__.py": "",
    "tests/pkg/test_c.py": '''
        import pytest
        @pytest.mark.parametrize("n", [1, 2, 3])
        def test_cherry(n): assert n != 2
    ''',
}


@pytest.fixture
def sel(ctx):
    return ctx.pair(FILES, label="select")


def _ids(result):
    return sorted({o[0] for o in result.outcomes if o[1] == "call"})


def test_k_then_another_k_runs_the_second_selection(sel):
    _, a = sel.compare("-k", "apple or avocado", "-q")
    assert _ids(a) == ["tests/test_a.py::test_apple", "tests/test_a.py::test_avocado"]
    _, b = sel.compare("-k", "banana", "-q")
    assert _ids(b) == ["tests/test_b.py::test_banana"]
    _, c = sel.compare("tests/pkg", "-q")
    assert _ids(c) == [f"tests/pkg/test_c.py::test_cherry[{n}]" for n in (1, 2, 3)]
    _, d = sel.compare("-q", "tests/test_b.py::test_blueberry")
    assert _ids(d) == ["tests/test_b.py::test_blueberry"]


def test_a_test_added_to_an_already_run_file_is_collected(sel):
    sel.compare("-q")
    sel.write("tests/test_b.py", '''
        def test_banana(): pass
        def test_blueberry(): pass
        def test_boysenberry(): assert False
    ''')
    _, d = sel.compare("-q", "tests/test_b.py", full_output=True)
    assert "tests/test_b.py::test_boysenberry" in _ids(d)


def test_a_removed_test_is_not_collected_any_more(sel):
    sel.compare("-q")
    sel.write("tests/test_a.py", "def test_apple(): pass\n")
    _, d = sel.compare("-q", full_output=True)
    assert "tests/test_a.py::test_avocado" not in _ids(d)


def test_a_new_test_file_is_discovered(sel):
    sel.compare("-q")
    sel.write("tests/test_new.py", "def test_newcomer(): pass\n")
    _, d = sel.compare("-q", full_output=True)
    assert "tests/test_new.py::test_newcomer" in _ids(d)


def test_a_renamed_test_file_is_discovered_under_its_new_name(sel):
    sel.compare("-q")
    for project in (sel.d, sel.p):
        project.path("tests/test_a.py").rename(project.path("tests/test_z.py"))
    _, d = sel.compare("-q", full_output=True)
    assert "tests/test_z.py::test_apple" in _ids(d)


@pytest.mark.parametrize("args", [["--collect-only", "-q"], ["--collect-only"], ["--co", "-qq"],
                                  ["--co", "-k", "cherry"]])
def test_collect_only_output_equals_plain_pytest(sel, args):
    sel.compare(*args, full_output=True)
