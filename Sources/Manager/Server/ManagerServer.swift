import Glibc
import PytestdCore
import PytestdPosix
import PytestdSettings

/// The manager daemon for one (project root, interpreter): accepts runs, keeps exactly one fresh warm
/// host to serve them, and never lets a run see a template older than the files on disk.
///
/// One thread, one poll loop: the listening socket, client connections, host control channels,
/// inotify and a signal pipe. It never imports user code.
final class ManagerServer {
    private let identity: ProjectIdentity
    private let settings: ProjectSettings
    private let files: ManagerFiles
    private let installation: Installation
    private let buildIdentity: String
    /// The environment the next host's template is imported under: the starting caller's, then the
    /// environment of the last run that needed a template of its own.
    private var templateEnvironment: [String]
    private let logFd: Int32
    private let listener: Int32
    private let watcher: SourceWatcher
    private let signals: Int32
    private let startedAt = monotonicSeconds()

    /// Why no host can be started for this interpreter at all (runs fall back to plain pytest).
    private var unavailable: String?
    private var python: PythonInstallation?
    private var hosts: [HostProcess] = []
    /// The host runs are sent to; nil while none is ready and fresh.
    private var active: HostProcess?
    /// The newest clean host that became ready: the base every reload forks from. After a change it
    /// no longer serves, but stays until the next clean host is ready.
    private var pristine: HostProcess?
    /// The clean host being built (always, after any change: the fallback).
    private var warming: HostProcess?
    /// A reloaded template being prepared from `pristine`.
    private var reloading: HostProcess?
    /// The pristine template's project modules and their import graph.
    private var modules: ProjectModules?
    /// Modules changed since `pristine` was built: each reload applies all of them to it.
    private var changedSincePristine: Set<String> = []
    private var lastChangeSet: [String] = []
    private var lastReload: String?
    private var lastFallback: String?
    /// Orders sent to the pristine host whose reloading child has not reported yet, oldest first,
    /// with the changes seen since (the child may have read files before or after them).
    private var pendingReloads: [PendingReload] = []

    private struct PendingReload {
        var order: ReloadOrder
        var changes: [String] = []
        var abandoned = false
    }
    /// The last host failure; cleared by a file change or `pytestd restart`, which retry.
    private var hostFailure: String?
    private var clients: [Int32: ClientConnection] = [:]
    private var nextRunId: UInt64 = 1
    private var generation = 0
    private var lastRetirement: String?
    private var runsServed = 0
    private var lastActivity = monotonicSeconds()
    /// A change arrived: start the next host at this time (bursts of saves coalesce).
    private var warmAt: Double?
    private var stopping = false

    static let coalescingDelay = 0.05

    init(identity: ProjectIdentity, settings: ProjectSettings, files: ManagerFiles, environment: [String], logFd: Int32) throws {
        self.identity = identity
        self.settings = settings
        self.files = files
        templateEnvironment = HostProcess.templateEnvironment(from: environment)
        self.logFd = logFd
        installation = try Installation.locate()
        buildIdentity = ManagerClient.buildIdentity(ofExecutable: FileSystem.currentExecutable() ?? "")
        watcher = try SourceWatcher()
        signals = SignalPipe.watch([SIGCHLD, SIGTERM, SIGINT, SIGHUP])
        unlink(files.socket)
        listener = try UnixSocket.listen(at: files.socket)
        _ = fcntl(listener, F_SETFL, O_NONBLOCK)
        do {
            let python = try PythonInstallation.probe(identity.interpreter)
            self.python = python
            // Watch before the first host starts: an edit during its warm-up must be seen.
            watcher.watch(identity.root.path, recursive: true)
            watcher.watch(python.sitePackages, recursive: false)
            ManagerLog.write("serving \(identity.root.path) with Python \(python.versionString) (\(identity.interpreter))")
        } catch {
            unavailable = "\(error)"
            ManagerLog.write("cannot serve: \(error)")
        }
    }

    func run() -> Never {
        if unavailable == nil { startHost() }
        while true {
            var fds = [
                pollfd(fd: listener, events: Int16(POLLIN), revents: 0),
                pollfd(fd: signals, events: Int16(POLLIN), revents: 0),
                pollfd(fd: watcher.fd, events: Int16(POLLIN), revents: 0),
            ]
            let hostList = hosts
            fds += hostList.map { pollfd(fd: $0.channel.fd, events: Int16(POLLIN), revents: 0) }
            // An abandoned client's socket stays readable (EOF): leave it out until its run reports.
            let clientList = clients.values.filter { !$0.abandoned }
            fds += clientList.map { pollfd(fd: $0.channel.fd, events: Int16(POLLIN), revents: 0) }
            if poll(&fds, nfds_t(fds.count), pollTimeoutMilliseconds()) < 0 && errno != EINTR {
                shutDown(because: "poll failed: \(PosixError("poll"))")
            }
            if fds[1].revents != 0 { handleSignals() }
            if fds[2].revents != 0 { handleFileEvents() }
            for (index, host) in hostList.enumerated() where fds[3 + index].revents != 0 { handleHost(host) }
            for (index, client) in clientList.enumerated() where fds[3 + hostList.count + index].revents != 0 {
                handleClient(client)
            }
            if fds[0].revents != 0 { acceptClients() }
            if let at = warmAt, monotonicSeconds() >= at {
                warmAt = nil
                startHost()
            }
            checkIdle()
        }
    }

    // MARK: Clients

    private func acceptClients() {
        while let channel = try? UnixSocket.accept(from: listener) {
            channel.setNonBlocking()
            clients[channel.fd] = ClientConnection(channel: channel)
            lastActivity = monotonicSeconds()
        }
    }

    private func handleClient(_ client: ClientConnection) {
        do {
            let open = try client.channel.drainMessages { message, descriptors in
                handle(message, descriptors: descriptors, from: client)
            }
            if !open { clientVanished(client) }
        } catch {
            ManagerLog.write("malformed request: \(error)")
            client.reply(.refused(reason: "malformed request: \(error)"))
            drop(client)
        }
    }

    private func handle(_ message: Message, descriptors: [Int32], from client: ClientConnection) {
        lastActivity = monotonicSeconds()
        switch message {
        case .run(let request):
            guard case .idle = client.state else {
                descriptors.forEach { _ = close($0) }
                client.reply(.refused(reason: "one run per connection"))
                return drop(client)
            }
            client.state = .queued(request, descriptors: descriptors, since: monotonicSeconds())
            if request.managerIdentity != buildIdentity { return supersede(client) }
            if stopping { return refuse(client, "the manager is stopping") }
            let argv = request.argv.map { String(decoding: $0, as: UTF8.self) }
            if BypassRule.routedOption(in: argv, extra: settings.bypassOptions) != nil {
                client.reply(.bypass)
                return drop(client)
            }
            if let reason = unavailable ?? hostFailure.map({ "the warm host failed: \($0)" }) {
                client.reply(.fallback(reason: reason))
                return drop(client)
            }
            serveQueue()
            if case .queued = client.state { client.noteOnTerminal(waitingNote()) }
        case .forwardSignal(let signal):
            forward(signal, to: client)
        case .control(let command, let expected):
            control(command, from: client, identityMatches: expected == buildIdentity)
        default:
            refuse(client, "unexpected message \(message)")
        }
    }

    private func control(_ command: ControlCommand, from client: ClientConnection, identityMatches: Bool) {
        switch command {
        case .status:
            client.reply(.status(statusReport()))
            drop(client)
        case .stop:
            client.reply(.acknowledged)
            drop(client)
            shutDown(because: "stop requested")
        case .restart where identityMatches:
            hostFailure = nil
            if let host = reloading { abandonReload(host, because: "restart requested") }
            abandonPendingReloads()
            for host in [active, pristine].compactMap({ $0 }) { retire(host, because: "restart requested") }
            if let host = warming { abandonWarming(host, because: "restart requested") }
            startHost()
            client.reply(.acknowledged)
            drop(client)
        case .waitUntilReady where identityMatches:
            if let reason = unavailable ?? hostFailure {
                refuse(client, reason)
            } else if active?.isReady == true {
                client.reply(.acknowledged)
                drop(client)
            } else {
                client.state = .waitingUntilReady
                if warming == nil && warmAt == nil { startHost() }
            }
        case .restart, .waitUntilReady:
            supersede(client)
        }
    }

    private func forward(_ signal: Int32, to client: ClientConnection) {
        switch client.state {
        case .running(_, _, .some(let pid)):
            kill(-pid, signal)
        case .running(_, _, nil):
            client.pendingSignals.append(signal)
        case .queued:
            // Interrupted before it started: end as a plain pytest killed this early would.
            if [SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGKILL].contains(signal) {
                client.reply(.finished(.signaled(signal), childSeconds: 0))
                drop(client)
            }
        default:
            break
        }
    }

    private func clientVanished(_ client: ClientConnection) {
        if case .running(_, _, let pid) = client.state {
            // Runs die with their client: nobody is left to read their output or their status.
            if let pid { kill(-pid, SIGKILL) } else { client.abandoned = true; return }
        }
        drop(client)
    }

    private func drop(_ client: ClientConnection) {
        clients[client.channel.fd] = nil
        client.close()
    }

    private func refuse(_ client: ClientConnection, _ reason: String) {
        client.reply(.refused(reason: reason))
        drop(client)
    }

    /// A caller of another pytestd build: it will start its own manager once this one is gone.
    private func supersede(_ client: ClientConnection) {
        client.reply(.superseded)
        drop(client)
        ManagerLog.write("a client of another pytestd build connected; stopping so it can start its own manager")
        stopAccepting()
        if hosts.allSatisfy({ $0.runsInFlight == 0 }) { shutDown(because: "superseded by another build") }
    }

    // MARK: Runs

    private func serveQueue() {
        let waiting = clients.values.filter {
            if case .queued = $0.state { return true } else { return false }
        }
        guard !waiting.isEmpty, let host = freshActiveHost() else { return }
        for client in waiting.sorted(by: { queuedSince($0) < queuedSince($1) }) {
            guard case .queued(let request, _, _) = client.state else { continue }
            let environment = HostProcess.templateEnvironment(from: request.environment.map { String(decoding: $0, as: UTF8.self) })
            let bytes = environment.map { Bytes($0.utf8) }
            // A template built with exactly this environment serves it, whatever its imports did.
            if host.environment != environment, let name = host.environmentDependencies.firstDifference(in: bytes) {
                // The template's imports saw other values: this run needs a template of its own.
                retire(host, because: host.environmentDependencies.describeDifference(name, in: bytes))
                templateEnvironment = environment
                scheduleWarm(after: 0)
                client.noteOnTerminal(waitingNote())
                return
            }
            dispatch(client, to: host)
        }
    }

    private func queuedSince(_ client: ClientConnection) -> Double {
        if case .queued(_, _, let since) = client.state { return since }
        return 0
    }

    /// The active host, after proving it fresh; nil (and a new host on its way) otherwise.
    private func freshActiveHost() -> HostProcess? {
        handleFileEvents()
        guard let host = active else {
            if warming == nil && warmAt == nil && hostFailure == nil { startHost() }
            return nil
        }
        if let changed = host.freshness.firstChangedFile() {
            retire(host, because: "\(relative(changed)) changed")
            scheduleWarm(after: 0)
            return nil
        }
        return host
    }

    private func dispatch(_ client: ClientConnection, to host: HostProcess) {
        guard case .queued(let request, let descriptors, _) = client.state else { return }
        let id = nextRunId
        nextRunId += 1
        do {
            try host.channel.send(.startRun(id: id, request), descriptors: descriptors)
        } catch {
            ManagerLog.write("cannot reach host \(host.pid): \(error)")
            return
        }
        descriptors.forEach { _ = close($0) }
        client.state = .running(host: host, runId: id, pid: nil)
        host.runsInFlight += 1
    }

    private func client(runningAs id: UInt64) -> ClientConnection? {
        clients.values.first {
            if case .running(_, let runId, _) = $0.state { return runId == id } else { return false }
        }
    }

    // MARK: Hosts

    private func startHost() {
        guard !stopping, unavailable == nil, warming == nil, let python else { return }
        generation += 1
        do {
            let host = try HostProcess.spawn(
                generation: generation, installation: installation, python: python, identity: identity,
                preload: settings.preload, patches: settings.patches,
                environment: templateEnvironment, logFd: logFd)
            hosts.append(host)
            warming = host
            ManagerLog.write("host \(host.pid) (generation \(generation)) warming")
        } catch {
            hostFailed(reason: "cannot start pytestd-host: \(error)")
        }
    }

    private func scheduleWarm(after delay: Double) {
        guard warming == nil else { return }
        let at = monotonicSeconds() + delay
        warmAt = min(warmAt ?? at, at)
    }

    private func handleHost(_ host: HostProcess) {
        do {
            let open = try host.channel.drainMessages { message, descriptors in
                handle(message, descriptors: descriptors, from: host)
            }
            if !open { hostExited(host) }
        } catch {
            ManagerLog.write("host \(host.pid) sent a malformed message: \(error)")
            terminate(host)
        }
    }

    private func handle(_ message: Message, descriptors: [Int32], from host: HostProcess) {
        if message.descriptorCount == 0 { descriptors.forEach { _ = close($0) } }
        switch message {
        case .hostReady(let report):
            handleFileEvents()
            guard !host.channel.isClosed else { return }  // the events made it stale already
            host.freshness = Freshness(
                loaded: report.loadedFiles, root: identity.root.path, sitePackages: python?.sitePackages ?? "/",
                interpreterFiles: [FileSystem.realPath(identity.interpreter), python?.libpython].compactMap { $0 })
            host.environmentDependencies = EnvironmentDependencies(
                reads: report.environmentReads, wholeEnvironment: report.readsWholeEnvironment,
                templateEnvironment: host.environment.map { Bytes($0.utf8) })
            if warming === host { warming = nil }
            if reloading === host { reloading = nil }
            host.state = .ready(report)
            let note = report.warmupNote.isEmpty ? "" : " (\(report.warmupNote))"
            ManagerLog.write("host \(host.pid) ready in \(String(format2: report.warmupSeconds)) s, \(host.freshness.loadedFiles.count) project files\(note)")
            if let stale = host.changesWhileWarming.first(where: { path in
                host.freshness.isAffected(by: .init(path: path, kind: .modified), root: identity.root.path)
            }) {
                retire(host, because: "\(relative(stale)) changed while it was warming")
                scheduleWarm(after: 0)
                return
            }
            if let base = host.reloadedFrom {
                lastReload = "generation \(host.generation) from \(base.generation): \(report.warmupNote) (\(String(format2: report.warmupSeconds)) s)"
                ManagerLog.write("reloaded template \(host.pid): \(report.warmupNote)")
            } else {
                for old in hosts where old !== host && old.retiredBecause == nil && old.isReady {
                    retire(old, because: "replaced by clean generation \(host.generation)")
                }
                if let reload = reloading { abandonReload(reload, because: "a clean host is ready") }
                abandonPendingReloads()
                pristine = host
                changedSincePristine = []
                modules = ProjectModules(report: report, root: identity.root.path, sitePackages: python?.sitePackages ?? "/")
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
        case .hostFailed(let reason) where host.reloadedFrom != nil:
            reloadFailed(host, reason: reason)
        case .hostFailed(let reason):
            hostFailed(reason: reason)
            terminate(host)
        case .reloadStarted(let pid):
            adoptReloadingChild(pid: pid, channel: descriptors.first)
        case .runStarted(let id, let pid):
            guard let client = client(runningAs: id), !client.abandoned else {
                kill(-pid, SIGKILL)
                return
            }
            client.state = .running(host: host, runId: id, pid: pid)
            client.pendingSignals.forEach { kill(-pid, $0) }
            client.pendingSignals = []
        case .runFinished(let id, let outcome, let childSeconds):
            host.runsInFlight -= 1
            host.runsServed += 1
            runsServed += 1
            lastActivity = monotonicSeconds()
            if let client = client(runningAs: id) {
                client.reply(.finished(outcome, childSeconds: childSeconds))
                drop(client)
            }
            if host.retiredBecause != nil && host.runsInFlight == 0 { terminate(host) }
            if stopping && hosts.allSatisfy({ $0.runsInFlight == 0 }) { shutDown(because: "superseded by another build") }
        default:
            ManagerLog.write("host \(host.pid) sent an unexpected \(message)")
        }
    }

    private func hostFailed(reason: String) {
        ManagerLog.write("host failed: \(reason)")
        hostFailure = reason
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

    /// The host's control channel closed: it exited or crashed.
    private func hostExited(_ host: HostProcess) {
        host.channel.close()
        hosts.removeAll { $0 === host }
        if active === host { active = nil }
        if warming === host {
            warming = nil
            if hostFailure == nil { hostFailed(reason: "pytestd-host \(host.pid) exited during warm-up; see `pytestd logs`") }
        }
        if reloading === host { reloadFailed(host, reason: "the reloading template \(host.pid) exited; see `pytestd logs`") }
        if pristine === host { pristine = nil }
        for client in clients.values {
            if case .running(let runHost, _, _) = client.state, runHost === host {
                refuse(client, "the warm host \(host.pid) died during the run; see `pytestd logs`")
            }
        }
        if host.retiredBecause == nil && host.isReady {
            ManagerLog.write("host \(host.pid) exited unexpectedly")
            lastRetirement = "host \(host.pid) exited unexpectedly"
            scheduleWarm(after: 0)
        }
    }

    /// Takes a host out of service; it finishes the runs it has, then exits.
    private func retire(_ host: HostProcess, because reason: String) {
        guard host.retiredBecause == nil else { return }
        host.retiredBecause = reason
        lastRetirement = reason
        ManagerLog.write("retiring host \(host.pid): \(reason)")
        if active === host { active = nil }
        if pristine === host { pristine = nil }
        if host.runsInFlight == 0 { terminate(host) }
    }

    /// A warming host whose template may already hold old code: stop it and start over.
    private func abandonWarming(_ host: HostProcess, because reason: String) {
        host.retiredBecause = reason
        warming = nil
        terminate(host)
    }

    private func terminate(_ host: HostProcess) {
        kill(host.pid, SIGTERM)
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
    private func reload(_ changed: Set<String>, paths: [String], base: HostProcess) {
        for path in paths { modules?.rescan(path) }
        changedSincePristine.formUnion(changed)
        guard let order = modules?.order(for: changedSincePristine) else { return }
        if let host = active, host !== base { retire(host, because: "superseded by a newer reload") }
        active = nil
        if let host = reloading { abandonReload(host, because: "a newer change arrived") }
        abandonPendingReloads()
        do {
            try base.channel.send(.reload(order))
            pendingReloads.append(PendingReload(order: order))
            ManagerLog.write("reloading \(order.steps.map { $0.joined(separator: "+") }) evicting \(order.evict)")
        } catch {
            lastFallback = "cannot reach the pristine host: \(error)"
        }
    }

    /// A reloading child reports in the order the reloads were asked for.
    private func adoptReloadingChild(pid: pid_t, channel fd: Int32?) {
        let pending = pendingReloads.isEmpty ? nil : pendingReloads.removeFirst()
        guard let fd, let pending, !pending.abandoned, let base = pristine else {
            if let fd { close(fd) }
            kill(pid, SIGKILL)
            return
        }
        let channel = MessageChannel(fd: fd)
        channel.setNonBlocking()
        generation += 1
        let host = HostProcess(pid: pid, channel: channel, generation: generation, environment: base.environment)
        host.reloadedFrom = (base.generation, pending.order)
        host.changesWhileWarming = pending.changes
        hosts.append(host)
        reloading = host
    }

    private func reloadFailed(_ host: HostProcess, reason: String) {
        let eta = warming.map { " — clean host ready in ~\(Int(max(1, estimatedWarmup() - (monotonicSeconds() - $0.startedAt)).rounded())) s" } ?? ""
        lastFallback = "\(reason)\(eta)"
        ManagerLog.write("reload failed: \(reason)")
        if reloading === host { reloading = nil }
        terminate(host)
        for client in clients.values { client.noteOnTerminal(lastFallback!) }
    }

    private func abandonPendingReloads() {
        for index in pendingReloads.indices { pendingReloads[index].abandoned = true }
    }

    private func abandonReload(_ host: HostProcess, because reason: String) {
        host.retiredBecause = reason
        terminate(host)
    }

    /// How long a clean warm-up took last time.
    private func estimatedWarmup() -> Double {
        if case .ready(let report)? = pristine?.state { return report.warmupSeconds }
        return 10
    }

    // MARK: Files

    /// Drains file events. A change to a project module the templates loaded is served by a reload
    /// of the pristine template; any other change that matters (configuration, data read at import,
    /// deleted or shadowing modules, site-packages, lost events) only by a clean host. Either way a
    /// clean host starts, and no run is served by a template older than the files.
    private func handleFileEvents() {
        let events = watcher.drain(recursiveUnder: identity.root.path)
        guard !events.isEmpty else { return }
        let sitePackages = python?.sitePackages ?? "/nonexistent"
        var needsCleanHost: String?
        var changedModules: [String: String] = [:]
        for event in events {
            switch event {
            case .overflow:
                needsCleanHost = needsCleanHost ?? "file events were lost (inotify queue overflow)"
            case .changed(let change) where change.path.hasPrefix(sitePackages):
                needsCleanHost = needsCleanHost ?? "site-packages changed"
            case .changed(let change):
                BytecodeCache.purge(sourceFile: change.path)
                warming?.changesWhileWarming.append(change.path)
                reloading?.changesWhileWarming.append(change.path)
                for index in pendingReloads.indices { pendingReloads[index].changes.append(change.path) }
                if settings.restartOn.contains(where: { fnmatch($0, relative(change.path), 0) == 0 }) {
                    needsCleanHost = needsCleanHost ?? "\(relative(change.path)) changed (restart_on)"
                    continue
                }
                let templates = [active, pristine].compactMap { $0 }
                guard templates.contains(where: { $0.freshness.isAffected(by: change, root: identity.root.path) }) else {
                    continue
                }
                if FileSystem.exists(change.path), let module = modules?.module(at: change.path) {
                    changedModules[change.path] = module
                } else {
                    needsCleanHost = needsCleanHost ?? "\(relative(change.path)) changed"
                }
            }
        }
        // A failed host is retried after any change: the change may well be the fix.
        if hostFailure != nil {
            hostFailure = nil
            scheduleWarm(after: Self.coalescingDelay)
        }
        guard needsCleanHost != nil || !changedModules.isEmpty else { return }
        lastChangeSet = changedModules.keys.sorted().map(relative) + (needsCleanHost.map { [$0] } ?? [])
        // The clean host, always; one that is still warming may have read the old files.
        if let host = warming { abandonWarming(host, because: "files changed while it was warming") }
        scheduleWarm(after: Self.coalescingDelay)
        if let reason = needsCleanHost {
            lastFallback = "\(reason): not reloadable, waiting for a clean host"
            if let host = reloading { abandonReload(host, because: reason) }
            abandonPendingReloads()
            for host in [active, pristine].compactMap({ $0 }) { retire(host, because: reason) }
        } else if let base = pristine, base.isReady, base.retiredBecause == nil {
            reload(Set(changedModules.values), paths: Array(changedModules.keys), base: base)
        } else if let host = active {
            retire(host, because: "\(lastChangeSet.joined(separator: ", ")) changed")
        }
    }

    private func relative(_ path: String) -> String {
        let root = identity.root.path.hasSuffix("/") ? identity.root.path : identity.root.path + "/"
        return path.hasPrefix(root) ? String(path.dropFirst(root.count)) : path
    }

    private func waitingNote() -> String {
        if reloading != nil { return "waiting for the reloaded template (\(lastChangeSet.joined(separator: ", ")) changed)…" }
        let why = (lastFallback ?? lastRetirement).map { " (\($0))" } ?? ""
        return "waiting for a clean warm host\(why)…"
    }

    // MARK: Signals, idling, stopping

    private func handleSignals() {
        let received = Set(SignalPipe.drain(signals))
        if received.contains(SIGCHLD) { reapChildren() }
        if !received.isDisjoint(with: [SIGTERM, SIGINT, SIGHUP]) { shutDown(because: "terminated by a signal") }
    }

    private func reapChildren() {
        while true {
            var status: Int32 = 0
            let pid = waitpid(-1, &status, WNOHANG)
            guard pid > 0 else { return }
            if let outcome = RunOutcome(waitStatus: status), outcome != .exited(0) {
                ManagerLog.write("process \(pid) ended: \(outcome)")
            }
        }
    }

    private func checkIdle() {
        let idleSeconds = settings.idleMinutes * 60
        guard idleSeconds > 0, monotonicSeconds() - lastActivity > idleSeconds, clients.isEmpty,
              hosts.allSatisfy({ $0.runsInFlight == 0 }) else { return }
        shutDown(because: "idle for \(Int(settings.idleMinutes)) min")
    }

    private func pollTimeoutMilliseconds() -> Int32 {
        guard let at = warmAt else { return 1000 }
        return Int32(max(0, min(1000, (at - monotonicSeconds()) * 1000)))
    }

    private func stopAccepting() {
        guard !stopping else { return }
        stopping = true
        unlink(files.socket)
    }

    /// Stops every host (their runs die with them), removes the socket, exits.
    func shutDown(because reason: String) -> Never {
        ManagerLog.write("stopping: \(reason)")
        stopAccepting()
        for client in clients.values { client.close() }
        for host in hosts {
            host.channel.close()
            kill(host.pid, SIGTERM)
        }
        let deadline = monotonicSeconds() + 3
        for host in hosts {
            while waitpid(host.pid, nil, WNOHANG) == 0 {
                if monotonicSeconds() > deadline {
                    kill(host.pid, SIGKILL)
                    _ = waitpid(host.pid, nil, 0)
                    break
                }
                usleep(5000)
            }
        }
        exit(0)
    }

    // MARK: Status

    private func statusReport() -> [StatusField] {
        var fields = [
            StatusField("pid", "\(getpid())"),
            StatusField("root", identity.root.path),
            StatusField("python", "\(identity.interpreter) (\(python?.versionString ?? "unknown"), from \(identity.interpreterSource))"),
            StatusField("state", stateName()),
            StatusField("uptime", duration(monotonicSeconds() - startedAt)),
            StatusField("runs", "\(runsServed)"),
            StatusField("runs in flight", "\(hosts.reduce(0) { $0 + $1.runsInFlight })"),
        ]
        if let reason = unavailable ?? hostFailure { fields.append(StatusField("problem", reason)) }
        if let host = active, case .ready(let report) = host.state {
            fields += [
                StatusField("host pid", "\(host.pid)"),
                StatusField("host generation", host.reloadedFrom.map { "\(host.generation) (reloaded from clean generation \($0.generation))" } ?? "\(host.generation) (clean)"),
                StatusField("host age", duration(monotonicSeconds() - host.startedAt)),
                StatusField("host memory", host.residentMemoryKiB.map { "\($0 / 1024) MiB resident" } ?? "unknown"),
                StatusField("host runs", "\(host.runsServed)"),
                StatusField("pytest", report.pytestVersion),
                StatusField("warm-up", "\(String(format2: report.warmupSeconds)) s, \(host.freshness.loadedFiles.count) project files"),
            ]
            if !report.warmupNote.isEmpty { fields.append(StatusField("warm-up note", report.warmupNote)) }
        }
        if let host = warming { fields.append(StatusField("warming host pid", "\(host.pid)")) }
        if let host = reloading { fields.append(StatusField("reloading host pid", "\(host.pid)")) }
        if let modules { fields.append(StatusField("import graph", "\(modules.count) project modules")) }
        fields += [
            StatusField("last change set", lastChangeSet.isEmpty ? "none" : lastChangeSet.joined(separator: ", ")),
            StatusField("last reload", lastReload ?? "none"),
            StatusField("last fallback", lastFallback ?? "none"),
            StatusField("last retirement", lastRetirement ?? "none"),
        ]
        if let reason = watcher.incompleteReason { fields.append(StatusField("watching", "incomplete: \(reason)")) }
        fields += [
            StatusField("idle timeout", settings.idleMinutes > 0 ? "\(settings.idleMinutes) min" : "never"),
            StatusField("socket", files.socket),
            StatusField("log", files.log),
        ]
        return fields
    }

    private func stateName() -> String {
        if unavailable != nil || hostFailure != nil { return "failed" }
        if stopping { return "stopping" }
        if active?.isReady == true { return "ready" }
        return "warming"
    }

    private func duration(_ seconds: Double) -> String {
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
