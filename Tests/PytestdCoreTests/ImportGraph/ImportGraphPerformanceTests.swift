import Foundation
import XCTest

@testable import PytestdCore

/// Timings of the scan → graph → plan path on a 10,000-module project. Runs only with
/// `PYTESTD_PERF=1` (use `-c release`), prints medians and checks no thresholds: timing is for
/// benchmarks to judge, not for a test that flakes on a busy machine.
///
///     PYTESTD_PERF=1 swift test -c release --disable-swift-testing --filter ImportGraphPerformanceTests
final class ImportGraphPerformanceTests: XCTestCase {
    private static let project = SyntheticProject(moduleCount: 10_000, seed: 0x9E7F)

    override func setUpWithError() throws {
        try XCTSkipUnless(ProcessInfo.processInfo.environment["PYTESTD_PERF"] == "1", "set PYTESTD_PERF=1 to time")
    }

    func testColdScanAndGraphBuild() {
        let files = Self.project.files
        let lines = files.reduce(0) { $0 + $1.text.utf8.count { $0 == 0x0A } }
        let bytes = files.reduce(0) { $0 + $1.text.utf8.count }
        var graph = ImportGraph()
        let median = medianOfFive {
            graph = ImportGraph()
            for file in files {
                let scan = ImportScanner(moduleName: file.module, isPackage: file.isPackage).scan(file.text)
                graph.update(module: file.module, edges: scan.edges)
            }
        }
        XCTAssertEqual(graph.moduleCount, files.count)
        print("cold scan + graph build: \(files.count) modules, \(lines) lines, \(bytes / 1_000_000) MB: median \(median)")
    }

    func testOneChangedFile() {
        let files = Self.project.files
        var graph = ImportGraph()
        var texts: [String: SyntheticProject.File] = [:]
        for file in files {
            graph.update(module: file.module, edges: ImportScanner(moduleName: file.module, isPackage: file.isPackage).scan(file.text).edges)
            texts[file.module] = file
        }
        let hubImporters = graph.importers(of: SyntheticProject.hub).count
        XCTAssertGreaterThanOrEqual(hubImporters, 1_000)
        for module in [Self.project.leaf, SyntheticProject.hub] {
            let file = texts[module]!
            let edited = file.text + "\ndef added_by_the_user():\n    return 1\n"
            var plan: ReloadPlan?
            let median = medianOfFive {
                let scan = ImportScanner(moduleName: module, isPackage: file.isPackage).scan(edited)
                graph.update(module: module, edges: scan.edges)
                plan = ReloadPlan(changed: [module], in: graph)
            }
            print("one changed file \(module) (scan + update + plan of \(plan!.modules.count) modules, \(graph.importers(of: module).count) direct importers): median \(median)")
        }
    }

    private func medianOfFive(_ body: () -> Void) -> Duration {
        let clock = ContinuousClock()
        let durations = (0..<5).map { _ in clock.measure(body) }.sorted()
        return durations[2]
    }
}
