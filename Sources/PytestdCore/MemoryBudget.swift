/// When an idle warm template gives its memory back, as Gradle's daemon expires when the machine runs
/// short of memory: the manager stops the template, clean hosts and reload children (never a run), and
/// the next run is served as any run that finds no template (plain pytest at once, or a new warm-up:
/// see `ServingChoice`).
///
///     expire  ⇔  idle ≥ idleSeconds  ∧  (MemAvailable < lowMemoryPercent % of MemTotal
///                                         ∨  the project's proportional memory > projectKiB)
///
/// `idle` is the time since the last run ended (0 while one is in flight); a figure that could not be
/// read never expires anything.
public struct MemoryBudget: Equatable, Sendable {
    /// The machine is short of memory below this share of MemTotal (percent); 0: never.
    public var lowMemoryPercent: Double
    /// The most the project's processes may use together (Pss, KiB); nil: no budget.
    public var projectKiB: Int?
    /// How long without a run before a template may expire.
    public var idleSeconds: Double

    public init(lowMemoryPercent: Double, projectKiB: Int?, idleSeconds: Double) {
        self.lowMemoryPercent = lowMemoryPercent
        self.projectKiB = projectKiB
        self.idleSeconds = idleSeconds
    }

    /// The machine's memory, as /proc/meminfo says.
    public struct Machine: Equatable, Sendable {
        public var totalKiB: Int
        public var availableKiB: Int

        public init(totalKiB: Int, availableKiB: Int) {
            self.totalKiB = totalKiB
            self.availableKiB = availableKiB
        }

        /// From /proc/meminfo's text; nil without MemTotal and MemAvailable (a kernel before 3.14).
        public static func parse(meminfo text: String) -> Machine? {
            var total: Int?
            var available: Int?
            for line in text.split(separator: "\n") {
                let words = line.split(separator: " ")
                guard words.count >= 2, let kib = Int(words[1]) else { continue }
                if words[0] == "MemTotal:" { total = kib }
                if words[0] == "MemAvailable:" { available = kib }
            }
            guard let total, let available, total > 0 else { return nil }
            return Machine(totalKiB: total, availableKiB: available)
        }
    }

    public enum Decision: Equatable, Sendable {
        case keep
        /// The reason starts with `memory:` and names the figures and the idle time.
        case expire(reason: String)
    }

    /// Whether checking is worth it: something can expire a template.
    public var isEnabled: Bool { lowMemoryPercent > 0 || projectKiB != nil }

    public func decide(idle: Double, machine: Machine?, projectKiB used: Int?) -> Decision {
        guard idle >= idleSeconds else { return .keep }
        let idleWords = "no run for \(Self.duration(idle))"
        if let machine, lowMemoryPercent > 0,
           Double(machine.availableKiB) < Double(machine.totalKiB) * lowMemoryPercent / 100 {
            return .expire(reason: "memory: \(Self.size(machine.availableKiB)) of \(Self.size(machine.totalKiB)) available, "
                           + "below \(Self.number(lowMemoryPercent))%; \(idleWords)")
        }
        if let budget = projectKiB, let used, used > budget {
            return .expire(reason: "memory: the project's processes use \(Self.size(used)), "
                           + "over its budget of \(Self.size(budget)); \(idleWords)")
        }
        return .keep
    }

    public static func size(_ kib: Int) -> String {
        if kib >= 10 << 20 { return "\(kib >> 20) GiB" }
        if kib >= 1 << 20 { return "\(Double((kib * 10) >> 20) / 10) GiB" }
        return "\(kib >> 10) MiB"
    }

    public static func number(_ value: Double) -> String {
        value == value.rounded() ? "\(Int(value))" : "\(value)"
    }

    public static func duration(_ seconds: Double) -> String {
        seconds < 60 ? "\(Int(seconds)) s" : "\(Int(seconds / 60)) min"
    }
}
