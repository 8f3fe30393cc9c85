import XCTest

@testable import PytestdCore

/// The graph's internal storage agrees with the obvious model, including after the batch merges
/// and compactions that only happen in large graphs.
final class GraphStorageTests: XCTestCase {
    private var generator = SeededGenerator(seed: 0x5_7024)

    func testNameOrderListsMembersAlphabeticallyAcrossMergedAndPendingBatches() {
        var names: [String] = []
        var order = NameOrder()
        for count in [1, 300, 511, 512, 513, 1_700] {
            while names.count < count {
                names.append("pkg\(Int.random(in: 0..<50, using: &generator)).m\(Int.random(in: 0..<100_000, using: &generator))")
                order.append(names.count - 1, names: names)
            }
            let isMember = names.indices.map { _ in Int.random(in: 0..<3, using: &generator) > 0 }
            let expected = names.indices.filter { isMember[$0] }.sorted { (names[$0], $0) < (names[$1], $1) }
            XCTAssertEqual(order.members(where: isMember, names: names).map { names[$0] }, expected.map { names[$0] })
        }
    }

    func testPackedListsMatchSeparateArraysThroughReplacementsAndCompaction() {
        var packed = PackedLists()
        var model: [[Int]] = []
        for _ in 0..<100 {
            packed.appendList()
            model.append([])
        }
        for round in 0..<3_000 {
            let list = Int.random(in: 0..<model.count, using: &generator)
            let values = (0..<Int.random(in: 0...40, using: &generator)).map { _ in Int.random(in: 0..<1_000, using: &generator) }
            packed.replace(list: list, with: values)
            model[list] = values
            if round % 500 == 0 {
                packed.appendList()
                model.append([])
            }
            if round % 97 == 0 {
                for index in model.indices { XCTAssertEqual(Array(packed[list: index]), model[index]) }
            }
        }
        XCTAssertLessThan(packed.storage.count, 2 * model.joined().count + 4_200, "abandoned slots are reclaimed")
    }

    func testLargeGraphBuiltInRandomOrderBreaksTiesByName() {
        let importers = (0..<1_500).map { "app.m\($0)" }.shuffled(using: &generator)
        var graph = ImportGraph()
        for name in importers { graph.update(module: name, edges: edges(["core"])) }
        graph.update(module: "core", edges: [])
        XCTAssertEqual(ReloadPlan(changed: ["core"], in: graph).modules, ["core"] + importers.sorted())
    }
}
