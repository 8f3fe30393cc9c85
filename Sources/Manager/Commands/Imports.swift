import ArgumentParser
import PytestdCore
import PytestdPosix

/// What the import scanner finds in files, one fact per line: how the manager sees a module's
/// imports when it plans a reload. The integration suite compares it with Python's own `ast`.
struct Imports: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Print the imports pytestd's scanner finds in Python files (for debugging).",
        discussion: """
            Reads `MODULE<TAB>FILE` lines from stdin, or takes one FILE with --module-name. Prints
            `file FILE`, then `edge LINE runtime|type-checking TARGET [star] [candidate] [from=a,b]` and
            `unresolved LINE LEVEL NAME` lines (relative imports above the top-level package).
            """,
        shouldDisplay: false)

    @Option(help: "The dotted module name of FILE (`a.b` for a/b.py and a/b/__init__.py).")
    var moduleName: String?

    @Argument(help: "A Python file; without it, `MODULE<TAB>FILE` lines are read from stdin.")
    var file: String?

    func run() throws {
        if let file {
            guard let moduleName else { throw ValidationError("FILE needs --module-name") }
            try report(file, as: moduleName)
            return
        }
        while let line = readLine() {
            guard let tab = line.firstIndex(of: "\t") else { throw ValidationError("expected MODULE<TAB>FILE: \(line)") }
            try report(String(line[line.index(after: tab)...]), as: String(line[..<tab]))
        }
    }

    private func report(_ path: String, as module: String) throws {
        guard let source = FileSystem.read(path, limit: 64 << 20) else { throw UserFacingError("cannot read \(path)") }
        let scan = ImportScanner(moduleName: module, isPackage: path.hasSuffix("/__init__.py")).scan(source)
        var out = "file \(path)\n"
        for edge in scan.edges {
            out += "edge \(edge.line) \(edge.kind == .runtime ? "runtime" : "type-checking") \(edge.target)"
            if edge.isStar { out += " star" }
            if edge.isSubmoduleCandidate { out += " candidate" }
            if let names = edge.fromNames { out += " from=\(names.joined(separator: ","))" }
            out += "\n"
        }
        for unresolved in scan.unresolved {
            out += "unresolved \(unresolved.line) \(unresolved.level) \(unresolved.name)\n"
        }
        print(out, terminator: "")
    }
}
