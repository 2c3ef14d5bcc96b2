#!/usr/bin/env bash
# End-to-end, agent side of the confidential attestation, with the real binaries: the IMDS emulator, the
# SEV-SNP simulator's chain (created by the agent's simulated provider on first use), spire-server with aws_iid + sev_snp required (simulator ARK under
# insecure_extra_roots), and spire-agent with report_provider = "simulated".
#   1. an agent attests; `agent show` lists aws_iid:measurements:<the simulator's measurement>;
#      a workload gets an SVID only through a node-alias entry on that measurement;
#   2. an agent on another instance whose report has POLICY DEBUG is refused, with the reason in its log;
#   3. an agent with report_provider = "none" is refused because a report is required.
# Usage: sevsnp_agent_e2e_test.sh <build-dir>
set -euo pipefail

BUILD=$(cd "${1:?usage: $0 <build-dir>}" && pwd)
SERVER_BIN=$BUILD/src/cli/server/spire-server
AGENT_BIN=$BUILD/src/cli/agent/spire-agent
IMDS_BIN=$BUILD/tools/imds_emulator/imds-emulator
for b in "$SERVER_BIN" "$AGENT_BIN" "$IMDS_BIN"; do
  [[ -x $b ]] || { echo "SKIP: $b not built"; exit 77; }
done

T=$(mktemp -d /tmp/sevsnp-agent-e2e.XXXXXX)
chmod 755 "$T"
PIDS=()
cleanup() {
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null || true; done
  if [[ ${KEEP:-0} != 1 ]]; then rm -rf "$T"; else echo "kept $T"; fi
}
trap cleanup EXIT
fail() {
  echo "FAIL: $*" >&2
  for l in "$T"/*.log; do echo "--- $l" >&2; tail -30 "$l" >&2 || true; done
  exit 1
}
step() { echo "== $*"; }
retry() { local n=$1; shift; for ((i = 0; i < n; i++)); do if "$@" >/dev/null 2>&1; then return 0; fi; sleep 0.5; done; "$@"; }
# log_has <log> <word>: an attestation line of the log mentions <word> (case-insensitive).
log_has() { grep -i "attest" "$1" | grep -qi "$2"; }
free_port() { /usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

TD=example.org
ACCOUNT=123456789012
REGION=us-east-1
SSOCK=$T/server/api.sock
PORT=$(free_port)
MEAS=$(printf 'ab%.0s' $(seq 48))
UID_NOW=$(id -u)

step "IMDS emulators (three instances)"
start_imds() {  # start_imds <name> <instance-id>
  "$IMDS_BIN" --state-dir "$T/imds-state" --certs-dir "$T/awscerts" --instance-id "$2" --region "$REGION" \
    --account-id "$ACCOUNT" --ready-file "$T/$1.port" >"$T/$1.log" 2>&1 &
  PIDS+=($!)
  retry 60 test -s "$T/$1.port" || fail "imds emulator $1 not ready"
}
start_imds imds-a i-0aaaaaaaaaaaaaaaa
start_imds imds-b i-0bbbbbbbbbbbbbbbb
start_imds imds-c i-0cccccccccccccccc

write_agent_conf() {  # write_agent_conf <name> <imds name> <sev_snp block>
  mkdir -p -m 755 "$T/$1"
  cat >"$T/$1.conf" <<CONF
agent {
  data_dir = "$T/$1/data"
  log_level = "DEBUG"
  server_address = "127.0.0.1"
  server_port = $PORT
  socket_path = "$T/$1/api.sock"
  trust_bundle_path = "$T/bootstrap.pem"
  trust_domain = "$TD"
  experimental {
    sync_interval = "1s"
  }
}
plugins {
  NodeAttestor "aws_iid" {
    plugin_data {
      ec2_metadata_endpoint = "http://127.0.0.1:$(cat "$T/$2.port")"
      sev_snp {
$3
      }
    }
  }
  KeyManager "memory" {
    plugin_data {}
  }
  WorkloadAttestor "unix" {
    plugin_data {}
  }
}
CONF
  "$AGENT_BIN" validate -config "$T/$1.conf" >"$T/$1.validate.log" 2>&1 || fail "agent config $1 invalid"
}

step "agent A config: simulated SEV-SNP report with measurement $MEAS (validate creates the simulator chain)"
write_agent_conf agent-a imds-a "        report_provider = \"simulated\"
        simulator {
          dir = \"$T/sim\"
          measurement = \"$MEAS\"
          csp_id = \"CN=cc-$REGION.amazonaws.com\"
        }"
[[ -s $T/sim/ark.pem ]] || fail "validating agent A did not create the simulator chain"

cat >"$T/server.conf" <<CONF
server {
  bind_address = "127.0.0.1"
  bind_port = $PORT
  socket_path = "$SSOCK"
  trust_domain = "$TD"
  data_dir = "$T/server"
  log_level = "DEBUG"
}
plugins {
  DataStore "sql" {
    plugin_data {
      database_type = "sqlite3"
      connection_string = "$T/server/datastore.sqlite3"
    }
  }
  KeyManager "memory" {
    plugin_data {}
  }
  NodeAttestor "aws_iid" {
    plugin_data {
      aws_certificates_path = "$T/awscerts"
      account_ids = ["$ACCOUNT"]
      sev_snp {
        required = true
        insecure_extra_roots = ["$T/sim/ark.pem"]
        kds_fetch = false
      }
    }
  }
}
CONF

step "start server"
mkdir -p "$T/server"
"$SERVER_BIN" run -config "$T/server.conf" >"$T/server.log" 2>&1 &
PIDS+=($!)
retry 60 "$SERVER_BIN" healthcheck -socketPath "$SSOCK" || fail "server not healthy"
"$SERVER_BIN" bundle show -socketPath "$SSOCK" >"$T/bootstrap.pem" || fail "bundle show"

step "start agent A"
"$AGENT_BIN" run -config "$T/agent-a.conf" >"$T/agent-a.log" 2>&1 &
PIDS+=($!)
retry 60 "$AGENT_BIN" healthcheck -socketPath "$T/agent-a/api.sock" || fail "agent A not healthy"
grep -q "TEST/DEMO ONLY" "$T/agent-a.log" || fail "agent A did not warn about the simulated provider"
AGENT_A=spiffe://$TD/spire/agent/aws_iid/$ACCOUNT/$REGION/i-0aaaaaaaaaaaaaaaa
# The agent's health check can pass before the server has recorded the attestation: wait for the record.
show_agent_a() { "$SERVER_BIN" agent show -socketPath "$SSOCK" -spiffeID "$AGENT_A" >"$T/agent-a.show" 2>&1; }
retry 30 show_agent_a || fail "agent show A: $(cat "$T/agent-a.show")"
grep -q "aws_iid:measurements:$MEAS" "$T/agent-a.show" || fail "agent A lacks the measurement selector"

step "workload SVID only through an entry on the measurement"
NODE=spiffe://$TD/node/measured
WID=spiffe://$TD/confidential-workload
"$SERVER_BIN" entry create -socketPath "$SSOCK" -node -spiffeID "$NODE" -selector "aws_iid:measurements:$MEAS" \
  >/dev/null || fail "node entry"
"$SERVER_BIN" entry create -socketPath "$SSOCK" -parentID "$NODE" -spiffeID "$WID" -selector "unix:uid:$UID_NOW" \
  >/dev/null || fail "workload entry"
retry 60 "$AGENT_BIN" api fetch x509 -socketPath "$T/agent-a/api.sock" -write "$T/svid" || fail "api fetch x509"
openssl x509 -in "$T/svid/svid.0.pem" -noout -ext subjectAltName | grep -q "URI:$WID" || fail "wrong SPIFFE ID"

step "agent B: report with POLICY DEBUG is refused"
write_agent_conf agent-b imds-b "        report_provider = \"simulated\"
        simulator {
          dir = \"$T/sim\"
          measurement = \"$MEAS\"
          debug = true
        }"
"$AGENT_BIN" run -config "$T/agent-b.conf" >"$T/agent-b.log" 2>&1 &
PIDS+=($!)
retry 60 log_has "$T/agent-b.log" debug || fail "agent B: no refusal naming DEBUG"
AGENT_B=spiffe://$TD/spire/agent/aws_iid/$ACCOUNT/$REGION/i-0bbbbbbbbbbbbbbbb
if "$SERVER_BIN" agent show -socketPath "$SSOCK" -spiffeID "$AGENT_B" >/dev/null 2>&1; then
  fail "agent B was stored"
fi

step "agent C: no report while one is required is refused"
write_agent_conf agent-c imds-c "        report_provider = \"none\""
"$AGENT_BIN" run -config "$T/agent-c.conf" >"$T/agent-c.log" 2>&1 &
PIDS+=($!)
retry 60 log_has "$T/agent-c.log" required || fail "agent C: no refusal saying a report is required"
AGENT_C=spiffe://$TD/spire/agent/aws_iid/$ACCOUNT/$REGION/i-0cccccccccccccccc
if "$SERVER_BIN" agent show -socketPath "$SSOCK" -spiffeID "$AGENT_C" >/dev/null 2>&1; then
  fail "agent C was stored"
fi

step "agent D: a copy of instance A's IID answered from another guest launch is refused"
# Same IMDS (the same instance ID and IID), another simulated guest (a new REPORT_ID): what a guest holding a copy
# of A's IID can produce. A stays attested; D gets nothing.
write_agent_conf agent-d imds-a "        report_provider = \"simulated\"
        simulator {
          dir = \"$T/sim\"
          measurement = \"$MEAS\"
        }"
"$AGENT_BIN" run -config "$T/agent-d.conf" >"$T/agent-d.log" 2>&1 &
PIDS+=($!)
retry 60 log_has "$T/agent-d.log" "another launch" || fail "agent D: no refusal naming another launch"
show_agent_a || fail "agent A vanished after agent D's attempt"
grep -q "aws_iid:measurements:$MEAS" "$T/agent-a.show" || fail "agent A lost its selectors"

echo "PASS"
