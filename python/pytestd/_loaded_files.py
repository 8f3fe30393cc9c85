"""Fingerprints of every file the template's imports loaded, wherever it lives (the project, editable
installs, ``pythonpath`` entries, site-packages, the standard library), taken at the moment the import
system validated the file; and the directories the import system searched.

A fingerprint taken when the host reports would miss an edit made during the warm-up after the module
was loaded: the template would hold the old code while its fingerprint describes the new file. So the
stat is taken where CPython decides what to load: ``SourceFileLoader.path_stats`` (every source module,
before the cached bytecode or the source is chosen), ``ExtensionFileLoader.create_module``, and pytest's
assertion-rewriting ``exec_module`` (test modules, conftests and plugins, which it reads itself). The
stat precedes the read: an edit in between makes the fingerprint differ from the disk, which costs a
clean host, never a stale run.

Searched directories are where a new module could appear and shadow a loaded one (earlier ``sys.path``
entries, the portions of a namespace package): the manager watches them.
"""

import os
import sys
from contextlib import contextmanager
from importlib import machinery
from typing import Dict, List

# path -> b"dev:ino:size:mtime_ns:ctime_ns", as the import system named the file (``__file__``).
_fingerprints: Dict[str, bytes] = {}
# Directories a FileFinder searched, in first-search order.
_searched: Dict[str, None] = {}
_replace = False


def _record(path) -> None:
    if not isinstance(path, str) or (not _replace and path in _fingerprints):
        return
    try:
        st = os.stat(path)
    except OSError:
        return
    _fingerprints[path] = f"{st.st_dev}:{st.st_ino}:{st.st_size}:{st.st_mtime_ns}:{st.st_ctime_ns}".encode()


def refresh(paths: List[str]) -> None:
    """Fingerprints ``paths`` again: a reload is about to read them (stat first, then read)."""
    for path in paths:
        _fingerprints.pop(path, None)
        _record(path)


def _wrapped_hooks():
    """(owner, attribute, wrapper) for each import-system entry point that reads a file."""
    path_stats = machinery.SourceFileLoader.path_stats
    create_module = machinery.ExtensionFileLoader.create_module
    find_spec = machinery.FileFinder.find_spec

    def recording_path_stats(self, path):
        _record(path)
        return path_stats(self, path)

    def recording_create_module(self, spec):
        _record(spec.origin)
        return create_module(self, spec)

    def recording_find_spec(self, fullname, target=None):
        _searched.setdefault(self.path, None)
        return find_spec(self, fullname, target)

    hooks = [(machinery.SourceFileLoader, "path_stats", recording_path_stats),
             (machinery.ExtensionFileLoader, "create_module", recording_create_module),
             (machinery.FileFinder, "find_spec", recording_find_spec)]
    rewrite = sys.modules.get("_pytest.assertion.rewrite")
    if rewrite is None:
        return hooks
    exec_module = rewrite.AssertionRewritingHook.exec_module

    def recording_exec_module(self, module):
        _record(getattr(module.__spec__, "origin", None))
        return exec_module(self, module)

    return hooks + [(rewrite.AssertionRewritingHook, "exec_module", recording_exec_module)]


@contextmanager
def recording(replace: bool = False):
    """Fingerprints files as they load. During a reload (``replace``) a file loaded again takes its new
    fingerprint; during the warm-up the first load's stands (old code from it may still be alive)."""
    global _replace
    hooks = _wrapped_hooks()
    originals = [(owner, name, owner.__dict__[name]) for owner, name, _ in hooks]
    _replace = replace
    for owner, name, wrapper in hooks:
        setattr(owner, name, wrapper)
    try:
        yield
    finally:
        for owner, name, original in originals:
            setattr(owner, name, original)
        _replace = False


def report_fields() -> List[bytes]:
    """Two counted sections for the host report: ``fingerprint:path`` for the file of every module in
    the template (a module loaded without a hook, or before recording began, is fingerprinted now; an
    evicted one is no longer the template's), then the directories searched."""
    files = []
    paths = {getattr(module, "__file__", None) for module in list(sys.modules.values())}
    for path in sorted(p for p in paths if isinstance(p, str) and os.path.isabs(p)):
        _record(path)
        if path in _fingerprints:
            files.append(_fingerprints[path] + b":" + os.fsencode(path))
    directories = [os.fsencode(path) for path in _searched]
    return [str(len(files)).encode()] + files + [str(len(directories)).encode()] + directories
