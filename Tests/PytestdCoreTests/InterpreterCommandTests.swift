import XCTest

@testable import PytestdCore

final class InterpreterCommandTests: XCTestCase {
    private func command(_ words: [String]) -> InterpreterCommand? {
        InterpreterCommand(argv: words.map { Bytes($0.utf8) })
    }

    private let runner = "/home/u/.vscode/extensions/ms-python.python-2026.4.0/python_files/vscode_pytest/run_pytest_script.py"

    func testPytestModuleCarriesEveryArgumentAfterIt() {
        XCTAssertEqual(command(["python", "-m", "pytest"]), .pytestModule(arguments: []))
        XCTAssertEqual(command(["/v/bin/python3", "-m", "py.test", "-q", "-m", "slow"]),
                       .pytestModule(arguments: ["-q", "-m", "slow"].map { Bytes($0.utf8) }))
        XCTAssertEqual(command(["python", "-m", "pytest", "-p", "vscode_pytest", "--collect-only", "--rootdir=/p"])?.pytestArguments.count, 4)
    }

    func testRunnerScriptIsRecognisedByItsLastTwoComponents() {
        XCTAssertEqual(command(["python", runner, "--rootdir=/p"]),
                       .runnerScript(path: Bytes(runner.utf8), arguments: [Bytes("--rootdir=/p".utf8)]))
        XCTAssertNotNil(command(["python", "vscode_pytest/run_pytest_script.py"]))
        XCTAssertNil(command(["python", "/x/my_vscode_pytest/run_pytest_script.py"]))
        XCTAssertNil(command(["python", "/x/run_pytest_script.py"]))
    }

    private let debugpy = "/home/u/.vscode/extensions/ms-python.debugpy-2026.4.0/bundled/libs/debugpy"

    func testDebugpyLaunchersCommandLineKeepsItsWordsAndServesTheTarget() {
        // As debugpy's launcher writes it (launcher/handlers.py) for the test explorer's "Debug Test".
        let words = ["-X", "frozen_modules=off", debugpy, "--connect", "127.0.0.1:40123", "--configure-qt", "none",
                     "--adapter-access-token", "abc"]
        XCTAssertEqual(command(["python"] + words + [runner, "--rootdir=/p", "--capture=no"]),
                       .underDebugpy(words: words.map { Bytes($0.utf8) },
                                     target: .runnerScript(path: Bytes(runner.utf8), arguments: ["--rootdir=/p", "--capture=no"].map { Bytes($0.utf8) })))
        let typed = ["-m", "debugpy", "--listen", "5678", "--wait-for-client", "--configure-subProcess", "False"]
        XCTAssertEqual(command(["python"] + typed + ["-m", "pytest", "-x"]),
                       .underDebugpy(words: typed.map { Bytes($0.utf8) }, target: .pytestModule(arguments: [Bytes("-x".utf8)])))
        XCTAssertEqual(command(["python", debugpy, "--connect", "h:1", "-m", "pytest"])?.pytestArguments, [])
    }

    func testDebugpyWithAnotherTargetOrUnknownSwitchIsLeftToTheInterpreter() {
        for words in [["python", debugpy, "--connect", "h:1", "script.py"], ["python", debugpy, "--connect", "h:1", "-m", "pip"],
                      ["python", debugpy, "--connect", "h:1", "-c", "pass"], ["python", debugpy, "--help", runner],
                      ["python", debugpy, "--connect"], ["python", "/x/notdebugpy", "--connect", "h:1", runner],
                      ["python", "-X", "dev", debugpy, "--connect", "h:1", runner], ["python", "-m", "debugpy.adapter"],
                      ["python", debugpy + "/launcher", "--connect", "h:1", runner]] {
            XCTAssertNil(command(words), "\(words)")
        }
    }

    func testEverythingElseIsLeftToTheInterpreter() {
        for words in [["python"], ["python", "-c", "pass"], ["python", "script.py"], ["python", "-m"],
                      ["python", "-m", "pip", "install", "pytest"], ["python", "-mpytest"], ["python", "-u", "-m", "pytest"],
                      ["python", "-X", "frozen_modules=off", runner], ["python", "-m", "pytest_cov"], ["python", "-I", "-m", "pytest"]] {
            XCTAssertNil(command(words), "\(words)")
        }
    }

    func testRandomArgumentsAfterARecognisedStartAreKeptExactly() {
        var generator = SystemRandomNumberGenerator()
        for _ in 0..<200 {
            let arguments = (0..<Int.random(in: 0...5, using: &generator)).map { _ in
                (0..<Int.random(in: 0...8, using: &generator)).map { _ in UInt8.random(in: 1...255, using: &generator) }
            }
            let python = Bytes("python".utf8)
            XCTAssertEqual(InterpreterCommand(argv: [python, Bytes("-m".utf8), Bytes("pytest".utf8)] + arguments)?.pytestArguments, arguments)
            XCTAssertEqual(InterpreterCommand(argv: [python, Bytes(runner.utf8)] + arguments)?.pytestArguments, arguments)
        }
    }
}
