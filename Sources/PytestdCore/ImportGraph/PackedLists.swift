/// Many short lists of integers stored back to back in one array.
///
/// A reload plan for a hub module walks the dependency lists of most of the project; one array
/// keeps that walk in cache where thousands of separately allocated arrays do not. Replacing a
/// list reuses its slot when the new list fits and appends it otherwise; the array is compacted
/// once more than half of it is abandoned slots.
struct PackedLists: Sendable {
    private(set) var storage: [Int] = []
    private(set) var starts: [Int] = []
    private(set) var counts: [Int] = []
    private var abandoned = 0

    subscript(list list: Int) -> ArraySlice<Int> { storage[starts[list]..<starts[list] + counts[list]] }

    /// Adds an empty list; lists are numbered in the order they are added.
    mutating func appendList() {
        starts.append(storage.count)
        counts.append(0)
    }

    mutating func replace(list: Int, with values: [Int]) {
        if values.count <= counts[list] {
            storage.replaceSubrange(starts[list]..<starts[list] + values.count, with: values)
            abandoned += counts[list] - values.count
        } else {
            abandoned += counts[list]
            starts[list] = storage.count
            storage.append(contentsOf: values)
        }
        counts[list] = values.count
        if abandoned > 4096, abandoned > storage.count / 2 { compact() }
    }

    private mutating func compact() {
        var compacted: [Int] = []
        compacted.reserveCapacity(storage.count - abandoned)
        for list in starts.indices {
            let start = starts[list]
            starts[list] = compacted.count
            compacted.append(contentsOf: storage[start..<start + counts[list]])
        }
        storage = compacted
        abandoned = 0
    }
}
