/// Byte-level encoding shared by every pytestd message.
///
/// Little-endian integers, length-prefixed byte strings. Deliberately tiny and Foundation-free: the
/// shim is linked statically and must start in a few milliseconds.
public typealias Bytes = [UInt8]

public enum WireError: Error, Equatable, CustomStringConvertible {
    case truncated
    case unknownMessage(tag: UInt8)
    case oversizedFrame(length: Int, limit: Int)
    case invalidValue(String)
    case trailingBytes(count: Int)

    public var description: String {
        switch self {
        case .truncated: return "message ends early"
        case .unknownMessage(let tag): return "unknown message type \(tag)"
        case .oversizedFrame(let length, let limit): return "a frame of \(length) bytes is too large (the limit is \(limit) bytes)"
        case .invalidValue(let what): return "invalid value: \(what)"
        case .trailingBytes(let count): return "\(count) unexpected bytes after the message"
        }
    }
}

public struct WireWriter {
    public private(set) var bytes: Bytes = []

    public init() {}

    public mutating func write(_ value: UInt8) { bytes.append(value) }

    public mutating func write(_ value: UInt32) {
        withUnsafeBytes(of: value.littleEndian) { bytes.append(contentsOf: $0) }
    }

    public mutating func write(_ value: UInt64) {
        withUnsafeBytes(of: value.littleEndian) { bytes.append(contentsOf: $0) }
    }

    public mutating func write(_ value: Int32) { write(UInt32(bitPattern: value)) }
    public mutating func write(_ value: Double) { write(value.bitPattern) }
    public mutating func write(_ value: Bool) { write(UInt8(value ? 1 : 0)) }

    public mutating func write(_ value: Bytes) {
        write(UInt32(value.count))
        bytes.append(contentsOf: value)
    }

    public mutating func write(_ value: String) { write(Bytes(value.utf8)) }

    public mutating func write(_ values: [Bytes]) {
        write(UInt32(values.count))
        for value in values { write(value) }
    }

    public mutating func write(_ values: [String]) { write(values.map { Bytes($0.utf8) }) }
}

public struct WireReader {
    private let bytes: Bytes
    private var offset = 0

    public init(_ bytes: Bytes) { self.bytes = bytes }

    public func expectEnd() throws {
        if offset != bytes.count { throw WireError.trailingBytes(count: bytes.count - offset) }
    }

    private mutating func take(_ count: Int) throws -> ArraySlice<UInt8> {
        guard count >= 0, bytes.count - offset >= count else { throw WireError.truncated }
        defer { offset += count }
        return bytes[offset..<offset + count]
    }

    public mutating func readByte() throws -> UInt8 { try take(1).first! }

    public mutating func readUInt32() throws -> UInt32 {
        try take(4).reversed().reduce(0) { $0 << 8 | UInt32($1) }
    }

    public mutating func readUInt64() throws -> UInt64 {
        try take(8).reversed().reduce(0) { $0 << 8 | UInt64($1) }
    }

    public mutating func readInt32() throws -> Int32 { Int32(bitPattern: try readUInt32()) }
    public mutating func readDouble() throws -> Double { Double(bitPattern: try readUInt64()) }

    public mutating func readBool() throws -> Bool {
        switch try readByte() {
        case 0: return false
        case 1: return true
        case let other: throw WireError.invalidValue("boolean \(other)")
        }
    }

    public mutating func readBytes() throws -> Bytes {
        Bytes(try take(Int(try readUInt32())))
    }

    public mutating func readString() throws -> String {
        String(decoding: try readBytes(), as: UTF8.self)
    }

    public mutating func readBytesList() throws -> [Bytes] {
        let count = Int(try readUInt32())
        // Each element needs at least its 4-byte length: refuse counts the payload cannot hold.
        guard count <= (bytes.count - offset) / 4 else { throw WireError.truncated }
        return try (0..<count).map { _ in try readBytes() }
    }

    public mutating func readStringList() throws -> [String] {
        try readBytesList().map { String(decoding: $0, as: UTF8.self) }
    }
}
