import XCTest

@testable import PytestdCore

final class SourceLocationsTests: XCTestCase {
    private let locations = SourceLocations(
        root: "/src/app", installed: ["/venv/lib/python3.11/site-packages", "/py/lib/python3.11", "/opt/pytestd/python", ""])

    func testNormalisationIsLexical() {
        XCTAssertEqual(SourceLocations.normalized("/src/app/../libb/x.py"), "/src/libb/x.py")
        XCTAssertEqual(SourceLocations.normalized("//src/./app//x.py"), "/src/app/x.py")
        XCTAssertEqual(SourceLocations.normalized("/../x"), "/x")
        XCTAssertEqual(SourceLocations.normalized("/"), "/")
    }

    func testNormalisationIsIdempotentAndDropsEveryDotComponent() {
        var generator = SystemRandomNumberGenerator()
        let parts = ["a", "b", ".", "..", "", "c.py", "site-packages"]
        for _ in 0..<2_000 {
            let path = "/" + (0..<Int.random(in: 0...8, using: &generator)).map { _ in parts.randomElement(using: &generator)! }
                .joined(separator: "/")
            let once = SourceLocations.normalized(path)
            XCTAssertEqual(SourceLocations.normalized(once), once, path)
            XCTAssertTrue(once.hasPrefix("/"), path)
            XCTAssertFalse(once.split(separator: "/").contains { $0 == "." || $0 == ".." }, path)
            XCTAssertFalse(once.contains("//"), path)
        }
    }

    func testSiblingsAndPythonpathEntriesAreProjectCode() {
        XCTAssertTrue(locations.isProjectSource("/src/libb/code/values.py"))
        XCTAssertTrue(locations.isProjectSource("/src/app/../libc/libc/__init__.py"))
        XCTAssertFalse(locations.isUnderRoot("/src/app/../libc/libc/__init__.py"))
        XCTAssertTrue(locations.isUnderRoot("/src/app/pkg/mod.py"))
        XCTAssertFalse(locations.isUnderRoot("/src/application/mod.py"))
        XCTAssertTrue(locations.isProjectSource("/src/app/pkg/mod.py"))
    }

    func testInstalledCodeIsNotProjectCode() {
        for path in ["/venv/lib/python3.11/site-packages/numpy/__init__.py", "/py/lib/python3.11/json/__init__.py",
                     "/opt/pytestd/python/pytestd/_run.py", "/other/venv/lib/python3.9/site-packages/six.py",
                     "/usr/lib/python3/dist-packages/yaml/__init__.py", "/src/app/.venv/lib/python3.11/site-packages/x.py"] {
            XCTAssertTrue(locations.isInstalled(path), path)
            XCTAssertFalse(locations.isProjectSource(path), path)
        }
        XCTAssertFalse(locations.isInstalled("/venv/lib/python3.11/site-packages-old/x.py"))
        XCTAssertFalse(locations.isProjectSource("/src/libb/native.so"))
    }
}
