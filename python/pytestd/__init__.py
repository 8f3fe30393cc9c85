"""pytestd's in-interpreter half, and the reload-patch API projects use.

The ``pytestd-host`` process embeds the project's own CPython and imports this package (from the
pytestd installation, never from the project's venv) to build the warm template, to reload it after
edits, and to start each run. Projects import it only in their patch files::

    import pytestd

    @pytestd.before_reload("app.tasks")
    def forget_tasks(module):
        from app.registry import TASKS
        TASKS.clear()

    pytestd.never_reload("app.settings")
"""

from pytestd._patches import (
    ServeCold, after_fork, after_reload, after_warmup, before_reload, never_reload, run_configured,
)

__all__ = [
    "ServeCold", "after_fork", "after_reload", "after_warmup", "before_reload", "never_reload", "run_configured",
]
__version__ = "0.2.0"
