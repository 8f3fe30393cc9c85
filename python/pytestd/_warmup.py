"""Building the warm template: everything a run would import, imported once, then frozen.

Called once per host, before any fork. The template must look like a freshly started interpreter
to each run child, apart from the modules it already has. It also records what the imports depended
on besides module files — data files they read and environment variables they looked at — so the
manager can tell when the template no longer matches the disk or a caller's environment.
"""

import builtins
import gc
import importlib
import io
import os
import sys
import time
import types
import warnings
from contextlib import contextmanager, redirect_stdout
from importlib._bootstrap import _resolve_name
from typing import Dict, List, Optional, Set, Tuple

from pytestd import _calls, _import_warnings, _loaded_files, _module_reads, _run_imports, _wire, _zygote
from pytestd._frames import invisible_to_warnings


def preflight() -> bytes:
    """An empty result when this interpreter can serve runs, else the reason it cannot."""
    try:
        import pytest  # noqa: F401
    except ImportError as exc:
        return f"pytest is not importable in {sys.prefix} ({exc})".encode()
    return b""


def warm(root: bytes, preload: bytes, patch_directories: bytes, patch_in_place: bool, options: bytes = b"",
         warm_set: bytes = b"", zygote: bool = False) -> bytes:
    """Imports pytest, its plugins, the conftests and the test modules under ``preload`` (default:
    pytest's testpaths, else the root) through pytest's own collection, so assertion rewriting applies
    exactly as in a real run; then loads the reload patches. With ``patch_in_place`` it records what
    ran meanwhile (see _calls). ``warm_set`` names a file of modules (the manager's learned set, one
    name a line, in the order runs first imported them): then the collection loads only the conftests,
    skipping test files, and imports those modules instead. Returns the report the host forwards to
    the manager."""
    import pytest

    from pytestd import _patches

    started = time.perf_counter()
    saved_path = list(sys.path)
    saved_cwd = os.getcwd()
    saved_argv = list(sys.argv)
    os.chdir(os.fsdecode(root))
    output = io.StringIO()
    collected = CollectedFiles()
    plugins = [collected]
    learned = LearnedWarmSet(os.fsdecode(warm_set)) if warm_set else None
    if learned is not None:
        plugins.append(learned)
    load_order = _Building.load_order = _run_imports.LoadOrder().start()
    _module_reads.template.start()
    with _calls.warmup.recording(os.fsdecode(root), patch_in_place), _loaded_files.recording():
        if zygote:
            _zygote.arm()
        try:
            # ``options``: the project's --rootdir/-c/--confcutdir, so the warm-up settles where runs do.
            args = [os.fsdecode(o) for o in _wire.split(options)] + ["--collect-only", "-q", "-p", "no:cacheprovider"]
            args += [os.fsdecode(p) for p in _wire.split(preload)]
            with ImportTimeReads.resume(), _import_warnings.template.recording(), redirect_stdout(output):
                status = pytest.main(args, plugins=plugins)
        finally:
            _zygote.disarm()
            sys.path[:] = saved_path
            sys.argv[:] = saved_argv
            os.chdir(saved_cwd)
        _release_warmup_session()
        _evict_session_imports(collected)
        _patches.load([os.fsdecode(d) for d in _wire.split(patch_directories)])
        _patches.run_after_warmup()
    load_order.stop()
    _module_reads.template.stop()
    _forget_warnings_already_shown()
    if _zygote.Layer.refusal:
        print(f"pytestd-host: no zygote: {_zygote.Layer.refusal}", file=sys.stderr)
    note = _warmup_note(int(status), output.getvalue())
    if note:
        _log(f"warm-up: {note}")
    # Later full collections (pytest >= 8 runs them at exit) would otherwise touch, and so copy,
    # every inherited page of the template in each child.
    gc.collect()
    gc.freeze()
    _Building.load_order = None
    seconds = time.perf_counter() - (_zygote.Layer.forked_at or started)
    return report(seconds, note, skipped=learned.skipped if learned else (), load_order=load_order)


class _Building:
    """The warm-up in progress (a zygote reports from the middle of it)."""

    load_order: Optional[_run_imports.LoadOrder] = None


def zygote_report() -> bytes:
    """What the zygote loaded so far, for the manager to drop it when any of it changes: its conftest
    left out (the zygote checks that one itself, see _zygote)."""
    return report(0.0, "", load_order=_Building.load_order, leave_out=_zygote.Layer.conftest)


class CollectedFiles:
    """A warm-up plugin: the files pytest collected as test modules, and when pytest was configured."""

    # time.monotonic() (the manager's clock) once pytest was configured with the root conftests: what
    # every plain run of the project pays before its first test, whichever tests it runs.
    configured_at = 0.0

    def __init__(self) -> None:
        self.paths: Set[str] = set()

    def pytest_sessionstart(self) -> None:
        CollectedFiles.configured_at = time.monotonic()

    def pytest_collectstart(self, collector) -> None:
        import pytest

        # Packages (pytest 7 makes them Modules) stay: their submodules would lose their parent.
        # Doctest modules are project modules.
        if (isinstance(collector, pytest.Module) and not isinstance(collector, getattr(pytest, "Package", ()))
                and type(collector).__module__ != "_pytest.doctest"):
            self.paths.add(os.path.realpath(os.fspath(collector.path)))


class LearnedWarmSet:
    """A warm-up plugin: collects no test file (directories still load their conftests, and the root
    conftest its ``pytest_plugins``), then imports the learned modules while the session is still
    open, so modules marked for assertion rewriting are rewritten as in a run. A module that fails to
    import is skipped, leaving nothing of it behind, and reported so the manager drops it. An empty
    set collects every test path instead (the manager has learned nothing yet): the same plugin
    either way, so a zygote serves both.

    The learned order is the order runs once imported the modules in; the code may have changed
    since. Without an import cycle that order does not matter: each module's body sees its complete
    dependencies however it is reached. Through a cycle it does (a fresh process enters the cycle where
    its test module's imports lead, and may fail on a partially initialised module where another
    entry succeeds), so an import that meets a partially initialised module is undone and left for
    each run to import, as a reload leaves cycles (see _reload)."""

    def __init__(self, path: str) -> None:
        self.path = path
        self.skipped: List[str] = []
        self._names: Optional[List[str]] = None

    @property
    def names(self) -> List[str]:
        # Read when first used, after the layer point: a host forked from a zygote reads the set
        # as it is then.
        if self._names is None:
            self._names = _read_names(self.path)
        return self._names

    def pytest_ignore_collect(self, collection_path) -> Optional[bool]:
        return None if collection_path.is_dir() or not self.names else True

    def pytest_collection_finish(self, session) -> None:
        for name in self.names:
            if name in sys.modules:
                continue
            outcome = _import_whole(name)
            if outcome is False:
                self.skipped.append(name)


def _import_whole(name: str) -> Optional[bool]:
    """Imports ``name``: True, or False and no module of the attempt left in ``sys.modules`` (a
    package whose ``__init__`` failed after importing submodules would leave them without their
    parent), or None and nothing left when the import went through an import cycle."""
    first_new = len(sys.modules)
    with noting_import_cycles() as cycles:
        try:
            importlib.import_module(name)
            failure = None
        except KeyboardInterrupt:
            raise
        except BaseException as exc:  # pytest.skip() at module level is a BaseException too
            failure = exc
    if failure is None and not cycles:
        return True
    added = list(sys.modules)[first_new:]
    for module in added:
        evict(module)
    _import_warnings.template.forget(added)
    if failure is None:
        _log(f"warm-up: left learned module {name} to runs: it imports through a cycle ({cycles[0]})")
        return None
    _log(f"warm-up: skipped learned module {name}: {type(failure).__name__}: {failure}")
    return False


@contextmanager
def noting_import_cycles(executing: Tuple[str, ...] = ()):
    """Yields the modules that imports made meanwhile reached while they were still being initialised:
    import cycles, where the outcome depends on which module was entered first. ``executing``: modules
    whose body is being executed again outside the import system (a reload), which count as being
    initialised too."""
    cycles: List[str] = []
    original_import = builtins.__import__

    def import_noting_cycles(target, globals=None, locals=None, fromlist=(), level=0):
        module = original_import(target, globals, locals, fromlist, level)
        importer = (globals or {}).get("__name__")
        try:
            resolved = _resolve_name(target, globals.get("__package__") or "", level) if level else target
        except (ImportError, ValueError, AttributeError):
            return module
        reached = [resolved] + [f"{resolved}.{item}" for item in fromlist or () if isinstance(item, str)]
        for reached_name in reached:
            spec = getattr(sys.modules.get(reached_name), "__spec__", None)
            initialising = getattr(spec, "_initializing", False) or (reached_name in executing and importer != reached_name)
            # A package is always initialised before its submodules, whatever the entry: not a cycle.
            if initialising and not str(importer).startswith(reached_name + "."):
                cycles.append(reached_name)
        return module

    builtins.__import__ = invisible_to_warnings(import_noting_cycles)
    try:
        yield cycles
    finally:
        builtins.__import__ = original_import


def _read_names(path: str) -> List[str]:
    try:
        with open(path, encoding="utf-8") as file:
            return [line for line in file.read().split("\n") if line]
    except (OSError, UnicodeDecodeError) as exc:
        _log(f"warm-up: cannot read the warm set {path}: {exc}")
        return []


def _evict_session_imports(collected: CollectedFiles) -> None:
    """Test modules and conftests are pytest's to import, once per session: a run that found the
    warm-up's copies would see their module state as the warm-up's collection and hooks left it (a
    consumed iterator in ``parametrize``, a counter, a filled cache) and miss the warnings their import
    raises. Each run imports them afresh (from the warm-up's rewritten pycs); the modules they import
    stay warm."""
    evicted = []
    for name, module in list(sys.modules.items()):
        path = getattr(module, "__file__", None)
        if not isinstance(path, str):
            continue
        if os.path.basename(path) == "conftest.py" or os.path.realpath(path) in collected.paths:
            evict(name)
            evicted.append(name)
            ImportTimeReads.template.files.discard(os.fsencode(path))
    _import_warnings.template.forget(evicted)


def evict(name: str) -> None:
    """Forgets a module; its parent package's attribute goes too, or ``from pkg import name`` would
    still find the old one."""
    module = sys.modules.pop(name, None)
    parent, _, child = name.rpartition(".")
    if module is not None and getattr(sys.modules.get(parent), child, None) is module:
        delattr(sys.modules[parent], child)


def _forget_warnings_already_shown() -> None:
    """"once"/"default" warnings the warm-up showed must show again in runs, as in a fresh process."""
    warnings.onceregistry.clear()
    for module in list(sys.modules.values()):
        try:
            registry = vars(module).get("__warningregistry__")
        except Exception:  # objects in sys.modules need not be modules
            continue
        if isinstance(registry, dict):
            registry.clear()


def _release_warmup_session() -> None:
    """Modules imported through pytest's assertion rewriting keep its import hook as their loader, and
    the hook keeps the warm-up's whole Config and Session: every collected node and old test module.
    Runs build their own; let the warm-up's go (a smaller template, and a reload's liveness check
    must not find old code held by a session nobody will use)."""
    for module in list(sys.modules.values()):
        loader = getattr(module, "__loader__", None)
        if type(loader).__name__ == "AssertionRewritingHook":
            loader.config = None
            loader.session = None


def report(seconds: float, note: str, import_graph: bool = True, skipped=(), load_order=None,
           leave_out: Optional[str] = None) -> bytes:
    """What the manager needs to keep this template honest: versions, timing, the environment
    variables and files its imports depended on, and (for the import graph, built from clean
    templates only) which file each module came from, in import order, and the imports that ran;
    last, the learned modules the warm-up skipped. ``leave_out``: a file (real path) to omit."""
    import pytest

    sys.stdout.flush()
    sys.stderr.flush()
    reads = ImportTimeReads.template
    version = ".".join(map(str, sys.version_info[:3]))
    environment = [
        name if value is None else name + b"=" + value for name, value in sorted(reads.variables.items())
    ]
    modules = _module_files(load_order)
    files = set(modules.values()) | reads.files
    if leave_out:
        omitted = os.fsencode(leave_out)
        modules = {name: path for name, path in modules.items() if os.path.realpath(path) != omitted}
        files = {path for path in files if os.path.realpath(path) != omitted}
    edges = sorted(f"{importer}>{target}".encode() for importer, target in reads.imports) if import_graph else []
    listed = modules if import_graph else {}
    readers = [name + b"=" + reader.encode() for name, reader in sorted(reads.readers.items())]
    return _wire.join(
        [version.encode(), pytest.__version__.encode(), f"{seconds:.6f}".encode(), note.encode(),
         b"1" if reads.whole_environment else b"0", str(len(environment)).encode()]
        + environment
        + [str(len(listed)).encode()]
        + [name.encode() + b"=" + path for name, path in listed.items()]
        + [str(len(edges)).encode()]
        + edges
        + _counted(sorted(files))
        + [(reads.whole_environment_reader or "").encode()]
        + _counted(readers)
        + _loaded_files.report_fields()
        + [f"{CollectedFiles.configured_at:.6f}".encode()]
        + _counted([name.encode() for name in skipped])
    )


def _counted(items: list) -> list:
    return [str(len(items)).encode()] + items


def _log(line: str) -> None:
    """A line for the manager's log (the host's stderr), written past Python's buffer: a log that
    cannot be written (a full disk) must neither fail the warm-up nor leave the line buffered for a
    run child to flush onto its caller's terminal."""
    try:
        os.write(2, f"pytestd-host: {line}\n".encode(errors="backslashreplace"))
    except OSError:
        pass


def _warmup_note(status: int, output: str) -> str:
    if status in (0, 5):
        return ""
    last = [line for line in output.splitlines() if line.strip()][-1:] or [f"exit status {status}"]
    return f"collection ended with status {status}: {last[0].strip()}"


def _module_files(load_order=None) -> Dict[str, bytes]:
    """Each module's file, in the order the modules started loading (those not recorded last)."""
    files = {}
    recorded = list(load_order.loaded()) if load_order else []
    for name, module in recorded + list(sys.modules.items()):
        if name in files:
            continue
        path = getattr(module, "__file__", None)
        if isinstance(path, str) and os.path.isabs(path):
            files[name] = os.fsencode(path)
    return files


class ImportTimeReads:
    """Records, while active, what module bodies read besides code: environment variables (through
    ``os.environ``/``os.environb``/``os.getenv``), with the value each had when first read and the
    module whose import read it, and files opened for reading. A variable the imports set before
    reading it is their own, not a dependency. Iterating or copying the whole environment
    (``dict(os.environ)``, ``.copy()``, ``{**os.environ}``, ``.items()``) reads every variable
    through ``__getitem__``: those reads count as the whole-environment dependency only, so the
    shell's bookkeeping (``_``, ``SHLVL``, …) that such a copy picks up is not a dependency by name.
    It also records the imports that actually ran (importer, imported module), including dynamic ones a
    reading of the source cannot see.

    One record per template (``ImportTimeReads.template``), resumed by every later import phase
    (warm-up, then each reload), so a reloaded template reports everything it depends on."""

    template: "ImportTimeReads"
    _hook_installed = False
    _current: Optional["ImportTimeReads"] = None

    @classmethod
    def resume(cls) -> "ImportTimeReads":
        return cls.template

    # Where the environment machinery runs on behalf of its caller.
    _PLUMBING = frozenset({"os", "_collections_abc", "collections.abc", __name__})

    def __init__(self):
        self.variables: Dict[bytes, Optional[bytes]] = {}
        self.readers: Dict[bytes, str] = {}
        self.written: Set[bytes] = set()
        self.whole_environment = False
        self.whole_environment_reader: Optional[str] = None
        # (code, line) of each place that iterated the environment: a read made there (by dict() over
        # it, an items() loop) is part of that iteration. Lines, not instruction offsets: 3.12 reports
        # another offset for a loop once it is specialised.
        self.iteration_sites: Set[Tuple[types.CodeType, int]] = set()
        self.files: Set[bytes] = set()
        self.imports: Set[Tuple[str, str]] = set()

    @staticmethod
    def _importer(frame) -> Optional[str]:
        """The innermost module whose body is executing at or above ``frame``, or None (pytest's own
        option and configuration reads happen outside any import: each run repeats those itself)."""
        while frame is not None:
            if frame.f_code.co_name == "<module>":
                name = frame.f_globals.get("__name__")
                return name if isinstance(name, str) else "?"
            frame = frame.f_back
        return None

    @classmethod
    def _site(cls, frame) -> Optional[Tuple[types.CodeType, int]]:
        """The line outside the environment machinery that made this call."""
        while frame is not None and frame.f_globals.get("__name__") in cls._PLUMBING:
            frame = frame.f_back
        return None if frame is None else (frame.f_code, frame.f_lineno)

    def __enter__(self):
        environ_class = type(os.environ)
        self._original = (environ_class.__getitem__, environ_class.__iter__, environ_class.__setitem__,
                          environ_class.__delitem__)
        reads = self
        getitem, iterate, setitem, delitem = self._original

        def recording_getitem(mapping, key):
            try:
                value = getitem(mapping, key)
            except KeyError:
                value = None
            name = key if isinstance(key, bytes) else os.fsencode(key)
            if name not in reads.variables and name not in reads.written:
                caller = sys._getframe(1)
                importer = ImportTimeReads._importer(caller)
                if importer is not None and ImportTimeReads._site(caller) not in reads.iteration_sites:
                    reads.variables[name] = value if value is None or isinstance(value, bytes) else os.fsencode(value)
                    reads.readers[name] = importer
            if value is None:
                raise KeyError(key)
            return value

        def recording_iter(mapping):
            caller = sys._getframe(1)
            importer = ImportTimeReads._importer(caller)
            if importer is not None:
                if not reads.whole_environment:
                    reads.whole_environment_reader = importer
                reads.whole_environment = True
                reads.iteration_sites.add(ImportTimeReads._site(caller))
            return iterate(mapping)

        def recording_setitem(mapping, key, value):
            reads.written.add(key if isinstance(key, bytes) else os.fsencode(key))
            setitem(mapping, key, value)

        def recording_delitem(mapping, key):
            reads.written.add(key if isinstance(key, bytes) else os.fsencode(key))
            delitem(mapping, key)

        environ_class.__getitem__ = recording_getitem
        environ_class.__iter__ = recording_iter
        environ_class.__setitem__ = recording_setitem
        environ_class.__delitem__ = recording_delitem

        original_import = self._original_import = builtins.__import__

        def recording_import(name, globals=None, locals=None, fromlist=(), level=0):
            module = original_import(name, globals, locals, fromlist, level)
            importer = (globals or {}).get("__name__")
            try:
                target = _resolve_name(name, (globals or {}).get("__package__") or "", level) if level else name
            except (ImportError, ValueError):
                return module
            _watch_reads(target, fromlist)
            if isinstance(importer, str):
                reads.imports.add((importer, target))
                for item in fromlist or ():
                    if isinstance(item, str) and f"{target}.{item}" in sys.modules:
                        reads.imports.add((importer, f"{target}.{item}"))
            return module

        original_import_module = self._original_import_module = importlib.import_module

        def recording_import_module(name, package=None):
            module = original_import_module(name, package)
            _module_reads.template.watch(module)
            # Modules that did `from importlib import import_module` keep this wrapper after the
            # warm-up: it records only while a template is being built or reloaded.
            if ImportTimeReads._current is reads:
                importer = sys._getframe(1).f_globals.get("__name__")
                if isinstance(importer, str):
                    reads.imports.add((importer, module.__name__))
            return module

        builtins.__import__ = invisible_to_warnings(recording_import)
        importlib.import_module = invisible_to_warnings(recording_import_module)
        # Audit hooks cannot be removed: install one for the process, active only during warm-up.
        if not ImportTimeReads._hook_installed:
            sys.addaudithook(_audit)
            ImportTimeReads._hook_installed = True
        ImportTimeReads._current = self
        return self

    def __exit__(self, *exc_info):
        environ_class = type(os.environ)
        (environ_class.__getitem__, environ_class.__iter__, environ_class.__setitem__,
         environ_class.__delitem__) = self._original
        builtins.__import__ = self._original_import
        importlib.import_module = self._original_import_module
        ImportTimeReads._current = None
        return False


ImportTimeReads.template = ImportTimeReads()


def _watch_reads(target: str, fromlist) -> None:
    """The imported module, its packages and the submodules named in ``fromlist``: what the importer
    goes on to read from them is recorded (see ``_module_reads``)."""
    if not _module_reads.template.active:
        return
    parts = target.split(".")
    for end in range(1, len(parts) + 1):
        _module_reads.template.watch(sys.modules.get(".".join(parts[:end])))
    for item in fromlist or ():
        if isinstance(item, str):
            _module_reads.template.watch(sys.modules.get(f"{target}.{item}"))


_WRITE_FLAGS = os.O_WRONLY | os.O_RDWR | os.O_APPEND | os.O_CREAT


def _audit(event, args):
    reads = ImportTimeReads._current
    if reads is None:
        return
    if event == "exec":
        if isinstance(args[0], types.CodeType):
            _calls.warmup.saw_exec(args[0])
            _module_reads.template.saw_exec(args[0])
        return
    if event != "open":
        return
    path, mode, flags = args
    if not isinstance(path, (str, bytes)):
        return
    if isinstance(mode, str) and any(c in mode for c in "wax+"):
        return
    if mode is None and isinstance(flags, int) and flags & _WRITE_FLAGS:
        return
    path = os.fsencode(path)
    if b"__pycache__" not in path:
        reads.files.add(os.path.abspath(path))
