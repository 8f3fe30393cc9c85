/// The project's warm set, learned from its runs: the modules recent runs used, in the order they were
/// first imported (replayed in that order, since imports can have order effects). A clean template built
/// from it imports pytest, the plugins and the conftests, then these modules, instead of collecting every
/// test file.
///
/// The rule that keeps it bounded and recent: a module stays while a run used it within the last
/// `retention` (30 days), and at most `capacity` modules are kept (the least recently used go first). A
/// run uses a module when it imports it, when one of its test modules refers to it (`import x`,
/// `from x import f`), or when either of those imported it while the template was built (see
/// `TemplateImports.used`). A module the warm-up could not import is forgotten (`forget`).
public struct LearnedImports: Equatable, Sendable {
    public struct Module: Equatable, Sendable {
        public var name: String
        /// Seconds since the epoch when a run last used it.
        public var lastUsed: Int64
    }

    public private(set) var modules: [Module] = []
    /// Runs that reported using anything.
    public private(set) var runs = 0
    /// Seconds since the epoch of the last change.
    public private(set) var updated: Int64 = 0

    public static let retention: Int64 = 30 * 24 * 3600
    public static let capacity = 20_000
    static let header = "pytestd learned imports 1"

    public init() {}

    public var isEmpty: Bool { modules.isEmpty }
    public var names: [String] { modules.map(\.name) }

    public enum Change: Equatable, Sendable {
        case none
        /// Only when modules were last used changed.
        case refreshed
        /// Modules came or went.
        case changed
    }

    /// Records the modules one run used, in the order to import them.
    public mutating func record(used: [String], at now: Int64) -> Change {
        let valid = used.filter(Self.isModuleName)
        guard !valid.isEmpty else { return prune(at: now) ? .changed : .none }
        var index = Dictionary(uniqueKeysWithValues: modules.enumerated().map { ($1.name, $0) })
        var added = false
        for name in valid {
            if let position = index[name] {
                modules[position].lastUsed = now
            } else {
                index[name] = modules.count
                modules.append(Module(name: name, lastUsed: now))
                added = true
            }
        }
        runs += 1
        updated = now
        return prune(at: now) || added ? .changed : .refreshed
    }

    /// Drops modules (the warm-up could not import them).
    public mutating func forget(_ names: Set<String>, at now: Int64) -> Change {
        let before = modules.count
        modules.removeAll { names.contains($0.name) }
        guard modules.count != before else { return .none }
        updated = now
        return .changed
    }

    /// Applies the retention and capacity rules; whether anything went.
    mutating func prune(at now: Int64) -> Bool {
        let before = modules.count
        modules.removeAll { now - $0.lastUsed > Self.retention }
        if modules.count > Self.capacity {
            // The capacity-th most recent use is the oldest kept; ties go by order (earlier kept).
            let cutoff = modules.map(\.lastUsed).sorted(by: >)[Self.capacity - 1]
            var keptAtCutoff = Self.capacity - modules.filter { $0.lastUsed > cutoff }.count
            modules.removeAll { module in
                guard module.lastUsed == cutoff else { return module.lastUsed < cutoff }
                keptAtCutoff -= 1
                return keptAtCutoff < 0
            }
        }
        return modules.count != before
    }

    /// A dotted Python name, nothing a line-based file could misread.
    static func isModuleName(_ name: String) -> Bool {
        !name.isEmpty && !name.hasPrefix(".") && !name.hasSuffix(".") && !name.contains("..")
            && name.unicodeScalars.allSatisfy { $0 == "." || $0 == "_" || $0.properties.isXIDContinue }
    }

    // MARK: The cache file

    /// The file's text. `project` names whose set it is (the manager key and root): a file of
    /// another project (a copied cache, a hash collision) is refused when read.
    public func encoded(project: String) -> String {
        var text = "\(Self.header)\nproject \(project)\nruns \(runs) updated \(updated) modules \(modules.count)\n"
        for module in modules { text += "\(module.lastUsed) \(module.name)\n" }
        return text
    }

    public struct Unreadable: Error, Equatable, CustomStringConvertible {
        public var description: String
    }

    /// Reads a file written by `encoded(project:)`; throws, saying why, for anything else.
    public init(decoding text: String, project: String) throws {
        var lines = text.split(separator: "\n", omittingEmptySubsequences: false)[...]
        guard lines.popFirst() == Substring(Self.header) else { throw Unreadable(description: "not a pytestd learned-imports file (version 1)") }
        guard let owner = lines.popFirst(), owner.hasPrefix("project ") else { throw Unreadable(description: "no project line") }
        guard owner.dropFirst("project ".count) == Substring(project) else {
            throw Unreadable(description: "it belongs to another project (\(owner.dropFirst("project ".count)))")
        }
        let counts = lines.popFirst()?.split(separator: " ") ?? []
        guard counts.count == 6, counts[0] == "runs", counts[2] == "updated", counts[4] == "modules",
              let runs = Int(counts[1]), runs >= 0, let updated = Int64(counts[3]), let count = Int(counts[5])
        else { throw Unreadable(description: "malformed runs line") }
        guard lines.last == "", lines.count == count + 1 else { throw Unreadable(description: "truncated") }
        lines = lines.dropLast()
        var seen = Set<String>()
        for (number, line) in zip(4..., lines) {
            let fields = line.split(separator: " ")
            guard fields.count == 2, let lastUsed = Int64(fields[0]), Self.isModuleName(String(fields[1])),
                  seen.insert(String(fields[1])).inserted
            else { throw Unreadable(description: "malformed line \(number)") }
            modules.append(Module(name: String(fields[1]), lastUsed: lastUsed))
        }
        self.runs = runs
        self.updated = updated
    }
}

/// What one run reported when it ended (see `python/pytestd/_run_imports.py`).
public struct RunImports: Equatable, Sendable {
    /// Modules with a file that the run imported and its template lacked, in import order.
    public var imported: [String]
    /// Test modules and conftests the run imported (never learned: each run imports its own).
    public var testModules: [String]
    /// Modules its test modules refer to.
    public var referenced: [String]

    public init(imported: [String] = [], testModules: [String] = [], referenced: [String] = []) {
        self.imported = imported
        self.testModules = testModules
        self.referenced = referenced
    }

    /// Parses the pipe's NUL-terminated `m`/`t`/`r` items; an incomplete last item (the pipe was full)
    /// and unknown kinds are dropped.
    public init(reported bytes: Bytes) {
        self.init()
        var items = bytes.split(separator: 0, omittingEmptySubsequences: true)
        if bytes.last != 0, !items.isEmpty { items.removeLast() }
        for item in items {
            let name = String(decoding: item.dropFirst(), as: UTF8.self)
            switch item.first {
            case UInt8(ascii: "m"): imported.append(name)
            case UInt8(ascii: "t"): testModules.append(name)
            case UInt8(ascii: "r"): referenced.append(name)
            default: break
            }
        }
    }

    public var isEmpty: Bool { imported.isEmpty && testModules.isEmpty && referenced.isEmpty }
}

/// A clean template's modules in import order and the imports that ran while it was built: what a
/// run's test modules used of it.
public struct TemplateImports: Sendable {
    /// Module → its position in the template's import order.
    let order: [String: Int]
    let importsOf: [String: [String]]

    /// From a host report: `modules` (`name=path`, in import order) and `importEdges` (`a>b`).
    public init(report: HostReport) {
        var order: [String: Int] = [:]
        for entry in report.modules {
            let name = String(decoding: entry.prefix { $0 != UInt8(ascii: "=") }, as: UTF8.self)
            if order[name] == nil { order[name] = order.count }
        }
        var importsOf: [String: [String]] = [:]
        for edge in report.importEdges {
            guard let split = edge.firstIndex(of: UInt8(ascii: ">")) else { continue }
            importsOf[String(decoding: edge[..<split], as: UTF8.self), default: []]
                .append(String(decoding: edge[(split + 1)...], as: UTF8.self))
        }
        self.order = order
        self.importsOf = importsOf
    }

    public func contains(_ name: String) -> Bool { order[name] != nil }

    /// The modules a run used, in the order to import them: the template's modules it reached (from
    /// everything it reported, through the imports recorded while the template was built) in the
    /// template's order, then the modules it imported itself, in its order.
    public func used(by run: RunImports) -> [String] {
        var reached = Set<String>()
        var stack = run.testModules + run.imported + run.referenced
        while let name = stack.popLast() {
            guard reached.insert(name).inserted else { continue }
            stack += importsOf[name] ?? []
        }
        let fromTemplate = reached.compactMap { name in order[name].map { ($0, name) } }.sorted { $0.0 < $1.0 }.map(\.1)
        var listed = Set(fromTemplate)
        return fromTemplate + run.imported.filter { listed.insert($0).inserted }
    }
}
