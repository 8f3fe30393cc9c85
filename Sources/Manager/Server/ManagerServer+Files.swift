import Glibc
import PytestdCore
import PytestdPosix

/// File events, signals, idling and stopping.
extension ManagerServer {
    // MARK: Files

    /// Drains file events. A change to a project module the templates loaded (under the root, or on an
    /// editable install or `pythonpath` entry outside it) is served by a reload
    /// of the pristine template; any other change that matters (configuration, data read at import,
    /// deleted or shadowing modules, site-packages, lost events) only by a clean host. Either way a
    /// clean host starts, and no run is served by a template older than the files.
    func handleFileEvents() {
        let events = watcher.drain(recursiveUnder: identity.root.path)
        guard !events.isEmpty else { return }
        let sitePackages = python?.sitePackages ?? "/nonexistent"
        var needsCleanHost: String?
        var changedModules: [String: String] = [:]
        var changedConftests: Set<String> = []
        for event in events {
            switch event {
            case .overflow:
                needsCleanHost = needsCleanHost ?? "file events were lost (inotify queue overflow)"
                if let zygote { dropZygote(zygote, because: "file events were lost") }
            case .changed(let change) where locations.isInstalled(change.path):
                zygoteSees(change)
                // Installs and removals change site-packages' own entries; below it only what a
                // template loaded (or could now load instead) matters.
                let templates = [active, pristine].compactMap { $0 }
                guard ProjectRoot.parent(of: change.path) == sitePackages
                        || templates.contains(where: { $0.freshness.isAffected(by: change, root: identity.root.path) })
                else { continue }
                BytecodeCache.purge(sourceFile: change.path)
                needsCleanHost = needsCleanHost ?? "site-packages changed (\(change.path))"
            case .changed(let change):
                BytecodeCache.purge(sourceFile: change.path)
                zygoteSees(change)
                if coldServing != nil, ColdServing.isCleared(byChangeTo: change.path, patchDirectories: patchDirectories()) {
                    ManagerLog.write("\(relative(change.path)) changed: trying warm runs again")
                    coldServing = nil
                }
                warming?.changesWhileWarming.append(change.path)
                reloading?.changesWhileWarming.append(change.path)
                for host in hosts {
                    for index in host.pendingReloads.indices { host.pendingReloads[index].changes.append(change.path) }
                }
                if settings.restartOn.contains(where: { fnmatch($0, relative(change.path), 0) == 0 }) {
                    needsCleanHost = needsCleanHost ?? "\(relative(change.path)) changed (restart_on)"
                    if let zygote { dropZygote(zygote, because: "\(relative(change.path)) changed (restart_on)") }
                    continue
                }
                let templates = [active, pristine].compactMap { $0 }
                guard templates.contains(where: { $0.freshness.isAffected(by: change, root: identity.root.path) }) else {
                    continue
                }
                if FileSystem.exists(change.path), let module = modules?.module(at: change.path) {
                    changedModules[change.path] = module
                } else if FileSystem.exists(change.path), ProjectRoot.basename(change.path) == "conftest.py", modules != nil {
                    // Evicted after the warm-up: a reload proves whether its edit matters (_conftest_edits.py).
                    changedConftests.insert(change.path)
                } else {
                    needsCleanHost = needsCleanHost ?? "\(relative(change.path)) changed"
                }
            }
        }
        // A failed host is retried after any change: the change may well be the fix.
        if hostFailure != nil {
            var what = "files"
            if case .changed(let change)? = events.first { what = relative(change.path) }
            ManagerLog.write("\(what) changed: trying the failed warm host again")
            hostFailure = nil
            scheduleWarm(after: Self.coalescingDelay)
        }
        guard needsCleanHost != nil || !changedModules.isEmpty || !changedConftests.isEmpty else { return }
        lastChangeSet = (Set(changedModules.keys).union(changedConftests)).sorted().map(relative) + (needsCleanHost.map { [$0] } ?? [])
        changeSets += 1
        // The clean host, always; one that is still warming may have read the old files.
        if let host = warming { abandonWarming(host, because: "files changed while it was warming") }
        scheduleWarm(after: Self.coalescingDelay)
        if let reason = needsCleanHost {
            lastFallback = "\(reason): not reloadable, waiting for a clean host"
            countFallback(.notReloadable)
            lastFallbackChangeSet = changeSets
            if let host = reloading { abandonReload(host, because: reason) }
            abandonPendingReloads()
            for host in [active, pristine].compactMap({ $0 }) { retire(host, because: reason) }
        } else if let base = pristine, base.isReady, base.retiredBecause == nil {
            reload(Set(changedModules.values), paths: Array(changedModules.keys), conftests: changedConftests, base: base)
        } else if let host = active {
            retire(host, because: "\(lastChangeSet.joined(separator: ", ")) changed")
        }
    }

    /// The project's patch directories, absolute.
    func patchDirectories() -> [String] {
        settings.patches.map { ProjectRoot.join(identity.root.path, $0) }
    }

    func relative(_ path: String) -> String {
        let root = identity.root.path.hasSuffix("/") ? identity.root.path : identity.root.path + "/"
        return path.hasPrefix(root) ? String(path.dropFirst(root.count)) : path
    }

    func waitingNote() -> String {
        if reloading != nil { return "waiting for the reloaded template (\(lastChangeSet.joined(separator: ", ")) changed)…" }
        let why = (lastFallback ?? lastRetirement).map { " (\($0))" } ?? ""
        return "waiting for a clean warm host\(why)…"
    }

    // MARK: Signals, idling, stopping

    func handleSignals() {
        let received = Set(SignalPipe.drain(signals))
        if received.contains(SIGCHLD) { reapChildren() }
        if !received.isDisjoint(with: [SIGTERM, SIGINT, SIGHUP]) { shutDown(because: "terminated by a signal") }
    }

    func reapChildren() {
        while true {
            var status: Int32 = 0
            let pid = waitpid(-1, &status, WNOHANG)
            guard pid > 0 else { return }
            if let outcome = RunOutcome(waitStatus: status), outcome != .exited(0) {
                ManagerLog.write("process \(pid) ended: \(outcome)")
            }
        }
    }

    func checkIdle() {
        let idleSeconds = settings.idleMinutes * 60
        guard idleSeconds > 0, monotonicSeconds() - lastActivity > idleSeconds, clients.isEmpty,
              hosts.allSatisfy({ $0.runsInFlight == 0 }) else { return }
        shutDown(because: "idle for \(Int(settings.idleMinutes)) min")
    }

    func pollTimeoutMilliseconds() -> Int32 {
        guard let at = warmAt else { return 1000 }
        return Int32(max(0, min(1000, (at - monotonicSeconds()) * 1000)))
    }

    func stopAccepting() {
        guard !stopping else { return }
        stopping = true
        unlink(files.socket)
        // The next manager (a new build's) may start now, while this one finishes its runs.
        flock(lockFd, LOCK_UN)
        close(lockFd)
    }

    /// Stops every host (their runs die with them), removes the socket, exits.
    func shutDown(because reason: String) -> Never {
        ManagerLog.write("stopping: \(reason)")
        learned.flush()
        stopAccepting()
        for client in clients.values { client.close() }
        if let zygote { dropZygote(zygote, because: "the manager stops") }
        for host in hosts {
            host.channel.close()
            kill(host.pid, SIGTERM)
            if host.pausedAt != nil { kill(host.pid, SIGCONT) }
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
}
