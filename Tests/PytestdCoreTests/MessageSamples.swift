@testable import PytestdCore

/// Messages for the coding tests: one or more of every `Message` case, and random run requests.
struct MessageSamples {
    private var generator: SeededGenerator

    init(seed: UInt64) { generator = SeededGenerator(seed: seed) }

    /// At least one message of every case (`MessageDecoderFuzzTests` proves none is missing).
    mutating func everyCase() -> [Message] {
        [
            .run(randomRequest()), .forwardSignal(2), .control(.waitUntilReady, managerIdentity: "1:2:3.4"),
            .fallback(reason: "no libpython"), .finished(.exited(5), childSeconds: 0.25), .finished(.signaled(11), childSeconds: 0),
            .refused(reason: "stopping"), .status([StatusField("pid", "1"), StatusField("state", "ready")]),
            .acknowledged, .superseded, .bypass, .startRun(id: .max, randomRequest()),
            .hostReady(HostReport(pythonVersion: "3.11.7", pytestVersion: "9.0", loadedFiles: [[0x2f, 0xff]], modules: [Array("m=/p/m.py".utf8)], importEdges: [Array("a>b".utf8)], environmentReads: [Array("A=1".utf8), Array("B".utf8)], readsWholeEnvironment: true, warmupSeconds: 1.5, warmupNote: "", environmentReaders: [Array("A=app.settings".utf8), [0xff, 0x3d, 0x6d]], wholeEnvironmentReader: "libx", loadedFingerprints: [Array("1:2:3:4:5:/p/m.py".utf8)], searchedDirectories: [Array("/p".utf8)], configuredAt: 123.25, skippedWarmModules: ["app.gone"])),
            .reload(ReloadOrder(steps: [["model"], ["a", "b"], []], evict: ["test_x"], changed: ["model", "test_x"],
                                causes: [["model"], ["model"], [], ["model", "test_x"]], conftests: ["/p/conftest.py"]), id: 7),
            .reload(ReloadOrder(steps: [], evict: [], changed: [], causes: [], conftests: ["/p/tests/conftest.py"]), id: UInt64.max),
            .reloadStarted(pid: 42, id: 7),
            .reloadNotStarted(id: 8, reason: "socketpair: Too many open files"),
            .zygoteStarted(pid: 77, conftest: "/p/conftest.py"), .forkHost(id: 3), .hostForked(id: 3, pid: 78),
            .hostNotForked(id: .max, reason: "/p/conftest.py: its import statements changed (line 3)"),
            .hostFailed(reason: "x"), .runStarted(id: 7, pid: 1234), .runFinished(id: 7, .signaled(9), childSeconds: 1e-3),
            .runDeclined(id: 8, reason: "pytest_configure raised RuntimeError: Settings already configured.", remember: true),
            .runDeclined(id: .max, reason: "", remember: false),
            .runPlain(reason: "plain pytest is sooner: the warm template is ready in ~9.5 s, plain pytest takes ~1.3 s"),
            .plainFinished(seconds: 1.25), .warmupStarted,
            .runImported(RunImports(imported: ["app.models", "numpy"], testModules: ["tests.test_x", "conftest"], referenced: ["app"])),
            .runImported(RunImports()),
            .control(.statusDocument, managerIdentity: ""), .statusDocument(json: #"{"format": 1, "state": "ready"}"#),
        ]
    }

    mutating func randomMessage() -> Message {
        let samples = everyCase()
        return Bool.random(using: &generator) ? .run(randomRequest()) : samples[Int.random(in: 0..<samples.count, using: &generator)]
    }

    mutating func randomBytes(maxCount: Int = 40) -> Bytes {
        (0..<Int.random(in: 0...maxCount, using: &generator)).map { _ in UInt8.random(in: 1...255, using: &generator) }
    }

    mutating func randomRequest() -> RunRequest {
        RunRequest(
            argv: (0..<Int.random(in: 0...6, using: &generator)).map { _ in randomBytes() },
            workingDirectory: randomBytes(), environment: (0..<Int.random(in: 0...20, using: &generator)).map { _ in randomBytes() },
            style: Bool.random(using: &generator) ? .module : .consoleScript,
            umask: UInt32.random(in: 0...0o777, using: &generator), scriptPath: randomBytes(),
            managerIdentity: "id", kind: Bool.random(using: &generator) ? .script : .pytest,
            debugpyWords: (0..<Int.random(in: 0...3, using: &generator)).map { _ in randomBytes() })
    }
}
