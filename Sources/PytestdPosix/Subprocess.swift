import Glibc
import PytestdCore

/// Starting other programs with `posix_spawn` (never `fork` from a process that may have threads,
/// never Foundation.Process, which starts some).
public enum Subprocess {
    public struct Options {
        /// `NAME=value` entries, passed to the child byte for byte.
        public var environment: [Bytes]
        /// Descriptors for the child's 0, 1 and 2; nil means /dev/null.
        public var stdin: Int32? = nil
        public var stdout: Int32? = nil
        public var stderr: Int32? = nil
        /// Extra descriptors: (parent's fd, number in the child). Inherited without close-on-exec.
        public var inherited: [(Int32, Int32)] = []
        /// Start a new session: no controlling terminal, not in the caller's process group.
        public var newSession = false

        public init(environment: [Bytes]) { self.environment = environment }
    }

    /// Spawns `path` with `arguments` (argv[0] excluded) and returns its pid.
    public static func spawn(_ path: String, arguments: [String], options: Options) throws -> pid_t {
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        let streams = [options.stdin, options.stdout, options.stderr]
        for (target, source) in streams.enumerated() {
            if let source {
                posix_spawn_file_actions_adddup2(&actions, source, Int32(target))
            } else {
                posix_spawn_file_actions_addopen(&actions, Int32(target), "/dev/null", target == 0 ? O_RDONLY : O_WRONLY, 0)
            }
        }
        // dup2 onto itself would keep close-on-exec, so route each extra fd through a fresh high number.
        var staged: [Int32] = []
        defer { staged.forEach { close($0) } }
        for (source, target) in options.inherited {
            let high = fcntl(source, F_DUPFD_CLOEXEC, 100)
            guard high >= 0 else { throw PosixError("duplicate descriptor \(source)") }
            staged.append(high)
            posix_spawn_file_actions_adddup2(&actions, high, target)
        }
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        var defaultSignals = sigset_t()
        sigfillset(&defaultSignals)
        posix_spawnattr_setsigdefault(&attributes, &defaultSignals)
        var noMask = sigset_t()
        sigemptyset(&noMask)
        posix_spawnattr_setsigmask(&attributes, &noMask)
        let setSession: Int32 = 0x80  // POSIX_SPAWN_SETSID (glibc ≥ 2.26), not exported to Swift.
        let flags = Int32(POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK) | (options.newSession ? setSession : 0)
        posix_spawnattr_setflags(&attributes, Int16(flags))

        let argv = ([path] + arguments).map { strdup($0) } + [nil]
        let envp = options.environment.map(CStrings.copy) + [nil]
        defer {
            argv.forEach { free($0) }
            envp.forEach { free($0) }
        }
        var pid: pid_t = 0
        let rc = posix_spawn(&pid, path, &actions, &attributes, argv, envp)
        guard rc == 0 else { throw PosixError("start \(path)", code: rc) }
        return pid
    }

    /// Runs a program to completion and returns its standard output; throws if it fails.
    public static func output(of path: String, arguments: [String], environment: [Bytes]? = nil) throws -> String {
        var pipeFds: [Int32] = [0, 0]
        guard pipe(&pipeFds) == 0 else { throw PosixError("pipe") }
        pipeFds.forEach { _ = fcntl($0, F_SETFD, FD_CLOEXEC) }
        var options = Options(environment: environment ?? currentEnvironment())
        options.stdout = pipeFds[1]
        let pid: pid_t
        do {
            pid = try spawn(path, arguments: arguments, options: options)
        } catch {
            close(pipeFds[0])
            close(pipeFds[1])
            throw error
        }
        close(pipeFds[1])
        var output: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 4096)
        while true {
            let n = chunk.withUnsafeMutableBytes { read(pipeFds[0], $0.baseAddress, $0.count) }
            if n < 0 && errno == EINTR { continue }
            if n <= 0 { break }
            output.append(contentsOf: chunk[0..<n])
        }
        close(pipeFds[0])
        let status = try waitForExit(pid)
        guard status == 0 else {
            throw UserFacingError("\(path) \(arguments.joined(separator: " ")) failed (wait status \(status))")
        }
        return String(decoding: output, as: UTF8.self)
    }

    public static func waitForExit(_ pid: pid_t) throws -> Int32 {
        var status: Int32 = 0
        try retryingOnInterrupt("wait for \(pid)") { waitpid(pid, &status, 0) }
        return status
    }

    /// This process's environment as it is: values need not be UTF-8, and runs must get them unchanged.
    public static func currentEnvironment() -> [Bytes] {
        var result: [Bytes] = []
        var pointer = environ
        while let entry = pointer.pointee {
            result.append(CStrings.bytes(entry))
            pointer += 1
        }
        return result
    }

    /// The environment as a dictionary for looking up pytestd's own settings (PATH, VIRTUAL_ENV, …),
    /// decoded as UTF-8; the first entry of a duplicated name wins, as in getenv.
    public static func environmentDictionary(_ entries: [Bytes]) -> [String: String] {
        var result: [String: String] = [:]
        for entry in entries {
            guard let eq = entry.firstIndex(of: UInt8(ascii: "=")) else { continue }
            let name = String(decoding: entry[..<eq], as: UTF8.self)
            if result[name] == nil { result[name] = String(decoding: entry[(eq + 1)...], as: UTF8.self) }
        }
        return result
    }
}
