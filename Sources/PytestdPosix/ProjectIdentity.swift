import Glibc
import PytestdCore

/// Which warm universe serves a caller: the project root and the interpreter, resolved exactly as
/// the caller's `pytest` would resolve them. One manager runs per identity.
public struct ProjectIdentity: Equatable {
    public var root: ProjectRoot
    /// The interpreter's path as the venv names it (`<venv>/bin/python`), never symlink-resolved:
    /// CPython finds `pyvenv.cfg` from this path.
    public var interpreter: String
    /// Why this interpreter was chosen, for `pytestd status`.
    public var interpreterSource: String

    public init(root: ProjectRoot, interpreter: String, interpreterSource: String) {
        self.root = root
        self.interpreter = interpreter
        self.interpreterSource = interpreterSource
    }

    /// Short, stable file name for this identity's socket, lock and log: the rootdir, the
    /// configuration file, `--confcutdir` and the interpreter each make a different warm universe.
    public var key: String {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        let parts = [root.path, root.configFile ?? "", root.confcutdir ?? "", interpreter]
        for byte in parts.joined(separator: "\0").utf8 {
            hash = (hash ^ UInt64(byte)) &* 0x100_0000_01b3
        }
        let hex = String(hash, radix: 16)
        return String(repeating: "0", count: 16 - hex.count) + hex
    }

    /// Resolves root and interpreter for `pytest ARGUMENTS` run in `directory` (the CLI verbs pass no
    /// arguments: the directory decides). Throws, with the reason, when pytest's rootdir cannot be a
    /// project pytestd serves: the caller then runs plain pytest.
    ///
    /// Interpreter order: an activated venv (`VIRTUAL_ENV`), then `[tool.pytestd] python` (asked of
    /// `configuredPython` only when no venv is active), then the interpreter of the real `pytest`
    /// script on PATH (its shebang), then `python3` on PATH. `startedInterpreter`, when given, is the
    /// one the caller already runs (an interpreter hooked by `pytestd install-hook`): it decides alone.
    public static func resolve(
        arguments: [String], directory: String, environment: [String: String], realPytest: String?,
        startedInterpreter: String? = nil, configuredPython: (ProjectRoot) throws -> String?
    ) throws -> ProjectIdentity {
        // A venv's interpreter is `<venv>/bin/python`; its pytest script would be beside it.
        let version = installedPytestVersion(
            environment: startedInterpreter == nil ? environment : [:],
            realPytest: startedInterpreter.map { ProjectRoot.join(ProjectRoot.parent(of: $0), "pytest") } ?? realPytest)
        let root: ProjectRoot
        switch ProjectRoot.resolve(
            arguments: arguments, invocationDirectory: directory, environment: environment, version: version,
            files: FileSystem.tree)
        {
        case .project(let project): root = project
        case .plainPytest(let reason): throw UserFacingError(reason)
        case .rejected(let reason): throw PytestRejectsArguments(description: reason)
        }
        if let python = startedInterpreter {
            return ProjectIdentity(root: root, interpreter: python, interpreterSource: "the interpreter started (interpreter hook)")
        }
        if let venv = environment["VIRTUAL_ENV"], !venv.isEmpty {
            let python = ProjectRoot.join(venv, "bin/python")
            guard FileSystem.isExecutableFile(python) else {
                throw UserFacingError("VIRTUAL_ENV is \(venv), but \(python) is not an executable")
            }
            return ProjectIdentity(root: root, interpreter: python, interpreterSource: "VIRTUAL_ENV")
        }
        if let python = try configuredPython(root) {
            guard FileSystem.isExecutableFile(python) else {
                throw UserFacingError("[tool.pytestd] python is \(python), which is not an executable")
            }
            return ProjectIdentity(root: root, interpreter: python, interpreterSource: "[tool.pytestd] python")
        }
        if let script = realPytest, let python = scriptInterpreter(script) {
            return ProjectIdentity(root: root, interpreter: python, interpreterSource: "shebang of \(script)")
        }
        guard let python3 = PathSearch.find("python3", in: environment["PATH"] ?? "") else {
            throw UserFacingError("no Python interpreter found: activate a venv or set [tool.pytestd] python")
        }
        return ProjectIdentity(
            root: root, interpreter: try resolveScriptWrapper(python3), interpreterSource: "python3 on PATH")
    }

    /// The version of the pytest the caller would run, from its `dist-info` directory in the active
    /// venv, else in the venv of the real `pytest` script; nil when neither says (the rules of the
    /// newest pytest apply). Two directory reads: cheap enough for the shim.
    static func installedPytestVersion(environment: [String: String], realPytest: String?) -> PytestVersion? {
        let venv = environment["VIRTUAL_ENV"].flatMap { $0.isEmpty ? nil : $0 }
            ?? realPytest.map { ProjectRoot.parent(of: ProjectRoot.parent(of: $0)) }
        guard let venv else { return nil }
        let lib = ProjectRoot.join(venv, "lib")
        for python in FileSystem.entries(of: lib) where python.hasPrefix("python") {
            let sitePackages = ProjectRoot.join(ProjectRoot.join(lib, python), "site-packages")
            for name in FileSystem.entries(of: sitePackages) where name.hasPrefix("pytest-") && name.hasSuffix(".dist-info") {
                if let version = PytestVersion(parsing: String(name.dropFirst("pytest-".count).dropLast(".dist-info".count))) {
                    return version
                }
            }
        }
        return nil
    }

    /// The Python a console script runs with: `#!/path/python`, or pip's `/bin/sh` trampoline for
    /// long paths (`'''exec' /path/python "$0" "$@"`).
    static func scriptInterpreter(_ script: String) -> String? {
        guard let head = FileSystem.readText(script, limit: 1024) else { return nil }
        let lines = head.split(separator: "\n", maxSplits: 2, omittingEmptySubsequences: false)
        guard let first = lines.first, first.hasPrefix("#!") else { return nil }
        let shebang = first.dropFirst(2).split(separator: " ").map(String.init)
        if let program = shebang.first, FileSystem.fileName(of: program).hasPrefix("python") {
            return program
        }
        if shebang.first == "/bin/sh", lines.count > 1, lines[1].hasPrefix("'''exec' ") {
            let words = lines[1].dropFirst("'''exec' ".count).split(separator: " ")
            return words.first.map(String.init)
        }
        return nil
    }

    /// `python3` may be a wrapper script (pyenv's shims select a version per directory): ask it for
    /// the interpreter it really runs. Only this last-resort path pays for starting Python.
    static func resolveScriptWrapper(_ python: String) throws -> String {
        guard let head = FileSystem.read(python, limit: 4), head.starts(with: [0x23, 0x21]) else {
            return python
        }
        let output = try Subprocess.output(of: python, arguments: ["-c", "import sys; print(sys.executable)"])
        let executable = output.trimmingTrailingNewlines
        guard executable.hasPrefix("/") else {
            throw UserFacingError("\(python) did not report its interpreter (got \(executable.debugDescription))")
        }
        return executable
    }
}

/// pytest itself would refuse the invocation (a usage error found while determining its rootdir):
/// plain pytest runs it and explains, so pytestd adds nothing.
public struct PytestRejectsArguments: Error, CustomStringConvertible {
    public var description: String
}

public enum PathSearch {
    /// The first executable `name` in a PATH string, skipping `excluding` (the shim itself).
    public static func find(_ name: String, in path: String, excluding: String? = nil) -> String? {
        for directory in path.split(separator: ":", omittingEmptySubsequences: true) {
            let candidate = ProjectRoot.join(String(directory), name)
            guard FileSystem.isExecutableFile(candidate) else { continue }
            if let excluded = excluding, FileSystem.realPath(candidate) == excluded { continue }
            return candidate
        }
        return nil
    }
}

extension String {
    public var trimmingTrailingNewlines: String {
        var s = Substring(self)
        while s.last == "\n" || s.last == "\r" { s = s.dropLast() }
        return String(s)
    }
}
