extension Message {
    private enum Tag: UInt8 {
        case run = 1, forwardSignal, control, fallback, finished, refused, status, acknowledged, superseded, bypass
        case runPlain, plainFinished
        case startRun = 20, hostReady, hostFailed, runStarted, runFinished, reload, reloadStarted, runDeclined, runImported
        case warmupStarted
        case reloadNotStarted
        case zygoteStarted, forkHost, hostForked, hostNotForked
        case statusDocument = 40
    }

    /// The frame payload for this message, starting with the protocol version.
    public func encoded() -> Bytes {
        var w = WireWriter()
        w.write(Message.protocolVersion)
        switch self {
        case .run(let request):
            w.write(Tag.run.rawValue)
            w.write(request)
        case .forwardSignal(let signal):
            w.write(Tag.forwardSignal.rawValue)
            w.write(signal)
        case .control(let command, let identity):
            w.write(Tag.control.rawValue)
            w.write(command.rawValue)
            w.write(identity)
        case .fallback(let reason):
            w.write(Tag.fallback.rawValue)
            w.write(reason)
        case .finished(let outcome, let seconds):
            w.write(Tag.finished.rawValue)
            w.write(outcome)
            w.write(seconds)
        case .refused(let reason):
            w.write(Tag.refused.rawValue)
            w.write(reason)
        case .status(let fields):
            w.write(Tag.status.rawValue)
            w.write(fields.map(\.key))
            w.write(fields.map(\.value))
        case .acknowledged:
            w.write(Tag.acknowledged.rawValue)
        case .superseded:
            w.write(Tag.superseded.rawValue)
        case .bypass:
            w.write(Tag.bypass.rawValue)
        case .startRun(let id, let request):
            w.write(Tag.startRun.rawValue)
            w.write(id)
            w.write(request)
        case .reload(let order, let id):
            w.write(Tag.reload.rawValue)
            w.write(UInt32(order.steps.count))
            for step in order.steps { w.write(step) }
            w.write(order.evict)
            w.write(order.changed)
            w.write(UInt32(order.causes.count))
            for causes in order.causes { w.write(causes) }
            w.write(order.conftests)
            w.write(id)
        case .reloadStarted(let pid, let id):
            w.write(Tag.reloadStarted.rawValue)
            w.write(pid)
            w.write(id)
        case .hostReady(let report):
            w.write(Tag.hostReady.rawValue)
            w.write(report.pythonVersion)
            w.write(report.pytestVersion)
            w.write(report.loadedFiles)
            w.write(report.modules)
            w.write(report.importEdges)
            w.write(report.environmentReads)
            w.write(report.readsWholeEnvironment)
            w.write(report.warmupSeconds)
            w.write(report.warmupNote)
            w.write(report.environmentReaders)
            w.write(report.wholeEnvironmentReader)
            w.write(report.loadedFingerprints)
            w.write(report.searchedDirectories)
            w.write(report.configuredAt)
            w.write(report.skippedWarmModules)
        case .hostFailed(let reason):
            w.write(Tag.hostFailed.rawValue)
            w.write(reason)
        case .runStarted(let id, let pid):
            w.write(Tag.runStarted.rawValue)
            w.write(id)
            w.write(pid)
        case .runFinished(let id, let outcome, let seconds):
            w.write(Tag.runFinished.rawValue)
            w.write(id)
            w.write(outcome)
            w.write(seconds)
        case .runDeclined(let id, let reason, let remember):
            w.write(Tag.runDeclined.rawValue)
            w.write(id)
            w.write(reason)
            w.write(remember)
        case .warmupStarted:
            w.write(Tag.warmupStarted.rawValue)
        case .runPlain(let reason):
            w.write(Tag.runPlain.rawValue)
            w.write(reason)
        case .plainFinished(let seconds):
            w.write(Tag.plainFinished.rawValue)
            w.write(seconds)
        case .runImported(let imports):
            w.write(Tag.runImported.rawValue)
            w.write(imports.imported)
            w.write(imports.testModules)
            w.write(imports.referenced)
        case .reloadNotStarted(let id, let reason):
            w.write(Tag.reloadNotStarted.rawValue)
            w.write(id)
            w.write(reason)
        case .zygoteStarted(let pid, let conftest):
            w.write(Tag.zygoteStarted.rawValue)
            w.write(pid)
            w.write(conftest)
        case .forkHost(let id):
            w.write(Tag.forkHost.rawValue)
            w.write(id)
        case .hostForked(let id, let pid):
            w.write(Tag.hostForked.rawValue)
            w.write(id)
            w.write(pid)
        case .hostNotForked(let id, let reason):
            w.write(Tag.hostNotForked.rawValue)
            w.write(id)
            w.write(reason)
        case .statusDocument(let json):
            w.write(Tag.statusDocument.rawValue)
            w.write(json)
        }
        return w.bytes
    }

    public init(decoding payload: Bytes) throws {
        var r = WireReader(payload)
        let version = try r.readUInt32()
        guard version == Message.protocolVersion else {
            throw WireError.invalidValue("protocol version \(version), expected \(Message.protocolVersion)")
        }
        let rawTag = try r.readByte()
        guard let tag = Tag(rawValue: rawTag) else { throw WireError.unknownMessage(tag: rawTag) }
        switch tag {
        case .run:
            self = .run(try r.readRunRequest())
        case .forwardSignal:
            self = .forwardSignal(try r.readInt32())
        case .control:
            let raw = try r.readByte()
            guard let command = ControlCommand(rawValue: raw) else {
                throw WireError.invalidValue("control command \(raw)")
            }
            self = .control(command, managerIdentity: try r.readString())
        case .fallback:
            self = .fallback(reason: try r.readString())
        case .finished:
            self = .finished(try r.readRunOutcome(), childSeconds: try r.readDouble())
        case .refused:
            self = .refused(reason: try r.readString())
        case .status:
            let keys = try r.readStringList()
            let values = try r.readStringList()
            guard keys.count == values.count else { throw WireError.invalidValue("status field count") }
            self = .status(zip(keys, values).map { StatusField($0, $1) })
        case .acknowledged:
            self = .acknowledged
        case .superseded:
            self = .superseded
        case .bypass:
            self = .bypass
        case .startRun:
            let id = try r.readUInt64()
            self = .startRun(id: id, try r.readRunRequest())
        case .hostReady:
            self = .hostReady(HostReport(
                pythonVersion: try r.readString(), pytestVersion: try r.readString(),
                loadedFiles: try r.readBytesList(), modules: try r.readBytesList(), importEdges: try r.readBytesList(), environmentReads: try r.readBytesList(),
                readsWholeEnvironment: try r.readBool(), warmupSeconds: try r.readDouble(),
                warmupNote: try r.readString(), environmentReaders: try r.readBytesList(),
                wholeEnvironmentReader: try r.readString(), loadedFingerprints: try r.readBytesList(),
                searchedDirectories: try r.readBytesList(), configuredAt: try r.readDouble(),
                skippedWarmModules: try r.readStringList()))
        case .reload:
            let count = Int(try r.readUInt32())
            var steps: [[String]] = []
            for _ in 0..<count { steps.append(try r.readStringList()) }
            let (evict, changed) = (try r.readStringList(), try r.readStringList())
            var causes: [[String]] = []
            for _ in 0..<Int(try r.readUInt32()) { causes.append(try r.readStringList()) }
            let order = ReloadOrder(steps: steps, evict: evict, changed: changed, causes: causes,
                                    conftests: try r.readStringList())
            self = .reload(order, id: try r.readUInt64())
        case .reloadStarted:
            let pid = try r.readInt32()
            self = .reloadStarted(pid: pid, id: try r.readUInt64())
        case .hostFailed:
            self = .hostFailed(reason: try r.readString())
        case .runStarted:
            let id = try r.readUInt64()
            self = .runStarted(id: id, pid: try r.readInt32())
        case .runFinished:
            let id = try r.readUInt64()
            self = .runFinished(id: id, try r.readRunOutcome(), childSeconds: try r.readDouble())
        case .runDeclined:
            let id = try r.readUInt64()
            self = .runDeclined(id: id, reason: try r.readString(), remember: try r.readBool())
        case .warmupStarted:
            self = .warmupStarted
        case .runPlain:
            self = .runPlain(reason: try r.readString())
        case .plainFinished:
            self = .plainFinished(seconds: try r.readDouble())
        case .runImported:
            self = .runImported(RunImports(
                imported: try r.readStringList(), testModules: try r.readStringList(), referenced: try r.readStringList()))
        case .reloadNotStarted:
            let id = try r.readUInt64()
            self = .reloadNotStarted(id: id, reason: try r.readString())
        case .zygoteStarted:
            let pid = try r.readInt32()
            self = .zygoteStarted(pid: pid, conftest: try r.readString())
        case .forkHost:
            self = .forkHost(id: try r.readUInt64())
        case .hostForked:
            let id = try r.readUInt64()
            self = .hostForked(id: id, pid: try r.readInt32())
        case .hostNotForked:
            let id = try r.readUInt64()
            self = .hostNotForked(id: id, reason: try r.readString())
        case .statusDocument:
            self = .statusDocument(json: try r.readString())
        }
        try r.expectEnd()
    }
}

extension WireWriter {
    fileprivate mutating func write(_ request: RunRequest) {
        write(request.argv)
        write(request.workingDirectory)
        write(request.environment)
        write(request.style.rawValue)
        write(request.umask)
        write(request.scriptPath)
        write(request.managerIdentity)
        write(request.kind.rawValue)
        write(request.debugpyWords)
    }

    fileprivate mutating func write(_ outcome: RunOutcome) {
        switch outcome {
        case .exited(let code):
            write(UInt8(0))
            write(code)
        case .signaled(let signal):
            write(UInt8(1))
            write(signal)
        }
    }
}

extension WireReader {
    fileprivate mutating func readRunRequest() throws -> RunRequest {
        let argv = try readBytesList()
        let cwd = try readBytes()
        let environment = try readBytesList()
        let rawStyle = try readByte()
        guard let style = InvocationStyle(rawValue: rawStyle) else {
            throw WireError.invalidValue("invocation style \(rawStyle)")
        }
        let (umask, script, identity) = (try readUInt32(), try readBytes(), try readString())
        let rawKind = try readByte()
        guard let kind = RunKind(rawValue: rawKind) else { throw WireError.invalidValue("run kind \(rawKind)") }
        let debugpyWords = try readBytesList()
        return RunRequest(
            argv: argv, workingDirectory: cwd, environment: environment, style: style, umask: umask,
            scriptPath: script, managerIdentity: identity, kind: kind, debugpyWords: debugpyWords)
    }

    fileprivate mutating func readRunOutcome() throws -> RunOutcome {
        switch try readByte() {
        case 0: return .exited(try readInt32())
        case 1: return .signaled(try readInt32())
        case let other: throw WireError.invalidValue("run outcome \(other)")
        }
    }
}
