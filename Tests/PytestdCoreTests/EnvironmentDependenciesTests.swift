import XCTest

@testable import PytestdCore

final class EnvironmentDependenciesTests: XCTestCase {
    private func env(_ entries: String...) -> [Bytes] { entries.map { Array($0.utf8) } }

    func testOnlyVariablesTheImportsReadMatter() {
        let deps = EnvironmentDependencies(reads: env("APP_MODE=first", "FEATURE"), wholeEnvironmentReader: nil, templateEnvironment: [])
        XCTAssertNil(deps.firstDifference(in: env("APP_MODE=first", "OTHER=x")))
        XCTAssertEqual(deps.firstDifference(in: env("HOME=/")), Array("APP_MODE".utf8))
        XCTAssertEqual(deps.firstDifference(in: env("APP_MODE=second")), Array("APP_MODE".utf8))
        XCTAssertEqual(deps.firstDifference(in: env("APP_MODE=first", "FEATURE=1")), Array("FEATURE".utf8))
        XCTAssertEqual(deps.firstDifference(in: env("APP_MODE=first", "FEATURE=")), Array("FEATURE".utf8))
    }

    func testAnIteratingImportDependsOnEveryVariableButVolatileOnes() {
        let template = env("A=1", "PWD=/x", "_=/usr/bin/pytest")
        let deps = EnvironmentDependencies(reads: [], wholeEnvironmentReader: "libx", templateEnvironment: template)
        XCTAssertNil(deps.firstDifference(in: env("A=1", "PWD=/y", "SHLVL=3")))
        XCTAssertEqual(deps.firstDifference(in: env("A=1", "B=2")), Array("B".utf8))
        XCTAssertEqual(deps.firstDifference(in: env()), Array("A".utf8))
        XCTAssertNil(deps.firstDifference(in: env("A=1", "B=2"), ignoring: ["B"]))
    }

    /// Property: with a whole-environment reader, changing only the shell's bookkeeping never matters,
    /// unless a module read that variable by name; any other change always does.
    func testVolatileVariablesMatterOnlyWhenReadByName() {
        var generator = SystemRandomNumberGenerator()
        let volatile = EnvironmentDependencies.volatileVariables.sorted()
        for _ in 0..<200 {
            let base = (0..<Int.random(in: 0...4, using: &generator)).map { "V\($0)=\(Int.random(in: 0...9, using: &generator))" }
                + volatile.filter { _ in Bool.random(using: &generator) }.map { "\($0)=old" }
            let template = base.map { Bytes($0.utf8) }
            let readByName = volatile.filter { _ in Int.random(in: 0..<4, using: &generator) == 0 }
            let reads = readByName.map { name in template.first { $0.starts(with: (name + "=").utf8) } ?? Bytes(name.utf8) }
            let deps = EnvironmentDependencies(reads: reads, wholeEnvironmentReader: "libx", templateEnvironment: template)
            let changed = volatile.randomElement(using: &generator)!
            let run = template.filter { !$0.starts(with: (changed + "=").utf8) } + [Bytes("\(changed)=new".utf8)]
            XCTAssertEqual(deps.firstDifference(in: run), readByName.contains(changed) ? Bytes(changed.utf8) : nil)
            XCTAssertEqual(deps.firstDifference(in: template + [Bytes("NEW=1".utf8)]), Bytes("NEW".utf8))
        }
    }

    func testNamesAndValuesAreComparedAsBytes() {
        let weird: Bytes = [0x57, 0x3d, 0x61, 0xff, 0x62]          // W=a\xffb
        let replaced: Bytes = [0x57, 0x3d, 0x61, 0xef, 0xbf, 0xbd, 0x62]  // W=a\u{FFFD}b
        let deps = EnvironmentDependencies(reads: [weird], wholeEnvironmentReader: nil, templateEnvironment: [])
        XCTAssertNil(deps.firstDifference(in: [weird]))
        XCTAssertEqual(deps.firstDifference(in: [replaced]), Array("W".utf8))
        let oddNames = EnvironmentDependencies(reads: [[0x4e, 0xff, 0x3d, 0x31]], wholeEnvironmentReader: nil, templateEnvironment: [])
        XCTAssertEqual(oddNames.firstDifference(in: [[0x4e, 0xfe, 0x3d, 0x31]]), [0x4e, 0xff])
    }

    func testTheLocaleTheHostStartedWithIsADependency() {
        let deps = EnvironmentDependencies(reads: [], wholeEnvironmentReader: nil, templateEnvironment: env("LANG=C.UTF-8", "A=1"))
        XCTAssertNil(deps.firstDifference(in: env("LANG=C.UTF-8", "A=2")))
        XCTAssertEqual(deps.firstDifference(in: env("LANG=C.UTF-8", "LC_ALL=C")), Array("LC_ALL".utf8))
        XCTAssertEqual(deps.firstDifference(in: env("LANG=C")), Array("LANG".utf8))
        XCTAssertEqual(deps.describeDifference(Array("LANG".utf8), in: env("LANG=C")),
                       "this run has LANG=C, the warm template was imported with LANG=C.UTF-8 (read by the interpreter's start-up (locale))")
        XCTAssertNil(deps.summary)
    }

    func testDescriptionNamesBothValuesAndTheReader() {
        let deps = EnvironmentDependencies(
            reads: env("APP_MODE=first"), readers: env("APP_MODE=app.settings"), wholeEnvironmentReader: "libx",
            templateEnvironment: env("APP_MODE=first", "OTHER=1"))
        XCTAssertEqual(deps.describeDifference(Array("APP_MODE".utf8), in: []),
                       "this run has APP_MODE unset, the warm template was imported with APP_MODE=first (read by app.settings)")
        XCTAssertEqual(deps.describeDifference(Array("OTHER".utf8), in: env("OTHER=2")),
                       "this run has OTHER=2, the warm template was imported with OTHER=1 (libx copied the whole environment)")
        XCTAssertEqual(deps.summary, "APP_MODE (app.settings), every variable but the shell's (libx)")
        XCTAssertNil(EnvironmentDependencies().summary)
    }
}
