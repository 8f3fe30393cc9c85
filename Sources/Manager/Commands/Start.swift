import ArgumentParser
import PytestdCore
import PytestdPosix

struct Start: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Start the manager for this project and wait until its warm host is ready.")

    func run() throws {
        let context = try CommandContext()
        switch try context.sendStarting(.waitUntilReady) {
        case .acknowledged:
            printFields(try context.statusFields() ?? [])
        case .refused(let reason):
            printError("the warm host cannot start: \(reason)")
            throw ExitCode(1)
        case let other:
            throw UserFacingError("unexpected reply \(other)")
        }
    }
}
