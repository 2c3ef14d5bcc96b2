#!/usr/bin/env bash
# Builds the libFuzzer targets with clang-14 and runs each for a short time (seconds: $1).
set -euo pipefail
secs=${1:-20}
cd "$(dirname "$0")/../.."
shopt -s nullglob
targets=(test/fuzz/*_fuzz.sh)
for t in "${targets[@]}"; do "$t" "$secs"; done
echo "fuzz: ${#targets[@]} target groups ran"
