import ArgumentParser

/// `pytestd`: the manager daemon and the verbs to control it. Every verb acts on the project and
/// interpreter that `pytest` would use in the current directory.
@main
struct Pytestd: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "pytestd",
        abstract: "A warm pytest daemon: `pytest` runs served from a pre-imported interpreter.",
        discussion: """
            Put the `pytest` shim on PATH (see `pytestd shell-init`); the first run starts the
            manager for the current project and interpreter automatically.
            """,
        version: "0.1.0",
        subcommands: [Run.self, Start.self, Stop.self, Status.self, Restart.self, Logs.self, Project.self, ShellInit.self, Serve.self, Imports.self, InstallHook.self, UninstallHook.self]
    )
}
