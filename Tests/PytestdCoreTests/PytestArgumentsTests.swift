import XCTest

@testable import PytestdCore

/// The pieces under the rootdir rules: argparse as pytest configures it, shlex, INI sections, TOML keys.
final class PytestArgumentsTests: XCTestCase {
    private func parse(_ words: [String], version: PytestVersion = .newest) throws -> PytestArguments {
        try PytestArguments.parse(words, disabling: words, version: version, readFile: { _ in nil })
    }

    func testFreeArgumentsAndTheThreeOptions() throws {
        let parsed = try parse([
            "a", "-k", "b", "--tb=short", "-vv", "c::t", "--rootdir", "r", "--confcutdir=d", "-c", "f", "--debug", "e",
        ])
        XCTAssertEqual(parsed.free, ["a", "c::t"])
        XCTAssertEqual([parsed.rootdir, parsed.confcutdir, parsed.configFile], ["r", "d", "f"])
        // `--debug` takes an optional value: "e" was it. An unknown option's value stays free.
        XCTAssertEqual(try parse(["--debug", "--unknown", "x", "-1", "-a b"]).free, ["x", "-1", "-a b"])
        XCTAssertEqual(try parse(["--lfnf", "all"]).free, [])
        XCTAssertEqual(try parse(["-pno:cacheprovider", "--lfnf", "all"]).free, ["all"], "-p with its value attached")
        XCTAssertEqual(try parse(["-p", "no:cacheprovider", "--lfnf", "all"]).free, ["all"])
        XCTAssertEqual(try parse(["-p", "no:cacheprovider", "--sw", "x"]).free, ["x"], "no:cacheprovider blocks stepwise")
        XCTAssertEqual(try parse(["--max-warnings", "3"], version: PytestVersion(9, 0)).free, ["3"], "a 9.1 option")
    }

    func testShortOptionClustersAndSeparators() throws {
        XCTAssertEqual(try parse(["-xqc", "f", "a"]).configFile, "f")
        XCTAssertEqual(try parse(["-xqcf"]).configFile, "f")
        XCTAssertEqual(try parse(["-c=f"]).configFile, "f")
        XCTAssertEqual(try parse(["a", "--", "-c", "--", "b"]).free, ["a", "-c", "--", "b"])
        for rejected in [["-c"], ["-c", "-q"], ["-c", "--"], ["-xz"], ["--exitfirst=1"], ["-q="]] {
            XCTAssertThrowsError(try parse(rejected), "\(rejected)")
        }
    }

    func testFileArguments() throws {
        let files = ["/w/args": "-c\nconf.ini\n@/w/more\n", "/w/more": "tests\r\n"]
        let parsed = try PytestArguments.parse(
            ["@/w/args", "x"], disabling: [], version: .newest, readFile: { files[$0] })
        XCTAssertEqual(parsed.configFile, "conf.ini")
        XCTAssertEqual(parsed.free, ["tests", "x"])
        XCTAssertThrowsError(try PytestArguments.parse(["@/nope"], disabling: [], version: .newest, readFile: { files[$0] }))
    }

    func testShellWordsAreShlexSplit() throws {
        XCTAssertEqual(try ShellWords.split(#"  -k 'a and b' "x \"y\" \z" w\ v '' "#), ["-k", "a and b", #"x "y" \z"#, "w v", ""])
        XCTAssertEqual(try ShellWords.split("a#b 'it''s'"), ["a#b", "its"])
        XCTAssertThrowsError(try ShellWords.split("'open"))
        XCTAssertThrowsError(try ShellWords.split("trailing\\"))
    }

    func testIniSectionsAsIniconfigReadsThem() {
        let text = "[pytest] # comment\r\naddopts = -q\n  [tool:pytest]\n; [x]\n[ spaced ]\n[y]]\n"
        XCTAssertEqual(ConfigurationText.iniSections(in: text), ["pytest", " spaced ", "y]"])
    }

    func testTomlKeyPaths() throws {
        let text = #"""
            # [tool.pytest.ini_options] in a comment
            title = "a [tool.pytest] b" # trailing
            doc = """
            [tool.pytest.ini_options]
            """
            lit = '''x
            [tool.pytest]'''
            [tool . "pytest" ]
            ini_options.addopts = ["-q", [1, 2], {a = 1}]
            when = 1979-05-27 07:32:00Z
            [[tool.other]]
            inline = { pytest = { x = 1 }, y = [] }
            """#
        let paths = try XCTUnwrap(ConfigurationText.tomlKeyPaths(in: text))
        XCTAssertEqual(paths, [
            ["title"], ["doc"], ["lit"], ["tool", "pytest"], ["tool", "pytest", "ini_options", "addopts"],
            ["tool", "pytest", "when"], ["tool", "other"], ["tool", "other", "inline"],
            ["tool", "other", "inline", "pytest"], ["tool", "other", "inline", "pytest", "x"], ["tool", "other", "inline", "y"],
        ])
        XCTAssertNil(ConfigurationText.tomlKeyPaths(in: "[tool\nx = 1\n"))
        XCTAssertNil(ConfigurationText.tomlKeyPaths(in: "x = \"unclosed\n"))
    }

    func testVersions() {
        XCTAssertEqual(PytestVersion(parsing: "8.1.0rc1"), PytestVersion(8, 1))
        XCTAssertNil(PytestVersion(parsing: "dev"))
        XCTAssertLessThan(PytestVersion(8, 4), PytestVersion(9, 0))
    }
}
