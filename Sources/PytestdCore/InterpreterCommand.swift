/// An interpreter command line that the interpreter hook hands to pytestd (`sys.orig_argv`, bytes):
/// `python -m pytest ARGS` (or `-m py.test`), or an editor's pytest runner,
/// `python …/vscode_pytest/run_pytest_script.py ARGS`, or either of them under debugpy's command line
/// (an editor's "Debug Test"). Anything else — interpreter options before them (`-u`, `-X dev`, `-I`)
/// included, since they change the interpreter itself — is not served.
/// `python/pytestd/_interpreter_hook.py` applies the same rule before it hands a process over.
public indirect enum InterpreterCommand: Equatable {
    case pytestModule(arguments: [Bytes])
    /// The script path as the caller wrote it (it becomes `sys.argv[0]`).
    case runnerScript(path: Bytes, arguments: [Bytes])
    /// `python [-X frozen_modules=off] <…/debugpy | -m debugpy> OPTIONS TARGET ARGS`, the debuggee
    /// command line debugpy's launcher starts (`launcher/handlers.py`) and users type: `words` are the
    /// interpreter's arguments up to the target, which the run child gives to debugpy's own `__main__`.
    case underDebugpy(words: [Bytes], target: InterpreterCommand)

    /// The path suffix of VS Code's test runner (ms-python.python, `python_files/vscode_pytest/`).
    public static let runnerScriptSuffix = Bytes("vscode_pytest/run_pytest_script.py".utf8)

    public init?(argv: [Bytes]) {
        guard argv.count >= 2 else { return nil }
        if let (words, rest) = Self.debugpyWords(Array(argv.dropFirst())) {
            guard let target = Self.target(rest) else { return nil }
            self = .underDebugpy(words: words, target: target)
        } else if let target = Self.target(Array(argv.dropFirst())) {
            self = target
        } else {
            return nil
        }
    }

    private static func target(_ words: [Bytes]) -> InterpreterCommand? {
        guard let first = words.first else { return nil }
        if first == Bytes("-m".utf8) {
            guard words.count >= 2, [Bytes("pytest".utf8), Bytes("py.test".utf8)].contains(words[1]) else { return nil }
            return .pytestModule(arguments: Array(words.dropFirst(2)))
        }
        return isRunnerScript(first) ? .runnerScript(path: first, arguments: Array(words.dropFirst())) : nil
    }

    /// debugpy's switches (`server/cli.py`) before its target, with and without a value; any other
    /// switch (`--help`, `--pid`, `-c`) is left to the interpreter.
    private static let debugpySwitchesWithValue: Set<Bytes> = Set(
        ["--log-to", "--listen", "--connect", "--parent-session-pid", "--adapter-access-token"].map { Bytes($0.utf8) })
    private static let debugpyFlags: Set<Bytes> = Set(
        ["--log-to-stderr", "--wait-for-client", "--disable-sys-remote-exec", "--linux-attach-prefer-lldb"].map { Bytes($0.utf8) })

    /// Splits `[-X frozen_modules=off] (<dir>/debugpy | -m debugpy) OPTIONS…` from what follows.
    private static func debugpyWords(_ words: [Bytes]) -> ([Bytes], [Bytes])? {
        var index = 0
        if words.count >= 2, words[0] == Bytes("-X".utf8), words[1] == Bytes("frozen_modules=off".utf8) { index = 2 }
        guard index < words.count else { return nil }
        if words[index] == Bytes("-m".utf8), index + 1 < words.count, words[index + 1] == Bytes("debugpy".utf8) {
            index += 2
        } else if isDebugpyDirectory(words[index]) {
            index += 1
        } else {
            return nil
        }
        while index < words.count {
            let word = words[index]
            if debugpyFlags.contains(word) {
                index += 1
            } else if debugpySwitchesWithValue.contains(word) || word.starts(with: "--configure-".utf8) {
                index += 2
            } else {
                break
            }
        }
        guard index < words.count else { return nil }
        return (Array(words[..<index]), Array(words[index...]))
    }

    /// A path whose last component is `debugpy` (the package directory: `python <dir> …` runs its
    /// `__main__.py`).
    public static func isDebugpyDirectory(_ path: Bytes) -> Bool {
        let name = Bytes("debugpy".utf8)
        guard path.count >= name.count, Array(path.suffix(name.count)) == name else { return false }
        return path.count == name.count || path[path.count - name.count - 1] == UInt8(ascii: "/")
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
        case .underDebugpy(_, let target): return target.pytestArguments
        }
    }
}
