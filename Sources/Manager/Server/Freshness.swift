import Glibc
import PytestdCore
import PytestdPosix

/// The proof a host is fresh: fingerprints of everything its template depends on, taken when it
/// became ready, re-checked before each run. Watch events can be lost (queue overflow, directories
/// not yet watched); this check cannot.
struct Freshness {
    /// Files that decide what a pytest run does besides the modules: its configuration.
    static let configurationFiles = [
        "pytest.toml", ".pytest.toml", "pytest.ini", ".pytest.ini", "pyproject.toml", "tox.ini", "setup.cfg",
    ]

    private(set) var fingerprints: [(path: String, fingerprint: FileSystem.Fingerprint?)] = []
    /// Loaded module files under the root: a change to any of them makes the template stale.
    private(set) var loadedFiles: Set<String> = []
    /// Module names whose files the template loaded: a new file of such a name could shadow one.
    private(set) var loadedStems: Set<String> = []

    init() {}

    /// Fingerprints the template's project files (under `root`), the root's configuration files, the
    /// site-packages directory (installs and removals change its entries) and `interpreterFiles` (the
    /// interpreter and its libpython: an upgraded Python needs a new template).
    init(loaded: [Bytes], root: String, sitePackages: String, interpreterFiles: [String]) {
        let prefix = root.hasSuffix("/") ? root : root + "/"
        for raw in loaded {
            let path = String(decoding: raw, as: UTF8.self)
            guard path.hasPrefix(prefix), !path.hasPrefix(sitePackages) else { continue }
            loadedFiles.insert(path)
            loadedStems.insert(Self.moduleStem(path))
        }
        let watched = loadedFiles.sorted()
            + Self.configurationFiles.map { ProjectRoot.join(root, $0) } + [sitePackages] + interpreterFiles
        fingerprints = watched.map { ($0, FileSystem.fingerprint($0)) }
    }

    /// The first file that differs from its fingerprint, or nil when everything is as it was.
    func firstChangedFile() -> String? {
        fingerprints.first { FileSystem.fingerprint($0.path) != $0.fingerprint }?.path
    }

    /// Whether a change at `path` makes a template with these files stale.
    func isAffected(by change: SourceWatcher.Change, root: String) -> Bool {
        if loadedFiles.contains(change.path) { return true }
        let name = FileSystem.fileName(of: change.path)
        if name == "conftest.py" || (Self.configurationFiles.contains(name) && ProjectRoot.parent(of: change.path) == root) {
            return true
        }
        // A new or removed module may shadow, or un-shadow, one the template imported; so may a
        // new package directory.
        if change.kind != .modified, name.hasSuffix(".py") || !name.contains(".") {
            return loadedStems.contains(Self.moduleStem(change.path))
        }
        return false
    }

    /// `pkg/mod.py` → `mod`, `pkg/__init__.py` → `pkg`, `pkg` → `pkg`.
    static func moduleStem(_ path: String) -> String {
        var name = FileSystem.fileName(of: path)
        if name == "__init__.py" { name = FileSystem.fileName(of: ProjectRoot.parent(of: path)) }
        return name.split(separator: ".").first.map(String.init) ?? name
    }
}

/// Removes the bytecode caches of a changed source file: CPython and pytest trust a cached pyc whose
/// recorded mtime (whole seconds) and size match, so an edit within the same second at the same size
/// would otherwise load old code even in a fresh process.
enum BytecodeCache {
    static func purge(sourceFile path: String) {
        guard path.hasSuffix(".py") else { return }
        let stem = String(FileSystem.fileName(of: path).dropLast(3))
        let cacheDirectory = ProjectRoot.join(ProjectRoot.parent(of: path), "__pycache__")
        guard let dir = opendir(cacheDirectory) else { return }
        defer { closedir(dir) }
        var doomed: [String] = []
        while let entry = readdir(dir) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
            if name.hasPrefix(stem + "."), name.hasSuffix(".pyc") { doomed.append(name) }
        }
        for name in doomed { unlink(ProjectRoot.join(cacheDirectory, name)) }
    }
}
