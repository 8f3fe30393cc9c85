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
        guard pyshim_install_native("pytestd._native") == 0
        else { throw UserFacingError("cannot register pytestd._native in \(configuration.libpython)") }
        guard pyshim_import_from(configuration.packageDirectory, "pytestd._host") == 0
        else { throw UserFacingError("cannot import pytestd's Python package from \(configuration.packageDirectory)") }
        let problem = try callBytes("pytestd._host", "preflight", [])
        guard problem.isEmpty else { throw UserFacingError(String(decoding: problem, as: UTF8.self)) }
    }

    /// Builds the template and describes it.
    func warm() throws -> HostReport {
        let preload = NulTerminatedList.join(configuration.preload.map { Bytes($0.utf8) })
        let patches = NulTerminatedList.join(configuration.patchDirectories.map { Bytes($0.utf8) })
        let inPlace = Bytes((configuration.patchInPlace ? "1" : "0").utf8)
        let options = NulTerminatedList.join(configuration.warmupArguments.map { Bytes($0.utf8) })
        let zygote = Bytes((configuration.zygote ? "1" : "0").utf8)
        return try Self.report(try callBytes(
            "pytestd._host", "warm",
            [Bytes(configuration.root.utf8), preload, patches, inPlace, options, Bytes(configuration.warmSet.utf8), zygote]))
    }

    /// In the zygote: what it loaded so far, its conftest left out (see `python/pytestd/_zygote.py`).
    func zygoteReport() throws -> HostReport {
        try Self.report(try callBytes("pytestd._host", "zygote_report", []))
    }

    /// In the zygote, before it forks a host: why the conftest on disk no longer fits it, or nil.
    func zygoteMisfit() -> String? {
        guard let reason = try? callBytes("pytestd._host", "zygote_check", []) else {
            return "the zygote could not check its conftest (see the log)"
        }
        return reason.isEmpty ? nil : String(decoding: reason, as: UTF8.self)
    }

    /// In a reloading child: applies the plan to this copy of the template and describes the result.
    /// Throws with the user-facing reason when the reload failed or would not be safe.
    func reload(_ order: ReloadOrder) throws -> HostReport {
        let steps = NulTerminatedList.join(order.steps.map { Bytes($0.joined(separator: ",").utf8) })
        let evict = NulTerminatedList.join(order.evict.map { Bytes($0.utf8) })
        let changed = NulTerminatedList.join(order.changed.map { Bytes($0.utf8) })
        let causes = NulTerminatedList.join(order.causes.map { Bytes($0.joined(separator: ",").utf8) })
        let conftests = NulTerminatedList.join(order.conftests.map { Bytes($0.utf8) })
        let outcome = try callBytes("pytestd._host", "reload", [steps, evict, changed, causes, conftests])
        guard outcome.first == UInt8(ascii: "+") else {
            throw UserFacingError(String(decoding: outcome.dropFirst(), as: UTF8.self))
        }
        return try Self.report(Array(outcome.dropFirst()))
    }

    /// Parses `_warmup.report`: version, pytest version, seconds, note, whole-environment flag, then
    /// counted sections (environment variables, modules, observed imports, files), then the module that
    /// iterated the environment, then counted sections: which module read each variable, load-time
    /// fingerprints, searched directories; then when pytest was configured; then the learned modules
    /// the warm-up skipped.
    static func report(_ blob: Bytes) throws -> HostReport {
        var fields = NulTerminatedList.split(blob)[...]
        func take() throws -> String {
            guard let field = fields.popFirst() else { throw UserFacingError("the in-interpreter half returned an incomplete report") }
            return String(decoding: field, as: UTF8.self)
        }
        func section() throws -> [Bytes] {
            guard let count = Int(try take()), count >= 0, count <= fields.count else {
                throw UserFacingError("the in-interpreter half returned a malformed report")
            }
            defer { fields = fields.dropFirst(count) }
            return Array(fields.prefix(count))
        }
        let (python, pytest, seconds, note, whole) = (try take(), try take(), try take(), try take(), try take())
        let environment = try section()
        let modules = try section()
        let imports = try section()
        let files = try section()
        let wholeEnvironmentReader = try take()
        let readers = try section()
        let fingerprints = try section()
        let directories = try section()
        let configuredAt = try take()
        let skipped = try section()
        return HostReport(
            pythonVersion: python, pytestVersion: pytest, loadedFiles: files, modules: modules,
            importEdges: imports, environmentReads: environment, readsWholeEnvironment: whole == "1",
            warmupSeconds: Double(seconds) ?? 0, warmupNote: note, environmentReaders: readers,
            wholeEnvironmentReader: wholeEnvironmentReader, loadedFingerprints: fingerprints,
            searchedDirectories: directories, configuredAt: Double(configuredAt) ?? 0,
            skippedWarmModules: skipped.map { String(decoding: $0, as: UTF8.self) })
    }

    /// In a run child: runs pytest for the request and returns its exit status (or declines, see
    /// `DeclinePipe`), then reports what it imported on `importsFd` (see `RunImportsPipe`).
    func run(_ request: RunRequest, declineFd: Int32, importsFd: Int32) -> Int32 {
        let style: Bytes = request.style == .module ? Array("module".utf8) : Array("console".utf8)
        let arguments = [
            NulTerminatedList.join(request.argv), request.workingDirectory, NulTerminatedList.join(request.environment), style,
            request.scriptPath, Bytes(String(declineFd).utf8), Bytes(String(importsFd).utf8),
            Array((request.kind == .script ? "script" : "pytest").utf8), NulTerminatedList.join(request.debugpyWords),
        ]
        var status = 0
        let rc = withCArguments(arguments) { count, pointers, lengths in
            pyshim_call_long("pytestd._host", "run", count, pointers, lengths, &status)
        }
        return rc == 0 ? Int32(truncatingIfNeeded: status) : 1
    }

    /// Why the template must not be forked now (a thread an import started may hold a lock), or nil.
    /// A failure to tell counts as a hazard: a run served plain is slower, a deadlocked one is worse.
    func forkHazard() -> String? {
        guard let reason = try? callBytes("pytestd._host", "fork_hazard", []) else {
            return "pytestd could not tell whether the template's threads are safe to fork across (see the log)"
        }
        return reason.isEmpty ? nil : String(decoding: reason, as: UTF8.self)
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
