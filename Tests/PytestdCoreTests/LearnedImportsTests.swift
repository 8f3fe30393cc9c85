@testable import PytestdCore
import XCTest

final class LearnedImportsTests: XCTestCase {
    let day: Int64 = 24 * 3600

    func testModulesKeepTheOrderTheyWereFirstUsedIn() {
        var learned = LearnedImports()
        XCTAssertEqual(learned.record(used: ["a", "a.b", "c"], at: 100), .changed)
        XCTAssertEqual(learned.record(used: ["d", "a.b", "e"], at: 200), .changed)
        XCTAssertEqual(learned.names, ["a", "a.b", "c", "d", "e"])
        XCTAssertEqual(learned.modules.first { $0.name == "a.b" }?.lastUsed, 200)
        XCTAssertEqual(learned.runs, 2)
    }

    func testAUseOfKnownModulesOnlyRefreshesThem() {
        var learned = LearnedImports()
        _ = learned.record(used: ["a", "b"], at: 100)
        XCTAssertEqual(learned.record(used: ["b"], at: 150), .refreshed)
        XCTAssertEqual(learned.record(used: [], at: 160), .none)
        XCTAssertEqual(learned.modules.map(\.lastUsed), [100, 150])
    }

    func testModulesUnusedForLongerThanTheRetentionGo() {
        var learned = LearnedImports()
        _ = learned.record(used: ["old", "kept"], at: 0)
        _ = learned.record(used: ["kept"], at: 20 * day)
        XCTAssertEqual(learned.record(used: ["new"], at: 31 * day), .changed)
        XCTAssertEqual(learned.names, ["kept", "new"])
    }

    func testTheCapacityDropsTheLeastRecentlyUsedAndKeepsTheOrder() {
        var generator = SeededGenerator(seed: 7)
        for _ in 0..<5 {
            var learned = LearnedImports()
            let total = LearnedImports.capacity + Int.random(in: 1...300, using: &generator)
            var uses: [(String, Int64)] = []
            for index in 0..<total {
                let time = Int64.random(in: 0...50, using: &generator)
                uses.append(("m\(index)", time))
            }
            for time in Int64(0)...50 { _ = learned.record(used: uses.filter { $0.1 == time }.map(\.0), at: time) }
            XCTAssertEqual(learned.modules.count, LearnedImports.capacity)
            let kept = Set(learned.names)
            let oldestKept = learned.modules.map(\.lastUsed).min()!
            for (name, time) in uses where !kept.contains(name) { XCTAssertLessThanOrEqual(time, oldestKept) }
            let positions = learned.modules.map { $0.lastUsed }
            XCTAssertEqual(positions, positions.sorted(), "first-use order is use-time order here")
        }
    }

    func testForgetRemovesOnlyNamedModules() {
        var learned = LearnedImports()
        _ = learned.record(used: ["a", "b", "c"], at: 1)
        XCTAssertEqual(learned.forget(["b", "zz"], at: 2), .changed)
        XCTAssertEqual(learned.forget(["zz"], at: 3), .none)
        XCTAssertEqual(learned.names, ["a", "c"])
    }

    func testNamesAFileCouldMisreadAreNotLearned() {
        var learned = LearnedImports()
        _ = learned.record(used: ["ok.name", "with space", "new\nline", "", ".rel", "a..b", "trailing.", "ünï.cödé", "_x1"], at: 1)
        XCTAssertEqual(learned.names, ["ok.name", "ünï.cödé", "_x1"])
    }

    func testTheFileRoundTrips() throws {
        var generator = SeededGenerator(seed: 11)
        for _ in 0..<50 {
            var learned = LearnedImports()
            for run in 0..<Int.random(in: 0...5, using: &generator) {
                let names = (0..<Int.random(in: 0...30, using: &generator)).map { _ in "pkg.m\(Int.random(in: 0...40, using: &generator))" }
                _ = learned.record(used: names, at: Int64(1_000 + run))
            }
            let text = learned.encoded(project: "0123abcd /p/root dir")
            XCTAssertEqual(try LearnedImports(decoding: text, project: "0123abcd /p/root dir"), learned)
        }
    }

    func testCorruptTruncatedOrForeignFilesAreRefused() {
        var learned = LearnedImports()
        _ = learned.record(used: ["a", "b.c"], at: 5)
        let text = learned.encoded(project: "k /p")
        XCTAssertThrowsError(try LearnedImports(decoding: text, project: "k /other")) { error in
            XCTAssertTrue("\(error)".contains("another project"))
        }
        XCTAssertThrowsError(try LearnedImports(decoding: String(text.dropLast()), project: "k /p"))
        XCTAssertThrowsError(try LearnedImports(decoding: text.replacingOccurrences(of: "5 b.c", with: "x b.c"), project: "k /p"))
        XCTAssertThrowsError(try LearnedImports(decoding: text + "5 a\n", project: "k /p"), "a duplicate")
        XCTAssertThrowsError(try LearnedImports(decoding: "", project: "k /p"))
        XCTAssertThrowsError(try LearnedImports(decoding: "\u{0}\u{ff}garbage", project: "k /p"))
        var generator = SeededGenerator(seed: 3)
        for _ in 0..<200 {
            // Any prefix of a valid file either reads back as the file or is refused; never a crash.
            let cut = Int.random(in: 0...text.utf8.count, using: &generator)
            let prefix = String(decoding: Array(text.utf8)[..<cut], as: UTF8.self)
            if let read = try? LearnedImports(decoding: prefix, project: "k /p") { XCTAssertEqual(read, learned) }
        }
    }

    func testRunReportsParseKindsAndDropAnIncompleteLastItem() {
        let bytes = Array("mapp.models\0tconftest\0rapp\0xodd\0mnump".utf8)
        XCTAssertEqual(RunImports(reported: bytes), RunImports(imported: ["app.models"], testModules: ["conftest"], referenced: ["app"]))
        XCTAssertTrue(RunImports(reported: []).isEmpty)
        XCTAssertEqual(RunImports(reported: Array("mx\0".utf8)).imported, ["x"])
    }

    func testARunUsesWhatItsTestModulesReachedInTemplateOrderThenItsOwnImports() {
        let report = HostReport(
            pythonVersion: "3.11", pytestVersion: "9", loadedFiles: [],
            modules: ["pytest", "app", "app.db", "app.models", "lib", "other"].map { Array("\($0)=/x/\($0).py".utf8) },
            importEdges: ["tests.test_m>app.models", "app.models>app.db", "app.models>lib", "app>app.db", "tests.test_o>other"]
                .map { Array($0.utf8) },
            environmentReads: [], readsWholeEnvironment: false, warmupSeconds: 1, warmupNote: "")
        let template = TemplateImports(report: report)
        let run = RunImports(imported: ["fresh.b", "fresh.a"], testModules: ["tests.test_m", "conftest"], referenced: ["pytest"])
        XCTAssertEqual(template.used(by: run), ["pytest", "app.db", "app.models", "lib", "fresh.b", "fresh.a"])
        XCTAssertTrue(template.contains("other"))
        XCTAssertFalse(template.contains("tests.test_m"), "evicted test modules are not the template's")
    }
}
