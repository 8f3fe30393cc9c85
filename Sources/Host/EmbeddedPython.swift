import CPythonShim
import Glibc
import PytestdCore
import PytestdPosix

/// The project's interpreter, loaded into this process, and the calls the host makes into
/// `python/pytestd` (the in-interpreter half). Byte lists cross as NUL-terminated items.
struct EmbeddedPython {
    let configuration: HostConfiguration

    init(configuration: HostConfiguration) throws {
        self.configuration = configuration
        var error = [CChar](repeating: 0, count: 512)
        guard pyshim_load(configuration.libpython, &error, error.count) == 0,
              pyshim_initialize(configuration.program, &error, error.count) == 0
        else { throw UserFacingError(String(cString: error)) }
        guard pyshim_import_from(configuration.packageDirectory, "pytestd._run") == 0,
              pyshim_import_from(configuration.packageDirectory, "pytestd._warmup") == 0
        else { throw UserFacingError("cannot import pytestd's Python package from \(configuration.packageDirectory)") }
        let problem = try callBytes("pytestd._warmup", "preflight", [])
        guard problem.isEmpty else { throw UserFacingError(String(decoding: problem, as: UTF8.self)) }
    }

    /// Builds the template and describes it.
    func warm() throws -> HostReport {
        let preload = NulTerminatedList.join(configuration.preload.map { Bytes($0.utf8) })
        let fields = NulTerminatedList.split(try callBytes("pytestd._warmup", "warm", [Bytes(configuration.root.utf8), preload]))
        // version, pytest version, seconds, note, whole-environment flag, N, N variables, files…
        let text = { (index: Int) in String(decoding: fields[index], as: UTF8.self) }
        guard fields.count >= 6, let variableCount = Int(text(5)), fields.count >= 6 + variableCount else {
            throw UserFacingError("warm-up returned an incomplete report")
        }
        return HostReport(
            pythonVersion: text(0), pytestVersion: text(1),
            loadedFiles: Array(fields[(6 + variableCount)...]),
            environmentReads: Array(fields[6..<(6 + variableCount)]),
            readsWholeEnvironment: text(4) == "1",
            warmupSeconds: Double(text(2)) ?? 0, warmupNote: text(3))
    }

    /// In a run child: runs pytest for the request and returns its exit status.
    func run(_ request: RunRequest) -> Int32 {
        let style: Bytes = request.style == .module ? Array("module".utf8) : Array("console".utf8)
        let arguments = [
            NulTerminatedList.join(request.argv), request.workingDirectory, NulTerminatedList.join(request.environment), style,
            request.scriptPath,
        ]
        var status = 0
        let rc = withCArguments(arguments) { count, pointers, lengths in
            pyshim_call_long("pytestd._run", "run", count, pointers, lengths, &status)
        }
        return rc == 0 ? Int32(truncatingIfNeeded: status) : 1
    }

    func beforeFork() { pyshim_before_fork() }
    func afterForkInParent() { pyshim_after_fork_parent() }
    func afterForkInChild() { pyshim_after_fork_child() }

    private func callBytes(_ module: String, _ function: String, _ arguments: [Bytes]) throws -> Bytes {
        var output: UnsafeMutablePointer<CChar>?
        var length = 0
        let rc = withCArguments(arguments) { count, pointers, lengths in
            pyshim_call_bytes(module, function, count, pointers, lengths, &output, &length)
        }
        guard rc == 0, let output else { throw UserFacingError("\(module).\(function) failed; the traceback is in the log") }
        defer { free(output) }
        return output.withMemoryRebound(to: UInt8.self, capacity: length) { Bytes(UnsafeBufferPointer(start: $0, count: length)) }
    }

    private func withCArguments<R>(
        _ arguments: [Bytes],
        _ body: (Int32, UnsafePointer<UnsafePointer<CChar>?>, UnsafePointer<Int>) -> R
    ) -> R {
        let copies = arguments.map { bytes -> UnsafeMutablePointer<CChar> in
            let buffer = UnsafeMutablePointer<CChar>.allocate(capacity: max(bytes.count, 1))
            bytes.withUnsafeBytes { raw in
                if let base = raw.baseAddress { UnsafeMutableRawPointer(buffer).copyMemory(from: base, byteCount: bytes.count) }
            }
            return buffer
        }
        defer { copies.forEach { $0.deallocate() } }
        let pointers: [UnsafePointer<CChar>?] = copies.map { UnsafePointer($0) }
        let lengths = arguments.map(\.count)
        return body(Int32(arguments.count), pointers, lengths)
    }
}
