"""Building the warm template: everything a run would import, imported once, then frozen.

Called once per host, before any fork. The template must look like a freshly started interpreter
to each run child, apart from the modules it already has.
"""

import gc
import io
import os
import sys
import time
from contextlib import redirect_stdout
from typing import List

from pytestd import _wire


def preflight() -> bytes:
    """An empty result when this interpreter can serve runs, else the reason it cannot."""
    try:
        import pytest  # noqa: F401
    except ImportError as exc:
        return f"pytest is not importable in {sys.prefix} ({exc})".encode()
    return b""


def warm(root: bytes, preload: bytes) -> bytes:
    """Imports pytest, its plugins, the conftests and the test modules under ``preload`` (default:
    pytest's testpaths, else the root) through pytest's own collection, so assertion rewriting applies
    exactly as in a real run. Returns the report the host forwards to the manager."""
    import pytest

    started = time.perf_counter()
    saved_path = list(sys.path)
    saved_cwd = os.getcwd()
    saved_argv = list(sys.argv)
    os.chdir(os.fsdecode(root))
    output = io.StringIO()
    try:
        args = ["--collect-only", "-q", "-p", "no:cacheprovider"]
        args += [os.fsdecode(p) for p in _wire.split(preload)]
        with redirect_stdout(output):
            status = pytest.main(args)
    finally:
        sys.path[:] = saved_path
        sys.argv[:] = saved_argv
        os.chdir(saved_cwd)
    note = _warmup_note(int(status), output.getvalue())
    if note:
        print(f"pytestd-host: warm-up: {note}", file=sys.stderr)
    loaded = _loaded_files()
    sys.stdout.flush()
    sys.stderr.flush()
    # Later full collections (pytest >= 8 runs them at exit) would otherwise touch, and so copy,
    # every inherited page of the template in each child.
    gc.collect()
    gc.freeze()
    elapsed = time.perf_counter() - started
    version = ".".join(map(str, sys.version_info[:3]))
    return _wire.join(
        [version.encode(), pytest.__version__.encode(), f"{elapsed:.6f}".encode(), note.encode()]
        + loaded
    )


def _warmup_note(status: int, output: str) -> str:
    if status in (0, 5):
        return ""
    last = [line for line in output.splitlines() if line.strip()][-1:] or [f"exit status {status}"]
    return f"collection ended with status {status}: {last[0].strip()}"


def _loaded_files() -> List[bytes]:
    files = set()
    for module in list(sys.modules.values()):
        path = getattr(module, "__file__", None)
        if isinstance(path, str) and os.path.isabs(path):
            files.add(os.fsencode(path))
    return sorted(files)
