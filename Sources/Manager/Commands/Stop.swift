import ArgumentParser
import Glibc
import PytestdCore
import PytestdPosix

struct Stop: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Stop this project's manager, its hosts and their runs; returns once they are gone.")

    func run() throws {
        let context = try CommandContext()
        guard let fields = try context.statusFields(), let channel = try context.client.connectIfRunning() else {
            print("not running")
            return
        }
        let pids = fields.filter { $0.key.hasSuffix("pid") }.compactMap { pid_t($0.value) }
        _ = try? context.send(.stop, to: channel)
        let deadline = monotonicSeconds() + 10
        while pids.contains(where: { kill($0, 0) == 0 }) {
            guard monotonicSeconds() < deadline else {
                throw UserFacingError("processes \(pids.filter { kill($0, 0) == 0 }) are still running after 10 s")
            }
            usleep(10_000)
        }
        print("stopped")
    }
}
