/// pytest's `determine_setup` and the helpers it calls (`locate_config`, `get_common_ancestor`,
/// `get_dirs_from_args`), line for line, with the differences between pytest versions that decide
/// a rootdir or a configuration file. Errors are pytest's `UsageError`s (plain pytest reports them).
struct SetupRules {
    struct UsageError: Error, CustomStringConvertible {
        var description: String
    }

    struct UnreadableFile: Error {
        var path: String
    }

    struct Setup {
        var path: String
        var configFile: String?
        /// The existing paths the free arguments name (node ids cut at `::`), absolute.
        var argumentPaths: [String]
    }

    let cwd: String
    let version: PytestVersion
    let files: FileTree
    let environment: [String: String]

    init(cwd: String, version: PytestVersion, files: FileTree, environment: [String: String]) {
        self.cwd = cwd
        self.version = version
        self.files = files
        self.environment = environment
    }

    func determine(_ arguments: PytestArguments) throws -> Setup {
        let paths = arguments.free.filter { !$0.hasPrefix("-") }.map { word -> String in
            ProjectRoot.absolute(Self.pathOfNodeId(word), in: cwd)
        }.filter(files.exists)
        let dirs = paths.map { files.isDirectory($0) ? $0 : ProjectRoot.parent(of: $0) }
        let rootdirOption = arguments.rootdir.flatMap { $0.isEmpty ? nil : $0 }
        var rootdir: String?
        var configFile: String?

        if let inifile = arguments.configFile, !inifile.isEmpty {
            let path = ProjectRoot.absolute(inifile, in: cwd)
            configFile = path
            if version >= PytestVersion(9, 2) {
                guard let kind = files.kind(path) else {
                    throw UsageError(description: "Config file '\(path)' not found")
                }
                guard kind != .directory else { throw UsageError(description: "Config file '\(path)' is a directory") }
                if kind == .file, ConfigurationFile.loader(forConfigFileOption: path) == nil {
                    throw UsageError(description: "Config file '\(path)' has an unsupported format")
                }
                if rootdirOption == nil {
                    if kind == .file {
                        rootdir = ProjectRoot.parent(of: path)
                    } else {
                        // A non-regular file (`-c /dev/null`) says nothing about where the project is.
                        let ancestor = commonAncestor(dirs)
                        rootdir = ancestor == "/" ? cwd : ancestor
                    }
                }
            } else {
                // Before 9.2 pytest read the file by its suffix and took its directory, whatever it was.
                let suffix = ConfigurationFile.suffix(of: path)
                if [".ini", ".cfg", ".toml"].contains(suffix), files.read(path) == nil {
                    throw UsageError(description: "cannot read config file '\(path)'")
                }
                if rootdirOption == nil { rootdir = ProjectRoot.parent(of: path) }
            }
        } else {
            let ancestor = commonAncestor(dirs)
            (rootdir, configFile) = try locateConfig([ancestor])
            if rootdir == nil && rootdirOption == nil {
                if let withSetupPy = ProjectRoot.ancestors(of: ancestor).first(where: {
                    files.isFile(ProjectRoot.join($0, "setup.py"))
                }) {
                    rootdir = withSetupPy
                } else {
                    if dirs != [ancestor] { (rootdir, configFile) = try locateConfig(dirs) }
                    if rootdir == nil {
                        let common = commonAncestor([cwd, ancestor])
                        rootdir = common == "/" ? ancestor : common
                    }
                }
            }
        }
        if let option = rootdirOption {
            let path = ProjectRoot.absolute(expandingVariables(option), in: cwd)
            guard files.isDirectory(path) else {
                throw UsageError(description: "Directory '\(path)' not found. Check your '--rootdir' option.")
            }
            rootdir = path
        }
        return Setup(path: rootdir!, configFile: configFile, argumentPaths: paths)
    }

    /// The part of a node id before its first `::`.
    static func pathOfNodeId(_ word: String) -> String {
        let scalars = Array(word.unicodeScalars)
        var i = 0
        while i + 1 < scalars.count {
            if scalars[i] == ":" && scalars[i + 1] == ":" { return String(String.UnicodeScalarView(scalars[..<i])) }
            i += 1
        }
        return word
    }

    /// `locate_config`: the first base directory (each argument, then its parents) holding a file with
    /// pytest configuration; else (pytest ≥ 8.1) the first `pyproject.toml` seen on the way.
    func locateConfig(_ arguments: [String]) throws -> (String?, String?) {
        let names = ConfigurationFile.discoveredNames(version: version)
        var firstPyproject: String?
        for argument in arguments.isEmpty ? [cwd] : arguments {
            for base in ProjectRoot.ancestors(of: argument) {
                for name in names {
                    let path = ProjectRoot.join(base, name)
                    guard files.isFile(path) else { continue }
                    if name == "pyproject.toml" && firstPyproject == nil { firstPyproject = path }
                    guard let text = files.read(path) else { throw UsageError(description: "cannot read \(path)") }
                    do {
                        if try ConfigurationFile.holdsConfiguration(name: name, text: text, version: version) {
                            return (base, path)
                        }
                    } catch is ConfigurationFile.UnreadableToml {
                        throw UnreadableFile(path: path)
                    }
                }
            }
        }
        if let pyproject = firstPyproject, version >= PytestVersion(8, 1) {
            return (ProjectRoot.parent(of: pyproject), pyproject)
        }
        return (nil, nil)
    }

    /// `get_common_ancestor`: the deepest directory holding every existing path, else the invocation
    /// directory.
    func commonAncestor(_ paths: [String]) -> String {
        var common: String?
        for path in paths where files.exists(path) {
            guard let current = common else {
                common = path
                continue
            }
            if ProjectRoot.isInside(path, current) { continue }
            common = ProjectRoot.isInside(current, path) ? path : Self.commonPath(path, current)
        }
        guard let found = common else { return cwd }
        return files.isFile(found) ? ProjectRoot.parent(of: found) : found
    }

    /// `os.path.commonpath` of two absolute, normalised paths.
    static func commonPath(_ a: String, _ b: String) -> String {
        let shared = zip(a.split(separator: "/"), b.split(separator: "/")).prefix { $0 == $1 }.map { $0.0 }
        return "/" + shared.joined(separator: "/")
    }

    /// `os.path.expandvars`: `$NAME` and `${NAME}` of set variables; anything else stays as written.
    func expandingVariables(_ text: String) -> String {
        guard text.contains("$") else { return text }
        let scalars = Array(text.unicodeScalars)
        var result = String.UnicodeScalarView()
        var i = 0
        func isNameScalar(_ c: Unicode.Scalar) -> Bool {
            c.isASCII && (c == "_" || c.properties.isAlphabetic || ("0"..."9").contains(c))
        }
        while i < scalars.count {
            guard scalars[i] == "$", i + 1 < scalars.count else {
                result.append(scalars[i])
                i += 1
                continue
            }
            var end = i + 1
            let name: String
            let after: Int
            if scalars[end] == "{" {
                guard let close = scalars[(end + 1)...].firstIndex(of: "}") else {
                    result.append(scalars[i])
                    i += 1
                    continue
                }
                name = String(String.UnicodeScalarView(scalars[(end + 1)..<close]))
                after = close + 1
            } else {
                while end < scalars.count, isNameScalar(scalars[end]) { end += 1 }
                name = String(String.UnicodeScalarView(scalars[(i + 1)..<end]))
                after = end
            }
            if !name.isEmpty, let value = environment[name] {
                result.append(contentsOf: value.unicodeScalars)
            } else {
                result.append(contentsOf: scalars[i..<after])
            }
            i = max(after, i + 1)
        }
        return String(result)
    }
}
