import XCTest

@testable import PytestdCore

/// The graph's indices and how they follow additions, updates and removals.
final class ImportGraphTests: XCTestCase {
    func testReverseIndexListsDirectImporters() {
        let graph = makeGraph(["test": ["view", "model"], "view": ["model"], "model": []])
        XCTAssertEqual(graph.importers(of: "model"), ["view", "test"])
        XCTAssertEqual(graph.importers(of: "view"), ["test"])
        XCTAssertEqual(graph.importers(of: "test"), [])
        XCTAssertEqual(graph.dependencies(of: "test"), ["view", "model"])
    }

    func testTransitiveImportersFollowChainsAndExcludeUnrelatedModules() {
        let graph = makeGraph(["a": ["b"], "b": ["c"], "c": [], "d": ["c"], "e": []])
        XCTAssertEqual(graph.transitiveImporters(of: ["c"]), ["a", "b", "d"])
        XCTAssertEqual(graph.transitiveImporters(of: ["a"]), [])
        XCTAssertEqual(graph.transitiveImporters(of: ["e"]), [])
    }

    func testTypeCheckingOnlyEdgesAreStoredButDoNotMakeImporters() {
        var graph = ImportGraph()
        let edges = [ImportEdge(target: "model", kind: .typeCheckingOnly, line: 3)]
        graph.update(module: "view", edges: edges)
        graph.update(module: "model", edges: [])
        XCTAssertEqual(graph.edges(of: "view"), edges)
        XCTAssertEqual(graph.importers(of: "model"), [])
        XCTAssertEqual(ReloadPlan(changed: ["model"], in: graph).modules, ["model"])
    }

    func testRuntimeImportWinsOverATypeCheckingOnlyImportOfTheSameModule() {
        var graph = ImportGraph()
        graph.update(module: "model", edges: [])
        graph.update(
            module: "view",
            edges: [ImportEdge(target: "model", kind: .typeCheckingOnly, line: 1), ImportEdge(target: "model", line: 9)])
        XCTAssertEqual(graph.importers(of: "model"), ["view"])
    }

    func testEdgesToModulesOutsideTheGraphAreKeptOutOfOrdering() {
        let graph = makeGraph(["app": ["os", "json", "lib"], "lib": ["typing"]])
        XCTAssertEqual(graph.dependencies(of: "app"), ["lib"])
        XCTAssertEqual(graph.reloadOrder(of: ["app", "lib", "os"]), [.module("lib"), .module("app")])
    }

    func testSubmoduleCandidateCountsOnlyOnceTheModuleExists() {
        var graph = ImportGraph()
        graph.update(module: "app", edges: scan("from pkg import thing", module: "app").edges)
        graph.update(module: "pkg", edges: [])
        XCTAssertEqual(graph.dependencies(of: "app"), ["pkg"])
        graph.add(module: "pkg.thing", edges: [])
        XCTAssertEqual(graph.dependencies(of: "app"), ["pkg", "pkg.thing"])
        XCTAssertEqual(ReloadPlan(changed: ["pkg.thing"], in: graph).modules, ["pkg.thing", "app"])
    }

    func testUpdateReplacesEdgesAndKeepsTheReverseIndexConsistent() {
        var graph = makeGraph(["a": ["b", "c"], "b": [], "c": []])
        graph.update(module: "a", edges: edges(["c", "d"]))
        XCTAssertEqual(graph.importers(of: "b"), [])
        XCTAssertEqual(graph.importers(of: "c"), ["a"])
        XCTAssertEqual(graph.importers(of: "d"), ["a"])
        XCTAssertEqual(graph, makeGraph(["a": ["c", "d"], "b": [], "c": []]))
    }

    func testRemovedModuleLeavesItsImportersPointingAtIt() {
        var graph = makeGraph(["a": ["b"], "b": ["c"], "c": []])
        graph.remove(module: "b")
        XCTAssertFalse(graph.contains("b"))
        XCTAssertEqual(graph.moduleCount, 2)
        XCTAssertEqual(graph.importers(of: "c"), [])
        XCTAssertEqual(graph.importers(of: "b"), ["a"])
        XCTAssertEqual(ReloadPlan(changed: ["b"], in: graph).modules, ["a"])
        graph.remove(module: "b")
        XCTAssertEqual(graph.moduleCount, 2)
    }

    func testModuleAddedLaterFindsItsExistingImporters() {
        var graph = makeGraph(["a": ["new"]])
        graph.add(module: "new", edges: [])
        XCTAssertEqual(ReloadPlan(changed: ["new"], in: graph).modules, ["new", "a"])
    }

    func testSelfImportIsNotADependencyOrACycle() {
        let graph = makeGraph(["a": ["a", "b"], "b": []])
        XCTAssertEqual(graph.importers(of: "a"), [])
        XCTAssertEqual(graph.importCycles(), [])
        XCTAssertEqual(ReloadPlan(changed: ["a"], in: graph).steps, [.module("a")])
        XCTAssertEqual(ReloadPlan(changed: ["b"], in: graph).steps, [.module("b"), .module("a")])
    }

    func testImportCyclesAreReportedDependenciesFirst() {
        let graph = makeGraph(["x": ["y"], "y": ["x", "z"], "z": ["w"], "w": ["z"], "solo": []])
        XCTAssertEqual(graph.importCycles(), [["w", "z"], ["x", "y"]])
    }

    func testGraphsBuiltInDifferentOrdersAreEqual() {
        let dependencies = ["a": ["b", "os"], "b": ["c"], "c": [], "d": ["a", "c"]]
        var forward = ImportGraph()
        for name in dependencies.keys.sorted() { forward.update(module: name, edges: edges(dependencies[name]!)) }
        var backward = ImportGraph()
        for name in dependencies.keys.sorted().reversed() { backward.update(module: name, edges: edges(dependencies[name]!)) }
        XCTAssertEqual(forward, backward)
        backward.update(module: "d", edges: edges(["a"]))
        XCTAssertNotEqual(forward, backward)
    }

    func testTenThousandDeepChainNeedsNoDeepStack() {
        let length = 10_000
        var graph = ImportGraph()
        for index in 0..<length {
            graph.update(module: chainName(index), edges: index == 0 ? [] : edges([chainName(index - 1)]))
        }
        let plan = ReloadPlan(changed: [chainName(0)], in: graph)
        XCTAssertEqual(plan.modules, (0..<length).map(chainName))

        graph.update(module: chainName(0), edges: edges([chainName(length - 1)]))
        let cycle = ReloadPlan(changed: [chainName(0)], in: graph)
        XCTAssertEqual(cycle.steps.count, 1)
        XCTAssertEqual(cycle.steps.first?.modules.count, length)
    }

    private func chainName(_ index: Int) -> String { "chain.m\(index)" }
}

/// Run-time edges to each of `targets`.
func edges(_ targets: [String]) -> [ImportEdge] {
    targets.map { ImportEdge(target: $0, line: 1) }
}

/// A graph from module → run-time import targets.
func makeGraph(_ dependencies: [String: [String]]) -> ImportGraph {
    ImportGraph(edges: dependencies.mapValues(edges))
}
