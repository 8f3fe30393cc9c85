import Glibc
import PytestdCore
import PytestdPosix

/// Becoming the real pytest: what the shell would have run had the shim not been on PATH.
struct RealPytest {
    /// The next `pytest` on PATH after the shim.
    var script: String?
    /// The project's interpreter, once known: `python -m pytest` when there is no script.
    var interpreter: String?
    var style: InvocationStyle
    /// pytest's arguments (argv without argv[0]), as the caller passed them.
    var arguments: [Bytes]
    var environment: [Bytes]
    /// The interpreter command the interpreter hook handed over (executable, argv): it runs unchanged
    /// instead of pytest, marked so that the hook lets it pass (see `InterpreterHook`).
    var hookedCommand: (executable: String, argv: [Bytes])?

    /// Replaces this process with the real pytest. `note`, when given, is the one line that says why
    /// the daemon did not serve; deliberate bypasses (PYTESTD_DISABLE, routed options) stay silent.
    func exec(note: String? = nil) -> Never {
        if let note { writeStandardError("pytestd: \(note); running plain pytest\n") }
        if let (executable, argv) = hookedCommand {
            execve(executable, argv.map(CStrings.copy) + [nil],
                   (environment + [InterpreterHook.passMarker]).map(CStrings.copy) + [nil])
            writeStandardError("python: cannot run \(executable): \(String(cString: strerror(errno)))\n")
            exit(127)
        }
        let program: [String]
        if style == .consoleScript, let script {
            program = [script]
        } else if let python = interpreter
                    ?? PathSearch.find("python3", in: getenv("PATH").map { String(cString: $0) } ?? "") {
            program = [python, "-m", "pytest"]
        } else {
            writeStandardError("pytest: command not found (no pytest or python3 on PATH)\n")
            exit(127)
        }
        let cArgv = (program.map { Bytes($0.utf8) } + arguments).map(CStrings.copy) + [nil]
        let cEnv = environment.map(CStrings.copy) + [nil]
        execve(program[0], cArgv, cEnv)
        writeStandardError("pytest: cannot run \(program[0]): \(String(cString: strerror(errno)))\n")
        exit(127)
    }
}

func writeStandardError(_ text: String) {
    FileSystem.writeAll(2, Array(text.utf8))
}
