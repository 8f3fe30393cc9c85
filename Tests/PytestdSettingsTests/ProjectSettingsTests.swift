import Glibc
import XCTest

@testable import PytestdPosix
@testable import PytestdSettings

final class ProjectSettingsTests: XCTestCase {
    func testDefaultsWithoutATable() throws {
        XCTAssertEqual(try ProjectSettings.parse("[tool.pytest.ini_options]\n", root: "/p"), ProjectSettings())
    }

    func testAllKeys() throws {
        let settings = try ProjectSettings.parse("""
            [tool.pytestd]
            python = ".venv/bin/python"
            preload = ["tests/unit", "tests/api"]
            idle_minutes = 5
            bypass_options = ["--my-plugin"]
            patches = ["tools/reload_patches"]
            restart_on = ["config/*.yaml"]
            patch_in_place = false
            log_max_mib = 0.5
            warmup_timeout = 30
            low_memory_percent = 12.5
            memory_budget_mib = 512
            expire_idle_minutes = 0.5
            """, root: "/p")
        XCTAssertEqual(settings.python, "/p/.venv/bin/python")
        XCTAssertEqual(settings.preload, ["tests/unit", "tests/api"])
        XCTAssertEqual(settings.idleMinutes, 5)
        XCTAssertEqual(settings.bypassOptions, ["--my-plugin"])
        XCTAssertEqual(settings.patches, ["tools/reload_patches"])
        XCTAssertEqual(settings.restartOn, ["config/*.yaml"])
        XCTAssertFalse(settings.patchInPlace)
        XCTAssertTrue(ProjectSettings().patchInPlace)
        XCTAssertEqual(settings.logMaxBytes, 512 << 10)
        XCTAssertEqual(settings.warmupTimeout, 30)
        XCTAssertEqual(ProjectSettings().logMaxBytes, 10 << 20)
        XCTAssertEqual(settings.memoryBudget.lowMemoryPercent, 12.5)
        XCTAssertEqual(settings.memoryBudget.projectKiB, 512 << 10)
        XCTAssertEqual(settings.memoryBudget.idleSeconds, 30)
        let defaults = ProjectSettings().memoryBudget
        XCTAssertEqual([defaults.lowMemoryPercent, defaults.idleSeconds], [5, 600])
        XCTAssertNil(defaults.projectKiB)
    }

    func testMistakesAreNamed() {
        XCTAssertThrowsError(try ProjectSettings.parse("[tool.pytestd]\npreload = \"tests\"\n", root: "/p")) {
            XCTAssertTrue("\($0)".contains("preload must be a list"), "\($0)")
        }
        XCTAssertThrowsError(try ProjectSettings.parse("[tool.pytestd]\npreloads = []\n", root: "/p")) {
            XCTAssertTrue("\($0)".contains("unknown key"), "\($0)")
        }
        XCTAssertThrowsError(try ProjectSettings.parse("[tool.pytestd]\nidle_minutes = -1\n", root: "/p"))
        XCTAssertThrowsError(try ProjectSettings.parse("[tool.pytestd]\nlog_max_mib = 0\n", root: "/p"))
        XCTAssertThrowsError(try ProjectSettings.parse("[tool.pytestd]\nwarmup_timeout = -1\n", root: "/p"))
        XCTAssertThrowsError(try ProjectSettings.parse("[tool.pytestd]\nlow_memory_percent = 101\n", root: "/p"))
        XCTAssertThrowsError(try ProjectSettings.parse("[tool.pytestd]\nmemory_budget_mib = -1\n", root: "/p"))
        XCTAssertThrowsError(try ProjectSettings.parse("[tool.pytestd]\nexpire_idle_minutes = \"soon\"\n", root: "/p"))
        XCTAssertThrowsError(try ProjectSettings.parse("[tool.pytestd]\npatch_in_place = \"no\"\n", root: "/p")) {
            XCTAssertTrue("\($0)".contains("patch_in_place must be true or false"), "\($0)")
        }
    }

    func testScriptInterpreterReadsShebangsAndPipTrampolines() throws {
        let directory = "/tmp/pytestd-shebang-\(getpid())"
        mkdir(directory, 0o700)
        defer {
            unlink(directory + "/a")
            unlink(directory + "/b")
            unlink(directory + "/c")
            rmdir(directory)
        }
        try write("#!/venv/bin/python3.11\nimport sys\n", to: directory + "/a")
        try write("#!/bin/sh\n'''exec' /very/long/venv/bin/python \"$0\" \"$@\"\n' '''\n", to: directory + "/b")
        try write("#!/usr/bin/env bash\nexec foo\n", to: directory + "/c")
        XCTAssertEqual(ProjectIdentity.scriptInterpreter(directory + "/a"), "/venv/bin/python3.11")
        XCTAssertEqual(ProjectIdentity.scriptInterpreter(directory + "/b"), "/very/long/venv/bin/python")
        XCTAssertNil(ProjectIdentity.scriptInterpreter(directory + "/c"))
    }

    private func write(_ text: String, to path: String) throws {
        let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0o755)
        guard fd >= 0 else { throw PosixError("open") }
        _ = Array(text.utf8).withUnsafeBytes { Glibc.write(fd, $0.baseAddress, $0.count) }
        close(fd)
    }
}
