import Glibc

/// A failed system call: what pytestd was doing, and the errno it got.
public struct PosixError: Error, CustomStringConvertible {
    public var operation: String
    public var code: Int32

    public init(_ operation: String, code: Int32 = errno) {
        self.operation = operation
        self.code = code
    }

    public var description: String { "\(operation): \(String(cString: strerror(code)))" }
}

/// Runs a system call, retrying on EINTR, and throws on -1.
@discardableResult
public func retryingOnInterrupt<T: BinaryInteger>(_ operation: @autoclosure () -> String, _ call: () -> T) throws -> T {
    while true {
        let result = call()
        if result != -1 { return result }
        if errno == EINTR { continue }
        throw PosixError(operation())
    }
}
