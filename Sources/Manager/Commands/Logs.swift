import ArgumentParser
import Glibc
import PytestdPosix

struct Logs: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Print this project's manager and host log (the rotated part `<log>.1` first).")

    @Option(name: .shortAndLong, help: "Only the last N lines.")
    var lines: Int?

    func run() throws {
        let context = try CommandContext()
        let path = context.client.files.log
        let rotated = path + ".1"
        guard FileSystem.exists(path) || FileSystem.exists(rotated) else {
            throw UserFacingError("no log at \(path) (the manager has not run for this project)")
        }
        guard let lines else {
            for file in [rotated, path] { LogFile.copyToStandardOutput(file) }
            return
        }
        var last = LogFile.lastLines(lines, of: path)
        if last.count < lines { last = LogFile.lastLines(lines - last.count, of: rotated) + last }
        for line in last { FileSystem.writeAll(1, line + [UInt8(ascii: "\n")]) }
    }
}

/// Reading a log of any size: from its end for `--lines`, in blocks for the whole.
enum LogFile {
    static let blockSize = 1 << 16

    /// The last `count` lines, read backwards in blocks from the end of the file.
    static func lastLines(_ count: Int, of path: String) -> [[UInt8]] {
        guard count > 0 else { return [] }
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return [] }
        defer { close(fd) }
        var info = stat()
        guard fstat(fd, &info) == 0 else { return [] }
        var offset = Int(info.st_size)
        var blocks: [[UInt8]] = []
        var newlines = 0
        // One newline more than lines wanted (the final one ends the last line).
        while offset > 0 && newlines <= count {
            let size = min(blockSize, offset)
            var block = [UInt8](repeating: 0, count: size)
            let n = block.withUnsafeMutableBytes { pread(fd, $0.baseAddress, size, off_t(offset - size)) }
            guard n == size else { break }
            offset -= size
            newlines += block.lazy.filter { $0 == UInt8(ascii: "\n") }.count
            blocks.append(block)
        }
        var found = Array(blocks.reversed().joined()).split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false).map(Array.init)
        if found.last?.isEmpty == true { found.removeLast() }
        // A line cut by the block boundary is not whole unless the file starts there.
        if offset > 0 && found.count > count { found.removeFirst() }
        return Array(found.suffix(count))
    }

    static func copyToStandardOutput(_ path: String) {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return }
        defer { close(fd) }
        var block = [UInt8](repeating: 0, count: blockSize)
        while true {
            let n = block.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if n < 0 && errno == EINTR { continue }
            if n <= 0 { return }
            guard FileSystem.writeAll(1, Array(block[0..<n])) else { return }
        }
    }
}
