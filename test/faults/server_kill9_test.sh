#!/usr/bin/env bash
# Fault: kill -9 of the server under a write load, twice, then restart. Four writers create registration entries
# in batches through the admin API (the real `spire-server entry create -data`, entry_writer.py), each recording the IDs the server acknowledged
# (exit 0). After every restart each acknowledged entry is listed by the server, and `PRAGMA integrity_check` on
# the SQLite datastore answers "ok" (checked on the file as the crash left it, before the server reopens it).
# Usage: server_kill9_test.sh <build-dir>
set -euo pipefail
source "$(dirname "$0")/lib.sh"

WRITERS=4
# The kill comes once at least MIN_ACKED more writes were acknowledged (the writers keep going: it lands mid-load).
MIN_ACKED=${FAULTS_MIN_ACKED:-100}
acked_count() { { cat "$T"/acked.* 2>/dev/null || true; } | sort -u | wc -l; }
PARENT=spiffe://$TD/spire/agent/join_token/load  # entry_writer.py uses the same parent

# writer N ROUND: batches of entries until $T/stop exists; every acknowledged entry ID goes to $T/acked.N.
writer() {
  python3 "$SRC/test/faults/entry_writer.py" --server-bin "$SERVER_BIN" --socket "$SSOCK" --td "$TD" \
    --prefix "r$2-w$1" --acked "$T/acked.$1" --stop "$T/stop"
}

# check_acked: every acknowledged ID is in the server's entry list (admin API, after restart).
check_acked() {
  cat "$T"/acked.* 2>/dev/null | sort -u >"$T/all-acked"
  srv entry show -output json >"$T/listed.json" || fail "entry show after restart"
  python3 - "$T/listed.json" "$T/all-acked" <<'PY' || fail "acknowledged entries lost after kill -9"
import json, sys
doc = json.load(open(sys.argv[1]))
listed = {e["id"] for e in doc.get("entries", [])}
acked = [l.strip() for l in open(sys.argv[2]) if l.strip()]
lost = [a for a in acked if a not in listed]
print(f"   {len(acked)} acknowledged, {len(listed)} listed, {len(lost)} lost")
if lost:
    print("lost:", lost[:20], file=sys.stderr)
    sys.exit(1)
PY
}

write_server_conf
start_server

for round in 1 2; do
  step "round $round: $WRITERS writers; kill -9 the server mid-load after $MIN_ACKED more acknowledged writes"
  base=$(acked_count)
  rm -f "$T/stop"
  WPIDS=()
  for w in $(seq 1 $WRITERS); do
    writer "$w" "$round" &
    WPIDS+=($!)
  done
  for i in $(seq 1 240); do
    [[ $(acked_count) -ge $((base + MIN_ACKED)) ]] && break
    sleep 0.5
  done
  kill9_server
  touch "$T/stop"
  for p in "${WPIDS[@]}"; do wait "$p" || true; done
  n=$(acked_count)
  [[ $n -gt $base ]] || fail "no write was acknowledged before the kill (no load)"
  echo "   $n writes acknowledged so far"

  step "round $round: PRAGMA integrity_check on the datastore as the crash left it"
  integrity_ok "$SDIR/datastore.sqlite3" || fail "integrity_check failed after kill -9"

  step "round $round: restart; every acknowledged entry is there"
  start_server
  check_acked
done

step "the restarted server still takes writes"
srv entry create -entryID after-crash -parentID "$PARENT" -spiffeID "spiffe://$TD/after" -selector unix:uid:1 \
  >/dev/null || fail "entry create after restart"
integrity_ok "$SDIR/datastore.sqlite3" || fail "integrity_check failed at the end"
echo "PASS"
