import XCTest

@testable import PytestdCore

final class ServingChoiceTests: XCTestCase {
    func testUnknownWarmupGoesPlain() {
        XCTAssertEqual(ServingChoice.decide(templateIn: nil, ownWork: 0.1, plainRun: 100, fastestPlainRun: 100, hostStartup: 100),
                       .plain(reason: "the warm template is not ready and its warm-up has not been timed yet"))
    }

    func testNoPlainMeasureGoesPlain() {
        XCTAssertEqual(ServingChoice.decide(templateIn: 0.01, ownWork: nil, plainRun: nil, fastestPlainRun: nil, hostStartup: nil),
                       .plain(reason: "the warm template is not ready and no plain run has been timed yet"))
    }

    func testSameInvocationMeasuredPlain() {
        // Ready in 2 s, 0.3 s of its own: 2.3 s against plain's 3 s.
        XCTAssertEqual(ServingChoice.decide(templateIn: 2, ownWork: 0.3, plainRun: 3, fastestPlainRun: nil, hostStartup: nil), .wait)
        XCTAssertEqual(ServingChoice.decide(templateIn: 2.8, ownWork: 0.3, plainRun: 3, fastestPlainRun: nil, hostStartup: nil),
                       .plain(reason: "plain pytest is sooner: the warm template is ready in ~2.8 s, plain pytest takes ~3.0 s"))
    }

    func testFloorsWhenThisInvocationWasNeverPlain() {
        // The fastest plain run is a floor: ready in 1 s < 1.5 s.
        XCTAssertEqual(ServingChoice.decide(templateIn: 1, ownWork: 5, plainRun: nil, fastestPlainRun: 1.5, hostStartup: nil), .wait)
        XCTAssertEqual(ServingChoice.decide(templateIn: 1.6, ownWork: 5, plainRun: nil, fastestPlainRun: 1.5, hostStartup: nil),
                       .plain(reason: "plain pytest is sooner: the warm template is ready in ~1.6 s, plain pytest takes ~6.5 s"))
        // Only three quarters of the host's start-up count: 8 s → 6 s.
        XCTAssertEqual(ServingChoice.decide(templateIn: 6, ownWork: nil, plainRun: nil, fastestPlainRun: nil, hostStartup: 8), .wait)
        XCTAssertNotEqual(ServingChoice.decide(templateIn: 6.1, ownWork: nil, plainRun: nil, fastestPlainRun: nil, hostStartup: 8), .wait)
        // The larger floor counts.
        XCTAssertEqual(ServingChoice.decide(templateIn: 5, ownWork: nil, plainRun: nil, fastestPlainRun: 0.5, hostStartup: 8), .wait)
    }

    /// Property: waiting is chosen only when the known (or floored) plain time is at least the wait
    /// plus the run's own work; unknowns never lead to waiting.
    func testWaitOnlyWhenNotSlower() {
        var generator = SeededGenerator(seed: 7)
        func maybe(_ range: ClosedRange<Double>) -> Double? {
            Bool.random(using: &generator) ? Double.random(in: range, using: &generator) : nil
        }
        for _ in 0..<5_000 {
            let (templateIn, own, plain, fastest, startup) = (maybe(0...30), maybe(0...5), maybe(0...30), maybe(0...30), maybe(0...30))
            let choice = ServingChoice.decide(templateIn: templateIn, ownWork: own, plainRun: plain,
                                              fastestPlainRun: fastest, hostStartup: startup)
            guard choice == .wait else { continue }
            let wait = try! XCTUnwrap(templateIn)
            let floor = [fastest, startup.map { $0 * ServingChoice.startupShare }].compactMap { $0 }.max()
            let expected = try! XCTUnwrap(plain ?? floor.map { $0 + (own ?? 0) })
            XCTAssertLessThanOrEqual(wait + (own ?? 0), expected)
        }
    }

    func testTimingsRememberRecentInvocations() {
        var timings = RunTimings()
        let a = RunTimings.Invocation(argv: [Bytes("pytest".utf8), Bytes("a".utf8)], workingDirectory: Bytes("/p".utf8))
        timings.recordPlain(a, seconds: 4)
        timings.recordWarm(a, seconds: 0.5)
        XCTAssertEqual(timings.choice(for: a, templateIn: 3.4), .wait)
        XCTAssertNotEqual(timings.choice(for: a, templateIn: 3.6), .wait)
        for i in 0..<RunTimings.capacity {
            timings.recordPlain(.init(argv: [Bytes("\(i)".utf8)], workingDirectory: []), seconds: 10)
        }
        XCTAssertNil(timings.plainRuns[a])
        XCTAssertNil(timings.warmRuns[a])
        XCTAssertEqual(timings.plainRuns.count, RunTimings.capacity)
        XCTAssertEqual(timings.fastestPlainRun, 4)
    }

    func testReloadEstimate() {
        var timings = RunTimings()
        XCTAssertNil(timings.reloadEstimate(modules: 3, templateModules: 100))
        timings.cleanWarmup = 10
        XCTAssertEqual(timings.reloadEstimate(modules: 3, templateModules: 100), 0.3)
        XCTAssertEqual(timings.reloadEstimate(modules: 300, templateModules: 100), 10)
        XCTAssertNil(timings.reloadEstimate(modules: 3, templateModules: 0))
        timings.reloadPerModule = 0.01
        XCTAssertEqual(timings.reloadEstimate(modules: 3, templateModules: 0), 0.03)
    }
}
