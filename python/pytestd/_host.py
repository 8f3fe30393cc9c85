"""The entry points the Swift host calls. Everything crosses as bytes (see _wire)."""

from pytestd import _guard, _patches, _reload, _run, _run_imports, _threads, _warmup, _zygote


def preflight() -> bytes:
    return _warmup.preflight()


def warm(root: bytes, preload: bytes, patch_directories: bytes, patch_in_place: bytes, options: bytes,
         warm_set: bytes, zygote: bytes) -> bytes:
    return _warmup.warm(root, preload, patch_directories, patch_in_place == b"1", options, warm_set, zygote == b"1")


def zygote_report() -> bytes:
    return _warmup.zygote_report()


def zygote_check() -> bytes:
    """Empty when the zygote may fork a host for the conftest on disk; else why not."""
    return _zygote.check()


def reload(steps: bytes, evict: bytes, changed: bytes, causes: bytes, conftests: bytes) -> bytes:
    """``+`` and the template report, or ``-`` and why the reload cannot serve."""
    try:
        return b"+" + _reload.apply(steps, evict, changed, causes, conftests)
    except _reload.ReloadError as exc:
        return b"-" + str(exc).encode()


def fork_hazard() -> bytes:
    """Empty when the template may be forked; else why not (see _threads)."""
    return _threads.fork_hazard()


def run(argv: bytes, cwd: bytes, environment: bytes, style: bytes, script: bytes, decline_fd: bytes,
        imports_fd: bytes, kind: bytes, debugpy_words: bytes) -> int:
    """``decline_fd``: the pipe on which the child tells the host it hands the run to plain pytest;
    ``imports_fd``: the pipe for what the run imported (see _run_imports); ``kind``: ``pytest``, or
    ``script`` to run ``script`` as ``__main__`` (see _run); ``debugpy_words``: empty, or debugpy's
    command line that runs the run's target (see _run)."""
    _run_imports.mark_template()
    _guard.install(int(decline_fd))
    try:
        status = _run.run(argv, cwd, environment, style, script, kind, debugpy_words)
    except _patches.ServeCold as exc:
        _guard.decline_for(exc, "an after_fork patch")
    try:
        _run_imports.report(int(imports_fd))
    except Exception:  # learning is best effort: never the run's exit status
        pass
    return status
