// swift-tools-version:5.9
import PackageDescription

/// One target per process role, a pure core, and thin OS-facing edges:
/// - `pytest` (Shim): the drop-in client a user types; tiny and static.
/// - `pytestd` (Manager): the daemon and its CLI verbs; watches files, supervises hosts.
/// - `pytestd-host` (Host): embeds CPython, keeps the warm template, forks one child per run.
let package = Package(
    name: "pytestd",
    products: [
        .executable(name: "pytest", targets: ["Shim"]),
        .executable(name: "pytestd", targets: ["Manager"]),
        .executable(name: "pytestd-host", targets: ["Host"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/LebJe/TOMLKit", from: "0.6.0"),
    ],
    targets: [
        .target(name: "CPythonShim"),
        .target(name: "CPosix"),
        .target(name: "PytestdCore"),
        .target(name: "PytestdPosix", dependencies: ["CPosix", "PytestdCore"]),
        // TOMLKit brings Foundation; the shim must not link it (it would double the shim's start time).
        .target(
            name: "PytestdSettings",
            dependencies: ["PytestdCore", "PytestdPosix", .product(name: "TOMLKit", package: "TOMLKit")]
        ),
        .target(name: "PytestdClient", dependencies: ["CPosix", "PytestdCore", "PytestdPosix"]),
        .executableTarget(name: "Shim", dependencies: ["PytestdClient", "PytestdCore", "PytestdPosix"]),
        .executableTarget(
            name: "Host",
            dependencies: ["CPythonShim", "PytestdCore", "PytestdPosix"]
        ),
        .executableTarget(
            name: "Manager",
            dependencies: [
                "CPosix", "PytestdClient", "PytestdCore", "PytestdPosix", "PytestdSettings",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
        .testTarget(name: "PytestdCoreTests", dependencies: ["PytestdCore"]),
        .testTarget(name: "PytestdPosixTests", dependencies: ["PytestdPosix", "PytestdCore"]),
        .testTarget(name: "PytestdSettingsTests", dependencies: ["PytestdSettings", "PytestdPosix"]),
    ]
)
