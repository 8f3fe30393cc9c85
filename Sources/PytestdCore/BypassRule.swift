/// Decides which invocations the warm daemon does not serve, so the shim runs the real pytest.
///
/// The shim must never be worse than not having it: anything the forked-template model cannot
/// reproduce exactly goes to the real pytest, with one line on stderr saying why.
public enum BypassRule {
    /// Options whose plugins start their own processes or tracing and so cannot share a warm,
    /// forked interpreter (coverage must trace imports that the template already did).
    public static let routedOptions: [String] = [
        "--cov", "--cov-report", "--cov-config", "--cov-append", "--cov-branch", "--cov-fail-under",
        "--cov-context", "--no-cov", "-n", "--numprocesses", "--dist", "--looponfail", "-f",
        "--maxprocesses", "--tx",
    ]

    /// Interpreter start-up variables that change the interpreter itself (paths, hashing, flags): a
    /// forked template was started without them, so the run would differ from plain pytest.
    public static let interpreterStartupVariables: Set<String> = [
        "PYTHONHOME", "PYTHONHASHSEED", "PYTHONOPTIMIZE", "PYTHONDEVMODE",
        "PYTHONWARNINGS", "PYTHONUTF8", "PYTHONNOUSERSITE", "PYTHONUSERBASE",
        "PYTHONPYCACHEPREFIX", "PYTHONTRACEMALLOC", "PYTHONPLATLIBDIR", "PYTHONEXECUTABLE",
        "PYTHONMALLOC", "PYTHONCOERCECLOCALE", "PYTHONINTMAXSTRDIGITS", "PYTHONNODEBUGRANGES",
        "PYTHONFROZENMODULES", "PYTHONPERFSUPPORT", "PYTHONINSPECT", "PYTHONVERBOSE", "PYTHONDEBUG",
        "PYTHON_GIL", "PYTHON_CPU_COUNT", "PYTHON_FROZEN_MODULES",
    ]

    /// Variables the run child applies itself (they are per-run switches, not interpreter shape).
    /// PYTHONPATH's entries go where the interpreter puts them, unless one would shadow a module the
    /// template imported (then the run is plain; see `_run.py`): editors' test runners always set it.
    public static let emulatedVariables: Set<String> = [
        "PYTHONPATH", "PYTHONDONTWRITEBYTECODE", "PYTHONUNBUFFERED", "PYTHONSAFEPATH", "PYTHONFAULTHANDLER",
        "PYTHONBREAKPOINT", "PYTHONIOENCODING",
    ]

    /// Why this invocation must run under the real pytest, or nil when the daemon serves it.
    /// `extraRoutedOptions` comes from `[tool.pytestd] bypass_options`.
    public static func reason(
        argv: [String], environment: [String: String], extraRoutedOptions: [String] = []
    ) -> String? {
        if let value = environment["PYTESTD_DISABLE"], !value.isEmpty, value != "0" {
            return "PYTESTD_DISABLE is set"
        }
        for name in environment.keys.sorted() where interpreterStartupVariables.contains(name) {
            if environment[name]?.isEmpty == false { return "\(name) is set" }
        }
        if let option = routedOption(in: argv, extra: extraRoutedOptions) {
            return "\(option) is not served by the daemon"
        }
        return nil
    }

    /// The first argument that names a routed option, in any of its spellings (`--cov`, `--cov=src`,
    /// `-n4`, `-n 4`), up to a `--` separator.
    public static func routedOption(in argv: [String], extra: [String]) -> String? {
        let options = routedOptions + extra
        for argument in argv.dropFirst() {
            if argument == "--" { break }
            if let option = options.first(where: { names(argument, $0) }) { return option }
        }
        return nil
    }

    private static func names(_ argument: String, _ option: String) -> Bool {
        if argument == option || argument.hasPrefix(option + "=") { return true }
        // xdist's short option takes its value glued on: -n4, -nauto.
        return option == "-n" && argument.hasPrefix("-n") && !argument.hasPrefix("--")
    }
}
