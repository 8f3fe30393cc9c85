import XCTest

@testable import PytestdCore

/// The decoder reads whatever a peer of the same uid, or a host that died mid-write, sends: it must
/// decode or throw, never trap and never spin. The inputs get past the version header: random
/// bodies after every tag, and every sample of every case mutated (bit flips, truncations,
/// extensions, 4-byte fields made larger or huge) — as payloads and as frames in a stream.
final class MessageDecoderFuzzTests: XCTestCase {
    private var generator = SeededGenerator(seed: 0xf022)
    private var samples = MessageSamples(seed: 0xf022)
    private var slowest = Duration.zero
    private var decoded = 0
    private var rejected = 0

    private static let header: Bytes = {
        var w = WireWriter()
        w.write(Message.protocolVersion)
        return w.bytes
    }()

    override func tearDown() {
        // A decode that loops over a declared count instead of the bytes present shows up here.
        XCTAssertLessThan(slowest, .milliseconds(200), "the slowest decode took \(slowest)")
    }

    func testEveryTagTheDecoderKnowsHasASample() {
        let sampled = Set(samples.everyCase().map { $0.encoded()[Self.header.count] })
        XCTAssertEqual(Set(knownTags()), sampled, "a Message case without a sample in MessageSamples.everyCase")
    }

    func testRandomBodiesAfterAValidHeaderDecodeOrThrow() {
        for tag in knownTags() {
            for _ in 0..<3000 { check(Self.header + [tag] + randomBody()) }
        }
        XCTAssertGreaterThan(decoded, 100, "random bodies never got to the end of a message")
    }

    func testEveryBitFlipOfEveryCaseDecodesOrThrows() {
        for payload in mutationBases() {
            for bit in 0..<payload.count * 8 {
                var flipped = payload
                flipped[bit / 8] ^= 1 << UInt8(bit % 8)
                if bit / 8 < Self.header.count {
                    XCTAssertThrowsError(try Message(decoding: flipped), "a flipped version bit was accepted")
                } else {
                    check(flipped)
                }
            }
        }
    }

    func testTruncatedAndExtendedMutantsAreRejected() {
        for payload in mutationBases() {
            for _ in 0..<20 {
                var mutant = payload
                for _ in 0..<Int.random(in: 1...3, using: &generator) {
                    mutant[Int.random(in: Self.header.count..<mutant.count, using: &generator)] = UInt8.random(in: 0...255, using: &generator)
                }
                check(Array(mutant.prefix(Int.random(in: 0..<mutant.count, using: &generator))))
                let extra = (0..<Int.random(in: 1...16, using: &generator)).map { _ in UInt8.random(in: 0...255, using: &generator) }
                check(mutant + extra)
            }
            for length in 0..<payload.count {
                XCTAssertThrowsError(try Message(decoding: Array(payload.prefix(length))))
            }
            XCTAssertThrowsError(try Message(decoding: payload + [0]))
        }
    }

    /// Every 4 bytes after the header read as a count or a length, made larger or huge.
    func testEnlargedCountsAndLengthsDecodeOrThrow() {
        let replacements: [(UInt32) -> UInt32] = [
            { $0 &+ 1 }, { $0 &+ 2 }, { $0 &+ 255 }, { $0 &+ 65_536 }, { $0 | 0x8000_0000 },
            { _ in 0x7fff_ffff }, { _ in .max }, { _ in 0x4000_0000 },
        ]
        for payload in mutationBases() {
            for offset in Self.header.count..<max(Self.header.count, payload.count - 3) {
                let value = payload[offset..<offset + 4].reversed().reduce(UInt32(0)) { $0 << 8 | UInt32($1) }
                for replace in replacements {
                    var mutant = payload
                    withUnsafeBytes(of: replace(value).littleEndian) { mutant.replaceSubrange(offset..<offset + 4, with: $0) }
                    check(mutant)
                }
            }
        }
    }

    /// Frames whose declared length is wrong: the stream decoder waits, throws, or hands out
    /// payloads that decode or throw; it never loops.
    func testStreamsOfFramesWithWrongLengthsNeverStickTheDecoder() {
        for _ in 0..<400 {
            var stream: Bytes = []
            for _ in 0..<Int.random(in: 1...4, using: &generator) {
                var frame = FrameDecoder.frame(samples.randomMessage().encoded())
                if Bool.random(using: &generator) {
                    let length = UInt32(frame.count - 4)
                    let declared = [length &+ 1, length &- 1, length / 2, length &+ 4096, 0,
                                    UInt32(FrameDecoder.maximumFrameLength) + 1][Int.random(in: 0..<6, using: &generator)]
                    withUnsafeBytes(of: declared.littleEndian) { frame.replaceSubrange(0..<4, with: $0) }
                }
                stream += frame
            }
            var decoder = FrameDecoder()
            decoder.append(stream)
            var payloads = 0
            while let payload = try? decoder.nextPayload() {
                check(payload)
                payloads += 1
                XCTAssertLessThanOrEqual(payloads, stream.count / 4, "the frame decoder hands out payloads forever")
                if payloads > stream.count / 4 { break }
            }
        }
    }

    // MARK: Helpers

    /// Decodes `payload`: either a message whose encoding decodes to the same encoding, or an error.
    private func check(_ payload: Bytes, file: StaticString = #filePath, line: UInt = #line) {
        let clock = ContinuousClock()
        let start = clock.now
        let message = try? Message(decoding: payload)
        slowest = max(slowest, clock.now - start)
        guard let message else { return rejected += 1 }
        decoded += 1
        let encoded = message.encoded()
        XCTAssertEqual(try? Message(decoding: encoded).encoded(), encoded, "\(message) does not round-trip", file: file, line: line)
    }

    /// The tags the decoder does not reject as unknown.
    private func knownTags() -> [UInt8] {
        (UInt8.min...UInt8.max).filter { tag in
            do {
                _ = try Message(decoding: Self.header + [tag])
                return true
            } catch WireError.unknownMessage {
                return false
            } catch {
                return true
            }
        }
    }

    /// The encodings of every case, plus a few random run requests.
    private func mutationBases() -> [Bytes] {
        (samples.everyCase() + (0..<3).map { _ in Message.run(samples.randomRequest()) }).map { $0.encoded() }
    }

    /// A run of well-formed wire values of random kinds, with small counts and lengths, so that
    /// bodies often match a case's shape part-way or to the end.
    private func randomBody() -> Bytes {
        var w = WireWriter()
        for _ in 0..<Int.random(in: 0...8, using: &generator) {
            switch Int.random(in: 0..<6, using: &generator) {
            case 0: w.write(UInt8.random(in: 0...2, using: &generator))
            case 1: w.write(UInt32.random(in: 0...3, using: &generator))
            case 2: w.write(UInt64.random(in: 0...UInt64.max, using: &generator))
            case 3: w.write(samples.randomBytes(maxCount: 6))
            case 4: w.write((0..<Int.random(in: 0...3, using: &generator)).map { _ in samples.randomBytes(maxCount: 4) })
            default: w.write(UInt32.random(in: 0...UInt32.max, using: &generator))
            }
        }
        return w.bytes
    }
}
