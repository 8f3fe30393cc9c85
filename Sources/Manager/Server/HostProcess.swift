import Glibc
import PytestdCore
import PytestdPosix

/// One `pytestd-host` as the manager sees it: the process, its control channel and its state.
final class HostProcess {
    enum State {
        case warming
        case ready(HostReport)
    }

    let pid: pid_t
    let channel: MessageChannel
    let generation: Int
    /// The environment the template is imported under.
    let environment: [Bytes]
    /// For a reloaded template: the clean generation it was forked from, and what it reloads.
    var reloadedFrom: (generation: Int, order: ReloadOrder)?
    /// For a reloaded template: the id of the newest change set it applies.
    var changeSet = 0
    let startedAt = monotonicSeconds()
    /// What a clean host was told to import; nil for a reloaded template.
    var warmSet: LearnedWarmSet.Source?
    /// The warm set file a clean host reads (see `LearnedWarmSet.nextHostSource`).
    var warmSetFile: String?
    /// A clean host forked from the zygote rather than started.
    var forkedFromZygote = false
    var state = State.warming
    var freshness = Freshness()
    var environmentDependencies = EnvironmentDependencies()
    /// Changes seen while warming: the template may have read the old or the new content.
    var changesWhileWarming: [String] = []
    /// Why this host may no longer take runs (it finishes the ones it has).
    var retiredBecause: String?
    /// Runs sent to this host that it has not reported finished: what it may report on, by id.
    var runIds: Set<UInt64> = []
    var runsInFlight: Int { runIds.count }
    var runsServed = 0
    /// The host said it dies with the manager even when stopped (`warmupStarted`): it may be paused.
    var pausable = false
    /// Since when the warm-up is stopped (SIGSTOP) while plain runs go, and how long it was before.
    var pausedAt: Double?
    var pausedSeconds = 0.0
    /// When the warm-up last resumed: a frame it was sending when stopped is not stalled.
    var resumedAt = 0.0
    /// Reload orders sent to this (pristine) host whose reloading child has not reported yet, by id, with the changes seen since (the child may have read files before or after them). Kept
    /// per host: a host retired with orders outstanding must not hand its children to the next one.
    var pendingReloads: [PendingReload] = []

    struct PendingReload {
        var id: UInt64
        var order: ReloadOrder
        var changeSet: Int
        var changes: [String] = []
        var abandoned = false
    }

    init(pid: pid_t, channel: MessageChannel, generation: Int, environment: [Bytes]) {
        self.pid = pid
        self.channel = channel
        self.generation = generation
        self.environment = environment
    }

    var isReady: Bool {
        if case .ready = state { return true }
        return false
    }

    /// Starts a host for the project; its end of a socket pair becomes fd 3.
    static func spawn(
        generation: Int, installation: Installation, python: PythonInstallation, identity: ProjectIdentity,
        preload: [String], patches: [String], patchInPlace: Bool, environment: [Bytes], logFd: Int32,
        warmSet: (source: LearnedWarmSet.Source, file: String?)
    ) throws -> HostProcess {
        let (ours, theirs) = try UnixSocket.pair()
        defer { close(theirs) }
        var arguments = [
            "--control-fd", "3", "--manager-pid", "\(getpid())", "--libpython", python.libpython,
            "--program", identity.interpreter, "--root", identity.root.path,
            "--package-dir", installation.pythonPackageDirectory, "--patch-in-place", patchInPlace ? "yes" : "no",
            "--zygote", "yes",
        ]
        for path in preload { arguments += ["--preload", path] }
        if let file = warmSet.file { arguments += ["--warm-set", file] }
        for argument in identity.root.warmupArguments { arguments += ["--warmup-arg", argument] }
        for directory in [installation.builtInPatches] + patches.map({ ProjectRoot.join(identity.root.path, $0) }) {
            arguments += ["--patches", directory]
        }
        var options = Subprocess.Options(environment: environment)
        options.stdout = logFd
        options.stderr = logFd
        options.inherited = [(theirs, 3)]
        let pid: pid_t
        do {
            pid = try Subprocess.spawn(installation.hostExecutable, arguments: arguments, options: options)
        } catch {
            close(ours)
            throw error
        }
        let channel = MessageChannel(fd: ours)
        channel.setNonBlocking()
        let host = HostProcess(pid: pid, channel: channel, generation: generation, environment: environment)
        host.warmSet = warmSet.source
        host.warmSetFile = warmSet.file
        return host
    }

    /// The environment a template is built with, from a caller's: without the interpreter start-up
    /// variables, which runs either never have (they go to plain pytest) or apply per run, and without
    /// pytestd's own variables. Also what a run's environment is compared in.
    static func templateEnvironment(from callerEnvironment: [Bytes]) -> [Bytes] {
        let excluded = Set(BypassRule.interpreterStartupVariables.union(BypassRule.emulatedVariables).map { Bytes($0.utf8) })
        return callerEnvironment.filter { entry in
            let name = Bytes(entry.prefix { $0 != UInt8(ascii: "=") })
            return !excluded.contains(name) && !name.starts(with: "PYTESTD_".utf8)
        }
    }

    /// Resident memory of the host process (the template), from /proc.
    var residentMemoryKiB: Int? { ProcessHealth.residentKiB(pid) }
}
