import PytestdCore
import XCTest

final class ColdServingTests: XCTestCase {
    func testConftestsAndPytestConfigurationClearTheMemoryAtAnyDepth() {
        for path in ["/p/conftest.py", "/p/tests/unit/conftest.py", "/p/pytest.ini", "/p/.pytest.ini", "/p/pyproject.toml",
                     "/p/sub/tox.ini", "/p/setup.cfg"] {
            XCTAssertTrue(ColdServing.isCleared(byChangeTo: path, patchDirectories: []), path)
        }
    }

    func testPatchFilesClearTheMemoryOnlyInsidePatchDirectories() {
        let directories = ["/p/pytestd_patches", "/p/tools/patches/"]
        XCTAssertTrue(ColdServing.isCleared(byChangeTo: "/p/pytestd_patches/django.py", patchDirectories: directories))
        XCTAssertTrue(ColdServing.isCleared(byChangeTo: "/p/tools/patches/x.py", patchDirectories: directories))
        XCTAssertFalse(ColdServing.isCleared(byChangeTo: "/p/pytestd_patches_old/x.py", patchDirectories: directories))
        XCTAssertFalse(ColdServing.isCleared(byChangeTo: "/p/pytestd_patches.py", patchDirectories: directories))
    }

    func testOtherFilesKeepTheMemory() {
        for path in ["/p/app/models.py", "/p/tests/test_conftest.py", "/p/conftest.pyc", "/p/my_conftest.py", "/p/pytest.ini.bak",
                     "/p/settings.cfg"] {
            XCTAssertFalse(ColdServing.isCleared(byChangeTo: path, patchDirectories: ["/p/pytestd_patches"]), path)
        }
    }

    func testNotesNameTheCauseAndOnlyARememberedDeclineNamesTheRemedy() {
        let reason = "pytest_configure raised RuntimeError: Settings already configured. in conftest.py:4"
        let remembered = ColdServing.declineNote(reason, remember: true)
        XCTAssertTrue(remembered.contains(reason))
        XCTAssertTrue(remembered.contains("Run patches"))
        XCTAssertTrue(remembered.contains("pytestd restart"))
        let once = ColdServing.declineNote(reason, remember: false)
        XCTAssertTrue(once.contains(reason))
        XCTAssertFalse(once.contains("serving this project cold"))
        XCTAssertTrue(ColdServing(reason: reason).note.contains(reason))
        XCTAssertFalse(ColdServing(reason: reason).note.contains("\n"))
    }
}
