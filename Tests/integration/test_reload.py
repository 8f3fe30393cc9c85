"""Hot reload: an edit is served by the warm template with just the changed modules and their
importers executed again, dependencies first — with exactly the results of plain pytest. A clean host
always warms in parallel; whatever cannot be reloaded safely waits for it.

The projects import a deliberately slow module (0.8 s at import), so a clean warm-up is slower than
a reload: runs right after an edit are served by the reloaded template, which is what is tested."""
import re
import time

import pytest

import harness as H
from conftest import PYPROJECT

pytestmark = pytest.mark.usefixtures("needs_daemon")

SLOW = "import time\ntime.sleep(0.8)\n"

PICTURE = {
    "pyproject.toml": PYPROJECT,
    "conftest.py": "import slow  # noqa: F401\n",
    "src/slow.py": SLOW,
    "src/app/__init__.py": "",
    "src/app/model.py": '''
        import enum, dataclasses

        VALUE = 1

        class Color(enum.Enum):
            RED = 1

        @dataclasses.dataclass
        class Point:
            x: int = 0

        def helper():
            return "h1"
    ''',
    "src/app/view.py": '''
        from app.model import VALUE, Color, Point

        def render():
            return f"v{VALUE}"

        def origin():
            return Point()
    ''',
    "tests/test_view.py": '''
        from app import model
        from app.model import Color, Point
        from app.view import origin, render

        def test_render():
            assert render() == "v1"

        def test_helper():
            assert model.helper() == "h1"

        def test_isinstance_across_modules():
            assert isinstance(origin(), Point)
            assert origin() == model.Point()

        def test_enum():
            assert Color.RED.value == 1 and model.Color.RED is Color.RED
    ''',
}


def _warm_pair(ctx, files, label):
    """A pytestd/plain pair, compared once, with its warm host ready."""
    pair = ctx.pair(files, label=label)
    pair.compare("-q", daemon_first=True)
    assert pair.d.cli("start").rc == 0
    return pair


def _edit(pair, path, old, new):
    """Saves `path` in both projects with `old` replaced by `new`; returns the change set id before."""
    before = H.change_set_id(pair.d.status())
    text = pair.d.path(path).read_text()
    assert old in text, f"{old!r} not in {path}"
    pair.write(path, text.replace(old, new))
    return before


@pytest.fixture
def picture(ctx):
    return _warm_pair(ctx, PICTURE, "picture")


def test_editing_model_reloads_model_then_view_and_evicts_the_test(picture):
    before = _edit(picture, "src/app/model.py", "VALUE = 1", "VALUE = 2")
    picture.compare("-q", daemon_first=True)
    reload = H.reload_after(picture.d, before)
    assert "reloaded app.model" in reload and reload.index("app.model") < reload.index("app.view"), reload


def test_editing_view_reloads_only_view(picture):
    before = _edit(picture, "src/app/view.py", "def render():", "PREFIX = 'w'\n\ndef render():")
    picture.compare("-q", daemon_first=True)
    reload = H.reload_after(picture.d, before)
    assert "reloaded app.view" in reload and "app.model" not in reload, reload


def test_a_function_body_edit_is_patched_in_place_and_importers_see_it(picture):
    """`view` and the test module hold `helper` and `render` by from-import: both see the new code
    without executing anything again."""
    before = _edit(picture, "src/app/model.py", 'return "h1"', 'return "h2"')
    picture.compare("-q", daemon_first=True)
    assert "patched in place: app.model (1 functions" in H.reload_after(picture.d, before)
    before = _edit(picture, "src/app/view.py", 'f"v{VALUE}"', 'f"w{VALUE}"')
    picture.compare("-q", daemon_first=True)
    # From the first template (both edits) when the clean host after the first was not ready yet.
    reload = H.reload_after(picture.d, before)
    assert re.search(r"patched in place: (app.model, )?app.view \(\d functions", reload), reload


def test_editing_the_test_needs_no_reload(picture):
    """Test modules are imported afresh by every run: the template has nothing to reload."""
    picture.compare("-q")
    generation = picture.d.status()["host generation"]
    before = _edit(picture, "tests/test_view.py", "def test_render():", "def test_new():\n    assert False\n\ndef test_render():")
    picture.compare("-q", daemon_first=True)
    status = picture.d.status()
    assert H.change_set_id(status) == before and status["host generation"] == generation, status


@pytest.mark.parametrize("old, new", [
    ('def helper():\n    return "h1"\n', ""),                                  # a deleted name is gone
    ("VALUE = 1", "VALUE = 3"),                                              # from-imported constant
    ("class Point:\n    x: int = 0", "class Point:\n    x: int = 0\n    y: int = 0"),  # dataclass
    ("RED = 1", "RED = 2"),                                                  # enum
    ("VALUE = 1", "VALUE = ("),                                              # syntax error
])
def test_model_edits_give_plain_pytests_results(picture, old, new):
    text = picture.d.path("src/app/model.py").read_text()
    assert old in text
    picture.write("src/app/model.py", text.replace(old, new))
    picture.compare("-q", daemon_first=True)
    picture.write("src/app/model.py", text)
    picture.compare("-q", daemon_first=True)


def test_an_edit_is_served_before_a_clean_host_could_be(picture):
    text = picture.d.path("src/app/model.py").read_text()
    durations = []
    for value in (5, 6, 7):
        before = H.change_set_id(picture.d.status())
        picture.write("src/app/model.py", text.replace("VALUE = 1", f"VALUE = {value}"))
        started = time.monotonic()
        r = picture.d.pytest("-q")
        durations.append(time.monotonic() - started)
        assert r.rc == 1 and "1 failed, 3 passed" in r.out, r.describe()
        H.reload_after(picture.d, before)
    assert min(durations) < 0.8, f"every run waited for a clean host: {durations}"


REGISTRY = {
    "pyproject.toml": PYPROJECT,
    "conftest.py": "import slow  # noqa: F401\n",
    "src/slow.py": SLOW,
    "src/app/__init__.py": "",
    "src/app/registry.py": '''
        TASKS = {}

        def task(name):
            def register(function):
                if name in TASKS:
                    raise ValueError(f"task {name!r} is already registered")
                TASKS[name] = function
                return function
            return register
    ''',
    "src/app/tasks.py": '''
        from app.registry import task

        @task("send")
        def send():
            return "sent v1"
    ''',
    "tests/test_tasks.py": '''
        from app.registry import TASKS
        import app.tasks

        def test_send():
            assert TASKS["send"]() == "sent v1"
    ''',
}

PATCH = '''
import pytestd


@pytestd.before_reload("app.tasks")
def forget_tasks(module):
    from app.registry import TASKS
    for name, function in list(TASKS.items()):
        if function.__module__ == "app.tasks":
            del TASKS[name]
'''


def _edit_send(pair):
    """A new module constant as well as a new body: the module must execute again (not in place)."""
    return _edit(pair, "src/app/tasks.py", '@task("send")\ndef send():\n    return "sent v1"',
          'VERSION = "sent v2"\n\n@task("send")\ndef send():\n    return VERSION')


def test_registering_decorator_without_a_patch_falls_back_and_names_the_module(ctx):
    pair = _warm_pair(ctx, REGISTRY, "registry")
    before = _edit_send(pair)
    pair.compare("-q", daemon_first=True)
    fallback = H.fallback_after(pair.d, before)
    assert "reload of app.tasks failed: ValueError" in fallback and "reload patch" in fallback, fallback


def test_registering_decorator_with_a_patch_reloads(ctx):
    files = dict(REGISTRY, **{"pytestd_patches/tasks.py": PATCH})
    pair = _warm_pair(ctx, files, "patched")
    before = _edit_send(pair)
    pair.compare("-q", daemon_first=True)
    assert "reloaded app.tasks" in H.reload_after(pair.d, before)


def test_a_registry_holding_old_code_is_detected(ctx):
    """No exception, but the registry keeps the old function under another key: unsafe, fall back."""
    files = dict(REGISTRY)
    files["src/app/registry.py"] = '''
        TASKS = {}

        def task(name):
            def register(function):
                TASKS[f"{name}@{id(function)}"] = function
                return function
            return register
    '''
    files["tests/test_tasks.py"] = '''
        from app.registry import TASKS
        import app.tasks

        def test_send():
            assert [f() for f in TASKS.values()] == ["sent v1"]
    '''
    pair = _warm_pair(ctx, files, "holder")
    before = _edit_send(pair)
    pair.compare("-q", daemon_first=True)
    fallback = H.fallback_after(pair.d, before)
    assert "still referenced by" in fallback and "app.tasks.send" in fallback, fallback


def test_package_conftest_fixture_edit_is_seen(ctx):
    files = {
        "pyproject.toml": PYPROJECT,
        "src/slow.py": SLOW,
        "tests/__init__.py": "",
        "tests/conftest.py": '''
            import pytest
            import slow  # noqa: F401

            @pytest.fixture
            def number():
                return 1
        ''',
        "tests/test_number.py": "def test_number(number):\n    assert number == 1\n",
    }
    pair = _warm_pair(ctx, files, "pkgconftest")
    _edit(pair, "tests/conftest.py", "return 1", "return 2")
    pair.compare("-q", daemon_first=True)


def test_thirty_files_saved_at_once(ctx):
    files = {"pyproject.toml": PYPROJECT, "conftest.py": "import slow  # noqa: F401\n", "src/slow.py": SLOW}
    for i in range(30):
        files[f"src/mods/m{i}.py"] = f"VALUE = {i}\n"
    files["src/mods/__init__.py"] = ""
    files["tests/test_all.py"] = (
        "import sys\n"
        "import pytest\n"
        + "".join(f"import mods.m{i}\n" for i in range(30))
        + "@pytest.mark.parametrize('i', range(30))\n"
        "def test_value(i):\n"
        "    assert sys.modules[f'mods.m{i}'].VALUE == i\n")
    pair = _warm_pair(ctx, files, "thirty")
    for i in range(30):
        pair.write(f"src/mods/m{i}.py", f"VALUE = {i + (i % 3 == 0)}\n")
    pair.compare("-q", daemon_first=True)


def test_restart_on_globs_send_changes_the_tracking_cannot_see_to_a_clean_host(ctx):
    """The value comes from a subprocess at import time: no open() in this interpreter records it.
    `restart_on` names such files."""
    files = {
        "pyproject.toml": PYPROJECT + '\n[tool.pytestd]\nrestart_on = ["data/*.txt"]\n',
        "data/mode.txt": "one\n",
        "src/mode.py": 'import subprocess\nMODE = subprocess.check_output(["cat", "data/mode.txt"], text=True).strip()\n',
        "tests/test_mode.py": "from mode import MODE\n\ndef test_mode():\n    assert MODE == 'one'\n",
    }
    pair = _warm_pair(ctx, files, "restarton")
    before = _edit(pair, "data/mode.txt", "one", "two")
    plain, _ = pair.compare("-q", daemon_first=True)
    assert plain.rc == 1
    assert "restart_on" in H.fallback_after(pair.d, before)


def test_a_dynamic_import_the_scanner_cannot_see_is_reloaded_too(ctx):
    """`plugins` imports `impl` under a computed name: only the template's observed imports know the
    edge. Editing `impl` must reload `plugins` as well (not fall back to a clean host)."""
    files = {
        "pyproject.toml": PYPROJECT,
        "conftest.py": "import slow  # noqa: F401\n",
        "src/slow.py": SLOW,
        "src/app/__init__.py": "",
        "src/app/impl.py": "def answer():\n    return 1\n",
        "src/app/plugins.py": '''
            import importlib

            ANSWER = importlib.import_module("app." + "impl").answer
        ''',
        "tests/test_plugins.py": "from app.plugins import ANSWER\n\ndef test_answer():\n    assert ANSWER() == 1\n",
    }
    pair = _warm_pair(ctx, files, "dynamic")
    before = _edit(pair, "src/app/impl.py", "def answer():\n    return 1\n", "ANSWER = 2\n\ndef answer():\n    return ANSWER\n")
    plain, _ = pair.compare("-q", daemon_first=True)
    assert plain.rc == 1
    assert "app.plugins" in H.reload_after(pair.d, before)


GRAPH = {
    "pyproject.toml": PYPROJECT,
    "conftest.py": "import slow  # noqa: F401\n",
    "src/slow.py": SLOW,
    "src/g/__init__.py": "",
    # A diamond: top -> left, right -> base.
    "src/g/base.py": "BASE = 1\n",
    "src/g/left.py": "from g.base import BASE\nLEFT = BASE + 10\n",
    "src/g/right.py": "from g.base import BASE\nRIGHT = BASE + 20\n",
    "src/g/top.py": "from g.left import LEFT\nfrom g.right import RIGHT\nTOP = LEFT + RIGHT\n",
    # An import cycle: ping <-> pong.
    "src/g/ping.py": "from g import pong\nPING = 1\n\ndef total():\n    return PING + pong.PONG\n",
    "src/g/pong.py": "from g import ping\nPONG = 2\n\ndef total():\n    return ping.PING + PONG\n",
    "tests/test_graph.py": '''
        from g.top import TOP
        from g import ping, pong

        def test_diamond():
            assert TOP == 32

        def test_cycle():
            assert ping.total() == pong.total() == 3
    ''',
}


@pytest.mark.parametrize("path, old, new, reloaded", [
    ("src/g/base.py", "BASE = 1", "BASE = 5", ["g.base", "g.left", "g.right", "g.top"]),
    ("src/g/pong.py", "PONG = 2", "PONG = 7", ["g.ping", "g.pong"]),
])
def test_diamonds_and_import_cycles_reload_whole_and_in_order(ctx, path, old, new, reloaded):
    pair = _warm_pair(ctx, GRAPH, "graph")
    before = _edit(pair, path, old, new)
    plain, _ = pair.compare("-q", daemon_first=True)
    assert plain.rc == 1
    reload = H.reload_after(pair.d, before)
    positions = [reload.find(name) for name in reloaded]
    assert -1 not in positions and positions[0] == min(positions), reload
    if path.endswith("base.py"):
        assert positions[-1] == max(positions), f"g.top must come after both sides of the diamond: {reload}"
    else:
        assert "an import cycle" in reload, f"a cycle is left for each run to import: {reload}"


def test_never_reload_waits_for_a_clean_host_and_after_fork_runs_in_every_run(ctx):
    files = {
        "pyproject.toml": PYPROJECT,
        "conftest.py": "import slow  # noqa: F401\n",
        "src/slow.py": SLOW,
        "src/settings.py": "MODE = 'one'\n",
        "pytestd_patches/project.py": '''
            import os
            import pytestd

            pytestd.never_reload("settings")

            @pytestd.after_fork
            def mark_the_run():
                os.environ["FORKED_BY_PYTESTD"] = str(os.getpid())
        ''',
        "tests/test_settings.py": '''
            import os
            from settings import MODE

            def test_mode():
                assert MODE == "one"

            def test_after_fork_hook_ran_in_this_process():
                assert os.environ.get("FORKED_BY_PYTESTD", str(os.getpid())) == str(os.getpid())
        ''',
    }
    project = ctx.project(files, label="never")
    assert project.pytest("-q").rc == 0
    assert project.cli("start").rc == 0
    state = project.root / "forked.txt"
    project.write("tests/test_forked.py", f'''
        import os
        def test_record():
            open({str(state)!r}, "w").write(os.environ.get("FORKED_BY_PYTESTD", ""))
    ''')
    assert project.pytest("-q", "tests/test_forked.py").rc == 0
    assert state.read_text().isdigit(), "the after_fork hook did not run in the run child"
    before = H.change_set_id(project.status())
    project.write("src/settings.py", "MODE = 'two'\n")
    r = project.pytest("-q", "tests/test_settings.py")
    assert r.rc == 1 and "1 failed, 1 passed" in r.out, r.describe()
    assert "never_reload" in H.fallback_after(project, before)


CYCLE_ORDER = {
    "pyproject.toml": PYPROJECT,
    "conftest.py": "import slow  # noqa: F401\n",
    "src/slow.py": SLOW,
    "src/p/__init__.py": "",
    "src/p/a.py": "import p.c\nA = 1\n",
    "src/p/b.py": "B = 2\n",
    "src/p/c.py": "C = 3\n",
    "tests/test_order.py": "from p import a, b, c\n\ndef test_values():\n    assert (a.A, b.B, c.C) == (1, 2, 3)\n",
}


def test_a_new_import_cycle_is_entered_where_a_fresh_process_enters_it(ctx):
    """Entered through `c` (as `a` does), the new cycle fails on a partially initialised module;
    entered through `b` it would not. A reload cannot know the entry: each run imports the cycle."""
    pair = _warm_pair(ctx, CYCLE_ORDER, "cycleorder")
    before = H.change_set_id(pair.d.status())
    pair.write("src/p/b.py", "B = 2\nfrom p.c import C\n")
    pair.write("src/p/c.py", "from p.b import B\nC = 3\n")
    plain, _ = pair.compare("-q", daemon_first=True)
    assert plain.rc == 2 and "partially initialized" in plain.out, plain.describe()
    assert "an import cycle" in H.reload_after(pair.d, before)


# `a` and `b` import each other: the learned warm set leaves them to runs (a cycle), so the template
# has `m` (learned from the test's imports) but not them.
CYCLE_OUTSIDE = {
    "pyproject.toml": PYPROJECT,
    "conftest.py": "import slow  # noqa: F401\n",
    "src/slow.py": SLOW,
    "src/q/__init__.py": "",
    "src/q/a.py": "X = 1\nimport q.b\n",
    "src/q/b.py": "from q.a import X\nY = X + 1\n",
    "src/q/m.py": "Z = 3\n",
    "tests/test_entry.py": "from q import a, m\n\ndef test_values():\n    assert (a.X, m.Z) == (1, 3)\n",
}


def test_a_reload_that_enters_an_import_cycle_the_template_lacks_waits_for_a_clean_host(ctx):
    """Found by the reload fuzz (seed 11, 1,000 edits). After the edits a fresh process enters the
    cycle through `a` (the test's first import) and fails; re-executing `m` entered it through `b`
    and succeeded. The reload must not serve that: it waits for the clean host."""
    pair = _warm_pair(ctx, CYCLE_OUTSIDE, "cycleoutside")
    pair.compare("-q")  # the learned warm set now has q.a and q.b; the next clean host leaves them out
    assert pair.d.cli("restart").rc == 0 and pair.d.cli("start").rc == 0
    pair.compare("-q")
    pair.write("src/q/a.py", "import q.b\nX = 1\n")
    before = H.change_set_id(pair.d.status())
    pair.write("src/q/m.py", "import q.b\nZ = 3\n")
    plain, _ = pair.compare("-q", daemon_first=True)
    assert plain.rc == 2 and "partially initialized" in plain.out, plain.describe()
    status = pair.d.status()
    assert H.change_set_id(status) > before and "through an import cycle" in status.get("last fallback", ""), status
