/// Finds the directory a warm host serves: the project root, by pytest's own configuration rules.
///
/// pytest picks its rootdir from the first ancestor holding a configuration file (pytest.ini,
/// .pytest.ini, pyproject.toml with a pytest table, tox.ini with [pytest], setup.cfg with
/// [tool:pytest]); pytestd keys one manager per such root, else per git root, else per directory.
/// Pure: the file system is a closure, so the rules are testable without one.
public struct ProjectRoot: Equatable {
    public enum Evidence: Equatable {
        case configuration(file: String)
        case gitRepository
        case workingDirectory
    }

    public var path: String
    public var evidence: Evidence

    public init(path: String, evidence: Evidence) {
        self.path = path
        self.evidence = evidence
    }

    /// - Parameters:
    ///   - directory: an absolute, normalised directory (the caller's working directory).
    ///   - readFile: the contents of an absolute path, or nil if there is no such file.
    ///   - exists: whether an absolute path exists (used for `.git`).
    public static func locate(
        from directory: String, readFile: (String) -> String?, exists: (String) -> Bool
    ) -> ProjectRoot {
        var untabledPyproject: String?
        for candidate in ancestors(of: directory) {
            for name in ["pytest.ini", ".pytest.ini", "pyproject.toml", "tox.ini", "setup.cfg"] {
                let file = join(candidate, name)
                guard let text = readFile(file) else { continue }
                if declaresPytestConfiguration(fileName: name, text: text) {
                    return ProjectRoot(path: candidate, evidence: .configuration(file: file))
                }
                if name == "pyproject.toml", untabledPyproject == nil { untabledPyproject = file }
            }
        }
        for candidate in ancestors(of: directory) where exists(join(candidate, ".git")) {
            return ProjectRoot(path: candidate, evidence: .gitRepository)
        }
        // pytest ≥ 8.1 falls back to the nearest pyproject.toml even without a pytest table.
        if let file = untabledPyproject {
            return ProjectRoot(path: parent(of: file), evidence: .configuration(file: file))
        }
        return ProjectRoot(path: directory, evidence: .workingDirectory)
    }

    static func declaresPytestConfiguration(fileName: String, text: String) -> Bool {
        switch fileName {
        case "pytest.ini", ".pytest.ini":
            return true
        case "pyproject.toml":
            return tableHeaders(in: text).contains { $0 == "tool.pytest.ini_options" || $0 == "tool.pytest" }
        case "tox.ini":
            return tableHeaders(in: text).contains("pytest")
        case "setup.cfg":
            return tableHeaders(in: text).contains("tool:pytest")
        default:
            return false
        }
    }

    /// `[name]` headers at the start of a line, with inner whitespace removed.
    public static func tableHeaders(in text: String) -> [String] {
        text.split(whereSeparator: \.isNewline).compactMap { line in
            let trimmed = line.drop { $0 == " " || $0 == "\t" }
            guard trimmed.first == "[", !trimmed.hasPrefix("[["),
                  let close = trimmed.firstIndex(of: "]") else { return nil }
            return String(trimmed[trimmed.index(after: trimmed.startIndex)..<close].filter { $0 != " " && $0 != "\t" })
        }
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

    public static func parent(of path: String) -> String {
        guard let slash = path.lastIndex(of: "/") else { return "." }
        return slash == path.startIndex ? "/" : String(path[..<slash])
    }

    public static func join(_ directory: String, _ name: String) -> String {
        directory.hasSuffix("/") ? directory + name : directory + "/" + name
    }
}
