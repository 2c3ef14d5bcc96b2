#!/usr/bin/env bash
# Prints CTest cost data (test durations) for the tests of <build-dir> that took a second or more in its last
# runs, longest first, in CTest's CTestCostData.txt format. `make ctest-cost-data` writes it to
# test/ctest-cost-data.txt, which scripts/run-tests.sh copies into a fresh build directory.
# Usage: scripts/ctest-cost-data.sh <build-dir>
set -euo pipefail
build=${1:?usage: $0 <build-dir>}
data=$build/Testing/Temporary/CTestCostData.txt
[[ -f $data ]] || { echo "$data: no CTest run recorded in $build" >&2; exit 1; }
ctest --test-dir "$build" -N | sed -n 's/^ *Test *#[0-9]*: \([^ ]*\).*/\1/p' | sort -u >"${TMPDIR:-/tmp}/ctest-names.$$"
awk -v names="${TMPDIR:-/tmp}/ctest-names.$$" '
  BEGIN { while ((getline n < names) > 0) known[n] = 1 }
  $0 == "---" { exit }
  NF == 3 && ($1 in known) && $3 >= 1.0 { printf "%s 1 %.1f\n", $1, $3 }' "$data" | sort -k3 -n -r
echo "---"
rm -f "${TMPDIR:-/tmp}/ctest-names.$$"
