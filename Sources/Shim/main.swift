// The drop-in `pytest`: forwards one invocation to the project's warm pytestd manager together with
// the caller's terminal (fds 0-2), argv, working directory and environment, relays signals, and
// exits exactly as the run did. Whenever the daemon cannot serve, it becomes the real pytest (exec),
// so having it on PATH is never worse than not having it.
import Glibc
import PytestdCore
import PytestdPosix

let arguments = CommandLine.arguments
let environmentEntries = Subprocess.currentEnvironment()
let environment = Subprocess.environmentDictionary(environmentEntries)
let style: InvocationStyle = environment["PYTESTD_INVOCATION"] == "module" ? .module : .consoleScript
// PYTESTD_INVOCATION speaks to the shim only; the run must not see it.
let forwardedEnvironment = environmentEntries.filter { !$0.hasPrefix("PYTESTD_INVOCATION=") }
var real = RealPytest(
    script: PathSearch.find("pytest", in: environment["PATH"] ?? "", excluding: FileSystem.currentExecutable()),
    interpreter: nil, style: style, environment: forwardedEnvironment)

if BypassRule.reason(argv: arguments, environment: environment) != nil { real.exec() }

let cwd = FileSystem.currentDirectory() ?? "/"
let identity: ProjectIdentity
let client: ManagerClient
do {
    identity = try ProjectIdentity.resolve(directory: cwd, environment: environment, realPytest: real.script)
    real.interpreter = identity.interpreter
    let extra = identity.settings.bypassOptions
    if BypassRule.reason(argv: arguments, environment: environment, extraRoutedOptions: extra) != nil { real.exec() }
    client = ManagerClient(
        identity: identity, runtime: try RuntimeDirectory.resolve(environment: environment),
        managerExecutable: try ManagerClient.siblingManagerExecutable())
} catch {
    real.exec(note: "\(error)")
}

let request = RunRequest(
    argv: arguments.map { Bytes($0.utf8) }, workingDirectory: Bytes(cwd.utf8),
    environment: forwardedEnvironment.map { Bytes($0.utf8) }, style: style,
    scriptPath: Bytes((real.script ?? ProjectRoot.join(ProjectRoot.parent(of: identity.interpreter), "pytest")).utf8),
    managerIdentity: client.expectedIdentity)

switch RunSession(client: client, request: request, environment: environmentEntries).run() {
case .finished(let outcome):
    ExitStatus.reproduce(outcome)
case .fallback(let reason):
    real.exec(note: reason)
case .failed(let message):
    ExitStatus.fail(message)
}
