import Glibc
import PytestdCore

/// The caller's side of the manager socket, shared by the `pytest` shim and the `pytestd` CLI:
/// find the project's manager, start it if it is not running, and replace it if it is another build.
public struct ManagerClient {
    public let identity: ProjectIdentity
    public let files: ManagerFiles
    /// The `pytestd` executable installed beside the caller.
    public let managerExecutable: String

    public init(identity: ProjectIdentity, runtime: RuntimeDirectory, managerExecutable: String) {
        self.identity = identity
        self.files = runtime.files(for: identity)
        self.managerExecutable = managerExecutable
    }

    /// The `pytestd` binary in `binDirectory` (where the shim is installed).
    public static func managerExecutable(in binDirectory: String) throws -> String {
        let path = ProjectRoot.join(binDirectory, "pytestd")
        guard FileSystem.isExecutableFile(path) else {
            throw UserFacingError("\(path) is missing: install pytest and pytestd side by side")
        }
        return path
    }

    /// Identifies a manager build: the executable file's device, inode and modification time.
    /// A rebuilt or upgraded `pytestd` gets a new identity, so running managers of the old build
    /// are replaced instead of serving a newer shim with older code.
    public static func buildIdentity(ofExecutable path: String) -> String {
        FileSystem.fingerprint(path).map { "\($0.device):\($0.inode):\($0.modified.tv_sec).\($0.modified.tv_nsec)" } ?? "unknown"
    }

    public var expectedIdentity: String { Self.buildIdentity(ofExecutable: managerExecutable) }

    /// A connection to the running manager, or nil when none is listening.
    public func connectIfRunning() throws -> MessageChannel? {
        do {
            return try UnixSocket.connect(to: files.socket)
        } catch let error as PosixError where [ENOENT, ECONNREFUSED].contains(error.code) {
            return nil
        }
    }

    /// A connection to the manager, starting one (detached, in its own session, holding none of the
    /// caller's descriptors) if needed. Waits up to `timeout` seconds for it to listen.
    public func connect(environment: [Bytes], timeout: Double = 15) throws -> MessageChannel {
        if let channel = try connectIfRunning() { return channel }
        let child = try startManager(environment: environment)
        let deadline = monotonicSeconds() + timeout
        var delay: useconds_t = 1000
        while monotonicSeconds() < deadline {
            if let channel = try connectIfRunning() { return channel }
            var status: Int32 = 0
            if waitpid(child, &status, WNOHANG) == child, status != 0 {
                // Lost a start race to another manager, or failed: either way, the socket decides.
                if let channel = try connectIfRunning() { return channel }
                throw UserFacingError("the pytestd manager failed to start (exit status \(status >> 8)); see \(files.log)")
            }
            usleep(delay)
            delay = min(delay * 2, 50_000)
        }
        throw UserFacingError("the pytestd manager did not start within \(Int(timeout)) s; see \(files.log)")
    }

    /// Waits for a superseded or stopping manager to let go of its socket.
    public func waitUntilStopped(timeout: Double = 10) throws {
        let deadline = monotonicSeconds() + timeout
        while monotonicSeconds() < deadline {
            guard let channel = try connectIfRunning() else { return }
            channel.close()
            usleep(10_000)
        }
        throw UserFacingError("the pytestd manager at \(files.socket) did not stop within \(Int(timeout)) s")
    }

    private func startManager(environment: [Bytes]) throws -> pid_t {
        var options = Subprocess.Options(environment: environment)
        options.newSession = true
        var arguments = [
            "serve", "--root", identity.root.path, "--python", identity.interpreter,
            "--python-source", identity.interpreterSource,
        ]
        if let file = identity.root.configFile { arguments += ["--config-file", file] }
        if let directory = identity.root.confcutdir { arguments += ["--confcutdir", directory] }
        return try Subprocess.spawn(managerExecutable, arguments: arguments, options: options)
    }
}

public func monotonicSeconds() -> Double {
    var ts = timespec()
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
}
