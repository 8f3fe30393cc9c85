import Glibc
import PytestdCore
import PytestdPosix

/// A shim or CLI connected to the manager, and where its request stands.
final class ClientConnection {
    enum State {
        /// Connected; no request read yet.
        case idle
        /// A run waiting for a fresh host; owns the caller's three descriptors until dispatch.
        case queued(RunRequest, descriptors: [Int32], since: Double)
        case running(host: HostProcess, runId: UInt64, pid: pid_t?)
        /// `pytestd start`: waiting for a ready host.
        case waitingUntilReady
        /// The shim runs plain pytest (`runPlain`) and reports its duration when it ends.
        case plainRun(RunTimings.Invocation, since: Double)
    }

    let channel: MessageChannel
    var state = State.idle
    /// Signals that arrived before the run's pid was known.
    var pendingSignals: [Int32] = []
    /// The caller hung up before its run reported a pid: kill the run as soon as it does.
    var abandoned = false
    /// The run's invocation, whose warm run time the manager learns.
    var invocation: RunTimings.Invocation?

    /// The largest request a client may send: a run's argv and environment, which the kernel limits to a
    /// quarter of the stack limit (2 MiB by default). Beyond it the client is refused, not buffered.
    static let maximumRequestLength = 16 << 20

    init(channel: MessageChannel) {
        self.channel = channel
        channel.maximumFrameLength = Self.maximumRequestLength
    }

    /// Writes a one-line note on the caller's terminal (only a terminal: pipes and files get
    /// exactly what plain pytest would write). Never waits: a terminal paused with Ctrl-S or never
    /// read would stall the manager's one thread, so a note that does not fit now is dropped. The
    /// terminal is opened anew for that: O_NONBLOCK on the caller's own descriptor would change it
    /// for the caller's shell too. Returns whether the note was written.
    @discardableResult
    func noteOnTerminal(_ text: String) -> Bool {
        guard case .queued(_, let descriptors, _) = state, isatty(descriptors[2]) == 1 else { return false }
        let terminal = open("/proc/self/fd/\(descriptors[2])", O_WRONLY | O_NOCTTY | O_NONBLOCK | O_CLOEXEC)
        guard terminal >= 0 else { return false }
        defer { _ = Glibc.close(terminal) }
        let bytes = Array("pytestd: \(text)\n".utf8)
        return bytes.withUnsafeBytes { write(terminal, $0.baseAddress, $0.count) } == bytes.count
    }

    /// Drops the caller's descriptors and the connection.
    func close() {
        if case .queued(_, let descriptors, _) = state { descriptors.forEach { _ = Glibc.close($0) } }
        state = .idle
        channel.close()
    }

    /// Sends a reply; a caller that is already gone is not an error worth more than dropping it.
    func reply(_ message: Message) {
        try? channel.send(message)
    }
}
