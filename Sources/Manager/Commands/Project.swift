import ArgumentParser
import PytestdCore
import PytestdPosix

/// `pytestd project [-- ARGS]`: which project, interpreter and manager `pytest ARGS` would use here,
/// by pytest's own rootdir rules, or why plain pytest would run it.
struct Project: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Show the project (pytest's rootdir and configuration file) and manager `pytest ARGS` would use.",
        discussion: """
            Example: pytestd project -- app/tests/test_x.py
            Exits with status 4 when pytestd would hand the invocation to plain pytest.
            """)

    @Argument(parsing: .captureForPassthrough, help: "pytest's arguments.")
    var pytestArguments: [String] = []

    func run() throws {
        let arguments = pytestArguments.first == "--" ? Array(pytestArguments.dropFirst()) : pytestArguments
        let context: CommandContext
        do {
            context = try CommandContext(pytestArguments: arguments)
        } catch let error as UserFacingError {
            print("plain pytest: \(error)")
            throw ExitCode(4)
        } catch let error as PytestRejectsArguments {
            print("plain pytest: pytest rejects the arguments (\(error))")
            throw ExitCode(4)
        }
        let identity = context.client.identity
        printFields([
            StatusField("rootdir", identity.root.path),
            StatusField("configfile", identity.root.configFile ?? "(none)"),
            StatusField("confcutdir", identity.root.confcutdir ?? "(not given)"),
            StatusField("python", "\(identity.interpreter) (from \(identity.interpreterSource))"),
            StatusField("manager", "\(identity.key) (\(try context.statusFields() == nil ? "not running" : "running"))"),
            StatusField("socket", context.client.files.socket),
        ])
    }
}
