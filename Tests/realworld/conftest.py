"""Fixtures of the real-world corpus: the binaries under test (copied, so a rebuild cannot swap them
mid-run), one scratch directory with a short path (unix sockets), and the project selection."""
from __future__ import annotations

import os
import shutil
import sys
import tempfile
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "integration"))
import harness as H  # noqa: E402

from projects import PROJECTS  # noqa: E402


def selected_projects() -> list:
    """PYTESTD_REALWORLD=click,attrs selects projects (default: all)."""
    wanted = [n.strip() for n in os.environ.get("PYTESTD_REALWORLD", "").split(",") if n.strip()]
    unknown = [n for n in wanted if n not in PROJECTS]
    if unknown:
        raise pytest.UsageError(f"PYTESTD_REALWORLD names unknown projects {unknown}; known: {sorted(PROJECTS)}")
    return wanted or list(PROJECTS)


@pytest.fixture(scope="session")
def workdir():
    base = Path(tempfile.mkdtemp(prefix="ptd-rw-", dir="/tmp"))
    yield base
    if os.environ.get("PYTESTD_IT_KEEP") != "1":
        shutil.rmtree(base, ignore_errors=True)


@pytest.fixture(scope="session")
def bin_dir(workdir) -> Path:
    missing = [b for b in ("pytest", "pytestd", "pytestd-host") if not (H.BIN_DIR / b).exists()]
    if missing:
        pytest.fail(f"binaries under test are missing from {H.BIN_DIR}: {missing} (run `make build`)")
    inst = workdir / "inst"
    (inst / "bin").mkdir(parents=True)
    for name in ("pytest", "pytestd", "pytestd-host"):
        shutil.copy2(H.BIN_DIR / name, inst / "bin" / name)
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc")
    shutil.copytree(H.REPO / "python", inst / "python", ignore=ignore)
    shutil.copytree(H.REPO / "patches", inst / "patches", ignore=ignore)
    return inst / "bin"
