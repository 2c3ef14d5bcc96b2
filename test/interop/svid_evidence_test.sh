#!/usr/bin/env bash
# Interop (issue 16): SEV-SNP evidence carried in SVIDs, checked by a go-spiffe relying party at the handshake.
# spire-cvm's server admits agent S with aws_iid + a simulated SEV-SNP report (IMDS emulator, simulator chain under
# insecure_extra_roots, sev_snp.svid_evidence = true) and agent J with a join token. Then:
#   1. S's own agent SVID and its workloads' X509-SVIDs carry the node facts; `spire-agent api fetch x509` prints
#      them; go-spiffe's X509Source parses and verifies the SVID (the extension breaks no Go client);
#   2. cvm-mtls-server (go-spiffe, test/interop/cmd) admits a workload on S whose measurement is on its list;
#   3. the same server refuses a workload on J (its SVID carries no facts), and, restarted with another
#      measurement list, refuses S's workload too.
# Usage: svid_evidence_test.sh <build-dir>     (KEEP=1 keeps $T, with the SVIDs written under $T/svid)
set -euo pipefail
source "$(dirname "$0")/lib.sh"

need_cvm_binaries
IMDS_BIN=$BUILD/tools/imds_emulator/imds-emulator
[[ -x $IMDS_BIN ]] || skip "$IMDS_BIN not built"
need_peers go
BIN=$PEERS/bin
for c in x509fetch mtls-client cvm-mtls-server; do [[ -x $BIN/$c ]] || fail "missing $BIN/$c"; done

ACCOUNT=123456789012
REGION=us-east-1
MEAS=$(printf 'cd%.0s' $(seq 48))
OTHER=$(printf 'ef%.0s' $(seq 48))

step "IMDS emulator; agent S's config (validate creates the SEV-SNP simulator chain)"
"$IMDS_BIN" --state-dir "$T/imds-state" --certs-dir "$T/awscerts" --instance-id i-0aaaaaaaaaaaaaaaa \
  --region "$REGION" --account-id "$ACCOUNT" --ready-file "$T/imds.port" >"$T/imds.log" 2>&1 &
PIDS+=($!)
LOGS+=("$T/imds.log")
retry 60 test -s "$T/imds.port" || fail "imds emulator not ready"
write_sev_agent_conf() {
  mkdir -p -m 755 "$T/sev-agent"
  cat >"$T/sev-agent.conf" <<CONF
agent {
  data_dir = "$T/sev-agent/data"
  log_level = "DEBUG"
  server_address = "127.0.0.1"
  server_port = $CVM_PORT
  socket_path = "$T/sev-agent/public/api.sock"
  trust_bundle_path = "$T/cvm-bundle.pem"
  trust_domain = "$TD"
  experimental {
    sync_interval = "1s"
  }
}
plugins {
  NodeAttestor "aws_iid" {
    plugin_data {
      ec2_metadata_endpoint = "http://127.0.0.1:$(cat "$T/imds.port")"
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
    plugin_data {
      discover_workload_path = true
    }
  }
}
CONF
}
CVM_PORT=8081 # placeholder until the server has its port
write_sev_agent_conf
"$CVM_AGENT" validate -config "$T/sev-agent.conf" >"$T/sev-agent.validate.log" 2>&1 \
  || fail "agent S config invalid: $(cat "$T/sev-agent.validate.log")"
[[ -s $T/sim/ark.pem ]] || fail "validating agent S did not create the simulator chain: $(cat "$T/sev-agent.validate.log")"

step "server: join_token and aws_iid + sev_snp (svid_evidence = true)"
start_cvm_server "  NodeAttestor \"aws_iid\" {
    plugin_data {
      aws_certificates_path = \"$T/awscerts\"
      account_ids = [\"$ACCOUNT\"]
      sev_snp {
        required = true
        insecure_extra_roots = [\"$T/sim/ark.pem\"]
        kds_fetch = false
        svid_evidence = true
      }
    }
  }"
write_sev_agent_conf
"$CVM_AGENT" run -config "$T/sev-agent.conf" >"$T/sev-agent.log" 2>&1 &
PIDS+=($!)
LOGS+=("$T/sev-agent.log")
SEV_SOCK=$T/sev-agent/public/api.sock
retry 60 "$CVM_AGENT" healthcheck -socketPath "$SEV_SOCK" || fail "agent S not healthy"
SEV_AGENT_ID=spiffe://$TD/spire/agent/aws_iid/$ACCOUNT/$REGION/i-0aaaaaaaaaaaaaaaa

cvm_token
start_cvm_agent jt-agent
JT_SOCK=$CVM_ASOCK

sev_entry() {
  "$CVM_SERVER" entry create -socketPath "$CVM_SSOCK" -parentID "$SEV_AGENT_ID" "$@" >>"$T/entries.log" 2>&1 \
    || fail "entry create $*"
}
sev_entry -spiffeID "spiffe://$TD/cvm/server" -selector "unix:uid:$UID_NOW" -selector "unix:path:$BIN/cvm-mtls-server"
sev_entry -spiffeID "spiffe://$TD/cvm/client" -selector "unix:uid:$UID_NOW" -selector "unix:path:$BIN/mtls-client"
sev_entry -spiffeID "spiffe://$TD/cvm/x509fetch" -selector "unix:uid:$UID_NOW" -selector "unix:path:$BIN/x509fetch"
sev_entry -spiffeID "spiffe://$TD/cvm/cli" -selector "unix:uid:$UID_NOW" -selector "unix:path:$CVM_AGENT"
cvm_entry -spiffeID "spiffe://$TD/plain/client" -selector "unix:uid:$UID_NOW" -selector "unix:path:$BIN/mtls-client"

step "1. the workload SVID carries the facts: spire-agent api fetch x509 prints them"
mkdir -p "$T/svid"
retry 60 "$CVM_AGENT" api fetch x509 -socketPath "$SEV_SOCK" -write "$T/svid" >"$T/fetch.out" 2>&1 \
  || fail "api fetch x509: $(cat "$T/fetch.out")"
"$CVM_AGENT" api fetch x509 -socketPath "$SEV_SOCK" >"$T/fetch.out" 2>&1 || fail "api fetch x509"
cat "$T/fetch.out"
expect "$T/fetch.out" "^SPIFFE ID:[[:space:]]+spiffe://$TD/cvm/cli$" "fetch x509: wrong SPIFFE ID"
expect "$T/fetch.out" "^Node facts:$" "fetch x509 printed no node facts"
expect "$T/fetch.out" "measurement:[[:space:]]+$MEAS$" "fetch x509: wrong measurement"
expect "$T/fetch.out" "signing key:[[:space:]]+VLEK \(CN=cc-$REGION.amazonaws.com\)$" "fetch x509: signing key"
expect "$T/fetch.out" "AWS account:[[:space:]]+$ACCOUNT$" "fetch x509: AWS account"
openssl x509 -in "$T/svid/svid.0.pem" -noout -text >"$T/svid.txt"
expect "$T/svid.txt" "X509v3 Subject Directory Attributes: *$" "the extension is not there, or is critical"
openssl x509 -in "$T/svid/svid.0.pem" -outform DER -out "$T/svid/svid.0.der"
openssl asn1parse -inform DER -in "$T/svid/svid.0.der" >"$T/svid.asn1" || fail "openssl asn1parse"

step "1b. go-spiffe's X509Source parses and verifies the SVID carrying the extension"
"$BIN/x509fetch" -socket "$SEV_SOCK" >"$T/x509.out" 2>&1 || fail "x509fetch: $(cat "$T/x509.out")"
expect "$T/x509.out" "^verified=spiffe://$TD/cvm/x509fetch$" "go-spiffe did not verify the SVID"

step "1c. spire-server agent show prints S's facts (those its own SVID carries), none for J"
"$CVM_SERVER" agent show -socketPath "$CVM_SSOCK" -spiffeID "$SEV_AGENT_ID" >"$T/show-s.out" 2>&1 \
  || fail "agent show S: $(cat "$T/show-s.out")"
cat "$T/show-s.out"
expect "$T/show-s.out" "^Node facts +:$" "agent show S printed no node facts"
expect "$T/show-s.out" "measurement:[[:space:]]+$MEAS$" "agent show S: wrong measurement"
"$CVM_SERVER" agent show -socketPath "$CVM_SSOCK" -spiffeID "$CVM_AGENT_ID" >"$T/show-j.out" 2>&1 \
  || fail "agent show J: $(cat "$T/show-j.out")"
if grep -q "Node facts" "$T/show-j.out"; then fail "agent show J printed node facts"; fi
AGENT_SVID=$(ls "$T/sev-agent/data"/*svid* 2>/dev/null | head -1 || true)
if [[ -n $AGENT_SVID ]]; then
  echo "   agent S's own SVID file: $AGENT_SVID"
fi

step "2. cvm-mtls-server admits the workload on the SEV-SNP node (measurement on its list)"
run_server() {  # run_server <name> <measurements> <conns>
  rm -f "$T/$1.addr"
  "$BIN/cvm-mtls-server" -socket "$SEV_SOCK" -trust-domain "$TD" -allow-measurements "$2" -conns "$3" \
    -addr-file "$T/$1.addr" -timeout 60s >"$T/$1.out" 2>&1 &
  SRV_PID=$!
  PIDS+=($SRV_PID)
  retry 60 test -s "$T/$1.addr" || fail "cvm-mtls-server $1 did not listen: $(cat "$T/$1.out")"
}
run_server rp "$MEAS" 2
"$BIN/mtls-client" -socket "$SEV_SOCK" -addr "$(cat "$T/rp.addr")" -expect "spiffe://$TD/cvm/server" \
  >"$T/client-sev.out" 2>&1 || fail "client on the SEV-SNP node: $(cat "$T/client-sev.out")"
expect "$T/client-sev.out" "^reply=hello spiffe://$TD/cvm/client$" "no reply over mTLS"

step "3. the same server refuses a workload on the join_token node"
if "$BIN/mtls-client" -socket "$JT_SOCK" -addr "$(cat "$T/rp.addr")" -expect "spiffe://$TD/cvm/server" \
  -timeout 10s >"$T/client-jt.out" 2>&1; then
  fail "the join_token node's workload completed the exchange: $(cat "$T/client-jt.out")"
fi
wait "$SRV_PID" || fail "cvm-mtls-server: $(cat "$T/rp.out")"
cat "$T/rp.out"
expect "$T/rp.out" "^accepted spiffe://$TD/cvm/client measurement=$MEAS region=$REGION" "server did not admit S"
expect "$T/rp.out" "^refused: .*spiffe://$TD/plain/client: the SVID carries no node facts" \
  "server did not refuse J's workload for lacking facts"

step "3b. a measurement not on the list is refused"
run_server rp2 "$OTHER" 1
if "$BIN/mtls-client" -socket "$SEV_SOCK" -addr "$(cat "$T/rp2.addr")" -expect "spiffe://$TD/cvm/server" \
  -timeout 10s >"$T/client-sev2.out" 2>&1; then
  fail "a workload with a measurement off the list completed the exchange"
fi
wait "$SRV_PID" || fail "cvm-mtls-server rp2: $(cat "$T/rp2.out")"
cat "$T/rp2.out"
expect "$T/rp2.out" "^refused: .*measurement $MEAS is not on the list" "server did not refuse the measurement"

echo "PASS"
