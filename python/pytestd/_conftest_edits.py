"""Conftest edits that need no new template.

The warm-up executed each conftest once and then evicted it: every run imports the conftests
afresh. What the template keeps of a conftest is only what its execution did to the rest of the
process (imports it made, the environment it set, objects it registered elsewhere, hooks that ran
during the warm-up's collection). So an edited conftest leaves the template exactly as a fresh
warm-up would have made it when:

- its top level (and every class body) compiles to the same instructions and constants as the code
  the warm-up executed, line numbers aside (see ``_inplace``): executing it did the same things;
- every function whose code changed never started during the warm-up (a hook that ran may have left
  what it computed behind);
- nothing the old conftest defined is still alive in the template (a registry holding one of its
  functions would run old code; its globals are the old module's).

Then the run's own import of the new conftest is all a fresh process would do differently. Anything
else (a changed top level, an edited hook that ran, a survivor, no record of what ran) raises
``NotSame`` and the clean host serves.
"""

import ast
import gc
import os
import sys
import types
from typing import List

from pytestd import _calls, _inplace


class NotSame(Exception):
    """Why the edited conftest needs a clean host (said in the reload note)."""


def check(paths: List[str]) -> str:
    """The reload note for edits that need nothing; raises NotSame otherwise."""
    for path in paths:
        _check_one(path)
    _check_nothing_alive(set(paths))
    return f"{', '.join(paths)}: same top level, and no edited function ran during the warm-up: nothing to execute again"


def _check_one(path: str) -> None:
    executed = _calls.warmup.module_code(path)
    if executed is None:
        raise NotSame(f"{path}: what the warm-up executed of it was not recorded ({_calls.warmup.incomplete_because})"
                      if not _calls.warmup.complete else f"{path}: the warm-up did not execute it")
    try:
        new = _compile_like(executed, path)
    except (OSError, SyntaxError, ValueError) as exc:
        raise NotSame(f"{path} does not compile: {exc}") from exc
    _compare_executed(executed, new)


def _compare_executed(old: types.CodeType, new: types.CodeType) -> None:
    """``old`` ran (a module or class body): ``new`` must run the same way, and each function it
    defines differently must not have started. Unlike patching in place, nothing keeps a conftest
    function, so signatures and docstrings may change."""
    if not _inplace.same_instructions(old, new):
        raise NotSame(f"top-level code of {_inplace.where(old)} changed")
    first_line = _inplace.first_line_constant(old, new)
    for index, (a, b) in enumerate(zip(old.co_consts, new.co_consts)):
        if isinstance(a, types.CodeType) and isinstance(b, types.CodeType):
            if not a.co_flags & _inplace.CO_OPTIMIZED:  # a class body: it ran with the conftest
                _compare_executed(a, b)
            elif _calls.warmup.started(a) and not _inplace.same_modulo_lines(a, b):
                raise NotSame(f"{_inplace.where(a)} ran during the warm-up; what it did may depend on it")
        elif index != first_line and (isinstance(a, types.CodeType) or isinstance(b, types.CodeType)
                                      or _inplace.constant_key(a) != _inplace.constant_key(b)):
            raise NotSame(f"a constant in {_inplace.where(old)} changed")


def _compile_like(executed: types.CodeType, path: str) -> types.CodeType:
    """The new source compiled as the warm-up's was: through pytest's assertion rewriting (which
    imports ``@pytest_ar`` at the top) unless it was imported plainly (``--assert=plain``)."""
    with open(path, "rb") as f:
        source = f.read()
    tree = ast.parse(source, filename=path)
    if "@pytest_ar" in executed.co_names:
        from _pytest.assertion.rewrite import rewrite_asserts

        rewrite_asserts(tree, source, path, None)
    return compile(tree, path, "exec", dont_inherit=True)


def _check_nothing_alive(paths: set) -> None:
    """No function, generator or coroutine of the old conftests may be alive. Frozen objects are
    invisible to ``gc.get_objects``: the scan unfreezes (this is a forked reloading child) and
    freezes again."""
    for attribute in ("last_type", "last_value", "last_traceback", "last_exc"):
        if hasattr(sys, attribute):
            delattr(sys, attribute)
    gc.unfreeze()
    try:
        for obj in gc.get_objects():
            code = _code_of(obj)
            if code is not None and code.co_filename in paths:
                raise NotSame(f"{code.co_filename}: its {code.co_name} from the warm-up is still referenced by the template")
    finally:
        gc.freeze()


def _code_of(obj):
    if isinstance(obj, types.FunctionType):
        return obj.__code__
    if isinstance(obj, types.GeneratorType):
        return obj.gi_code
    if isinstance(obj, types.CoroutineType):
        return obj.cr_code
    if isinstance(obj, types.AsyncGeneratorType):
        return obj.ag_code
    return None
