import Foundation
import PytestdPosix

/// `pytestd status --json`: the manager's state for editors and scripts, one JSON object.
///
/// Format 1. Later versions of format 1 may add keys; a key's meaning or type changes only with a
/// new `format`. Keys without a value (no host, nothing retired yet) are left out.
struct StatusDocument: Codable, Equatable {
    static let currentFormat = 1

    /// What the manager is doing. `waiting`: no template is fresh and no reload can make one, runs
    /// wait for a clean host (`reason` says why). `expired`: an idle template was stopped to give
    /// memory back (`reason`: `memory: …`); the next run starts a new one.
    enum State: String, Codable {
        case stopped, warming, ready, reloading, waiting, failed, stopping, expired
    }

    /// The template that serves runs now.
    struct Host: Codable, Equatable {
        var pid: Int32
        var generation: Int
        /// For a reloaded template: the clean generation it was forked from.
        var reloadedFrom: Int?
        var ageSeconds: Double
        var runs: Int
        var pytestVersion: String
        var warmupSeconds: Double
        var projectFiles: Int
        var loadedFiles: Int
        var residentMemoryKib: Int?
        var warmupNote: String?
    }

    /// Resident memory (KiB) of the project's processes by role; forks share pages, so the roles
    /// overlap: `totalProportionalKib` (Pss) splits shared pages and is what they cost together.
    struct Memory: Codable, Equatable {
        var managerKib: Int
        var templateKib = 0
        var cleanHostsKib = 0
        var reloadChildrenKib = 0
        var runsKib = 0
        var totalProportionalKib = 0
    }

    var format = Self.currentFormat
    var state: State
    /// Why the state is not `ready`: the changed files being reloaded, what retired the last template,
    /// or why no host can start.
    var reason: String?
    var root: String
    var configfile: String?
    var python: String
    var pythonVersion: String?
    var pid: Int32?
    var uptimeSeconds: Double?
    /// Runs served warm since the manager started.
    var runs: Int?
    var runsInFlight: Int?
    var plainRuns: Int?
    var host: Host?
    var warmingHostPid: Int32?
    var reloadingHostPid: Int32?
    var lastReload: String?
    var lastFallback: String?
    var lastRetirement: String?
    /// Why runs go to plain pytest for now although a template is warm (see `ColdServing`).
    var servedCold: String?
    var socket: String
    var log: String
    var memory: Memory?
    /// Descriptors open in the manager.
    var openDescriptors: Int?
    /// Reloaded templates that became ready since the manager started.
    var reloads: Int?
    /// Fall-backs since the manager started, by kind (`FallbackKind`): only kinds that happened.
    var fallbacks: [String: Int]?
    /// Why the log cannot be written (a full disk), since when, and how many lines were lost.
    var logProblem: String?
    /// The zygote clean hosts are forked from, if there is one, and its state (or why there is none).
    var zygotePid: Int32?
    var zygote: String?

    /// The document for a project whose manager is not running.
    static func stopped(identity: ProjectIdentity, files: ManagerFiles) -> StatusDocument {
        StatusDocument(
            state: .stopped, root: identity.root.path, configfile: identity.root.configFile,
            python: identity.interpreter, socket: files.socket, log: files.log)
    }

    func json() -> String {
        let encoder = JSONEncoder()
        encoder.keyEncodingStrategy = .convertToSnakeCase
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        // Every field is a string, a number or a nested struct of them: encoding cannot fail.
        return String(decoding: (try? encoder.encode(self)) ?? Data(), as: UTF8.self)
    }
}
