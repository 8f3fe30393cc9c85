import XCTest

@testable import PytestdCore

final class NulTerminatedListTests: XCTestCase {
    func testEmptyItemsAndEmptyListsAreDistinct() {
        XCTAssertEqual(NulTerminatedList.split(NulTerminatedList.join([])), [])
        XCTAssertEqual(NulTerminatedList.split(NulTerminatedList.join([[]])), [[]])
        XCTAssertEqual(NulTerminatedList.split(NulTerminatedList.join([[], [], []])), [[], [], []])
    }

    func testRandomListsRoundTrip() {
        var generator = SeededGenerator(seed: 42)
        for _ in 0..<500 {
            let items: [Bytes] = (0..<Int.random(in: 0...8, using: &generator)).map { _ in
                (0..<Int.random(in: 0...12, using: &generator)).map { _ in UInt8.random(in: 1...255, using: &generator) }
            }
            XCTAssertEqual(NulTerminatedList.split(NulTerminatedList.join(items)), items)
        }
    }

    func testBytesAfterTheLastTerminatorAreNotAnItem() {
        XCTAssertEqual(NulTerminatedList.split([0x61, 0, 0x62]), [[0x61]])
    }
}
