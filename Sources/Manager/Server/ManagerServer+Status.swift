import Glibc
import PytestdCore
import PytestdPosix

/// `pytestd status`: the truth about this manager, one ordered field per line.
extension ManagerServer {
    // MARK: Status

    func statusReport() -> [StatusField] {
        var fields = [
            StatusField("pid", "\(getpid())"),
            StatusField("root", identity.root.path),
            StatusField("python", "\(identity.interpreter) (\(python?.versionString ?? "unknown"), from \(identity.interpreterSource))"),
            StatusField("state", stateName()),
            StatusField("uptime", duration(monotonicSeconds() - startedAt)),
            StatusField("runs", "\(runsServed)"),
            StatusField("runs in flight", "\(hosts.reduce(0) { $0 + $1.runsInFlight })"),
        ]
        if let directory = identity.root.confcutdir { fields.insert(StatusField("confcutdir", directory), at: 2) }
        if let file = identity.root.configFile { fields.insert(StatusField("configfile", file), at: 2) }
        if let reason = unavailable ?? hostFailure { fields.append(StatusField("problem", reason)) }
        if let host = active, case .ready(let report) = host.state {
            fields += [
                StatusField("host pid", "\(host.pid)"),
                StatusField("host generation", host.reloadedFrom.map { "\(host.generation) (reloaded from clean generation \($0.generation))" } ?? "\(host.generation) (clean\(host.forkedFromZygote ? ", forked from the zygote" : ""))"),
                StatusField("host age", duration(monotonicSeconds() - host.startedAt)),
                StatusField("host memory", host.residentMemoryKiB.map { "\($0 / 1024) MiB resident" } ?? "unknown"),
                StatusField("host runs", "\(host.runsServed)"),
                StatusField("pytest", report.pytestVersion),
                StatusField("warm-up", "\(String(format2: report.warmupSeconds)) s, \(host.freshness.projectFileCount) project files, \(host.freshness.loadedFiles.count) files in all"),
            ]
            fields.append(StatusField("warm set", learned.summary(of: (host.reloadedFrom == nil ? host : pristine)?.warmSet)))
            if !report.warmupNote.isEmpty { fields.append(StatusField("warm-up note", report.warmupNote)) }
            if let reads = host.environmentDependencies.summary { fields.append(StatusField("environment read at import", reads)) }
        }
        if let host = warming { fields.append(StatusField("warming host pid", "\(host.pid)\(host.forkedFromZygote ? " (forked from the zygote)" : "")")) }
        if let zygote { fields.append(StatusField("zygote pid", "\(zygote.pid)")) }
        fields.append(StatusField("zygote", zygoteStatus()))
        if let host = reloading { fields.append(StatusField("reloading host pid", "\(host.pid)")) }
        if let modules { fields.append(StatusField("import graph", "\(modules.count) project modules")) }
        fields += plainRunStatus()
        fields += [
            StatusField("last change set", lastChangeSet.isEmpty ? "none" : "#\(changeSets) \(lastChangeSet.joined(separator: ", "))"),
            StatusField("last reload", lastReload ?? "none"),
            StatusField("last fallback", lastFallback.map { lastFallbackChangeSet > 0 ? "\($0) (change set #\(lastFallbackChangeSet))" : $0 } ?? "none"),
            StatusField("last run", lastRunGeneration.map { "served by generation \($0)" } ?? "none"),
            StatusField("served cold", coldServing.map { "yes: \($0.reason)" } ?? "no"),
            StatusField("last retirement", lastRetirement ?? "none"),
        ]
        let memory = memory()
        let mib = { (kib: Int) in "\(kib / 1024) MiB" }
        fields += [
            StatusField("memory", "manager \(mib(memory.managerKib)), template \(mib(memory.templateKib)), clean hosts \(mib(memory.cleanHostsKib)), reload children \(mib(memory.reloadChildrenKib)), runs \(mib(memory.runsKib)) resident; \(mib(memory.totalProportionalKib)) proportional in all"),
            StatusField("descriptors", "\(ProcessHealth.openDescriptors()) open in the manager"),
            StatusField("reloads", "\(reloadsServed)"),
            StatusField("fallbacks", fallbackSummary()),
            StatusField("memory budget", memoryBudgetStatus()),
        ]
        if let (seconds, stats) = lastFreshnessCheck {
            fields.append(StatusField("freshness check", "\(String(format2: seconds * 1000)) ms, \(stats) stats (last run)"))
        }
        if let reason = watcher.incompleteReason { fields.append(StatusField("watching", "incomplete: \(reason)")) }
        fields += [
            StatusField("idle timeout", settings.idleMinutes > 0 ? "\(settings.idleMinutes) min" : "never"),
            StatusField("socket", files.socket),
            StatusField("log", files.log),
        ]
        if let problem = logProblem() { fields.append(StatusField("log problem", problem)) }
        fields.append(StatusField("interpreter hook", interpreterHookStatus()))
        return fields
    }

    /// Where clean hosts come from: the zygote, or why there is none.
    func zygoteStatus() -> String {
        guard let zygote else { return "none\(lastZygoteDrop.map { " (last dropped: \($0))" } ?? "")" }
        guard let freshness = zygote.freshness else { return "starting" }
        return "paused before \(relative(zygote.conftest)), \(freshness.projectFileCount) project files loaded; \(zygote.hostsForked) clean hosts forked"
    }

    /// The log cannot be written (a full disk): since when, and what was lost.
    func logProblem() -> String? {
        ManagerLog.failure.map {
            "cannot be written for \(duration(monotonicSeconds() - $0.since)): \($0.error); \($0.linesLost) lines lost so far"
        }
    }

    /// Whether `python -m pytest` in this venv comes here (`pytestd install-hook`).
    func interpreterHookStatus() -> String {
        guard let sitePackages = python?.sitePackages else { return "unknown" }
        let pth = ProjectRoot.join(sitePackages, InterpreterHook.pthFile)
        return FileSystem.exists(pth) ? "installed (\(pth))" : "not installed (pytestd install-hook)"
    }

    func stateName() -> String {
        let (state, reason) = currentState()
        switch state {
        case .reloading: return "reloading (\(reason ?? ""))"
        case .waiting: return "waiting for a clean host (\(reason ?? ""))"
        case .expired: return "template expired (\(reason ?? ""))"
        default: return state.rawValue
        }
    }

    /// What the manager does now and, when runs cannot be served warm at once, why.
    func currentState() -> (StatusDocument.State, reason: String?) {
        if let reason = unavailable ?? hostFailure { return (.failed, reason) }
        if stopping { return (.stopping, nil) }
        if let expiry = templateExpiry, hosts.isEmpty { return (.expired, expiry) }
        if active?.isReady == true { return (.ready, nil) }
        if reloading != nil || pristine?.pendingReloads.contains(where: { !$0.abandoned }) == true {
            return (.reloading, "\(lastChangeSet.joined(separator: ", ")) changed")
        }
        // The first warm-up of this manager: nothing was served or retired yet.
        if pristine == nil && lastRetirement == nil && lastFallback == nil { return (.warming, nil) }
        let fallback = lastFallbackChangeSet == changeSets ? lastFallback : nil
        return (.waiting, fallback ?? lastRetirement ?? "a clean host is warming")
    }

    /// `pytestd status --json` (see `StatusDocument`).
    func statusDocument() -> StatusDocument {
        let (state, reason) = currentState()
        var document = StatusDocument(
            state: state, reason: reason, root: identity.root.path, configfile: identity.root.configFile,
            python: identity.interpreter, pythonVersion: python?.versionString, pid: getpid(),
            uptimeSeconds: monotonicSeconds() - startedAt, runs: runsServed,
            runsInFlight: hosts.reduce(0) { $0 + $1.runsInFlight }, plainRuns: plainRunsServed,
            warmingHostPid: warming?.pid, reloadingHostPid: reloading?.pid, lastReload: lastReload,
            lastFallback: lastFallback, lastRetirement: lastRetirement, servedCold: coldServing?.reason,
            socket: files.socket, log: files.log, memory: memory(),
            openDescriptors: ProcessHealth.openDescriptors(), reloads: reloadsServed,
            fallbacks: Dictionary(uniqueKeysWithValues: fallbackCounts.map { ($0.key.rawValue, $0.value) }),
            logProblem: logProblem(), zygotePid: zygote?.pid, zygote: zygoteStatus())
        if let host = active, case .ready(let report) = host.state {
            document.host = StatusDocument.Host(
                pid: host.pid, generation: host.generation, reloadedFrom: host.reloadedFrom?.generation,
                ageSeconds: monotonicSeconds() - host.startedAt, runs: host.runsServed,
                pytestVersion: report.pytestVersion, warmupSeconds: report.warmupSeconds,
                projectFiles: host.freshness.projectFileCount, loadedFiles: host.freshness.loadedFiles.count,
                residentMemoryKib: host.residentMemoryKiB, warmupNote: report.warmupNote.isEmpty ? nil : report.warmupNote)
        }
        return document
    }

    func duration(_ seconds: Double) -> String {
        let s = Int(seconds)
        return s < 60 ? "\(s)s" : s < 3600 ? "\(s / 60)m\(s % 60)s" : "\(s / 3600)h\(s % 3600 / 60)m"
    }
}

extension String {
    /// Two decimals, without Foundation's String(format:).
    init(format2 value: Double) {
        let hundredths = Int((value * 100).rounded())
        let fraction = hundredths % 100
        self = "\(hundredths / 100).\(fraction < 10 ? "0" : "")\(fraction)"
    }
}
