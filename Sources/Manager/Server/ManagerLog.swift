import Glibc

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
}
