// pytestd-host: one warm universe. Embeds the project's CPython, builds the warm template, then
// forks one child per run.
//
// SINGLE-THREADED BY DESIGN. fork() copies only the calling thread, so this process must never start
// another: no Dispatch, no Swift concurrency, no Foundation.Process. Everything happens on the main
// thread in one poll loop (HostLoop), and the thread count is checked before each fork.
import CPosix
import Glibc
import PytestdCore
import PytestdPosix

let configuration: HostConfiguration
do {
    configuration = try HostConfiguration(arguments: Array(CommandLine.arguments.dropFirst()))
} catch {
    writeLog("pytestd-host: \(error)")
    exit(2)
}

// The manager is our parent: if it dies, so do we (and our runs, through theirs). While warming, at
// once: the manager may have paused the warm-up (SIGSTOP), and a stopped process acts on SIGKILL only.
cposix_set_parent_death_signal(SIGKILL)
if getppid() != configuration.managerPid { exit(0) }

let control = MessageChannel(fd: configuration.controlFd)
try? control.send(.warmupStarted)
let python: EmbeddedPython
do {
    python = try EmbeddedPython(configuration: configuration)
    if configuration.zygote { Zygote.install(python: python, control: control) }
    let report = try python.warm()
    if Zygote.isForkedHost {
        // Like a reloaded template: it ends when the manager closes its channel, not with the zygote.
        cposix_set_parent_death_signal(0)
    } else {
        cposix_set_parent_death_signal(SIGTERM)
        if getppid() != configuration.managerPid { exit(0) }
    }
    try control.send(.hostReady(report))
} catch {
    writeLog("pytestd-host: \(error)")
    try? control.send(.hostFailed(reason: "\(error)"))
    exit(1)
}

HostLoop(control: control, python: python).run()
