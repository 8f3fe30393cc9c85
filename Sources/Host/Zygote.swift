import CPosix
import CPythonShim
import Glibc
import PytestdCore
import PytestdPosix

/// The zygote: a copy of this host made at the warm-up's layer point, just before pytest executes the
/// first conftest (see `python/pytestd/_zygote.py`). It waits there; each later clean host is forked
/// from it and goes on warming up from that point, which skips starting the interpreter, pytest and
/// the conftest's imports (most of a warm-up).
///
/// The warm-up calls `layerPoint()` through `_native.layer_point()` once, with the interpreter's
/// lock held by this, the only, thread. It returns in this host (0) and in every host forked later (1);
/// the zygote itself never returns from it.
enum Zygote {
    private static var python: EmbeddedPython?
    private static var control: MessageChannel?
    /// Whether this process is a host forked from a zygote (its parent is the zygote, not the manager).
    private(set) static var isForkedHost = false

    static func install(python: EmbeddedPython, control: MessageChannel) {
        Zygote.python = python
        Zygote.control = control
        pyshim_set_layer_point { Zygote.layerPoint(conftest: String(cString: $0!)) }
    }

    private static func layerPoint(conftest: String) -> Int {
        guard let python, let control else { return 0 }
        let ends: (Int32, Int32)
        do {
            ends = try UnixSocket.pair()
        } catch {
            writeLog("pytestd-host: no zygote: \(error)")
            return 0
        }
        python.beforeFork()
        let pid = cposix_fork()
        if pid == 0 {
            python.afterForkInChild()
            close(ends.0)
            // The host's channel is the host's: the manager must see it close when the host ends. The
            // descriptor only: a forked host puts its own channel there (see `forkHost`).
            close(control.fd)
            return serve(MessageChannel(fd: ends.1), python: python, control: control)
        }
        python.afterForkInParent()
        close(ends.1)
        if pid > 0 {
            try? control.send(.zygoteStarted(pid: pid, conftest: conftest), descriptors: [ends.0])
        } else {
            writeLog("pytestd-host: no zygote: \(PosixError("fork"))")
        }
        close(ends.0)
        return 0
    }

    /// The zygote's life: report what it loaded, then fork a host for each `forkHost` until the
    /// manager closes the channel (it dies with the manager, being no child of it) or a signal.
    private static func serve(_ channel: MessageChannel, python: EmbeddedPython, control: MessageChannel) -> Int {
        do {
            try channel.send(.hostReady(try python.zygoteReport()))
        } catch {
            writeLog("pytestd-host: zygote: \(error)")
            _exit(1)
        }
        channel.setNonBlocking()
        let signals = SignalPipe.watch([SIGCHLD, SIGTERM, SIGINT, SIGHUP])
        while true {
            var fds = [
                pollfd(fd: channel.fd, events: Int16(POLLIN), revents: 0),
                pollfd(fd: signals, events: Int16(POLLIN), revents: 0),
            ]
            if poll(&fds, 2, -1) < 0 {
                if errno == EINTR { continue }
                _exit(1)
            }
            if fds[1].revents != 0 {
                let received = Set(SignalPipe.drain(signals))
                // Hosts forked from here are our children until we end.
                while waitpid(-1, nil, WNOHANG) > 0 {}
                if !received.isDisjoint(with: [SIGTERM, SIGINT, SIGHUP]) { _exit(0) }
            }
            guard fds[0].revents != 0 else { continue }
            var forked: (id: UInt64, fd: Int32)?
            do {
                let open = try channel.drainMessages { message, descriptors in
                    guard case .forkHost(let id) = message, let fd = descriptors.first, forked == nil else {
                        descriptors.forEach { _ = close($0) }
                        return writeLog("pytestd-host: zygote: ignoring unexpected message \(message)")
                    }
                    forked = (id, fd)
                }
                if !open { _exit(0) }
            } catch {
                writeLog("pytestd-host: zygote: control channel: \(error)")
                _exit(1)
            }
            if let forked, forkHost(id: forked.id, fd: forked.fd, channel: channel, python: python, control: control) {
                return 1
            }
        }
    }

    /// Forks a host for `id` whose control channel is `fd`, put where the host's `control` reads. True
    /// in that host, false here.
    private static func forkHost(id: UInt64, fd: Int32, channel: MessageChannel, python: EmbeddedPython,
                                 control: MessageChannel) -> Bool {
        if let reason = python.zygoteMisfit() {
            close(fd)
            try? channel.send(.hostNotForked(id: id, reason: reason))
            return false
        }
        let zygotePid = getpid()
        python.beforeFork()
        let pid = cposix_fork()
        if pid == 0 {
            python.afterForkInChild()
            channel.close()
            // Killed with the zygote while warming, as a spawned host is with the manager (a paused
            // warm-up acts on SIGKILL only); once ready it lives on its own channel. A zygote gone
            // already re-parented us (to the manager, a subreaper): the signal would never come.
            cposix_set_parent_death_signal(SIGKILL)
            if getppid() != zygotePid { _exit(0) }
            if fd != control.fd {
                dup2(fd, control.fd)
                close(fd)
            }
            isForkedHost = true
            try? control.send(.warmupStarted)
            return true
        }
        python.afterForkInParent()
        close(fd)
        if pid > 0 {
            try? channel.send(.hostForked(id: id, pid: pid))
        } else {
            try? channel.send(.hostNotForked(id: id, reason: "fork failed: \(PosixError("fork"))"))
        }
        return false
    }
}
