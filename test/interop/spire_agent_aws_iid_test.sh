#!/usr/bin/env bash
# Interop: the real SPIRE v1.13.3 spire-agent with its plain aws_iid NodeAttestor (ec2_metadata_endpoint pointing at
# this repository's imds-emulator, whose TEST "AWS" certificate is the server's aws_certificates_path) against
# spire-cvm's server with NodeAttestor "aws_iid" and a sev_snp block. SPIRE's payload does not announce
# "sev_snp_challenge", so the server sends no challenge (which SPIRE's agent could not answer) and decides:
#   (a) sev_snp { required = false }: admitted on the IID alone. `agent show` lists SPIRE's aws_iid ID and the IID
#       selectors (no sev_snp:/measurements: ones); a workload gets the SVID of an entry under a node alias on
#       aws_iid selectors, through SPIRE's agent (go-spiffe x509fetch).
#   (b) sev_snp { required = true }: refused; spire-cvm's log and SPIRE's agent log carry "SEV-SNP evidence is
#       required", and the instance is not attested.
# Usage: spire_agent_aws_iid_test.sh <build-dir>
set -euo pipefail
source "$(dirname "$0")/lib.sh"

need_cvm_binaries
IMDS_BIN=$BUILD/tools/imds_emulator/imds-emulator
[[ -x $IMDS_BIN ]] || skip "$IMDS_BIN not built"
need_peers go
BIN=$PEERS/bin
SA=$BIN/spire-agent
for c in x509fetch spire-agent; do [[ -x $BIN/$c ]] || fail "missing $BIN/$c"; done
ACCOUNT=123456789012
REGION=us-east-1

step "IMDS emulators for two instances (TEST signing key; its certificate in $T/awscerts)"
start_imds() { # start_imds NAME INSTANCE-ID
  "$IMDS_BIN" --state-dir "$T/imds-state" --certs-dir "$T/awscerts" --account-id "$ACCOUNT" --region "$REGION" \
    --instance-id "$2" --ready-file "$T/$1.port" >"$T/$1.log" 2>&1 &
  PIDS+=($!)
  retry 60 test -s "$T/$1.port" || fail "imds-emulator $1 not ready: $(cat "$T/$1.log")"
}
start_imds imds-a i-0aaaaaaaaaaaaaaaa
start_imds imds-b i-0bbbbbbbbbbbbbbbb

aws_iid_block() { # aws_iid_block true|false
  cat <<HCL
  NodeAttestor "aws_iid" {
    plugin_data {
      aws_certificates_path = "$T/awscerts"
      account_ids = ["$ACCOUNT"]
      sev_snp {
        required = $1
        kds_fetch = false
      }
    }
  }
HCL
}

# start_spire_agent NAME IMDS-NAME: SPIRE's agent with its aws_iid attestor, against spire-cvm's server.
start_spire_agent() {
  mkdir -p "$T/$1/data"
  mkdir -p -m 755 "$T/$1/public"
  cat >"$T/$1.conf" <<CONF
agent {
  data_dir = "$T/$1/data"
  log_level = "DEBUG"
  server_address = "127.0.0.1"
  server_port = "$CVM_PORT"
  socket_path = "$T/$1/public/api.sock"
  trust_bundle_path = "$T/cvm-bundle.pem"
  trust_domain = "$TD"
}
plugins {
  NodeAttestor "aws_iid" {
    plugin_data {
      ec2_metadata_endpoint = "http://127.0.0.1:$(cat "$T/$2.port")"
    }
  }
  KeyManager "disk" {
    plugin_data {
      directory = "$T/$1/data"
    }
  }
  WorkloadAttestor "unix" {
    plugin_data {
      discover_workload_path = true
    }
  }
}
CONF
  # No AWS credentials or region are involved: the plugin only reads IMDS. Keep the SDK away from ~/.aws.
  AWS_CONFIG_FILE=/dev/null AWS_SHARED_CREDENTIALS_FILE=/dev/null \
    "$SA" run -config "$T/$1.conf" >"$T/$1.log" 2>&1 &
  SPIRE_AGENT_PID=$!
  PIDS+=($!)
  LOGS+=("$T/$1.log")
}

step "(a) spire-cvm server: aws_iid with sev_snp { required = false }"
start_cvm_server "$(aws_iid_block false)"
AGENT_A=spiffe://$TD/spire/agent/aws_iid/$ACCOUNT/$REGION/i-0aaaaaaaaaaaaaaaa

step "(a) SPIRE's agent attests with its plain aws_iid payload"
start_spire_agent spire-agent-a imds-a
retry 120 "$SA" healthcheck -socketPath "$T/spire-agent-a/public/api.sock" \
  || fail "SPIRE agent (aws_iid) not healthy against spire-cvm's server"
expect "$T/spire-agent-a.log" "Node attestation was successful.*spiffe_id=\"?$AGENT_A" \
  "SPIRE agent did not attest as $AGENT_A"
expect "$T/cvm-server.log" "$AGENT_A did not announce \"sev_snp_challenge\".*continuing on the instance identity document alone" \
  "spire-cvm did not log the IID-only admission"
if grep -q "plugin closed stream" "$T/spire-agent-a.log"; then fail "SPIRE's agent was sent a challenge"; fi
show_a() { "$CVM_SERVER" agent show -socketPath "$CVM_SSOCK" -spiffeID "$AGENT_A" >"$T/agent-a.show" 2>&1; }
retry 30 show_a || fail "agent show: $(cat "$T/agent-a.show")"
cat "$T/agent-a.show"
expect "$T/agent-a.show" "Attestation type +: aws_iid$" "agent show: attestation type"
for sel in "account_id:$ACCOUNT" "region:$REGION" "az:${REGION}a" "instance:id:i-0aaaaaaaaaaaaaaaa" \
  "image:id:ami-0123456789abcdef0" "instance:type:m6a.large"; do
  expect "$T/agent-a.show" "aws_iid:$sel\$" "agent show lacks the selector aws_iid:$sel"
done
if grep -Eq "aws_iid:(sev_snp:|measurements:)" "$T/agent-a.show"; then
  fail "an agent without SEV-SNP evidence got SEV-SNP selectors"
fi
"$CVM_SERVER" agent list -socketPath "$CVM_SSOCK" >"$T/agents.out" 2>&1 || fail "agent list"
expect "$T/agents.out" "SPIFFE ID +: $AGENT_A$" "agent list does not list the SPIRE agent"

step "(a) a workload under a node alias on aws_iid selectors gets its SVID through SPIRE's agent"
ALIAS=spiffe://$TD/node/aws/$ACCOUNT/$REGION
"$CVM_SERVER" entry create -socketPath "$CVM_SSOCK" -node -spiffeID "$ALIAS" \
  -selector "aws_iid:account_id:$ACCOUNT" -selector "aws_iid:region:$REGION" >>"$T/entries.log" 2>&1 \
  || fail "node alias entry: $(cat "$T/entries.log")"
"$CVM_SERVER" entry create -socketPath "$CVM_SSOCK" -parentID "$ALIAS" -spiffeID "spiffe://$TD/aws-workload" \
  -selector "unix:uid:$UID_NOW" -selector "unix:path:$BIN/x509fetch" >>"$T/entries.log" 2>&1 \
  || fail "workload entry: $(cat "$T/entries.log")"
S=(-socket "$T/spire-agent-a/public/api.sock")
retry 60 "$BIN/x509fetch" "${S[@]}" -timeout 5s || fail "x509fetch through SPIRE's aws_iid agent"
"$BIN/x509fetch" "${S[@]}" >"$T/x509.out" 2>&1 || fail "x509fetch: $(cat "$T/x509.out")"
cat "$T/x509.out"
expect "$T/x509.out" "^spiffe_id=spiffe://$TD/aws-workload$" "wrong SPIFFE ID"
expect "$T/x509.out" "^verified=spiffe://$TD/aws-workload$" "SVID did not verify against the served bundle"
SERVER_ROOT=$(openssl x509 -in "$T/cvm-bundle.pem" -outform DER | sha256sum | cut -d' ' -f1)
expect "$T/x509.out" "^root_sha256=$SERVER_ROOT$" "the SPIRE agent served a root spire-cvm does not publish"
kill "$SPIRE_AGENT_PID" 2>/dev/null || true
wait "$SPIRE_AGENT_PID" 2>/dev/null || true

step "(b) spire-cvm server restarted with sev_snp { required = true }"
kill "$CVM_SERVER_PID"
wait "$CVM_SERVER_PID" 2>/dev/null || true
sed -i 's/required = false/required = true/' "$T/cvm-server.conf"
grep -q "required = true" "$T/cvm-server.conf" || fail "server config not switched to required = true"
mv "$T/cvm-server.log" "$T/cvm-server-a.log"
"$CVM_SERVER" run -config "$T/cvm-server.conf" >"$T/cvm-server.log" 2>&1 &
CVM_SERVER_PID=$!
PIDS+=($!)
retry 60 "$CVM_SERVER" healthcheck -socketPath "$CVM_SSOCK" || fail "spire-cvm server not healthy after the restart"
"$CVM_SERVER" bundle show -socketPath "$CVM_SSOCK" >"$T/cvm-bundle.pem" || fail "bundle show"

step "(b) SPIRE's agent on another instance is refused: SEV-SNP evidence is required"
AGENT_B=spiffe://$TD/spire/agent/aws_iid/$ACCOUNT/$REGION/i-0bbbbbbbbbbbbbbbb
start_spire_agent spire-agent-b imds-b
refused() { grep -q "SEV-SNP evidence is required" "$T/spire-agent-b.log"; }
retry 120 refused || fail "SPIRE's agent log does not say SEV-SNP evidence is required"
grep "SEV-SNP evidence is required" "$T/spire-agent-b.log" | head -1 | sed 's/^time=[^ ]* //'
expect "$T/spire-agent-b.log" "PermissionDenied.*SEV-SNP evidence is required.*$AGENT_B.*sev_snp_challenge" \
  "SPIRE's agent did not get PermissionDenied naming the missing announcement"
expect "$T/cvm-server.log" "node attestation \(aws_iid\) failed: PERMISSION_DENIED: aws_iid: SEV-SNP evidence is required" \
  "spire-cvm did not log the refusal"
if grep -q "Node attestation was successful" "$T/spire-agent-b.log"; then fail "SPIRE's agent attested"; fi
if grep -q "plugin closed stream" "$T/spire-agent-b.log"; then fail "SPIRE's agent was sent a challenge"; fi
if "$CVM_SERVER" agent show -socketPath "$CVM_SSOCK" -spiffeID "$AGENT_B" >"$T/agent-b.show" 2>&1; then
  fail "the refused instance is attested: $(cat "$T/agent-b.show")"
fi

echo "PASS"
