"""Whether the warm template may be forked although an import started threads.

fork() copies only the calling thread: a lock another thread held at that moment stays held forever
in the child, and a run waiting on it deadlocks. The host asks here before it forks when
``/proc/self/task`` lists more than its own thread. Known-safe threads:

* OpenBLAS's worker pool (numpy, scipy): OpenBLAS registers a ``pthread_atfork`` handler that stops
  its workers before every fork and starts them again on the next call, so none is copied mid-work.

Any other thread (a ``threading.Thread``, a native pool pytestd knows nothing about) may hold a
lock: the host then sends the run to plain pytest instead of forking.
"""

import os
import sys

# The names under which OpenBLAS builds export their thread count (plain, 64-bit interface, and
# the scipy-openblas wheels numpy and scipy ship since 2024).
_OPENBLAS_THREAD_COUNTS = ("openblas_get_num_threads", "openblas_get_num_threads64_",
                           "scipy_openblas_get_num_threads64_", "scipy_openblas_get_num_threads")


def fork_hazard() -> bytes:
    """Empty when every thread but this one is known safe to fork across; else the reason, one line."""
    me = _native_id()
    others = {int(tid) for tid in os.listdir("/proc/self/task")} - {me}
    if not others:
        return b""
    threading = sys.modules.get("threading")
    if threading is not None:
        for thread in threading.enumerate():
            if thread is not threading.main_thread() and getattr(thread, "native_id", None) in others:
                return (f"the warm template runs a thread an import started ({thread.name!r}, target "
                        f"{_target_of(thread)}): a fork could copy a lock it holds").encode()
    unknown = len(others) - _openblas_workers()
    if unknown > 0:
        return (f"the warm template has {unknown} native thread{'s' if unknown > 1 else ''} an import started "
                "that pytestd cannot prove safe to fork across").encode()
    return b""


def _native_id() -> int:
    threading = sys.modules.get("threading")
    if threading is not None and hasattr(threading, "get_native_id"):
        return threading.get_native_id()
    return os.getpid()  # the host's Python runs on the process's main thread


def _target_of(thread) -> str:
    target = getattr(thread, "_target", None)
    if target is None:
        return type(thread).__qualname__ + ".run"
    return f"{getattr(target, '__module__', '?')}.{getattr(target, '__qualname__', repr(target))}"


def _openblas_workers() -> int:
    """Worker threads of every OpenBLAS loaded in this process (its thread count minus the caller)."""
    paths = set()
    with open("/proc/self/maps") as maps:
        for line in maps:
            fields = line.split(maxsplit=5)
            if len(fields) == 6 and "openblas" in os.path.basename(fields[5]).lower():
                paths.add(fields[5].strip())
    if not paths:
        return 0
    import ctypes

    workers = 0
    for path in paths:
        try:
            library = ctypes.CDLL(path, mode=getattr(os, "RTLD_NOLOAD", 0))
        except OSError:
            continue
        for name in _OPENBLAS_THREAD_COUNTS:
            count = getattr(library, name, None)
            if count is not None:
                workers += max(0, count() - 1)
                break
    return workers
