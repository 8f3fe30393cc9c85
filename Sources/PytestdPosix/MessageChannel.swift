import CPosix
import Glibc
import PytestdCore

/// A `Message` conversation over a connected Unix stream socket, with file descriptors attached.
///
/// Descriptors travel in the same `sendmsg` as the first bytes of their frame, so the receiver sees
/// them no later than the frame itself; it queues them in arrival order and hands each frame the
/// number its message declares (`Message.descriptorCount`).
public final class MessageChannel {
    public let fd: Int32
    private var decoder = FrameDecoder()
    private var receivedDescriptors: [Int32] = []
    public private(set) var isClosed = false
    /// When bytes last arrived (monotonic seconds): a peer that stops in the middle of a frame is stuck.
    public private(set) var lastReceivedAt = monotonicSeconds()

    public init(fd: Int32) { self.fd = fd }

    /// The largest frame the peer may send (see `FrameDecoder.maximumLength`).
    public var maximumFrameLength: Int {
        get { decoder.maximumLength }
        set { decoder.maximumLength = newValue }
    }

    deinit { close() }

    public func close() {
        guard !isClosed else { return }
        isClosed = true
        Glibc.close(fd)
        receivedDescriptors.forEach { _ = Glibc.close($0) }
        receivedDescriptors.removeAll()
    }

    /// Sends one message; `descriptors` must match `message.descriptorCount`.
    public func send(_ message: Message, descriptors: [Int32] = []) throws {
        precondition(descriptors.count == message.descriptorCount, "descriptor count mismatch")
        let frame = FrameDecoder.frame(message.encoded())
        var sent = 0
        try frame.withUnsafeBytes { buffer in
            while sent < buffer.count {
                let chunk = UnsafeRawBufferPointer(rebasing: buffer[sent...])
                let attached = sent == 0 ? descriptors : []
                let n = attached.withUnsafeBufferPointer {
                    cposix_send_with_fds(fd, chunk.baseAddress, chunk.count, $0.baseAddress, Int32($0.count))
                }
                if n < 0 {
                    if errno == EINTR { continue }
                    if errno == EAGAIN || errno == EWOULDBLOCK {
                        var pfd = pollfd(fd: fd, events: Int16(POLLOUT), revents: 0)
                        _ = poll(&pfd, 1, 1000)
                        continue
                    }
                    throw PosixError("send")
                }
                sent += n
            }
        }
    }

    public enum ReceiveResult {
        case message(Message, descriptors: [Int32])
        /// The peer closed the connection (or it broke).
        case endOfStream
        /// A non-blocking socket has nothing more right now.
        case wouldBlock
    }

    /// The next message; reads from the socket only when no whole frame is buffered.
    public func receive() throws -> ReceiveResult {
        while true {
            if let payload = try decoder.nextPayload() {
                let message = try Message(decoding: payload)
                let count = message.descriptorCount
                guard receivedDescriptors.count >= count else {
                    throw WireError.invalidValue("\(count) descriptors expected, \(receivedDescriptors.count) received")
                }
                let descriptors = Array(receivedDescriptors.prefix(count))
                receivedDescriptors.removeFirst(count)
                return .message(message, descriptors: descriptors)
            }
            var buffer = [UInt8](repeating: 0, count: 65536)
            var fds = [Int32](repeating: -1, count: 8)
            var nfds: Int32 = 0
            let n = buffer.withUnsafeMutableBytes { raw in
                fds.withUnsafeMutableBufferPointer {
                    cposix_recv_with_fds(fd, raw.baseAddress, raw.count, $0.baseAddress, 8, &nfds)
                }
            }
            if n < 0 {
                if errno == EAGAIN || errno == EWOULDBLOCK { return .wouldBlock }
                if errno == ECONNRESET { return .endOfStream }
                throw PosixError("receive")
            }
            receivedDescriptors.append(contentsOf: fds.prefix(Int(nfds)))
            if n == 0 { return .endOfStream }
            lastReceivedAt = monotonicSeconds()
            decoder.append(buffer[0..<n])
        }
    }

    /// Hands every message already available on this non-blocking channel to `handle`, in order,
    /// until the socket has no more or `handle` closed the channel. Returns false when the peer has
    /// closed the connection.
    public func drainMessages(_ handle: (Message, [Int32]) -> Void) throws -> Bool {
        while !isClosed {
            switch try receive() {
            case .message(let message, let descriptors): handle(message, descriptors)
            case .endOfStream: return false
            case .wouldBlock: return true
            }
        }
        return true
    }

    /// Part of a frame arrived and the rest has not (yet).
    public var hasPartialFrame: Bool { decoder.pendingByteCount > 0 }

    public func setNonBlocking() {
        let flags = fcntl(fd, F_GETFL)
        _ = fcntl(fd, F_SETFL, flags | O_NONBLOCK)
    }
}
