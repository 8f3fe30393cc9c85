/// Orders a dependency graph dependencies-first, with each strongly connected component
/// condensed into one step. Nodes are `0..<n`; a lower index wins ties, so callers that number
/// nodes by name get a by-name order.
///
/// Tarjan's algorithm with an explicit stack: project import chains can be thousands of
/// modules deep, deeper than the call stack allows for recursion.
struct DependencyOrder {
    /// Each step's nodes, ascending; steps in dependencies-first order.
    private(set) var steps: [[Int]] = []

    /// - Parameter dependencies: for each node, the nodes it depends on.
    init(dependencies: [[Int]]) {
        let components = Self.stronglyConnectedComponents(dependencies)
        steps = Self.condensedOrder(dependencies, components: components)
    }

    /// The component of each node, and the component count.
    private static func stronglyConnectedComponents(_ dependencies: [[Int]]) -> (of: [Int], count: Int) {
        let count = dependencies.count
        var index = [Int](repeating: -1, count: count)
        var lowLink = [Int](repeating: 0, count: count)
        var onStack = [Bool](repeating: false, count: count)
        var component = [Int](repeating: -1, count: count)
        var stack: [Int] = []
        var frames: [(node: Int, nextEdge: Int)] = []
        var nextIndex = 0
        var componentCount = 0

        for root in 0..<count where index[root] < 0 {
            index[root] = nextIndex
            lowLink[root] = nextIndex
            nextIndex += 1
            stack.append(root)
            onStack[root] = true
            frames.append((root, 0))
            while let frame = frames.last {
                let node = frame.node
                if frame.nextEdge < dependencies[node].count {
                    frames[frames.count - 1].nextEdge += 1
                    let next = dependencies[node][frame.nextEdge]
                    if index[next] < 0 {
                        index[next] = nextIndex
                        lowLink[next] = nextIndex
                        nextIndex += 1
                        stack.append(next)
                        onStack[next] = true
                        frames.append((next, 0))
                    } else if onStack[next] {
                        lowLink[node] = min(lowLink[node], index[next])
                    }
                    continue
                }
                frames.removeLast()
                if let parent = frames.last?.node { lowLink[parent] = min(lowLink[parent], lowLink[node]) }
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
    private static func condensedOrder(_ dependencies: [[Int]], components: (of: [Int], count: Int)) -> [[Int]] {
        var members = [[Int]](repeating: [], count: components.count)
        for node in dependencies.indices { members[components.of[node]].append(node) }
        var unmetDependencies = [Int](repeating: 0, count: components.count)
        var dependents = [[Int]](repeating: [], count: components.count)
        for node in dependencies.indices {
            let component = components.of[node]
            for dependency in dependencies[node] where components.of[dependency] != component {
                unmetDependencies[component] += 1
                dependents[components.of[dependency]].append(component)
            }
        }
        var ready = MinHeap()
        for component in 0..<components.count where unmetDependencies[component] == 0 {
            ready.insert(members[component][0])
        }
        var order: [[Int]] = []
        order.reserveCapacity(components.count)
        while let smallest = ready.popMin() {
            let component = components.of[smallest]
            order.append(members[component])
            for dependent in dependents[component] {
                unmetDependencies[dependent] -= 1
                if unmetDependencies[dependent] == 0 { ready.insert(members[dependent][0]) }
            }
        }
        return order
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
