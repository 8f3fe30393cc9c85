import ArgumentParser
import PytestdClient
import PytestdCore
import PytestdPosix
import PytestdSettings

/// `pytestd run -- ARGS`: exactly what the `pytest` shim does, for editors and scripts that call
/// pytestd by name, and for the shim itself when only the configuration can name the interpreter.
struct Run: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run pytest ARGS through the warm daemon (what the `pytest` shim does).",
        discussion: "Example: pytestd run -- -q tests/test_models.py -k saves")

    @Argument(parsing: .captureForPassthrough, help: "pytest's arguments.")
    var pytestArguments: [String] = []

    func run() throws {
        // The parser decoded them as UTF-8; pytest must get the bytes the caller passed (the last ones).
        let raw = CStrings.arguments().suffix(pytestArguments.count)
        let arguments = pytestArguments.first == "--" ? Array(raw.dropFirst()) : Array(raw)
        ShimInvocation.main(arguments: [Bytes("pytest".utf8)] + arguments) { root in
            try ProjectSettings.load(root: root.path).python
        }
    }
}
