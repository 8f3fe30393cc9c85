import CPosix
import Glibc

/// Signals as readable events for a poll loop: the handler only writes the signal number into a
/// pipe (async-signal-safe); the loop reads them when it is ready to act.
public enum SignalPipe {
    /// Routes `signals` into the process's signal pipe and returns its read end.
    public static func watch(_ signals: [Int32]) -> Int32 {
        let fd = cposix_signal_pipe_fd()
        for signal in signals { cposix_signal_pipe_watch(signal) }
        return fd
    }

    /// The signals delivered since the last call, in order (empty if none).
    public static func drain(_ fd: Int32) -> [Int32] {
        var bytes = [UInt8](repeating: 0, count: 64)
        let n = bytes.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
        return n > 0 ? bytes[0..<n].map { Int32($0) } : []
    }
}
