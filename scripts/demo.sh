#!/usr/bin/env bash
# `make demo`: the whole confidential attestation flow on one machine, with the test/demo-only IMDSv2
# emulator and SEV-SNP simulator standing in for AWS and the AMD secure processor.
#   1. spire-server: SQLite, NodeAttestor aws_iid with sev_snp required, the simulator's AMD-like root
#      trusted ONLY through the insecure_extra_roots option;
#   2. an IMDSv2 emulator serving a signed instance identity document;
#   3. spire-agent with the simulated SEV-SNP report provider: it attests; we show its agent ID and selectors;
#   4. a node-alias entry on aws_iid:measurements:<hex> and a workload entry under it; the workload fetches
#      its X509-SVID from the Workload API and `openssl verify` checks it against the trust bundle;
#   5. a second agent whose simulated report has DEBUG set is refused, and we show why;
#   6. everything stops.
# Usage: scripts/demo.sh <build-dir>
set -euo pipefail

BUILD=$(cd "${1:-build/release}" && pwd)
SERVER=$BUILD/src/cli/server/spire-server
AGENT=$BUILD/src/cli/agent/spire-agent
IMDS=$BUILD/tools/imds_emulator/imds-emulator
SIM=$BUILD/tools/sevsnp_sim/sevsnp-sim
for b in "$SERVER" "$AGENT" "$IMDS" "$SIM"; do [[ -x $b ]] || { echo "demo: $b is not built (run make demo)"; exit 1; }; done

D=$(mktemp -d /tmp/spire-cvm-demo.XXXXXX)
chmod 755 "$D"
PIDS=()
cleanup() {
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null || true; done
  [[ ${KEEP:-0} == 1 ]] && echo "(kept $D)" || rm -rf "$D"
}
trap cleanup EXIT
bold() { printf '\n\033[1m%s\033[0m\n' "$*"; }
say() { printf '   %s\n' "$*"; }
die() { echo "demo failed: $*" >&2; for l in "$D"/*.log; do echo "--- $l"; tail -20 "$l"; done >&2; exit 1; }
retry() { local n=$1; shift; for ((i = 0; i < n; i++)); do if "$@" >/dev/null 2>&1; then return 0; fi; sleep 0.5; done; "$@"; }
free_port() { /usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

TD=example.org
ACCOUNT=123456789012
REGION=us-east-1
PORT=$(free_port)
SSOCK=$D/server/api.sock
# The simulated launch measurement (on real hardware: AWS's UEFI firmware + vCPU count, see docs/security.md).
MEAS=$(printf 'c0ffee%.0s' $(seq 16))

bold "1. The SEV-SNP simulator's AMD-like chain (TEST/DEMO ONLY)"
ARK=$("$SIM" init -dir "$D/sim" -csp-id "CN=cc-$REGION.amazonaws.com")
say "ARK -> ASK/ASVK -> VCEK/VLEK written to $D/sim; the server will trust $ARK only via insecure_extra_roots"

bold "2. spire-server: SQLite, aws_iid with sev_snp required"
mkdir -p "$D/server"
cat >"$D/server.conf" <<CONF
server {
  bind_address = "127.0.0.1"
  bind_port = $PORT
  socket_path = "$SSOCK"
  trust_domain = "$TD"
  data_dir = "$D/server"
  log_level = "INFO"
}
plugins {
  DataStore "sql" {
    plugin_data {
      database_type = "sqlite3"
      connection_string = "$D/server/datastore.sqlite3"
    }
  }
  KeyManager "disk" {
    plugin_data { keys_path = "$D/server/keys.json" }
  }
  NodeAttestor "aws_iid" {
    plugin_data {
      aws_certificates_path = "$D/awscerts"
      account_ids = ["$ACCOUNT"]
      sev_snp {
        required = true
        insecure_extra_roots = ["$ARK"]
        policy {
          allow_debug = false
          allowed_signing_keys = ["VLEK", "VCEK"]
        }
      }
    }
  }
}
CONF

bold "3. IMDSv2 emulators (TEST/DEMO ONLY) for two EC2 instances"
start_imds() {
  "$IMDS" --state-dir "$D/imds-state" --certs-dir "$D/awscerts" --instance-id "$2" --region "$REGION" \
    --account-id "$ACCOUNT" --instance-type m6a.large --ready-file "$D/$1.port" >"$D/$1.log" 2>&1 &
  PIDS+=($!)
  retry 60 test -s "$D/$1.port" || die "IMDS emulator $1 did not start"
  say "$2: http://127.0.0.1:$(cat "$D/$1.port") (documents signed by a test 'AWS' key, its certificate in $D/awscerts)"
}
start_imds imds-1 i-0123456789abcdef0
start_imds imds-2 i-0fedcba9876543210

"$SERVER" run -config "$D/server.conf" >"$D/server.log" 2>&1 &
PIDS+=($!)
retry 60 "$SERVER" healthcheck -socketPath "$SSOCK" || die "server not healthy"
"$SERVER" bundle show -socketPath "$SSOCK" >"$D/bundle.pem"
say "server healthy on 127.0.0.1:$PORT; trust bundle saved for the agents' bootstrap"

agent_conf() {  # agent_conf <name> <imds> <extra simulator keys>
  mkdir -p -m 755 "$D/$1"
  cat >"$D/$1.conf" <<CONF
agent {
  trust_domain = "$TD"
  server_address = "127.0.0.1"
  server_port = $PORT
  socket_path = "$D/$1/api.sock"
  data_dir = "$D/$1/data"
  trust_bundle_path = "$D/bundle.pem"
  log_level = "INFO"
  experimental { sync_interval = "1s" }
}
plugins {
  NodeAttestor "aws_iid" {
    plugin_data {
      ec2_metadata_endpoint = "http://127.0.0.1:$(cat "$D/$2.port")"
      sev_snp {
        report_provider = "simulated"
        simulator {
          dir = "$D/sim"
          measurement = "$MEAS"
$3
        }
      }
    }
  }
  KeyManager "disk" { plugin_data { directory = "$D/$1/data" } }
  WorkloadAttestor "unix" { plugin_data {} }
}
CONF
}

bold "4. spire-agent on instance i-0123456789abcdef0 with the simulated SEV-SNP report provider"
agent_conf agent-1 imds-1 ""
"$AGENT" validate -config "$D/agent-1.conf" >/dev/null || { "$AGENT" validate -config "$D/agent-1.conf"; die "agent config"; }
"$AGENT" run -config "$D/agent-1.conf" >"$D/agent-1.log" 2>&1 &
PIDS+=($!)
retry 60 "$AGENT" healthcheck -socketPath "$D/agent-1/api.sock" || die "agent did not attest"
AGENT_ID=spiffe://$TD/spire/agent/aws_iid/$ACCOUNT/$REGION/i-0123456789abcdef0
say "attested: IID verified, SEV-SNP report bound to the server's nonce, the agent's key and the IID"
"$SERVER" agent show -socketPath "$SSOCK" -spiffeID "$AGENT_ID" | sed 's/^/   /'

bold "5. Entries: a node alias on the measurement, a workload under it"
"$SERVER" entry create -socketPath "$SSOCK" -node -spiffeID "spiffe://$TD/cvm/measured-nodes" \
  -selector "aws_iid:measurements:$MEAS" | sed 's/^/   /'
"$SERVER" entry create -socketPath "$SSOCK" -parentID "spiffe://$TD/cvm/measured-nodes" \
  -spiffeID "spiffe://$TD/cvm/payments" -selector "unix:uid:$(id -u)" | sed 's/^/   /'

bold "6. The workload fetches its X509-SVID from the Workload API"
retry 60 "$AGENT" api fetch x509 -socketPath "$D/agent-1/api.sock" -write "$D/svid" || die "no SVID"
ID=$(openssl x509 -in "$D/svid/svid.0.pem" -noout -ext subjectAltName | grep -o 'spiffe://[^, ]*')
say "workload SPIFFE ID: $ID"
openssl verify -CAfile "$D/svid/bundle.0.pem" "$D/svid/svid.0.pem" | sed 's/^/   openssl verify: /'

bold "7. A second agent whose SEV-SNP report has POLICY.DEBUG set (the hypervisor could read its memory)"
agent_conf agent-2 imds-2 "          debug = true"
"$AGENT" run -config "$D/agent-2.conf" >"$D/agent-2.log" 2>&1 &
PIDS+=($!)
refused() { grep -qi "debug" "$D/agent-2.log" && grep -qi "attest" "$D/agent-2.log"; }
retry 60 refused || die "the debug agent was not refused"
say "refused; the agent's log says:"
grep -i "debug" "$D/agent-2.log" | grep -i attest | head -1 | cut -c1-400 | sed 's/^/     /'
if "$SERVER" agent show -socketPath "$SSOCK" -spiffeID "spiffe://$TD/spire/agent/aws_iid/$ACCOUNT/$REGION/i-0fedcba9876543210" >/dev/null 2>&1; then
  die "the debug agent was stored"
fi
say "and nothing was stored for it: $("$SERVER" agent count -socketPath "$SSOCK")"

bold "8. Stopping everything"
