/// The environment a warm template was built under, as far as its imports looked at it.
///
/// Settings modules read `os.environ` at import time; a template imported under one caller's
/// environment must not serve a caller whose values differ (the run would see the first caller's
/// settings). The host records which variables module bodies read by name; a run may use the template
/// only if it agrees on all of them — and on every variable but the shell's bookkeeping when an import
/// iterated or copied the whole environment. Names and values are bytes, compared as such.
public struct EnvironmentDependencies: Equatable {
    /// Variables a shell, terminal or editor changes between commands without meaning anything to a
    /// program's imports (VS Code's test explorer names a new result pipe and ids file for each run).
    /// A copy of the whole environment does not make them dependencies; reading one by name does.
    public static let volatileVariables: Set<String> = [
        "_", "PWD", "OLDPWD", "SHLVL", "COLUMNS", "LINES", "TEST_RUN_PIPE", "RUN_TEST_IDS_PIPE",
    ]

    /// Read by CPython itself when the host starts: the locale decides the file-system and stdio
    /// encodings and UTF-8 mode, which every later run of the template inherits.
    public static let startupVariables = ["LC_ALL", "LC_CTYPE", "LANG"]
    static let startupReader = "the interpreter's start-up (locale)"

    /// name → value the template saw (nil: it was unset).
    public private(set) var reads: [Bytes: Bytes?] = [:]
    /// name → the module whose import read it.
    public private(set) var readers: [Bytes: String] = [:]
    public private(set) var template: [Bytes: Bytes] = [:]
    /// The module whose import iterated the whole environment, if one did.
    public private(set) var wholeEnvironmentReader: String?

    public var wholeEnvironment: Bool { wholeEnvironmentReader != nil }

    public init() {}

    /// - Parameters:
    ///   - reads: `NAME=value` or `NAME` (unset) entries from the host's report.
    ///   - readers: `NAME=module` entries: which module's import read each variable.
    ///   - wholeEnvironmentReader: the module that iterated the whole environment, or nil.
    ///   - templateEnvironment: the environment the host was started with.
    public init(reads entries: [Bytes], readers readerEntries: [Bytes] = [], wholeEnvironmentReader: String?,
                templateEnvironment: [Bytes]) {
        for entry in entries {
            let (name, value) = Self.split(entry)
            reads[name] = value
        }
        for entry in readerEntries {
            let (name, module) = Self.split(entry)
            if let module { readers[name] = String(decoding: module, as: UTF8.self) }
        }
        self.wholeEnvironmentReader = wholeEnvironmentReader
        let started = Self.dictionary(templateEnvironment)
        // Before any import, and from the environment the host got (CPython may coerce LC_CTYPE).
        for name in Self.startupVariables.map({ Bytes($0.utf8) }) {
            reads[name] = started[name]
            readers[name] = Self.startupReader
        }
        if wholeEnvironmentReader != nil { template = started }
    }

    /// The first variable whose value in `environment` differs from what the template saw, or nil
    /// when the template can serve a run with this environment.
    public func firstDifference(in environment: [Bytes], ignoring ignored: Set<String> = []) -> Bytes? {
        let run = Self.dictionary(environment)
        let ignoredNames = Set(ignored.map { Bytes($0.utf8) })
        for name in reads.keys.sorted(by: Self.byteOrder) where !ignoredNames.contains(name) && run[name] != reads[name]! {
            return name
        }
        guard wholeEnvironment else { return nil }
        let names = Set(run.keys).union(template.keys).subtracting(Self.volatileNames).subtracting(ignoredNames)
        return names.sorted(by: Self.byteOrder).first { run[$0] != template[$0] }
    }

    /// Readable: "this run has APP_MODE unset, the warm template was imported with APP_MODE=first
    /// (read by app.settings)".
    public func describeDifference(_ name: Bytes, in environment: [Bytes]) -> String {
        let run = Self.dictionary(environment)
        let seen: Bytes? = reads[name] ?? template[name]
        let shown = String(decoding: name, as: UTF8.self)
        func show(_ value: Bytes?) -> String {
            value.map { "\(shown)=\(String(decoding: $0, as: UTF8.self))" } ?? "\(shown) unset"
        }
        let reader = reads[name] != nil
            ? readers[name].map { " (read by \($0))" } ?? ""
            : wholeEnvironmentReader.map { " (\($0) copied the whole environment)" } ?? ""
        return "this run has \(show(run[name])), the warm template was imported with \(show(seen))\(reader)"
    }

    /// For `pytestd status`: "APP_MODE (app.settings), every variable but the shell's (libx)", or nil.
    public var summary: String? {
        var parts = reads.keys.sorted(by: Self.byteOrder).filter { readers[$0] != Self.startupReader }.map { name in
            String(decoding: name, as: UTF8.self) + (readers[name].map { " (\($0))" } ?? "")
        }
        if let reader = wholeEnvironmentReader { parts.append("every variable but the shell's (\(reader))") }
        return parts.isEmpty ? nil : parts.joined(separator: ", ")
    }

    static let volatileNames = Set(volatileVariables.map { Bytes($0.utf8) })

    static func byteOrder(_ a: Bytes, _ b: Bytes) -> Bool { a.lexicographicallyPrecedes(b) }

    static func split(_ entry: Bytes) -> (Bytes, Bytes?) {
        guard let eq = entry.firstIndex(of: UInt8(ascii: "=")) else { return (entry, nil) }
        return (Bytes(entry[..<eq]), Bytes(entry[(eq + 1)...]))
    }

    /// First occurrence wins, as in getenv.
    static func dictionary(_ entries: [Bytes]) -> [Bytes: Bytes] {
        var result: [Bytes: Bytes] = [:]
        for entry in entries {
            let (name, value) = split(entry)
            if let value, result[name] == nil { result[name] = value }
        }
        return result
    }
}
