import CPosix
import Glibc
import PytestdCore

/// The handful of file-system questions pytestd asks, as plain functions over absolute paths.
public enum FileSystem {
    public static func exists(_ path: String) -> Bool { access(path, F_OK) == 0 }

    public static func isExecutableFile(_ path: String) -> Bool {
        var st = stat()
        return stat(path, &st) == 0 && (st.st_mode & S_IFMT) == S_IFREG && access(path, X_OK) == 0
    }

    public static func isRegularFile(_ path: String) -> Bool {
        var st = stat()
        return stat(path, &st) == 0 && (st.st_mode & S_IFMT) == S_IFREG
    }

    /// Whether inotify sees every change to files under `path`: not on network and FUSE file
    /// systems, whose files change on other machines or in other kernels' caches without an event.
    public static func hasReliableChangeEvents(_ path: String) -> Bool {
        let type = cposix_file_system_type(path)
        guard type >= 0 else { return false }
        let remote: Set<Int64> = [
            0x6969, 0x517B, 0xFF53_4D42, 0xFE53_4D42, 0x6573_5546, 0x0102_1997, 0x7375_7245, 0x5346_414F,
            0x00C3_6400, 0x0116_1970, 0x7461_636F,
        ]  // NFS, SMB, CIFS, SMB2, FUSE, 9p, Coda, AFS, Ceph, GFS2, OCFS2
        return !remote.contains(Int64(UInt32(truncatingIfNeeded: type)))
    }

    public static func isDirectory(_ path: String) -> Bool {
        var st = stat()
        return stat(path, &st) == 0 && (st.st_mode & S_IFMT) == S_IFDIR
    }

    /// The contents of a regular file up to `limit` bytes, or nil.
    public static func read(_ path: String, limit: Int = 1 << 20) -> Bytes? {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var st = stat()
        guard fstat(fd, &st) == 0, (st.st_mode & S_IFMT) == S_IFREG else { return nil }
        var result: Bytes = []
        var chunk = Bytes(repeating: 0, count: 65536)
        while result.count < limit {
            let n = chunk.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress, min($0.count, limit - result.count)) }
            if n < 0 && errno == EINTR { continue }
            if n <= 0 { break }
            result.append(contentsOf: chunk[0..<n])
        }
        return result
    }

    public static func readText(_ path: String, limit: Int = 1 << 20) -> String? {
        read(path, limit: limit).map { String(decoding: $0, as: UTF8.self) }
    }

    /// Replaces `path` with `text` all at once (a temporary file in the same directory, then rename):
    /// a reader sees the old file or the new one, never part of either.
    public static func writeAtomically(_ text: String, to path: String, mode: mode_t = 0o600) throws {
        let temporary = "\(path).\(getpid()).tmp"
        let fd = open(temporary, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode)
        guard fd >= 0 else { throw PosixError("create \(temporary)") }
        var bytes = Array(text.utf8)[...]
        while !bytes.isEmpty {
            let n = bytes.withUnsafeBytes { Glibc.write(fd, $0.baseAddress, $0.count) }
            if n < 0 && errno == EINTR { continue }
            guard n > 0 else {
                let error = PosixError("write \(temporary)")
                close(fd)
                unlink(temporary)
                throw error
            }
            bytes = bytes.dropFirst(n)
        }
        close(fd)
        guard rename(temporary, path) == 0 else {
            let error = PosixError("rename \(temporary)")
            unlink(temporary)
            throw error
        }
    }

    /// Writes all of `bytes` to `fd` (a blocking descriptor), retrying short writes; false on an error.
    @discardableResult
    public static func writeAll(_ fd: Int32, _ bytes: [UInt8]) -> Bool {
        var offset = 0
        while offset < bytes.count {
            let n = bytes.withUnsafeBytes { Glibc.write(fd, $0.baseAddress! + offset, $0.count - offset) }
            if n < 0 && errno == EINTR { continue }
            if n <= 0 { return false }
            offset += n
        }
        return true
    }

    /// Creates `path` and its missing parents (mode 0700).
    public static func makeDirectories(_ path: String) throws {
        guard !isDirectory(path) else { return }
        let parent = ProjectRoot.parent(of: path)
        if parent != path, !parent.isEmpty { try makeDirectories(parent) }
        guard mkdir(path, 0o700) == 0 || errno == EEXIST else { throw PosixError("create \(path)") }
    }

    public static func realPath(_ path: String) -> String? {
        guard let resolved = realpath(path, nil) else { return nil }
        defer { free(resolved) }
        return String(cString: resolved)
    }

    public static func currentDirectory() -> String? {
        currentDirectoryBytes().map { String(decoding: $0, as: UTF8.self) }
    }

    /// The working directory as the kernel spells it (not necessarily UTF-8).
    public static func currentDirectoryBytes() -> Bytes? {
        guard let cwd = getcwd(nil, 0) else { return nil }
        defer { free(cwd) }
        return CStrings.bytes(cwd)
    }

    /// The absolute path of the running executable, symlinks resolved.
    public static func currentExecutable() -> String? { realPath("/proc/self/exe") }

    /// Device, inode, size and change times: equal fingerprints mean an unchanged file for every
    /// write path an editor can take (in place, or a new file renamed over the old one).
    public struct Fingerprint: Equatable, Hashable, CustomStringConvertible {
        public var device: UInt64
        public var inode: UInt64
        public var size: Int64
        public var modified: timespec
        public var changed: timespec

        public init(device: UInt64, inode: UInt64, size: Int64, modified: timespec, changed: timespec) {
            (self.device, self.inode, self.size, self.modified, self.changed) = (device, inode, size, modified, changed)
        }

        public static func == (a: Fingerprint, b: Fingerprint) -> Bool {
            a.device == b.device && a.inode == b.inode && a.size == b.size
                && a.modified.tv_sec == b.modified.tv_sec && a.modified.tv_nsec == b.modified.tv_nsec
                && a.changed.tv_sec == b.changed.tv_sec && a.changed.tv_nsec == b.changed.tv_nsec
        }

        public func hash(into hasher: inout Hasher) {
            hasher.combine(inode)
            hasher.combine(modified.tv_nsec)
        }

        public var description: String {
            "\(device):\(inode):\(size):\(modified.tv_sec).\(modified.tv_nsec)"
        }
    }

    /// nil when the path does not exist (a deleted file is a change too).
    public static func fingerprint(_ path: String) -> Fingerprint? {
        var st = stat()
        guard stat(path, &st) == 0 else { return nil }
        return Fingerprint(
            device: UInt64(st.st_dev), inode: UInt64(st.st_ino), size: Int64(st.st_size),
            modified: st.st_mtim, changed: st.st_ctim)
    }

    /// What a path is, following symbolic links; nil when it does not exist.
    public static func kind(_ path: String) -> FileTree.Kind? {
        var st = stat()
        guard stat(path, &st) == 0 else { return nil }
        switch st.st_mode & S_IFMT {
        case S_IFREG: return .file
        case S_IFDIR: return .directory
        default: return .other
        }
    }

    /// The real file system as the rootdir rules see it.
    public static let tree = FileTree(kind: kind, read: { readText($0, limit: 1 << 20) })

    /// The names in a directory (without `.` and `..`), or [] when it cannot be read.
    public static func entries(of directory: String) -> [String] {
        guard let handle = opendir(directory) else { return [] }
        defer { closedir(handle) }
        var names: [String] = []
        while let entry = readdir(handle) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
            if name != "." && name != ".." { names.append(name) }
        }
        return names
    }

    public static func fileName(of path: String) -> String {
        path.split(separator: "/").last.map(String.init) ?? path
    }
}
