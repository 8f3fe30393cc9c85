/// What to reload, in what order, after some modules changed: the changed modules and all
/// their transitive importers, dependencies first.
///
/// Every importer must follow its dependencies: `from model import User` in `view` keeps the
/// old `User` unless `view` is reloaded after `model`. Pure and deterministic: the same graph
/// and change set always give the same steps (ties broken by name).
///
/// ```swift
/// let plan = ReloadPlan(changed: ["app.model"], in: graph)
/// for step in plan.steps { ... }   // .module("app.model"), .module("app.view"), .module("tests.test_view")
/// ```
///
/// Changed names that are not in the graph (a deleted file) are not steps themselves, but their
/// importers are.
public struct ReloadPlan: Equatable, Sendable {
    public let changed: Set<String>
    public let steps: [ReloadStep]
    /// For each step, the changed modules it is there for (itself, or what it imports, transitively),
    /// sorted: when some of them need no re-execution after all (an edit patched in place), the
    /// steps only they caused can be skipped.
    public let causes: [[String]]

    public init(changed: Set<String>, in graph: ImportGraph) {
        self.changed = changed
        steps = graph.reloadSteps(forChanged: changed)
        let names = changed.sorted()
        guard names.count > 1 else {  // the usual save: one module, the cause of every step
            causes = Array(repeating: names, count: steps.count)
            return
        }
        let reach = names.map { ($0, graph.transitiveImporters(of: [$0]).union([$0])) }
        causes = steps.map { step in
            reach.filter { _, modules in step.modules.contains(where: modules.contains) }.map(\.0)
        }
    }

    /// All modules of the plan, in reload order.
    public var modules: [String] { steps.flatMap(\.modules) }

    /// Whether some step is an import cycle (which needs a purge-and-re-import, not reloads).
    public var containsCycle: Bool {
        steps.contains {
            if case .cycle = $0 { return true }
            return false
        }
    }
}
