import Glibc
import PytestdCore
import PytestdPosix

/// The zygote as the manager sees it (see `Sources/Host/Zygote.swift`): a warm-up paused before its
/// first conftest, that clean hosts are forked from instead of started. It is a child of the host
/// that forked it, not of the manager; it ends when its channel closes.
final class ZygoteProcess {
    let pid: pid_t
    let channel: MessageChannel
    /// The conftest it paused in: edits to it are checked by the zygote at each fork.
    let conftest: String
    /// What the host that forked it was started with: a clean host meant to start otherwise cannot
    /// come from it.
    let environment: [Bytes]
    let warmSetFile: String?
    /// How far into its warm-up the host that forked it was (pauses aside): what a fork skips.
    let layerReachedAfter: Double
    /// What it loaded, once it reported: any change to that drops it.
    var freshness: Freshness?
    var pendingFork: PendingFork?
    var hostsForked = 0

    /// A `forkHost` not answered yet: the new host's channel, and the changes seen since (the host
    /// may read the files before or after them).
    struct PendingFork {
        var id: UInt64
        var channel: MessageChannel
        var warmSet: (source: LearnedWarmSet.Source, file: String?)
        var changes: [String] = []
    }

    init(pid: pid_t, channel: MessageChannel, conftest: String, from host: HostProcess) {
        self.pid = pid
        self.channel = channel
        self.conftest = conftest
        environment = host.environment
        warmSetFile = host.warmSetFile
        layerReachedAfter = host.warmingSeconds(at: monotonicSeconds())
    }

    /// Whether a clean host with this environment and warm set file may be forked from it now.
    func canFork(environment: [Bytes], warmSetFile: String?) -> Bool {
        freshness != nil && pendingFork == nil && !channel.isClosed
            && environment == self.environment && warmSetFile == self.warmSetFile
    }

    /// Whether `change` leaves it in a state a fresh process would not reach. Its own conftest's
    /// edits are the zygote's to judge, at the next fork; another conftest that appears or goes may be
    /// executed before its conftest.
    func isStaled(by change: SourceWatcher.Change, root: String) -> Bool {
        if change.path == conftest { return change.kind == .removed }
        if FileSystem.fileName(of: change.path) == "conftest.py" { return change.kind != .modified }
        return freshness?.isAffected(by: change, root: root) ?? true
    }
}
