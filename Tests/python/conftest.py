"""Unit tests of the in-interpreter package's pure parts, run in-process by the tools venv's Python.

The package's C half (``pytestd._native``) exists only inside ``pytestd-host``; these tests exercise
code that never calls it, so an empty stand-in lets the modules import. Everything that needs the real
host is covered by Tests/integration."""
import sys
import types
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "python"))
sys.modules.setdefault("pytestd._native", types.ModuleType("pytestd._native"))
