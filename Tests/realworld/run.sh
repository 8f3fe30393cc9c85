#!/usr/bin/env bash
# Runs real projects' own test suites through pytestd and through plain pytest (Tests/realworld/README.md).
#   Tests/realworld/run.sh [pytest args...]          e.g. -x, -k click
# Environment:
#   PYTESTD_REALWORLD=click,attrs   only these projects (default: all of projects.py)
#   PYTESTD_RW_RESULTS=FILE         append each project's timings and counts (JSON lines)
#   PYTESTD_RW_FLAKY=1              also run plain pytest twice and report what differs (finding flaky tests)
#   PYTESTD_BIN_DIR                 binaries under test (default: <repo>/.build/release)
#   PYTESTD_IT_KEEP=1               keep the scratch directory /tmp/ptd-rw-*
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
tools="$repo/.build/tools-venv"

if ! { [ -x "$tools/bin/python" ] && timeout 60 "$tools/bin/python" -c "import pytest, pytest_timeout" 2>/dev/null; }; then
  rm -rf "$tools"
  timeout 300 "${PYENV_ROOT:-$HOME/.pyenv}/versions/3.11.7/bin/python" -m venv "$tools"
  timeout 600 "$tools/bin/pip" install -q --disable-pip-version-check pytest pytest-timeout
fi

cd "$here"
exec timeout --kill-after=30 "${PYTESTD_RW_SUITE_TIMEOUT:-2400}" "$tools/bin/python" -m pytest "$@"
