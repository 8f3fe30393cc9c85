"""Wrappers that the warnings machinery must not see.

``warnings.warn(..., stacklevel=2)`` in a module body names the line that imported the module: CPython
skips the import system's own frames (files named like ``importlib/_bootstrap``) when it counts. pytestd
wraps the import system during the warm-up and in runs; its wrappers must be skipped the same way, or
such warnings would point into pytestd.
"""

import types

_IMPORT_SYSTEM_FILENAME = "<pytestd: importlib._bootstrap wrapper>"
# The exact name CPython gives the import system's frames.
_BOOTSTRAP_FILENAME = "<frozen importlib._bootstrap>"


def invisible_to_warnings(function: types.FunctionType) -> types.FunctionType:
    """A copy of ``function`` whose frames the warnings machinery skips, as it skips the import system's."""
    return _renamed(function, _IMPORT_SYSTEM_FILENAME)


def inside_import_system(function: types.FunctionType) -> types.FunctionType:
    """For a wrapper called by the import system itself (``_bootstrap._load_unlocked``): CPython cuts
    the import system's frames out of an import error's traceback only as one unbroken run of frames
    of exactly its file name, so the wrapper's frame must carry that name too."""
    return _renamed(function, _BOOTSTRAP_FILENAME)


def _renamed(function: types.FunctionType, filename: str) -> types.FunctionType:
    code = function.__code__.replace(co_filename=filename)
    copy = types.FunctionType(code, function.__globals__, function.__name__, function.__defaults__,
                              function.__closure__)
    copy.__kwdefaults__ = function.__kwdefaults__
    copy.__qualname__ = function.__qualname__
    return copy
