import XCTest

@testable import PytestdCore

/// Which modules a change reloads, and in what order.
final class ReloadPlanTests: XCTestCase {
    /// The seed's picture: `test → view → model` and `test → model`.
    private let seed = makeGraph(["test": ["view", "model"], "view": ["model"], "model": []])

    func testChangingModelReloadsModelThenViewThenTest() {
        XCTAssertEqual(ReloadPlan(changed: ["model"], in: seed).modules, ["model", "view", "test"])
    }

    func testChangingViewReloadsViewThenTest() {
        XCTAssertEqual(ReloadPlan(changed: ["view"], in: seed).modules, ["view", "test"])
    }

    func testChangingTheTestReloadsOnlyTheTest() {
        XCTAssertEqual(ReloadPlan(changed: ["test"], in: seed).modules, ["test"])
    }

    func testSeedPictureFromSourceText() {
        var graph = ImportGraph()
        let files = [
            "app.model": "class User: pass\n",
            "app.view": "from .model import User\n",
            "tests.test_app": "from app.view import render\nfrom app import model\n",
        ]
        for (module, text) in files {
            graph.update(module: module, edges: ImportScanner(moduleName: module, isPackage: false).scan(text).edges)
        }
        graph.update(module: "app", edges: [])
        XCTAssertEqual(
            ReloadPlan(changed: ["app.model"], in: graph).modules, ["app.model", "app.view", "tests.test_app"])
    }

    func testDiamondReloadsTheSharedDependencyOnceAndFirst() {
        let graph = makeGraph(["top": ["left", "right"], "left": ["base"], "right": ["base"], "base": []])
        XCTAssertEqual(ReloadPlan(changed: ["base"], in: graph).modules, ["base", "left", "right", "top"])
        XCTAssertEqual(ReloadPlan(changed: ["left", "base"], in: graph).modules, ["base", "left", "right", "top"])
    }

    func testEachStepNamesTheChangedModulesItIsThereFor() {
        let graph = makeGraph(["top": ["left", "right"], "left": ["base"], "right": ["base"], "base": [], "side": []])
        let plan = ReloadPlan(changed: ["base", "right", "side"], in: graph)
        XCTAssertEqual(plan.modules, ["base", "left", "right", "side", "top"])
        XCTAssertEqual(plan.causes, [["base"], ["base"], ["base", "right"], ["side"], ["base", "right"]])
    }

    func testACycleIsThereForWhatAnyMemberImports() {
        let graph = makeGraph(["a": ["b", "x"], "b": ["a"], "x": [], "y": []])
        let plan = ReloadPlan(changed: ["x", "y"], in: graph)
        XCTAssertEqual(plan.steps, [.module("x"), .cycle(["a", "b"]), .module("y")])
        XCTAssertEqual(plan.causes, [["x"], ["x"], ["y"]])
    }

    func testTiesAreBrokenByNameForAStableOrder() {
        let graph = makeGraph(["c": ["z"], "a": ["z"], "b": ["z"], "z": []])
        XCTAssertEqual(ReloadPlan(changed: ["z"], in: graph).modules, ["z", "a", "b", "c"])
    }

    func testCycleIsOneStepAfterItsDependenciesAndBeforeItsImporters() {
        let graph = makeGraph(["app": ["b"], "a": ["b", "base"], "b": ["a"], "base": []])
        let plan = ReloadPlan(changed: ["base"], in: graph)
        XCTAssertEqual(plan.steps, [.module("base"), .cycle(["a", "b"]), .module("app")])
        XCTAssertTrue(plan.containsCycle)
        XCTAssertFalse(ReloadPlan(changed: ["app"], in: graph).containsCycle)
    }

    func testChangingOneModuleOfACycleReloadsTheWholeCycle() {
        let graph = makeGraph(["a": ["b"], "b": ["c"], "c": ["a"], "user": ["c"]])
        XCTAssertEqual(ReloadPlan(changed: ["b"], in: graph).steps, [.cycle(["a", "b", "c"]), .module("user")])
    }

    func testChangeToAModuleOutsideTheGraphReloadsNothing() {
        XCTAssertEqual(ReloadPlan(changed: ["os"], in: seed).steps, [])
        XCTAssertEqual(ReloadPlan(changed: [], in: seed).steps, [])
    }
}
