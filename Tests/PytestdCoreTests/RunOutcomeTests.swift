import XCTest

@testable import PytestdCore

final class RunOutcomeTests: XCTestCase {
    func testExitCodesDecodeFromWaitStatus() {
        for code: Int32 in [0, 1, 2, 3, 4, 5, 255] {
            XCTAssertEqual(RunOutcome(waitStatus: code << 8), .exited(code))
        }
    }

    func testSignalsDecodeWithAndWithoutCoreDump() {
        XCTAssertEqual(RunOutcome(waitStatus: 9), .signaled(9))
        XCTAssertEqual(RunOutcome(waitStatus: 11 | 0x80), .signaled(11))
    }

    func testStopAndContinueNotificationsAreNotOutcomes() {
        XCTAssertNil(RunOutcome(waitStatus: (19 << 8) | 0x7f))
        XCTAssertNil(RunOutcome(waitStatus: 0xffff))
    }
}
