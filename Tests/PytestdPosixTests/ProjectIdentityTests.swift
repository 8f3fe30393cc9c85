import XCTest

import PytestdCore
@testable import PytestdPosix

final class ProjectIdentityTests: XCTestCase {
    /// Two configuration files under one rootdir, or a --confcutdir, load different conftests and
    /// settings: each is its own manager.
    func testEveryPartOfTheProjectMakesItsOwnManager() {
        let roots = [
            ProjectRoot(path: "/p"), ProjectRoot(path: "/p", configFile: "/p/pytest.ini"),
            ProjectRoot(path: "/p", configFile: "/p/tox.ini"), ProjectRoot(path: "/p", configFile: "/p/tox.ini", confcutdir: "/p"),
            ProjectRoot(path: "/q", configFile: "/p/tox.ini"),
        ]
        let keys = roots.map { ProjectIdentity(root: $0, interpreter: "/v/bin/python", interpreterSource: "test").key }
        XCTAssertEqual(Set(keys).count, roots.count, "\(keys)")
        XCTAssertEqual(keys[1], ProjectIdentity(root: roots[1], interpreter: "/v/bin/python", interpreterSource: "other").key)
    }
}
