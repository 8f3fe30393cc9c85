/// The names the interpreter hook (`pytestd install-hook`) and the shim agree on.
///
/// The hook is a `.pth` line in a venv's site-packages importing a small module that, when the
/// interpreter starts as an `InterpreterCommand`, execs the `pytest` shim in its place (same pid)
/// with the interpreter's own argv, and the interpreter's path in `interpreterVariable`. When pytestd
/// cannot serve, the shim execs that interpreter command unchanged, with `passMarker`: the hook removes
/// it from the environment and lets the interpreter run.
public enum InterpreterHook {
    public static let interpreterVariable = "PYTESTD_HOOKED_PYTHON"
    public static let passMarker = Bytes("PYTESTD_HOOK_PASS=1".utf8)
    /// Files written into site-packages.
    public static let pthFile = "pytestd-hook.pth"
    public static let moduleFile = "_pytestd_hook.py"
    /// The `.pth` line, executed at every start of the venv's interpreter (twice in a venv: `site`
    /// processes its site-packages twice). It imports the module only for starts that may be served
    /// (`sys.argv` is `['-m', …]`, the script's path or debugpy's directory then), because importing a module from
    /// site-packages costs a few hundred microseconds, this line about fifty.
    public static let pthLine = """
        import os, sys; a = getattr(sys, "argv", None) or [""]; (a[0] == "-m" or a[0].endswith(("run_pytest_script.py", "debugpy")) \
        or "PYTESTD_HOOK_PASS" in os.environ) and __import__("_pytestd_hook")
        """
}
