import Glibc
import PytestdCore
import PytestdPosix

/// Watches the project tree (recursively), the venv's site-packages, and each directory outside the
/// tree that holds a file a template loaded or that the import system searched, with inotify.
///
/// Events are a hint, not the proof: `Freshness` re-checks the files a host loaded before every
/// run. But events are synchronous with the writer's syscall, so draining them before serving a
/// run catches even an edit that leaves size and timestamp unchanged.
final class SourceWatcher {
    struct Change: Equatable {
        enum Kind { case modified, created, removed }
        var path: String
        var kind: Kind
    }

    enum Event: Equatable {
        case changed(Change)
        /// The kernel dropped events: anything may have changed.
        case overflow
    }

    let fd: Int32
    /// Every name a watched directory was added under: inotify gives one watch per inode, so
    /// `/app/../lib` and `/lib` share one, and each name gets the event.
    private var directories: [Int32: [String]] = [:]
    /// The watch under each name, and the directory (device, inode) it was added on: a path that
    /// names another directory now (an ancestor was renamed) is not watched.
    private var watched: [String: WatchedDirectory] = [:]

    struct WatchedDirectory: Equatable {
        var descriptor: Int32
        var device: UInt64
        var inode: UInt64
    }
    /// Set when the tree has more directories than inotify allows us to watch.
    private(set) var incompleteReason: String?

    private static let mask: UInt32 = 0x2 | 0x4 | 0x8 | 0x40 | 0x80 | 0x100 | 0x200 | 0x400 | 0x800
    private static let isDirectory: UInt32 = 0x4000_0000
    private static let queueOverflow: UInt32 = 0x4000

    init() throws {
        fd = try retryingOnInterrupt("inotify_init1") { inotify_init1(Int32(IN_NONBLOCK | IN_CLOEXEC)) }
    }

    /// Directory names never worth watching: VCS and tool caches, bytecode, virtual environments.
    static func isIgnoredDirectory(name: String, path: String) -> Bool {
        name.hasPrefix(".") || name == "__pycache__" || name == "node_modules"
            || FileSystem.exists(ProjectRoot.join(path, "pyvenv.cfg"))
    }

    /// Files that tools write as a side effect of running: bytecode and pytest's cache (made as a
    /// `pytest-cache-files-*` directory, then renamed).
    static func isNoise(_ name: String) -> Bool {
        name == "__pycache__" || name == ".pytest_cache" || name.hasSuffix(".pyc") || name.hasPrefix("pytest-cache-files-")
    }

    /// Watches `directory` and, if `recursive`, every directory below it that is not ignored.
    func watch(_ directory: String, recursive: Bool) {
        let before = FileSystem.fingerprint(directory)
        let wd = inotify_add_watch(fd, directory, Self.mask)
        guard wd >= 0 else {
            if errno == ENOSPC {
                incompleteReason = "inotify watch limit reached (raise fs.inotify.max_user_watches)"
            }
            return
        }
        if !(directories[wd] ?? []).contains(directory) { directories[wd, default: []].append(directory) }
        // The same directory before and after: the watch is on the inode the path names.
        if let before, let after = FileSystem.fingerprint(directory), before.device == after.device, before.inode == after.inode {
            watched[directory] = WatchedDirectory(descriptor: wd, device: after.device, inode: after.inode)
        } else {
            watched[directory] = nil
        }
        guard recursive, let dir = opendir(directory) else { return }
        defer { closedir(dir) }
        while let entry = readdir(dir) {
            guard entry.pointee.d_type == DT_DIR else { continue }
            let name = withUnsafeBytes(of: entry.pointee.d_name) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
            guard name != ".", name != ".." else { continue }
            let path = ProjectRoot.join(directory, name)
            if !Self.isIgnoredDirectory(name: name, path: path) { watch(path, recursive: true) }
        }
    }

    /// The watch on `directory`, if the path still names the directory it was added on.
    func watch(of directory: String) -> WatchedDirectory? {
        guard let watch = watched[directory], let now = FileSystem.fingerprint(directory),
              now.device == watch.device, now.inode == watch.inode else { return nil }
        return watch
    }

    /// Every event queued so far (non-blocking); new directories under a recursive watch are added.
    func drain(recursiveUnder root: String) -> [Event] {
        var events: [Event] = []
        var buffer = [UInt8](repeating: 0, count: 64 * 1024)
        while true {
            let n = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if n < 0 && errno == EINTR { continue }
            guard n > 0 else { return events }
            var offset = 0
            while offset + 16 <= n {
                let wd = buffer.load(Int32.self, at: offset)
                let mask = buffer.load(UInt32.self, at: offset + 4)
                let length = Int(buffer.load(UInt32.self, at: offset + 12))
                let name = String(decoding: buffer[(offset + 16)..<(offset + 16 + length)].prefix { $0 != 0 }, as: UTF8.self)
                offset += 16 + length
                if mask & Self.queueOverflow != 0 {
                    events.append(.overflow)
                    continue
                }
                guard let names = directories[wd], !Self.isNoise(name) else { continue }
                if mask & 0x8000 != 0 {  // IN_IGNORED: the watch is gone.
                    directories[wd] = nil
                    for name in names where watched[name]?.descriptor == wd { watched[name] = nil }
                }
                for directory in names {
                    let path = name.isEmpty ? directory : ProjectRoot.join(directory, name)
                    let kind: Change.Kind
                    if mask & (0x100 | 0x80) != 0 {
                        kind = .created
                        if mask & Self.isDirectory != 0, path.hasPrefix(root), !Self.isIgnoredDirectory(name: name, path: path) {
                            watch(path, recursive: true)
                        }
                    } else if mask & (0x200 | 0x40 | 0x400 | 0x800) != 0 {
                        kind = .removed
                    } else {
                        kind = .modified
                    }
                    events.append(.changed(Change(path: path, kind: kind)))
                }
            }
        }
    }
}

extension Array where Element == UInt8 {
    fileprivate func load<T: FixedWidthInteger>(_ type: T.Type, at offset: Int) -> T {
        withUnsafeBytes { $0.loadUnaligned(fromByteOffset: offset, as: T.self) }
    }
}
