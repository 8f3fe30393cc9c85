/// The project a pytest invocation belongs to, decided exactly as pytest decides its rootdir and
/// configuration file (`_pytest/config/findpaths.py`, `determine_setup`), from the invocation's
/// arguments, `PYTEST_ADDOPTS` and working directory. One manager serves one project and
/// interpreter; two configuration files under one rootdir, or a `--confcutdir`, make different
/// projects because they load different conftests and settings.
///
/// Pure: the file system is a `FileTree` of closures, so the rules are testable on generated trees.
public struct ProjectRoot: Equatable {
    /// pytest's rootdir.
    public var path: String
    /// pytest's configuration file (`configfile:` in its header), if any.
    public var configFile: String?
    /// `--confcutdir` from the command line, absolute, if given.
    public var confcutdir: String?

    public init(path: String, configFile: String? = nil, confcutdir: String? = nil) {
        self.path = path
        self.configFile = configFile
        self.confcutdir = confcutdir
    }

    /// What the warm-up passes to pytest so that it settles on this same rootdir and configuration.
    public var warmupArguments: [String] {
        ["--rootdir=" + path] + (configFile.map { ["-c", $0] } ?? [])
            + (confcutdir.map { ["--confcutdir=" + $0] } ?? [])
    }

    public enum Resolution: Equatable {
        case project(ProjectRoot)
        /// The daemon must not serve this invocation: plain pytest runs it; the reason says why.
        case plainPytest(reason: String)
        /// pytest rejects these arguments (a usage error): plain pytest runs, and says so itself.
        case rejected(reason: String)
    }

    /// - Parameters:
    ///   - arguments: argv without argv[0] (empty for the CLI verbs: the working directory decides).
    ///   - invocationDirectory: the caller's working directory, absolute.
    ///   - environment: for `PYTEST_ADDOPTS` and the variables `--rootdir` may name.
    ///   - version: the pytest that will run, when known; else the newest rules.
    public static func resolve(
        arguments: [String], invocationDirectory: String, environment: [String: String],
        version: PytestVersion?, files: FileTree
    ) -> Resolution {
        let version = version ?? .newest
        let cwd = normalised(invocationDirectory)
        do {
            var words = arguments
            if let addopts = environment["PYTEST_ADDOPTS"], !addopts.isEmpty {
                do {
                    words = try ShellWords.split(addopts) + words
                } catch let error as ShellWords.Unbalanced {
                    throw PytestArguments.Rejected(description: "PYTEST_ADDOPTS: \(error.reason)")
                }
            }
            let parsed = try PytestArguments.parse(
                words, disabling: arguments, version: version,
                readFile: { files.read(absolute($0, in: cwd)) })
            let setup = try SetupRules(cwd: cwd, version: version, files: files, environment: environment)
                .determine(parsed)
            guard setup.path != "/" else {
                return .plainPytest(reason: "pytest's rootdir would be / (no configuration file, setup.py or common directory)")
            }
            for path in setup.argumentPaths where !isInside(path, setup.path) {
                return .plainPytest(reason: "\(path) is outside the project at \(setup.path) (the arguments span two projects)")
            }
            // Without path arguments pytest collects the working directory: it must be in the project too.
            if setup.argumentPaths.isEmpty && !isInside(cwd, setup.path) {
                return .plainPytest(reason: "the working directory is outside the project at \(setup.path)")
            }
            let confcutdir = parsed.confcutdir.flatMap { $0.isEmpty ? nil : absolute($0, in: cwd) }
            return .project(ProjectRoot(path: setup.path, configFile: setup.configFile, confcutdir: confcutdir))
        } catch let error as SetupRules.UnreadableFile {
            return .plainPytest(reason: "cannot read \(error.path) as TOML")
        } catch {
            return .rejected(reason: "\(error)")
        }
    }

    static func isInside(_ path: String, _ directory: String) -> Bool {
        path == directory || path.hasPrefix(directory == "/" ? "/" : directory + "/")
    }

    /// The directory itself, then each parent up to `/`.
    public static func ancestors(of directory: String) -> [String] {
        var result = [directory]
        var current = directory
        while current != "/" && !current.isEmpty {
            current = parent(of: current)
            result.append(current)
        }
        return result
    }

    /// The last component of a path.
    public static func basename(_ path: String) -> String {
        path.split(separator: "/").last.map(String.init) ?? path
    }

    public static func parent(of path: String) -> String {
        guard let slash = path.lastIndex(of: "/") else { return "." }
        return slash == path.startIndex ? "/" : String(path[..<slash])
    }

    public static func join(_ directory: String, _ name: String) -> String {
        directory.hasSuffix("/") ? directory + name : directory + "/" + name
    }

    /// `os.path.normpath` of an absolute path: `.`, `..` and repeated slashes resolved lexically.
    static func normalised(_ path: String) -> String {
        var parts: [Substring] = []
        for part in path.split(separator: "/", omittingEmptySubsequences: true) where part != "." {
            if part == ".." {
                if !parts.isEmpty { parts.removeLast() }
            } else {
                parts.append(part)
            }
        }
        return "/" + parts.joined(separator: "/")
    }

    /// `os.path.abspath`, which pytest's `absolutepath` is.
    static func absolute(_ path: String, in directory: String) -> String {
        normalised(path.hasPrefix("/") ? path : join(directory, path))
    }
}

/// A read-only view of a file system: what the rootdir rules ask of it. Both closures follow symbolic
/// links, as `Path.is_file()` and `open()` do.
public struct FileTree {
    public enum Kind { case file, directory, other }

    public var kind: (String) -> Kind?
    public var read: (String) -> String?

    public init(kind: @escaping (String) -> Kind?, read: @escaping (String) -> String?) {
        self.kind = kind
        self.read = read
    }

    func isFile(_ path: String) -> Bool { kind(path) == .file }
    func isDirectory(_ path: String) -> Bool { kind(path) == .directory }
    func exists(_ path: String) -> Bool { kind(path) != nil }
}
