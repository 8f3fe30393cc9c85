import ArgumentParser
import CPosix
import Glibc
import PytestdCore
import PytestdPosix
import PytestdSettings

/// The daemon itself; started by the shim or `pytestd start`, not by hand.
struct Serve: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run the manager daemon in the foreground (started automatically).",
        shouldDisplay: false)

    @Option(help: "Project root (pytest's rootdir).") var root: String
    @Option(help: "pytest's configuration file, if any.") var configFile: String?
    @Option(help: "--confcutdir, if the invocations give it.") var confcutdir: String?
    @Option(help: "The interpreter, as the venv names it.") var python: String
    @Option(help: "Why this interpreter was chosen.") var pythonSource = "command line"

    func run() throws {
        // Whoever started us (a shim inside `out=$(pytest)`, a test harness) may have leaked pipes to
        // us; holding them would keep its reader waiting for as long as the daemon lives.
        cposix_close_from(3)
        let environment = Subprocess.currentEnvironment()
        let runtime = try RuntimeDirectory.resolve(environment: Subprocess.environmentDictionary(environment))
        let identity = ProjectIdentity(
            root: ProjectRoot(path: root, configFile: configFile, confcutdir: confcutdir), interpreter: python,
            interpreterSource: pythonSource)
        let files = runtime.files(for: identity)

        let log = open(files.log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0o600)
        guard log >= 0 else { throw PosixError("open \(files.log)") }
        dup2(log, 1)
        dup2(log, 2)
        chdir("/")

        guard let lock = try acquireLock(files) else { return }
        let settings: ProjectSettings
        do {
            settings = try ProjectSettings.load(root: root)
        } catch {
            ManagerLog.write("cannot start: \(error)")
            throw error
        }
        let server = try ManagerServer(
            identity: identity, settings: settings, files: files, environment: environment, logFd: log,
            lockFd: lock)
        server.run()
    }

    /// One manager per socket: the lock is held until the manager stops accepting (a superseded one
    /// lets go at once, while it finishes its runs). Waits for a manager still starting, unless another
    /// one is serving (nil: nothing to do); a lock held for long by one that never listens is an error.
    private func acquireLock(_ files: ManagerFiles) throws -> Int32? {
        let fd = open(files.lock, O_RDWR | O_CREAT | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw PosixError("open \(files.lock)") }
        let deadline = monotonicSeconds() + 15
        while flock(fd, LOCK_EX | LOCK_NB) != 0 {
            if let channel = try? UnixSocket.connect(to: files.socket) {
                channel.close()
                close(fd)
                return nil
            }
            if monotonicSeconds() > deadline {
                ManagerLog.write("another manager holds \(files.lock) and does not listen; giving up")
                throw UserFacingError("another pytestd manager holds \(files.lock) and does not listen")
            }
            usleep(20_000)
        }
        return fd
    }
}
