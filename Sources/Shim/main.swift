// The drop-in `pytest` (see ShimInvocation). Kept free of the TOML parser and Foundation so it starts
// in about a millisecond: a project that configures `[tool.pytestd]` while no venv is active is
// handed to `pytestd run`, which reads the configuration.
import Glibc
import PytestdClient
import PytestdCore
import PytestdPosix

let arguments = CStrings.arguments()
ShimInvocation.main(arguments: arguments) { root in
    let pyproject = ProjectRoot.join(root.path, "pyproject.toml")
    guard let text = FileSystem.readText(pyproject),
          ConfigurationText.tomlKeyPaths(in: text)?.contains(where: { $0.starts(with: ["tool", "pytestd"]) }) == true
    else {
        return nil
    }
    let pytestd = try ManagerClient.managerExecutable(in: ProjectRoot.parent(of: FileSystem.currentExecutable() ?? "/"))
    let argv = [pytestd, "run", "--"].map { Bytes($0.utf8) } + arguments.dropFirst()
    execv(pytestd, argv.map(CStrings.copy) + [nil])
    throw PosixError("exec \(pytestd)")
}
