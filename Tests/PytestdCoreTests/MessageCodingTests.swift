import XCTest

@testable import PytestdCore

/// Property-style: random messages survive encode → frame → split into arbitrary chunks → decode.
final class MessageCodingTests: XCTestCase {
    private var generator = SeededGenerator(seed: 0x5eed)
    private var samples = MessageSamples(seed: 0x5eed)

    func testEveryMessageKindRoundTrips() throws {
        for message in sampleMessages() {
            XCTAssertEqual(try Message(decoding: message.encoded()), message)
        }
    }

    func testRandomMessagesRoundTripThroughArbitraryChunking() throws {
        for _ in 0..<300 {
            let messages = (0..<Int.random(in: 1...5, using: &generator)).map { _ in randomMessage() }
            let stream = messages.flatMap { FrameDecoder.frame($0.encoded()) }
            var decoder = FrameDecoder()
            var decoded: [Message] = []
            var offset = 0
            while offset < stream.count {
                let chunk = Int.random(in: 1...max(1, stream.count / 3), using: &generator)
                decoder.append(stream[offset..<min(stream.count, offset + chunk)])
                offset += chunk
                while let payload = try decoder.nextPayload() { decoded.append(try Message(decoding: payload)) }
            }
            XCTAssertEqual(decoded, messages)
            XCTAssertEqual(decoder.pendingByteCount, 0)
        }
    }

    func testEveryTruncationIsRejectedNeverMisread() {
        for message in sampleMessages() {
            let payload = message.encoded()
            for length in 0..<payload.count {
                XCTAssertThrowsError(try Message(decoding: Array(payload.prefix(length))), "\(message) cut at \(length)")
            }
        }
    }

    func testTrailingBytesAreRejected() {
        XCTAssertThrowsError(try Message(decoding: Message.acknowledged.encoded() + [0])) {
            XCTAssertEqual($0 as? WireError, .trailingBytes(count: 1))
        }
    }

    func testUnknownTagAndWrongVersionAreRejected() {
        var unknown = Message.acknowledged.encoded()
        unknown[4] = 200
        XCTAssertThrowsError(try Message(decoding: unknown)) {
            XCTAssertEqual($0 as? WireError, .unknownMessage(tag: 200))
        }
        var otherVersion = Message.acknowledged.encoded()
        otherVersion[0] = 99
        XCTAssertThrowsError(try Message(decoding: otherVersion))
    }

    func testRandomGarbageNeverCrashesTheDecoder() {
        for _ in 0..<2000 {
            let garbage = (0..<Int.random(in: 0...64, using: &generator)).map { _ in UInt8.random(in: 0...255, using: &generator) }
            _ = try? Message(decoding: garbage)
        }
    }

    func testHugeDeclaredListCountFailsFast() {
        var w = WireWriter()
        w.write(Message.protocolVersion)
        w.write(UInt8(1))  // run
        w.write(UInt32.max)  // argv count
        XCTAssertThrowsError(try Message(decoding: w.bytes)) { XCTAssertEqual($0 as? WireError, .truncated) }
    }

    func testOversizedFrameIsRejected() {
        var decoder = FrameDecoder()
        var w = WireWriter()
        w.write(UInt32(FrameDecoder.maximumFrameLength + 1))
        decoder.append(w.bytes)
        XCTAssertThrowsError(try decoder.nextPayload())
    }

    func testDescriptorCountsMatchTheMessagesThatCarryTerminals() {
        XCTAssertEqual(Message.run(randomRequest()).descriptorCount, 3)
        XCTAssertEqual(Message.startRun(id: 1, randomRequest()).descriptorCount, 3)
        XCTAssertEqual(Message.finished(.exited(0), childSeconds: 0).descriptorCount, 0)
        XCTAssertEqual(Message.reloadStarted(pid: 1, id: 1).descriptorCount, 1)
        XCTAssertEqual(Message.zygoteStarted(pid: 1, conftest: "c").descriptorCount, 1)
        XCTAssertEqual(Message.forkHost(id: 1).descriptorCount, 1)
        XCTAssertEqual(Message.hostForked(id: 1, pid: 2).descriptorCount, 0)
    }

    private func sampleMessages() -> [Message] { samples.everyCase() }
    private func randomMessage() -> Message { samples.randomMessage() }
    private func randomRequest() -> RunRequest { samples.randomRequest() }
}

/// A deterministic generator, so a failing property case reproduces.
struct SeededGenerator: RandomNumberGenerator {
    private var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
