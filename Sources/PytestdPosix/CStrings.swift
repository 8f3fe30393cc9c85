import Glibc
import PytestdCore

/// argv, environ and paths as the kernel hands them over: bytes, not necessarily UTF-8. What reaches
/// pytest must be these bytes, so they are never decoded into `String` on their way to a run.
public enum CStrings {
    public static func bytes(_ string: UnsafePointer<CChar>) -> Bytes {
        Bytes(UnsafeRawBufferPointer(start: string, count: strlen(string)))
    }

    /// A malloc'ed NUL-terminated copy for argv and envp arrays (release it with `free`).
    public static func copy(_ bytes: Bytes) -> UnsafeMutablePointer<CChar>? {
        let copy = malloc(bytes.count + 1)!.assumingMemoryBound(to: CChar.self)
        bytes.withUnsafeBytes { raw in
            if let base = raw.baseAddress { UnsafeMutableRawPointer(copy).copyMemory(from: base, byteCount: bytes.count) }
        }
        copy[bytes.count] = 0
        return copy
    }

    /// This process's argv, program name first.
    public static func arguments() -> [Bytes] {
        (0..<Int(CommandLine.argc)).compactMap { CommandLine.unsafeArgv[$0].map { bytes($0) } }
    }
}
