/// The safety net's memory for one project: a warm run declined (it failed before its first test in
/// a way a fresh process might not), so the project's runs go straight to plain pytest until a file
/// that could change that changes — pytest's configuration, a conftest, a patch — or `pytestd restart`.
public struct ColdServing: Equatable, Sendable {
    /// What the declined run failed on, as the shim shows it.
    public var reason: String

    public init(reason: String) { self.reason = reason }

    /// Files where pytest reads its configuration (at any depth: `-c`, `--rootdir` and subprojects).
    public static let configurationFiles: Set<String> = ["pytest.ini", ".pytest.ini", "pyproject.toml", "tox.ini", "setup.cfg"]

    /// Whether a change to `path` may make the project's warm runs work again.
    public static func isCleared(byChangeTo path: String, patchDirectories: [String]) -> Bool {
        let name = ProjectRoot.basename(path)
        if name == "conftest.py" || configurationFiles.contains(name) { return true }
        return patchDirectories.contains { directory in
            let prefix = directory.hasSuffix("/") ? directory : directory + "/"
            return path.hasPrefix(prefix)
        }
    }

    static let until = "until its pytest configuration, a conftest or a pytestd patch changes (or `pytestd restart`); "
        + "a run patch can make such code run warm (README: Run patches)"

    /// The shim's note for the run that declined; `remember`: the project is served cold from now on.
    public static func declineNote(_ reason: String, remember: Bool) -> String {
        remember
            ? "the warm run failed before its first test: \(reason) — serving this project cold \(until)"
            : "the warm template cannot serve this run: \(reason)"
    }

    /// The shim's note for each later run while the memory holds.
    public var note: String { "serving this project cold: a warm run failed before its first test: \(reason) — \(Self.until)" }
}
