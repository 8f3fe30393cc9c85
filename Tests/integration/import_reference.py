"""The facts `pytestd imports` reports, computed from Python's own `ast` instead of pytestd's scanner.

Reads `MODULE<TAB>FILE` lines on stdin; prints, per file, `file FILE` and then its `edge` and
`unresolved` lines in the scanner's format (see `Sources/Manager/Commands/Imports.swift`), or
`skipped REASON FILE` for a file the scanner does not claim to read (not Python 3 syntax, old Mac
line ends). Run it with the newest interpreter: it parses every older version's files, and gives
every alias its line.

What it reports, as `ImportScanner`'s doc comment promises:
- `import a.b.c` → `a`, `a.b`, `a.b.c`, once per statement;
- `from x import y` → the parents of `x`, `x` with its names, the candidate `x.y` at `y`'s line;
  `from x import *` → `x` (star); relative imports resolved against the package, or unresolved;
- `__import__("x")` and `import_module("x"[, package])` calls whose module is one plain string
  literal (and whose package is a literal, `__package__`, `__name__` or another keyword);
- the kind: `type-checking` inside the branches of `if [not] [a.]TYPE_CHECKING:` that only a type
  checker takes, `runtime` everywhere else.
"""
import ast
import io
import re
import sys
import tokenize

MODULE_LITERAL = re.compile(r"[A-Za-z0-9_.]+")
OPENING = re.compile(r"\s*\(\s*")
STRING_PREFIX = re.compile(r"[rRuU]*")
# The fields of statements (and of `except` and `case` clauses) that hold statements.
STATEMENT_LISTS = ("body", "orelse", "finalbody", "handlers", "cases")


class Reference:
    def __init__(self, source: bytes, module: str, is_package: bool):
        self.source = source
        self.lines = source.splitlines(keepends=True)  # at \n, \r\n and \r only, as ast counts
        self.module = module
        self.package = module if is_package else module.rpartition(".")[0]
        self.out = []
        # Dynamic imports hide in expressions; without them, statements are all there is to walk.
        self.expressions = b"__import__" in source or b"import_module" in source

    # MARK: walking

    def scan(self, tree):
        for statement in tree.body:
            self.walk(statement, False)
        return self.out

    def walk(self, node, type_checking):
        negated = self.type_checking_header(node)
        if negated is not None:
            for child in node.body:
                self.walk(child, type_checking or not negated)
            for child in node.orelse:
                self.walk(child, type_checking or negated)
            return
        if isinstance(node, ast.JoinedStr):
            return  # an f-string is one token to the scanner
        if isinstance(node, ast.Import):
            reported = set()
            for alias in node.names:
                self.emit(alias.name, node.lineno, type_checking, reported)
        elif isinstance(node, ast.ImportFrom):
            self.import_from(node, type_checking)
        elif isinstance(node, ast.Call):
            self.call(node, type_checking)
        if self.expressions:
            children = ast.iter_child_nodes(node)
        else:
            children = (child for field in STATEMENT_LISTS for child in getattr(node, field, ()))
        for child in children:
            self.walk(child, type_checking)

    def type_checking_header(self, node):
        """For `if [not] NAME(.NAME)*TYPE_CHECKING:`: whether it is negated; None otherwise."""
        if not isinstance(node, ast.If):
            return None
        test, negated = node.test, False
        if isinstance(test, ast.UnaryOp) and isinstance(test.op, ast.Not):
            test, negated = test.operand, True
        if not self.is_dotted(test) or self.name_of(test) != "TYPE_CHECKING":
            return None
        # The scanner reads the header's tokens: no brackets around the condition.
        header = self.text(node.lineno, node.col_offset, node.test.end_lineno, node.test.end_col_offset)
        if "(" in header or ")" in header or self.next_char(node.test) != ":":
            return None
        return negated

    def is_dotted(self, node):
        if isinstance(node, ast.Name):
            return True
        return isinstance(node, ast.Attribute) and self.is_dotted(node.value)

    @staticmethod
    def name_of(node):
        return node.id if isinstance(node, ast.Name) else node.attr

    # MARK: statements

    def import_from(self, node, type_checking):
        name = node.module or ""
        module = self.resolve(node.level, name, self.package)
        if module is None:
            self.out.append(f"unresolved {node.lineno} {node.level} {name}")
            return
        reported = set()
        if node.names[0].name == "*":
            self.emit(module, node.lineno, type_checking, reported, star=True)
            return
        names = [alias.name for alias in node.names]
        self.emit(module, node.lineno, type_checking, reported, from_names=names)
        for alias in node.names:
            self.out.append(f"edge {alias.lineno} {self.kind(type_checking)} {module}.{alias.name} candidate")

    def call(self, node, type_checking):
        function = node.func
        if not (isinstance(function, ast.Name) and function.id in ("__import__", "import_module")
                or isinstance(function, ast.Attribute) and function.attr in ("__import__", "import_module")):
            return
        accepts_package = self.name_of(function) == "import_module"
        line = function.end_lineno
        if not node.args or not self.text_is(function.end_lineno, function.end_col_offset, node.args[0], OPENING):
            return
        name = self.literal(node.args[0])
        if name is None:
            return
        after = self.next_char(node.args[0])
        anchor = self.package
        if accepts_package and after == ",":
            rest = sorted([*node.args[1:], *node.keywords], key=lambda n: (n.lineno, n.col_offset))
            if not rest:
                return  # a trailing comma
            first = rest[0]
            if isinstance(first, ast.keyword):
                if first.arg is None:
                    return  # **kwargs
                if first.arg != "package":
                    return self.emit_dynamic(name, line, anchor, type_checking)
                value = first.value
            else:
                value = first
            if self.is_name(value, "__package__"):
                anchor = self.package
            elif self.is_name(value, "__name__"):
                anchor = self.module
            elif (package := self.literal(value)) is not None:
                anchor = package
            else:
                return
            after = self.next_char(value)
        if after in (")", ","):
            self.emit_dynamic(name, line, anchor, type_checking)

    def emit_dynamic(self, name, line, anchor, type_checking):
        dots = len(name) - len(name.lstrip("."))
        relative = name[dots:]
        module = self.resolve(dots, relative, anchor)
        if module is None:
            self.out.append(f"unresolved {line} {dots} {relative}")
        else:
            self.emit(module, line, type_checking, set())

    # MARK: edges

    def emit(self, module, line, type_checking, reported, star=False, from_names=None):
        """The parents of `module` not yet reported by this statement, then `module`."""
        kind = self.kind(type_checking)
        for index, char in enumerate(module):
            if char == "." and module[:index] not in reported:
                reported.add(module[:index])
                self.out.append(f"edge {line} {kind} {module[:index]}")
        if from_names is None and not star:
            if module in reported:
                return
            reported.add(module)
        self.out.append(f"edge {line} {kind} {module}"
                        + (" star" if star else "")
                        + (f" from={','.join(from_names)}" if from_names is not None else ""))

    @staticmethod
    def kind(type_checking):
        return "type-checking" if type_checking else "runtime"

    @staticmethod
    def resolve(level, name, package):
        if level == 0:
            return name
        if not package:
            return None
        base = package
        for _ in range(1, level):
            if "." not in base:
                return None
            base = base.rpartition(".")[0]
        return f"{base}.{name}" if name else base

    # MARK: source text

    def literal(self, node):
        """The module a plain one-token string literal names, as the scanner accepts it."""
        if not isinstance(node, ast.Constant) or not isinstance(node.value, str):
            return None
        text = self.text(node.lineno, node.col_offset, node.end_lineno, node.end_col_offset)
        tokens = [t for t in tokenize.generate_tokens(io.StringIO(text).readline)
                  if t.type not in (tokenize.NEWLINE, tokenize.NL, tokenize.ENDMARKER)]
        if len(tokens) != 1 or tokens[0].type != tokenize.STRING:
            return None
        prefix = STRING_PREFIX.match(text).group()
        body = text[len(prefix):]
        quote = 3 if body[:3] in ('"""', "'''") else 1
        value = body[quote:-quote]
        return value if MODULE_LITERAL.fullmatch(value) else None

    @staticmethod
    def is_name(node, name):
        return isinstance(node, ast.Name) and node.id == name

    def text(self, line, col, end_line, end_col):
        if line == end_line:
            return self.line_bytes(line)[col:end_col].decode("utf-8", "surrogateescape")
        parts = [self.line_bytes(line)[col:]]
        parts += [self.line_bytes(n) for n in range(line + 1, end_line)]
        parts.append(self.line_bytes(end_line)[:end_col])
        return b"".join(parts).decode("utf-8", "surrogateescape")

    def line_bytes(self, line):
        return self.lines[line - 1] if line <= len(self.lines) else b""

    def text_is(self, line, col, node, pattern):
        """Whether the text from (line, col) to where `node` starts matches `pattern`."""
        return bool(pattern.fullmatch(self.text(line, col, node.lineno, node.col_offset)))

    def next_char(self, node):
        """The first character after `node` that is not white space, a comment or a line join."""
        line, col = node.end_lineno, node.end_col_offset
        while line <= len(self.lines):
            rest = self.line_bytes(line)[col:].decode("utf-8", "surrogateescape")
            stripped = rest.lstrip(" \t\f")
            if stripped and stripped[0] not in "#\\\r\n":
                return stripped[0]
            line, col = line + 1, 0
        return ""


def facts(path, module):
    source = open(path, "rb").read()
    if re.search(rb"\r(?!\n)", source):
        return None, "old-mac-line-ends"
    try:
        tree = ast.parse(source)
    except (SyntaxError, ValueError) as error:
        return None, f"not-python-3-syntax:{type(error).__name__}"
    return Reference(source, module, path.endswith("/__init__.py")).scan(tree), None


def main():
    out = sys.stdout
    for line in sys.stdin:
        module, path = line.rstrip("\n").split("\t", 1)
        lines, skipped = facts(path, module)
        if skipped:
            out.write(f"skipped {skipped} {path}\n")
            continue
        out.write(f"file {path}\n")
        out.writelines(f"{fact}\n" for fact in lines)


if __name__ == "__main__":
    main()
