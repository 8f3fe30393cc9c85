import ArgumentParser
import PytestdPosix

struct Logs: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Print this project's manager and host log.")

    @Option(name: .shortAndLong, help: "Only the last N lines.")
    var lines: Int?

    func run() throws {
        let context = try CommandContext()
        let path = context.client.files.log
        guard let text = FileSystem.readText(path, limit: 64 << 20) else {
            throw UserFacingError("no log at \(path) (the manager has not run for this project)")
        }
        var all = text.split(separator: "\n", omittingEmptySubsequences: false)
        if all.last == "" { all.removeLast() }
        for line in all.suffix(lines ?? all.count) { print(line) }
    }
}
