#!/usr/bin/env bash
# End-to-end, aws_iid's AWS API checks against a real AWS API emulator: moto_server (PyPI moto[server], installed
# into the interop peers' venv by scripts/build-peers.sh) with instances, tags, a security group, an instance
# profile and an organization created through the AWS API (test/aws/moto_setup.py). The server reaches it through
# AWS_ENDPOINT_URL and a small proxy that plays AWS throttling (test/aws/throttle_proxy.py). Agents use the IMDS
# emulator (IIDs for moto's instance IDs) and the simulated SEV-SNP report provider.
#   1. an agent on the running SEV-SNP instance attests (through 2 throttled answers, retried); its selectors carry
#      tag:, sg:id:, sg:name:, iamrole: and sev_snp:cpu_option:enabled; a workload gets an SVID through a node entry
#      on those selectors;
#   2. refused, nothing stored: an instance without SEV-SNP (CpuOptions.AmdSevSnp), a stopped instance, an account
#      outside the organization (verify_organization), and AWS throttling that outlasts the retries.
# Usage: aws_moto_e2e_test.sh <build-dir>. Exit 77 (skip) when moto is not installable.
set -euo pipefail

BUILD=$(cd "${1:?usage: $0 <build-dir>}" && pwd)
SRC=$(cd "$(dirname "$0")/../.." && pwd)
SERVER_BIN=$BUILD/src/cli/server/spire-server
AGENT_BIN=$BUILD/src/cli/agent/spire-agent
IMDS_BIN=$BUILD/tools/imds_emulator/imds-emulator
for b in "$SERVER_BIN" "$AGENT_BIN" "$IMDS_BIN"; do
  [[ -x $b ]] || { echo "SKIP: $b not built"; exit 77; }
done
PEERS=$("$SRC/scripts/build-peers.sh" python 2>/dev/null) || { echo "SKIP: moto (PyPI) is not available"; exit 77; }
PY=$PEERS/venv/bin/python
"$PY" -c 'import moto.server, boto3' 2>/dev/null || { echo "SKIP: moto[server] is not installed in $PEERS/venv"; exit 77; }

T=$(mktemp -d /tmp/aws-moto-e2e.XXXXXX)
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
log_has() { grep -i "attest" "$1" | grep -qi -- "$2"; }
free_port() { /usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

TD=example.org
ACCOUNT=123456789012
FOREIGN=210987654321
REGION=us-east-1
SSOCK=$T/server/api.sock
PORT=$(free_port)
MEAS=$(printf 'cd%.0s' $(seq 48))
UID_NOW=$(id -u)

step "moto_server, then the AWS resources through the AWS API"
MOTO_PORT=$(free_port)
"$PY" "$SRC/test/aws/moto_sev_server.py" "$MOTO_PORT" >"$T/moto.log" 2>&1 &
PIDS+=($!)
moto_up() { curl -sf "http://127.0.0.1:$MOTO_PORT/moto-api/" >/dev/null; }
retry 120 moto_up || fail "moto_server did not start"
"$PY" "$SRC/test/aws/moto_setup.py" "http://127.0.0.1:$MOTO_PORT" >"$T/setup.json" 2>"$T/setup.log" ||
  fail "moto setup: $(cat "$T/setup.log")"
field() { "$PY" -c "import json,sys; print(json.load(open('$T/setup.json'))['$1'])"; }
I_SEV=$(field sev); I_PLAIN=$(field plain); I_STOPPED=$(field stopped); I_THROTTLED=$(field throttled)
SG=$(field sg); ROLE_ARN=$(field role_arn)
echo "instances: sev=$I_SEV plain=$I_PLAIN stopped=$I_STOPPED throttled=$I_THROTTLED sg=$SG"

step "throttling proxy in front of moto (first 2 requests throttled)"
PROXY_PORT=$(free_port)
"$PY" "$SRC/test/aws/throttle_proxy.py" "$PROXY_PORT" "http://127.0.0.1:$MOTO_PORT" 2 "$T/throttle" \
  >"$T/proxy.log" 2>&1 &
PIDS+=($!)
retry 60 grep -q ready "$T/proxy.log" || fail "proxy did not start"

step "IMDS emulators"
start_imds() {  # start_imds <name> <instance-id> <account>
  "$IMDS_BIN" --state-dir "$T/imds-state" --certs-dir "$T/awscerts" --instance-id "$2" --region "$REGION" \
    --account-id "$3" --ready-file "$T/$1.port" >"$T/$1.log" 2>&1 &
  PIDS+=($!)
  retry 60 test -s "$T/$1.port" || fail "imds emulator $1 not ready"
}
start_imds imds-sev "$I_SEV" $ACCOUNT
start_imds imds-plain "$I_PLAIN" $ACCOUNT
start_imds imds-stopped "$I_STOPPED" $ACCOUNT
start_imds imds-foreign i-0f0f0f0f0f0f0f0f0 $FOREIGN
start_imds imds-throttled "$I_THROTTLED" $ACCOUNT

write_agent_conf() {  # write_agent_conf <name> <imds name>
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
        report_provider = "simulated"
        simulator {
          dir = "$T/sim"
          measurement = "$MEAS"
          csp_id = "CN=cc-$REGION.amazonaws.com"
        }
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
write_agent_conf agent-sev imds-sev
[[ -s $T/sim/ark.pem ]] || fail "validating the agent did not create the simulator chain"

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
      account_ids = ["$ACCOUNT", "$FOREIGN"]
      access_key_id = "testing"
      secret_access_key = "testing"
      verify_organization {
        management_account_id = "$ACCOUNT"
      }
      sev_snp {
        required = true
        insecure_extra_roots = ["$T/sim/ark.pem"]
        kds_fetch = false
      }
    }
  }
}
CONF

step "start server (AWS_ENDPOINT_URL points at the throttling proxy)"
mkdir -p "$T/server"
AWS_ENDPOINT_URL="http://127.0.0.1:$PROXY_PORT" "$SERVER_BIN" run -config "$T/server.conf" >"$T/server.log" 2>&1 &
PIDS+=($!)
retry 60 "$SERVER_BIN" healthcheck -socketPath "$SSOCK" || fail "server not healthy"
"$SERVER_BIN" bundle show -socketPath "$SSOCK" >"$T/bootstrap.pem" || fail "bundle show"

agent_id() { echo "spiffe://$TD/spire/agent/aws_iid/$1/$REGION/$2"; }
stored() { "$SERVER_BIN" agent show -socketPath "$SSOCK" -spiffeID "$1" >"$T/show.out" 2>&1; }

step "agent on the SEV-SNP instance attests; its selectors come from moto"
"$AGENT_BIN" run -config "$T/agent-sev.conf" >"$T/agent-sev.log" 2>&1 &
PIDS+=($!)
AGENT_SEV=$(agent_id $ACCOUNT "$I_SEV")
retry 120 stored "$AGENT_SEV" || fail "agent not attested: $(cat "$T/show.out")"
for sel in "aws_iid:tag:role:web" "aws_iid:tag:env:prod" "aws_iid:sg:id:$SG" "aws_iid:sg:name:spire-nodes" \
  "aws_iid:iamrole:$ROLE_ARN" "aws_iid:sev_snp:cpu_option:enabled" "aws_iid:measurements:$MEAS"; do
  grep -q -- "$sel" "$T/show.out" || fail "agent lacks selector $sel: $(cat "$T/show.out")"
done
read -r _ THROTTLED <"$T/throttle.count"
((THROTTLED >= 2)) || fail "the proxy throttled $THROTTLED requests, expected the first 2"

step "workload SVID through a node entry on the AWS API selectors"
NODE=spiffe://$TD/node/web-sev
WID=spiffe://$TD/web
"$SERVER_BIN" entry create -socketPath "$SSOCK" -node -spiffeID "$NODE" -selector "aws_iid:tag:role:web" \
  -selector "aws_iid:sev_snp:cpu_option:enabled" >/dev/null || fail "node entry"
"$SERVER_BIN" entry create -socketPath "$SSOCK" -parentID "$NODE" -spiffeID "$WID" -selector "unix:uid:$UID_NOW" \
  >/dev/null || fail "workload entry"
retry 60 "$AGENT_BIN" api fetch x509 -socketPath "$T/agent-sev/api.sock" -write "$T/svid" || fail "api fetch x509"
openssl x509 -in "$T/svid/svid.0.pem" -noout -ext subjectAltName | grep -q "URI:$WID" || fail "wrong SPIFFE ID"

refused() {  # refused <agent name> <imds name> <account> <instance> <word in the refusal>
  write_agent_conf "$1" "$2"
  "$AGENT_BIN" run -config "$T/$1.conf" >"$T/$1.log" 2>&1 &
  PIDS+=($!)
  retry 120 log_has "$T/$1.log" "$5" || fail "$1: no refusal naming \"$5\""
  if stored "$(agent_id "$3" "$4")"; then fail "$1 was stored"; fi
}
step "refused: an instance launched without SEV-SNP"
refused agent-plain imds-plain $ACCOUNT "$I_PLAIN" "AmdSevSnp"
step "refused: a stopped instance"
refused agent-stopped imds-stopped $ACCOUNT "$I_STOPPED" "not running"
step "refused: an account outside the organization"
refused agent-foreign imds-foreign $FOREIGN i-0f0f0f0f0f0f0f0f0 "organization"
step "refused: AWS keeps throttling past the retries"
touch "$T/throttle"
refused agent-throttled imds-throttled $ACCOUNT "$I_THROTTLED" "ThrottlingException"

echo "PASS"
