import Glibc
import PytestdCore
import PytestdPosix

/// The manager's side of the learned warm set (`LearnedImports`): kept per project in
/// `$XDG_CACHE_HOME/pytestd/<key>.learned` (default `~/.cache/pytestd`), fed by what each run reports,
/// and handed to every clean host unless `preload` is configured.
final class LearnedWarmSet {
    /// What a clean host was told to import.
    enum Source: Equatable {
        case configuredPreload
        case allTestPaths
        case learned
    }

    /// A run that imported at least this many modules its template lacked starts a clean host that
    /// includes them, if nothing else is warming and no run is in flight.
    static let growthThreshold = 20
    /// Refreshed use times alone are written at most this often (they matter at the scale of days).
    static let refreshInterval = 60.0

    let cacheFile: String?
    let warmSetFile: String
    /// Names the project in the file: its key (root, configuration, confcutdir, interpreter) and root.
    let project: String
    private(set) var imports = LearnedImports()
    private var template: (generation: Int, imports: TemplateImports)?
    private var savedAt = -Double.infinity
    private var unsaved = false
    /// The clean generation a growth rebuild was started for: at most one each.
    private var grownFrom: Int?

    init(identity: ProjectIdentity, warmSetFile: String) {
        self.warmSetFile = warmSetFile
        project = "\(identity.key) \(identity.root.path)"
        let cache = Self.cacheDirectory()
        cacheFile = cache.map { ProjectRoot.join($0, "\(identity.key).learned") }
        load()
    }

    /// `$XDG_CACHE_HOME/pytestd` (an absolute XDG_CACHE_HOME only, as the spec says), else
    /// `$HOME/.cache/pytestd`.
    static func cacheDirectory() -> String? {
        if let xdg = getenv("XDG_CACHE_HOME").map({ String(cString: $0) }), xdg.hasPrefix("/") {
            return ProjectRoot.join(xdg, "pytestd")
        }
        if let home = getenv("HOME").map({ String(cString: $0) }), home.hasPrefix("/") {
            return ProjectRoot.join(home, ".cache/pytestd")
        }
        return nil
    }

    private func load() {
        guard let cacheFile, let text = FileSystem.readText(cacheFile, limit: 16 << 20) else { return }
        do {
            imports = try LearnedImports(decoding: text, project: project)
            ManagerLog.write("learned warm set: \(imports.modules.count) modules from \(imports.runs) runs (\(cacheFile))")
        } catch {
            ManagerLog.write("ignoring the learned warm set \(cacheFile): \(error)")
        }
    }

    private func save(force: Bool) {
        guard let cacheFile, force || unsaved && monotonicSeconds() - savedAt >= Self.refreshInterval else { return }
        do {
            try FileSystem.makeDirectories(ProjectRoot.parent(of: cacheFile))
            try FileSystem.writeAtomically(imports.encoded(project: project), to: cacheFile)
            savedAt = monotonicSeconds()
            unsaved = false
        } catch {
            ManagerLog.write("cannot save the learned warm set: \(error)")
        }
    }

    /// Writes what is not saved yet (the manager is stopping).
    func flush() {
        if unsaved { save(force: true) }
    }

    private func apply(_ change: LearnedImports.Change) {
        guard change != .none else { return }
        unsaved = true
        save(force: change == .changed)
    }

    /// What the next clean host imports: `--warm-set FILE` unless `preload` is configured; the file
    /// names the learned set, or nothing (then the host collects every test path). Either way the
    /// same file, so a host forked from the zygote reads what is wanted then.
    func nextHostSource(preload: [String]) -> (source: Source, file: String?) {
        if !preload.isEmpty { return (.configuredPreload, nil) }
        do {
            try FileSystem.writeAtomically(imports.names.map { $0 + "\n" }.joined(), to: warmSetFile)
            return (imports.isEmpty ? .allTestPaths : .learned, warmSetFile)
        } catch {
            ManagerLog.write("cannot hand the learned warm set to the host: \(error)")
            return (.allTestPaths, nil)
        }
    }

    /// A clean template is ready: forget the learned modules its warm-up could not import.
    func cleanHostReady(_ report: HostReport) {
        unlink(warmSetFile)
        guard !report.skippedWarmModules.isEmpty else { return }
        ManagerLog.write("forgetting \(report.skippedWarmModules.count) learned modules the warm-up could not import: \(report.skippedWarmModules.prefix(5).joined(separator: ", "))")
        apply(imports.forget(Set(report.skippedWarmModules), at: Int64(time(nil))))
    }

    /// Learns from one run served by a template built from `base` (a clean host's report). Returns
    /// whether the run imported enough that the template lacked to warm a clean host including it.
    func record(_ run: RunImports, base: (generation: Int, report: HostReport)?) -> Bool {
        var used = run.imported
        if let base {
            if template?.generation != base.generation { template = (base.generation, TemplateImports(report: base.report)) }
            used = template!.imports.used(by: run)
        }
        apply(imports.record(used: used, at: Int64(time(nil))))
        guard let base, grownFrom != base.generation else { return false }
        let skipped = Set(base.report.skippedWarmModules)
        let lacking = run.imported.filter { !skipped.contains($0) }.count
        guard lacking >= Self.growthThreshold else { return false }
        grownFrom = base.generation
        return true
    }

    /// For `pytestd status`: what the serving template was built from, and the learned set.
    func summary(of source: Source?) -> String {
        let set = imports.isEmpty ? "no learned set yet"
            : "\(imports.modules.count) modules from \(imports.runs) runs, updated \(Self.age(of: imports.updated)) ago"
        switch source {
        case .configuredPreload?: return "preload (configured)"
        case .learned?: return "learned (\(set))"
        case .allTestPaths?, nil:
            return imports.isEmpty ? "all test paths (no learned set yet)" : "all test paths (learned set: \(set); used by the next clean host)"
        }
    }

    private static func age(of time: Int64) -> String {
        let seconds = max(0, Int64(Glibc.time(nil)) - time)
        return seconds < 60 ? "\(seconds) s" : seconds < 3600 ? "\(seconds / 60) min" : seconds < 86400 ? "\(seconds / 3600) h" : "\(seconds / 86400) days"
    }
}
