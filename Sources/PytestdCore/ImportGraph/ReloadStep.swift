/// One unit of a reload: a module, or an import cycle that has no correct order inside it.
///
/// A cycle cannot be reloaded member by member (whichever goes first binds the other's old
/// objects), so the executor must purge all of its members and re-import them together, or
/// fall back to a clean host.
public enum ReloadStep: Hashable, Sendable {
    case module(String)
    /// Two or more modules that import each other at run time, sorted by name.
    case cycle([String])

    public var modules: [String] {
        switch self {
        case .module(let name): return [name]
        case .cycle(let names): return names
        }
    }
}
