"""The zygote: a warm-up paused where pytest is about to execute the first conftest, with that
conftest's imports already done. Conftests import the project, so that is most of a warm-up; a later
clean host forks the zygote and goes on from there, executing the conftest as it is on disk by then.

That equals a fresh start only while the paused state is the one a fresh process would reach. The
manager drops the zygote when any file it loaded changes, this conftest excepted. Of the conftest,
the zygote ran only its leading import statements (``import_prefix``), and it forks a host only for
a conftest whose import statements begin with those same statements, and whose every statement up
to the last of them is an import or inert (``fits``): a fresh process would have run those imports,
in that order, with nothing between them but name bindings, so doing them earlier changes nothing.
A conftest that sets the environment, edits ``sys.path`` or calls anything before its imports gets
no zygote, and a clean host warms up in full.
"""

import ast
import os
import time
from typing import List, Optional, Set

from pytestd import _loaded_files

# Exceptions an import-guarding ``try`` may catch.
_IMPORT_ERRORS = frozenset({"ImportError", "ModuleNotFoundError"})


def import_prefix(source: bytes, filename: str = "conftest.py") -> Optional[List[ast.stmt]]:
    """The import statements up to the conftest's last one, when everything before that last one
    is an import or inert; else None. A conftest that does not parse gets no zygote either."""
    try:
        body = ast.parse(source, filename).body
    except (SyntaxError, ValueError):
        return None
    imports = [index for index, statement in enumerate(body) if _is_import(statement)]
    if not imports:
        return []
    if _first_with_effects(body[:imports[-1]]) is not None:
        return None
    return [statement for statement in body[:imports[-1] + 1] if _is_import(statement)]


def fits(prefix: List[str], source: bytes, filename: str = "conftest.py") -> Optional[str]:
    """None when a conftest with this source may be executed in a fork of a zygote that ran the
    import statements ``prefix`` (``ast.dump`` of each); else why not."""
    try:
        body = ast.parse(source, filename).body
    except (SyntaxError, ValueError) as exc:
        return f"it does not parse ({exc.__class__.__name__})"
    imports = [index for index, statement in enumerate(body) if _is_import(statement)]
    if [ast.dump(body[index]) for index in imports[:len(prefix)]] != prefix:
        return "its import statements changed"
    if not prefix:
        return None
    statement = _first_with_effects(body[:imports[len(prefix) - 1]])
    if statement is not None:
        return f"line {statement.lineno} does more than bind a name before its imports end"
    return None


def _first_with_effects(statements: List[ast.stmt]) -> Optional[ast.stmt]:
    """The first statement that is neither an import nor inert, given the names imports before it
    bound to pytest."""
    pytest_names: Set[str] = set()
    for statement in statements:
        if _is_import(statement):
            pytest_names |= _pytest_names([statement])
        elif not _is_inert(statement, pytest_names):
            return statement
    return None


def _is_import(statement: ast.stmt) -> bool:
    """An import, or a ``try`` that only imports, falling back to other imports or plain values."""
    if isinstance(statement, (ast.Import, ast.ImportFrom)):
        return True
    if not isinstance(statement, ast.Try) or statement.orelse or statement.finalbody:
        return False
    if not all(isinstance(s, (ast.Import, ast.ImportFrom, ast.Pass)) for s in statement.body):
        return False
    for handler in statement.handlers:
        caught = handler.type.elts if isinstance(handler.type, ast.Tuple) else [handler.type]
        if not all(isinstance(c, ast.Name) and c.id in _IMPORT_ERRORS for c in caught):
            return False
        if not all(isinstance(s, (ast.Import, ast.ImportFrom, ast.Pass)) or _is_literal_assignment(s)
                   for s in handler.body):
            return False
    return True


def _is_inert(statement: ast.stmt, pytest_names: Set[str]) -> bool:
    """Binds a name and does nothing else another module could see: a docstring, a literal
    assignment, or a function whose decorators are pytest's and whose defaults and annotations
    only read names."""
    if isinstance(statement, ast.Pass):
        return True
    if isinstance(statement, ast.Expr):
        return isinstance(statement.value, ast.Constant)
    if _is_literal_assignment(statement):
        return True
    if isinstance(statement, (ast.FunctionDef, ast.AsyncFunctionDef)):
        arguments = statement.args
        annotations = [a.annotation for a in arguments.posonlyargs + arguments.args + arguments.kwonlyargs
                       + [arguments.vararg, arguments.kwarg] if a is not None and a.annotation is not None]
        defaults = arguments.defaults + [d for d in arguments.kw_defaults if d is not None]
        return (all(_is_pytest_decorator(d, pytest_names) for d in statement.decorator_list)
                and all(_is_literal(d) for d in defaults)
                and all(_is_reference(a) for a in annotations + ([statement.returns] if statement.returns else [])))
    return False


def _is_literal_assignment(statement: ast.stmt) -> bool:
    if isinstance(statement, ast.Assign):
        targets, value = statement.targets, statement.value
    elif isinstance(statement, ast.AnnAssign) and statement.simple and _is_reference(statement.annotation):
        targets, value = [statement.target], statement.value
    else:
        return False
    return all(isinstance(t, ast.Name) for t in targets) and (value is None or _is_literal(value))


def _is_literal(node: ast.expr) -> bool:
    try:
        ast.literal_eval(node)
    except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
        return False
    return True


def _is_reference(node: ast.expr) -> bool:
    """A name, an attribute of one, a string, or such subscripted: what an annotation reads."""
    if isinstance(node, ast.Constant):
        return True
    if isinstance(node, ast.Name):
        return True
    if isinstance(node, ast.Attribute):
        return _is_reference(node.value)
    if isinstance(node, ast.Subscript):
        inner = node.slice.value if isinstance(node.slice, ast.Index) else node.slice  # ast.Index: 3.8
        parts = inner.elts if isinstance(inner, ast.Tuple) else [inner]
        return _is_reference(node.value) and all(_is_reference(p) for p in parts)
    return False


def _is_pytest_decorator(node: ast.expr, pytest_names: Set[str]) -> bool:
    """``pytest.fixture``, ``fixture(scope="session")`` (from pytest), ``pytest.mark.x(1)``: pytest's
    own decorators, with literal arguments, only wrap the function."""
    if isinstance(node, ast.Call):
        return (_is_pytest_decorator(node.func, pytest_names) and all(_is_literal(a) for a in node.args)
                and all(_is_literal(k.value) for k in node.keywords))
    while isinstance(node, ast.Attribute):
        node = node.value
    return isinstance(node, ast.Name) and node.id in pytest_names


def _pytest_names(statements: List[ast.stmt]) -> Set[str]:
    """Names these statements bind to pytest or to something imported from it."""
    names: Set[str] = set()
    for statement in statements:
        if isinstance(statement, ast.Import):
            names |= {alias.asname or alias.name for alias in statement.names if alias.name == "pytest"}
        elif isinstance(statement, ast.ImportFrom) and statement.module == "pytest" and not statement.level:
            names |= {alias.asname or alias.name for alias in statement.names}
    return names


class Layer:
    """This process's part in the zygote scheme: the conftest the zygote paused in, the import
    statements it ran, and, in a host forked from it, when the fork happened."""

    conftest: Optional[str] = None
    prefix: List[str] = []
    forked_at: Optional[float] = None
    # Why this warm-up made no zygote (logged once pytest no longer captures output).
    refusal: Optional[str] = None


def arm() -> None:
    """Pauses at the first conftest pytest's assertion rewriting executes during this warm-up (the
    rewriter executes every conftest, unless assertions are plain: then there is no zygote)."""
    from _pytest.assertion.rewrite import AssertionRewritingHook

    original = AssertionRewritingHook.exec_module
    armed = [True]

    def exec_module(self, module):
        if armed[0] and os.path.basename(getattr(module.__spec__, "origin", None) or "") == "conftest.py":
            armed[0] = False
            _layer_point(module)
        return original(self, module)

    exec_module.original = original
    AssertionRewritingHook.exec_module = exec_module


def disarm() -> None:
    from _pytest.assertion.rewrite import AssertionRewritingHook

    AssertionRewritingHook.exec_module = getattr(AssertionRewritingHook.exec_module, "original",
                                                 AssertionRewritingHook.exec_module)


def _layer_point(module) -> None:
    """Runs the conftest's leading imports, then lets the host fork the zygote here (see
    ``Sources/Host/Zygote.swift``). Returns in the host that goes on warming up, and in every host
    later forked from the zygote; the zygote itself never returns."""
    from pytestd import _native

    path = module.__spec__.origin
    with open(path, "rb") as file:
        source = file.read()
    prefix = import_prefix(source, path)
    if prefix is None:
        Layer.refusal = f"{path} does more than import before its last import"
        return
    code = compile(ast.Module(body=prefix, type_ignores=[]), path, "exec")
    # Its own namespace: the conftest's body starts from an empty one either way. An import that
    # fails raises here as it would from the conftest.
    exec(code, dict(module.__dict__))
    Layer.conftest = os.path.realpath(path)
    Layer.prefix = [ast.dump(statement) for statement in prefix]
    if _native.layer_point(os.fsencode(Layer.conftest)):
        Layer.forked_at = time.perf_counter()
        # The conftest is read now, as it is on disk now: its fingerprint is the zygote's no more.
        _loaded_files.refresh([path])


def check() -> bytes:
    """In the zygote, before it forks a host: empty when the conftest on disk still fits, else why
    not."""
    path = Layer.conftest or ""
    try:
        with open(path, "rb") as file:
            source = file.read()
    except OSError as exc:
        return f"{path} cannot be read ({exc.strerror})".encode()
    reason = fits(Layer.prefix, source, path)
    return f"{path}: {reason}".encode() if reason else b""
