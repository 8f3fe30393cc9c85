/// The environment a warm template was built under, as far as its imports looked at it.
///
/// Settings modules read `os.environ` at import time; a template imported under one caller's
/// environment must not serve a caller whose values differ (the run would see the first caller's
/// settings). The host records which variables module bodies read; a run may use the template only
/// if it agrees on all of them — on every variable when an import iterated the whole environment.
public struct EnvironmentDependencies: Equatable {
    /// Variables a shell or terminal changes between commands without meaning anything to a program.
    public static let volatileVariables: Set<String> = ["_", "PWD", "OLDPWD", "SHLVL", "COLUMNS", "LINES"]

    /// name → value the template saw (nil: it was unset).
    public private(set) var reads: [String: Bytes?] = [:]
    public private(set) var template: [String: Bytes] = [:]
    public private(set) var wholeEnvironment = false

    public init() {}

    /// - Parameters:
    ///   - reads: `NAME=value` or `NAME` (unset) entries from the host's report.
    ///   - templateEnvironment: the environment the host was started with.
    public init(reads entries: [Bytes], wholeEnvironment: Bool, templateEnvironment: [Bytes]) {
        for entry in entries {
            let (name, value) = Self.split(entry)
            reads[name] = value
        }
        self.wholeEnvironment = wholeEnvironment
        if wholeEnvironment { template = Self.dictionary(templateEnvironment) }
    }

    /// The first variable whose value in `environment` differs from what the template saw, or nil
    /// when the template can serve a run with this environment.
    public func firstDifference(in environment: [Bytes], ignoring ignored: Set<String> = []) -> String? {
        let run = Self.dictionary(environment)
        for name in reads.keys.sorted() where !ignored.contains(name) && run[name] != reads[name]! {
            return name
        }
        guard wholeEnvironment else { return nil }
        let names = Set(run.keys).union(template.keys).subtracting(Self.volatileVariables).subtracting(ignored)
        return names.sorted().first { run[$0] != template[$0] }
    }

    /// Readable: "APP_MODE is unset for this run; the warm template was imported with APP_MODE=first".
    public func describeDifference(_ name: String, in environment: [Bytes]) -> String {
        let run = Self.dictionary(environment)
        let seen: Bytes? = reads[name] ?? template[name]
        func show(_ value: Bytes?) -> String {
            value.map { "\(name)=\(String(decoding: $0, as: UTF8.self))" } ?? "\(name) unset"
        }
        return "this run has \(show(run[name])), the warm template was imported with \(show(seen))"
    }

    static func split(_ entry: Bytes) -> (String, Bytes?) {
        guard let eq = entry.firstIndex(of: UInt8(ascii: "=")) else {
            return (String(decoding: entry, as: UTF8.self), nil)
        }
        return (String(decoding: entry[..<eq], as: UTF8.self), Bytes(entry[(eq + 1)...]))
    }

    /// First occurrence wins, as in getenv.
    static func dictionary(_ entries: [Bytes]) -> [String: Bytes] {
        var result: [String: Bytes] = [:]
        for entry in entries {
            let (name, value) = split(entry)
            if let value, result[name] == nil { result[name] = value }
        }
        return result
    }
}
