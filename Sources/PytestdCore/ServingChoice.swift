/// Whether a run that finds no fresh template should wait for one or run plain pytest now.
///
/// pytestd must never be slower than plain pytest. A run that arrives while the template is still
/// warming (the first run, a clean host after a conftest edit, a reload) waits only when the
/// template is expected to be ready and serve the run sooner than plain pytest would finish it:
///
///     wait  ⇔  templateIn + ownWork ≤ plainRun
///
/// - `templateIn`: the time until a template can serve, from the manager's own measurements (the
///   last clean warm-up, reload seconds per module), minus what already elapsed.
/// - `ownWork`: the run's own part, as the last warm run of the same invocation took (0 if unknown).
/// - `plainRun`: the last plain run of the same invocation, measured by the shim; else a floor every
///   plain run of the project pays — the fastest plain run seen, or three quarters of the time a host
///   took to start and configure pytest with the root conftests (a host does more than plain pytest
///   meanwhile: it records what imports do) — plus `ownWork`.
///
/// Anything unknown counts against waiting: plain pytest is the honest default.
public enum ServingChoice: Equatable, Sendable {
    case wait
    /// Run plain pytest now; the reason is the note the shim prints.
    case plain(reason: String)

    public static let startupShare = 0.75

    public static func decide(templateIn: Double?, ownWork: Double?, plainRun: Double?,
                              fastestPlainRun: Double?, hostStartup: Double?) -> ServingChoice {
        guard let templateIn else {
            return .plain(reason: "the warm template is not ready and its warm-up has not been timed yet")
        }
        let own = ownWork ?? 0
        let floors = [fastestPlainRun, hostStartup.map { $0 * startupShare }].compactMap { $0 }
        guard let plain = plainRun ?? floors.max().map({ $0 + own }) else {
            return .plain(reason: "the warm template is not ready and no plain run has been timed yet")
        }
        if templateIn + own <= plain { return .wait }
        return .plain(reason: "plain pytest is sooner: the warm template is ready in ~\(seconds(templateIn)), "
                      + "plain pytest takes ~\(seconds(plain))")
    }

    static func seconds(_ value: Double) -> String {
        value < 10 ? "\((value * 10).rounded() / 10) s" : "\(Int(value.rounded())) s"
    }
}

/// What the manager has measured about this project's runs and templates: the inputs of
/// `ServingChoice`. Kept in memory by the manager; an invocation is its argv and working directory.
public struct RunTimings: Equatable, Sendable {
    public struct Invocation: Hashable, Sendable {
        public var argv: [Bytes]
        public var workingDirectory: Bytes
        public init(argv: [Bytes], workingDirectory: Bytes) {
            self.argv = argv
            self.workingDirectory = workingDirectory
        }
    }

    /// Invocations remembered at most; the oldest is forgotten first.
    public static let capacity = 256

    public private(set) var plainRuns: [Invocation: Double] = [:]
    public private(set) var warmRuns: [Invocation: Double] = [:]
    private var order: [Invocation] = []
    public private(set) var fastestPlainRun: Double?
    /// The last clean warm-up, from the host's start to ready (time it spent paused excluded).
    public var cleanWarmup: Double?
    /// The last clean host forked from the zygote, from the fork to ready.
    public var forkedWarmup: Double?
    /// From a clean host's start until pytest was configured with the root conftests.
    public var hostStartup: Double?
    /// The last reload's seconds per module it executed again.
    public var reloadPerModule: Double?

    public init() {}

    public mutating func recordPlain(_ invocation: Invocation, seconds: Double) {
        remember(invocation)
        plainRuns[invocation] = seconds
        fastestPlainRun = min(fastestPlainRun ?? seconds, seconds)
    }

    public mutating func recordWarm(_ invocation: Invocation, seconds: Double) {
        remember(invocation)
        warmRuns[invocation] = seconds
    }

    /// How long a reload of `modules` modules should take: measured per module, else the clean
    /// warm-up's share for that many of the template's `templateModules`.
    public func reloadEstimate(modules: Int, templateModules: Int) -> Double? {
        if let reloadPerModule { return reloadPerModule * Double(modules) }
        guard let cleanWarmup, templateModules > 0 else { return nil }
        return cleanWarmup * Double(min(modules, templateModules)) / Double(templateModules)
    }

    public func choice(for invocation: Invocation, templateIn: Double?) -> ServingChoice {
        ServingChoice.decide(templateIn: templateIn, ownWork: warmRuns[invocation], plainRun: plainRuns[invocation],
                             fastestPlainRun: fastestPlainRun, hostStartup: hostStartup)
    }

    private mutating func remember(_ invocation: Invocation) {
        if let index = order.firstIndex(of: invocation) { order.remove(at: index) }
        order.append(invocation)
        while order.count > Self.capacity {
            let oldest = order.removeFirst()
            plainRuns[oldest] = nil
            warmRuns[oldest] = nil
        }
    }
}
