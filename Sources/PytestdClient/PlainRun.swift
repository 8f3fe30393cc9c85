import CPosix
import Glibc
import PytestdCore
import PytestdPosix

/// Plain pytest as the shim's child, when the manager finds that no template can serve this run
/// sooner (`ServingChoice`). Unlike the other fallbacks, which become plain pytest (exec), the shim
/// stays: it keeps the connection open while plain pytest runs, so the manager pauses its warm-up
/// meanwhile, and then reports how long the run took, which is what the manager's next choice is
/// made from. The caller sees plain pytest's output, exit code or death by signal.
struct PlainRun {
    let real: RealPytest
    let channel: MessageChannel
    /// Signals the shim's caller ignored: plain pytest must inherit that (nohup, `pytest … &`).
    let ignoredSignals: UInt64
    let signalPipe: Int32

    func run(note: String) -> Never {
        writeStandardError("pytestd: \(note); running plain pytest\n")
        _ = SignalPipe.watch([SIGCHLD])
        let started = monotonicSeconds()
        let pid = cposix_fork()
        if pid == 0 {
            cposix_ignore_signals(ignoredSignals)
            real.exec()
        }
        // Nothing ran yet: become plain pytest instead.
        if pid < 0 { real.exec() }
        let outcome = wait(for: pid)
        try? channel.send(.plainFinished(seconds: monotonicSeconds() - started))
        channel.close()
        ExitStatus.reproduce(outcome)
    }

    /// Waits for plain pytest, passing on the signals meant for "pytest". The terminal sends Ctrl-C,
    /// Ctrl-\ and window changes to its whole foreground process group, plain pytest included: those
    /// are passed on only when the shim is not in that group (a signal sent to the shim's pid).
    private func wait(for pid: pid_t) -> RunOutcome {
        let fromTerminal: Set<Int32> = cposix_in_terminal_foreground() != 0 ? [SIGINT, SIGQUIT, SIGWINCH] : []
        while true {
            var status: Int32 = 0
            let reaped = waitpid(pid, &status, WNOHANG)
            if reaped == pid, let outcome = RunOutcome(waitStatus: status) { return outcome }
            if reaped < 0 && errno != EINTR { return .exited(3) }
            var fds = [pollfd(fd: signalPipe, events: Int16(POLLIN), revents: 0)]
            if poll(&fds, 1, -1) < 0 && errno != EINTR { return .exited(3) }
            for signal in SignalPipe.drain(signalPipe) where signal != SIGCHLD && !fromTerminal.contains(signal) {
                kill(pid, signal)
            }
        }
    }
}
