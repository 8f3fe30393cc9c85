import XCTest

@testable import PytestdCore

final class MemoryBudgetTests: XCTestCase {
    let gib = 1 << 20

    func testShortMachineExpiresAnIdleTemplate() {
        let budget = MemoryBudget(lowMemoryPercent: 5, projectKiB: nil, idleSeconds: 600)
        let short = MemoryBudget.Machine(totalKiB: 16 * gib, availableKiB: 400 << 10)
        XCTAssertEqual(budget.decide(idle: 720, machine: short, projectKiB: 300 << 10),
                       .expire(reason: "memory: 400 MiB of 16 GiB available, below 5%; no run for 12 min"))
        XCTAssertEqual(budget.decide(idle: 599, machine: short, projectKiB: 300 << 10), .keep)
        let plenty = MemoryBudget.Machine(totalKiB: 16 * gib, availableKiB: 4 * gib)
        XCTAssertEqual(budget.decide(idle: 3600, machine: plenty, projectKiB: 300 << 10), .keep)
    }

    func testProjectOverItsBudgetExpires() {
        let budget = MemoryBudget(lowMemoryPercent: 0, projectKiB: 512 << 10, idleSeconds: 30)
        let plenty = MemoryBudget.Machine(totalKiB: 2 * gib, availableKiB: 10 << 10)
        XCTAssertEqual(budget.decide(idle: 45, machine: plenty, projectKiB: 800 << 10),
                       .expire(reason: "memory: the project's processes use 800 MiB, over its budget of 512 MiB; no run for 45 s"))
        XCTAssertEqual(budget.decide(idle: 45, machine: plenty, projectKiB: 512 << 10), .keep)
        XCTAssertEqual(budget.decide(idle: 45, machine: plenty, projectKiB: nil), .keep)
    }

    func testMeminfoIsParsed() {
        let text = """
            MemTotal:       16303128 kB
            MemFree:          512000 kB
            MemAvailable:    1203128 kB
            Buffers:          102400 kB
            """
        XCTAssertEqual(MemoryBudget.Machine.parse(meminfo: text), .init(totalKiB: 16303128, availableKiB: 1203128))
        XCTAssertNil(MemoryBudget.Machine.parse(meminfo: "MemTotal: 100 kB\nMemFree: 50 kB\n"))
        XCTAssertNil(MemoryBudget.Machine.parse(meminfo: "MemTotal: 0 kB\nMemAvailable: 0 kB\n"))
        XCTAssertNil(MemoryBudget.Machine.parse(meminfo: "garbage\n\n:::"))
    }

    func testSizesAreReadable() {
        XCTAssertEqual(MemoryBudget.size(300 << 10), "300 MiB")
        XCTAssertEqual(MemoryBudget.size(3 * gib / 2), "1.5 GiB")
        XCTAssertEqual(MemoryBudget.size(64 * gib), "64 GiB")
    }

    /// Properties over random figures: nothing expires before the idle time, with nothing enabled, or
    /// without the figures; less memory available, more used or a longer idle never turns an expiry
    /// back into keep; an expiry always gives its reason.
    func testExpiryIsMonotonicAndNeedsIdleness() {
        var generator = SeededGenerator(seed: 10)
        for _ in 0..<5000 {
            let percent = Bool.random(using: &generator) ? 0 : Double.random(in: 0.5...60, using: &generator)
            let projectBudget = Bool.random(using: &generator) ? nil : Int.random(in: 1...(4 * gib), using: &generator)
            let budget = MemoryBudget(lowMemoryPercent: percent, projectKiB: projectBudget,
                                      idleSeconds: Double.random(in: 0...1200, using: &generator))
            let total = Int.random(in: 1...(256 * gib), using: &generator)
            let machine = Bool.random(using: &generator)
                ? MemoryBudget.Machine(totalKiB: total, availableKiB: Int.random(in: 0...total, using: &generator)) : nil
            let used = Bool.random(using: &generator) ? Int.random(in: 0...(8 * gib), using: &generator) : nil
            let idle = Double.random(in: 0...2400, using: &generator)
            let decision = budget.decide(idle: idle, machine: machine, projectKiB: used)

            if idle < budget.idleSeconds || !budget.isEnabled || (machine == nil && used == nil) {
                XCTAssertEqual(decision, .keep)
            }
            guard case .expire(let reason) = decision else { continue }
            XCTAssertTrue(reason.hasPrefix("memory: ") && reason.contains("no run for"), reason)
            let tighter = machine.map { MemoryBudget.Machine(totalKiB: $0.totalKiB, availableKiB: $0.availableKiB / 2) }
            XCTAssertNotEqual(budget.decide(idle: idle * 2, machine: tighter, projectKiB: used.map { $0 * 2 }), .keep)
            XCTAssertEqual(budget.decide(idle: budget.idleSeconds / 2 - 1, machine: tighter, projectKiB: used), .keep)
        }
    }
}
