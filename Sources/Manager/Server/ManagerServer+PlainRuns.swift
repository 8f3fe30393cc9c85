import Glibc
import PytestdCore
import PytestdPosix

/// Never slower than plain pytest: a run that finds no fresh template runs plain pytest at once
/// unless a template is expected to serve it sooner (`ServingChoice`, from `timings`), and the clean
/// warm-up is paused while plain runs go, so they get the CPU it would take.
extension ManagerServer {
    /// `PYTESTD_WAIT=1` in a run's environment: always wait for the template (today's benchmarks of
    /// the warm path, and users who prefer it).
    static func waitsForTemplate(_ request: RunRequest) -> Bool {
        request.environment.contains { $0 == Bytes("PYTESTD_WAIT=1".utf8) }
    }

    /// For a run left queued on arrival: wait for the template, or reply `runPlain`.
    func chooseForQueued(_ client: ClientConnection, _ request: RunRequest, noteIfWaiting: Bool = true) {
        let invocation = RunTimings.Invocation(argv: request.argv, workingDirectory: request.workingDirectory)
        guard !Self.waitsForTemplate(request),
              case .plain(let reason) = timings.choice(for: invocation, templateIn: templateIn()) else {
            if noteIfWaiting { client.noteOnTerminal(waitingNote()) }
            return
        }
        if case .queued(_, let descriptors, _) = client.state { descriptors.forEach { _ = close($0) } }
        client.state = .plainRun(invocation, since: monotonicSeconds())
        client.reply(.runPlain(reason: reason))
        plainRunsServed += 1
        countFallback(.plainWhileWarming)
        lastPlainRun = reason
        ManagerLog.write("a run goes to plain pytest: \(reason)")
        pauseWarming()
    }

    /// The template a queued run waits for moved further away (a reload failed): what it waited so
    /// far is spent either way, so it is decided again from here.
    func reconsiderQueued() {
        for client in clients.values {
            if case .queued(let request, _, _) = client.state { chooseForQueued(client, request, noteIfWaiting: false) }
        }
    }

    /// The shim reported its plain run's duration (or hung up): learn from it, let the warm-up go on.
    func plainRunEnded(_ client: ClientConnection, seconds: Double?) {
        if case .plainRun(let invocation, _) = client.state, let seconds {
            timings.recordPlain(invocation, seconds: seconds)
        }
        drop(client)
        lastRunActivity = monotonicSeconds()
        resumeWarmingIfNoPlainRuns()
    }

    var plainRunsInFlight: Int {
        clients.values.filter { if case .plainRun = $0.state { return true } else { return false } }.count
    }

    /// How long a clean host takes: a full warm-up, or one forked from the zygote (before the first
    /// such fork is timed: the full warm-up less the part the zygote already holds).
    func cleanHostEstimate(forked: Bool) -> Double? {
        guard forked, let zygote else { return timings.cleanWarmup }
        return timings.forkedWarmup ?? timings.cleanWarmup.map { max(0, $0 - zygote.layerReachedAfter) }
    }

    /// Seconds until a template can serve a run, from what the manager measured; nil when unknown.
    func templateIn() -> Double? {
        let now = monotonicSeconds()
        var candidates: [Double] = []
        if let host = warming, let warmup = cleanHostEstimate(forked: host.forkedFromZygote) {
            let remaining = warmup - host.warmingSeconds(at: now)
            // Slower than last time: how much longer is not known.
            if remaining > 0 { candidates.append(remaining) }
        } else if warming == nil, hostFailure == nil, unavailable == nil,
                  let warmup = cleanHostEstimate(forked: zygote?.freshness != nil) {
            candidates.append(warmup)
        }
        let templateModules = modules?.count ?? 0
        if let host = reloading, let order = host.reloadedFrom?.order,
           let estimate = timings.reloadEstimate(modules: order.moduleCount, templateModules: templateModules) {
            let remaining = estimate - (now - host.startedAt)
            if remaining > 0 { candidates.append(remaining) }
        }
        for pending in pristine?.pendingReloads ?? [] where !pending.abandoned {
            if let estimate = timings.reloadEstimate(modules: pending.order.moduleCount, templateModules: templateModules) {
                candidates.append(estimate)
            }
        }
        return candidates.min()
    }

    /// What the manager learns when a host becomes ready.
    func learnTimings(from host: HostProcess, report: HostReport) {
        let now = monotonicSeconds()
        if let order = host.reloadedFrom?.order {
            // Patched in place only: nothing executed again to learn a per-module cost from.
            if order.moduleCount > 0 { timings.reloadPerModule = (now - host.startedAt) / Double(order.moduleCount) }
            return
        }
        if host.forkedFromZygote {
            timings.forkedWarmup = host.warmingSeconds(at: now)
            return
        }
        timings.cleanWarmup = host.warmingSeconds(at: now)
        // A pause during start-up would count as start-up: keep the last clean measure instead.
        if report.configuredAt > host.startedAt && host.pausedSeconds == 0 {
            timings.hostStartup = report.configuredAt - host.startedAt
        }
    }

    /// Stops the clean warm-up (SIGSTOP) while a plain run goes. Only a warming host: it serves no
    /// runs yet, and once it said `warmupStarted` it dies with the manager even when stopped.
    func pauseWarming() {
        guard let host = warming, host.pausable, host.pausedAt == nil else { return }
        kill(host.pid, SIGSTOP)
        host.pausedAt = monotonicSeconds()
        ManagerLog.write("host \(host.pid) warm-up paused while plain pytest runs")
    }

    func resumeWarmingIfNoPlainRuns() {
        guard plainRunsInFlight == 0 else { return }
        for host in hosts { resume(host) }
    }

    func resume(_ host: HostProcess) {
        guard let pausedAt = host.pausedAt else { return }
        kill(host.pid, SIGCONT)
        host.pausedSeconds += monotonicSeconds() - pausedAt
        host.pausedAt = nil
        host.resumedAt = monotonicSeconds()
        ManagerLog.write("host \(host.pid) warm-up resumed")
    }

    /// `pytestd status`: how runs without a fresh template are served, and from which measures.
    func plainRunStatus() -> [StatusField] {
        let measured = [
            timings.cleanWarmup.map { "clean warm-up \(String(format2: $0)) s" },
            timings.forkedWarmup.map { "clean host from the zygote \(String(format2: $0)) s" },
            timings.hostStartup.map { "pytest configured after \(String(format2: $0)) s" },
            timings.reloadPerModule.map { "reload \(String(format2: $0 * 1000)) ms per module" },
            timings.fastestPlainRun.map { "fastest plain run \(String(format2: $0)) s" },
        ].compactMap { $0 }
        var fields = [
            StatusField("plain runs", plainRunsServed == 0 ? "none" : "\(plainRunsServed) (last: \(lastPlainRun ?? ""))"),
            StatusField("timings", measured.isEmpty ? "none yet" : measured.joined(separator: ", ")),
        ]
        if let host = warming, host.pausedAt != nil {
            fields.append(StatusField("warm-up paused", "while \(plainRunsInFlight) plain run(s) go"))
        }
        return fields
    }
}

extension HostProcess {
    /// Time spent warming, pauses excluded.
    func warmingSeconds(at now: Double) -> Double {
        now - startedAt - pausedSeconds - (pausedAt.map { now - $0 } ?? 0)
    }
}

extension ReloadOrder {
    /// Modules a reload executes again.
    var moduleCount: Int { steps.reduce(0) { $0 + $1.count } }
}
