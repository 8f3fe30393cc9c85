/// Where a loaded file lives decides what a change to it costs. Project code — under the root, or
/// outside it on an editable install or a `pythonpath` / `sys.path` entry — is reloaded like the
/// project's own modules; installed code — site-packages (any of them), the standard library,
/// pytestd's own package — needs a clean host.
public struct SourceLocations: Sendable {
    public let root: String
    /// Directories whose files are installed code, normalised.
    public let installed: [String]

    public init(root: String, installed: [String]) {
        self.root = Self.normalized(root)
        self.installed = installed.filter { !$0.isEmpty }.map(Self.normalized)
    }

    public func isUnderRoot(_ path: String) -> Bool {
        Self.isInside(Self.normalized(path), root)
    }

    public func isInstalled(_ path: String) -> Bool {
        let path = Self.normalized(path)
        let components = path.split(separator: "/")
        if components.contains("site-packages") || components.contains("dist-packages") { return true }
        return installed.contains { Self.isInside(path, $0) }
    }

    /// Project code: Python source that is not installed code.
    public func isProjectSource(_ path: String) -> Bool {
        path.hasSuffix(".py") && !isInstalled(path)
    }

    /// `path` without `.`, `..` and repeated slashes, lexically (pytest puts `pythonpath` entries on
    /// `sys.path` as written, e.g. `/src/app/../libc`).
    public static func normalized(_ path: String) -> String {
        var parts: [Substring] = []
        for part in path.split(separator: "/", omittingEmptySubsequences: true) {
            if part == "." { continue }
            if part == ".." {
                if !parts.isEmpty { parts.removeLast() }
                continue
            }
            parts.append(part)
        }
        return "/" + parts.joined(separator: "/")
    }

    private static func isInside(_ path: String, _ directory: String) -> Bool {
        directory == "/" || path == directory || path.hasPrefix(directory + "/")
    }
}
