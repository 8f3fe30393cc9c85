import Glibc
import PytestdCore

/// Where a user's pytestd sockets, locks and logs live: a directory only that user can enter.
///
/// `$PYTESTD_RUNTIME_DIR`, else `$XDG_RUNTIME_DIR/pytestd`, else `/tmp/pytestd-<uid>`. It must be a
/// real directory owned by the user with mode 0700; pytestd refuses to use anything else, since a
/// socket in a directory others can write to could be replaced by theirs.
public struct RuntimeDirectory {
    public let path: String

    public static func resolve(environment: [String: String]) throws -> RuntimeDirectory {
        let path: String
        if let explicit = environment["PYTESTD_RUNTIME_DIR"], !explicit.isEmpty {
            path = explicit
        } else if let xdg = environment["XDG_RUNTIME_DIR"], !xdg.isEmpty, FileSystem.isDirectory(xdg) {
            path = ProjectRoot.join(xdg, "pytestd")
        } else {
            path = "/tmp/pytestd-\(getuid())"
        }
        if mkdir(path, 0o700) != 0 && errno != EEXIST {
            throw PosixError("create runtime directory \(path)")
        }
        var st = stat()
        guard lstat(path, &st) == 0 else { throw PosixError("inspect runtime directory \(path)") }
        guard (st.st_mode & S_IFMT) == S_IFDIR, st.st_uid == getuid() else {
            throw UserFacingError("runtime directory \(path) is not a directory owned by you; remove it or set PYTESTD_RUNTIME_DIR")
        }
        if st.st_mode & 0o077 != 0 {
            throw UserFacingError("runtime directory \(path) is accessible to other users (mode \(String(st.st_mode & 0o777, radix: 8))); run: chmod 700 \(path)")
        }
        return RuntimeDirectory(path: path)
    }

    /// The files of the manager serving one (root, interpreter) pair. The key is a hash so the socket
    /// path stays short: `sun_path` holds 107 bytes.
    public func files(for project: ProjectIdentity) -> ManagerFiles {
        let base = ProjectRoot.join(path, project.key)
        return ManagerFiles(socket: base + ".sock", lock: base + ".lock", log: base + ".log", warmSet: base + ".warm-set")
    }
}

public struct ManagerFiles: Equatable {
    public var socket: String
    public var lock: String
    public var log: String
    /// The modules the next clean host imports instead of collecting every test file (the learned set).
    public var warmSet: String
}

/// An error whose message is written for the user: what happened and what to do.
public struct UserFacingError: Error, CustomStringConvertible {
    public var description: String
    public init(_ description: String) { self.description = description }
}
