import XCTest

@testable import PytestdCore

/// Property-style checks over seeded random graphs.
final class ReloadPlanPropertyTests: XCTestCase {
    private var generator = SeededGenerator(seed: 0x1A9_0E7)

    func testEveryModuleFollowsItsDependenciesInRandomDAGs() {
        for _ in 0..<30 {
            let dependencies = randomGraph(modules: 200, edgesPerModule: 0...6, backwardEdges: 0)
            let graph = makeGraph(dependencies)
            let changed = randomChangeSet(of: dependencies)
            let plan = ReloadPlan(changed: changed, in: graph)
            XCTAssertFalse(plan.containsCycle)
            var position: [String: Int] = [:]
            for (index, module) in plan.modules.enumerated() {
                XCTAssertNil(position.updateValue(index, forKey: module), "\(module) appears twice")
            }
            XCTAssertEqual(Set(plan.modules), expectedReloadSet(dependencies, changed: changed))
            for (module, index) in position {
                for dependency in dependencies[module]! {
                    if let dependencyIndex = position[dependency] {
                        XCTAssertLessThan(dependencyIndex, index, "\(module) reloads before its dependency \(dependency)")
                    }
                }
            }
        }
    }

    func testEveryCycleIsOneStepInAValidCondensationOrder() {
        var cycleSteps = 0
        defer { XCTAssertGreaterThan(cycleSteps, 10, "the generator must produce cycles for this test to mean anything") }
        for _ in 0..<30 {
            let dependencies = randomGraph(modules: 200, edgesPerModule: 1...4, backwardEdges: 30)
            let graph = makeGraph(dependencies)
            let changed = randomChangeSet(of: dependencies)
            let plan = ReloadPlan(changed: changed, in: graph)
            XCTAssertEqual(plan.modules.count, Set(plan.modules).count)
            XCTAssertEqual(Set(plan.modules), expectedReloadSet(dependencies, changed: changed))
            var stepOf: [String: Int] = [:]
            for (index, step) in plan.steps.enumerated() {
                for module in step.modules { stepOf[module] = index }
                if case .cycle = step { cycleSteps += 1 }
            }
            let reach = reachability(dependencies)
            for (index, step) in plan.steps.enumerated() {
                // A step is exactly one strongly connected component: its modules reach each other,
                // and no module outside it is mutually reachable with them.
                for module in step.modules {
                    for other in step.modules { XCTAssertTrue(module == other || reach[module]!.contains(other)) }
                    for dependency in dependencies[module]! {
                        guard let dependencyStep = stepOf[dependency] else { continue }
                        XCTAssertLessThanOrEqual(dependencyStep, index, "\(module) before its dependency \(dependency)")
                        if dependencyStep == index { XCTAssertTrue(reach[dependency]!.contains(module)) }
                    }
                }
                if case .module(let module) = step {
                    XCTAssertFalse(reach[module]!.contains { $0 != module && reach[$0]!.contains(module) })
                }
            }
        }
    }

    /// Skipping the steps caused only by some changed modules leaves exactly the plan of the others.
    func testStepsCausedByASubsetAreThatSubsetsPlan() {
        for _ in 0..<30 {
            let dependencies = randomGraph(modules: 150, edgesPerModule: 0...4, backwardEdges: 10)
            let graph = makeGraph(dependencies)
            let changed = randomChangeSet(of: dependencies)
            let plan = ReloadPlan(changed: changed, in: graph)
            XCTAssertEqual(plan.causes.count, plan.steps.count)
            XCTAssertTrue(plan.causes.allSatisfy { !$0.isEmpty && $0 == $0.sorted() && Set($0).isSubset(of: changed) })
            let kept = Set(changed.filter { _ in Bool.random(using: &generator) })
            let remaining = zip(plan.steps, plan.causes).filter { !kept.isDisjoint(with: $0.1) }.flatMap(\.0.modules)
            XCTAssertEqual(Set(remaining), Set(ReloadPlan(changed: kept, in: graph).modules))
        }
    }

    func testIncrementalUpdatesGiveTheSameGraphAsBuildingFromScratch() {
        for _ in 0..<12 {
            var current = randomGraph(modules: 60, edgesPerModule: 0...5, backwardEdges: 5)
            var graph = makeGraph(current)
            for _ in 0..<80 {
                let module = "m\(Int.random(in: 0..<70, using: &generator))"
                switch Int.random(in: 0..<4, using: &generator) {
                case 0:
                    current[module] = nil
                    graph.remove(module: module)
                default:
                    let targets = (0..<Int.random(in: 0...5, using: &generator)).map { _ in
                        Bool.random(using: &generator) ? "m\(Int.random(in: 0..<70, using: &generator))" : "ext.x"
                    }
                    current[module] = targets
                    graph.update(module: module, edges: edges(targets))
                }
                let scratch = makeGraph(current)
                XCTAssertEqual(graph, scratch)
                for name in Set(current.keys).union(current.values.joined()) {
                    XCTAssertEqual(
                        graph.importers(of: name),
                        Set(current.filter { $0.key != name && $0.value.contains(name) }.keys), name)
                }
            }
        }
    }

    // MARK: - Generators and oracles

    /// Modules `m0…`; forward edges go to lower numbers (a DAG), plus `backwardEdges` edges to
    /// higher numbers that close cycles. A few edges name modules outside the graph.
    private func randomGraph(modules: Int, edgesPerModule: ClosedRange<Int>, backwardEdges: Int) -> [String: [String]] {
        var dependencies: [String: [String]] = [:]
        for index in 0..<modules {
            var targets: [String] = []
            if index > 0 {
                for _ in 0..<Int.random(in: edgesPerModule, using: &generator) {
                    targets.append("m\(Int.random(in: 0..<index, using: &generator))")
                }
            }
            if Int.random(in: 0..<10, using: &generator) == 0 { targets.append("stdlib.os") }
            dependencies["m\(index)"] = targets
        }
        for _ in 0..<backwardEdges {
            let from = Int.random(in: 0..<modules - 1, using: &generator)
            dependencies["m\(from)"]!.append("m\(Int.random(in: from + 1..<modules, using: &generator))")
        }
        return dependencies
    }

    private func randomChangeSet(of dependencies: [String: [String]]) -> Set<String> {
        Set((0..<Int.random(in: 1...4, using: &generator)).map { _ in dependencies.keys.randomElement(using: &generator)! })
    }

    /// The changed modules and everything that reaches one of them, computed the slow way.
    private func expectedReloadSet(_ dependencies: [String: [String]], changed: Set<String>) -> Set<String> {
        let reach = reachability(dependencies)
        return Set(dependencies.keys.filter { changed.contains($0) || !reach[$0]!.isDisjoint(with: changed) })
    }

    /// For each module, the modules of the graph it reaches through one or more edges.
    private func reachability(_ dependencies: [String: [String]]) -> [String: Set<String>] {
        dependencies.mapValues { direct in
            var seen = Set<String>()
            var pending = direct
            while let next = pending.popLast() {
                guard let further = dependencies[next], seen.insert(next).inserted else { continue }
                pending.append(contentsOf: further)
            }
            return seen
        }
    }
}
