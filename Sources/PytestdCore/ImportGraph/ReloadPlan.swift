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

    public init(changed: Set<String>, in graph: ImportGraph) {
        self.changed = changed
        steps = graph.reloadSteps(forChanged: changed)
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
