import XCTest

@testable import PytestdCore

/// Statement forms: what each kind of import statement depends on, and relative resolution.
final class ImportScannerTests: XCTestCase {
    func testImportOfDottedNameDependsOnEveryParentPackage() {
        XCTAssertEqual(targets("import a.b.c"), ["a", "a.b", "a.b.c"])
    }

    func testImportAsStillDependsOnTheModuleNotTheAlias() {
        XCTAssertEqual(targets("import a.b as c"), ["a", "a.b"])
    }

    func testImportListDependsOnEachModuleAndReportsSharedParentsOnce() {
        XCTAssertEqual(targets("import a, b.c"), ["a", "b", "b.c"])
        XCTAssertEqual(targets("import a.x, a.y as z, a"), ["a", "a.x", "a.y"])
    }

    func testSpacesAroundDotsInAModuleNameAreAllowed() {
        XCTAssertEqual(targets("import a . b"), ["a", "a.b"])
    }

    func testFromImportEmitsModuleWithNamesAndSubmoduleCandidates() {
        let edges = scan("from x.y import a, b as c").edges
        XCTAssertEqual(edges.map(\.target), ["x", "x.y", "x.y.a", "x.y.b"])
        XCTAssertEqual(edges[1].fromNames, ["a", "b"])
        XCTAssertEqual(edges.map(\.isSubmoduleCandidate), [false, false, true, true])
        XCTAssertNil(edges[0].fromNames)
    }

    func testFromDotImportInAPlainModuleResolvesToItsPackage() {
        XCTAssertEqual(targets("from . import x", module: "a.b.c"), ["a", "a.b", "a.b.x"])
    }

    func testFromDotImportInAPackageInitResolvesToThePackageItself() {
        XCTAssertEqual(targets("from . import x", module: "a.b", isPackage: true), ["a", "a.b", "a.b.x"])
        XCTAssertEqual(targets("from .c import x", module: "a.b", isPackage: true), ["a", "a.b", "a.b.c", "a.b.c.x"])
    }

    func testDoubleDotsSeparatedFromTheNameClimbOnePackage() {
        XCTAssertEqual(targets("from .. pkg import y", module: "a.b.c"), ["a", "a.pkg", "a.pkg.y"])
        XCTAssertEqual(targets("from ..pkg import y", module: "a.b", isPackage: true), ["a", "a.pkg", "a.pkg.y"])
    }

    func testThreeDotsAreALevelNotAnEllipsis() {
        XCTAssertEqual(targets("from ...x import y", module: "a.b.c.d"), ["a", "a.x", "a.x.y"])
        XCTAssertEqual(targets("from ... import y", module: "a.b.c.d"), ["a", "a.y"])
    }

    func testRelativeStarImportIsMarkedAsStar() {
        let edges = scan("from .mod import *", module: "a.b.c").edges
        XCTAssertEqual(edges.map(\.target), ["a", "a.b", "a.b.mod"])
        XCTAssertEqual(edges.map(\.isStar), [false, false, true])
        XCTAssertNil(edges[2].fromNames)
    }

    func testRelativeImportAboveTheTopLevelPackageIsReportedNotResolved() {
        let topLevel = scan("from . import x\nimport ok", module: "solo")
        XCTAssertEqual(topLevel.edges.map(\.target), ["ok"])
        XCTAssertEqual(topLevel.unresolved, [UnresolvedRelativeImport(line: 1, level: 1, name: "")])

        let tooDeep = scan("x = 1\nfrom ....far import y", module: "a.b.c")
        XCTAssertEqual(tooDeep.edges, [])
        XCTAssertEqual(tooDeep.unresolved, [UnresolvedRelativeImport(line: 2, level: 4, name: "far")])
        XCTAssertEqual(scan("from .. import y", module: "a", isPackage: true).unresolved.count, 1)
    }

    func testParenthesisedMultiLineFromImportWithTrailingComma() {
        let edges = scan("from x import (\n    a,\n    b as bee,  # comment\n)\nimport after").edges
        XCTAssertEqual(edges.map(\.target), ["x", "x.a", "x.b", "after"])
        XCTAssertEqual(edges.map(\.line), [1, 2, 3, 5])
        XCTAssertEqual(edges[0].fromNames, ["a", "b"])
    }

    func testBackslashContinuationsJoinTheStatement() {
        XCTAssertEqual(targets("from x \\\n  import y\nimport a, \\\n    b"), ["x", "x.y", "a", "b"])
        XCTAssertEqual(scan("import a, \\\n    b\nimport c").edges.map(\.line), [1, 1, 3])
    }

    func testSemicolonsSeparateImportStatements() {
        XCTAssertEqual(targets("import a; import b;from c import d ; x = 1"), ["a", "b", "c", "c.d"])
    }

    func testImportsInFunctionsClassesTryAndIfBlocksAreRuntime() {
        let source = """
            def f():
                import infunc
            class C:
                from inclass import x
            try:
                import fast
            except ImportError:
                import slow
            if sys.version_info >= (3, 11):
                import tomllib
            else:
                import tomli as tomllib
            with ctx: import inwith
            """
        let edges = scan(source).edges
        XCTAssertEqual(
            edges.filter { !$0.isSubmoduleCandidate }.map(\.target),
            ["infunc", "inclass", "fast", "slow", "tomllib", "tomli", "inwith"])
        XCTAssertTrue(edges.allSatisfy { $0.kind == .runtime })
    }

    func testStringAndBytesInputGiveTheSameScan() {
        let source = "import a\nfrom .b import c\n"
        let scanner = ImportScanner(moduleName: "p.m", isPackage: false)
        XCTAssertEqual(scanner.scan(source), scanner.scan(Array(source.utf8)))
    }

    func testNonAsciiIdentifiersAreModuleNames() {
        XCTAssertEqual(targets("import café.menü"), ["café", "café.menü"])
    }

    func testByteOrderMarkDoesNotHideTheFirstImport() {
        XCTAssertEqual(targets([0xEF, 0xBB, 0xBF] + Array("import a\n".utf8)), ["a"])
    }

    func testWindowsLineEndings() {
        let edges = scan("import a\r\nif TYPE_CHECKING:\r\n    import b\r\nimport c\r\n").edges
        XCTAssertEqual(edges.map(\.target), ["a", "b", "c"])
        XCTAssertEqual(edges.map(\.kind), [.runtime, .typeCheckingOnly, .runtime])
        XCTAssertEqual(edges.map(\.line), [1, 3, 4])
    }

    func testIncompleteStatementsYieldNothingAndDoNotStopTheScan() {
        XCTAssertEqual(targets("import\nfrom\nfrom x\nfrom . \nimport ,\nfrom x import\nimport ok"), ["x", "ok"])
    }
}

/// Scans `source` as module `module`.
func scan(_ source: String, module: String = "pkg.mod", isPackage: Bool = false) -> ImportScan {
    ImportScanner(moduleName: module, isPackage: isPackage).scan(source)
}

/// The targets of every edge, in source order.
func targets(_ source: String, module: String = "pkg.mod", isPackage: Bool = false) -> [String] {
    scan(source, module: module, isPackage: isPackage).edges.map(\.target)
}

func targets(_ source: [UInt8]) -> [String] {
    ImportScanner(moduleName: "pkg.mod", isPackage: false).scan(source).edges.map(\.target)
}
