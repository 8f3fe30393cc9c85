import Glibc
import PytestdCore
import PytestdPosix

/// Clean hosts forked from the zygote: a clean host that only has to execute the conftests and
/// collect, not start an interpreter and import the project again.
extension ManagerServer {
    /// A warming host forked a zygote: it replaces any older one.
    func adoptZygote(pid: pid_t, conftest: String, channel fd: Int32?, from host: HostProcess) {
        guard let fd, !stopping else {
            if let fd { close(fd) }
            kill(pid, SIGKILL)
            return
        }
        if let old = zygote { dropZygote(old, because: "replaced by zygote \(pid)") }
        let channel = MessageChannel(fd: fd)
        channel.setNonBlocking()
        zygote = ZygoteProcess(pid: pid, channel: channel, conftest: conftest, from: host)
    }

    /// Tries to start the next clean host as a fork of the zygote; false when it cannot.
    func forkCleanHost(warmSet: (source: LearnedWarmSet.Source, file: String?)) -> Bool {
        guard let zygote, zygote.canFork(environment: templateEnvironment, warmSetFile: warmSet.file) else { return false }
        do {
            let (ours, theirs) = try UnixSocket.pair()
            defer { close(theirs) }
            let id = nextReloadId
            nextReloadId += 1
            do {
                try zygote.channel.send(.forkHost(id: id), descriptors: [theirs])
            } catch {
                close(ours)
                throw error
            }
            let channel = MessageChannel(fd: ours)
            channel.setNonBlocking()
            zygote.pendingFork = .init(id: id, channel: channel, warmSet: warmSet)
            return true
        } catch {
            dropZygote(zygote, because: "cannot ask it for a host: \(error)")
            return false
        }
    }

    func handleZygote(_ zygote: ZygoteProcess) {
        do {
            let open = try zygote.channel.drainMessages { message, descriptors in
                descriptors.forEach { _ = close($0) }
                handle(message, from: zygote)
            }
            if !open { dropZygote(zygote, because: "it exited") }
        } catch {
            dropZygote(zygote, because: "it sent a malformed message (\(error))")
        }
    }

    private func handle(_ message: Message, from zygote: ZygoteProcess) {
        switch message {
        case .hostReady(let report):
            handleFileEvents()
            guard self.zygote === zygote else { return }
            var freshness = Freshness(
                report: report, locations: locations, sitePackages: python?.sitePackages ?? "/",
                interpreterFiles: [FileSystem.realPath(identity.interpreter), python?.libpython,
                                   PythonInstallation.venvConfiguration(of: identity.interpreter)].compactMap { $0 })
            watchOutsideRoot(freshness.directories)
            if let changed = freshness.proveAll(watchedBy: watcher) {
                return dropZygote(zygote, because: "\(relative(changed)) changed while it was made")
            }
            zygote.freshness = freshness
            ManagerLog.write("zygote \(zygote.pid) ready at \(relative(zygote.conftest)): \(freshness.projectFileCount) project files, \(freshness.loadedFiles.count) files in all")
        case .hostForked(let id, let pid):
            guard let pending = zygote.pendingFork, pending.id == id else {
                kill(pid, SIGKILL)
                return
            }
            zygote.pendingFork = nil
            zygote.hostsForked += 1
            generation += 1
            let host = HostProcess(pid: pid, channel: pending.channel, generation: generation, environment: zygote.environment)
            host.warmSet = pending.warmSet.source
            host.warmSetFile = pending.warmSet.file
            host.forkedFromZygote = true
            host.changesWhileWarming = pending.changes
            hosts.append(host)
            warming = host
            ManagerLog.write("host \(pid) (generation \(generation)) forked from zygote \(zygote.pid), warming")
        case .hostNotForked(let id, let reason):
            guard zygote.pendingFork?.id == id else { return }
            dropZygote(zygote, because: reason)
        default:
            ManagerLog.write("zygote \(zygote.pid): ignoring unexpected message \(message)")
        }
    }

    /// Stops the zygote; a clean host it was asked for is started in full instead.
    func dropZygote(_ zygote: ZygoteProcess, because reason: String) {
        ManagerLog.write("dropping zygote \(zygote.pid): \(reason)")
        lastZygoteDrop = reason
        zygote.channel.close()
        kill(zygote.pid, SIGTERM)
        if self.zygote === zygote { self.zygote = nil }
        if let pending = zygote.pendingFork {
            pending.channel.close()
            zygote.pendingFork = nil
            scheduleWarm(after: 0)
        }
    }

    /// File events: the changes a pending fork's host may have missed, and whether the zygote is stale.
    func zygoteSees(_ change: SourceWatcher.Change) {
        guard let zygote else { return }
        zygote.pendingFork?.changes.append(change.path)
        if zygote.isStaled(by: change, root: identity.root.path) {
            dropZygote(zygote, because: "\(relative(change.path)) changed")
        }
    }
}
