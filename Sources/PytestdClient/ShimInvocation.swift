import Glibc
import PytestdCore
import PytestdPosix

/// What the drop-in `pytest` does: forward this invocation to the project's warm manager with the
/// caller's terminal (fds 0-2), argv, working directory and environment, relay signals, and exit
/// exactly as the run did. Whenever the daemon cannot serve, become the real pytest (exec): having
/// the shim on PATH must never be worse than not having it.
///
/// Shared by the `pytest` shim and `pytestd run`; they differ only in how they learn
/// `[tool.pytestd] python` (the shim does not link the TOML parser, see Package.swift).
public enum ShimInvocation {
    /// - Parameter arguments: argv as the user typed it, `pytest` first; bytes, forwarded unchanged.
    public static func main(arguments rawArguments: [Bytes], configuredPython: (ProjectRoot) throws -> String?) -> Never {
        // Decoded only to recognise pytestd's own options and paths.
        let arguments = rawArguments.map { String(decoding: $0, as: UTF8.self) }
        let environmentEntries = Subprocess.currentEnvironment()
        let environment = Subprocess.environmentDictionary(environmentEntries)
        let style: InvocationStyle = environment["PYTESTD_INVOCATION"] == "module" ? .module : .consoleScript
        // PYTESTD_INVOCATION speaks to the shim only; the run must not see it.
        let forwarded = environmentEntries.filter { !$0.starts(with: "PYTESTD_INVOCATION=".utf8) }
        // The shim and `pytestd run` resolve their own executable once: the real pytest is the next
        // `pytest` on PATH that is not the shim, and the manager lives beside it.
        let binDirectory = ProjectRoot.parent(of: FileSystem.currentExecutable() ?? "/")
        let shim = FileSystem.realPath(ProjectRoot.join(binDirectory, "pytest"))
        var real = RealPytest(
            script: PathSearch.find("pytest", in: environment["PATH"] ?? "", excluding: shim),
            interpreter: nil, style: style, arguments: Array(rawArguments.dropFirst()), environment: forwarded)

        if BypassRule.reason(argv: arguments, environment: environment) != nil { real.exec() }

        let cwdBytes = FileSystem.currentDirectoryBytes() ?? Bytes("/".utf8)
        let cwd = String(decoding: cwdBytes, as: UTF8.self)
        let identity: ProjectIdentity
        let client: ManagerClient
        do {
            identity = try ProjectIdentity.resolve(
                arguments: Array(arguments.dropFirst()), directory: cwd, environment: environment,
                realPytest: real.script, configuredPython: configuredPython)
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
            argv: rawArguments, workingDirectory: cwdBytes,
            environment: forwarded, style: style, umask: currentUmask(),
            scriptPath: Bytes((real.script ?? ProjectRoot.join(ProjectRoot.parent(of: identity.interpreter), "pytest")).utf8),
            managerIdentity: client.expectedIdentity)

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
