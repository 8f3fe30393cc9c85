#!/usr/bin/env bash
# Runs pytestd's black-box integration suite against the release binaries in .build/release.
#   Tests/integration/run.sh [pytest args...]     e.g. -x, -k freshness, -v
# Environment:
#   PYTESTD_BIN_DIR      binaries under test (default: <repo>/.build/release)
#   PYTESTD_IT_FAKE=1    exercise the harness only: the pytestd side runs plain pytest
#   PYTESTD_IT_KEEP=1    keep the scratch projects under /tmp/ptd-*
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
pyenv_versions="${PYENV_ROOT:-$HOME/.pyenv}/versions"
tools="$repo/.build/tools-venv"
venvs="$repo/.build/test-venvs"

# Runs a command with a hard limit (never hang `make test`).
limit() { timeout --kill-after=10 "$@"; }

ensure_venv() { # <dir> <base python> <packages...>
  local dir="$1" base="$2"; shift 2
  if [ -x "$dir/bin/python" ] && limit 60 "$dir/bin/python" -c "import pytest" 2>/dev/null \
     && { [ "$#" -lt 2 ] || limit 60 "$dir/bin/python" -c "import pytest_timeout" 2>/dev/null; }; then
    return 0
  fi
  [ -x "$base" ] || { echo "run.sh: missing interpreter $base" >&2; return 1; }
  rm -rf "$dir"
  limit 300 "$base" -m venv "$dir"
  limit 600 "$dir/bin/pip" install -q --disable-pip-version-check "$@"
}

ensure_venv "$tools" "$pyenv_versions/3.11.7/bin/python" pytest pytest-timeout
for v in 3.9.18 3.11.7 3.13.0; do
  ensure_venv "$venvs/py$v" "$pyenv_versions/$v/bin/python" pytest
done

if [ "${PYTESTD_IT_FAKE:-}" != "1" ]; then
  bin="${PYTESTD_BIN_DIR:-$repo/.build/release}"
  for b in pytest pytestd pytestd-host; do
    [ -x "$bin/$b" ] || { echo "run.sh: $bin/$b is missing; run \`make build\` first" >&2; exit 2; }
  done
fi

# Unit tests of the in-interpreter package's pure rules (Tests/python), on each Python the suite uses.
for v in 3.9.18 3.11.7 3.13.0; do
  limit 300 "$venvs/py$v/bin/python" -m pytest -q -p no:cacheprovider "$repo/Tests/python"
done

cd "$here"
# The whole suite is bounded too (about 25 minutes on a quiet 2-core machine).
exec timeout --kill-after=30 "${PYTESTD_IT_SUITE_TIMEOUT:-2700}" "$tools/bin/python" -m pytest "$@"
