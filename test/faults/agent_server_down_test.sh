#!/usr/bin/env bash
# Fault: the server goes away (kill -9) while an agent serves workloads. For several sync intervals the agent keeps
# answering the Workload API from its cache: the same X509-SVID, the JWT-SVID it already holds for an audience, JWT
# validation against its bundle; a watcher stream stays open. When the server returns (same data_dir) the agent
# syncs again: an entry created after the restart reaches the workload.
# Usage: agent_server_down_test.sh <build-dir>
set -euo pipefail
source "$(dirname "$0")/lib.sh"

WID=spiffe://$TD/workload
export WORKLOAD_CLIENT_GEN_DIR=$T/pygen

write_server_conf
start_server
TOKEN=$(new_token)
[[ -n $TOKEN ]] || fail "no join token"
AGENT_ID=spiffe://$TD/spire/agent/join_token/$TOKEN
srv entry create -entryID down-main -parentID "$AGENT_ID" -spiffeID "$WID" -selector "unix:uid:$UID_NOW" >/dev/null \
  || fail "entry create"
write_agent_conf "$TOKEN"
start_agent "$T/agent.log"
retry 120 fetch_x509 -write "$T/before" || fail "no X509-SVID from the agent"
JWT=$("$AGENT_BIN" api fetch jwt -socketPath "$ASOCK" -audience aud-down | awk '/^token\(/{getline; gsub(/\t/,""); print; exit}')
[[ -n $JWT ]] || fail "no JWT-SVID"

step "watcher stream open, then kill -9 the server"
/usr/bin/python3 "$SRC/test/e2e/workload_client.py" watch --socket "$ASOCK" --count 1000 --timeout 120 >"$T/watch.log" 2>&1 &
WATCH_PID=$!
PIDS+=("$WATCH_PID")
retry 60 grep -q "^{\"n\"" "$T/watch.log" || fail "watcher got no first message"
kill9_server
DOWN_AT=$(wc -l <"$T/agent.log")

step "server down: the agent serves from its cache over several sync intervals (sync_interval 1s)"
for i in 1 2 3; do
  sleep 2
  fetch_x509 -write "$T/down$i" >/dev/null || fail "X509-SVID not served while the server is down (try $i)"
  cmp -s "$T/before/svid.0.pem" "$T/down$i/svid.0.pem" || fail "X509-SVID changed while the server is down"
  "$AGENT_BIN" api validate jwt -socketPath "$ASOCK" -audience aud-down -svid "$JWT" | grep -q "SPIFFE ID : $WID" \
    || fail "JWT-SVID validation while the server is down"
  JWT2=$("$AGENT_BIN" api fetch jwt -socketPath "$ASOCK" -audience aud-down |
    awk '/^token\(/{getline; gsub(/\t/,""); print; exit}')
  [[ $JWT2 == "$JWT" ]] || fail "cached JWT-SVID for aud-down not served while the server is down"
done
kill -0 "$AGENT_PID" 2>/dev/null || fail "agent exited while the server was down"
kill -0 "$WATCH_PID" 2>/dev/null || fail "watcher stream ended while the server was down"
tail -n +"$DOWN_AT" "$T/agent.log" >"$T/agent-down.log"
expect "$T/agent-down.log" "UNAVAILABLE: sync with the server \(workloads keep their cached SVIDs\)" "the agent did not report the lost server"

step "server back: the agent syncs, a new entry reaches the workload"
start_server
srv entry create -entryID down-after -parentID "$AGENT_ID" -spiffeID "$WID-after" -selector "unix:uid:$UID_NOW" \
  >/dev/null || fail "entry create after restart"
has_after() { fetch_x509 -output json | grep -q "$WID-after"; }
retry 60 has_after || fail "the agent did not pick up an entry created after the server returned"
retry 60 grep -q "$WID-after" "$T/watch.log" || fail "the watcher stream did not get the new entry"
echo "PASS"
