import PytestdCore
import PytestdPosix

/// What the manager learns by asking the project's interpreter about itself: at start, and again
/// whenever its fingerprint changed (a venv recreated in place) or on `pytestd restart`.
struct PythonInstallation {
    var version: (major: Int, minor: Int, micro: Int)
    var libpython: String
    var sitePackages: String
    /// The standard library's directories: installed code, like site-packages.
    var standardLibrary: [String]

    var versionString: String { "\(version.major).\(version.minor).\(version.micro)" }

    /// The interpreters one pytestd build is known to embed.
    static let supportedMinorVersions = 8...13

    private static let probe = """
        import os, sys, sysconfig
        v = sysconfig.get_config_var
        print("%d.%d.%d" % sys.version_info[:3])
        print(os.path.join(v("LIBDIR") or "", v("INSTSONAME") or "") if v("Py_ENABLE_SHARED") else "")
        print(sysconfig.get_paths()["purelib"])
        print(sysconfig.get_paths()["stdlib"])
        print(sysconfig.get_paths()["platstdlib"])
        """

    /// What the probe's answers depend on: the binary `interpreter` resolves to and the venv's
    /// `pyvenv.cfg`. `python -m venv --clear` on the same path with another Python changes it.
    static func fingerprint(of interpreter: String) -> [String] {
        [FileSystem.realPath(interpreter) ?? "missing"]
            + [interpreter, venvConfiguration(of: interpreter)].map { FileSystem.fingerprint($0)?.description ?? "missing" }
    }

    /// The venv's `pyvenv.cfg`, beside its `bin/`.
    static func venvConfiguration(of interpreter: String) -> String {
        ProjectRoot.join(ProjectRoot.parent(of: ProjectRoot.parent(of: interpreter)), "pyvenv.cfg")
    }

    /// Asks `interpreter`; throws a user-facing reason when this interpreter cannot be embedded. Not
    /// with `-S`: without `site` a venv's interpreter reports its base installation's site-packages.
    static func probe(_ interpreter: String) throws -> PythonInstallation {
        let output = try Subprocess.output(of: interpreter, arguments: ["-I", "-c", probe])
        let lines = output.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        let numbers = lines.first?.split(separator: ".").compactMap { Int($0) } ?? []
        guard lines.count >= 5, numbers.count == 3 else {
            throw UserFacingError("\(interpreter) gave an unexpected self-description: \(output.debugDescription)")
        }
        let installation = PythonInstallation(
            version: (numbers[0], numbers[1], numbers[2]), libpython: lines[1], sitePackages: lines[2],
            standardLibrary: [lines[3], lines[4]])
        guard numbers[0] == 3, supportedMinorVersions.contains(numbers[1]) else {
            throw UserFacingError("Python \(installation.versionString) is not supported by this pytestd (3.8 to 3.13 are)")
        }
        guard !installation.libpython.isEmpty, FileSystem.exists(installation.libpython) else {
            throw UserFacingError("\(interpreter) (Python \(installation.versionString)) has no shared libpython to embed; rebuild it with --enable-shared (pyenv: PYTHON_CONFIGURE_OPTS=--enable-shared)")
        }
        return installation
    }
}
