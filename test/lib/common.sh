# Helpers shared by the shell test harnesses (test/interop/lib.sh, test/faults/lib.sh, test/attacks/lib.sh and the
# e2e scripts that start several processes): sourced, not run. `harness_init PREFIX` makes the scratch folder $T
# and the arrays the helpers use, and arms the exit trap:
#   PIDS     background processes: killed, then waited for, on exit;
#   LOGS     the logs `fail` shows the tail of (when empty: every $T/*.log);
#   ON_EXIT  commands run on exit after the processes stopped (e.g. stopping PostgreSQL);
#   MOUNTS   mount points unmounted on exit, before $T is removed.
# KEEP=1 keeps $T for a look after the run.

harness_init() {  # harness_init PREFIX
  T=$(mktemp -d "/tmp/$1.XXXXXX")
  chmod 755 "$T"
  PIDS=()
  LOGS=()
  ON_EXIT=()
  MOUNTS=()
  trap cleanup EXIT
}

cleanup() {
  local p c m
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null || true; done
  for c in "${ON_EXIT[@]}"; do eval "$c" >/dev/null 2>&1 || true; done
  for m in "${MOUNTS[@]}"; do umount "$m" 2>/dev/null || true; done
  if [[ ${KEEP:-0} != 1 ]]; then rm -rf "$T"; else echo "kept $T"; fi
}

fail() {
  local l logs=("${LOGS[@]}")
  ((${#logs[@]})) || logs=("$T"/*.log)
  echo "FAIL: $*" >&2
  for l in "${logs[@]}"; do
    [[ -f $l ]] || continue
    echo "--- $l" >&2
    tail -40 "$l" >&2 || true
  done
  exit 1
}

step() { echo "== $*"; }
skip() { echo "SKIP: $*"; exit 77; }
# retry N CMD...: run CMD every 0.5s until it succeeds, at most N times; the last try's output is shown.
retry() { local n=$1 i; shift; for ((i = 0; i < n; i++)); do if "$@" >/dev/null 2>&1; then return 0; fi; sleep 0.5; done; "$@"; }
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
# expect FILE REGEX WHAT: FILE has a line matching REGEX, else fail naming WHAT.
expect() { grep -Eq "$2" "$1" || { echo "--- $1:" >&2; cat "$1" >&2; fail "$3"; }; }
