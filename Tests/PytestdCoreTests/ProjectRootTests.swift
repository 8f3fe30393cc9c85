import XCTest

@testable import PytestdCore

/// pytest's rootdir rules on in-memory trees: examples for each rule, then generated trees with
/// properties that must hold for any tree (Tests/integration/test_project_root.py compares with the
/// real pytest).
final class ProjectRootTests: XCTestCase {
    /// A file system of `files` (path → text); directories are their ancestors plus `directories`.
    struct Tree {
        var files: [String: String]
        var directories: Set<String> = []

        var view: FileTree {
            var dirs = directories
            for path in files.keys + Array(directories) {
                for ancestor in ProjectRoot.ancestors(of: ProjectRoot.parent(of: path)) { dirs.insert(ancestor) }
            }
            let files = files
            return FileTree(
                kind: { files[$0] != nil ? .file : dirs.contains($0) ? .directory : nil },
                read: { files[$0] })
        }
    }

    private func resolve(
        _ tree: Tree, cwd: String, _ arguments: [String] = [], environment: [String: String] = [:],
        version: PytestVersion? = nil
    ) -> ProjectRoot.Resolution {
        ProjectRoot.resolve(
            arguments: arguments, invocationDirectory: cwd, environment: environment, version: version,
            files: tree.view)
    }

    private func root(
        _ tree: Tree, cwd: String, _ arguments: [String] = [], environment: [String: String] = [:],
        version: PytestVersion? = nil, file: StaticString = #filePath, line: UInt = #line
    ) -> ProjectRoot? {
        switch resolve(tree, cwd: cwd, arguments, environment: environment, version: version) {
        case .project(let project): return project
        case .plainPytest(let reason), .rejected(let reason):
            XCTFail("plain pytest: \(reason)", file: file, line: line)
            return nil
        }
    }

    // MARK: examples, one per rule

    func testTheIssuesCaseArgumentsInAnAppFromItsParent() {
        let tree = Tree(files: ["/src/app/pyproject.toml": "[tool.pytest.ini_options]\n", "/src/app/tests/test_x.py": ""])
        XCTAssertEqual(
            root(tree, cwd: "/src", ["app/tests/test_x.py::test_one[1-2]"]),
            ProjectRoot(path: "/src/app", configFile: "/src/app/pyproject.toml"))
        // The CLI verbs pass no arguments: the working directory decides.
        XCTAssertEqual(root(tree, cwd: "/src")?.path, "/src")
        XCTAssertEqual(root(tree, cwd: "/src/app/tests")?.path, "/src/app")
    }

    func testConfigurationFilesInPrecedenceOrderAndByVersion() {
        let both = Tree(files: ["/p/tox.ini": "[pytest]\n", "/p/pytest.ini": "", "/p/t.py": ""])
        XCTAssertEqual(root(both, cwd: "/p")?.configFile, "/p/pytest.ini")
        let toml = Tree(files: ["/p/pytest.toml": "[pytest]\n", "/p/pytest.ini": "[pytest]\n"])
        XCTAssertEqual(root(toml, cwd: "/p")?.configFile, "/p/pytest.toml")
        XCTAssertEqual(root(toml, cwd: "/p", version: PytestVersion(8, 4))?.configFile, "/p/pytest.ini")
        // `.pytest.ini` without a [pytest] section: configuration for pytest 9, not for 8.
        let dotted = Tree(files: ["/p/a/.pytest.ini": "[other]\n", "/p/pytest.ini": ""])
        XCTAssertEqual(root(dotted, cwd: "/p/a")?.path, "/p/a")
        XCTAssertEqual(root(dotted, cwd: "/p/a", version: PytestVersion(8, 4))?.path, "/p")
    }

    func testPyprojectTablesAndTheTablelessFallback() {
        let native = Tree(files: ["/p/a/pyproject.toml": "[tool.pytest]\nminversion = \"9\"\n", "/p/tox.ini": "[pytest]\n"])
        XCTAssertEqual(root(native, cwd: "/p/a")?.path, "/p/a")
        XCTAssertEqual(root(native, cwd: "/p/a", version: PytestVersion(8, 4))?.path, "/p")
        let tableless = Tree(files: ["/p/a/pyproject.toml": "[project]\nname = \"x\"\n"])
        XCTAssertEqual(root(tableless, cwd: "/p/a/b"), ProjectRoot(path: "/p/a", configFile: "/p/a/pyproject.toml"))
        // Before 8.1 a table-less pyproject.toml was no configuration: the common-ancestor rule applies.
        XCTAssertEqual(root(tableless, cwd: "/p/a/b", version: PytestVersion(8, 0)), ProjectRoot(path: "/p/a/b"))
        let empty = Tree(files: ["/p/pyproject.toml": "[tool.pytest.ini_options]\n", "/p/a/pyproject.toml": "[tool.pytest]\n"])
        XCTAssertEqual(root(empty, cwd: "/p/a")?.path, "/p", "an empty [tool.pytest] table is no configuration")
    }

    func testSectionsMustBePytests() {
        let tree = Tree(files: ["/p/a/tox.ini": "[tox]\n", "/p/a/setup.cfg": "[metadata]\n", "/p/setup.cfg": "[tool:pytest]\n"])
        XCTAssertEqual(root(tree, cwd: "/p/a")?.path, "/p")
        guard case .rejected = resolve(Tree(files: ["/p/setup.cfg": "[pytest]\n"]), cwd: "/p") else {
            return XCTFail("pytest refuses [pytest] in setup.cfg")
        }
    }

    func testSetupPyThenCommonAncestorThenConfigurationBelowTheAncestor() {
        let setupPy = Tree(files: ["/p/setup.py": "", "/p/a/b/t.py": ""])
        XCTAssertEqual(root(setupPy, cwd: "/p/a", ["b/t.py"]), ProjectRoot(path: "/p"))
        let bare = Tree(files: ["/p/a/b/t.py": "", "/p/a/c/u.py": ""])
        XCTAssertEqual(root(bare, cwd: "/p/a/b", ["../c/u.py"])?.path, "/p/a")
        XCTAssertEqual(root(bare, cwd: "/p/a/b", ["t.py", "/p/a/c"])?.path, "/p/a")
        // No configuration above the arguments' common ancestor: pytest looks below it, argument by argument.
        let below = Tree(files: ["/p/a/pytest.ini": "", "/p/a/t.py": "", "/p/b/u.py": ""])
        guard case .plainPytest(let reason) = resolve(below, cwd: "/p", ["a/t.py", "b/u.py"]) else {
            return XCTFail("rootdir /p/a with /p/b/u.py outside it spans two projects")
        }
        XCTAssertTrue(reason.contains("/p/b/u.py is outside the project at /p/a"), reason)
    }

    func testTheFileSystemRootIsNoProject() {
        let tree = Tree(files: ["/x/t.py": "", "/y/u.py": ""])
        guard case .plainPytest(let reason) = resolve(tree, cwd: "/", ["x/t.py", "y/u.py"]) else {
            return XCTFail("rootdir / is served")
        }
        XCTAssertTrue(reason.contains("rootdir would be /"), reason)
    }

    func testMissingArgumentsAndOptionValuesAreNotPaths() {
        let tree = Tree(files: ["/p/a/pytest.ini": "", "/p/b/pytest.ini": "", "/p/b/t.py": ""])
        XCTAssertEqual(root(tree, cwd: "/p/b", ["../a/missing.py", "-k", "../a", "t.py"])?.path, "/p/b")
        // An option pytest does not know yet (a plugin's) leaves its value as a free argument.
        XCTAssertEqual(root(tree, cwd: "/p/b", ["--plugin-option", "../a"])?.path, "/p/a")
        // `-p no:junitxml` unregisters --junitxml before pytest parses: its value becomes a path.
        XCTAssertEqual(root(tree, cwd: "/p/b", ["--junitxml", "../a"])?.path, "/p/b")
        XCTAssertEqual(root(tree, cwd: "/p/b", ["-p", "no:junitxml", "--junitxml", "../a"])?.path, "/p/a")
        XCTAssertEqual(root(tree, cwd: "/p/b", ["--", "-k", "../a"])?.path, "/p/a", "after --, everything is a path")
    }

    func testConfigFileOption() {
        let tree = Tree(files: ["/p/pytest.ini": "", "/p/cfg/other.ini": "[pytest]\n", "/p/t.py": ""])
        XCTAssertEqual(root(tree, cwd: "/p/cfg", ["-c", "other.ini"]), ProjectRoot(path: "/p/cfg", configFile: "/p/cfg/other.ini"))
        XCTAssertEqual(root(tree, cwd: "/p/cfg", ["-qc", "other.ini"])?.configFile, "/p/cfg/other.ini")
        XCTAssertEqual(root(tree, cwd: "/p/cfg", ["-cother.ini"])?.configFile, "/p/cfg/other.ini")
        XCTAssertEqual(
            root(tree, cwd: "/p", ["--config-file=cfg/other.ini", "--rootdir", "."]),
            ProjectRoot(path: "/p", configFile: "/p/cfg/other.ini"))
        guard case .plainPytest(let reason) = resolve(tree, cwd: "/p", ["-c", "cfg/other.ini", "-q"]) else {
            return XCTFail("pytest collects /p with rootdir /p/cfg")
        }
        XCTAssertEqual(reason, "the working directory is outside the project at /p/cfg")
        for rejected in [["-c", "cfg/missing.ini"], ["-c", "cfg"], ["-c"], ["-c", "t.py"]] {
            guard case .rejected = resolve(tree, cwd: "/p", rejected) else { return XCTFail("\(rejected) is a usage error") }
        }
    }

    func testRootdirOptionWithVariablesAndConfcutdir() {
        let tree = Tree(files: ["/p/pytest.ini": "", "/p/a/t.py": ""])
        let environment = ["HERE": "/p/a"]
        XCTAssertEqual(
            root(tree, cwd: "/p", ["--rootdir=$HERE", "a/t.py", "--confcutdir", "a"], environment: environment),
            ProjectRoot(path: "/p/a", configFile: "/p/pytest.ini", confcutdir: "/p/a"))
        XCTAssertEqual(root(tree, cwd: "/p/a", ["--rootdir=${HERE}/../a/."], environment: environment)?.path, "/p/a")
        guard case .rejected = resolve(tree, cwd: "/p", ["--rootdir=$NOPE"]) else { return XCTFail("no such directory") }
        XCTAssertEqual(
            root(tree, cwd: "/p/a")?.warmupArguments, ["--rootdir=/p", "-c", "/p/pytest.ini"])
    }

    func testAddoptsComeFirstAndFileArgumentsExpand() {
        let tree = Tree(files: ["/p/pytest.ini": "", "/p/a/pytest.ini": "", "/p/a/t.py": "", "/p/args.txt": "-q\na/t.py\n"])
        XCTAssertEqual(root(tree, cwd: "/p", environment: ["PYTEST_ADDOPTS": "'a/t.py' -q"])?.path, "/p/a")
        XCTAssertEqual(root(tree, cwd: "/p", ["@args.txt"])?.path, "/p/a")
        // `-p no:` is read from the command line only, so PYTEST_ADDOPTS cannot unregister an option.
        XCTAssertEqual(
            root(tree, cwd: "/p", ["--junitxml", "a"], environment: ["PYTEST_ADDOPTS": "-p no:junitxml"])?.path, "/p")
        guard case .rejected = resolve(tree, cwd: "/p", environment: ["PYTEST_ADDOPTS": "'unclosed"]) else {
            return XCTFail("pytest fails on unbalanced quotes")
        }
    }

    // MARK: generated trees

    private static let names = ["a", "b", "tests"]
    private static let configurations: [(String, String)] = [
        ("pytest.ini", ""), (".pytest.ini", "[x]\n"), ("pyproject.toml", "[tool.pytest.ini_options]\n"),
        ("pyproject.toml", "[project]\nname = 'x'\n"), ("tox.ini", "[pytest]\n"), ("tox.ini", "[tox]\n"),
        ("setup.cfg", "[tool:pytest]\n"), ("setup.py", ""), ("pytest.toml", ""),
    ]

    private func generatedTree(_ rng: inout SplitMix) -> (Tree, [String]) {
        var tree = Tree(files: [:], directories: ["/w"])
        var dirs = ["/w"]
        var frontier = ["/w"]
        while let parent = frontier.popLast() {
            guard parent.split(separator: "/").count < 4 else { continue }
            for name in Self.names where rng.next() % 3 == 0 {
                let child = parent + "/" + name
                dirs.append(child)
                frontier.append(child)
                tree.directories.insert(child)
            }
        }
        for dir in dirs {
            if rng.next() % 2 == 0 {
                let (name, text) = Self.configurations[Int(rng.next() % UInt64(Self.configurations.count))]
                tree.files[dir + "/" + name] = text
            }
            if rng.next() % 2 == 0 { tree.files[dir + "/test_\(dir.split(separator: "/").joined(separator: "_")).py"] = "" }
        }
        return (tree, dirs)
    }

    /// Properties over many generated trees and invocations: flags without values may be added
    /// anywhere; absolute and relative spellings, node-id suffixes and moving arguments into
    /// PYTEST_ADDOPTS change nothing; a served project holds every path argument and (without -c or
    /// --rootdir) its configuration file sits in the rootdir.
    func testPropertiesOnGeneratedTrees() {
        var rng = SplitMix(seed: 7)
        var served = 0
        for _ in 0..<400 {
            let (tree, dirs) = generatedTree(&rng)
            let files = tree.files.keys.sorted()
            let cwd = dirs[Int(rng.next() % UInt64(dirs.count))]
            var paths: [String] = []
            for _ in 0..<Int(rng.next() % 3) {
                let pool = rng.next() % 2 == 0 || files.isEmpty ? dirs : files
                paths.append(pool[Int(rng.next() % UInt64(pool.count))])
            }
            let base = resolve(tree, cwd: cwd, paths)
            let relative = paths.map { relativePath($0, from: cwd) }
            XCTAssertEqual(resolve(tree, cwd: cwd, relative), base, "relative spelling of \(paths) in \(cwd)")
            XCTAssertEqual(resolve(tree, cwd: cwd, ["-q"] + relative.flatMap { [$0, "-x"] } + ["-rA"]), base)
            XCTAssertEqual(resolve(tree, cwd: cwd, paths.map { $0 + "::test_one" }), base, "node ids of \(paths)")
            XCTAssertEqual(
                resolve(tree, cwd: cwd, [], environment: ["PYTEST_ADDOPTS": relative.map { "'\($0)'" }.joined(separator: " ")]),
                base, "\(paths) in PYTEST_ADDOPTS")
            guard case .project(let project) = base else { continue }
            served += 1
            for path in paths { XCTAssertTrue(ProjectRoot.isInside(path, project.path), "\(path) outside \(project.path)") }
            if paths.isEmpty { XCTAssertTrue(ProjectRoot.isInside(cwd, project.path), "\(cwd) outside \(project.path)") }
            if let file = project.configFile { XCTAssertEqual(ProjectRoot.parent(of: file), project.path) }
            // The warm-up's own arguments lead pytest to the same place from the rootdir.
            XCTAssertEqual(resolve(tree, cwd: project.path, project.warmupArguments), base, "warm-up of \(project)")
        }
        XCTAssertGreaterThan(served, 200)
    }

    private func relativePath(_ path: String, from directory: String) -> String {
        let a = path.split(separator: "/"), b = directory.split(separator: "/")
        let shared = zip(a, b).prefix { $0 == $1 }.count
        let parts = Array(repeating: "..", count: b.count - shared) + a.dropFirst(shared).map(String.init)
        return parts.isEmpty ? "." : parts.joined(separator: "/")
    }

    func testPathHelpers() {
        XCTAssertEqual(ProjectRoot.ancestors(of: "/a/b"), ["/a/b", "/a", "/"])
        XCTAssertEqual(ProjectRoot.ancestors(of: "/"), ["/"])
        XCTAssertEqual(ProjectRoot.parent(of: "/a"), "/")
        XCTAssertEqual(ProjectRoot.join("/", "x"), "/x")
        XCTAssertEqual(ProjectRoot.absolute("../b/./c//d", in: "/x/y"), "/x/b/c/d")
        XCTAssertEqual(ProjectRoot.absolute("../../..", in: "/x"), "/")
        XCTAssertEqual(SetupRules.commonPath("/a/bc/d", "/a/b"), "/a")
        XCTAssertEqual(SetupRules.pathOfNodeId("t.py::C::test[a::b]"), "t.py")
    }
}

/// A seedable generator (SplitMix64), so a failing generated case reproduces.
struct SplitMix: RandomNumberGenerator {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

extension ProjectRootTests {
    func testTomlThatCannotBeReadIsSaidNotHidden() {
        guard case .plainPytest(let reason) = resolve(Tree(files: ["/p/pyproject.toml": "[tool\n"]), cwd: "/p") else {
            return XCTFail("an unreadable pyproject.toml is served")
        }
        XCTAssertEqual(reason, "cannot read /p/pyproject.toml as TOML")
    }
}
