#!/usr/bin/env bash
# SPIRE v1.13.3's own `spire-server` CLI against spire-cvm's admin socket, for what spire_cli_test.sh leaves out:
#   localauthority x509|jwt show|prepare|activate|taint|revoke: a full rotation (prepare -> show lists it prepared ->
#     activate -> the former active is old -> taint -> revoke), checked in `bundle show` (the prepared authority is
#     published, the tainted one marked, the revoked one gone) and in what is signed afterwards (x509 mint chains to
#     the new CA, jwt mint carries the new kid); refusals of ids that are not the prepared / old one;
#   upstreamauthority taint|revoke without an UpstreamAuthority: SPIRE's FailedPrecondition;
#   logger get|set|reset: the levels printed, and the server's log really follows them;
#   agent purge -expiredFor [-dryRun]: a re-attestable agent whose SVID expired (spire-cvm's agent with aws_iid and a
#     simulated SEV-SNP report, which our server lets re-attest) is listed by the dry run and then purged; an expired
#     join_token agent (SPIRE's; not re-attestable) is left alone, as SPIRE's CLI does.
# Usage: spire_cli_authority_test.sh <build-dir>
set -euo pipefail
source "$(dirname "$0")/lib.sh"

need_cvm_binaries
IMDS_BIN=$BUILD/tools/imds_emulator/imds-emulator
[[ -x $IMDS_BIN ]] || skip "$IMDS_BIN not built"
need_peers go
SPIRE=$PEERS/bin/spire-server
ACCOUNT=123456789012
REGION=us-east-1

step "IMDS emulator and SEV-SNP simulator chain (for the re-attestable agent of agent purge)"
MEAS=$(printf 'ab%.0s' $(seq 48))
# sev_block: our agent's simulated SEV-SNP report provider (its chain is made in $T/sim on first use).
sev_block() {
  cat <<HCL
      sev_snp {
        report_provider = "simulated"
        simulator {
          dir = "$T/sim"
          measurement = "$MEAS"
          csp_id = "CN=cc-$REGION.amazonaws.com"
        }
      }
HCL
}
# write_aws_agent_conf PORT BUNDLE: spire-cvm's agent with aws_iid + the simulated report, in $T/aws-agent.
write_aws_agent_conf() {
  mkdir -p -m 755 "$T/aws-agent"
  cat >"$T/aws-agent.conf" <<CONF
agent {
  data_dir = "$T/aws-agent/data"
  log_level = "DEBUG"
  server_address = "127.0.0.1"
  server_port = $1
  socket_path = "$T/aws-agent/api.sock"
  trust_bundle_path = "$2"
  trust_domain = "$TD"
}
plugins {
  NodeAttestor "aws_iid" {
    plugin_data {
      ec2_metadata_endpoint = "http://127.0.0.1:$(cat "$T/imds.port")"
$(sev_block)
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
}
"$IMDS_BIN" --state-dir "$T/imds-state" --certs-dir "$T/awscerts" --account-id "$ACCOUNT" --region "$REGION" \
  --instance-id i-0aaaaaaaaaaaaaaaa --ready-file "$T/imds.port" >"$T/imds.log" 2>&1 &
PIDS+=($!)
retry 60 test -s "$T/imds.port" || fail "imds-emulator not ready: $(cat "$T/imds.log")"
write_aws_agent_conf 1 /dev/null
"$CVM_AGENT" validate -config "$T/aws-agent.conf" >"$T/validate.log" 2>&1 || fail "agent config: $(cat "$T/validate.log")"
[[ -s $T/sim/ark.pem ]] || fail "validating the agent config did not make the SEV-SNP simulator chain"

# Agent SVIDs of 20 s, so that `agent purge` has an expired agent to find soon.
CVM_SERVER_EXTRA='  agent_ttl = "20s"'
start_cvm_server "$(
  cat <<HCL
  NodeAttestor "aws_iid" {
    plugin_data {
      aws_certificates_path = "$T/awscerts"
      account_ids = ["$ACCOUNT"]
      sev_snp {
        required = false
        insecure_extra_roots = ["$T/sim/ark.pem"]
        kds_fetch = false
        allow_reattestation = true
      }
    }
  }
HCL
)"
S=(-socketPath "$CVM_SSOCK")
# spire CMD...: SPIRE's CLI against our socket; output in $T/out, fails the test on a non-zero exit.
spire() { "$SPIRE" "$@" "${S[@]}" >"$T/out" 2>&1 || { cat "$T/out" >&2; fail "spire-server $*"; }; }
# spire_fails CMD...: SPIRE's CLI must fail (exit 1); output in $T/out.
spire_fails() {
  local rc=0
  "$SPIRE" "$@" "${S[@]}" >"$T/out" 2>&1 || rc=$?
  [[ $rc == 1 ]] || { cat "$T/out" >&2; fail "spire-server $* exited $rc, want 1"; }
}
# json EXPR: a Python expression over `d`, the JSON SPIRE's CLI printed in $T/out.
json() { python3 -c "import json,sys; d=json.load(open(sys.argv[1])); print($1)" "$T/out"; }
is() { [[ $1 == "$2" ]] || fail "$3: got '$1', want '$2'"; }
# bundle_skids: the subject key IDs (lowercase hex) of the X.509 authorities in `bundle show`, one per line, sorted.
bundle_skids() {
  "$SPIRE" bundle show "${S[@]}" -output json >"$T/bundle.json" || fail "bundle show -output json"
  python3 - "$T/bundle.json" <<'PY'
import base64, json, subprocess, sys
for a in json.load(open(sys.argv[1]))["x509_authorities"]:
    der = base64.b64decode(a["asn1"])
    txt = subprocess.run(["openssl", "x509", "-inform", "DER", "-noout", "-ext", "subjectKeyIdentifier"],
                         input=der, capture_output=True, check=True).stdout.decode()
    skid = txt.strip().splitlines()[-1].strip().replace(":", "").lower()
    print(skid, "tainted" if a.get("tainted") else "")
PY
}
# bundle_kids: the JWT authorities of `bundle show` as "kid [tainted]" lines.
bundle_kids() {
  "$SPIRE" bundle show "${S[@]}" -output json >"$T/bundle.json" || fail "bundle show -output json"
  python3 -c 'import json,sys
for k in json.load(open(sys.argv[1]))["jwt_authorities"]: print(k["key_id"], "tainted" if k.get("tainted") else "")' \
    "$T/bundle.json"
}
has_line() { grep -Eq "$2" <<<"$1" || fail "$3: $(tr '\n' ';' <<<"$1")"; }
lacks_line() { if grep -Eq "$2" <<<"$1"; then fail "$3: $(tr '\n' ';' <<<"$1")"; fi; }

step "localauthority x509 show: one active authority, as in our bundle"
spire localauthority x509 show -output json
X_OLD=$(json 'd["active"]["authority_id"]')
[[ $X_OLD =~ ^[0-9a-f]{40}$ ]] || fail "active X.509 authority ID is not a subject key ID: $X_OLD"
is "$(json '(d.get("prepared") or {}).get("authority_id", "")')" "" "no prepared X.509 authority at start"
has_line "$(bundle_skids)" "^$X_OLD $" "the active X.509 authority is not in the bundle"
spire localauthority x509 show
expect "$T/out" "^Active X.509 authority:$" "x509 show (pretty) heading"
expect "$T/out" "^  Authority ID: $X_OLD$" "x509 show (pretty) active ID"
expect "$T/out" "^  Upstream authority ID: No upstream authority$" "x509 show (pretty): no upstream authority"
expect "$T/out" "^  No prepared X.509 authority found$" "x509 show (pretty): nothing prepared"

step "localauthority x509 prepare: show lists it prepared, the bundle publishes it"
spire localauthority x509 prepare
expect "$T/out" "^Prepared X.509 authority:$" "x509 prepare output"
X_NEW=$(sed -n 's/^  Authority ID: //p' "$T/out")
[[ $X_NEW =~ ^[0-9a-f]{40}$ && $X_NEW != "$X_OLD" ]] || fail "x509 prepare printed no new authority ID: $(cat "$T/out")"
spire localauthority x509 show -output json
is "$(json 'd["active"]["authority_id"], d["prepared"]["authority_id"]')" "$X_OLD $X_NEW" "x509 show after prepare"
has_line "$(bundle_skids)" "^$X_NEW $" "the prepared X.509 authority is not published in the bundle"

step "refusals: activate an ID that is not the prepared one, taint / revoke the active one"
spire_fails localauthority x509 activate -authorityID "$X_OLD"
expect "$T/out" "^Error: could not activate X.509 authority: rpc error: code = InvalidArgument desc = unexpected authority ID$" \
  "activating the active X.509 authority"
spire_fails localauthority x509 taint -authorityID "$X_OLD"
expect "$T/out" "^Error: could not taint X.509 authority: rpc error: code = InvalidArgument desc = unable to taint current local authority$" \
  "tainting the active X.509 authority"
spire_fails localauthority x509 activate
expect "$T/out" "^Error: an authority ID is required$" "activate without -authorityID (SPIRE's own check)"

step "localauthority x509 activate: the prepared becomes active, the former active old; mint signs with the new CA"
spire localauthority x509 activate -authorityID "$X_NEW"
expect "$T/out" "^Activated X.509 authority:$" "x509 activate output"
expect "$T/out" "^  Authority ID: $X_NEW$" "x509 activate: authority ID"
spire localauthority x509 show -output json
is "$(json 'd["active"]["authority_id"], d["old"]["authority_id"]')" "$X_NEW $X_OLD" "x509 show after activate"
mkdir -p "$T/mint1"
spire x509 mint -spiffeID "spiffe://$TD/after-activate" -ttl 10m -write "$T/mint1"
AKID=$(openssl x509 -in "$T/mint1/svid.pem" -noout -ext authorityKeyIdentifier | grep -oE '([0-9A-F]{2}:)+[0-9A-F]{2}' \
  | head -1 | tr -d ':' | tr 'A-F' 'a-f')
is "$AKID" "$X_NEW" "an SVID minted after activation is signed by the new authority"

step "localauthority x509 taint: the old authority is marked tainted in the bundle"
spire localauthority x509 taint -authorityID "$X_OLD"
expect "$T/out" "^Tainted X.509 authority:$" "x509 taint output"
expect "$T/out" "^  Authority ID: $X_OLD$" "x509 taint: authority ID"
SKIDS=$(bundle_skids)
has_line "$SKIDS" "^$X_OLD tainted$" "the tainted X.509 authority is not marked tainted in the bundle"
has_line "$SKIDS" "^$X_NEW $" "the active X.509 authority must stay untainted"

step "localauthority x509 revoke: the tainted authority leaves the bundle; the new one verifies alone"
spire localauthority x509 revoke -authorityID "$X_OLD"
expect "$T/out" "^Revoked X.509 authority:$" "x509 revoke output"
expect "$T/out" "^  Authority ID: $X_OLD$" "x509 revoke: authority ID"
is "$(bundle_skids)" "$X_NEW " "the bundle after revocation holds exactly the new X.509 authority"
spire bundle show
cp "$T/out" "$T/bundle-new.pem"
openssl verify -CAfile "$T/bundle-new.pem" "$T/mint1/svid.pem" >/dev/null 2>&1 \
  || fail "the SVID minted after activation does not verify against the bundle after revocation"
spire_fails localauthority x509 revoke -authorityID "$X_OLD"
expect "$T/out" "^Error: could not revoke X.509 authority: rpc error: code = InvalidArgument desc = invalid authority ID: " \
  "revoking an already revoked X.509 authority"

step "localauthority jwt: show, prepare, activate, taint, revoke"
spire localauthority jwt show -output json
J_OLD=$(json 'd["active"]["authority_id"]')
[[ -n $J_OLD ]] || fail "no active JWT authority"
has_line "$(bundle_kids)" "^$J_OLD $" "the active JWT authority is not in the bundle"
spire localauthority jwt prepare
expect "$T/out" "^Prepared JWT authority:$" "jwt prepare output"
J_NEW=$(sed -n 's/^  Authority ID: //p' "$T/out")
[[ -n $J_NEW && $J_NEW != "$J_OLD" ]] || fail "jwt prepare printed no new authority ID: $(cat "$T/out")"
if grep -q "Upstream authority" "$T/out"; then fail "jwt prepare printed an upstream authority line"; fi
spire localauthority jwt show -output json
is "$(json 'd["active"]["authority_id"], d["prepared"]["authority_id"]')" "$J_OLD $J_NEW" "jwt show after prepare"
has_line "$(bundle_kids)" "^$J_NEW $" "the prepared JWT authority is not published in the bundle"
spire_fails localauthority jwt activate -authorityID "$J_OLD"
expect "$T/out" "^Error: could not activate JWT authority: rpc error: code = InvalidArgument desc = unexpected authority ID$" \
  "activating the active JWT authority"
spire localauthority jwt activate -authorityID "$J_NEW"
expect "$T/out" "^Activated JWT authority:$" "jwt activate output"
expect "$T/out" "^  Authority ID: $J_NEW$" "jwt activate: authority ID"
spire localauthority jwt show -output json
is "$(json 'd["active"]["authority_id"], d["old"]["authority_id"]')" "$J_NEW $J_OLD" "jwt show after activate"
spire jwt mint -spiffeID "spiffe://$TD/after-activate" -audience a -ttl 2m
TOKEN=$(grep -E '^ey' "$T/out" | head -1)
KID=$(python3 -c 'import base64,json,sys; h=sys.argv[1].split(".")[0]; print(json.loads(base64.urlsafe_b64decode(h+"="*(-len(h)%4)))["kid"])' "$TOKEN")
is "$KID" "$J_NEW" "a JWT-SVID minted after activation carries the new kid"
spire localauthority jwt taint -authorityID "$J_OLD"
expect "$T/out" "^Tainted JWT authority:$" "jwt taint output"
expect "$T/out" "^  Authority ID: $J_OLD$" "jwt taint: authority ID"
KIDS=$(bundle_kids)
has_line "$KIDS" "^$J_OLD tainted$" "the tainted JWT authority is not marked tainted in the bundle"
has_line "$KIDS" "^$J_NEW $" "the active JWT authority must stay untainted"
spire localauthority jwt revoke -authorityID "$J_OLD"
expect "$T/out" "^Revoked JWT authority:$" "jwt revoke output"
expect "$T/out" "^  Authority ID: $J_OLD$" "jwt revoke: authority ID"
KIDS=$(bundle_kids)
lacks_line "$KIDS" "^$J_OLD " "the revoked JWT authority is still in the bundle"
has_line "$KIDS" "^$J_NEW $" "the active JWT authority left the bundle"

step "upstreamauthority taint / revoke without an UpstreamAuthority: SPIRE's FailedPrecondition"
spire_fails upstreamauthority taint -subjectKeyID "$X_NEW"
expect "$T/out" "^Error: could not taint X.509 upstream authority: rpc error: code = FailedPrecondition desc = upstream authority is not configured$" \
  "upstreamauthority taint without an upstream authority"
spire_fails upstreamauthority revoke -subjectKeyID "$X_NEW"
expect "$T/out" "^Error: could not revoke X.509 upstream authority: rpc error: code = FailedPrecondition desc = upstream authority is not configured$" \
  "upstreamauthority revoke without an upstream authority"
is "$(bundle_skids)" "$X_NEW " "the refused upstream calls left the bundle alone"

step "logger get / set / reset: the levels printed, and the log follows them"
spire logger get
expect "$T/out" "^Logger Level : debug$" "logger get: current level (the configured DEBUG)"
expect "$T/out" "^Launch Level : debug$" "logger get: launch level"
spire logger set -level error
expect "$T/out" "^Logger Level : error$" "logger set -level error"
expect "$T/out" "^Launch Level : debug$" "logger set keeps the launch level"
spire entry create -parentID "spiffe://$TD/node" -spiffeID "spiffe://$TD/quiet" -selector unix:uid:1 -output json
QUIET=$(json 'd["results"][0]["entry"]["id"]')
if grep -q "entry created: $QUIET" "$T/cvm-server.log"; then fail "an info line was logged at level error"; fi
spire logger set -level warn
expect "$T/out" "^Logger Level : warning$" "logger set -level warn (logrus names it warning)"
spire logger reset
expect "$T/out" "^Logger Level : debug$" "logger reset: back to the launch level"
expect "$T/out" "^Launch Level : debug$" "logger reset: launch level"
spire entry create -parentID "spiffe://$TD/node" -spiffeID "spiffe://$TD/loud" -selector unix:uid:2 -output json
LOUD=$(json 'd["results"][0]["entry"]["id"]')
retry 10 grep -q "entry created: $LOUD" "$T/cvm-server.log" || fail "no info line after logger reset"
spire_fails logger set -level loud
expect "$T/out" "^Error: the value \"loud\" is not a valid setting$" "logger set with a bad level (SPIRE's own check)"

step "agent purge: an expired re-attestable agent is purged, an expired join_token agent is not"
AWS_AGENT=spiffe://$TD/spire/agent/aws_iid/$ACCOUNT/$REGION/i-0aaaaaaaaaaaaaaaa
write_aws_agent_conf "$CVM_PORT" "$T/bundle-new.pem"
"$CVM_AGENT" run -config "$T/aws-agent.conf" >"$T/aws-agent.log" 2>&1 &
AWS_PID=$!
PIDS+=($AWS_PID)
LOGS+=("$T/aws-agent.log")
retry 120 "$CVM_AGENT" healthcheck -socketPath "$T/aws-agent/api.sock" || fail "spire-cvm's aws_iid agent not healthy"
JT_TOKEN=$(new_token "$SPIRE" "$CVM_SSOCK")
[[ -n $JT_TOKEN ]] || fail "token generate"
JT_AGENT=spiffe://$TD/spire/agent/join_token/$JT_TOKEN
cp "$T/bundle-new.pem" "$T/cvm-bundle.pem"
start_spire_agent jt-agent "$CVM_PORT" "$T/cvm-bundle.pem" "$JT_TOKEN"
spire agent show -spiffeID "$AWS_AGENT" -output json
is "$(json 'd["attestation_type"], d["can_reattest"]')" "aws_iid True" \
  "the aws_iid agent with SEV-SNP evidence is re-attestable"
spire agent show -spiffeID "$JT_AGENT" -output json
is "$(json 'd["attestation_type"], d["can_reattest"]')" "join_token False" "the join_token agent is not re-attestable"
# Stop both agents; their SVIDs then expire within agent_ttl (20 s).
for p in $AWS_PID "${PIDS[-1]}"; do kill "$p"; wait "$p" 2>/dev/null || true; done
spire agent purge -dryRun
expect "$T/out" "^No agents to purge\.$" "agent purge (default -expiredFor 30 days) before anything expired long enough"
expired() { # expired ID: its SVID expired more than 2 s ago (the server's x509svid_expires_at)
  "$SPIRE" agent show "${S[@]}" -spiffeID "$1" -output json >"$T/show.json" 2>&1 || return 1
  python3 -c 'import json,sys,time; sys.exit(0 if int(json.load(open(sys.argv[1]))["x509svid_expires_at"]) < time.time() - 2 else 1)' "$T/show.json"
}
retry 120 expired "$AWS_AGENT" || fail "the aws_iid agent's SVID did not expire: $(cat "$T/show.json")"
retry 120 expired "$JT_AGENT" || fail "the join_token agent's SVID did not expire: $(cat "$T/show.json")"
spire agent purge -expiredFor 1s -dryRun
expect "$T/out" "^Found 1 expired agent$" "agent purge -dryRun: one expired re-attestable agent"
expect "$T/out" "^Agents that can be purged:$" "agent purge -dryRun heading"
expect "$T/out" "^SPIFFE ID +: $AWS_AGENT$" "agent purge -dryRun lists the aws_iid agent"
if grep -q "$JT_AGENT" "$T/out"; then fail "agent purge lists the join_token agent (not re-attestable)"; fi
spire agent purge -expiredFor 1s -dryRun -output json
is "$(json '[(a["agent_id"], a["deleted"]) for a in d[0]["expired_agents"]]')" "[('$AWS_AGENT', False)]" \
  "agent purge -dryRun -output json"
cp "$T/out" "$T/purge-spire.json"
"$CVM_SERVER" agent purge "${S[@]}" -expiredFor 1s -dryRun -output json >"$T/purge-ours.json" 2>&1 \
  || fail "our agent purge -dryRun: $(cat "$T/purge-ours.json")"
cmp -s "$T/purge-spire.json" "$T/purge-ours.json" \
  || fail "our CLI's purge JSON differs from SPIRE's: $(cat "$T/purge-ours.json") vs $(cat "$T/purge-spire.json")"
spire agent show -spiffeID "$AWS_AGENT"
expect "$T/out" "SPIFFE ID +: $AWS_AGENT" "the dry run deleted the agent"
spire agent purge -expiredFor 1s
expect "$T/out" "^Agents purged:$" "agent purge heading"
expect "$T/out" "^SPIFFE ID +: $AWS_AGENT$" "agent purge: the aws_iid agent"
spire_fails agent show -spiffeID "$AWS_AGENT"
expect "$T/out" "code = NotFound" "the purged agent is gone"
spire agent list -output json
is "$(json '[a["id"]["path"] for a in d["agents"]]')" "['/spire/agent/join_token/$JT_TOKEN']" \
  "only the join_token agent is left"

echo "PASS"
