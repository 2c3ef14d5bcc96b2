#!/usr/bin/env bash
# Fault: the agent's persisted state in data_dir (agent_svid.pem, agent_svid.key, bundle.json) damaged between two
# runs. Each case starts the real agent on a copy of a good data_dir with one file damaged, and checks that the
# damage is reported naming the file and the reason, that the damaged identity is never used (no "reusing agent
# SVID", no SVID served from it), and what follows, as SPIRE's agent does:
#   - with a fresh join token the agent attests again and serves a new, valid identity;
#   - with its old (spent) join token it cannot attest: it says why, keeps retrying, and serves no SVID.
# Cases: SVID truncated, SVID with a flipped signature bit, key of another certificate, key truncated, SVID and key
# both corrupt, SVID expired (server agent_ttl 15s), bundle.json truncated (the bootstrap bundle is used instead).
# Usage: agent_corrupt_state_test.sh <build-dir>
set -euo pipefail
source "$(dirname "$0")/lib.sh"

WID=spiffe://$TD/workload
write_server_conf
start_server
TOKEN=$(new_token)
[[ -n $TOKEN ]] || fail "no join token"
srv entry create -parentID "spiffe://$TD/spire/agent/join_token/$TOKEN" -spiffeID "$WID" \
  -selector "unix:uid:$UID_NOW" >/dev/null || fail "entry create"
write_agent_conf "$TOKEN"
start_agent "$T/agent-good.log"
retry 120 test -s "$ADIR/bundle.json" || fail "agent did not persist its state"
retry 60 grep -q "node attestation succeeded" "$T/agent-good.log" || fail "agent did not attest"
stop_agent
cp -a "$ADIR" "$T/good-data"

# restore: a fresh copy of the good data_dir.
restore() { rm -rf "$ADIR" && cp -a "$T/good-data" "$ADIR"; }
truncate_half() { local n; n=$(stat -c %s "$1"); truncate -s $((n / 2)) "$1"; }
# flip_sig_bit PEM: flips one bit inside the leaf's signature; the certificate still parses.
flip_sig_bit() {
  python3 - "$1" <<'PY'
import base64, re, sys
pem = open(sys.argv[1]).read()
blocks = re.findall(r"-----BEGIN CERTIFICATE-----\n(.*?)-----END CERTIFICATE-----", pem, re.S)
der = bytearray(base64.b64decode("".join(blocks[0].split())))
der[-5] ^= 0x01
b64 = base64.b64encode(bytes(der)).decode()
leaf = "-----BEGIN CERTIFICATE-----\n" + "\n".join(b64[i:i + 64] for i in range(0, len(b64), 64)) + \
       "\n-----END CERTIFICATE-----\n"
open(sys.argv[1], "w").write(leaf + pem[pem.index("-----END CERTIFICATE-----") + 26:])
PY
  openssl x509 -in "$1" -noout || fail "the flipped certificate no longer parses (test bug)"
}

# expect_reattest CASE REGEX: the agent, given a fresh join token, reports REGEX, does not reuse the damaged
# identity, attests again and serves a valid SVID.
expect_reattest() {
  local log=$T/agent-$1.log tok
  tok=$(new_token)
  srv entry create -parentID "spiffe://$TD/spire/agent/join_token/$tok" -spiffeID "$WID" \
    -selector "unix:uid:$UID_NOW" >/dev/null || fail "$1: entry create"
  start_agent "$log" -joinToken "$tok"
  retry 120 fetch_x509 -write "$T/svid-$1" >/dev/null || fail "$1: no SVID after re-attestation"
  stop_agent
  expect "$log" "$2" "$1: damage not reported as expected"
  if grep -q "reusing agent SVID" "$log"; then fail "$1: the damaged identity was reused"; fi
  expect "$log" "node attestation succeeded: agent ID spiffe://$TD/spire/agent/join_token/$tok" "$1: no re-attestation"
  openssl verify -CAfile "$T/bootstrap.pem" "$ADIR/agent_svid.pem" >/dev/null || fail "$1: new agent SVID does not verify"
  echo "   $1: reported, not trusted, re-attested: $(grep -m1 -oE 'not trusted.*' "$log" | cut -c1-160)"
}

step "SVID truncated"
restore && truncate_half "$ADIR/agent_svid.pem"
expect_reattest svid-truncated "persisted agent identity not trusted, will attest: agent SVID: $ADIR/agent_svid.pem"

step "SVID with one signature bit flipped"
restore && flip_sig_bit "$ADIR/agent_svid.pem"
expect_reattest svid-bitflip "persisted agent identity not trusted, will attest: agent SVID $ADIR/agent_svid.pem: agent SVID: .*(signature|verif)"

step "key of another certificate"
restore && openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$ADIR/agent_svid.key" 2>/dev/null
expect_reattest wrong-key "persisted agent identity not trusted, will attest: .*agent SVID does not match the agent key"

step "key truncated"
restore && truncate_half "$ADIR/agent_svid.key"
expect_reattest key-truncated "persisted agent identity not trusted, will attest: agent key: $ADIR/agent_svid.key"

step "SVID and key both corrupt: both named"
restore && truncate_half "$ADIR/agent_svid.key" && echo garbage >"$ADIR/agent_svid.pem"
expect_reattest both "agent key: $ADIR/agent_svid.key.*; agent SVID: $ADIR/agent_svid.pem"

step "bundle.json truncated: the bootstrap bundle is used, the (good) SVID still verifies and is reused"
restore && truncate_half "$ADIR/bundle.json"
start_agent "$T/agent-bundle.log"
retry 120 fetch_x509 >/dev/null || fail "bundle: no SVID"
stop_agent
expect "$T/agent-bundle.log" "persisted trust bundle not trusted \(using the bootstrap bundle\): .*$ADIR/bundle.json" \
  "bundle: damage not reported"
expect "$T/agent-bundle.log" "reusing agent SVID" "bundle: the good SVID was not reused"

step "SVID damaged and only the spent join token: reported, refused with the reason, nothing served"
restore && flip_sig_bit "$ADIR/agent_svid.pem"
start_agent "$T/agent-spent.log"
retry 60 grep -q "node attestation failed" "$T/agent-spent.log" || fail "spent token: no attestation failure logged"
if fetch_x509 >/dev/null 2>&1; then fail "spent token: the agent served an SVID"; fi
kill -0 "$AGENT_PID" 2>/dev/null || fail "spent token: the agent exited instead of retrying"
stop_agent
expect "$T/agent-spent.log" "persisted agent identity not trusted" "spent token: damage not reported"
expect "$T/agent-spent.log" "node attestation failed: .*(token|PERMISSION_DENIED|INVALID_ARGUMENT)" \
  "spent token: the refusal does not say why"
if grep -q "reusing agent SVID" "$T/agent-spent.log"; then fail "spent token: the damaged identity was reused"; fi

step "SVID expired: the server restarted with agent_ttl 15s, an agent attests, stops, and its SVID expires"
kill "$SERVER_PID"; wait "$SERVER_PID" 2>/dev/null || true
write_server_conf 'agent_ttl = "15s"'
start_server
rm -rf "$ADIR"
SHORT_TOKEN=$(new_token)
start_agent "$T/agent-short.log" -joinToken "$SHORT_TOKEN"
retry 120 grep -q "node attestation succeeded" "$T/agent-short.log" || fail "expired: agent did not attest"
stop_agent
END=$(openssl x509 -in "$ADIR/agent_svid.pem" -noout -enddate | cut -d= -f2)
echo "   agent SVID expires $END"
while [[ $(date +%s) -le $(date -d "$END" +%s) ]]; do sleep 1; done
expect_reattest expired "persisted agent identity not trusted, will attest: agent SVID $ADIR/agent_svid.pem: .*expired"
echo "PASS"
