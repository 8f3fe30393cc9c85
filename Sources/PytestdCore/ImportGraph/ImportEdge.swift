/// One module named by an import in a Python file: the unit the import graph is built from.
///
/// The scanner reports what the source says, not what Python will find: whether `target` is a
/// project module, a third-party package or a name that is not a module at all is decided later
/// by `ImportGraph`, which only orders modules it holds.
public struct ImportEdge: Hashable, Sendable {
    /// When the import runs. Only `.runtime` imports bind names that go stale on a reload;
    /// imports under `if TYPE_CHECKING:` never run, so they must not force reloads.
    public enum Kind: Hashable, Sendable {
        case runtime
        case typeCheckingOnly
    }

    /// The absolute dotted module name (relative imports already resolved).
    public var target: String
    public var kind: Kind
    /// 1-based line of the statement (of the imported name, for submodule candidates).
    public var line: Int
    /// `from target import *`: binds whatever `target` exports, so its importer needs a reload
    /// even for names that did not exist before.
    public var isStar: Bool
    /// For `from target import a, b`: the imported names (not their aliases); nil otherwise.
    public var fromNames: [String]?
    /// `from x import y` may import the submodule `x.y` or just bind the attribute `y` of `x`;
    /// the source alone cannot tell. The scanner emits `x.y` with this flag, and a graph counts
    /// it only when a module `x.y` exists.
    public var isSubmoduleCandidate: Bool

    public init(
        target: String, kind: Kind = .runtime, line: Int, isStar: Bool = false, fromNames: [String]? = nil,
        isSubmoduleCandidate: Bool = false
    ) {
        self.target = target
        self.kind = kind
        self.line = line
        self.isStar = isStar
        self.fromNames = fromNames
        self.isSubmoduleCandidate = isSubmoduleCandidate
    }
}

/// A relative import that climbs above the top-level package (`from ... import x` in `a/b.py`).
/// Python raises `ImportError` for it at run time; the scanner reports it instead of guessing.
public struct UnresolvedRelativeImport: Hashable, Sendable {
    public var line: Int
    /// The number of leading dots.
    public var level: Int
    /// The dotted name after the dots, empty for `from .. import x`.
    public var name: String

    public init(line: Int, level: Int, name: String) {
        self.line = line
        self.level = level
        self.name = name
    }
}

/// Everything `ImportScanner` learned from one file.
public struct ImportScan: Hashable, Sendable {
    public var edges: [ImportEdge]
    public var unresolved: [UnresolvedRelativeImport]

    public init(edges: [ImportEdge] = [], unresolved: [UnresolvedRelativeImport] = []) {
        self.edges = edges
        self.unresolved = unresolved
    }
}
