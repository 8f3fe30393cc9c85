"""pytestd's in-interpreter half.

The ``pytestd-host`` process embeds the project's own CPython and imports this package (from the
pytestd installation, never from the project's venv) to warm the template and to start each run.
Nothing here is imported by the user's code yet; the reload-patch API will live here.
"""

__version__ = "0.1.0"
