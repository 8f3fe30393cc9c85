import ArgumentParser

struct Status: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Show the manager for this project: pid, interpreter, state, host, runs, last retirement.",
        discussion: "Exits with status 3 when no manager is running (with --json: 0, state \"stopped\").")

    @Flag(help: "Print the versioned JSON document editors read (README: `pytestd status --json`).")
    var json = false

    func run() throws {
        let context = try CommandContext()
        if json {
            print(try context.statusDocument() ?? StatusDocument.stopped(identity: context.client.identity, files: context.client.files).json())
            return
        }
        guard let fields = try context.statusFields() else {
            print("not running")
            print("root: \(context.client.identity.root.path)")
            if let file = context.client.identity.root.configFile { print("configfile: \(file)") }
            print("python: \(context.client.identity.interpreter)")
            let pth = HookedVenv.installedPth(interpreter: context.client.identity.interpreter)
            print("interpreter hook: \(pth.map { "installed (\($0))" } ?? "not installed (pytestd install-hook)")")
            throw ExitCode(3)
        }
        printFields(fields)
    }
}
