import Glibc
import PytestdPosix

/// The manager's log: its stderr, which `serve` points at `<runtime>/<key>.log`. Hosts share it.
///
/// A log that cannot be written (a full disk) never stops the manager: lines are dropped and counted,
/// `failure` says so once (status, a note on the next run's terminal), and the first line that can be
/// written again says how many were lost.
enum ManagerLog {
    struct Failure {
        var error: String
        var since: Double
        var linesLost = 0
        /// Said on a run's terminal already.
        var announced = false
        /// A line was cut short: the next one starts on a line of its own.
        var partialLine = false
        var lastTried: Double
    }

    /// Why the log cannot be written now; nil while it can.
    static var failure: Failure?

    static func write(_ message: String) {
        let stamp = timestamp()
        guard failure == nil || resume(stamp) else { return dropped(errno, partial: false) }
        append("\(stamp)\(message)\n")
    }

    /// A failing log is tried again now and then, even with nothing to say: `pytestd status` must not
    /// report a problem that is gone.
    static func retryIfFailing() {
        guard let current = failure, monotonicSeconds() - current.lastTried >= 5 else { return }
        failure?.lastTried = monotonicSeconds()
        _ = resume(timestamp())
    }

    /// Writes the line that says how much was lost; on success the log works again.
    private static func resume(_ stamp: String) -> Bool {
        guard let lost = failure else { return true }
        let line = "\(lost.partialLine ? "\n" : "")\(stamp)the log can be written again: \(lost.linesLost) lines were lost (\(lost.error))\n"
        let bytes = Array(line.utf8)
        let written = bytes.withUnsafeBytes { Glibc.write(2, $0.baseAddress, $0.count) }
        if written == bytes.count {
            failure = nil
            return true
        }
        if written > 0 { failure?.partialLine = true }
        return false
    }

    private static func timestamp() -> String {
        var now = time(nil)
        var parts = tm()
        localtime_r(&now, &parts)
        var buffer = [CChar](repeating: 0, count: 32)
        strftime(&buffer, buffer.count, "%Y-%m-%d %H:%M:%S", &parts)
        return "\(String(cString: buffer)) pytestd[\(getpid())]: "
    }

    /// Writes the whole line, or counts it as lost (and remembers why).
    @discardableResult
    private static func append(_ line: String) -> Bool {
        let bytes = Array(line.utf8)
        var offset = 0
        while offset < bytes.count {
            let n = bytes.withUnsafeBytes { Glibc.write(2, $0.baseAddress! + offset, $0.count - offset) }
            if n < 0 && errno == EINTR { continue }
            if n <= 0 {
                dropped(errno, partial: offset > 0)
                return false
            }
            offset += n
        }
        return true
    }

    private static func dropped(_ code: Int32, partial: Bool) {
        if failure == nil {
            let name = code == ENOSPC ? " (ENOSPC)" : code == EDQUOT ? " (EDQUOT)" : ""
            failure = Failure(error: "\(String(cString: strerror(code)))\(name)", since: monotonicSeconds(), lastTried: monotonicSeconds())
        }
        failure!.linesLost += 1
        if partial { failure!.partialLine = true }
    }

    /// The line a run's terminal gets about a failing log, until one terminal got it.
    static func failureNote(path: String) -> String? {
        guard let failure, !failure.announced else { return nil }
        return "cannot write the log \(path): \(failure.error); runs are served as usual, its lines are dropped until there is room"
    }

    /// Moves the log to `<path>.1` once it is larger than `limit`, by copying it and truncating it in
    /// place: hosts write to the same open file (their stdout and stderr, O_APPEND), so they go on at
    /// the start of the emptied file instead of into the renamed one.
    static func rotate(_ fd: Int32, path: String, above limit: Int) {
        var info = stat()
        guard fstat(fd, &info) == 0, Int(info.st_size) > limit else { return }
        let copied = copy(path, to: path + ".1")
        // Truncated even if the copy failed (a full disk): the bound matters more than old lines.
        _ = ftruncate(fd, 0)
        write("log rotated at \(info.st_size) bytes\(copied ? " (the earlier part is in \(path).1)" : "; the earlier part could not be kept")")
    }

    private static func copy(_ path: String, to destination: String) -> Bool {
        let source = open(path, O_RDONLY | O_CLOEXEC)
        guard source >= 0 else { return false }
        defer { close(source) }
        let temporary = destination + ".tmp"
        let target = open(temporary, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600)
        guard target >= 0 else { return false }
        var buffer = [UInt8](repeating: 0, count: 1 << 16)
        var ok = true
        while true {
            let n = buffer.withUnsafeMutableBytes { read(source, $0.baseAddress, $0.count) }
            if n < 0 && errno == EINTR { continue }
            if n <= 0 { ok = n == 0; break }
            guard FileSystem.writeAll(target, Array(buffer[0..<n])) else { ok = false; break }
        }
        close(target)
        guard ok, rename(temporary, destination) == 0 else {
            unlink(temporary)
            return false
        }
        return true
    }
}
