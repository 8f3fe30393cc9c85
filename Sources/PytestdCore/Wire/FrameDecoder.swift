/// Splits a byte stream into frames: a 4-byte little-endian length, then that many payload bytes.
///
/// Stream sockets may deliver a frame in pieces or several frames at once; the decoder holds what it
/// has until a frame is whole.
public struct FrameDecoder {
    /// Large enough for any argv + environment the kernel lets a process have (ARG_MAX is 2 MiB).
    public static let maximumFrameLength = 64 << 20

    private var buffer: Bytes = []
    private var start = 0
    /// The largest frame this stream may send: what it can make the reader buffer.
    public var maximumLength = FrameDecoder.maximumFrameLength

    public init() {}

    public static func frame(_ payload: Bytes) -> Bytes {
        var writer = WireWriter()
        writer.write(payload)
        return writer.bytes
    }

    public mutating func append<C: Collection>(_ bytes: C) where C.Element == UInt8 {
        buffer.append(contentsOf: bytes)
    }

    /// The next whole payload, or nil when more bytes are needed.
    public mutating func nextPayload() throws -> Bytes? {
        let available = buffer.count - start
        guard available >= 4 else { return nil }
        var reader = WireReader(Bytes(buffer[start..<start + 4]))
        let length = Int(try reader.readUInt32())
        guard length <= maximumLength else { throw WireError.oversizedFrame(length: length, limit: maximumLength) }
        guard available - 4 >= length else { return nil }
        let payload = Bytes(buffer[start + 4..<start + 4 + length])
        start += 4 + length
        if start == buffer.count {
            buffer.removeAll(keepingCapacity: true)
            start = 0
        } else if start > 1 << 16 {
            buffer.removeFirst(start)
            start = 0
        }
        return payload
    }

    /// Bytes received but not yet part of a whole frame.
    public var pendingByteCount: Int { buffer.count - start }
}
