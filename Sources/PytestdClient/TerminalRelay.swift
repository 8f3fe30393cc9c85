import CPosix
import Glibc
import PytestdPosix

/// The run's own terminal when the caller's is one, relayed as ssh -t, script(1) and tmux do. A
/// forked run cannot join the caller's session, so it gets a pseudo-terminal it leads a session on
/// (see the host's `RunChild`): `/dev/tty`, `getpass`, `tcgetpgrp` and its line discipline (Ctrl-C,
/// echo, pdb's line editing) work as in a plain run. The shim puts the caller's terminal in raw mode
/// and copies bytes both ways as they come; it applies window changes, and turns the pty's Ctrl-Z
/// into a stop of the run and of itself, so the shell's `fg` and `bg` act on both.
///
/// Only for a caller in the foreground of its controlling terminal whose stdout is a terminal; of
/// fds 0-2 those that are terminals become the pty, pipes and files (`< input`, `| head`, `> log`)
/// are passed to the run as they are.
final class TerminalRelay {
    /// The caller's controlling terminal (its /dev/tty): keystrokes, modes and window size.
    private let terminal: Int32
    let master: Int32
    private var slave: Int32
    private let callerModes: termios
    private var raw = false
    private var stdinOpen = true
    /// Bytes typed but not yet taken by the pty (the run is not reading).
    private var pendingInput: [UInt8] = []
    /// The pty's foreground group that the relay stopped, to continue with the shim.
    private var stoppedGroup: pid_t = 0

    /// The signals the relay handles itself instead of forwarding them to the run.
    static let handledSignals: [Int32] = [SIGWINCH, SIGTSTP, SIGCONT]

    static func open() -> TerminalRelay? {
        guard isatty(1) == 1 else { return nil }
        let terminal = Glibc.open("/dev/tty", O_RDWR | O_NOCTTY | O_CLOEXEC)
        guard terminal >= 0 else { return nil }
        var modes = termios()
        var master: Int32 = -1
        var slave: Int32 = -1
        guard tcgetpgrp(terminal) == getpgrp(), tcgetattr(terminal, &modes) == 0,
              cposix_open_pty(terminal, &master, &slave) == 0 else {
            close(terminal)
            return nil
        }
        return TerminalRelay(terminal: terminal, master: master, slave: slave, callerModes: modes)
    }

    private init(terminal: Int32, master: Int32, slave: Int32, callerModes: termios) {
        self.terminal = terminal
        self.master = master
        self.slave = slave
        self.callerModes = callerModes
    }

    /// The run's stdin, stdout and stderr: the pty for those that are the caller's terminal.
    var descriptors: [Int32] { (0...2).map { isatty($0) == 1 ? slave : $0 } }

    /// Takes over the caller's terminal: from here on every keystroke goes to the run's pty.
    func start() {
        enterRawModeIfForeground()
    }

    /// What to wait for: the run's output, the caller's keystrokes (only in the foreground: a
    /// background read would stop the shim), and room for keystrokes the run has not taken yet.
    var pollDescriptors: [pollfd] {
        var fds = [pollfd(fd: master, events: Int16(POLLIN) | (pendingInput.isEmpty ? 0 : Int16(POLLOUT)), revents: 0)]
        if raw && stdinOpen && pendingInput.isEmpty { fds.append(pollfd(fd: terminal, events: Int16(POLLIN), revents: 0)) }
        return fds
    }

    /// Moves what is ready after a poll over `pollDescriptors`; returns the Ctrl-C's typed.
    func relay(_ ready: [pollfd]) -> Int {
        var interrupts = 0
        for fd in ready where fd.revents != 0 {
            if fd.fd == master {
                if fd.revents & Int16(POLLOUT) != 0 { flushInput() }
                if fd.revents & Int16(POLLIN | POLLHUP | POLLERR) != 0 { _ = copyOutput() }
            } else {
                interrupts += readKeystrokes()
            }
        }
        return interrupts
    }

    func handle(signal: Int32) {
        switch signal {
        case SIGWINCH: _ = cposix_copy_window_size(terminal, master)
        case SIGTSTP: suspend()
        case SIGCONT: resume()
        default: break
        }
    }

    /// After the run: the last output, then the caller's terminal as it was. The run may have left
    /// children holding the pty; their output is drained until a quiet moment, not waited for.
    func finish() {
        if slave >= 0 { close(slave); slave = -1 }
        let deadline = monotonicSeconds() + 2
        while monotonicSeconds() < deadline {
            var fd = pollfd(fd: master, events: Int16(POLLIN), revents: 0)
            if poll(&fd, 1, 50) == 0 { break }
            if !copyOutput() { break }
        }
        restoreCallerModes()
        close(master)
        close(terminal)
        // Plain pytest may run next as the shim's child (`PlainRun`): the shell's Ctrl-Z stops both.
        Glibc.signal(SIGTSTP, SIG_DFL)
        Glibc.signal(SIGCONT, SIG_DFL)
    }

    // MARK: - Keystrokes and output

    private func readKeystrokes() -> Int {
        var buffer = [UInt8](repeating: 0, count: 4096)
        let n = buffer.withUnsafeMutableBytes { read(terminal, $0.baseAddress, $0.count) }
        if n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR) { stdinOpen = false }
        guard n > 0 else { return 0 }
        var interrupts = 0
        var runModes = termios()
        // The pty's modes, not the caller's: the run may have turned signals off (raw input).
        if tcgetattr(master, &runModes) == 0 && runModes.c_lflag & tcflag_t(ISIG) != 0 {
            let (interrupt, suspendKey) = withUnsafeBytes(of: runModes.c_cc) { ($0[Int(VINTR)], $0[Int(VSUSP)]) }
            for byte in buffer[0..<n] {
                if byte == suspendKey && suspendKey != 0 {
                    flushInput()
                    suspend()
                    continue
                }
                if byte == interrupt && interrupt != 0 { interrupts += 1 }
                pendingInput.append(byte)
            }
        } else {
            pendingInput += buffer[0..<n]
        }
        flushInput()
        return interrupts
    }

    private func flushInput() {
        while !pendingInput.isEmpty {
            let n = pendingInput.withUnsafeBytes { write(master, $0.baseAddress, $0.count) }
            if n <= 0 { return }
            pendingInput.removeFirst(n)
        }
    }

    /// Copies one read of the run's output to the caller's terminal; false once the pty has no
    /// writer left (EIO) or nothing is ready.
    private func copyOutput() -> Bool {
        var buffer = [UInt8](repeating: 0, count: 65536)
        let n = buffer.withUnsafeMutableBytes { read(master, $0.baseAddress, $0.count) }
        guard n > 0 else { return n < 0 && (errno == EINTR) }
        var offset = 0
        while offset < n {
            let written = buffer[offset..<n].withUnsafeBytes { write(terminal, $0.baseAddress, $0.count) }
            if written > 0 {
                offset += written
            } else if written < 0 && (errno == EAGAIN || errno == EINTR) {
                var out = pollfd(fd: terminal, events: Int16(POLLOUT), revents: 0)
                _ = poll(&out, 1, 100)
            } else {
                return false
            }
        }
        return true
    }

    // MARK: - Job control

    /// Ctrl-Z: the run's process group is orphaned (its parent, the host, is in another session) and
    /// the kernel discards a terminal stop there, so the relay stops it and then itself, as the
    /// shell's job; `fg` or `bg` continue the shim, which continues the run.
    private func suspend() {
        let group = tcgetpgrp(master)
        if group > 0 && kill(-group, SIGSTOP) == 0 { stoppedGroup = group }
        restoreCallerModes()
        Glibc.signal(SIGTSTP, SIG_DFL)
        raise(SIGTSTP)
        // Continued by `fg` or `bg`.
        _ = cposix_signal_pipe_watch(SIGTSTP)
        resume()
    }

    private func resume() {
        enterRawModeIfForeground()
        _ = cposix_copy_window_size(terminal, master)
        if stoppedGroup > 0 {
            kill(-stoppedGroup, SIGCONT)
            stoppedGroup = 0
        }
    }

    /// Raw only in the foreground: after `bg` the shell owns the terminal's modes and keystrokes.
    private func enterRawModeIfForeground() {
        guard !raw, tcgetpgrp(terminal) == getpgrp() else { return }
        var modes = callerModes
        cfmakeraw(&modes)
        if tcsetattr(terminal, TCSADRAIN, &modes) == 0 { raw = true }
    }

    private func restoreCallerModes() {
        guard raw else { return }
        var modes = callerModes
        _ = tcsetattr(terminal, TCSADRAIN, &modes)
        raw = false
    }
}
