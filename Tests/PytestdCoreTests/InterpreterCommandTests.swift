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
