import CPosix
import Glibc

/// The manager's listening socket and the clients' connections to it.
public enum UnixSocket {
    /// Listens at `path`, created with mode 0600 (see `cposix_unix_listen`).
    public static func listen(at path: String) throws -> Int32 {
        try retryingOnInterrupt("listen on \(path)") { cposix_unix_listen(path, 64) }
    }

    public static func connect(to path: String) throws -> MessageChannel {
        MessageChannel(fd: try retryingOnInterrupt("connect to \(path)") { cposix_unix_connect(path) })
    }

    /// Accepts one connection; nil for a peer of another user (refused: closed at once).
    public static func accept(from listener: Int32) throws -> MessageChannel? {
        let fd = try retryingOnInterrupt("accept") { cposix_accept(listener) }
        var pid: pid_t = 0
        var uid: uid_t = 0
        guard cposix_peer_credentials(fd, &pid, &uid) == 0, uid == getuid() else {
            close(fd)
            return nil
        }
        return MessageChannel(fd: fd)
    }

    /// A connected pair for a parent and the child it spawns.
    public static func pair() throws -> (Int32, Int32) {
        var fds: [Int32] = [0, 0]
        try retryingOnInterrupt("socketpair") {
            socketpair(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0, &fds)
        }
        return (fds[0], fds[1])
    }
}
