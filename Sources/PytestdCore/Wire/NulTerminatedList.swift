/// The list encoding between the host and its in-interpreter half: every item followed by a NUL.
/// Mirrored by `python/pytestd/_wire.py`. Items are C strings (argv, paths, environment entries)
/// and so never contain NUL themselves.
public enum NulTerminatedList {
    public static func join(_ items: [Bytes]) -> Bytes { items.flatMap { $0 + [0] } }

    /// The items of `blob`; bytes after the last NUL are not an item.
    public static func split(_ blob: Bytes) -> [Bytes] {
        var items: [Bytes] = []
        var start = 0
        for (index, byte) in blob.enumerated() where byte == 0 {
            items.append(Bytes(blob[start..<index]))
            start = index + 1
        }
        return items
    }
}
