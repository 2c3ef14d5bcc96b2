#!/usr/bin/env bash
# Builds libFuzzer targets for the other parsers of untrusted input (the instance identity document, the
# SEV-SNP challenge answer, CSRs; the HCL parser has a mutation test instead, src/common/hcl_test.cc, because
# clang-14 with libstdc++ cannot compile its recursive Value type) with clang++-14, then runs each for $1 seconds.
set -euo pipefail
secs=${1:-20}
cd "$(dirname "$0")/../.."
root=$(pwd)
out=build/fuzz
mkdir -p "$out"
CXX=${CXX:-clang++-14}
absl_libs=$(pkg-config --libs absl_status absl_statusor absl_strings absl_str_format absl_time)
flags=(-std=c++20 -O1 -g -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined -I"$root/src")

build() {  # build <target> <sources...>
  local target=$1; shift
  local newest=0 f
  if [[ -x "$out/$target" ]]; then
    for f in "test/fuzz/$target.cc" "$@"; do [[ $f -nt "$out/$target" ]] && newest=1; done
    ((newest == 0)) && return 0
  fi
  echo "building $target"
  "$CXX" "${flags[@]}" "test/fuzz/$target.cc" "$@" $absl_libs -lssl -lcrypto -o "$out/$target"
}
build iid_document_fuzz src/attestation/awsiid/document.cc
build csr_fuzz src/crypto/csr.cc src/crypto/keys.cc
build sevsnp_answer_fuzz src/attestation/sevsnp_binding/binding.cc src/common/encoding.cc src/crypto/keys.cc

mkdir -p "$out/corpus_iid" "$out/corpus_answer" "$out/corpus_csr"
openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout /dev/null -subj "/O=SPIRE" \
  -addext "subjectAltName=URI:spiffe://example.org/w" -outform DER -out "$out/corpus_csr/p256" 2>/dev/null || true
printf '{\n  "accountId" : "123456789012",\n  "region" : "us-east-1",\n  "instanceId" : "i-0123456789abcdef0",\n  "imageId" : "ami-0123456789abcdef0",\n  "instanceType" : "m6a.large",\n  "availabilityZone" : "us-east-1a",\n  "pendingTime" : "2024-01-01T00:00:00Z",\n  "architecture" : "x86_64",\n  "privateIp" : "10.0.0.1",\n  "version" : "2017-09-30"\n}' > "$out/corpus_iid/doc"
printf '{"report":"AAAA","cert_table":""}' > "$out/corpus_answer/report"
printf '{"unavailable":"no device"}' > "$out/corpus_answer/unavailable"
printf '{"sev_snp_nonce":"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="}' > "$out/corpus_answer/challenge"

export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1}
for t in csr_fuzz:corpus_csr iid_document_fuzz:corpus_iid sevsnp_answer_fuzz:corpus_answer; do
  "$out/${t%%:*}" -max_total_time="$secs" -max_len=8192 -print_final_stats=0 "$out/${t##*:}" 2>&1 | tail -n 2
done
echo "parsers fuzz: ok (${secs}s per target)"
