import XCTest

@testable import PytestdCore

final class BypassRuleTests: XCTestCase {
    private func reason(_ argv: [String], _ env: [String: String] = [:], extra: [String] = []) -> String? {
        BypassRule.reason(argv: ["pytest"] + argv, environment: env, extraRoutedOptions: extra)
    }

    func testOrdinaryInvocationsAreServed() {
        for argv in [[], ["-q"], ["-k", "not slow"], ["tests/test_x.py::test_y[-n4]"], ["--no-header"],
                     ["-p", "no:cacheprovider"], ["--tb=short", "-x", "--lf"]] {
            XCTAssertNil(reason(argv), "\(argv)")
        }
    }

    func testCoverageAndXdistGoToRealPytestInEverySpelling() {
        for argv in [["--cov"], ["--cov=src"], ["--cov-report", "term"], ["-n", "4"], ["-n4"], ["-nauto"],
                     ["--numprocesses=2"], ["--dist", "load"], ["-q", "--no-cov"]] {
            XCTAssertNotNil(reason(argv), "\(argv)")
        }
    }

    func testArgumentsAfterDoubleDashAreNotOptions() {
        XCTAssertNil(reason(["--", "--cov"]))
    }

    func testConfiguredOptionsAreRouted() {
        XCTAssertNotNil(reason(["--my-plugin=1"], extra: ["--my-plugin"]))
        XCTAssertNil(reason(["--my-pluginx"], extra: ["--my-plugin"]))
    }

    func testDisableVariable() {
        XCTAssertEqual(reason([], ["PYTESTD_DISABLE": "1"]), "PYTESTD_DISABLE is set")
        XCTAssertNil(reason([], ["PYTESTD_DISABLE": "0"]))
        XCTAssertNil(reason([], ["PYTESTD_DISABLE": ""]))
    }

    func testInterpreterStartupVariablesAreRoutedButPerRunSwitchesAreNot() {
        XCTAssertEqual(reason([], ["PYTHONHASHSEED": "0"]), "PYTHONHASHSEED is set")
        XCTAssertEqual(reason([], ["PYTHONHOME": "/opt/py"]), "PYTHONHOME is set")
        XCTAssertNil(reason([], ["PYTHONHASHSEED": ""]))
        XCTAssertNil(reason([], ["PYTHONDONTWRITEBYTECODE": "1", "PYTHONUNBUFFERED": "1"]))
        // The run child places PYTHONPATH's entries itself (an editor's test runner always sets one).
        XCTAssertNil(reason([], ["PYTHONPATH": "/ext/python_files:src"]))
        XCTAssertTrue(BypassRule.interpreterStartupVariables.isDisjoint(with: BypassRule.emulatedVariables))
    }
}
