import ArgumentParser
import PytestdCore
import PytestdPosix

struct ShellInit: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "shell-init",
        abstract: "Print the lines that make `pytest` in your shell go through pytestd.",
        discussion: """
            bash/zsh: eval "$(pytestd shell-init bash)"   (add it to ~/.bashrc or ~/.zshrc)
            fish:     pytestd shell-init fish | source    (add it to ~/.config/fish/config.fish)
            """)

    enum Shell: String, ExpressibleByArgument, CaseIterable { case bash, zsh, fish }

    @Argument(help: "bash, zsh or fish.")
    var shell: Shell = .bash

    func run() throws {
        let directory = ProjectRoot.parent(of: FileSystem.currentExecutable() ?? "/")
        let shim = ProjectRoot.join(directory, "pytest")
        print("# pytestd: `pytest` is served by a warm daemon; PYTESTD_DISABLE=1 runs plain pytest.")
        switch shell {
        case .bash, .zsh:
            print("alias pytest='\(shim)'")
            print("alias py.test='\(shim)'")
            print("alias pytestd='\(ProjectRoot.join(directory, "pytestd"))'")
        case .fish:
            print("alias pytest '\(shim)'")
            print("alias py.test '\(shim)'")
            print("alias pytestd '\(ProjectRoot.join(directory, "pytestd"))'")
        }
    }
}
