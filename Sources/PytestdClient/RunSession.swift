import CPosix
import Glibc
import PytestdCore
import PytestdPosix

/// One run through the manager: send the request with fds 0-2 (or the run's pty, see
/// `TerminalRelay`), relay signals, wait for the end.
public struct RunSession {
    public enum Result {
        case finished(RunOutcome, childSeconds: Double)
        /// The project routes this invocation to the real pytest (`bypass_options`).
        case bypass
        /// Nothing ran: the real pytest may run instead.
        case fallback(String)
        /// Plain pytest is sooner than any template (see `PlainRun`); the connection stays open.
        case plain(String, channel: MessageChannel, ignoredSignals: UInt64, signalPipe: Int32)
        /// The run may have started: never run the tests a second time, just fail.
        case failed(String)
    }

    /// Signals a terminal or a parent sends to "pytest"; each reaches the run's process group.
    static let forwardedSignals: [Int32] = [SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2, SIGWINCH]

    let client: ManagerClient
    let request: RunRequest
    let environment: [Bytes]

    public init(client: ManagerClient, request: RunRequest, environment: [Bytes]) {
        self.client = client
        self.request = request
        self.environment = environment
    }

    public func run() -> Result {
        let relay = TerminalRelay.open()
        defer { relay?.finish() }
        let ignoredSignals = cposix_ignored_signals()
        let signalPipe = SignalPipe.watch(Self.forwardedSignals + (relay == nil ? [] : TerminalRelay.handledSignals))
        var channel: MessageChannel
        do {
            channel = try submit(descriptors: relay?.descriptors ?? [0, 1, 2])
        } catch {
            return .fallback("cannot reach the pytestd manager (\(error))")
        }
        relay?.start()
        var interrupts = 0
        while true {
            var fds = [
                pollfd(fd: channel.fd, events: Int16(POLLIN), revents: 0),
                pollfd(fd: signalPipe, events: Int16(POLLIN), revents: 0),
            ] + (relay?.pollDescriptors ?? [])
            if poll(&fds, nfds_t(fds.count), -1) < 0 {
                if errno == EINTR { continue }
                return .failed("poll: \(String(cString: strerror(errno)))")
            }
            if let relay {
                // Ctrl-C typed into the run's pty: its line discipline signals the run.
                let typed = relay.relay(Array(fds[2...]))
                if interrupts < 2 && interrupts + typed >= 2 { try? channel.send(.forwardSignal(SIGKILL)) }
                interrupts += typed
            }
            if fds[1].revents != 0 {
                for signal in SignalPipe.drain(signalPipe) {
                    if let relay, TerminalRelay.handledSignals.contains(signal) {
                        relay.handle(signal: signal)
                        continue
                    }
                    interrupts += signal == SIGINT ? 1 : 0
                    // A second Ctrl-C means "stop now", even if the run ignores the first.
                    try? channel.send(.forwardSignal(interrupts > 1 && signal == SIGINT ? SIGKILL : signal))
                }
            }
            guard fds[0].revents != 0 else { continue }
            do {
                switch try channel.receive() {
                case .message(.finished(let outcome, let childSeconds), _):
                    return .finished(outcome, childSeconds: childSeconds)
                case .message(.fallback(let reason), _):
                    return .fallback(reason)
                case .message(.runPlain(let reason), _):
                    return .plain(reason, channel: channel, ignoredSignals: ignoredSignals, signalPipe: signalPipe)
                case .message(.bypass, _):
                    return .bypass
                case .message(.refused(let reason), _):
                    return .failed(reason)
                case .message(.superseded, _):
                    channel.close()
                    do {
                        try client.waitUntilStopped()
                        channel = try submit(descriptors: relay?.descriptors ?? [0, 1, 2])
                    } catch {
                        // Nothing has run yet: plain pytest serves this run.
                        return .fallback("the pytestd manager of another build stopped and no new one could serve (\(error))")
                    }
                case .message(let other, _):
                    return .failed("unexpected reply from the manager: \(other)")
                case .endOfStream:
                    return .failed("the pytestd manager went away during the run; see `pytestd logs`")
                case .wouldBlock:
                    continue
                }
            } catch {
                return .failed("lost the connection to the pytestd manager: \(error)")
            }
        }
    }

    private func submit(descriptors: [Int32]) throws -> MessageChannel {
        let channel = try client.connect(environment: environment)
        try channel.send(.run(request), descriptors: descriptors)
        return channel
    }
}
