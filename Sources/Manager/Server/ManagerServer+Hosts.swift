import Glibc
import PytestdCore
import PytestdPosix

/// Starting, adopting, retiring and reloading warm hosts.
extension ManagerServer {
    // MARK: Hosts

    func startHost() {
        guard !stopping, warming == nil, zygote?.pendingFork == nil else { return }
        templateExpiry = nil
        probeInterpreter(force: false)
        guard unavailable == nil, let python else { return }
        let warmSet = learned.nextHostSource(preload: settings.preload)
        if forkCleanHost(warmSet: warmSet) { return }
        generation += 1
        do {
            let host = try HostProcess.spawn(
                generation: generation, installation: installation, python: python, identity: identity,
                preload: settings.preload, patches: settings.patches, patchInPlace: settings.patchInPlace,
                environment: templateEnvironment, logFd: logFd, warmSet: warmSet)
            hosts.append(host)
            warming = host
            ManagerLog.write("host \(host.pid) (generation \(generation)) warming")
        } catch {
            hostFailed(reason: "cannot start pytestd-host: \(error)")
        }
    }

    /// Directories of a template's files that the root's recursive watch does not cover (outside the
    /// root, or named another way, e.g. `root/../lib`). Each is watched on its own, not recursively:
    /// only what the template loaded or searched matters.
    func watchOutsideRoot(_ directories: Set<String>) {
        for directory in directories.sorted() where watcher.watch(of: directory) == nil {
            watcher.watch(directory, recursive: false)
        }
    }

    func scheduleWarm(after delay: Double) {
        // An expired template comes back with the next run, not with an edit.
        guard warming == nil, templateExpiry == nil else { return }
        let at = monotonicSeconds() + delay
        warmAt = min(warmAt ?? at, at)
    }

    func handleHost(_ host: HostProcess) {
        do {
            let open = try host.channel.drainMessages { message, descriptors in
                handle(message, descriptors: descriptors, from: host)
            }
            if !open { hostExited(host) }
        } catch {
            hostBrokeProtocol(host, "sent a malformed message (\(error))")
        }
    }

    /// Answered as if it had exited (its waiting and running clients must not wait forever), then stopped.
    func hostBrokeProtocol(_ host: HostProcess, _ what: String) {
        ManagerLog.write("host \(host.pid) \(what)")
        hostExited(host, because: what)
        terminate(host)
    }

    /// A host writes each message whole from its one thread: one stopped in the middle of a message (and
    /// not paused by the manager) is stuck or broken, and the runs it reports on would never be answered.
    func checkStalledHosts() {
        let now = monotonicSeconds()
        let stalled = hosts.filter {
            $0.channel.hasPartialFrame && $0.pausedAt == nil
                && now - max($0.channel.lastReceivedAt, $0.resumedAt) > Self.stalledMessageSeconds
        }
        for host in stalled { hostBrokeProtocol(host, "stopped in the middle of a message") }
    }

    static let stalledMessageSeconds = 5.0

    func handle(_ message: Message, descriptors: [Int32], from host: HostProcess) {
        if message.descriptorCount == 0 { descriptors.forEach { _ = close($0) } }
        switch message {
        case .hostReady where host.isReady:
            // Its template would be described twice: which report is true is not known.
            hostBrokeProtocol(host, "reported ready twice")
        case .hostReady(let report):
            handleFileEvents()
            guard !host.channel.isClosed else { return }  // the events made it stale already
            host.freshness = Freshness(
                report: report, locations: locations, sitePackages: python?.sitePackages ?? "/",
                interpreterFiles: [FileSystem.realPath(identity.interpreter), python?.libpython,
                                   PythonInstallation.venvConfiguration(of: identity.interpreter)].compactMap { $0 })
            watchOutsideRoot(host.freshness.directories)
            host.environmentDependencies = EnvironmentDependencies(
                reads: report.environmentReads, readers: report.environmentReaders,
                wholeEnvironmentReader: report.readsWholeEnvironment ? report.wholeEnvironmentReader : nil,
                templateEnvironment: host.environment)
            learnTimings(from: host, report: report)
            if warming === host { warming = nil }
            if reloading === host { reloading = nil }
            host.state = .ready(report)
            let note = report.warmupNote.isEmpty ? "" : " (\(report.warmupNote))"
            ManagerLog.write("host \(host.pid) ready in \(String(format2: report.warmupSeconds)) s, \(host.freshness.projectFileCount) project files, \(host.freshness.loadedFiles.count) files in all\(note)")
            // Proven after the watches are in place: from here on an edit is an event.
            let changedSinceLoad = host.freshness.proveAll(watchedBy: watcher)
            if changedSinceLoad != nil {
                // No event told of it: its bytecode caches may be as stale as the template.
                host.freshness.changedFiles().forEach(BytecodeCache.purge(sourceFile:))
            }
            if let stale = changedSinceLoad ?? host.changesWhileWarming.first(where: { path in
                host.freshness.isAffected(by: .init(path: path, kind: .modified), root: identity.root.path)
            }) {
                retire(host, because: "\(relative(stale)) changed while it was warming")
                scheduleWarm(after: 0)
                return
            }
            if let base = host.reloadedFrom {
                lastReload = "generation \(host.generation) from \(base.generation), change set #\(host.changeSet): \(report.warmupNote) (\(String(format2: report.warmupSeconds)) s)"
                ManagerLog.write("reloaded template \(host.pid): \(report.warmupNote)")
                reloadsServed += 1
            } else {
                for old in hosts where old !== host && old.retiredBecause == nil && old.isReady {
                    retire(old, because: "replaced by clean generation \(host.generation)")
                }
                if let reload = reloading { abandonReload(reload, because: "a clean host is ready") }
                abandonPendingReloads()
                pristine = host
                learned.cleanHostReady(report)
                changedSincePristine = []
                conftestsChangedSincePristine = []
                modules = ProjectModules(report: report, locations: locations)
            }
            if let old = active, old !== host { retire(old, because: "replaced by generation \(host.generation)") }
            active = host
            for client in clients.values {
                if case .waitingUntilReady = client.state {
                    client.reply(.acknowledged)
                    drop(client)
                }
            }
            serveQueue()
        case .warmupStarted:
            host.pausable = true
            if plainRunsInFlight > 0 { pauseWarming() }
        case .hostFailed(let reason) where host.isReady:
            hostBrokeProtocol(host, "failed after it was ready (\(reason))")
        case .hostFailed(let reason) where host.reloadedFrom != nil:
            reloadFailed(host, reason: reason)
        case .hostFailed(let reason):
            hostFailed(reason: reason)
            terminate(host)
        case .reloadStarted(let pid, let id):
            adoptReloadingChild(pid: pid, id: id, channel: descriptors.first, from: host)
        case .reloadNotStarted(let id, let reason):
            reloadNotStarted(id: id, reason: reason, on: host)
        case .zygoteStarted(let pid, let conftest):
            adoptZygote(pid: pid, conftest: conftest, channel: descriptors.first, from: host)
        case .runStarted(let id, _) where !host.runIds.contains(id),
             .runFinished(let id, _, _) where !host.runIds.contains(id),
             .runDeclined(let id, _, _) where !host.runIds.contains(id):
            // Not one of its runs: nothing of it may reach a caller, nor be signalled.
            ManagerLog.write("host \(host.pid) reported on run \(id), which it is not running: ignored")
        case .runStarted(_, let pid) where pid <= 1:
            // kill(-pid) of it would signal every process of the user, or the manager's own group.
            hostBrokeProtocol(host, "reported run pid \(pid)")
        case .runStarted(let id, let pid):
            guard let client = client(runningAs: id), !client.abandoned else {
                kill(-pid, SIGKILL)
                return
            }
            client.state = .running(host: host, runId: id, pid: pid)
            client.pendingSignals.forEach { signalRun(pid, $0) }
            client.pendingSignals = []
        case .runFinished(let id, let outcome, let childSeconds):
            host.runsServed += 1
            runsServed += 1
            lastRunGeneration = host.generation
            if case .exited = outcome, let invocation = client(runningAs: id)?.invocation {
                timings.recordWarm(invocation, seconds: childSeconds)
            }
            runEnded(id, on: host, reply: .finished(outcome, childSeconds: childSeconds))
        case .runDeclined(let id, let reason, let remember):
            ManagerLog.write("run \(id) declined\(remember ? " (serving the project cold from now on)" : ""): \(reason)")
            lastFallback = "a warm run declined: \(reason)"
            countFallback(.declinedRun)
            if remember { coldServing = ColdServing(reason: reason) }
            runEnded(id, on: host, reply: .fallback(reason: ColdServing.declineNote(reason, remember: remember)))
        case .runImported(let imports):
            learn(from: imports, servedBy: host)
        default:
            ManagerLog.write("host \(host.pid) sent an unexpected \(message)")
        }
    }

    /// The run is over on `host`: answer its caller, and let a retired host or a superseded manager go.
    func runEnded(_ id: UInt64, on host: HostProcess, reply: Message) {
        host.runIds.remove(id)
        lastActivity = monotonicSeconds()
        lastRunActivity = lastActivity
        if let client = client(runningAs: id) {
            client.reply(reply)
            drop(client)
        }
        if host.retiredBecause != nil && host.runsInFlight == 0 { terminate(host) }
        if stopping && hosts.allSatisfy({ $0.runsInFlight == 0 }) { shutDown(because: "superseded by another build") }
    }

    func sitePackagesFingerprint() -> FileSystem.Fingerprint? {
        python.flatMap { FileSystem.fingerprint($0.sitePackages) }
    }

    func hostFailed(reason: String) {
        ManagerLog.write("host failed: \(reason)")
        hostFailure = reason
        sitePackagesAtFailure = sitePackagesFingerprint()
        warming = nil
        for client in clients.values {
            switch client.state {
            case .queued:
                client.reply(.fallback(reason: "the warm host failed: \(reason)"))
                drop(client)
            case .waitingUntilReady:
                refuse(client, reason)
            default:
                break
            }
        }
    }

    /// The host's control channel closed: it exited or crashed (or it broke the protocol, `what` says
    /// how, and is terminated next). Every client waiting on it gets an answer.
    func hostExited(_ host: HostProcess, because what: String = "exited unexpectedly") {
        host.channel.close()
        hosts.removeAll { $0 === host }
        if active === host { active = nil }
        if warming === host {
            warming = nil
            if hostFailure == nil { hostFailed(reason: "pytestd-host \(host.pid) \(what) during warm-up; see `pytestd logs`") }
        }
        if reloading === host { reloadFailed(host, reason: "the reloading template \(host.pid) \(what); see `pytestd logs`") }
        if pristine === host { pristine = nil }
        for client in clients.values {
            if case .running(let runHost, _, let pid) = client.state, runHost === host {
                // Its host may not be there to end it: the run must not outlive its answer.
                if let pid { kill(-pid, SIGKILL) }
                refuse(client, "the warm host \(host.pid) \(what) during the run; see `pytestd logs`")
            }
        }
        if host.retiredBecause == nil && host.isReady {
            ManagerLog.write("host \(host.pid) \(what)")
            lastRetirement = "host \(host.pid) \(what)"
            scheduleWarm(after: 0)
        }
    }

    /// Takes every host out of service: the next runs wait for a new clean one.
    func retireEveryHost(because reason: String) {
        if let zygote { dropZygote(zygote, because: reason) }
        if let host = reloading { abandonReload(host, because: reason) }
        abandonPendingReloads()
        for host in [active, pristine].compactMap({ $0 }) { retire(host, because: reason) }
        if let host = warming { abandonWarming(host, because: reason) }
    }

    /// Takes a host out of service; it finishes the runs it has, then exits.
    func retire(_ host: HostProcess, because reason: String) {
        guard host.retiredBecause == nil else { return }
        host.retiredBecause = reason
        lastRetirement = reason
        ManagerLog.write("retiring host \(host.pid): \(reason)")
        if active === host { active = nil }
        if pristine === host { pristine = nil }
        if host.runsInFlight == 0 { terminate(host) }
    }

    /// A warming host whose template may already hold old code: stop it and start over.
    func abandonWarming(_ host: HostProcess, because reason: String) {
        host.retiredBecause = reason
        warming = nil
        terminate(host)
    }

    func terminate(_ host: HostProcess) {
        kill(host.pid, SIGTERM)
        // A stopped process acts on SIGTERM only once continued.
        if host.pausedAt != nil { kill(host.pid, SIGCONT) }
        host.channel.close()
        hosts.removeAll { $0 === host }
        if active === host { active = nil }
        if warming === host { warming = nil }
        if reloading === host { reloading = nil }
        if pristine === host { pristine = nil }
    }

    // MARK: Reloads

    /// Serves the change set from a reloaded copy of the pristine template as soon as it is ready,
    /// while a clean host warms in parallel, always: the fallback if the reload fails or is unsafe.
    func reload(_ changed: Set<String>, paths: [String], conftests: Set<String>, base: HostProcess) {
        for path in paths { modules?.rescan(path) }
        changedSincePristine.formUnion(changed)
        conftestsChangedSincePristine.formUnion(conftests)
        guard var order = modules?.order(for: changedSincePristine) else { return }
        order.conftests = conftestsChangedSincePristine.sorted()
        if let host = active, host !== base { retire(host, because: "superseded by a newer reload") }
        active = nil
        if let host = reloading { abandonReload(host, because: "a newer change arrived") }
        abandonPendingReloads()
        do {
            let id = nextReloadId
            nextReloadId += 1
            try base.channel.send(.reload(order, id: id))
            base.pendingReloads.append(HostProcess.PendingReload(id: id, order: order, changeSet: changeSets))
            ManagerLog.write("reloading \(order.steps.map { $0.joined(separator: "+") }) evicting \(order.evict)")
        } catch {
            lastFallback = "cannot reach the pristine host: \(error)"
            countFallback(.reloadNotStarted)
            lastFallbackChangeSet = changeSets
        }
    }

    /// A reloading child reports with its order's id (a reload that never started shifts nothing).
    func adoptReloadingChild(pid: pid_t, id: UInt64, channel fd: Int32?, from base: HostProcess) {
        guard let index = base.pendingReloads.firstIndex(where: { $0.id == id }), pid > 1 else {
            // Not a reload this host was sent (or no pid): what it names is nothing the manager may signal.
            if let fd { close(fd) }
            ManagerLog.write("host \(base.pid) reported reload \(id) started as pid \(pid): not a reload it was sent, ignored")
            return
        }
        let pending = base.pendingReloads.remove(at: index)
        guard let fd, !pending.abandoned, base === pristine else {
            if let fd { close(fd) }
            kill(pid, SIGKILL)
            return
        }
        let channel = MessageChannel(fd: fd)
        channel.setNonBlocking()
        generation += 1
        let host = HostProcess(pid: pid, channel: channel, generation: generation, environment: base.environment)
        host.reloadedFrom = (base.generation, pending.order)
        host.changeSet = pending.changeSet
        host.changesWhileWarming = pending.changes
        hosts.append(host)
        reloading = host
    }

    /// The base host could not fork the reload: the clean host serves its change set.
    func reloadNotStarted(id: UInt64, reason: String, on base: HostProcess) {
        guard let index = base.pendingReloads.firstIndex(where: { $0.id == id }) else { return }
        let pending = base.pendingReloads.remove(at: index)
        ManagerLog.write("reload \(id) not started: \(reason)")
        guard !pending.abandoned else { return }
        lastFallback = reason
        countFallback(.reloadNotStarted)
        lastFallbackChangeSet = pending.changeSet
        reconsiderQueued()
    }

    func reloadFailed(_ host: HostProcess, reason: String) {
        let eta = warming.map { " — clean host ready in ~\(Int(max(1, estimatedWarmup() - (monotonicSeconds() - $0.startedAt)).rounded())) s" } ?? ""
        lastFallback = "\(reason)\(eta)"
        countFallback(.reloadFailed)
        lastFallbackChangeSet = host.changeSet
        ManagerLog.write("reload failed: \(reason)")
        if reloading === host { reloading = nil }
        terminate(host)
        for client in clients.values { client.noteOnTerminal(lastFallback!) }
        reconsiderQueued()
    }

    func abandonPendingReloads() {
        for host in hosts {
            for index in host.pendingReloads.indices { host.pendingReloads[index].abandoned = true }
        }
    }

    func abandonReload(_ host: HostProcess, because reason: String) {
        host.retiredBecause = reason
        terminate(host)
    }

    /// A warm-up or reload stuck past `warmup_timeout` (a conftest waiting on an unreachable service):
    /// the host is killed and its waiting runs go to plain pytest, saying why; so do later runs, until
    /// a change or `pytestd restart` tries again.
    func checkWarmupTimeout() {
        let limit = settings.warmupTimeout
        guard limit > 0 else { return }
        let now = monotonicSeconds()
        let seconds = limit == limit.rounded() ? "\(Int(limit))" : String(format2: limit)
        let hint = "killed it; raise `warmup_timeout` in [tool.pytestd] if it needs longer, see `pytestd logs`"
        if let host = warming, host.warmingSeconds(at: now) > limit {
            kill(host.pid, SIGKILL)
            hostFailed(reason: "the warm-up did not finish within \(seconds) s (pytestd-host \(host.pid): an import or conftest blocking?); \(hint)")
            terminate(host)
        }
        if let host = reloading, now - host.startedAt > limit {
            kill(host.pid, SIGKILL)
            reloadFailed(host, reason: "the reload did not finish within \(seconds) s (pytestd-host \(host.pid)); \(hint)")
        }
    }

    /// How long a clean warm-up took last time.
    func estimatedWarmup() -> Double {
        if let warming, let seconds = cleanHostEstimate(forked: warming.forkedFromZygote) { return seconds }
        if case .ready(let report)? = pristine?.state { return report.warmupSeconds }
        return 10
    }
}

/// Signals a run's process group; the run itself while it has none yet: a run given a terminal makes
/// its group with `setsid` a moment after it starts (see the host's `RunChild`).
func signalRun(_ pid: pid_t, _ signal: Int32) {
    if kill(-pid, signal) != 0 && errno == ESRCH { kill(pid, signal) }
}
