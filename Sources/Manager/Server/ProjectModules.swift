import PytestdCore
import PytestdPosix

/// The project's own modules as the pristine template loaded them, and the import graph between
/// them: what a change set must reload, and in which order.
struct ProjectModules {
    private(set) var graph = ImportGraph()
    private var moduleByFile: [String: String] = [:]
    private var fileByModule: [String: String] = [:]

    /// Scans every project module (under `root`, outside site-packages) of the template's report.
    init(report: HostReport, root: String, sitePackages: String) {
        let prefix = root.hasSuffix("/") ? root : root + "/"
        for entry in report.modules {
            guard let eq = entry.firstIndex(of: UInt8(ascii: "=")) else { continue }
            let name = String(decoding: entry[..<eq], as: UTF8.self)
            let path = String(decoding: entry[(eq + 1)...], as: UTF8.self)
            guard path.hasPrefix(prefix), !path.hasPrefix(sitePackages), path.hasSuffix(".py") else { continue }
            moduleByFile[path] = name
            fileByModule[name] = path
        }
        for (path, name) in moduleByFile { graph.add(module: name, edges: Self.scan(path, as: name)) }
    }

    var count: Int { moduleByFile.count }

    func module(at path: String) -> String? { moduleByFile[path] }

    /// Re-reads a changed module's imports into the graph.
    mutating func rescan(_ path: String) {
        guard let name = moduleByFile[path] else { return }
        graph.update(module: name, edges: Self.scan(path, as: name))
    }

    /// The changed modules and all their importers, dependencies first. Test modules and conftests
    /// are evicted instead of executed again: pytest imports them itself, through its assertion
    /// rewriting, which a plain re-execution would bypass.
    func order(for changed: Set<String>) -> ReloadOrder {
        var steps: [[String]] = []
        var evict: [String] = []
        for step in ReloadPlan(changed: changed, in: graph).steps {
            let members = step.modules
            if members.allSatisfy({ fileByModule[$0].map(Self.isTestCode) ?? false }) {
                evict += members
            } else {
                steps.append(members)
            }
        }
        return ReloadOrder(steps: steps, evict: evict)
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
