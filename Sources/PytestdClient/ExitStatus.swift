import Glibc
import PytestdCore

/// Leaving the shim the way the run left: same exit code, or death by the same signal, so the
/// shell, `make` or CI see exactly what plain pytest would have shown them.
enum ExitStatus {
    static func reproduce(_ outcome: RunOutcome) -> Never {
        switch outcome {
        case .exited(let code):
            exit(code)
        case .signaled(let signal):
            // The run already dumped core if it was going to; the shim must not add its own.
            var noCore = rlimit(rlim_cur: 0, rlim_max: 0)
            setrlimit(__rlimit_resource_t(RLIMIT_CORE.rawValue), &noCore)
            Glibc.signal(signal, SIG_DFL)
            var set = sigset_t()
            sigemptyset(&set)
            sigaddset(&set, signal)
            sigprocmask(SIG_UNBLOCK, &set, nil)
            raise(signal)
            exit(128 + signal)
        }
    }

    /// The daemon broke mid-way: say so and exit with pytest's "internal error" code, never 0.
    static func fail(_ message: String) -> Never {
        writeStandardError("pytestd: \(message)\n")
        exit(3)
    }
}
