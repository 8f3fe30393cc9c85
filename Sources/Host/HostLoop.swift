import CPosix
import Glibc
import PytestdCore
import PytestdPosix

/// The host's whole life after warm-up: one poll loop over the manager's control socket and a
/// signal pipe. A `startRun` forks a child; SIGCHLD reports its end; the manager closing the socket
/// (or SIGTERM) ends every run and the host.
final class HostLoop {
    private let control: MessageChannel
    private let python: EmbeddedPython
    private let signals: Int32
    /// Run children by pid → the manager's run id and when the child was forked.
    private var runs: [pid_t: (id: UInt64, forkedAt: Double)] = [:]
    private var warnedAboutThreads = false

    init(control: MessageChannel, python: EmbeddedPython) {
        self.control = control
        self.python = python
        control.setNonBlocking()
        signals = SignalPipe.watch([SIGCHLD, SIGTERM, SIGINT, SIGHUP])
    }

    func run() -> Never {
        while true {
            var fds = [
                pollfd(fd: control.fd, events: Int16(POLLIN), revents: 0),
                pollfd(fd: signals, events: Int16(POLLIN), revents: 0),
            ]
            if poll(&fds, 2, -1) < 0 {
                if errno == EINTR { continue }
                shutDown("poll failed: \(PosixError("poll"))")
            }
            if fds[1].revents != 0 { handleSignals() }
            if fds[0].revents != 0 { handleControl() }
        }
    }

    /// Handles every message already received: frames may arrive several per read.
    private func handleControl() {
        do {
            let open = try control.drainMessages { message, descriptors in
                switch message {
                case .startRun(let id, let request):
                    startRun(id: id, request: request, descriptors: descriptors)
                case .reload(let order):
                    startReload(order)
                default:
                    descriptors.forEach { _ = close($0) }
                    writeLog("pytestd-host: ignoring unexpected message \(message)")
                }
            }
            if !open { shutDown(nil) }
        } catch {
            shutDown("control channel: \(error)")
        }
    }

    private func handleSignals() {
        let received = Set(SignalPipe.drain(signals))
        if received.contains(SIGCHLD) { reapChildren() }
        if !received.isDisjoint(with: [SIGTERM, SIGINT, SIGHUP]) { shutDown(nil) }
    }

    private func startRun(id: UInt64, request: RunRequest, descriptors: [Int32]) {
        defer { descriptors.forEach { _ = close($0) } }
        warnIfMultithreaded()
        python.beforeFork()
        let forkedAt = monotonicSeconds()
        let pid = cposix_fork()
        if pid == 0 {
            python.afterForkInChild()
            RunChild(request: request, descriptors: descriptors, controlFd: control.fd, python: python).run()
        }
        python.afterForkInParent()
        guard pid > 0 else {
            try? control.send(.runFinished(id: id, .exited(3), childSeconds: 0))
            writeLog("pytestd-host: fork failed: \(PosixError("fork"))")
            return
        }
        // Also set from the parent, so a signal forwarded right away already has a group to reach.
        setpgid(pid, pid)
        runs[pid] = (id, forkedAt)
        try? control.send(.runStarted(id: id, pid: pid))
    }

    /// Forks a child that applies `order` to its copy of the template and then serves runs as a host
    /// of its own, over a new control channel whose other end goes to the manager. This template stays
    /// pristine: a reload that fails costs only that child.
    private func startReload(_ order: ReloadOrder) {
        let ends: (Int32, Int32)
        do {
            ends = try UnixSocket.pair()
        } catch {
            return writeLog("pytestd-host: cannot start a reload: \(error)")
        }
        warnIfMultithreaded()
        python.beforeFork()
        let pid = cposix_fork()
        if pid == 0 {
            python.afterForkInChild()
            close(ends.0)
            becomeReloadedTemplate(order, control: MessageChannel(fd: ends.1))
        }
        python.afterForkInParent()
        close(ends.1)
        if pid > 0 {
            try? control.send(.reloadStarted(pid: pid), descriptors: [ends.0])
        } else {
            writeLog("pytestd-host: fork failed: \(PosixError("fork"))")
        }
        close(ends.0)
    }

    /// In the reloading child: none of the parent's runs or signals are ours; report, then serve.
    private func becomeReloadedTemplate(_ order: ReloadOrder, control newControl: MessageChannel) -> Never {
        control.close()
        runs = [:]
        do {
            try newControl.send(.hostReady(try python.reload(order)))
        } catch {
            writeLog("pytestd-host: \(error)")
            try? newControl.send(.hostFailed(reason: "\(error)"))
            _exit(1)
        }
        HostLoop(control: newControl, python: python).run()
    }

    private func reapChildren() {
        while true {
            var status: Int32 = 0
            let pid = waitpid(-1, &status, WNOHANG)
            guard pid > 0 else { return }
            guard let run = runs.removeValue(forKey: pid), let outcome = RunOutcome(waitStatus: status) else { continue }
            try? control.send(.runFinished(id: run.id, outcome, childSeconds: monotonicSeconds() - run.forkedAt))
        }
    }

    /// fork() copies only this thread: a lock held by another thread would stay locked forever in the
    /// child. The template should have none; say so in the log if an import started one.
    private func warnIfMultithreaded() {
        guard !warnedAboutThreads else { return }
        let threads = ThreadCount.current()
        if threads > 1 {
            warnedAboutThreads = true
            writeLog("pytestd-host: warning: the warm template has \(threads) threads (an import started them); forked runs may deadlock if one held a lock")
        }
    }

    private func shutDown(_ reason: String?) -> Never {
        if let reason { writeLog("pytestd-host: \(reason)") }
        for pid in runs.keys { kill(-pid, SIGKILL) }
        for pid in runs.keys { _ = waitpid(pid, nil, 0) }
        exit(0)
    }
}

enum ThreadCount {
    static func current() -> Int {
        guard let dir = opendir("/proc/self/task") else { return 1 }
        defer { closedir(dir) }
        var count = 0
        while let entry = readdir(dir) {
            if entry.pointee.d_name.0 != UInt8(ascii: ".") { count += 1 }
        }
        return count
    }
}
