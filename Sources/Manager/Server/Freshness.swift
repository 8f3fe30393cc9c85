import Glibc
import PytestdCore
import PytestdPosix

/// The proof a host is fresh: fingerprints of everything its template depends on. Module files carry
/// the fingerprint the host took when the import system validated them (an edit during the warm-up
/// differs from it), wherever they live; the rest are taken when the host became ready.
///
/// Every fingerprint is proven once, when the host is ready, after the directories holding the files
/// are watched. Before each run, a file is proven again only if its directory lost that watch since
/// (or the path names another directory now, e.g. an ancestor was renamed); otherwise any change to
/// it since the proof was an inotify event, and the events are drained before every run. A lost
/// event (queue overflow) retires every host. Thousands of stats per run become one per directory.
/// Not on network or FUSE file systems (a change made elsewhere is no event): there every file is
/// proven before every run.
struct Freshness {
    /// Files that decide what a pytest run does besides the modules: its configuration.
    static let configurationFiles = [
        "pytest.toml", ".pytest.toml", "pytest.ini", ".pytest.ini", "pyproject.toml", "tox.ini", "setup.cfg",
    ]

    private(set) var fingerprints: [(path: String, fingerprint: FileSystem.Fingerprint?)] = []
    /// Every file the template loaded: a change to any of them makes the template stale.
    private(set) var loadedFiles: Set<String> = []
    /// How many of them are under the root.
    private(set) var projectFileCount = 0
    /// Module names whose files the template loaded under the root: a new file of such a name could
    /// shadow one.
    private(set) var loadedStems: Set<String> = []
    /// Every loaded module's name stem and package name, and the directories the import system
    /// searched: a new module of such a name in such a directory could shadow a loaded one.
    private(set) var allStems: Set<String> = []
    private(set) var searchedDirectories: Set<String> = []
    /// Indices into `fingerprints` of the loaded files in each directory; the others (configuration,
    /// site-packages, the interpreter) are proven before every run.
    private var filesByDirectory: [String: [Int]] = [:]
    private var alwaysProven: [Int] = []
    /// The watch each directory had when its files were last all proven.
    private var coverage: [String: SourceWatcher.WatchedDirectory] = [:]

    init() {}

    /// Fingerprints the template's files (the host's load-time fingerprints; the others now), the
    /// root's configuration files, the site-packages directory (installs and removals change its
    /// entries) and `interpreterFiles` (the interpreter and its libpython: an upgraded Python needs a
    /// new template).
    init(report: HostReport, locations: SourceLocations, sitePackages: String, interpreterFiles: [String]) {
        var loaded: [String: FileSystem.Fingerprint] = [:]
        for entry in report.loadedFingerprints {
            guard let (path, fingerprint) = Self.parse(entry) else { continue }
            loaded[path] = fingerprint
        }
        // Data files read at import: the project's (outside it, caches and state files that runs
        // rewrite would retire every template), regular files only.
        for raw in report.loadedFiles {
            let path = String(decoding: raw, as: UTF8.self)
            guard loaded[path] == nil, locations.isUnderRoot(path), FileSystem.isRegularFile(path) else { continue }
            loaded[path] = FileSystem.fingerprint(path)
        }
        for (path, _) in loaded {
            loadedFiles.insert(path)
            allStems.insert(Self.moduleStem(path))
            // Its package, perhaps a namespace package (no file of its own): a new `ns.py` or
            // `ns/__init__.py` where the import system looks would take its place.
            allStems.insert(FileSystem.fileName(of: ProjectRoot.parent(of: path)))
            if locations.isUnderRoot(path) {
                projectFileCount += 1
                loadedStems.insert(Self.moduleStem(path))
            }
        }
        searchedDirectories = Set(report.searchedDirectories.map { String(decoding: $0, as: UTF8.self) })
        let others = Self.configurationFiles.map { ProjectRoot.join(locations.root, $0) } + [sitePackages] + interpreterFiles
        fingerprints = loaded.sorted { $0.key < $1.key }.map { ($0.key, $0.value) }
        for (index, file) in fingerprints.enumerated() {
            filesByDirectory[ProjectRoot.parent(of: file.path), default: []].append(index)
        }
        alwaysProven = Array(fingerprints.count..<(fingerprints.count + others.count))
        fingerprints += others.map { ($0, FileSystem.fingerprint($0)) }
    }

    /// The directories holding loaded files, and those searched: where changes must be watched.
    var directories: Set<String> {
        searchedDirectories.union(loadedFiles.map(ProjectRoot.parent))
    }

    /// Proves every fingerprint, and remembers which directories were watched meanwhile: the first
    /// file that differs, or nil. Call it after the template's directories are watched.
    mutating func proveAll(watchedBy watcher: SourceWatcher) -> String? {
        coverage = [:]
        for directory in filesByDirectory.keys where FileSystem.hasReliableChangeEvents(directory) {
            if let watch = watcher.watch(of: directory) { coverage[directory] = watch }
        }
        return fingerprints.first { FileSystem.fingerprint($0.path) != $0.fingerprint }?.path
    }

    /// Before a run (events drained): the first file that differs from its fingerprint among those
    /// whose directory lost its watch, and the files proven every time; nil when all are as they were.
    /// `proven` counts the stats it took.
    func firstChangedFile(watchedBy watcher: SourceWatcher, proven: inout Int) -> String? {
        var indices = alwaysProven
        for (directory, files) in filesByDirectory {
            proven += 1
            if let watch = coverage[directory], watcher.watch(of: directory) == watch { continue }
            indices += files
        }
        proven += indices.count
        return indices.lazy.map { self.fingerprints[$0] }.first { FileSystem.fingerprint($0.path) != $0.fingerprint }?.path
    }

    /// Every file that differs from its fingerprint.
    func changedFiles() -> [String] {
        fingerprints.filter { FileSystem.fingerprint($0.path) != $0.fingerprint }.map(\.path)
    }

    /// Whether a change at `path` makes a template with these files stale.
    func isAffected(by change: SourceWatcher.Change, root: String) -> Bool {
        if loadedFiles.contains(change.path) { return true }
        let name = FileSystem.fileName(of: change.path)
        let parent = ProjectRoot.parent(of: change.path)
        if name == "conftest.py" || (Self.configurationFiles.contains(name) && parent == root) {
            return true
        }
        // A new or removed module may shadow, or un-shadow, one the template imported; so may a
        // new package directory.
        if change.kind != .modified, name.hasSuffix(".py") || !name.contains(".") {
            let stem = Self.moduleStem(change.path)
            return loadedStems.contains(stem) || (searchedDirectories.contains(parent) && allStems.contains(stem))
        }
        return false
    }

    /// `dev:ino:size:mtime_ns:ctime_ns:path`, as `_loaded_files` reports it.
    static func parse(_ entry: Bytes) -> (String, FileSystem.Fingerprint)? {
        let parts = entry.split(separator: UInt8(ascii: ":"), maxSplits: 5, omittingEmptySubsequences: false)
        guard parts.count == 6 else { return nil }
        let numbers = parts.prefix(5).map { String(decoding: $0, as: UTF8.self) }
        guard let device = UInt64(numbers[0]), let inode = UInt64(numbers[1]), let size = Int64(numbers[2]),
              let modified = Int64(numbers[3]), let changed = Int64(numbers[4]) else { return nil }
        return (String(decoding: parts[5], as: UTF8.self), FileSystem.Fingerprint(
            device: device, inode: inode, size: size, modified: timespec(nanoseconds: modified),
            changed: timespec(nanoseconds: changed)))
    }

    /// `pkg/mod.py` → `mod`, `pkg/__init__.py` → `pkg`, `pkg` → `pkg`.
    static func moduleStem(_ path: String) -> String {
        var name = FileSystem.fileName(of: path)
        if name == "__init__.py" { name = FileSystem.fileName(of: ProjectRoot.parent(of: path)) }
        return name.split(separator: ".").first.map(String.init) ?? name
    }
}

extension timespec {
    /// Nanoseconds since the epoch as `stat` gives them: seconds floored, nanoseconds in 0..<1e9.
    init(nanoseconds: Int64) {
        let (seconds, remainder) = nanoseconds.quotientAndRemainder(dividingBy: 1_000_000_000)
        self = remainder < 0
            ? timespec(tv_sec: Int(seconds - 1), tv_nsec: Int(remainder + 1_000_000_000))
            : timespec(tv_sec: Int(seconds), tv_nsec: Int(remainder))
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
