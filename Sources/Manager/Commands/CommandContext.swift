import Glibc
import PytestdCore
import PytestdPosix
import PytestdSettings

/// What every CLI verb starts from: the current project, interpreter and their manager.
struct CommandContext {
    let environment: [Bytes]
    let client: ManagerClient

    /// - Parameter pytestArguments: the project a `pytest` with these arguments would use (the verbs
    ///   other than `project` pass none: the working directory decides, as for a bare `pytest`).
    init(pytestArguments: [String] = []) throws {
        environment = Subprocess.currentEnvironment()
        let variables = Subprocess.environmentDictionary(environment)
        let shim = ProjectRoot.join(ProjectRoot.parent(of: FileSystem.currentExecutable() ?? "/"), "pytest")
        let realPytest = PathSearch.find("pytest", in: variables["PATH"] ?? "", excluding: FileSystem.realPath(shim))
        let identity = try ProjectIdentity.resolve(
            arguments: pytestArguments, directory: FileSystem.currentDirectory() ?? "/", environment: variables, realPytest: realPytest,
            configuredPython: { try ProjectSettings.load(root: $0.path).python })
        client = ManagerClient(
            identity: identity, runtime: try RuntimeDirectory.resolve(environment: variables),
            managerExecutable: FileSystem.currentExecutable() ?? "pytestd")
    }

    /// Sends one control command and returns the single reply.
    func send(_ command: ControlCommand, to channel: MessageChannel) throws -> Message {
        try channel.send(.control(command, managerIdentity: client.expectedIdentity))
        switch try channel.receive() {
        case .message(let reply, _): return reply
        default: throw UserFacingError("the manager closed the connection without answering")
        }
    }

    /// Sends a command to the manager, starting it (or replacing one of another build) if needed.
    func sendStarting(_ command: ControlCommand) throws -> Message {
        while true {
            let reply = try send(command, to: try client.connect(environment: environment))
            guard reply == .superseded else { return reply }
            try client.waitUntilStopped()
        }
    }

    /// `key: value` lines from a running manager, or nil when none runs.
    func statusFields() throws -> [StatusField]? {
        guard let channel = try client.connectIfRunning() else { return nil }
        guard case .status(let fields) = try send(.status, to: channel) else {
            throw UserFacingError("the manager answered the status request unexpectedly")
        }
        return fields
    }

    /// `pytestd status --json` from a running manager, or nil when none runs.
    func statusDocument() throws -> String? {
        guard let channel = try client.connectIfRunning() else { return nil }
        guard case .statusDocument(let json) = try send(.statusDocument, to: channel) else {
            throw UserFacingError("the manager answered the status request unexpectedly (another pytestd build? `pytestd stop`)")
        }
        return json
    }
}

func printFields(_ fields: [StatusField]) {
    let width = fields.map(\.key.count).max() ?? 0
    for field in fields {
        print(field.key + ":" + String(repeating: " ", count: width - field.key.count + 1) + field.value)
    }
}

func printError(_ text: String) {
    let bytes = Array("pytestd: \(text)\n".utf8)
    _ = bytes.withUnsafeBytes { write(2, $0.baseAddress, $0.count) }
}
