import Glibc
import PytestdCore
import PytestdPosix

/// What the manager tells a host at start: `--name value` pairs, `--preload` repeatable.
struct HostConfiguration {
    var controlFd: Int32 = 3
    var managerPid: Int32 = 0
    var libpython = ""
    /// `<venv>/bin/python`: CPython derives sys.prefix, site-packages and .pth handling from it.
    var program = ""
    var root = ""
    /// The directory holding the `pytestd` Python package.
    var packageDirectory = ""
    var preload: [String] = []
    /// A file naming the modules to import instead of collecting the test files (the learned warm set).
    var warmSet = ""
    /// pytest options the warm-up passes first: the project's `--rootdir`, `-c`, `--confcutdir`.
    var warmupArguments: [String] = []
    /// Directories of reload patches: pytestd's built-ins, then the project's.
    var patchDirectories: [String] = []
    /// Whether the warm-up records what ran, so that body-only edits can be patched in place.
    var patchInPlace = true
    /// Whether the warm-up forks a zygote at its layer point (see `Zygote`).
    var zygote = false

    init(arguments: [String]) throws {
        var iterator = arguments.makeIterator()
        while let name = iterator.next() {
            guard let value = iterator.next() else { throw UserFacingError("\(name) needs a value") }
            switch name {
            case "--control-fd": controlFd = Int32(value) ?? -1
            case "--manager-pid": managerPid = Int32(value) ?? -1
            case "--libpython": libpython = value
            case "--program": program = value
            case "--root": root = value
            case "--package-dir": packageDirectory = value
            case "--preload": preload.append(value)
            case "--warm-set": warmSet = value
            case "--warmup-arg": warmupArguments.append(value)
            case "--patches": patchDirectories.append(value)
            case "--patch-in-place": patchInPlace = value == "yes"
            case "--zygote": zygote = value == "yes"
            default: throw UserFacingError("unknown option \(name)")
            }
        }
        for (name, value) in [("--libpython", libpython), ("--program", program), ("--root", root), ("--package-dir", packageDirectory)]
        where value.isEmpty {
            throw UserFacingError("\(name) is required")
        }
    }
}

/// The host's stderr is the manager's log file.
func writeLog(_ line: String) {
    let bytes = Array((line + "\n").utf8)
    _ = bytes.withUnsafeBytes { write(2, $0.baseAddress, $0.count) }
}
