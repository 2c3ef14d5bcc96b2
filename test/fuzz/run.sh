#!/usr/bin/env bash
# Builds every libFuzzer target (test/fuzz/fuzz.mk: clang++-14, libFuzzer + ASan + UBSan) and runs each for
# SECONDS (FUZZ_PARALLEL at a time, default one after the other), on a corpus kept in build/fuzz/corpus/<target>
# (seeded from test/data and by the targets themselves). Writes a Markdown summary (executions, coverage, crashes) to $FUZZ_SUMMARY
# (default build/fuzz/summary.md); a crashing input is saved under build/fuzz/crashes/. Exit status 1 when any
# target crashed, 2 when the build failed.
# Usage: test/fuzz/run.sh [SECONDS] [TARGET...]     (default 20 seconds, every target)
set -euo pipefail
secs=${1:-20}
shift || true
cd "$(dirname "$0")/../.."
root=$(pwd)
out=build/fuzz
summary=${FUZZ_SUMMARY:-$out/summary.md}
mk=(make --no-print-directory -f test/fuzz/fuzz.mk)
read -r -a all <<<"$("${mk[@]}" print-targets)"
targets=("$@")
((${#targets[@]})) || targets=("${all[@]}")

if ((${#targets[@]} == ${#all[@]})); then goals=(all); else goals=($(printf "$out/%s " "${targets[@]}")); fi
"${mk[@]}" -j "${FUZZ_JOBS:-2}" "${goals[@]}" || exit 2

# Static seeds (the targets write the ones that need keys or signatures themselves, see fuzz_util.h).
vec=${SPIRECVM_VECTORS_DIR:-$root/test/data}
copy() { [[ -f $1 ]] && cp "$1" "$2" || true; }
seed_static() {  # seed_static <target> <dir>
  local d=$2
  case $1 in
    sevsnp_report_fuzz)
      head -c 1184 /dev/zero >"$d/seed-zero"
      copy "$vec/snp/milan-vcek-debug/report.bin" "$d/seed-milan" ;;
    sevsnp_certtable_fuzz)
      # {VCEK guid, off 72, len 4}, {ARK guid, off 76, len 4}, terminator, payloads.
      printf '\x63\xda\x75\x8d\xe6\x64\x45\x64\xad\xc5\xf4\xb9\x3b\xe8\xac\xcd\x48\x00\x00\x00\x04\x00\x00\x00\xc0\xb4\x06\xa4\xa8\x03\x49\x52\x97\x43\x3f\xb6\x01\x4c\xd0\xae\x4c\x00\x00\x00\x04\x00\x00\x00' >"$d/seed-two"
      head -c 24 /dev/zero >>"$d/seed-two"
      printf 'vcekark!' >>"$d/seed-two" ;;
    sevsnp_answer_fuzz)
      printf '{"report":"AAAA","cert_table":""}' >"$d/seed-report"
      printf '{"unavailable":"no device"}' >"$d/seed-unavailable"
      printf '{"sev_snp_nonce":"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="}' >"$d/seed-challenge" ;;
    iid_document_fuzz)
      copy "$vec/aws/iid/us-west-2-2018/document" "$d/seed-real" ;;
    csr_fuzz)
      openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout /dev/null -subj "/O=SPIRE" \
        -addext "subjectAltName=URI:spiffe://example.org/w" -outform DER -out "$d/seed-p256" 2>/dev/null || true ;;
    hcl_fuzz | server_config_fuzz)
      copy conf/server/server.conf "$d/seed-server.conf" ;;&
    hcl_fuzz | agent_config_fuzz)
      copy conf/agent/agent.conf "$d/seed-agent.conf" ;;&
    json_config_fuzz | server_config_fuzz)
      copy "$vec/spire-helm/server.json" "$d/seed-helm-server.json" ;;&
    json_config_fuzz | agent_config_fuzz)
      copy "$vec/spire-helm/agent.json" "$d/seed-helm-agent.json" ;;
  esac
}

# One libFuzzer run; prints "<executions> <cov> <ft> <corpus units> <status>".
run_one() {  # run_one <target>
  local t=$1 d=$out/corpus/$1 log=$out/logs/$1.log
  mkdir -p "$d" "$out/logs" "$out/crashes"
  seed_static "$t" "$d"
  local rc=0
  FUZZ_SEED_DIR=$d SPIRECVM_SOURCE_DIR=$root ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1} \
    "$out/$t" -max_total_time="$secs" -max_len="${FUZZ_MAX_LEN:-16384}" -timeout=30 -rss_limit_mb=2048 \
    -print_final_stats=1 -artifact_prefix="$out/crashes/$t-" "$d" >"$log" 2>&1 || rc=$?
  local execs cov ft units
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)
  cov=$(grep -o 'cov: [0-9]*' "$log" | tail -n 1 | cut -d' ' -f2)
  ft=$(grep -o 'ft: [0-9]*' "$log" | tail -n 1 | cut -d' ' -f2)
  units=$(grep -o 'corp: [0-9]*' "$log" | tail -n 1 | cut -d' ' -f2)
  local status=ok
  ((rc == 0)) || status="CRASH (exit $rc, $(grep -o 'Test unit written to .*' "$log" | head -n 1 | cut -d' ' -f5))"
  echo "${execs:-0} ${cov:-0} ${ft:-0} ${units:-0} $status"
}

# FUZZ_PARALLEL targets at a time (default 1: a recorded run gives each target a whole core; `make test`'s short
# smoke run uses both cores). Each run's result line goes to its own file, read back in target order.
par=${FUZZ_PARALLEL:-1}
mkdir -p "$(dirname "$summary")"
{
  echo "# Fuzzing run"
  echo
  echo "$(date -u '+%Y-%m-%d %H:%M UTC'), commit $(git rev-parse --short HEAD 2>/dev/null || echo '?'), $secs s per target," \
    "$par target(s) at a time on $(nproc) cores; clang++-14 libFuzzer + ASan + UBSan (\`test/fuzz/run.sh $secs\`)."
  echo
  echo "| target | executions | coverage (edges) | features | corpus | crashes |"
  echo "|---|---:|---:|---:|---:|---|"
} >"$summary"
mkdir -p "$out/results"
for t in "${targets[@]}"; do
  while (($(jobs -rp | wc -l) >= par)); do wait -n || true; done
  run_one "$t" >"$out/results/$t" &
done
wait
crashed=0
for t in "${targets[@]}"; do
  read -r execs cov ft units status <"$out/results/$t"
  [[ $status == ok ]] && crashes=0 || { crashes="$status"; crashed=1; }
  printf '%-24s %10s execs  cov %5s  ft %6s  corpus %5s  %s\n' "$t" "$execs" "$cov" "$ft" "$units" "$status"
  echo "| \`$t\` | $execs | $cov | $ft | $units | $crashes |" >>"$summary"
done
echo "fuzz: ${#targets[@]} targets, ${secs}s each; summary in $summary"
exit "$crashed"
