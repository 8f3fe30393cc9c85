/// The project's modules and who imports whom, kept current one changed file at a time.
///
/// Built from `ImportScanner` results. Two indices are kept in step on every change: each
/// module's run-time dependencies and, reversed, each name's importers, so that "what must be
/// reloaded when `m` changes" (`m`'s transitive importers) is a walk over the reverse index, not
/// a rescan.
///
/// - Only `.runtime` edges order reloads; `.typeCheckingOnly` edges are stored but never run.
/// - Edges may name modules outside the graph (stdlib, third party, submodule candidates that
///   turn out to be attributes, files not yet added). They never take part in ordering, but the
///   reverse index remembers them, so a module added later immediately knows its importers.
/// - A module importing itself has no ordering constraint and is not an importer of itself.
///
/// ```swift
/// var graph = ImportGraph()
/// graph.update(module: "app.model", edges: ImportScanner(moduleName: "app.model", isPackage: false).scan(text).edges)
/// let plan = ReloadPlan(changed: ["app.model"], in: graph)
/// ```
public struct ImportGraph: Sendable {
    /// Every name seen as a module or an edge target, by dense id; ids are never reused, so that
    /// the indices can be plain arrays.
    private var names: [String] = []
    private var ids: [String: Int] = [:]
    /// The scanned edges of each module in the graph; nil for names that are only targets.
    private var scannedEdges: [[ImportEdge]?] = []
    /// Distinct run-time targets of each module, sorted by id, self excluded.
    private var dependencyIDs: [[Int]] = []
    /// Modules whose run-time edges name each id.
    private var importerIDs: [Set<Int>] = []
    public private(set) var moduleCount = 0

    public init() {}

    /// Builds a graph from a whole scan of the project.
    public init(edges: [String: [ImportEdge]]) {
        for (module, moduleEdges) in edges { update(module: module, edges: moduleEdges) }
    }

    // MARK: - Changes

    /// Adds a module that is not in the graph yet (a new file).
    public mutating func add(module: String, edges: [ImportEdge]) {
        precondition(!contains(module), "\(module) is already in the import graph; use update")
        update(module: module, edges: edges)
    }

    /// Sets the edges of `module` (adding it if needed) from a fresh scan of its file. Costs in
    /// proportion to its old and new edges, whatever the size of the graph.
    public mutating func update(module: String, edges: [ImportEdge]) {
        let moduleID = id(for: module)
        if scannedEdges[moduleID] == nil { moduleCount += 1 }
        scannedEdges[moduleID] = edges
        var targets: [Int] = []
        targets.reserveCapacity(edges.count)
        for edge in edges where edge.kind == .runtime {
            let target = id(for: edge.target)
            if target != moduleID { targets.append(target) }
        }
        targets.sort()
        let distinct = targets.enumerated().filter { $0.offset == 0 || targets[$0.offset - 1] != $0.element }.map(\.element)
        replaceDependencies(of: moduleID, with: distinct)
    }

    /// Removes a module (its file was deleted). Its importers still name it, and keep doing so in
    /// the reverse index: they are what must be re-imported (and fail) next.
    public mutating func remove(module: String) {
        guard let moduleID = ids[module], scannedEdges[moduleID] != nil else { return }
        replaceDependencies(of: moduleID, with: [])
        scannedEdges[moduleID] = nil
        moduleCount -= 1
    }

    private mutating func id(for name: String) -> Int {
        if let existing = ids[name] { return existing }
        let new = names.count
        names.append(name)
        ids[name] = new
        scannedEdges.append(nil)
        dependencyIDs.append([])
        importerIDs.append([])
        return new
    }

    /// Replaces a module's dependencies and patches the reverse index by the sorted difference.
    private mutating func replaceDependencies(of moduleID: Int, with new: [Int]) {
        let old = dependencyIDs[moduleID]
        var oldIndex = 0
        var newIndex = 0
        while oldIndex < old.count || newIndex < new.count {
            if newIndex == new.count || (oldIndex < old.count && old[oldIndex] < new[newIndex]) {
                importerIDs[old[oldIndex]].remove(moduleID)
                oldIndex += 1
            } else if oldIndex == old.count || new[newIndex] < old[oldIndex] {
                importerIDs[new[newIndex]].insert(moduleID)
                newIndex += 1
            } else {
                oldIndex += 1
                newIndex += 1
            }
        }
        dependencyIDs[moduleID] = new
    }

    // MARK: - Queries

    public var modules: Set<String> { Set(moduleIDs.map { names[$0] }) }

    public func contains(_ module: String) -> Bool { ids[module].map { scannedEdges[$0] != nil } ?? false }

    /// The edges last given for `module`, type-checking-only ones included; nil if not in the graph.
    public func edges(of module: String) -> [ImportEdge]? { ids[module].flatMap { scannedEdges[$0] } }

    /// Modules of the graph that `module` imports at run time.
    public func dependencies(of module: String) -> Set<String> {
        guard let moduleID = ids[module] else { return [] }
        return Set(dependencyIDs[moduleID].filter(isModule).map { names[$0] })
    }

    /// Modules of the graph that import `name` at run time (whether or not `name` is in the graph).
    public func importers(of name: String) -> Set<String> {
        guard let nameID = ids[name] else { return [] }
        return Set(importerIDs[nameID].map { names[$0] })
    }

    /// Every module that imports one of `names` directly or through other modules. A given name
    /// is included only if it imports another given name, or itself through a cycle.
    public func transitiveImporters(of names: Set<String>) -> Set<String> {
        Set(transitiveImporterIDs(of: names.compactMap { ids[$0] }).map { self.names[$0] })
    }

    /// Reload steps for `modules`, dependencies first: each module after every module of the set
    /// it imports at run time; modules of an import cycle together as one step. Names outside
    /// the graph are left out. Ties go to the alphabetically first step, so the order is stable.
    public func reloadOrder(of modules: Set<String>) -> [ReloadStep] {
        reloadOrder(ofIDs: modules.compactMap { ids[$0] }.filter(isModule))
    }

    /// The import cycles of the whole graph: strongly connected components of more than one
    /// module, each sorted, dependencies first.
    public func importCycles() -> [[String]] {
        reloadOrder(ofIDs: moduleIDs).compactMap {
            if case .cycle(let members) = $0 { return members }
            return nil
        }
    }

    // MARK: - Id-level algorithms

    private var moduleIDs: [Int] { scannedEdges.indices.filter { scannedEdges[$0] != nil } }

    private func isModule(_ id: Int) -> Bool { scannedEdges[id] != nil }

    func transitiveImporterIDs(of seeds: [Int]) -> [Int] {
        var seen = [Bool](repeating: false, count: names.count)
        var found: [Int] = []
        var pending = seeds
        while let next = pending.popLast() {
            for importer in importerIDs[next] where !seen[importer] {
                seen[importer] = true
                found.append(importer)
                pending.append(importer)
            }
        }
        return found
    }

    /// The plan for a set of changed names: them and their transitive importers, in order.
    func reloadSteps(forChanged changed: Set<String>) -> [ReloadStep] {
        let seeds = changed.compactMap { ids[$0] }
        var affected = seeds.filter(isModule)
        affected.append(contentsOf: transitiveImporterIDs(of: seeds))
        return reloadOrder(ofIDs: affected)
    }

    private func reloadOrder(ofIDs unordered: [Int]) -> [ReloadStep] {
        // Local indices follow name order, so "smallest index" breaks ties alphabetically.
        var members = unordered.sorted { names[$0] < names[$1] }
        members = members.enumerated().filter { $0.offset == 0 || members[$0.offset - 1] != $0.element }.map(\.element)
        var localIndex = [Int](repeating: -1, count: names.count)
        for (index, member) in members.enumerated() { localIndex[member] = index }
        let dependencies = members.map { member in
            dependencyIDs[member].compactMap { localIndex[$0] >= 0 ? localIndex[$0] : nil }
        }
        let order = DependencyOrder(dependencies: dependencies)
        return order.steps.map { step in
            step.count == 1 ? .module(names[members[step[0]]]) : .cycle(step.map { names[members[$0]] })
        }
    }
}

extension ImportGraph: Equatable {
    /// Equal when both hold the same modules with the same edges and the same reverse index,
    /// however (and in whatever order) they were built.
    public static func == (lhs: ImportGraph, rhs: ImportGraph) -> Bool {
        guard lhs.moduleCount == rhs.moduleCount else { return false }
        for id in lhs.names.indices {
            let name = lhs.names[id]
            if let edges = lhs.scannedEdges[id], rhs.edges(of: name) != edges { return false }
            if lhs.importers(of: name) != rhs.importers(of: name) { return false }
        }
        return rhs.names.allSatisfy { lhs.ids[$0] != nil || rhs.importers(of: $0).isEmpty }
    }
}
