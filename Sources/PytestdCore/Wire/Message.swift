/// Every message that crosses a pytestd process boundary, in one place.
///
/// Three conversations share it: shim or CLI ⇄ manager over the project's socket, and
/// manager ⇄ host over the socket pair a host is started with. Each message is one frame
/// (see `FrameDecoder`): a tag byte and the case's fields. Adding a case or a field changes the
/// protocol: bump `Message.protocolVersion`.
public enum Message: Equatable, Sendable {
    // Shim or CLI → manager.
    /// Serve a pytest run; carries the caller's stdin, stdout and stderr.
    case run(RunRequest)
    /// Deliver this signal to the run of this connection (the shim forwards what its terminal sends).
    case forwardSignal(Int32)
    /// A CLI verb; answered with `.status`, `.acknowledged` or `.refused`.
    case control(ControlCommand, managerIdentity: String)
    /// After `.runPlain`: plain pytest ran this long, start to exit (the manager's measure of plain runs).
    case plainFinished(seconds: Double)

    // Manager → shim or CLI.
    /// The daemon cannot serve this run; the shim runs the real pytest instead, saying why.
    case fallback(reason: String)
    /// The project's configuration sends this invocation to the real pytest (`bypass_options`): no note.
    case bypass
    /// No template can serve this run sooner than plain pytest (see `ServingChoice`): the shim runs
    /// plain pytest as its child, saying why, keeps the connection while it runs (the manager pauses the
    /// warm-up meanwhile) and reports its duration with `.plainFinished`.
    case runPlain(reason: String)
    /// The run is over; the shim exits the same way. `childSeconds` is the run child's lifetime, fork to
    /// exit: the rest of the caller's wait is pytestd's overhead (`PYTESTD_TIMING=1` prints both).
    case finished(RunOutcome, childSeconds: Double)
    /// The request was not served (wrong version, manager stopping, a broken host).
    case refused(reason: String)
    case status([StatusField])
    case acknowledged
    /// This manager is another build than the caller's; it is stopping. Start a new one and retry.
    case superseded

    // Manager → host.
    /// Fork a run child for this request; carries the caller's three descriptors.
    case startRun(id: UInt64, RunRequest)
    /// Fork a child that applies this plan to a copy of the template and then serves runs itself.
    /// `id` pairs the child's `reloadStarted` (or `reloadNotStarted`) with this order.
    case reload(ReloadOrder, id: UInt64)

    // Host → manager.
    /// The host dies with the manager from now on, even while stopped: the warm-up may be paused.
    case warmupStarted
    /// The warm template is ready; these are the facts the manager needs to keep it fresh.
    case hostReady(HostReport)
    /// The host cannot serve at all (no usable libpython, pytest missing, …).
    case hostFailed(reason: String)
    /// The reloading child exists; carries the manager's end of its own control channel. It reports
    /// `hostReady` or `hostFailed` there, like a newly started host.
    case reloadStarted(pid: Int32, id: UInt64)
    case runStarted(id: UInt64, pid: Int32)
    case runFinished(id: UInt64, RunOutcome, childSeconds: Double)
    /// The run child failed before its first test in a way a fresh process might not (configure-once
    /// code the warm-up already ran) and ended without printing anything: the caller runs plain
    /// pytest. `remember`: the cause is the project's, not this run's alone (see `ColdServing`).
    case runDeclined(id: UInt64, reason: String, remember: Bool)
    /// After `runFinished`: what the run imported that its template lacked (the manager learns the
    /// project's warm set from it).
    case runImported(RunImports)
    /// The reload `id` could not fork its child (socket pair or fork failed): nothing will report for it.
    case reloadNotStarted(id: UInt64, reason: String)
    /// A warming host forked its zygote, paused before executing `conftest` (see
    /// `python/pytestd/_zygote.py`); carries the manager's end of the zygote's channel. The zygote reports `hostReady` there with what it loaded, then waits.
    case zygoteStarted(pid: Int32, conftest: String)

    // Manager → zygote.
    /// Fork a clean host that goes on warming up from the zygote's state; carries the new host's
    /// end of its control channel.
    case forkHost(id: UInt64)

    // Zygote → manager.
    /// The host for `forkHost` `id` exists; it says `warmupStarted`, then `hostReady`, on its channel.
    case hostForked(id: UInt64, pid: Int32)
    /// The zygote no longer fits the project (its conftest's imports changed): warm up in full.
    case hostNotForked(id: UInt64, reason: String)

    // Manager → CLI.
    /// The answer to `ControlCommand.statusDocument`: `pytestd status --json`, already encoded.
    case statusDocument(json: String)

    public static let protocolVersion: UInt32 = 6

    /// Descriptors that travel with this message.
    public var descriptorCount: Int {
        switch self {
        case .run, .startRun: return RunRequest.descriptorCount
        case .reloadStarted, .zygoteStarted, .forkHost: return 1
        default: return 0
        }
    }
}

public enum ControlCommand: UInt8, Equatable, Sendable, CaseIterable {
    case status = 0
    case stop = 1
    /// Retire the current host and warm a new one ("force full reload").
    case restart = 2
    /// Answer once a warm host is ready (or it failed): what `pytestd start` waits for.
    case waitUntilReady = 3
    /// Answered with `.statusDocument`: the state as the versioned JSON editors read.
    case statusDocument = 4
}

/// One line of `pytestd status`: an ordered key and its value.
public struct StatusField: Equatable, Sendable {
    public var key: String
    public var value: String

    public init(_ key: String, _ value: String) {
        self.key = key
        self.value = value
    }
}

/// What a host reports once its template is warm.
public struct HostReport: Equatable, Sendable {
    public var pythonVersion: String
    public var pytestVersion: String
    /// Source files of every module in the template (and the conftests): if one changes, the
    /// template is stale.
    public var loadedFiles: [Bytes]
    /// `name=path` for every module with a source file: what the import graph is built from.
    public var modules: [Bytes]
    /// `importer>imported` for every import that ran while the template was built, dynamic ones too.
    public var importEdges: [Bytes]
    /// Environment variables module bodies read while the template was built: `NAME=value`, or
    /// `NAME` alone for one that was unset. A run whose environment differs needs another template.
    public var environmentReads: [Bytes]
    /// A module body iterated the whole environment (settings objects do): every variable counts.
    public var readsWholeEnvironment: Bool
    public var warmupSeconds: Double
    /// Collection problems during warm-up, shown by `pytestd status`; runs report them as pytest would.
    public var warmupNote: String
    /// `NAME=module` for each of `environmentReads`: the module whose import read it (`pytestd status`).
    public var environmentReaders: [Bytes]
    /// The module whose import iterated the whole environment; empty when none did.
    public var wholeEnvironmentReader: String
    /// `dev:ino:size:mtime_ns:ctime_ns:path` of each module file in the template, wherever it lives,
    /// taken when the import system validated the file (an edit after that, even during the warm-up,
    /// differs from it).
    public var loadedFingerprints: [Bytes]
    /// Directories the import system searched: a new module there could shadow a loaded one.
    public var searchedDirectories: [Bytes]
    /// CLOCK_MONOTONIC seconds at which the warm-up had pytest configured with the root conftests
    /// (0 if unknown): how long any plain run of the project takes at least (see `ServingChoice`).
    public var configuredAt: Double
    /// Modules of the learned warm set that the warm-up could not import (gone, or failing): forgotten.
    public var skippedWarmModules: [String]

    public init(
        pythonVersion: String, pytestVersion: String, loadedFiles: [Bytes], modules: [Bytes],
        importEdges: [Bytes], environmentReads: [Bytes], readsWholeEnvironment: Bool, warmupSeconds: Double,
        warmupNote: String, environmentReaders: [Bytes] = [], wholeEnvironmentReader: String = "",
        loadedFingerprints: [Bytes] = [], searchedDirectories: [Bytes] = [], configuredAt: Double = 0,
        skippedWarmModules: [String] = []
    ) {
        self.configuredAt = configuredAt
        self.skippedWarmModules = skippedWarmModules
        self.loadedFingerprints = loadedFingerprints
        self.searchedDirectories = searchedDirectories
        self.pythonVersion = pythonVersion
        self.pytestVersion = pytestVersion
        self.loadedFiles = loadedFiles
        self.modules = modules
        self.importEdges = importEdges
        self.environmentReads = environmentReads
        self.readsWholeEnvironment = readsWholeEnvironment
        self.warmupSeconds = warmupSeconds
        self.warmupNote = warmupNote
        self.environmentReaders = environmentReaders
        self.wholeEnvironmentReader = wholeEnvironmentReader
    }
}

/// What a reloading child does, in order: evict these modules (test modules and conftests, which
/// pytest imports again through its rewrite hook), then execute each step again, dependencies first.
/// A changed module whose edit touched only function bodies is patched in place instead, and the steps
/// and evictions there only for such modules are skipped.
public struct ReloadOrder: Equatable, Sendable {
    /// Each step is one module, or every member of an import cycle.
    public var steps: [[String]]
    public var evict: [String]
    /// The modules whose files changed; the rest of the steps and evictions are their importers.
    public var changed: [String]
    /// For each step, then each eviction: the changed modules it is there for.
    public var causes: [[String]]
    /// Changed conftests the template executed (paths). Runs import conftests afresh, so one whose
    /// effect on the template is provably unchanged needs nothing (see `_conftest_edits.py`); otherwise
    /// the reload fails and the clean host serves.
    public var conftests: [String]

    public init(steps: [[String]], evict: [String], changed: [String], causes: [[String]], conftests: [String] = []) {
        self.steps = steps
        self.evict = evict
        self.changed = changed
        self.causes = causes
        self.conftests = conftests
    }
}
