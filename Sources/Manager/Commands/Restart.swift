import ArgumentParser
import PytestdCore
import PytestdPosix

struct Restart: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Retire the warm host and build a new one from scratch (a full reload).")

    @Flag(help: "Return at once instead of waiting for the new host.")
    var noWait = false

    func run() throws {
        let context = try CommandContext()
        guard try context.sendStarting(.restart) == .acknowledged else {
            throw UserFacingError("the manager refused the restart")
        }
        guard !noWait else { return }
        if case .refused(let reason) = try context.sendStarting(.waitUntilReady) {
            printError("the warm host cannot start: \(reason)")
            throw ExitCode(1)
        }
        printFields(try context.statusFields() ?? [])
    }
}
