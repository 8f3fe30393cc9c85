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
}
