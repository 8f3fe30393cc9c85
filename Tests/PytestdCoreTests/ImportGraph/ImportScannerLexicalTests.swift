import XCTest

@testable import PytestdCore

/// What is not code: the scanner must never see an import in a string, comment or identifier,
/// and must find the real imports that follow any of them.
final class ImportScannerLexicalTests: XCTestCase {
    func testImportInsideSingleAndDoubleQuotedStringsIsIgnored() {
        XCTAssertEqual(targets(#"x = "import a"; y = 'from b import c'"# + "\nimport real"), ["real"])
    }

    func testImportInsideTripleQuotedStringIsIgnored() {
        let source = #"""
            s = """
            import a
            from b import c
            \"""
            import still_string
            """
            t = '''
            import d'''
            import real
            """#
        let edges = scan(source).edges
        XCTAssertEqual(edges.map(\.target), ["real"])
        XCTAssertEqual(edges.first?.line, 9)
    }

    func testImportInsideDocstringsIsIgnored() {
        let source = """
            '''Module docstring: import os'''
            def f():
                \"""Usage:

                    from pkg import thing
                \"""
                import inside
            """
        XCTAssertEqual(targets(source), ["inside"])
    }

    func testImportInsideRawAndBytesStringsIsIgnored() {
        let source = #"""
            a = r"\" import x"
            b = rb'\' import y'
            c = B"import z"
            d = Rb"""import w
            """
            import real
            """#
        XCTAssertEqual(targets(source), ["real"])
    }

    func testImportInsideFStringsIsIgnoredIncludingNestedSameQuotes() {
        let source = #"""
            a = f"{x["import k"]} import y"
            b = f'{d['k']!r:>{width}} import z'
            c = f"{'{'} {{import w}} {f"{1 + f'{2}'}"}"
            d = f"\N{EM DASH} import v {x:{'>'}10}"
            e = rf"\{x} import u"
            g = f"""{
                x  # a comment inside a 3.12 replacement field
            } import t"""
            h = f"{ {'a': 1}['a'] } import s"
            import real
            """#
        XCTAssertEqual(targets(source), ["real"])
        XCTAssertEqual(scan(source).edges.first?.line, 10)
    }

    func testImportInsideCommentsIsIgnored() {
        XCTAssertEqual(targets("# import a\nx = 1  # from b import c\n    # import d\nimport real"), ["real"])
    }

    func testIdentifiersThatContainImportOrFromAreNotKeywords() {
        let source = """
            reimport(x)
            important = 1
            from_ = 2
            imports.append(y)
            x.import_module_later = 3
            def importer(): pass
            fromage import cheese
            import real
            """
        XCTAssertEqual(targets(source), ["real"])
    }

    func testImportAfterAColonOnTheSameLineIsAStatement() {
        XCTAssertEqual(targets("if x: import a\nelse: from b import c\ntry: import d\nexcept: pass"), ["a", "b", "b.c", "d"])
    }

    func testColonsInsideBracketsOrAnnotationsDoNotStartStatements() {
        XCTAssertEqual(targets("x: int = {'a': 1}[b:c]\nf = lambda: 0\nimport real"), ["real"])
    }

    func testYieldFromAndRaiseFromAreNotImports() {
        XCTAssertEqual(targets("def g():\n    yield from x\n    raise E from e\nimport real"), ["real"])
    }

    func testUnterminatedSingleLineStringEndsAtTheLineEnd() {
        XCTAssertEqual(targets("x = 'oops\nimport a\ny = \"also\nimport b"), ["a", "b"])
    }

    func testLineNumbersCountNewlinesInsideStringsAndBrackets() {
        let source = "x = '''\n\n'''\ny = (\n 1,\n)\nz = f'{\n1}'\nimport a"
        XCTAssertEqual(scan(source).edges.map(\.line), [9])
    }

    func testArbitraryBytesNeverCrashTheScanner() {
        var generator = SeededGenerator(seed: 0xB17E5)
        let alphabet = Array("import from . , ( ) [ ] { } : ; \\ \n \t # ' \" f r b TYPE_CHECKING if else x __import__".utf8)
        for _ in 0..<2000 {
            let length = Int.random(in: 0...200, using: &generator)
            let bytes = (0..<length).map { _ in
                Bool.random(using: &generator)
                    ? alphabet.randomElement(using: &generator)!
                    : UInt8.random(in: 0...255, using: &generator)
            }
            _ = ImportScanner(moduleName: "a.b", isPackage: false).scan(bytes)
        }
    }

    func testDeeplyNestedFStringsDoNotExhaustTheStack() {
        let depth = 50_000
        let source = String(repeating: "f\"{", count: depth) + String(repeating: "}\"", count: depth) + "\nimport a"
        _ = targets(source)
    }
}
