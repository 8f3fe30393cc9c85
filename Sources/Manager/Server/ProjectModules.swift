import PytestdCore
import PytestdPosix

/// The project's modules (its own, and those of editable installs and `pythonpath` entries outside
/// the root) as the pristine template loaded them, and the import graph between
/// them: what a change set must reload, and in which order.
struct ProjectModules {
    private(set) var graph = ImportGraph()
    /// Keyed by normalised path: one directory can be watched under two names (`app/../lib`, `lib`).
    private var moduleByFile: [String: String] = [:]
    private var fileByModule: [String: String] = [:]
    /// Imports the template saw run, per importer: dynamic ones included, which the scanner cannot see.
    private var observedEdges: [String: [ImportEdge]] = [:]

    /// Scans every project module of the template's report: under the root, and outside it on
    /// editable installs and `pythonpath` entries (anything but installed code).
    init(report: HostReport, locations: SourceLocations) {
        for entry in report.modules {
            guard let eq = entry.firstIndex(of: UInt8(ascii: "=")) else { continue }
            let name = String(decoding: entry[..<eq], as: UTF8.self)
            let path = String(decoding: entry[(eq + 1)...], as: UTF8.self)
            guard locations.isProjectSource(path) else { continue }
            moduleByFile[SourceLocations.normalized(path)] = name
            fileByModule[name] = path
        }
        for entry in report.importEdges {
            let text = String(decoding: entry, as: UTF8.self)
            guard let arrow = text.firstIndex(of: ">") else { continue }
            let importer = String(text[..<arrow])
            guard fileByModule[importer] != nil else { continue }
            observedEdges[importer, default: []].append(ImportEdge(target: String(text[text.index(after: arrow)...]), line: 0))
        }
        for (name, path) in fileByModule { graph.add(module: name, edges: edges(of: name, at: path)) }
    }

    var count: Int { moduleByFile.count }

    func module(at path: String) -> String? { moduleByFile[SourceLocations.normalized(path)] }

    /// Re-reads a changed module's imports into the graph.
    mutating func rescan(_ path: String) {
        guard let name = moduleByFile[SourceLocations.normalized(path)] else { return }
        graph.update(module: name, edges: edges(of: name, at: path))
    }

    /// What the source says, plus what the template saw happen (a dynamic import keeps counting after
    /// an edit: the edit may move it, not remove it, and an extra reload is only slower, never wrong).
    private func edges(of name: String, at path: String) -> [ImportEdge] {
        Self.scan(path, as: name) + (observedEdges[name] ?? [])
    }

    /// The changed modules and all their importers, dependencies first. Test modules and conftests
    /// are evicted instead of executed again: pytest imports them itself, through its assertion
    /// rewriting, which a plain re-execution would bypass.
    func order(for changed: Set<String>) -> ReloadOrder {
        var steps: [[String]] = []
        var stepCauses: [[String]] = []
        var evict: [String] = []
        var evictCauses: [[String]] = []
        let plan = ReloadPlan(changed: changed, in: graph)
        for (step, causes) in zip(plan.steps, plan.causes) {
            let members = step.modules
            if members.allSatisfy({ fileByModule[$0].map(Self.isTestCode) ?? false }) {
                evict += members
                evictCauses += Array(repeating: causes, count: members.count)
            } else {
                steps.append(members)
                stepCauses.append(causes)
            }
        }
        return ReloadOrder(steps: steps, evict: evict, changed: changed.sorted(), causes: stepCauses + evictCauses)
    }

    /// Files pytest imports itself: its default `python_files` patterns and conftests.
    static func isTestCode(_ path: String) -> Bool {
        let name = FileSystem.fileName(of: path)
        return name == "conftest.py" || (name.hasPrefix("test_") && name.hasSuffix(".py")) || name.hasSuffix("_test.py")
    }

    private static func scan(_ path: String, as name: String) -> [ImportEdge] {
        guard let source = FileSystem.read(path, limit: 16 << 20) else { return [] }
        return ImportScanner(moduleName: name, isPackage: path.hasSuffix("/__init__.py")).scan(source).edges
    }
}
