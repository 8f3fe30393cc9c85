"""A stand-in for VS Code's ``run_pytest_script.py``: the node ids to run are in the file named by
``RUN_TEST_IDS_PIPE`` (one per line; the script deletes it); the remaining options are its arguments.
It exits 0 whatever the tests did, as the real one does."""

import os
import pathlib
import sys

import pytest

script_dir = pathlib.Path(__file__).parent.parent
sys.path.append(os.fspath(script_dir))

if __name__ == "__main__":
    sys.path.insert(0, os.getcwd())
    ids_file = os.environ["RUN_TEST_IDS_PIPE"]
    with open(ids_file) as ids:
        test_ids = [line.strip() for line in ids if line.strip()]
    os.unlink(ids_file)
    pytest.main(["-p", "vscode_pytest", *sys.argv[1:], *test_ids])
