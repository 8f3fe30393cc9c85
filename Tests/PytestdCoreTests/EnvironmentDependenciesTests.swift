import XCTest

@testable import PytestdCore

final class EnvironmentDependenciesTests: XCTestCase {
    private func env(_ entries: String...) -> [Bytes] { entries.map { Array($0.utf8) } }

    func testOnlyVariablesTheImportsReadMatter() {
        let deps = EnvironmentDependencies(reads: env("APP_MODE=first", "FEATURE"), wholeEnvironment: false, templateEnvironment: [])
        XCTAssertNil(deps.firstDifference(in: env("APP_MODE=first", "OTHER=x")))
        XCTAssertEqual(deps.firstDifference(in: env("HOME=/")), "APP_MODE")
        XCTAssertEqual(deps.firstDifference(in: env("APP_MODE=second")), "APP_MODE")
        XCTAssertEqual(deps.firstDifference(in: env("APP_MODE=first", "FEATURE=1")), "FEATURE")
        XCTAssertEqual(deps.firstDifference(in: env("APP_MODE=first", "FEATURE=")), "FEATURE")
    }

    func testAnIteratingImportDependsOnEveryVariableButVolatileOnes() {
        let template = env("A=1", "PWD=/x", "_=/usr/bin/pytest")
        let deps = EnvironmentDependencies(reads: [], wholeEnvironment: true, templateEnvironment: template)
        XCTAssertNil(deps.firstDifference(in: env("A=1", "PWD=/y", "SHLVL=3")))
        XCTAssertEqual(deps.firstDifference(in: env("A=1", "B=2")), "B")
        XCTAssertEqual(deps.firstDifference(in: env()), "A")
        XCTAssertNil(deps.firstDifference(in: env("A=1", "B=2"), ignoring: ["B"]))
    }

    func testDescriptionNamesBothValues() {
        let deps = EnvironmentDependencies(reads: env("APP_MODE=first"), wholeEnvironment: false, templateEnvironment: [])
        XCTAssertEqual(deps.describeDifference("APP_MODE", in: []),
                       "this run has APP_MODE unset, the warm template was imported with APP_MODE=first")
    }
}
