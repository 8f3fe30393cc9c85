import CPosix
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
    let identity: ProjectIdentity
    let settings: ProjectSettings
    let files: ManagerFiles
    let installation: Installation
    let buildIdentity: String
    /// The environment the next host's template is imported under: the starting caller's, then the
    /// environment of the last run that needed a template of its own.
    var templateEnvironment: [Bytes]
    let logFd: Int32
    /// Held (flock) while this manager accepts runs: one manager per socket.
    let lockFd: Int32
    let listener: Int32
    let watcher: SourceWatcher
    let signals: Int32
    let startedAt = monotonicSeconds()

    /// Why no host can be started for this interpreter at all (runs fall back to plain pytest).
    var unavailable: String?
    var python: PythonInstallation?
    /// The interpreter's fingerprint when it was last probed.
    var probedInterpreter: [String] = []
    /// Which loaded files are project code (reloaded) and which installed code (clean host).
    var locations: SourceLocations
    var hosts: [HostProcess] = []
    /// The host runs are sent to; nil while none is ready and fresh.
    var active: HostProcess?
    /// The newest clean host that became ready: the base every reload forks from. After a change it
    /// no longer serves, but stays until the next clean host is ready.
    var pristine: HostProcess?
    /// The clean host being built (always, after any change: the fallback).
    var warming: HostProcess?
    /// A reloaded template being prepared from `pristine`.
    var reloading: HostProcess?
    /// What clean hosts are forked from, when there is a fresh one.
    var zygote: ZygoteProcess?
    var lastZygoteDrop: String?
    /// The pristine template's project modules and their import graph.
    var modules: ProjectModules?
    /// Modules changed since `pristine` was built: each reload applies all of them to it.
    var changedSincePristine: Set<String> = []
    /// Conftests (paths) changed since `pristine` was built: each reload proves all of them harmless.
    var conftestsChangedSincePristine: Set<String> = []
    var lastChangeSet: [String] = []
    /// How many change sets there were: the last one's id, which status ties reloads and fallbacks to.
    var changeSets = 0
    var lastReload: String?
    var lastFallback: String?
    var lastFallbackChangeSet = 0
    /// The generation of the host that served the last finished run.
    var lastRunGeneration: Int?
    /// The last host failure; cleared by a file change or `pytestd restart`, which retry.
    var hostFailure: String?
    /// Site-packages as it was when the host failed: an install since then retries.
    var sitePackagesAtFailure: FileSystem.Fingerprint?
    /// A warm run declined for a reason of the project's: its runs go to plain pytest meanwhile.
    var coldServing: ColdServing?
    var clients: [Int32: ClientConnection] = [:]
    var nextRunId: UInt64 = 1
    var nextReloadId: UInt64 = 1
    /// Kept open to be closed when the descriptors run out: room to accept and refuse a connection.
    var spareDescriptor = open("/dev/null", O_RDONLY | O_CLOEXEC)
    var outOfDescriptors = false
    var acceptPausedUntil = 0.0
    var generation = 0
    var lastRetirement: String?
    /// How long proving the active template fresh took before the last run, and how many stats.
    var lastFreshnessCheck: (seconds: Double, stats: Int)?
    var runsServed = 0
    /// What was measured of runs and templates: whether a run waits or goes plain.
    var timings = RunTimings()
    var plainRunsServed = 0
    var reloadsServed = 0
    var fallbackCounts: [FallbackKind: Int] = [:]
    /// The project directory's device and inode when first checked (see `checkRootDirectory`).
    var rootDirectoryId: [UInt64]?
    var lastPlainRun: String?
    var lastActivity = monotonicSeconds()
    /// When the last run arrived or ended: a template idle long enough may expire for memory.
    var lastRunActivity = monotonicSeconds()
    /// Why the last template expired (`MemoryBudget`); until the next run, nothing warms.
    var templateExpiry: String?
    var lastMemoryCheck = 0.0
    /// A change arrived: start the next host at this time (bursts of saves coalesce).
    var warmAt: Double?
    var stopping = false
    let learned: LearnedWarmSet

    static let coalescingDelay = 0.05

    init(identity: ProjectIdentity, settings: ProjectSettings, files: ManagerFiles, environment: [Bytes], logFd: Int32, lockFd: Int32) throws {
        self.identity = identity
        self.settings = settings
        self.files = files
        templateEnvironment = HostProcess.templateEnvironment(from: environment)
        self.logFd = logFd
        self.lockFd = lockFd
        learned = LearnedWarmSet(identity: identity, warmSetFile: files.warmSet)
        installation = try Installation.locate()
        locations = SourceLocations(root: identity.root.path, installed: [installation.pythonPackageDirectory])
        buildIdentity = ManagerClient.buildIdentity(ofExecutable: FileSystem.currentExecutable() ?? "")
        watcher = try SourceWatcher()
        signals = SignalPipe.watch([SIGCHLD, SIGTERM, SIGINT, SIGHUP])
        // Zygotes and reloaded templates are forked by hosts that may end first: reap them here.
        _ = cposix_become_child_subreaper()
        unlink(files.socket)
        listener = try UnixSocket.listen(at: files.socket)
        _ = fcntl(listener, F_SETFL, O_NONBLOCK)
        // Watch before the first host starts: an edit during its warm-up must be seen.
        watcher.watch(identity.root.path, recursive: true)
        probeInterpreter(force: true)
    }

    /// Asks the interpreter about itself when it is not the one probed last (a venv recreated in place
    /// with another Python), or always with `force`: libpython, site-packages and version follow it,
    /// and the hosts of the old one retire. Returns whether it probed.
    @discardableResult
    func probeInterpreter(force: Bool) -> Bool {
        let fingerprint = PythonInstallation.fingerprint(of: identity.interpreter)
        guard force || fingerprint != probedInterpreter else { return false }
        probedInterpreter = fingerprint
        do {
            let python = try PythonInstallation.probe(identity.interpreter)
            self.python = python
            unavailable = nil
            // Probed while the venv was still being made: ask again next time.
            if !FileSystem.exists(python.sitePackages) { probedInterpreter = [] }
            locations = SourceLocations(
                root: identity.root.path,
                installed: [python.sitePackages, installation.pythonPackageDirectory] + python.standardLibrary)
            watcher.watch(python.sitePackages, recursive: false)
            ManagerLog.write("serving \(identity.root.path) with Python \(python.versionString) (\(identity.interpreter))")
        } catch {
            python = nil
            unavailable = "\(error)"
            ManagerLog.write("cannot serve: \(error)")
        }
        retireEveryHost(because: "the interpreter \(identity.interpreter) changed (now \(python.map { "Python \($0.versionString)" } ?? "unusable"))")
        return true
    }

    func run() -> Never {
        if unavailable == nil { startHost() }
        while true {
            let accepting = monotonicSeconds() >= acceptPausedUntil
            var fds = [
                pollfd(fd: accepting ? listener : -1, events: Int16(POLLIN), revents: 0),
                pollfd(fd: signals, events: Int16(POLLIN), revents: 0),
                pollfd(fd: watcher.fd, events: Int16(POLLIN), revents: 0),
            ]
            let hostList = hosts
            fds += hostList.map { pollfd(fd: $0.channel.fd, events: Int16(POLLIN), revents: 0) }
            // An abandoned client's socket stays readable (EOF): leave it out until its run reports.
            let clientList = clients.values.filter { !$0.abandoned }
            fds += clientList.map { pollfd(fd: $0.channel.fd, events: Int16(POLLIN), revents: 0) }
            let zygoteNow = zygote
            fds.append(pollfd(fd: zygoteNow?.channel.fd ?? -1, events: Int16(POLLIN), revents: 0))
            if poll(&fds, nfds_t(fds.count), pollTimeoutMilliseconds()) < 0 && errno != EINTR {
                shutDown(because: "poll failed: \(PosixError("poll"))")
            }
            if fds[1].revents != 0 { handleSignals() }
            if fds[2].revents != 0 { handleFileEvents() }
            for (index, host) in hostList.enumerated() where fds[3 + index].revents != 0 { handleHost(host) }
            for (index, client) in clientList.enumerated() where fds[3 + hostList.count + index].revents != 0 {
                handleClient(client)
            }
            if let zygoteNow, fds[fds.count - 1].revents != 0 { handleZygote(zygoteNow) }
            if fds[0].revents != 0 { acceptClients() }
            if let at = warmAt, monotonicSeconds() >= at {
                warmAt = nil
                startHost()
            }
            checkIdle()
            checkRootDirectory()
            checkWarmupTimeout()
            checkMemoryBudget()
            checkStalledHosts()
            ManagerLog.rotate(logFd, path: files.log, above: settings.logMaxBytes)
            ManagerLog.retryIfFailing()
        }
    }

    // MARK: Clients

    func acceptClients() {
        while true {
            let accepted: MessageChannel?
            do {
                accepted = try UnixSocket.accept(from: listener)
            } catch let error as PosixError where [EMFILE, ENFILE].contains(error.code) {
                return refuseForWantOfDescriptors(error)
            } catch {
                return
            }
            outOfDescriptors = false
            guard let channel = accepted else { continue }  // another uid's
            channel.setNonBlocking()
            clients[channel.fd] = ClientConnection(channel: channel)
            lastActivity = monotonicSeconds()
        }
    }

    /// Out of descriptors, a waiting connection would keep the listener readable and the loop busy:
    /// the spare descriptor makes room to accept each one and send it to plain pytest.
    func refuseForWantOfDescriptors(_ error: PosixError) {
        if !outOfDescriptors {
            outOfDescriptors = true
            ManagerLog.write("out of file descriptors (\(error)); runs go to plain pytest until some are free")
        }
        while spareDescriptor >= 0 {
            close(spareDescriptor)
            let channel = try? UnixSocket.accept(from: listener)
            spareDescriptor = open("/dev/null", O_RDONLY | O_CLOEXEC)
            guard let channel else { break }
            try? channel.send(.fallback(reason: "the pytestd manager is out of file descriptors"))
            countFallback(.refusedRun)
            channel.close()
        }
        // Not even the spare could be had back: stop polling the listener for a moment instead.
        if spareDescriptor < 0 {
            spareDescriptor = open("/dev/null", O_RDONLY | O_CLOEXEC)
            acceptPausedUntil = monotonicSeconds() + 0.5
        }
    }

    func handleClient(_ client: ClientConnection) {
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

    func handle(_ message: Message, descriptors: [Int32], from client: ClientConnection) {
        lastActivity = monotonicSeconds()
        switch message {
        case .run(let request):
            guard case .idle = client.state else {
                descriptors.forEach { _ = close($0) }
                client.reply(.refused(reason: "one run per connection"))
                return drop(client)
            }
            client.state = .queued(request, descriptors: descriptors, since: monotonicSeconds())
            client.invocation = RunTimings.Invocation(argv: request.argv, workingDirectory: request.workingDirectory)
            lastRunActivity = monotonicSeconds()
            if let note = ManagerLog.failureNote(path: files.log), client.noteOnTerminal(note) { ManagerLog.failure?.announced = true }
            if request.managerIdentity != buildIdentity { return supersede(client) }
            if stopping {
                client.reply(.fallback(reason: "the pytestd manager is stopping"))
                countFallback(.refusedRun)
                return drop(client)
            }
            let argv = request.argv.map { String(decoding: $0, as: UTF8.self) }
            if BypassRule.routedOption(in: argv, extra: settings.bypassOptions) != nil {
                client.reply(.bypass)
                return drop(client)
            }
            // A recreated venv, or a package installed since, may be the fix: probe again and retry.
            if unavailable ?? hostFailure != nil, probeInterpreter(force: false) { hostFailure = nil }
            if hostFailure != nil, sitePackagesFingerprint() != sitePackagesAtFailure { hostFailure = nil }
            if let reason = unavailable ?? hostFailure.map({ "the warm host failed: \($0)" }) {
                client.reply(.fallback(reason: reason))
                countFallback(.refusedRun)
                return drop(client)
            }
            if let cold = coldServing {
                client.reply(.fallback(reason: cold.note))
                countFallback(.refusedRun)
                return drop(client)
            }
            serveQueue()
            if case .queued = client.state { chooseForQueued(client, request) }
        case .forwardSignal(let signal):
            forward(signal, to: client)
        case .plainFinished(let seconds):
            plainRunEnded(client, seconds: seconds)
        case .control(let command, let expected):
            control(command, from: client, identityMatches: expected == buildIdentity)
        default:
            refuse(client, "unexpected message \(message)")
        }
    }

    func control(_ command: ControlCommand, from client: ClientConnection, identityMatches: Bool) {
        switch command {
        case .status:
            client.reply(.status(statusReport()))
            drop(client)
        case .statusDocument:
            client.reply(.statusDocument(json: statusDocument().json()))
            drop(client)
        case .stop:
            client.reply(.acknowledged)
            drop(client)
            shutDown(because: "stop requested")
        case .restart where identityMatches:
            hostFailure = nil
            coldServing = nil
            retireEveryHost(because: "restart requested")
            probeInterpreter(force: true)
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

    func forward(_ signal: Int32, to client: ClientConnection) {
        switch client.state {
        case .running(_, _, .some(let pid)):
            signalRun(pid, signal)
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

    func clientVanished(_ client: ClientConnection) {
        if case .plainRun = client.state { return plainRunEnded(client, seconds: nil) }
        if case .running(_, _, let pid) = client.state {
            // Runs die with their client: nobody is left to read their output or their status.
            if let pid { kill(-pid, SIGKILL) } else { client.abandoned = true; return }
        }
        drop(client)
    }

    func drop(_ client: ClientConnection) {
        clients[client.channel.fd] = nil
        client.close()
    }

    func refuse(_ client: ClientConnection, _ reason: String) {
        client.reply(.refused(reason: reason))
        drop(client)
    }

    /// A caller of another pytestd build: it will start its own manager once this one is gone.
    func supersede(_ client: ClientConnection) {
        client.reply(.superseded)
        drop(client)
        ManagerLog.write("a client of another pytestd build connected; stopping so it can start its own manager")
        stopAccepting()
        if hosts.allSatisfy({ $0.runsInFlight == 0 }) { shutDown(because: "superseded by another build") }
    }

    // MARK: Runs

    func serveQueue() {
        let waiting = clients.values.filter {
            if case .queued = $0.state { return true } else { return false }
        }
        guard !waiting.isEmpty, let host = freshActiveHost() else { return }
        for client in waiting.sorted(by: { queuedSince($0) < queuedSince($1) }) {
            guard case .queued(let request, _, _) = client.state else { continue }
            let environment = HostProcess.templateEnvironment(from: request.environment)
            // A template built with exactly this environment serves it, whatever its imports did.
            if host.environment != environment, let name = host.environmentDependencies.firstDifference(in: environment) {
                // The template's imports saw other values: this run needs a template of its own.
                retire(host, because: host.environmentDependencies.describeDifference(name, in: environment))
                templateEnvironment = environment
                scheduleWarm(after: 0)
                client.noteOnTerminal(waitingNote())
                return
            }
            dispatch(client, to: host)
        }
    }

    func queuedSince(_ client: ClientConnection) -> Double {
        if case .queued(_, _, let since) = client.state { return since }
        return 0
    }

    /// The active host, after proving it fresh; nil (and a new host on its way) otherwise.
    func freshActiveHost() -> HostProcess? {
        handleFileEvents()
        // A venv recreated in place while a host warmed: that host may have been probed half-way.
        probeInterpreter(force: false)
        guard let host = active else {
            if warming == nil && warmAt == nil && hostFailure == nil { startHost() }
            return nil
        }
        let checkStarted = monotonicSeconds()
        var proven = 0
        let stale = host.freshness.firstChangedFile(watchedBy: watcher, proven: &proven)
        lastFreshnessCheck = (monotonicSeconds() - checkStarted, proven)
        if let changed = stale {
            // No event told of it (made while the host warmed, or in a directory not watched): its
            // bytecode caches may be as stale as the template.
            host.freshness.changedFiles().forEach(BytecodeCache.purge(sourceFile:))
            retire(host, because: "\(relative(changed)) changed")
            scheduleWarm(after: 0)
            return nil
        }
        return host
    }

    func dispatch(_ client: ClientConnection, to host: HostProcess) {
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
        host.runIds.insert(id)
    }

    func client(runningAs id: UInt64) -> ClientConnection? {
        clients.values.first {
            if case .running(_, let runId, _) = $0.state { return runId == id } else { return false }
        }
    }
}
