import Glibc
import PytestdPosix

/// The manager's log: its stderr, which `serve` points at `<runtime>/<key>.log`. Hosts share it.
enum ManagerLog {
    static func write(_ message: String) {
        var now = time(nil)
        var parts = tm()
        localtime_r(&now, &parts)
        var buffer = [CChar](repeating: 0, count: 32)
        strftime(&buffer, buffer.count, "%Y-%m-%d %H:%M:%S", &parts)
        let line = Array("\(String(cString: buffer)) pytestd[\(getpid())]: \(message)\n".utf8)
        _ = line.withUnsafeBytes { Glibc.write(2, $0.baseAddress, $0.count) }
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
