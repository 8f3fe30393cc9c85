/// The ids of an append-only list of names, kept in name order, so that a reload order can
/// break ties alphabetically without sorting thousands of names on every change.
///
/// New ids wait in a small unsorted batch and are merged in once the batch is full; queries
/// merge the batch on the fly, so every query sees the exact name order.
struct NameOrder: Sendable {
    /// Ids in name order.
    private var sorted: [Int] = []
    /// Ids added since the last merge.
    private var recent: [Int] = []
    private static let batchSize = 512

    mutating func append(_ id: Int, names: [String]) {
        recent.append(id)
        if recent.count >= Self.batchSize {
            sorted = Self.merge(sorted, recent.sorted { names[$0] < names[$1] }, names: names)
            recent.removeAll(keepingCapacity: true)
        }
    }

    /// The ids for which `isMember` is true, in name order.
    func members(where isMember: [Bool], names: [String]) -> [Int] {
        let settled = sorted.filter { isMember[$0] }
        let pending = recent.filter { isMember[$0] }
        guard !pending.isEmpty else { return settled }
        return Self.merge(settled, pending.sorted { names[$0] < names[$1] }, names: names)
    }

    private static func merge(_ left: [Int], _ right: [Int], names: [String]) -> [Int] {
        var merged: [Int] = []
        merged.reserveCapacity(left.count + right.count)
        var leftIndex = 0
        var rightIndex = 0
        while leftIndex < left.count, rightIndex < right.count {
            if names[right[rightIndex]] < names[left[leftIndex]] {
                merged.append(right[rightIndex])
                rightIndex += 1
            } else {
                merged.append(left[leftIndex])
                leftIndex += 1
            }
        }
        merged.append(contentsOf: left[leftIndex...])
        merged.append(contentsOf: right[rightIndex...])
        return merged
    }
}
