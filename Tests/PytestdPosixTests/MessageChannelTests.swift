import Glibc
import PytestdCore
import XCTest

@testable import PytestdPosix

final class MessageChannelTests: XCTestCase {
    func testDescriptorsArriveWithTheirMessage() throws {
        let (a, b) = try UnixSocket.pair()
        let sender = MessageChannel(fd: a)
        let receiver = MessageChannel(fd: b)
        var pipeFds: [Int32] = [0, 0]
        XCTAssertEqual(pipe(&pipeFds), 0)
        defer { close(pipeFds[0]) }
        let request = RunRequest(argv: [Array("pytest".utf8)], workingDirectory: Array("/".utf8), environment: [],
                                 style: .consoleScript, umask: 0o22, scriptPath: [], managerIdentity: "x")
        try sender.send(.forwardSignal(2))
        try sender.send(.run(request), descriptors: [pipeFds[1], pipeFds[1], pipeFds[1]])
        close(pipeFds[1])
        try sender.send(.acknowledged)

        guard case .message(.forwardSignal(2), let none) = try receiver.receive() else { return XCTFail() }
        XCTAssertEqual(none, [])
        guard case .message(.run(let received), let fds) = try receiver.receive() else { return XCTFail() }
        XCTAssertEqual(received, request)
        XCTAssertEqual(fds.count, 3)
        // The passed descriptors are the pipe's write end: writing reaches our read end.
        XCTAssertEqual(write(fds[2], "ok", 2), 2)
        fds.forEach { _ = close($0) }
        var buffer = [UInt8](repeating: 0, count: 2)
        XCTAssertEqual(read(pipeFds[0], &buffer, 2), 2)
        XCTAssertEqual(buffer, Array("ok".utf8))
        guard case .message(.acknowledged, _) = try receiver.receive() else { return XCTFail() }
        sender.close()
        guard case .endOfStream = try receiver.receive() else { return XCTFail() }
    }

    func testLargeRequestsCrossANonBlockingSocket() throws {
        let (a, b) = try UnixSocket.pair()
        let sender = MessageChannel(fd: a)
        let receiver = MessageChannel(fd: b)
        receiver.setNonBlocking()
        let environment = (0..<20_000).map { Array("VARIABLE_\($0)=\(String(repeating: "v", count: 50))".utf8) }
        let message = Message.status(environment.map { StatusField(String(decoding: $0, as: UTF8.self), "") })
        var received: Message?
        var pending = true
        // A 1.4 MB frame does not fit a socket buffer: send from a child while this side drains.
        let child = fork()
        if child == 0 {
            try? sender.send(message)
            _exit(0)
        }
        sender.close()
        while pending {
            switch try receiver.receive() {
            case .message(let m, _):
                received = m
                pending = false
            case .wouldBlock:
                usleep(1000)
            case .endOfStream:
                pending = false
            }
        }
        _ = waitpid(child, nil, 0)
        XCTAssertEqual(received, message)
    }

    func testAFrameCutShortIsPendingUntilItsLastByte() throws {
        let (a, b) = try UnixSocket.pair()
        defer { close(a) }
        let receiver = MessageChannel(fd: b)
        receiver.setNonBlocking()
        let frame = FrameDecoder.frame(Message.acknowledged.encoded())
        for cut in 1..<frame.count {
            XCTAssertEqual(write(a, frame, cut), cut)
            let before = receiver.lastReceivedAt
            guard case .wouldBlock = try receiver.receive() else { return XCTFail("a part of a frame decoded") }
            XCTAssertTrue(receiver.hasPartialFrame, "cut at \(cut)")
            XCTAssertGreaterThanOrEqual(receiver.lastReceivedAt, before)
            let rest = Array(frame[cut...])
            XCTAssertEqual(write(a, rest, rest.count), rest.count)
            guard case .message(.acknowledged, _) = try receiver.receive() else { return XCTFail() }
            XCTAssertFalse(receiver.hasPartialFrame)
        }
        XCTAssertFalse(receiver.hasPartialFrame)
    }

    func testUnixSocketIsPrivateAndRefusesNothingFromItsOwner() throws {
        let directory = "/tmp/pytestd-test-\(getpid())"
        mkdir(directory, 0o700)
        defer { rmdir(directory) }
        let path = directory + "/s.sock"
        let listener = try UnixSocket.listen(at: path)
        defer {
            close(listener)
            unlink(path)
        }
        var st = stat()
        XCTAssertEqual(stat(path, &st), 0)
        XCTAssertEqual(st.st_mode & 0o777, 0o600)
        let client = try UnixSocket.connect(to: path)
        XCTAssertNotNil(try UnixSocket.accept(from: listener))
        client.close()
    }

    func testOverlongSocketPathIsAClearError() {
        XCTAssertThrowsError(try UnixSocket.listen(at: "/tmp/" + String(repeating: "x", count: 200))) {
            XCTAssertEqual(($0 as? PosixError)?.code, ENAMETOOLONG)
        }
    }
}
