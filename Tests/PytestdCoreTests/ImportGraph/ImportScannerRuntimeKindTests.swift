import XCTest

@testable import PytestdCore

/// `TYPE_CHECKING` branches and dynamic imports: when an import runs, and imports by call.
final class ImportScannerRuntimeKindTests: XCTestCase {
    private func kinds(_ source: String) -> [String: ImportEdge.Kind] {
        Dictionary(scan(source).edges.map { ($0.target, $0.kind) }, uniquingKeysWith: { first, _ in first })
    }

    func testImportsUnderTypeCheckingAreTypeCheckingOnly() {
        let source = """
            from typing import TYPE_CHECKING
            if TYPE_CHECKING:
                import hinted
                from other import Thing

                # a comment at column 0 does not end the block
                import still_hinted
            import runtime_again
            """
        let kinds = kinds(source)
        XCTAssertEqual(kinds["hinted"], .typeCheckingOnly)
        XCTAssertEqual(kinds["other"], .typeCheckingOnly)
        XCTAssertEqual(kinds["other.Thing"], .typeCheckingOnly)
        XCTAssertEqual(kinds["still_hinted"], .typeCheckingOnly)
        XCTAssertEqual(kinds["runtime_again"], .runtime)
        XCTAssertEqual(kinds["typing"], .runtime)
    }

    func testQualifiedTypeCheckingConditionsCount() {
        XCTAssertEqual(kinds("if typing.TYPE_CHECKING:\n    import a")["a"], .typeCheckingOnly)
        XCTAssertEqual(kinds("if t.ext.TYPE_CHECKING:  # comment\n    import a")["a"], .typeCheckingOnly)
        XCTAssertEqual(kinds("if TYPE_CHECKING: import a\nimport b"), ["a": .typeCheckingOnly, "b": .runtime])
    }

    func testElseAndElifBranchesOfTypeCheckingRunAtRuntime() {
        let source = """
            if TYPE_CHECKING:
                import a
            elif other:
                import b
            else:
                import c
            """
        XCTAssertEqual(kinds(source), ["a": .typeCheckingOnly, "b": .runtime, "c": .runtime])
    }

    func testNegatedConditionMakesOnlyTheLaterBranchesTypeCheckingOnly() {
        let source = """
            if not TYPE_CHECKING:
                import a
            else:
                import b
            import c
            """
        XCTAssertEqual(kinds(source), ["a": .runtime, "b": .typeCheckingOnly, "c": .runtime])
    }

    func testBlockEndsAtDedentEvenInsideNestedCode() {
        let source = """
            class C:
                if TYPE_CHECKING:
                    import a
                    if x:
                        import b
                import c
                def f(self):
                    import d
            \tif TYPE_CHECKING:
            \t\timport e
            \timport f
            """
        XCTAssertEqual(
            kinds(source),
            ["a": .typeCheckingOnly, "b": .typeCheckingOnly, "c": .runtime, "d": .runtime,
             "e": .typeCheckingOnly, "f": .runtime])
    }

    func testElseOfAnotherStatementAfterTheBlockIsNotConfused() {
        let source = """
            if TYPE_CHECKING:
                import a
            try:
                import b
            except ImportError:
                pass
            else:
                import c
            """
        XCTAssertEqual(kinds(source), ["a": .typeCheckingOnly, "b": .runtime, "c": .runtime])
    }

    func testOtherConditionShapesCountAsRuntime() {
        XCTAssertEqual(kinds("if TYPE_CHECKING or DEBUG:\n    import a")["a"], .runtime)
        XCTAssertEqual(kinds("if NOT_TYPE_CHECKING:\n    import a")["a"], .runtime)
        XCTAssertEqual(kinds("x = 1 if TYPE_CHECKING else 2\nimport a")["a"], .runtime)
    }

    func testDynamicImportsWithLiteralNames() {
        let source = """
            m = __import__("x.y")
            n = importlib.import_module("plugins.core")
            o = import_module(".sibling", "pkg.sub")
            p = import_module("..up", __package__)
            q = import_module(".child", __name__)
            """
        XCTAssertEqual(
            targets(source, module: "a.b.c"),
            ["x", "x.y", "plugins", "plugins.core", "pkg", "pkg.sub", "pkg.sub.sibling", "a", "a.up", "a", "a.b",
             "a.b.c", "a.b.c.child"])
    }

    func testDynamicImportKeywordArguments() {
        let source = """
            a = import_module(".x", package="pkg")
            b = import_module("numpy", import_kwargs={"fromlist": ["linalg"]})
            c = import_module(".y", package=somewhere)
            """
        XCTAssertEqual(targets(source), ["pkg", "pkg.x", "numpy"])
    }

    func testDynamicImportsWithComputedNamesAreSkipped() {
        let source = """
            import_module(name)
            import_module(f"plugins.{name}")
            import_module("a" "b")
            import_module(".x", package)
            __import__(b"bytes")
            def import_module(name, package=None): pass
            import real
            """
        XCTAssertEqual(targets(source), ["real"])
    }

    func testRelativeDynamicImportAboveTheTopIsReported() {
        let result = scan("import_module('..x', 'top')")
        XCTAssertEqual(result.edges, [])
        XCTAssertEqual(result.unresolved, [UnresolvedRelativeImport(line: 1, level: 2, name: "x")])
    }

    func testDynamicImportUnderTypeCheckingIsTypeCheckingOnly() {
        XCTAssertEqual(kinds("if TYPE_CHECKING:\n    __import__('a')"), ["a": .typeCheckingOnly])
    }
}
