import PytestdCore
import PytestdPosix
import TOMLKit

/// `[tool.pytestd]` in the project's pyproject.toml.
///
/// ```toml
/// [tool.pytestd]
/// python = ".venv/bin/python"       # interpreter when no venv is active
/// preload = ["tests/unit"]          # collected to warm the host instead of the learned warm set
/// idle_minutes = 60                 # stop the manager after this long without a run (0: never)
/// bypass_options = ["--my-plugin"]  # options that always run under the real pytest
/// patches = ["pytestd_patches"]     # directories of reload patches (default: pytestd_patches)
/// restart_on = ["config/*.yaml"]    # files whose change always needs a clean host (globs, from the root)
/// patch_in_place = true             # body-only edits go into the live functions (default: true)
/// log_max_mib = 10                  # rotate the log to `<log>.1` beyond this size
/// warmup_timeout = 300              # seconds a warm-up may take before runs go plain (0: no limit)
/// low_memory_percent = 5            # an idle template expires when MemAvailable < this % of MemTotal (0: never)
/// memory_budget_mib = 0             # ... or when the project's processes use more (Pss; 0: no budget)
/// expire_idle_minutes = 10          # "idle": no run for this long
/// ```
public struct ProjectSettings: Equatable {
    public var python: String?
    public var preload: [String] = []
    public var idleMinutes: Double = 60
    public var bypassOptions: [String] = []
    /// Directories of the project's reload patches, relative to the root.
    public var patches: [String] = ["pytestd_patches"]
    /// Globs (relative to the root) of files whose change always waits for a clean host: data read
    /// lazily, which the warm-up's own tracking of files read at import cannot see.
    public var restartOn: [String] = []
    /// Whether a body-only edit may be patched into the live functions; off, every edit re-executes
    /// its module and importers, and the warm-up does not record which code ran (on Python < 3.12 that
    /// recording makes it about a third slower).
    public var patchInPlace = true
    /// The log is rotated (to `<log>.1`) once it is larger than this.
    public var logMaxBytes = 10 << 20
    /// A warm-up (or reload) taking longer than this is killed, and its waiting runs go to plain
    /// pytest: a conftest blocked on an unreachable service must not leave them waiting forever.
    /// 0: no limit.
    public var warmupTimeout: Double = 300
    /// When an idle template expires to give memory back (see `MemoryBudget`).
    public var lowMemoryPercent: Double = 5
    /// 0: no budget.
    public var memoryBudgetMiB: Double = 0
    public var expireIdleMinutes: Double = 10

    public init() {}

    public var memoryBudget: MemoryBudget {
        MemoryBudget(lowMemoryPercent: lowMemoryPercent, projectKiB: memoryBudgetMiB > 0 ? Int(memoryBudgetMiB * 1024) : nil,
                     idleSeconds: expireIdleMinutes * 60)
    }

    /// Reads `<root>/pyproject.toml`; a project without one gets the defaults.
    public static func load(root: String) throws -> ProjectSettings {
        let file = ProjectRoot.join(root, "pyproject.toml")
        guard let text = FileSystem.readText(file) else { return ProjectSettings() }
        do {
            return try parse(text, root: root)
        } catch let error as TOMLParseError {
            throw UserFacingError("\(file): line \(error.source.begin.line): \(error.description)")
        }
    }

    static func parse(_ text: String, root: String) throws -> ProjectSettings {
        var settings = ProjectSettings()
        guard text.contains("pytestd"),
              let table = try TOMLTable(string: text)["tool"]?.table?["pytestd"]?.table
        else { return settings }
        let file = ProjectRoot.join(root, "pyproject.toml")
        func invalid(_ key: String, _ expected: String) -> UserFacingError {
            UserFacingError("\(file): [tool.pytestd] \(key) must be \(expected)")
        }
        for key in table.keys {
            let value = table[key]!
            /// A TOML array of strings, or a precise complaint naming what the list should hold.
            func strings(_ what: String) throws -> [String] {
                guard let list = value.array?.compactMap(\.string), list.count == value.array?.count else {
                    throw invalid(key, "a list of \(what)")
                }
                return list
            }
            switch key {
            case "python":
                guard let path = value.string else { throw invalid(key, "a string") }
                settings.python = path.hasPrefix("/") ? path : ProjectRoot.join(root, path)
            case "preload": settings.preload = try strings("paths")
            case "idle_minutes":
                guard let minutes = value.double ?? value.int.map(Double.init), minutes >= 0 else {
                    throw invalid(key, "a number of minutes ≥ 0")
                }
                settings.idleMinutes = minutes
            case "patches": settings.patches = try strings("directories")
            case "restart_on": settings.restartOn = try strings("glob patterns")
            case "bypass_options": settings.bypassOptions = try strings("option names")
            case "patch_in_place":
                guard let flag = value.bool else { throw invalid(key, "true or false") }
                settings.patchInPlace = flag
            case "log_max_mib":
                guard let mib = value.double ?? value.int.map(Double.init), mib > 0 else {
                    throw invalid(key, "a number of MiB > 0")
                }
                settings.logMaxBytes = Int(mib * Double(1 << 20))
            case "warmup_timeout":
                guard let seconds = value.double ?? value.int.map(Double.init), seconds >= 0 else {
                    throw invalid(key, "a number of seconds ≥ 0")
                }
                settings.warmupTimeout = seconds
            case "low_memory_percent":
                guard let percent = value.double ?? value.int.map(Double.init), (0...100).contains(percent) else {
                    throw invalid(key, "a percentage from 0 to 100")
                }
                settings.lowMemoryPercent = percent
            case "memory_budget_mib":
                guard let mib = value.double ?? value.int.map(Double.init), mib >= 0 else {
                    throw invalid(key, "a number of MiB ≥ 0")
                }
                settings.memoryBudgetMiB = mib
            case "expire_idle_minutes":
                guard let minutes = value.double ?? value.int.map(Double.init), minutes >= 0 else {
                    throw invalid(key, "a number of minutes ≥ 0")
                }
                settings.expireIdleMinutes = minutes
            default:
                throw UserFacingError("\(file): unknown key [tool.pytestd] \(key) (known: python, preload, idle_minutes, bypass_options, patches, restart_on, patch_in_place, log_max_mib, warmup_timeout, low_memory_percent, memory_budget_mib, expire_idle_minutes)")
            }
        }
        return settings
    }
}
