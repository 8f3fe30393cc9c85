import PytestdCore
import PytestdPosix

/// Where pytestd's own files are: the host binary beside the manager, and the `python/` directory
/// holding the in-interpreter package in the nearest ancestor of the binaries' directory (beside
/// `bin/` when installed, the repository root in a build tree).
struct Installation {
    var hostExecutable: String
    var pythonPackageDirectory: String
    /// pytestd's built-in reload patches (`patches/`, beside `python/`).
    var builtInPatches: String

    static func locate() throws -> Installation {
        guard let me = FileSystem.currentExecutable() else { throw PosixError("resolve /proc/self/exe") }
        let binDirectory = ProjectRoot.parent(of: me)
        let host = ProjectRoot.join(binDirectory, "pytestd-host")
        guard FileSystem.isExecutableFile(host) else { throw UserFacingError("\(host) is missing") }
        let candidates = ProjectRoot.ancestors(of: binDirectory).map { ProjectRoot.join($0, "python") }
        guard let package = candidates.first(where: { FileSystem.exists(ProjectRoot.join($0, "pytestd/_run.py")) }) else {
            throw UserFacingError("pytestd's Python package (python/pytestd) was not found above \(binDirectory)")
        }
        return Installation(
            hostExecutable: host, pythonPackageDirectory: package,
            builtInPatches: ProjectRoot.join(ProjectRoot.parent(of: package), "patches"))
    }
}
