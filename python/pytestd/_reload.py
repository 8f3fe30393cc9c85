"""Turning a forked copy of the warm template into one that matches the disk after an edit.

Runs in a child of the pristine template (the host forks it), never in the template itself: a
reload that fails or proves unsafe costs only this child, and runs then wait for the clean host the
manager always starts in parallel.

What "matches the disk" means here is: what a fresh process would have imported. So each module of
the plan is re-executed in a cleared namespace (names deleted from the source disappear), importers
after their dependencies (``from x import y`` bindings are rebound), import cycles are purged and
imported again whole, and test modules and conftests are evicted so that pytest imports them again
through its assertion-rewriting hook. Afterwards no function or class of the old versions may still
be alive: if one is, something outside the plan holds old code, and the reload is refused.

An edit that changed only function bodies skips all of that: the new code goes into the live
functions and nothing executes again (see ``_inplace`` for when that is exact).
"""

import gc
import importlib
import linecache
import os
import sys
import time
import types
import weakref
from importlib.machinery import SourceFileLoader
from typing import Dict, List, Optional, Set

from pytestd import (_conftest_edits, _identity, _import_warnings, _inplace, _loaded_files, _module_reads, _native,
                     _patches, _warmup, _wire)

# The only names a module object keeps across a re-execution: what the import system set up.
_MODULE_DUNDERS = ("__name__", "__spec__", "__loader__", "__file__", "__path__", "__package__",
                   "__cached__", "__builtins__")

# Past this many objects the old definitions reach far into live data: collect everything instead.
_CLUSTER_LIMIT = 200_000


class ReloadError(Exception):
    """The reload cannot give what a fresh process would: the clean host must serve."""


def apply(steps: bytes, evict: bytes, changed: bytes, causes: bytes, conftests: bytes = b"") -> bytes:
    """Applies a reload plan and returns the same report as a warm-up (for the manager's freshness
    and environment checks). ``steps`` holds one item per step: a module name, or the members of an
    import cycle joined by commas; ``changed`` the modules whose files changed (the rest of the plan
    are their importers); ``causes``, for each step and then each eviction, the changed modules it is
    there for; ``conftests``, edited conftests the template executed (see ``_conftest_edits``). Raises
    ReloadError with a message for the user."""
    started = time.perf_counter()
    plan = [step.decode().split(",") for step in _wire.split(steps)]
    evicted = [name.decode() for name in _wire.split(evict)]
    edited = [name.decode() for name in _wire.split(changed)]
    because = [set(filter(None, item.decode().split(","))) for item in _wire.split(causes)]
    if len(because) != len(plan) + len(evicted):
        raise ReloadError("the manager sent a reload order without the causes of each step")
    _refuse_never_reloaded(edited)
    notes = []
    edited_conftests = [os.fsdecode(path) for path in _wire.split(conftests)]
    if edited_conftests:
        try:
            notes.append(_conftest_edits.check(edited_conftests))
        except _conftest_edits.NotSame as exc:
            raise ReloadError(f"{exc}: waiting for a clean host") from exc
    _loaded_files.refresh([getattr(sys.modules.get(name), "__file__", None) for name in edited])
    edits, refused = _inplace.plan_each(edited)
    notes += [_patch_in_place(edits)] if edits else []
    if refused:
        # Only what the refused modules need: importers of the edits patched in place stay as they are.
        needed = set(refused)
        kept_plan = [step for step, why in zip(plan, because) if why & needed]
        kept_evict = [name for name, why in zip(evicted, because[len(plan):]) if why & needed]
        reasons = "; ".join(dict.fromkeys(refused.values()))
        notes.append(f"{_reexecute_plan(kept_plan, kept_evict, list(refused))} (not in place: {reasons})")
    return _warmup.report(time.perf_counter() - started, note="; ".join(notes), import_graph=False)


def _patch_in_place(edits: List[_inplace.ModuleEdit]) -> str:
    """Body-only edits: new code into the live functions, nothing executed again."""
    begun = time.perf_counter()
    linecache.clearcache()
    functions = _inplace.apply(edits)
    modules = ", ".join(edit.module.__name__ for edit in edits)
    return f"patched in place: {modules} ({functions} functions, {(time.perf_counter() - begun) * 1000:.1f} ms)"


def _refuse_never_reloaded(names: List[str]) -> None:
    pinned = _patches.never_reloaded(names)
    if pinned:
        raise ReloadError(f"{', '.join(pinned)} is marked never_reload: waiting for a clean host")


def _reexecute_plan(plan: List[List[str]], evicted: List[str], edited: List[str]) -> str:
    names = [name for step in plan for name in step] + evicted
    _refuse_never_reloaded(names)
    timings = []
    left_to_runs = []
    if any(len(step) > 1 for step in plan):
        # An import cycle has no order a reload could know: a fresh process enters it wherever its first
        # importer's statements lead, and may fail there on a partially initialised module. The cycle and
        # everything that imports it are left for each run to import, as a fresh process would.
        for step in plan:
            _patches.run_before(step)
        left_to_runs = [name for step in plan for name in step]
        evicted, plan = evicted + left_to_runs, []
    old_refs: List[weakref.ref] = []
    replaced: List[weakref.ref] = []
    outcomes: Dict[str, _identity.Outcome] = {}
    unchanged = []
    held = _HeldAgain()
    with _warmup.ImportTimeReads.resume(), _loaded_files.recording(replace=True), _import_warnings.template.recording():
        importlib.invalidate_caches()
        linecache.clearcache()
        for (name,) in plan:
            module = sys.modules.get(name)
            if name not in edited and module is not None and not _reads_changed(module, outcomes):
                unchanged.append(name)
                continue
            begun = time.perf_counter()
            old = _definitions([name])
            held.watch(old)  # before the patches: what they unregister, the module registers again
            _patches.run_before([name])
            try:
                with _warmup.noting_import_cycles(executing=(name,)) as cycles:
                    outcome = _reload_step(name)
            except SyntaxError as exc:
                raise ReloadError(f"reload of {name} failed: {type(exc).__name__}: {exc}") from exc
            except BaseException as exc:  # a half-executed module must never serve
                raise ReloadError(f"reload of {name} failed: {type(exc).__name__}: {exc}{_patches.hint([name])}") from exc
            if cycles:
                # The template entered the cycle here; a fresh process enters it where a test's imports
                # lead, and may fail on the partially initialised module where this succeeded.
                raise ReloadError(f"reload of {name} imports {cycles[0]} through an import cycle: waiting for a clean host")
            _patches.run_after([name])
            if outcome is not None:
                outcomes[name] = outcome
                old = [ref for ref in old if id(ref()) not in outcome.kept]
                replaced += outcome.discarded
            old_refs += old
            timings.append((name, time.perf_counter() - begun))
        for name in evicted:
            module = sys.modules.get(name)
            if module is not None and not left_to_runs and not _reads_changed(module, outcomes):
                unchanged.append(name)
                continue
            old_refs += _definitions([name])
            _warmup.evict(name)
        module = None  # it must not keep the last evicted module alive for the check below
    _check_nothing_old_survives(old_refs, set(names), replaced)
    held.check(outcomes)
    return _describe(timings, left_to_runs, unchanged)


class _HeldAgain:
    """A function or class kept across its module's execution must not gain a holder meanwhile: the
    module's body handed it to something outside (a registry), which now has it twice where a fresh
    process has it once. Reference counts, taken before the module runs and after the reload (once
    every replaced object is gone), tell."""

    def __init__(self) -> None:
        self.counts: List[tuple] = []  # (weak reference, reference count before)

    def watch(self, refs: List[weakref.ref]) -> None:
        for ref in refs:
            obj = ref()
            self.counts.append((ref, sys.getrefcount(obj)))
            del obj

    def check(self, outcomes: Dict[str, "_identity.Outcome"]) -> None:
        kept = set()
        for outcome in outcomes.values():
            kept.update(outcome.kept)
        for ref, before in self.counts:
            obj = ref()
            # The outcome's record of kept objects is the one holder the reload itself added.
            if id(obj) in kept and sys.getrefcount(obj) > before + 1:
                raise ReloadError(f"{_qualified(obj)} was kept as it was, but executing its module again handed "
                                  f"it to something outside the module once more (a registry?); a reload patch "
                                  f"(pytestd.before_reload) would make this reload safe")
            del obj


def _reads_changed(module: types.ModuleType, outcomes: Dict[str, "_identity.Outcome"]) -> bool:
    """Whether ``module``'s body, as it ran in the template, read something the reload changed (or
    nobody recorded what it read)."""
    reads = _module_reads.template.of(module)
    if reads is None or not all(map(_module_reads.template.complete_for, outcomes)):
        return True
    return any(source in outcomes and outcomes[source].affects(names) for source, names in reads.items())


def _reload_step(name: str) -> Optional["_identity.Outcome"]:
    """Executes ``name`` again (None: it was not loaded, so it is imported whole)."""
    module = sys.modules.get(name)
    if module is not None:
        if type(getattr(module.__spec__, "loader", None)) is SourceFileLoader:
            return _identity.reexecute(module, _reexecute)
        _reexecute(module)
        return _identity.everything_changed(module)
    importlib.import_module(name)
    return None


def _reexecute(module: types.ModuleType, namespace=None) -> None:
    """Clears the module and executes its body again, with ``namespace`` as the body's local
    namespace when given (see ``_identity``)."""
    spec = module.__spec__
    if spec is None or spec.loader is None or not hasattr(spec.loader, "exec_module"):
        raise ReloadError(f"{module.__name__} has no loader that can execute it again")
    code = spec.loader.get_code(module.__name__) if namespace is not None else None
    kept = {key: module.__dict__[key] for key in _MODULE_DUNDERS if key in module.__dict__}
    module.__dict__.clear()
    module.__dict__.update(kept)
    module.__dict__["__doc__"] = None  # as in a new module: a body without a docstring sets none
    token = _import_warnings.template.begin(module.__name__)
    try:
        if code is None:
            spec.loader.exec_module(module)
        else:
            exec(code, module.__dict__, namespace)
    finally:
        _import_warnings.template.end(token)
    _rebind_in_parent_package(module)


def _rebind_in_parent_package(module: types.ModuleType) -> None:
    parent, _, child = module.__name__.rpartition(".")
    if parent and parent in sys.modules:
        setattr(sys.modules[parent], child, module)


def _definitions(names: List[str]) -> List[weakref.ref]:
    """Weak references to every function and class the modules define themselves."""
    refs = []
    for name in names:
        module = sys.modules.get(name)
        if module is None:
            continue
        for value in list(vars(module).values()):
            if isinstance(value, (types.FunctionType, type)) and getattr(value, "__module__", None) == name:
                try:
                    refs.append(weakref.ref(value))
                except TypeError:
                    pass
    return refs


def _check_nothing_old_survives(old: List[weakref.ref], names: Set[str], replaced: List[weakref.ref] = ()) -> None:
    """After the reload, an old function or class that is still alive is held by something outside
    the plan (a registry, a singledispatch table, a module that imported it dynamically): that
    holder would run old code. Likewise a new object that was ``replaced`` by its old equal (see
    ``_identity``): something took hold of it while its module ran again."""
    for attribute in ("last_type", "last_value", "last_traceback", "last_exc"):
        if hasattr(sys, attribute):
            delattr(sys, attribute)
    every = list(old) + list(replaced)
    if not _collect_old_cluster(every, names):
        # Frozen objects are invisible to the collector and to get_referrers: collect everything.
        gc.unfreeze()
        gc.collect()
    survivor = next((ref() for ref in old if ref() is not None), None)
    if survivor is not None:
        raise ReloadError(f"the old {_qualified(survivor)} is still referenced by {_describe_holder(survivor)}; "
                          f"a reload patch for it (pytestd.before_reload) would make this reload safe")
    survivor = next((ref() for ref in replaced if ref() is not None), None)
    if survivor is not None:
        raise ReloadError(f"the new {_qualified(survivor)} equals the old one, which was kept, but is held by "
                          f"{_describe_holder(survivor)}")
    gc.freeze()


def _collect_old_cluster(old: List[weakref.ref], names: Set[str]) -> bool:
    """The old functions and classes are usually garbage only among themselves (a class with its
    methods, descriptors and MRO is a cycle; so is an evicted module's namespace with its functions).
    Handing just what they reach back to the collector's youngest generation and collecting that
    takes milliseconds, where a full collection of a big frozen template takes hundreds. True when
    that freed everything old; False leaves the answer to a full collection (something old may be
    held by garbage outside the cluster, or by a real holder)."""
    cluster = _old_cluster(old, names)
    if cluster is None:
        return False
    for _ in map(_native.make_young, cluster):
        pass
    del cluster
    gc.collect(0)
    return all(ref() is None for ref in old)


def _old_cluster(old: List[weakref.ref], names: Set[str]) -> Optional[list]:
    """Everything the old definitions reach except modules, live module namespaces, and functions
    and classes of other modules; None when that is more than _CLUSTER_LIMIT objects."""
    live_namespaces = {id(vars(module)) for module in list(sys.modules.values()) if isinstance(module, types.ModuleType)}
    cluster = {}
    pending = [obj for obj in (ref() for ref in old) if obj is not None]
    while pending:
        obj = pending.pop()
        if id(obj) in cluster:
            continue
        cluster[id(obj)] = obj
        if len(cluster) > _CLUSTER_LIMIT:
            return None
        for referent in gc.get_referents(obj):
            if (id(referent) in cluster or not gc.is_tracked(referent) or isinstance(referent, types.ModuleType)
                    or id(referent) in live_namespaces):
                continue
            if isinstance(referent, (types.FunctionType, type)) and getattr(referent, "__module__", None) not in names:
                continue
            pending.append(referent)
    return list(cluster.values())


def _qualified(obj) -> str:
    return f"{getattr(obj, '__module__', '?')}.{getattr(obj, '__qualname__', repr(obj))}"


def _describe_holder(obj) -> str:
    modules_by_dict = {id(vars(m)): name for name, m in list(sys.modules.items()) if m is not None}
    for referrer in gc.get_referrers(obj):
        if isinstance(referrer, dict) and id(referrer) in modules_by_dict:
            return f"module {modules_by_dict[id(referrer)]}"
    for referrer in gc.get_referrers(obj):
        if not isinstance(referrer, types.FrameType):
            return f"a {type(referrer).__name__}"
    return "an unknown holder"


def _describe(timings, left_to_runs, unchanged) -> str:
    if left_to_runs:
        return f"an import cycle: {', '.join(left_to_runs)} left for each run to import"
    kept = f"; {len(unchanged)} importers read nothing that changed" if unchanged else ""
    if not timings:
        return f"test modules evicted, nothing to execute again{kept}"
    return "reloaded " + ", ".join(f"{name} ({seconds * 1000:.1f} ms)" for name, seconds in timings) + kept
