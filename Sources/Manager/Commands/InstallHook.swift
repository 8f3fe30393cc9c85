import ArgumentParser
import Glibc
import PytestdCore
import PytestdPosix

/// `pytestd install-hook` / `uninstall-hook`: the interpreter hook of one venv (see `InterpreterHook`).
/// Editors' test runners and tools such as tox start `python -m pytest` or a runner script, never the
/// `pytest` shim; with the hook, those interpreter starts are served warm too.
struct InstallHook: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Serve `python -m pytest …` and VS Code's test runner warm in this venv (a .pth hook).",
        discussion: """
            Writes pytestd-hook.pth and _pytestd_hook.py into the venv's site-packages. Every other \
            start of the venv's python returns from the hook at once.
            """)

    @Option(help: "The venv's interpreter (default: the one `pytest` would use in this directory).")
    var python: String?

    func run() throws {
        let venv = try HookedVenv(python: python)
        guard let source = FileSystem.readText(ProjectRoot.join(try Installation.locate().pythonPackageDirectory, "pytestd/_interpreter_hook.py")),
              source.contains(HookedVenv.shimPlaceholder)
        else {
            throw UserFacingError("pytestd's interpreter hook source (python/pytestd/_interpreter_hook.py) is missing")
        }
        let shim = ProjectRoot.join(ProjectRoot.parent(of: FileSystem.currentExecutable() ?? "/"), "pytest")
        guard FileSystem.isExecutableFile(shim) else { throw UserFacingError("\(shim) is missing: install pytest and pytestd side by side") }
        let module = source.replacing(HookedVenv.shimPlaceholder, with: "SHIM = \(pythonStringLiteral(shim))", maxReplacements: 1)
        try FileSystem.writeAtomically(module, to: venv.module, mode: 0o644)
        // The .pth last: a hook line without its module would print an error at every start.
        try FileSystem.writeAtomically(InterpreterHook.pthLine + "\n", to: venv.pth, mode: 0o644)
        print("interpreter hook installed: \(venv.pth)")
        print("`\(venv.python) -m pytest …` and VS Code's test runner are now served by pytestd (remove: pytestd uninstall-hook)")
    }

    private func pythonStringLiteral(_ text: String) -> String {
        "\"" + text.replacing("\\", with: "\\\\").replacing("\"", with: "\\\"") + "\""
    }
}

struct UninstallHook: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Remove the interpreter hook from this venv.")

    @Option(help: "The venv's interpreter (default: the one `pytest` would use in this directory).")
    var python: String?

    func run() throws {
        let venv = try HookedVenv(python: python)
        let cache = ProjectRoot.join(venv.sitePackages, "__pycache__")
        let compiled = FileSystem.entries(of: cache).filter { $0.hasPrefix("_pytestd_hook.") }.map { ProjectRoot.join(cache, $0) }
        var removed = false
        // The .pth first: a module without its .pth is never imported.
        for path in [venv.pth, venv.module] + compiled where unlink(path) == 0 { removed = true }
        print(removed ? "interpreter hook removed from \(venv.sitePackages)" : "no interpreter hook in \(venv.sitePackages)")
    }
}

/// The venv an interpreter hook goes into, and its files.
struct HookedVenv {
    static let shimPlaceholder = "SHIM = None  # written by `pytestd install-hook`"

    var python: String
    var sitePackages: String
    var pth: String { ProjectRoot.join(sitePackages, InterpreterHook.pthFile) }
    var module: String { ProjectRoot.join(sitePackages, InterpreterHook.moduleFile) }

    init(python explicit: String?) throws {
        let python = try explicit ?? CommandContext().client.identity.interpreter
        guard FileSystem.isExecutableFile(python) else { throw UserFacingError("\(python) is not an executable") }
        // Only a venv: a hook in a base installation would reach every venv and tool built on it.
        guard FileSystem.exists(PythonInstallation.venvConfiguration(of: python)) else {
            throw UserFacingError("\(python) is not a venv's interpreter (no pyvenv.cfg beside its bin/); the hook is per venv")
        }
        self.python = python
        sitePackages = try PythonInstallation.probe(python).sitePackages
    }

    /// For `pytestd status` without a running manager: a venv's site-packages without asking Python.
    static func installedPth(interpreter: String) -> String? {
        let lib = ProjectRoot.join(ProjectRoot.parent(of: ProjectRoot.parent(of: interpreter)), "lib")
        return FileSystem.entries(of: lib).lazy.filter { $0.hasPrefix("python") }
            .map { ProjectRoot.join(ProjectRoot.join(ProjectRoot.join(lib, $0), "site-packages"), InterpreterHook.pthFile) }
            .first(where: FileSystem.exists)
    }
}
