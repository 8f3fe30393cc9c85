import PytestdCore
import PytestdPosix

/// Where pytestd's own files are: the host binary beside the manager, and the Python package either
/// installed under `<prefix>/share/pytestd/python` or in the source tree the binaries were built from.
struct Installation {
    var hostExecutable: String
    var pythonPackageDirectory: String

    static func locate() throws -> Installation {
        guard let me = FileSystem.currentExecutable() else { throw PosixError("resolve /proc/self/exe") }
        let binDirectory = ProjectRoot.parent(of: me)
        let host = ProjectRoot.join(binDirectory, "pytestd-host")
        guard FileSystem.isExecutableFile(host) else { throw UserFacingError("\(host) is missing") }
        let installed = ProjectRoot.join(ProjectRoot.parent(of: binDirectory), "share/pytestd/python")
        let candidates = [installed] + ProjectRoot.ancestors(of: binDirectory).map { ProjectRoot.join($0, "python") }
        guard let package = candidates.first(where: { FileSystem.exists(ProjectRoot.join($0, "pytestd/_run.py")) }) else {
            throw UserFacingError("pytestd's Python package was not found (looked in \(installed) and above \(binDirectory))")
        }
        return Installation(hostExecutable: host, pythonPackageDirectory: package)
    }
}
