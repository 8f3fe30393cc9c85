#!/usr/bin/env bash
# `make demo`: one test of the example project, cold (plain pytest) and warm (through pytestd).
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
bin=$repo/.build/release
venv=$repo/.build/demo-venv
project=$repo/examples/demo-project

if ! [ -x "$venv/bin/pytest" ]; then
    echo "== creating $venv (Python 3.11 + pytest)"
    "$("$repo/scripts/find-python" 3.11)" -m venv "$venv"
    "$venv/bin/pip" install -q --disable-pip-version-check pytest
fi
export VIRTUAL_ENV=$venv PATH=$venv/bin:$PATH
cd "$project"

milliseconds() { # runs a command quietly, prints its wall time in ms
    local start end
    start=$(date +%s%N)
    "$@" >/dev/null 2>&1 || { echo "demo: '$*' failed" >&2; exit 1; }
    end=$(date +%s%N)
    echo $(((end - start) / 1000000))
}
median() { printf '%s\n' "$@" | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }

test_id=tests/test_catalog.py::test_smoke
"$bin/pytestd" stop >/dev/null
echo "== plain pytest $test_id (5 runs)"
plain=(); for _ in 1 2 3 4 5; do plain+=("$(milliseconds pytest -q "$test_id")"); done
echo "   ${plain[*]} ms"
echo "== pytestd: first run starts the manager and builds the warm template"
first=$(milliseconds "$bin/pytest" -q "$test_id")
echo "   $first ms"
echo "== pytestd: warm runs (10 runs)"
warm=(); for _ in $(seq 10); do warm+=("$(milliseconds "$bin/pytest" -q "$test_id")"); done
echo "   ${warm[*]} ms"
p=$(median "${plain[@]}"); w=$(median "${warm[@]}")
echo
echo "median plain pytest: ${p} ms   median pytestd (warm): ${w} ms   speed-up: $(awk "BEGIN {printf \"%.1f\", $p / $w}")x"
echo
echo "== a warm run of the whole suite, as you would see it:"
"$bin/pytest" -v
echo
"$bin/pytestd" status
"$bin/pytestd" stop >/dev/null
