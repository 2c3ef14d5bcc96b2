#!/usr/bin/env bash
# End-to-end, high availability: two spire-server processes on one PostgreSQL 15 (started here by test/pg/start.sh,
# stopped at exit).
#   1. server B starts while PostgreSQL is down and comes up once it is back (startup retry);
#   2. the bundle served by each server holds both servers' X.509 authorities;
#   3. an entry created through A is visible through B;
#   4. PostgreSQL is restarted (crash-like, immediate mode) during a stream of entry writes through both servers:
#      the servers recover and every acknowledged write (exit 0) is present afterwards, on both;
#   5. with spire-agent built: two agents (one attested through A, one through B, both configured with both
#      server addresses), an entry created through A gives a workload on B's agent its SVID, and after kill -9 of
#      server A the agents keep getting SVIDs through B;
#   6. both servers cache attested nodes (max_attested_node_info_staleness = 30s): agent A, syncing every second
#      through B, is banned through B's admin API and refused within seconds (the node events drop B's cached
#      record; were they not applied, the record would keep answering, since each poll confirms what it keeps).
# Usage: ha_test.sh <build-dir>
set -euo pipefail

BUILD=$(cd "${1:?usage: $0 <build-dir>}" && pwd)
SRC=$(cd "$(dirname "$0")/../.." && pwd)
SERVER_BIN=$BUILD/src/cli/server/spire-server
AGENT_BIN=$BUILD/src/cli/agent/spire-agent
[[ -x $SERVER_BIN ]] || { echo "SKIP: $SERVER_BIN not built"; exit 77; }

T=$(mktemp -d /tmp/ha-e2e.XXXXXX)
chmod 755 "$T"
PIDS=()
cleanup() {
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null || true; done
  "$SRC/test/pg/stop.sh" "$T/pg" >/dev/null 2>&1 || true
  if [[ ${KEEP:-0} != 1 ]]; then rm -rf "$T"; else echo "kept $T"; fi
}
trap cleanup EXIT
fail() {
  echo "FAIL: $*" >&2
  for f in server-a server-b agent-a agent-b; do
    [[ -f $T/$f.log ]] && { echo "--- $f log" >&2; tail -30 "$T/$f.log" >&2; }
  done
  exit 1
}
step() { echo "== $*"; }
retry() { local n=$1; shift; for ((i = 0; i < n; i++)); do if "$@" >/dev/null 2>&1; then return 0; fi; sleep 0.5; done; "$@"; }
free_port() { /usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

step "start PostgreSQL 15"
"$SRC/test/pg/start.sh" "$T/pg" || fail "PostgreSQL did not start"
CONNINFO=$(cat "$T/pg/conninfo")
TD=example.org

write_server_conf() {  # name port
  local n=$1 port=$2
  mkdir -p "$T/$n"
  cat >"$T/$n.conf" <<CONF
server {
  bind_address = "127.0.0.1"
  bind_port = $port
  socket_path = "$T/$n/api.sock"
  trust_domain = "$TD"
  data_dir = "$T/$n/data"
  log_level = "DEBUG"
  default_x509_svid_ttl = "1h"
  max_attested_node_info_staleness = "30s"
  experimental {
    cache_reload_interval = "1s"
  }
}
plugins {
  DataStore "sql" {
    plugin_data {
      database_type = "postgres"
      connection_string = "$CONNINFO"
      max_open_conns = 8
      conn_max_lifetime = "10m"
    }
  }
  KeyManager "disk" {
    plugin_data {
      keys_path = "$T/$n/data/keys.json"
    }
  }
  NodeAttestor "join_token" {
    plugin_data {}
  }
}
CONF
}
PORT_A=$(free_port)
PORT_B=$(free_port)
SOCK_A=$T/server-a/api.sock
SOCK_B=$T/server-b/api.sock
write_server_conf server-a "$PORT_A"
write_server_conf server-b "$PORT_B"
if ! "$SERVER_BIN" validate -config "$T/server-a.conf" >"$T/validate.out" 2>&1; then
  # cache_reload_interval may not be a known key in this build: drop the experimental block.
  for n in server-a server-b; do sed -i '/experimental {/,/^  }/d' "$T/$n.conf"; done
  "$SERVER_BIN" validate -config "$T/server-a.conf" || fail "server config invalid: $(cat "$T/validate.out")"
fi

start_server() {  # name
  "$SERVER_BIN" run -config "$T/$1.conf" >>"$T/$1.log" 2>&1 &
  PIDS+=($!)
  eval "PID_${1//-/_}=$!"
}

step "start server A"
start_server server-a
retry 60 "$SERVER_BIN" healthcheck -socketPath "$SOCK_A" || fail "server A not healthy"

step "server B starts while PostgreSQL is down, and comes up when it is back"
. "$T/pg/env"
. "$SRC/test/pg/common.sh"
as_pg "$PG_BIN/pg_ctl" -D "$PGDATA" -m fast -w stop >/dev/null || fail "pg stop"
start_server server-b
sleep 3
kill -0 "$PID_server_b" 2>/dev/null || fail "server B exited while PostgreSQL was down instead of retrying"
grep -q "not reachable yet" "$T/server-b.log" || fail "server B did not log its connection attempts"
as_pg "$PG_BIN/pg_ctl" -D "$PGDATA" -l "$PGDATA/server.log" -w start >/dev/null || fail "pg start"
retry 80 "$SERVER_BIN" healthcheck -socketPath "$SOCK_B" || fail "server B not healthy after PostgreSQL came back"
retry 20 "$SERVER_BIN" healthcheck -socketPath "$SOCK_A" || fail "server A not healthy after the PostgreSQL restart"

step "each server's bundle holds both servers' X.509 authorities"
count_x509() { /usr/bin/python3 -c 'import json,sys; print(sum(1 for k in json.load(sys.stdin)["keys"] if k.get("use")=="x509-svid"))'; }
x509_set() { /usr/bin/python3 -c 'import json,sys; print(sorted(k["x5c"][0] for k in json.load(sys.stdin)["keys"] if k.get("use")=="x509-svid"))'; }
"$SERVER_BIN" bundle show -socketPath "$SOCK_A" -format spiffe >"$T/bundle-a.json" || fail "bundle show A"
"$SERVER_BIN" bundle show -socketPath "$SOCK_B" -format spiffe >"$T/bundle-b.json" || fail "bundle show B"
NA=$(count_x509 <"$T/bundle-a.json")
NB=$(count_x509 <"$T/bundle-b.json")
[[ $NA -ge 2 && $NB -ge 2 ]] || fail "bundles hold $NA (A) and $NB (B) X.509 authorities, want >= 2 each"
[[ "$(x509_set <"$T/bundle-a.json")" == "$(x509_set <"$T/bundle-b.json")" ]] || fail "servers serve different bundles"
# Each server's own CA certificate (the issuer of its SVID) is in the bundle.
for n in server-a server-b; do
  /usr/bin/python3 - "$T/$n/data/server_svid.pem" "$T/bundle-a.json" <<'PY' || fail "$n's CA is not in the shared bundle"
import base64, json, re, subprocess, sys
pems = re.findall(r"-----BEGIN CERTIFICATE-----.*?-----END CERTIFICATE-----", open(sys.argv[1]).read(), re.S)
issuer = subprocess.run(["openssl", "x509", "-noout", "-issuer", "-nameopt", "RFC2253"], input=pems[0].encode(),
                        capture_output=True, check=True).stdout
def subject(der):
    pem = "-----BEGIN CERTIFICATE-----\n" + base64.b64encode(der).decode() + "\n-----END CERTIFICATE-----\n"
    return subprocess.run(["openssl", "x509", "-noout", "-subject", "-nameopt", "RFC2253"], input=pem.encode(),
                          capture_output=True, check=True).stdout.replace(b"subject=", b"issuer=")
keys = [k for k in json.load(open(sys.argv[2]))["keys"] if k.get("use") == "x509-svid"]
# The SVID's issuer is an intermediate or the CA itself; with no upstream it is the server's self-signed CA.
sys.exit(0 if any(subject(base64.b64decode(k["x5c"][0])) == issuer for k in keys) else 1)
PY
done

step "an entry created through A is visible through B"
"$SERVER_BIN" entry create -socketPath "$SOCK_A" -entryID ha-one -parentID "spiffe://$TD/agent/x" \
  -spiffeID "spiffe://$TD/w/one" -selector unix:uid:1000 >/dev/null || fail "entry create via A"
"$SERVER_BIN" entry show -socketPath "$SOCK_B" -entryID ha-one | grep -q "spiffe://$TD/w/one" ||
  fail "entry created through A not visible through B"
[[ $("$SERVER_BIN" entry count -socketPath "$SOCK_B" | tr -dc 0-9) -ge 1 ]] || fail "entry count via B"

step "restart PostgreSQL (immediate) during a stream of entry writes through both servers"
ACKED=$T/acked.txt
: >"$ACKED"
N=120
(
  for ((i = 1; i <= N; i++)); do
    if ((i % 2)); then s=$SOCK_A; else s=$SOCK_B; fi
    if "$SERVER_BIN" entry create -socketPath "$s" -entryID "stream-$i" -parentID "spiffe://$TD/agent/x" \
         -spiffeID "spiffe://$TD/w/$i" -selector "unix:uid:$i" >/dev/null 2>>"$T/writer.err"; then
      echo "stream-$i" >>"$ACKED"
    fi
  done
) &
WRITER=$!
PIDS+=("$WRITER")
# Let some writes land, then crash-restart PostgreSQL with 2 s of downtime.
for ((w = 0; w < 100; w++)); do [[ $(wc -l <"$ACKED") -ge 20 ]] && break; sleep 0.1; done
"$SRC/test/pg/restart.sh" "$T/pg" immediate 2 || fail "PostgreSQL restart"
wait "$WRITER" || true
NACK=$(wc -l <"$ACKED")
echo "   $NACK of $N writes acknowledged ($(grep -c . "$T/writer.err" 2>/dev/null || true) error lines)"
[[ $NACK -ge $((N / 2)) ]] || fail "only $NACK of $N writes acknowledged: the servers did not recover"
# The servers recovered: new writes succeed through both.
"$SERVER_BIN" entry create -socketPath "$SOCK_A" -entryID after-a -parentID "spiffe://$TD/agent/x" \
  -spiffeID "spiffe://$TD/w/after-a" -selector unix:uid:77777 >/dev/null || fail "write via A after restart"
"$SERVER_BIN" entry create -socketPath "$SOCK_B" -entryID after-b -parentID "spiffe://$TD/agent/x" \
  -spiffeID "spiffe://$TD/w/after-b" -selector unix:uid:77778 >/dev/null || fail "write via B after restart"
# Every acknowledged write is there, seen through either server.
"$SERVER_BIN" entry show -socketPath "$SOCK_A" -output json >"$T/all-a.json" || fail "entry show A"
"$SERVER_BIN" entry show -socketPath "$SOCK_B" -output json >"$T/all-b.json" || fail "entry show B"
for f in all-a all-b; do
  /usr/bin/python3 - "$T/$f.json" "$ACKED" <<'PY' || fail "acknowledged writes missing ($f)"
import json, sys
doc = json.load(open(sys.argv[1]))
entries = doc.get("entries", doc) if isinstance(doc, dict) else doc
ids = {e.get("id") for e in entries}
acked = [l.strip() for l in open(sys.argv[2]) if l.strip()]
missing = [a for a in acked if a not in ids]
if missing:
    print("missing:", missing[:10], "... total", len(missing), file=sys.stderr)
    sys.exit(1)
PY
done
grep -q "PostgreSQL connection problem\|connection to PostgreSQL lost" "$T/server-a.log" "$T/server-b.log" ||
  echo "   (no server saw the restart mid-transaction)"

# ---------------------------------------------------------------------------------------------------------------
if [[ ! -x $AGENT_BIN ]]; then
  echo "== agent parts skipped: $AGENT_BIN not built"
  echo "PASS (servers only)"
  exit 0
fi

step "two agents: one attested through A, one through B; both know both servers"
"$SERVER_BIN" bundle show -socketPath "$SOCK_A" >"$T/bootstrap.pem" || fail "bundle show"
UID_NOW=$(id -u)
start_agent() {  # name server_sock first_port second_port
  local n=$1 sock=$2 p1=$3 p2=$4 token
  token=$("$SERVER_BIN" token generate -socketPath "$sock" -ttl 600 | sed -n 's/^Token: //p')
  [[ -n $token ]] || fail "no join token for $n"
  eval "TOKEN_${n//-/_}=$token"
  mkdir -p "$T/$n/data"
  # gRPC's ipv4: resolver takes an address list; the agent joins server_address and server_port, so this names
  # both servers, first the one to attest with (pick_first fails over to the next).
  cat >"$T/$n.conf" <<CONF
agent {
  data_dir = "$T/$n/data"
  log_level = "DEBUG"
  server_address = "ipv4:127.0.0.1:$p1,127.0.0.1"
  server_port = $p2
  socket_path = "$T/$n/public/api.sock"
  trust_bundle_path = "$T/bootstrap.pem"
  trust_domain = "$TD"
  join_token = "$token"
  experimental {
    sync_interval = "1s"
  }
}
plugins {
  NodeAttestor "join_token" {
    plugin_data {}
  }
  KeyManager "disk" {
    plugin_data {
      directory = "$T/$n/data"
    }
  }
  WorkloadAttestor "unix" {
    plugin_data {}
  }
}
CONF
  "$AGENT_BIN" run -config "$T/$n.conf" >>"$T/$n.log" 2>&1 &
  PIDS+=($!)
  eval "PID_${n//-/_}=$!"
}
start_agent agent-a "$SOCK_A" "$PORT_A" "$PORT_B"
start_agent agent-b "$SOCK_B" "$PORT_B" "$PORT_A"
AGENT_B_ID=spiffe://$TD/spire/agent/join_token/$TOKEN_agent_b
AGENT_A_ID=spiffe://$TD/spire/agent/join_token/$TOKEN_agent_a

step "an entry created through A gives a workload on B's agent its SVID"
"$SERVER_BIN" entry create -socketPath "$SOCK_A" -entryID wl-b -parentID "$AGENT_B_ID" \
  -spiffeID "spiffe://$TD/workload-b" -selector "unix:uid:$UID_NOW" -x509SVIDTTL 20 >/dev/null || fail "entry create"
"$SERVER_BIN" entry create -socketPath "$SOCK_B" -entryID wl-a -parentID "$AGENT_A_ID" \
  -spiffeID "spiffe://$TD/workload-a" -selector "unix:uid:$UID_NOW" -x509SVIDTTL 20 >/dev/null || fail "entry create"
fetch() {  # agent-name expected-id
  "$AGENT_BIN" api fetch x509 -socketPath "$T/$1/public/api.sock" -write "$T/$1/out" >"$T/$1/fetch.out" 2>&1 &&
    grep -q "$2" "$T/$1/fetch.out"
}
retry 60 fetch agent-b "spiffe://$TD/workload-b" || fail "workload on agent B got no SVID for the entry made via A"
retry 60 fetch agent-a "spiffe://$TD/workload-a" || fail "workload on agent A got no SVID for the entry made via B"

step "kill -9 server A: the agents keep renewing through B"
kill -9 "$PID_server_a"
wait "$PID_server_a" 2>/dev/null || true
# Every SVID serial the agent's workload currently holds.
serial() { for f in "$T/$1"/out/svid.*.pem; do openssl x509 -noout -serial -in "$f" 2>/dev/null; done | sort | tr '\n' ' '; }
S_A=$(serial agent-a)
S_B=$(serial agent-b)
"$SERVER_BIN" entry create -socketPath "$SOCK_B" -entryID wl-a2 -parentID "$AGENT_A_ID" \
  -spiffeID "spiffe://$TD/workload-a2" -selector "unix:uid:$UID_NOW" -x509SVIDTTL 20 >/dev/null || fail "entry create B"
# x509SVIDTTL 20 s: rotation at half-life; within ~30 s both agents hold fresh SVIDs minted by B.
renewed() {  # agent expected-id old-serials: none of the old serials is still served
  fetch "$1" "$2" || return 1
  local now; now=$(serial "$1")
  for s in $3; do [[ " $now " == *" $s "* ]] && return 1; done
  return 0
}
retry 90 renewed agent-a "spiffe://$TD/workload-a" "$S_A" || fail "agent A (attested via A) did not renew through B"
retry 90 renewed agent-b "spiffe://$TD/workload-b" "$S_B" || fail "agent B did not renew after A died"
retry 60 fetch agent-a "spiffe://$TD/workload-a2" || fail "agent A did not get a new entry through B"

step "ban agent A through B: B's node cache lets go of it within seconds"
grep -q "is banned" "$T/agent-a.log" && fail "agent A was refused as banned before the ban"
"$SERVER_BIN" agent ban -socketPath "$SOCK_B" -spiffeID "$AGENT_A_ID" >/dev/null || fail "agent ban"
banned() { grep -q "agent $AGENT_A_ID is banned" "$T/agent-a.log"; }
retry 20 banned || fail "agent A's calls were not refused within 10 s of its ban"
echo "PASS"
