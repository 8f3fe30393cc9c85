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
    /// Run children by pid → the manager's run id, when the child was forked, and the read ends of
    /// its decline and imports pipes.
    private var runs: [pid_t: (id: UInt64, forkedAt: Double, declines: Int32, imports: Int32)] = [:]
    /// The threads last seen besides this one and what `forkHazard` concluded of them.
    private var threadVerdict: (threads: [Int], hazard: String?)?

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
                case .reload(let order, let id):
                    startReload(order, id: id)
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
        if let hazard = forkHazard() {
            try? control.send(.runDeclined(id: id, reason: hazard, remember: false))
            return
        }
        guard let declines = DeclinePipe.make() else {
            try? control.send(.runFinished(id: id, .exited(3), childSeconds: 0))
            return writeLog("pytestd-host: pipe failed: \(PosixError("pipe"))")
        }
        guard let imports = RunImportsPipe.make() else {
            close(declines.read)
            close(declines.write)
            try? control.send(.runFinished(id: id, .exited(3), childSeconds: 0))
            return writeLog("pytestd-host: pipe failed: \(PosixError("pipe"))")
        }
        python.beforeFork()
        let forkedAt = monotonicSeconds()
        let pid = cposix_fork()
        if pid == 0 {
            python.afterForkInChild()
            close(declines.read)
            close(imports.read)
            RunChild(request: request, descriptors: descriptors, controlFd: control.fd, declineFd: declines.write,
                     importsFd: imports.write, python: python).run()
        }
        python.afterForkInParent()
        close(declines.write)
        close(imports.write)
        guard pid > 0 else {
            close(declines.read)
            close(imports.read)
            try? control.send(.runFinished(id: id, .exited(3), childSeconds: 0))
            writeLog("pytestd-host: fork failed: \(PosixError("fork"))")
            return
        }
        // Also set from the parent, so a signal forwarded right away already has a group to reach;
        // not for a run that makes its own session (setsid fails in a group leader).
        if !RunChild.takesTerminal(descriptors) { setpgid(pid, pid) }
        runs[pid] = (id, forkedAt, declines.read, imports.read)
        try? control.send(.runStarted(id: id, pid: pid))
    }

    /// Forks a child that applies `order` to its copy of the template and then serves runs as a host
    /// of its own, over a new control channel whose other end goes to the manager. This template stays
    /// pristine: a reload that fails costs only that child.
    private func startReload(_ order: ReloadOrder, id: UInt64) {
        if let hazard = forkHazard() {
            try? control.send(.reloadNotStarted(id: id, reason: "cannot start a reload: \(hazard)"))
            return
        }
        let ends: (Int32, Int32)
        do {
            ends = try UnixSocket.pair()
        } catch {
            writeLog("pytestd-host: cannot start a reload: \(error)")
            try? control.send(.reloadNotStarted(id: id, reason: "cannot start a reload: \(error)"))
            return
        }
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
            try? control.send(.reloadStarted(pid: pid, id: id), descriptors: [ends.0])
        } else {
            let error = PosixError("fork")
            writeLog("pytestd-host: cannot start a reload: \(error)")
            try? control.send(.reloadNotStarted(id: id, reason: "cannot start a reload: \(error)"))
        }
        close(ends.0)
    }

    /// In the reloading child: none of the parent's runs or signals are ours; report, then serve.
    private func becomeReloadedTemplate(_ order: ReloadOrder, control newControl: MessageChannel) -> Never {
        control.close()
        for run in runs.values {
            close(run.declines)
            close(run.imports)
        }
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
            guard let run = runs.removeValue(forKey: pid) else { continue }
            let decline = DeclinePipe.read(run.declines)
            close(run.declines)
            let imports = RunImports(reported: PipeContents.read(run.imports))
            close(run.imports)
            if let decline {
                writeLog("pytestd-host: run \(run.id) declined: \(decline.reason)\(decline.details.isEmpty ? "" : "\n" + decline.details)")
                try? control.send(.runDeclined(id: run.id, reason: decline.reason, remember: decline.remember))
                continue
            }
            guard let outcome = RunOutcome(waitStatus: status) else { continue }
            try? control.send(.runFinished(id: run.id, outcome, childSeconds: monotonicSeconds() - run.forkedAt))
            // After the caller's answer: learning must not delay it.
            if !imports.isEmpty { try? control.send(.runImported(imports)) }
        }
    }

    /// fork() copies only this thread: a lock another thread holds would stay held forever in the
    /// child. Python judges the threads (`pytestd._threads`: OpenBLAS's pool is safe) only when there are
    /// others, and again only when they change; nil means fork.
    private func forkHazard() -> String? {
        let threads = ThreadList.others()
        guard !threads.isEmpty else { return nil }
        if let verdict = threadVerdict, verdict.threads == threads { return verdict.hazard }
        let hazard = python.forkHazard()
        writeLog("pytestd-host: the warm template has \(threads.count + 1) threads: \(hazard.map { "\($0); runs go to plain pytest" } ?? "each known safe to fork across")")
        threadVerdict = (threads, hazard)
        return hazard
    }

    private func shutDown(_ reason: String?) -> Never {
        if let reason { writeLog("pytestd-host: \(reason)") }
        for pid in runs.keys { kill(-pid, SIGKILL) }
        for pid in runs.keys { _ = waitpid(pid, nil, 0) }
        exit(0)
    }
}

/// How a run child hands its run back (see `python/pytestd/_guard.py`): it writes `1` or `0` (the
/// cause is the project's, to remember, or this run's alone), the reason, a newline and the details
/// (a traceback, for the log) to a pipe, then exits. Close-on-exec, so nothing the run starts
/// inherits it; read without blocking once the child is reaped (what it started may keep it open).
enum DeclinePipe {
    static func make() -> (read: Int32, write: Int32)? {
        var fds: [Int32] = [0, 0]
        guard pipe(&fds) == 0 else { return nil }
        for fd in fds { _ = fcntl(fd, F_SETFD, FD_CLOEXEC) }
        _ = fcntl(fds[0], F_SETFL, O_NONBLOCK)
        return (fds[0], fds[1])
    }

    static func read(_ fd: Int32) -> (reason: String, details: String, remember: Bool)? {
        let bytes = PipeContents.read(fd)
        guard let flag = bytes.first else { return nil }
        let rest = bytes.dropFirst()
        let newline = rest.firstIndex(of: UInt8(ascii: "\n")) ?? rest.endIndex
        return (String(decoding: rest[..<newline], as: UTF8.self),
                String(decoding: rest[newline...].dropFirst(), as: UTF8.self), flag != UInt8(ascii: "0"))
    }
}

/// What a run imported (see `python/pytestd/_run_imports.py`): the child writes it without blocking
/// just before it exits, so the pipe is made large enough for thousands of module names.
enum RunImportsPipe {
    /// Linux's F_SETPIPE_SZ (a _GNU_SOURCE name).
    private static let setPipeSize: Int32 = 1031

    static func make() -> (read: Int32, write: Int32)? {
        var fds: [Int32] = [0, 0]
        guard pipe(&fds) == 0 else { return nil }
        for fd in fds {
            _ = fcntl(fd, F_SETFD, FD_CLOEXEC)
            _ = fcntl(fd, F_SETFL, O_NONBLOCK)
        }
        _ = fcntl(fds[1], setPipeSize, Int32(1 << 20))  // best effort: 1 MiB is the unprivileged maximum
        return (fds[0], fds[1])
    }
}

/// Everything a non-blocking pipe holds now.
enum PipeContents {
    static func read(_ fd: Int32) -> [UInt8] {
        var bytes: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 65536)
        while true {
            let n = buffer.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress, $0.count) }
            if n > 0 { bytes += buffer[0..<n]; continue }
            if n < 0 && errno == EINTR { continue }
            return bytes
        }
    }
}

/// The process's threads besides the calling (main) one, from /proc.
enum ThreadList {
    static func others() -> [Int] {
        guard let dir = opendir("/proc/self/task") else { return [] }
        defer { closedir(dir) }
        let me = Int(getpid())
        var ids: [Int] = []
        while let entry = readdir(dir) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
            if let id = Int(name), id != me { ids.append(id) }
        }
        return ids.sorted()
    }
}
