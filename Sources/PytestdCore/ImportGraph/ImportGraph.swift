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
    private var dependencyIDs = PackedLists()
    /// Modules whose run-time edges name each id, unordered. `m` is in `importerIDs[t]` exactly
    /// when `t` is in `dependencyIDs[m]`, which `replaceDependencies` keeps true.
    private var importerIDs: [[Int]] = []
    private var nameOrder = NameOrder()
    public private(set) var moduleCount = 0

    public init() {}

    /// Builds a graph from a whole scan of the project.
    public init(edges: [String: [ImportEdge]]) {
        for (module, moduleEdges) in edges { update(module: module, edges: moduleEdges) }
    }

    // MARK: - Changes

    /// Adds a module for a new file. Names that already import it become its importers at once.
    /// Adding a module that is already present replaces its edges, as `update` does: a repeated
    /// creation event must never leave stale edges behind.
    public mutating func add(module: String, edges: [ImportEdge]) {
        update(module: module, edges: edges)
    }

    /// Sets the edges of `module` (adding it if needed) from a fresh scan of its file. Touches
    /// only this module's old and new targets, never the rest of the graph.
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
        var distinct: [Int] = []
        distinct.reserveCapacity(targets.count)
        for target in targets where distinct.last != target { distinct.append(target) }
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
        dependencyIDs.appendList()
        importerIDs.append([])
        nameOrder.append(new, names: names)
        return new
    }

    /// Replaces a module's dependencies and patches the reverse index by the sorted difference.
    private mutating func replaceDependencies(of moduleID: Int, with new: [Int]) {
        let old = Array(dependencyIDs[list: moduleID])
        var oldIndex = 0
        var newIndex = 0
        while oldIndex < old.count || newIndex < new.count {
            if newIndex == new.count || (oldIndex < old.count && old[oldIndex] < new[newIndex]) {
                let target = old[oldIndex]
                let position = importerIDs[target].lastIndex(of: moduleID)!
                importerIDs[target].swapAt(position, importerIDs[target].count - 1)
                importerIDs[target].removeLast()
                oldIndex += 1
            } else if oldIndex == old.count || new[newIndex] < old[oldIndex] {
                importerIDs[new[newIndex]].append(moduleID)
                newIndex += 1
            } else {
                oldIndex += 1
                newIndex += 1
            }
        }
        dependencyIDs.replace(list: moduleID, with: new)
    }

    // MARK: - Queries

    public var modules: Set<String> { Set(moduleIDs.map { names[$0] }) }

    public func contains(_ module: String) -> Bool { ids[module].map { scannedEdges[$0] != nil } ?? false }

    /// The edges last given for `module`, type-checking-only ones included; nil if not in the graph.
    public func edges(of module: String) -> [ImportEdge]? { ids[module].flatMap { scannedEdges[$0] } }

    /// Modules of the graph that `module` imports at run time.
    public func dependencies(of module: String) -> Set<String> {
        guard let moduleID = ids[module] else { return [] }
        return Set(dependencyIDs[list: moduleID].filter(isModule).map { names[$0] })
    }

    /// Modules of the graph that import `name` at run time (whether or not `name` is in the graph).
    public func importers(of name: String) -> Set<String> {
        guard let nameID = ids[name] else { return [] }
        return Set(importerIDs[nameID].map { names[$0] })
    }

    /// Every module that imports one of `names` directly or through other modules. A given name
    /// is included only if it imports another given name, or itself through a cycle.
    public func transitiveImporters(of names: Set<String>) -> Set<String> {
        let seeds = names.compactMap { ids[$0] }
        return Set(transitiveImporterIDs(of: seeds).map { self.names[$0] })
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

    private func transitiveImporterIDs(of seeds: [Int]) -> [Int] {
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
        return reloadOrder(ofIDs: seeds.filter(isModule) + transitiveImporterIDs(of: seeds))
    }

    private func reloadOrder(ofIDs ids: [Int]) -> [ReloadStep] {
        var isMember = [Bool](repeating: false, count: names.count)
        for id in ids { isMember[id] = true }
        // Local numbers follow name order, so "smallest number" breaks ties alphabetically.
        let members = nameOrder.members(where: isMember, names: names)
        var localNumber = [Int](repeating: -1, count: names.count)
        for (number, member) in members.enumerated() { localNumber[member] = number }
        var rowStarts = [0]
        rowStarts.reserveCapacity(members.count + 1)
        var targets: [Int] = []
        let storage = dependencyIDs.storage
        let starts = dependencyIDs.starts
        let counts = dependencyIDs.counts
        for member in members {
            for position in starts[member]..<starts[member] + counts[member] where localNumber[storage[position]] >= 0 {
                targets.append(localNumber[storage[position]])
            }
            rowStarts.append(targets.count)
        }
        let order = DependencyOrder(dependencies: AdjacencyRows(rowStarts: rowStarts, targets: targets))
        return (0..<order.stepCount).map { index in
            let step = order.step(index)
            return step.count == 1 ? .module(names[members[step.first!]]) : .cycle(step.map { names[members[$0]] })
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
