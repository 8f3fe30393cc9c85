/// Which files pytest reads configuration from, and whether one holds any: `CONFIG_LOADERS_BY_NAME`
/// and friends in `_pytest/config/findpaths.py`, per pytest version.
enum ConfigurationFile {
    /// pytestd's TOML reading failed: pytest fails too, unless the reading is wrong, so say so.
    struct UnreadableToml: Error {}

    /// The names `locate_config` looks for in each directory, in precedence order.
    static func discoveredNames(version: PytestVersion) -> [String] {
        let names = ["pytest.ini", ".pytest.ini", "pyproject.toml", "tox.ini", "setup.cfg"]
        return version >= PytestVersion(9, 0) ? ["pytest.toml", ".pytest.toml"] + names : names
    }

    static func suffix(of path: String) -> String {
        let name = ProjectRoot.basename(path)
        guard let dot = name.lastIndex(of: "."), dot != name.startIndex else { return "" }
        return String(name[dot...])
    }

    /// pytest ≥ 9 reads a `-c` file by its name, else its suffix; nil when it has no reader for it.
    static func loader(forConfigFileOption path: String) -> String? {
        let name = ProjectRoot.basename(path)
        if discoveredNames(version: .newest).contains(name) { return name }
        return [".ini", ".cfg", ".toml"].contains(suffix(of: path)) ? suffix(of: path) : nil
    }

    /// Whether a discovered file holds pytest configuration (so its directory is the rootdir).
    /// Throws where pytest fails on the file (unreadable TOML, `[pytest]` in setup.cfg).
    static func holdsConfiguration(name: String, text: String, version: PytestVersion) throws -> Bool {
        switch name {
        case "pytest.toml", ".pytest.toml":
            return true
        case "pytest.ini":
            return true
        case ".pytest.ini":
            // pytest < 9 read it as any `.ini` file: configuration only with a [pytest] section.
            return version >= PytestVersion(9, 0) || ConfigurationText.iniSections(in: text).contains("pytest")
        case "tox.ini":
            return ConfigurationText.iniSections(in: text).contains("pytest")
        case "setup.cfg":
            let sections = ConfigurationText.iniSections(in: text)
            if sections.contains("tool:pytest") { return true }
            if sections.contains("pytest") {
                throw SetupRules.UsageError(description: "[pytest] section in setup.cfg files is no longer supported")
            }
            return false
        case "pyproject.toml":
            guard let keys = ConfigurationText.tomlKeyPaths(in: text) else { throw UnreadableToml() }
            let pytestKeys = keys.filter { $0.count >= 3 && $0[0] == "tool" && $0[1] == "pytest" }
            let iniOptions = pytestKeys.contains { $0[2] == "ini_options" }
            // pytest 9 reads native `[tool.pytest]` keys too: any key of tool.pytest but ini_options.
            let native = version >= PytestVersion(9, 0) && pytestKeys.contains { $0[2] != "ini_options" }
            if iniOptions && native {
                throw SetupRules.UsageError(description: "both [tool.pytest] and [tool.pytest.ini_options] in pyproject.toml")
            }
            return iniOptions || native
        default:
            return false
        }
    }
}
