#!/usr/bin/env bash
# Builds the SEV-SNP ABI fuzzers (report and certificate table) with clang++-14 and libFuzzer
# straight from the abi sources (which depend only on Abseil), then runs each for $1 seconds.
# Seeds: a zeroed report, a test certificate table, and the real report from test/data.
set -euo pipefail
secs=${1:-20}
cd "$(dirname "$0")/../.."
root=$(pwd)
out=build/fuzz
mkdir -p "$out"
CXX=${CXX:-clang++-14}
absl_libs=$(pkg-config --libs absl_status absl_statusor absl_strings absl_str_format)
flags=(-std=c++20 -O1 -g -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined
       -I"$root/src")
abi_srcs=(src/attestation/sevsnp/abi/report.cc src/attestation/sevsnp/abi/cert_table.cc)

for target in sevsnp_report_fuzz sevsnp_certtable_fuzz; do
  if [[ ! -x "$out/$target" || test/fuzz/$target.cc -nt "$out/$target" ||
        src/attestation/sevsnp/abi/report.cc -nt "$out/$target" ||
        src/attestation/sevsnp/abi/cert_table.cc -nt "$out/$target" ]]; then
    echo "building $target"
    "$CXX" "${flags[@]}" "test/fuzz/$target.cc" "${abi_srcs[@]}" $absl_libs -o "$out/$target"
  fi
done

# Seed corpora.
mkdir -p "$out/corpus_report" "$out/corpus_certtable"
head -c 1184 /dev/zero > "$out/corpus_report/zero"
vec=${SPIRECVM_VECTORS_DIR:-$root/test/data}
if [[ -f "$vec/snp/milan-vcek-debug/report.bin" ]]; then
  cp "$vec/snp/milan-vcek-debug/report.bin" "$out/corpus_report/milan"
fi
# A two-entry table: {VCEK guid, off 72, len 4}, {ARK guid, off 76, len 4}, terminator, payloads.
printf '\x63\xda\x75\x8d\xe6\x64\x45\x64\xad\xc5\xf4\xb9\x3b\xe8\xac\xcd\x48\x00\x00\x00\x04\x00\x00\x00\xc0\xb4\x06\xa4\xa8\x03\x49\x52\x97\x43\x3f\xb6\x01\x4c\xd0\xae\x4c\x00\x00\x00\x04\x00\x00\x00' > "$out/corpus_certtable/two"
head -c 24 /dev/zero >> "$out/corpus_certtable/two"
printf 'vcekark!' >> "$out/corpus_certtable/two"

export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1}
"$out/sevsnp_report_fuzz" -max_total_time="$secs" -max_len=4096 -print_final_stats=0 \
    "$out/corpus_report" 2>&1 | tail -n 3
"$out/sevsnp_certtable_fuzz" -max_total_time="$secs" -max_len=16384 -print_final_stats=0 \
    "$out/corpus_certtable" 2>&1 | tail -n 3
echo "sevsnp fuzz: ok (${secs}s per target)"
