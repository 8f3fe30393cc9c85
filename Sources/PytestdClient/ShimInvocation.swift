import Glibc
import PytestdCore
import PytestdPosix

/// What the drop-in `pytest` does: forward this invocation to the project's warm manager with the
/// caller's terminal (fds 0-2), argv, working directory and environment, relay signals, and exit
/// exactly as the run did. Whenever the daemon cannot serve, become the real pytest (exec): having
/// the shim on PATH must never be worse than not having it.
///
/// An interpreter hooked by `pytestd install-hook` execs the shim as `python -m pytest ARGS` or an
/// editor's runner script (see `InterpreterHook`): the run is then that interpreter command, and
/// the fallback is that command unchanged.
///
/// Shared by the `pytest` shim and `pytestd run`; they differ only in how they learn
/// `[tool.pytestd] python` (the shim does not link the TOML parser, see Package.swift).
public enum ShimInvocation {
    /// - Parameter arguments: argv as the user typed it, `pytest` first; bytes, forwarded unchanged.
    public static func main(arguments rawArguments: [Bytes], configuredPython: (ProjectRoot) throws -> String?) -> Never {
        let environmentEntries = Subprocess.currentEnvironment()
        let environment = Subprocess.environmentDictionary(environmentEntries)
        // An interpreter hooked by `pytestd install-hook` hands over its own argv (see InterpreterHook).
        let hookedPython = environment[InterpreterHook.interpreterVariable].flatMap { $0.isEmpty ? nil : $0 }
        let hooked = hookedPython.map { (python: $0, command: InterpreterCommand(argv: rawArguments)) }
        // pytest's argv: the interpreter's name stands for argv[0] of a hooked interpreter.
        let pytestArguments = hooked?.command.map { [rawArguments[0]] + $0.pytestArguments } ?? rawArguments
        // Decoded only to recognise pytestd's own options and paths.
        let arguments = pytestArguments.map { String(decoding: $0, as: UTF8.self) }
        var style: InvocationStyle = environment["PYTESTD_INVOCATION"] == "module" ? .module : .consoleScript
        var runnerScript: Bytes?
        var debugpyWords: [Bytes] = []
        var target = hooked?.command ?? nil
        if case .underDebugpy(let words, let debugged)? = target { (debugpyWords, target) = (words, debugged) }
        switch target {
        case .pytestModule?: style = .module
        case .runnerScript(let path, _)?: (style, runnerScript) = (.consoleScript, path)
        case .underDebugpy?, nil: break
        }
        // PYTESTD_INVOCATION and the hook's variable speak to the shim only; the run must not see them.
        let forwarded = environmentEntries.filter {
            !$0.starts(with: "PYTESTD_INVOCATION=".utf8) && !$0.starts(with: (InterpreterHook.interpreterVariable + "=").utf8)
        }
        // The shim and `pytestd run` resolve their own executable once: the real pytest is the next
        // `pytest` on PATH that is not the shim, and the manager lives beside it.
        let binDirectory = ProjectRoot.parent(of: FileSystem.currentExecutable() ?? "/")
        let shim = FileSystem.realPath(ProjectRoot.join(binDirectory, "pytest"))
        var real = RealPytest(
            script: PathSearch.find("pytest", in: environment["PATH"] ?? "", excluding: shim),
            interpreter: nil, style: style, arguments: Array(pytestArguments.dropFirst()), environment: forwarded)
        if let hooked {
            real.hookedCommand = (hooked.python, rawArguments)
            if hooked.command == nil { real.exec() }
        }

        if BypassRule.reason(argv: arguments, environment: environment) != nil { real.exec() }

        let cwdBytes = FileSystem.currentDirectoryBytes() ?? Bytes("/".utf8)
        let cwd = String(decoding: cwdBytes, as: UTF8.self)
        let identity: ProjectIdentity
        let client: ManagerClient
        do {
            identity = try ProjectIdentity.resolve(
                arguments: Array(arguments.dropFirst()), directory: cwd, environment: environment,
                realPytest: real.script, startedInterpreter: hookedPython, configuredPython: configuredPython)
            real.interpreter = identity.interpreter
            client = ManagerClient(
                identity: identity, runtime: try RuntimeDirectory.resolve(environment: environment),
                managerExecutable: try ManagerClient.managerExecutable(in: binDirectory))
        } catch is PytestRejectsArguments {
            real.exec()
        } catch {
            real.exec(note: "\(error)")
        }

        let request = RunRequest(
            argv: pytestArguments, workingDirectory: cwdBytes,
            environment: forwarded, style: style, umask: currentUmask(),
            scriptPath: runnerScript
                ?? Bytes((real.script ?? ProjectRoot.join(ProjectRoot.parent(of: identity.interpreter), "pytest")).utf8),
            managerIdentity: client.expectedIdentity, kind: runnerScript == nil ? .pytest : .script,
            debugpyWords: debugpyWords)

        switch RunSession(client: client, request: request, environment: environmentEntries).run() {
        case .finished(let outcome, let childSeconds):
            if let timing = environment["PYTESTD_TIMING"], !timing.isEmpty, timing != "0" {
                writeStandardError("pytestd: run child \(Int((childSeconds * 1e6).rounded())) µs\n")
            }
            ExitStatus.reproduce(outcome)
        case .bypass:
            real.exec()
        case .fallback(let reason):
            real.exec(note: reason)
        case .plain(let reason, let channel, let ignoredSignals, let signalPipe):
            PlainRun(real: real, channel: channel, ignoredSignals: ignoredSignals, signalPipe: signalPipe).run(note: reason)
        case .failed(let message):
            ExitStatus.fail(message)
        }
    }
}

private func currentUmask() -> UInt32 {
    let mask = umask(0)
    umask(mask)
    return UInt32(mask)
}
