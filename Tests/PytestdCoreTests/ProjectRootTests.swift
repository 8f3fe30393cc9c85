import XCTest

@testable import PytestdCore

final class ProjectRootTests: XCTestCase {
    private func locate(_ files: [String: String], from directory: String, dirs: Set<String> = []) -> ProjectRoot {
        ProjectRoot.locate(from: directory, readFile: { files[$0] }, exists: { files[$0] != nil || dirs.contains($0) })
    }

    func testNearestConfigurationWins() {
        let files = ["/p/pytest.ini": "", "/p/sub/tox.ini": "[pytest]\naddopts = -q\n"]
        XCTAssertEqual(locate(files, from: "/p/sub/deeper").path, "/p/sub")
        XCTAssertEqual(locate(files, from: "/p/other").path, "/p")
    }

    func testPyprojectNeedsAPytestTableToWinOverAnAncestor() {
        let files = ["/p/pytest.ini": "", "/p/pkg/pyproject.toml": "[project]\nname = 'x'\n"]
        XCTAssertEqual(locate(files, from: "/p/pkg").path, "/p")
        let tabled = ["/p/pytest.ini": "", "/p/pkg/pyproject.toml": "[tool.pytest.ini_options]\n"]
        XCTAssertEqual(locate(tabled, from: "/p/pkg").path, "/p/pkg")
        let native = ["/p/pkg/pyproject.toml": "  [ tool.pytest ]\nminversion = '9'\n"]
        XCTAssertEqual(locate(native, from: "/p/pkg").path, "/p/pkg")
    }

    func testSectionsMustBePytests() {
        XCTAssertEqual(locate(["/p/tox.ini": "[tox]\n", "/p/setup.cfg": "[metadata]\n"], from: "/p").evidence, .workingDirectory)
        XCTAssertEqual(locate(["/p/setup.cfg": "[tool:pytest]\n"], from: "/p/a").path, "/p")
        XCTAssertEqual(locate(["/p/pyproject.toml": "[[tool.pytest]]\n"], from: "/p").path, "/p")
    }

    func testGitRootThenUntabledPyprojectThenWorkingDirectory() {
        XCTAssertEqual(locate([:], from: "/r/a/b", dirs: ["/r/.git"]), ProjectRoot(path: "/r", evidence: .gitRepository))
        XCTAssertEqual(locate(["/r/a/pyproject.toml": "[project]\n"], from: "/r/a/b").path, "/r/a")
        XCTAssertEqual(locate([:], from: "/r/a/b"), ProjectRoot(path: "/r/a/b", evidence: .workingDirectory))
    }

    func testPathHelpers() {
        XCTAssertEqual(ProjectRoot.ancestors(of: "/a/b"), ["/a/b", "/a", "/"])
        XCTAssertEqual(ProjectRoot.ancestors(of: "/"), ["/"])
        XCTAssertEqual(ProjectRoot.parent(of: "/a"), "/")
        XCTAssertEqual(ProjectRoot.join("/", "x"), "/x")
        XCTAssertEqual(ProjectRoot.join("/a", "x"), "/a/x")
    }
}
