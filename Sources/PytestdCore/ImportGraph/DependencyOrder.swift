/// Orders a dependency graph dependencies-first, with each strongly connected component
/// condensed into one step. Nodes are `0..<n`; a lower number wins ties, so callers that number
/// nodes by name get a by-name order.
///
/// Tarjan's algorithm with an explicit stack: project import chains can be thousands of
/// modules deep, deeper than the call stack allows for recursion. Flat arrays throughout, as
/// this runs on every change of a hub module that most of the project imports.
struct DependencyOrder {
    /// The nodes of all steps, step after step, each step's nodes ascending.
    private(set) var nodes: [Int] = []
    /// Where each step starts in `nodes`, plus a final `nodes.count`.
    private(set) var stepStarts: [Int] = [0]

    var stepCount: Int { stepStarts.count - 1 }

    func step(_ index: Int) -> ArraySlice<Int> { nodes[stepStarts[index]..<stepStarts[index + 1]] }

    /// - Parameter dependencies: what each node depends on, as adjacency in compressed rows.
    init(dependencies: AdjacencyRows) {
        let components = Self.stronglyConnectedComponents(dependencies)
        order(dependencies, componentOf: components.of, componentCount: components.count)
    }

    /// The component of each node, and the component count.
    private static func stronglyConnectedComponents(_ graph: AdjacencyRows) -> (of: [Int], count: Int) {
        let count = graph.nodeCount
        var index = [Int](repeating: -1, count: count)
        var lowLink = [Int](repeating: 0, count: count)
        var onStack = [Bool](repeating: false, count: count)
        var component = [Int](repeating: -1, count: count)
        var stack: [Int] = []
        /// Depth-first frames: the node and the position of its next edge in `graph.targets`.
        var frameNodes: [Int] = []
        var frameEdges: [Int] = []
        var nextIndex = 0
        var componentCount = 0
        /// Numbers a node on first visit and opens its depth-first frame.
        func enter(_ node: Int) {
            index[node] = nextIndex
            lowLink[node] = nextIndex
            nextIndex += 1
            stack.append(node)
            onStack[node] = true
            frameNodes.append(node)
            frameEdges.append(graph.rowStarts[node])
        }

        for root in 0..<count where index[root] < 0 {
            enter(root)
            while let node = frameNodes.last {
                let edge = frameEdges[frameEdges.count - 1]
                if edge < graph.rowStarts[node + 1] {
                    frameEdges[frameEdges.count - 1] = edge + 1
                    let next = graph.targets[edge]
                    if index[next] < 0 {
                        enter(next)
                    } else if onStack[next] {
                        lowLink[node] = min(lowLink[node], index[next])
                    }
                    continue
                }
                frameNodes.removeLast()
                frameEdges.removeLast()
                if let parent = frameNodes.last { lowLink[parent] = min(lowLink[parent], lowLink[node]) }
                if lowLink[node] == index[node] {
                    while let member = stack.popLast() {
                        onStack[member] = false
                        component[member] = componentCount
                        if member == node { break }
                    }
                    componentCount += 1
                }
            }
        }
        return (component, componentCount)
    }

    /// Kahn's algorithm over the components, always taking the ready component whose smallest
    /// node is smallest.
    private mutating func order(_ graph: AdjacencyRows, componentOf: [Int], componentCount: Int) {
        // Members of each component, ascending (nodes are visited in ascending order).
        var memberStarts = [Int](repeating: 0, count: componentCount + 1)
        for node in 0..<graph.nodeCount { memberStarts[componentOf[node] + 1] += 1 }
        for component in 0..<componentCount { memberStarts[component + 1] += memberStarts[component] }
        var members = [Int](repeating: 0, count: graph.nodeCount)
        var fill = memberStarts
        for node in 0..<graph.nodeCount {
            members[fill[componentOf[node]]] = node
            fill[componentOf[node]] += 1
        }

        // What depends on each component, in compressed rows, and how many dependencies each waits for.
        var unmet = [Int](repeating: 0, count: componentCount)
        var dependentStarts = [Int](repeating: 0, count: componentCount + 1)
        for node in 0..<graph.nodeCount {
            for edge in graph.rowStarts[node]..<graph.rowStarts[node + 1]
            where componentOf[graph.targets[edge]] != componentOf[node] {
                unmet[componentOf[node]] += 1
                dependentStarts[componentOf[graph.targets[edge]] + 1] += 1
            }
        }
        for component in 0..<componentCount { dependentStarts[component + 1] += dependentStarts[component] }
        var dependentsOf = [Int](repeating: 0, count: dependentStarts[componentCount])
        var dependentFill = dependentStarts
        for node in 0..<graph.nodeCount {
            for edge in graph.rowStarts[node]..<graph.rowStarts[node + 1]
            where componentOf[graph.targets[edge]] != componentOf[node] {
                let dependency = componentOf[graph.targets[edge]]
                dependentsOf[dependentFill[dependency]] = componentOf[node]
                dependentFill[dependency] += 1
            }
        }
        let dependents = AdjacencyRows(rowStarts: dependentStarts, targets: dependentsOf)

        var ready = MinHeap()
        for component in 0..<componentCount where unmet[component] == 0 {
            ready.insert(members[memberStarts[component]])
        }
        nodes.reserveCapacity(graph.nodeCount)
        stepStarts.reserveCapacity(componentCount + 1)
        while let smallest = ready.popMin() {
            let component = componentOf[smallest]
            nodes.append(contentsOf: members[memberStarts[component]..<memberStarts[component + 1]])
            stepStarts.append(nodes.count)
            for edge in dependents.rowStarts[component]..<dependents.rowStarts[component + 1] {
                let dependent = dependents.targets[edge]
                unmet[dependent] -= 1
                if unmet[dependent] == 0 { ready.insert(members[memberStarts[dependent]]) }
            }
        }
    }
}

/// A directed graph on nodes `0..<nodeCount` as compressed rows: the targets of node `n` are
/// `targets[rowStarts[n]..<rowStarts[n + 1]]`.
struct AdjacencyRows {
    let nodeCount: Int
    let rowStarts: [Int]
    let targets: [Int]

    init(rowStarts: [Int], targets: [Int]) {
        nodeCount = rowStarts.count - 1
        self.rowStarts = rowStarts
        self.targets = targets
    }
}

/// A binary min-heap of integers.
struct MinHeap {
    private var items: [Int] = []

    mutating func insert(_ item: Int) {
        items.append(item)
        var child = items.count - 1
        while child > 0 {
            let parent = (child - 1) / 2
            guard items[child] < items[parent] else { break }
            items.swapAt(child, parent)
            child = parent
        }
    }

    mutating func popMin() -> Int? {
        guard !items.isEmpty else { return nil }
        items.swapAt(0, items.count - 1)
        let smallest = items.removeLast()
        var parent = 0
        while true {
            let left = 2 * parent + 1
            let right = left + 1
            var least = parent
            if left < items.count, items[left] < items[least] { least = left }
            if right < items.count, items[right] < items[least] { least = right }
            guard least != parent else { return smallest }
            items.swapAt(parent, least)
            parent = least
        }
    }
}
