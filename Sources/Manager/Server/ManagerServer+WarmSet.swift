import PytestdCore

/// Learning the warm set from what runs import (see `LearnedWarmSet`).
extension ManagerServer {
    /// A run reported what it imported. When it imported many modules its template lacked, a clean
    /// host that includes them warms in the background — only when idle (nothing warming or reloading,
    /// no run in flight), once per clean generation; otherwise they come with the next rebuild.
    func learn(from imports: RunImports, servedBy host: HostProcess) {
        var base: (generation: Int, report: HostReport)?
        if let clean = host.reloadedFrom == nil ? host : pristine, case .ready(let report) = clean.state {
            base = (clean.generation, report)
        }
        guard learned.record(imports, base: base), settings.preload.isEmpty, warming == nil, reloading == nil,
              !stopping, hosts.allSatisfy({ $0.runsInFlight == 0 })
        else { return }
        ManagerLog.write("a run imported \(imports.imported.count) modules its template lacks: warming a clean host that includes them")
        startHost()
    }
}
