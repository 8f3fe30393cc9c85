/// How the user started pytest. The two differ in `sys.argv[0]` and `sys.path[0]`, and tests can see both.
public enum InvocationStyle: UInt8, Equatable, Sendable {
    /// The `pytest` console script: `sys.path[0]` is the script's directory.
    case consoleScript = 0
    /// `python -m pytest`: `sys.path[0]` is the working directory.
    case module = 1
}

/// What a run executes once `sys.argv` and `sys.path` are set.
public enum RunKind: UInt8, Equatable, Sendable {
    /// pytest's own entry point (`pytest ARGS`, `python -m pytest ARGS`).
    case pytest = 0
    /// `python SCRIPT ARGS`: the script at `scriptPath` as `__main__` (an editor's pytest runner,
    /// handed over by the interpreter hook).
    case script = 1
}

/// Everything a run needs from the caller, apart from its stdin/stdout/stderr, which travel beside
/// the message as file descriptors. Byte strings, not `String`: argv, paths and environment values
/// need not be UTF-8, and pytest must receive them unchanged.
public struct RunRequest: Equatable, Sendable {
    public var argv: [Bytes]
    public var workingDirectory: Bytes
    /// The complete environment as `NAME=value` entries; it replaces the host's, never merges.
    public var environment: [Bytes]
    public var style: InvocationStyle
    /// The caller's file-creation mask: a process attribute that no descriptor carries.
    public var umask: UInt32
    /// The real `pytest` script the shell would have run, or the script of a `.script` run, as the
    /// caller named it; becomes `sys.argv[0]` for console runs.
    public var scriptPath: Bytes
    /// Identifies the manager build the shim expects; a mismatch restarts the manager.
    public var managerIdentity: String
    public var kind: RunKind
    /// Non-empty when the run was started under debugpy's command line (`InterpreterCommand.underDebugpy`):
    /// the interpreter's words up to the target, from which the run child starts debugpy, which then
    /// runs the target.
    public var debugpyWords: [Bytes]

    public init(
        argv: [Bytes], workingDirectory: Bytes, environment: [Bytes], style: InvocationStyle, umask: UInt32,
        scriptPath: Bytes, managerIdentity: String, kind: RunKind = .pytest, debugpyWords: [Bytes] = []
    ) {
        self.argv = argv
        self.workingDirectory = workingDirectory
        self.environment = environment
        self.style = style
        self.umask = umask
        self.scriptPath = scriptPath
        self.managerIdentity = managerIdentity
        self.kind = kind
        self.debugpyWords = debugpyWords
    }

    /// The number of descriptors that accompany a run: the caller's stdin, stdout and stderr.
    public static let descriptorCount = 3
}

/// How a run ended, as the shim must reproduce it: an exit code, or death by a signal.
public enum RunOutcome: Equatable, Sendable {
    case exited(Int32)
    case signaled(Int32)

    /// Decodes a `waitpid` status (Linux layout); nil for stopped/continued notifications.
    public init?(waitStatus: Int32) {
        let signal = waitStatus & 0x7f
        if signal == 0 {
            self = .exited((waitStatus >> 8) & 0xff)
        } else if signal != 0x7f && waitStatus != 0xffff {
            self = .signaled(signal)
        } else {
            return nil
        }
    }
}
