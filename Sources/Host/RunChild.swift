import CPosix
import Glibc
import PytestdCore

/// The forked child that becomes one pytest run. Never returns: it exits with pytest's status.
struct RunChild {
    let request: RunRequest
    /// The caller's stdin, stdout and stderr.
    let descriptors: [Int32]
    let controlFd: Int32
    /// The write end of this run's decline pipe (see `DeclinePipe`).
    let declineFd: Int32
    /// The write end of this run's imports pipe (see `RunImportsPipe`).
    let importsFd: Int32
    let python: EmbeddedPython

    /// Whether the run leads a session of its own: when one of its descriptors is a terminal.
    static func takesTerminal(_ descriptors: [Int32]) -> Bool {
        descriptors.contains { isatty($0) == 1 }
    }

    private var takesTerminal: Bool { Self.takesTerminal(descriptors) }

    func run() -> Never {
        // Its own process group, so the manager can signal the run and everything it started; and
        // if the host dies, the run dies with it instead of lingering without a client.
        if takesTerminal {
            // Given a terminal, a session of its own too, to take that terminal as its controlling
            // terminal unless another session holds it: the shim's pty (`TerminalRelay`) becomes
            // the run's /dev/tty, with the run in its foreground; the caller's own terminal stays theirs.
            setsid()
            _ = descriptors.first { isatty($0) == 1 }.map { cposix_take_controlling_terminal($0) }
        } else {
            setpgid(0, 0)
        }
        cposix_set_parent_death_signal(SIGKILL)
        umask(mode_t(request.umask))
        close(controlFd)
        for (target, source) in descriptors.enumerated() where dup2(source, Int32(target)) < 0 {
            _exit(3)
        }
        for source in descriptors where source > 2 { close(source) }
        _exit(python.run(request, declineFd: declineFd, importsFd: importsFd))
    }
}
