import Glibc
import PytestdCore
import PytestdPosix

/// What a fall-back to something slower than a warm run was, counted by kind for `pytestd status`.
enum FallbackKind: String, CaseIterable {
    /// A change no reload can apply (configuration, site-packages, ...): runs wait for a clean host.
    case notReloadable = "not_reloadable"
    /// A reload raised or timed out: its change set goes to the clean host.
    case reloadFailed = "reload_failed"
    /// The pristine host could not fork a reload (or could not be reached).
    case reloadNotStarted = "reload_not_started"
    /// A run child handed its run back (a guard found the template unfit for it).
    case declinedRun = "declined_run"
    /// A run went to plain pytest because no template could serve it sooner.
    case plainWhileWarming = "plain_while_warming"
    /// A run was sent to plain pytest at once: no host can start, served cold, stopping, no descriptors.
    case refusedRun = "refused_run"

    var words: String { rawValue.split(separator: "_").joined(separator: " ") }
}

/// Memory and descriptors of a project's processes, read from /proc.
enum ProcessHealth {
    /// Resident memory (VmRSS) of a process; nil once it is gone.
    static func residentKiB(_ pid: pid_t) -> Int? {
        field("VmRSS:", in: "/proc/\(pid)/status")
    }

    /// Proportional memory (Pss): pages shared by forks are split among them, so sums are honest.
    static func proportionalKiB(_ pid: pid_t) -> Int? {
        field("Pss:", in: "/proc/\(pid)/smaps_rollup")
    }

    /// `PYTESTD_MEMINFO=FILE` reads the machine's memory from FILE instead of /proc/meminfo: a test
    /// (or an operator) makes the machine look short of memory, or not, at will.
    static let meminfoPath = getenv("PYTESTD_MEMINFO").map { String(cString: $0) } ?? "/proc/meminfo"

    static func machineMemory() -> MemoryBudget.Machine? {
        FileSystem.readText(meminfoPath).flatMap(MemoryBudget.Machine.parse(meminfo:))
    }

    /// Descriptors open in this process (the directory listing's own is not counted).
    static func openDescriptors() -> Int {
        max(0, FileSystem.entries(of: "/proc/self/fd").count - 1)
    }

    private static func field(_ name: String, in path: String) -> Int? {
        guard let text = FileSystem.readText(path) else { return nil }
        for line in text.split(separator: "\n") where line.hasPrefix(name) {
            return line.split(separator: " ").compactMap { Int($0) }.first
        }
        return nil
    }
}

extension ManagerServer {
    func countFallback(_ kind: FallbackKind) {
        fallbackCounts[kind, default: 0] += 1
    }

    /// Resident memory by role: the serving template, other clean hosts (pristine, warming, the zygote), reloaded
    /// templates that do not serve, and run children; plus the proportional sum of them all.
    func memory() -> StatusDocument.Memory {
        var memory = StatusDocument.Memory(managerKib: ProcessHealth.residentKiB(getpid()) ?? 0)
        var pids = [getpid()]
        for host in hosts {
            let kib = ProcessHealth.residentKiB(host.pid) ?? 0
            pids.append(host.pid)
            if host === active {
                memory.templateKib += kib
            } else if host.reloadedFrom != nil {
                memory.reloadChildrenKib += kib
            } else {
                memory.cleanHostsKib += kib
            }
        }
        if let zygote {
            memory.cleanHostsKib += ProcessHealth.residentKiB(zygote.pid) ?? 0
            pids.append(zygote.pid)
        }
        for client in clients.values {
            guard case .running(_, _, let pid?) = client.state else { continue }
            memory.runsKib += ProcessHealth.residentKiB(pid) ?? 0
            pids.append(pid)
        }
        memory.totalProportionalKib = pids.reduce(0) { $0 + (ProcessHealth.proportionalKiB($1) ?? 0) }
        return memory
    }

    /// Lets an idle template go when the machine is short of memory or the project is over its budget
    /// (`MemoryBudget`); never while a run is in flight, queued, or plain pytest runs for the project.
    func checkMemoryBudget() {
        let budget = settings.memoryBudget
        let now = monotonicSeconds()
        guard budget.isEnabled, !hosts.isEmpty, now - lastMemoryCheck >= Self.memoryCheckInterval else { return }
        lastMemoryCheck = now
        let busy = hosts.contains { $0.runsInFlight > 0 }
            || clients.values.contains { if case .idle = $0.state { return false } else { return true } }
        let idle = busy ? 0 : now - lastRunActivity
        guard idle >= budget.idleSeconds else { return }
        let used = budget.projectKiB == nil ? nil : memory().totalProportionalKib
        guard case .expire(let reason) = budget.decide(idle: idle, machine: ProcessHealth.machineMemory(), projectKiB: used)
        else { return }
        ManagerLog.write("template expired (\(reason)): stopping hosts \(hosts.map { "\($0.pid)" }.joined(separator: ", "))")
        let why = "template expired (\(reason))"
        retireEveryHost(because: why)
        for host in hosts {
            host.retiredBecause = host.retiredBecause ?? why
            terminate(host)
        }
        warmAt = nil
        templateExpiry = reason
    }

    static let memoryCheckInterval = 2.0

    /// `pytestd status` → `memory budget`: the rule, and the figures it is checked against now.
    func memoryBudgetStatus() -> String {
        let budget = settings.memoryBudget
        guard budget.isEnabled else { return "none (low_memory_percent = 0, memory_budget_mib = 0)" }
        var rules: [String] = []
        if budget.lowMemoryPercent > 0 {
            let now = ProcessHealth.machineMemory().map { " (now \(Int((Double($0.availableKiB) * 100 / Double($0.totalKiB)).rounded()))%)" } ?? ""
            rules.append("MemAvailable is below \(MemoryBudget.number(budget.lowMemoryPercent))% of MemTotal\(now)")
        }
        if let kib = budget.projectKiB { rules.append("the project's processes use over \(MemoryBudget.size(kib))") }
        return "the template expires after \(MemoryBudget.duration(budget.idleSeconds)) without a run when \(rules.joined(separator: " or "))"
    }

    /// The project directory was moved or removed (renamed, a checkout deleted): no run can reach this
    /// manager by its root any more, so it goes once its runs are done instead of at the idle timeout.
    func checkRootDirectory() {
        var st = stat()
        let here = stat(identity.root.path, &st) == 0 ? [UInt64(st.st_dev), UInt64(st.st_ino)] : []
        guard let known = rootDirectoryId else { return rootDirectoryId = here }
        guard here != known, clients.isEmpty, hosts.allSatisfy({ $0.runsInFlight == 0 }) else { return }
        shutDown(because: "the project directory \(identity.root.path) was moved or removed")
    }

    func fallbackSummary() -> String {
        let counted = FallbackKind.allCases.compactMap { kind in fallbackCounts[kind].map { "\(kind.words) \($0)" } }
        return counted.isEmpty ? "none" : counted.joined(separator: ", ")
    }
}
