/// An interpreter command line that the interpreter hook hands to pytestd (`sys.orig_argv`, bytes):
/// `python -m pytest ARGS` (or `-m py.test`), or an editor's pytest runner,
/// `python …/vscode_pytest/run_pytest_script.py ARGS`. Anything else — interpreter options before
/// them (`-u`, `-X dev`, `-I`) included, since they change the interpreter itself — is not served.
/// `python/pytestd/_interpreter_hook.py` applies the same rule before it hands a process over.
public enum InterpreterCommand: Equatable {
    case pytestModule(arguments: [Bytes])
    /// The script path as the caller wrote it (it becomes `sys.argv[0]`).
    case runnerScript(path: Bytes, arguments: [Bytes])

    /// The path suffix of VS Code's test runner (ms-python.python, `python_files/vscode_pytest/`).
    public static let runnerScriptSuffix = Bytes("vscode_pytest/run_pytest_script.py".utf8)

    public init?(argv: [Bytes]) {
        guard argv.count >= 2 else { return nil }
        let first = argv[1]
        if first == Bytes("-m".utf8) {
            guard argv.count >= 3, [Bytes("pytest".utf8), Bytes("py.test".utf8)].contains(argv[2]) else { return nil }
            self = .pytestModule(arguments: Array(argv.dropFirst(3)))
        } else if Self.isRunnerScript(first) {
            self = .runnerScript(path: first, arguments: Array(argv.dropFirst(2)))
        } else {
            return nil
        }
    }

    /// `…/vscode_pytest/run_pytest_script.py`, the last two path components exactly.
    public static func isRunnerScript(_ path: Bytes) -> Bool {
        guard path.count >= runnerScriptSuffix.count, Array(path.suffix(runnerScriptSuffix.count)) == runnerScriptSuffix
        else { return false }
        return path.count == runnerScriptSuffix.count || path[path.count - runnerScriptSuffix.count - 1] == UInt8(ascii: "/")
    }

    /// The arguments pytest receives (the runner adds the node ids of its ids file, which only the
    /// run reads).
    public var pytestArguments: [Bytes] {
        switch self {
        case .pytestModule(let arguments), .runnerScript(_, let arguments): return arguments
        }
    }
}
