#!/usr/bin/env bash
# Attack suite, agent API: node attestation (aws_iid + SEV-SNP required) and what an agent may do afterwards, against
# one real spire-server (audit log on, SQLite). Every case: the refusal and its reason as the attacker sees them, the
# server's audit and refusal log lines, and an unchanged datastore (docs/security.md, "Attack suite").
# Usage: node_attestation_attacks.sh <build-dir>
set -euo pipefail
source "$(dirname "$0")/lib.sh"

step "materials: test AWS key, three simulated AMD hierarchies"
make_materials
step "server: aws_iid (max_document_age 1h) + sev_snp required (nonce_ttl 20s), audit log on"
# nonce_ttl 20s: long enough for the ban CLI to run while an attestation is held at its challenge (slow under ASan).
start_server 'attestation_step_timeout = "60s"' 'max_document_age = "1h"' 'nonce_ttl = "20s"'

A=i-0aaaaaaaaaaaaaaaa
step "setup: a legitimate agent on $A attests"
accepted legit-a -- attest -instance "$A" -save "$T/a"
[[ $(nodes) == 1 ]] || fail "the legitimate attestation did not store its node"

step "nonces"
refused replayed-nonce PERMISSION_DENIED 'REPORT_DATA' 'node attestation \(aws_iid\) failed' same -- \
  attest -instance i-0111111111111111a -tamper replay-nonce
refused nonce-from-another-stream PERMISSION_DENIED 'REPORT_DATA' 'node attestation \(aws_iid\) failed' same -- \
  attest -instance i-0111111111111111b -tamper cross-stream
refused nonce-not-issued PERMISSION_DENIED 'REPORT_DATA' 'node attestation \(aws_iid\) failed' same -- \
  attest -instance i-0111111111111111c -tamper other-nonce
refused expired-nonce PERMISSION_DENIED 'nonce expired' 'node attestation \(aws_iid\) failed' same -- \
  attest -instance i-0111111111111111d -delay-ms 21000

step "what the report is bound to"
refused report-for-another-csr-key PERMISSION_DENIED 'REPORT_DATA' 'failed' same -- \
  attest -instance i-0222222222222222a -tamper other-csr-key
refused report-for-another-iid PERMISSION_DENIED 'REPORT_DATA' 'failed' same -- \
  attest -instance i-0222222222222222b -tamper other-iid
refused iid-content-substitution INVALID_ARGUMENT 'signed content differs from the instance identity document' 'failed' same -- \
  attest -instance i-0222222222222222c -tamper iid-substitute
refused iid-not-signed-by-aws INVALID_ARGUMENT 'rsa2048 signature: .*does not verify' 'failed' same -- \
  attest -instance i-0222222222222222d -tamper iid-foreign-signer
refused iid-signature-form-not-allowed INVALID_ARGUMENT 'signature. form is not accepted' 'failed' same -- \
  attest -instance i-0222222222222222e -tamper iid-signature-only
refused iid-other-account PERMISSION_DENIED 'account 999999999999 .* is not in account_ids' 'failed' same -- \
  attest -instance i-0222222222222222f -account 999999999999
refused iid-other-region NOT_FOUND 'no AWS certificate for region "eu-west-1"' 'failed' same -- \
  attest -instance i-02222222222222220 -region eu-west-1 -sim-dir "$T/sim-eu"
refused iid-older-than-max-age PERMISSION_DENIED 'is too old' 'failed' same -- \
  attest -instance i-02222222222222221 -pending-time 2024-01-01T00:00:00Z

step "the report's chain and signing key"
refused report-from-another-chain PERMISSION_DENIED 'root certificate' 'failed' same -- \
  attest -instance i-0333333333333333a -tamper other-chain
refused vcek-report-on-aws PERMISSION_DENIED 'signed by a VCEK' 'failed' same -- \
  attest -instance i-0333333333333333b -tamper vcek
refused vlek-flag-vcek-signature INVALID_ARGUMENT 'report signature does not verify' 'failed' same -- \
  attest -instance i-0333333333333333c -tamper vlek-signed-by-vcek
refused vlek-report-with-vcek-chain INVALID_ARGUMENT 'VLEK-signed but no VLEK' 'failed' same -- \
  attest -instance i-0333333333333333d -tamper vcek-table-for-vlek
refused vlek-of-another-region PERMISSION_DENIED 'csp_id is "CN=cc-eu-west-1.amazonaws.com"' 'failed' same -- \
  attest -instance i-0333333333333333e -sim-dir "$T/sim-eu"
refused report-signature-flipped INVALID_ARGUMENT 'report signature does not verify' 'failed' same -- \
  attest -instance i-0333333333333333f -tamper bad-signature

step "report fields the policy refuses"
refused tcb-rollback INVALID_ARGUMENT 'REPORTED_TCB .* does not equal the endorsement' 'failed' same -- attest -instance i-0444444444444444a -tamper tcb-rollback
refused policy-debug PERMISSION_DENIED 'POLICY has DEBUG set' 'failed' same -- attest -instance i-0444444444444444b -tamper debug
refused policy-migrate-ma PERMISSION_DENIED 'MIGRATE|migrat' 'failed' same -- \
  attest -instance i-0444444444444444c -tamper migrate-ma
refused vmpl-above-0 PERMISSION_DENIED 'VMPL|vmpl' 'failed' same -- attest -instance i-0444444444444444d -tamper vmpl1
refused mask-chip-key INVALID_ARGUMENT 'MASK_CHIP_KEY is 1' 'failed' same -- \
  attest -instance i-0444444444444444e -tamper mask-chip-key
refused unknown-report-version INVALID_ARGUMENT 'VERSION is 99' 'failed' same -- \
  attest -instance i-0444444444444444f -tamper version99

step "malformed and oversized messages"
refused report-truncated '(PERMISSION_DENIED|INVALID_ARGUMENT)' 'size|bytes|1184' 'failed' same -- \
  attest -instance i-0555555555555555a -tamper report-truncated
refused report-oversized '(PERMISSION_DENIED|INVALID_ARGUMENT)' 'size|bytes|1184' 'failed' same -- \
  attest -instance i-0555555555555555b -tamper report-oversized
refused answer-oversized INVALID_ARGUMENT 'more than the limit of 65536' 'failed' same -- \
  attest -instance i-0555555555555555c -tamper answer-oversized
refused answer-not-json INVALID_ARGUMENT 'not a JSON object' 'failed' same -- \
  attest -instance i-0555555555555555d -tamper answer-garbage
refused payload-truncated INVALID_ARGUMENT 'JSON|json|payload' 'failed' same -- \
  attest -instance i-0555555555555555e -tamper payload-truncated
refused payload-oversized INVALID_ARGUMENT 'large|limit' 'failed' same -- \
  attest -instance i-0555555555555555f -tamper payload-oversized
refused message-over-grpc-limit RESOURCE_EXHAUSTED 'larger than max|message' 'type=audit' same -- \
  attest -instance i-05555555555555550 -tamper message-oversized
refused no-sev-snp-answer PERMISSION_DENIED 'required|SEV-SNP' 'failed' same -- \
  attest -instance i-05555555555555551 -tamper no-challenge
refused sev-snp-unavailable PERMISSION_DENIED 'required|SEV-SNP' 'failed' same -- \
  attest -instance i-05555555555555552 -tamper unavailable
refused attestor-not-configured INVALID_ARGUMENT 'no NodeAttestor "x509pop"' 'failed' same -- \
  attest -instance i-05555555555555553 -type x509pop

step "finding 10: agent-controlled text cannot forge log lines"
refused log-injection PERMISSION_DENIED 'required|SEV-SNP' 'failed' same -- \
  attest -instance i-05555555555555554 -tamper log-injection
if grep -q "^type=audit status=success forged" "$T/server.log" || grep -q $'\x1b' "$T/server.log"; then
  fail "[log-injection] the agent's text reached the log unescaped"
fi
grep -q 'x\\ntype=audit status=success forged=1' "$T/server.log" || fail "[log-injection] the escaped text is not logged"

step "launches, bans and evictions"
refused same-instance-other-launch PERMISSION_DENIED 'launch|REPORT_ID' 'failed' same -- \
  attest -instance "$A" -report-id "$(printf '11%.0s' $(seq 32))"
B=i-0bbbbbbbbbbbbbbbb
accepted legit-b -- attest -instance "$B" -save "$T/b"
"$SERVER_BIN" agent ban -socketPath "$SSOCK" -spiffeID "$(agent_id "$A")" >/dev/null || fail "ban A"
refused banned-agent-attests PERMISSION_DENIED 'banned' 'failed' \
  "[[ \$(sql \"SELECT banned FROM attested_nodes WHERE spiffe_id='$(agent_id "$A")'\") == 1 ]]" -- attest -instance "$A"
refused banned-agent-svid PERMISSION_DENIED 'is banned' 'type=audit' same -- \
  sync -svid "$T/a"

step "ban during re-attestation (finding 2)"
rm -f "$T/hold" "$T/hold.ready"
attack attest -instance "$B" -hold "$T/hold" >"$T/held.out" &
HELD=$!
retry 60 test -e "$T/hold.ready" || fail "the held attestation never got its challenge"
"$SERVER_BIN" agent ban -socketPath "$SSOCK" -spiffeID "$(agent_id "$B")" >/dev/null || fail "ban B"
LINES=$(wc -l <"$T/server.log")
touch "$T/hold"
wait "$HELD" || fail "held attack-client failed"
CASES=$((CASES + 1))
grep -q "RESULT code=PERMISSION_DENIED msg=.*banned" "$T/held.out" || fail "[ban-during-reattestation] $(cat "$T/held.out")"
tail -n +"$((LINES + 1))" "$T/server.log" | grep -q "type=audit.*AttestAgent.*status=error" ||
  fail "[ban-during-reattestation] no audit line"
[[ $(sql "SELECT banned FROM attested_nodes WHERE spiffe_id='$(agent_id "$B")'") == 1 ]] ||
  fail "[ban-during-reattestation] the re-attestation undid the ban"
printf '  ok %-40s %s\n' ban-during-reattestation "$(cat "$T/held.out")"

C=i-0cccccccccccccccc
accepted legit-c -- attest -instance "$C" -save "$T/c"
"$SERVER_BIN" agent evict -socketPath "$SSOCK" -spiffeID "$(agent_id "$C")" >/dev/null || fail "evict C"
refused evicted-agent-svid PERMISSION_DENIED 'not attested or no longer active' 'type=audit' \
  "[[ \$(sql \"SELECT count(*) FROM attested_nodes WHERE spiffe_id='$(agent_id "$C")'\") == 0 ]]" -- sync -svid "$T/c"

step "SVIDs after re-attestation (findings 3 and 4), other trust domains, CSRs"
D=i-0dddddddddddddddd
accepted legit-d1 -- attest -instance "$D" -save "$T/d1"
accepted legit-d2 -- attest -instance "$D" -save "$T/d2"
refused superseded-svid PERMISSION_DENIED 'is not the current one' 'type=audit' same -- sync -svid "$T/d1"
refused renew-instead-of-reattest PERMISSION_DENIED 'reattest' 'type=audit' same -- renew -svid "$T/d2"
refused svid-from-another-trust-domain UNAUTHENTICATED 'does not verify' 'type=audit' same -- \
  sync -svid "foreign:spiffe://evil.org/spire/agent/aws_iid/$ACCOUNT/$REGION/$D"
ENTRY=$("$SERVER_BIN" entry create -socketPath "$SSOCK" -parentID "$(agent_id "$D")" -spiffeID "spiffe://$TD/wl" \
  -selector unix:uid:0 | awk '/Entry ID/ {print $NF}')
[[ -n $ENTRY ]] || fail "entry create"
refused csr-asks-for-a-ca INVALID_ARGUMENT 'CA' 'type=audit' same -- newx509 -svid "$T/d2" -entry "$ENTRY" -tamper csr-ca
refused csr-asks-for-a-foreign-id INVALID_ARGUMENT 'evil.org' 'type=audit' same -- \
  newx509 -svid "$T/d2" -entry "$ENTRY" -tamper csr-foreign-id

step "the admin socket reached by a non-root user"
cp "$SERVER_BIN" "$T/spire-server-copy" && chmod 755 "$T/spire-server-copy"
CASES=$((CASES + 1))
if out=$(setpriv --reuid 65534 --regid 65534 --clear-groups "$T/spire-server-copy" agent list -socketPath "$SSOCK" 2>&1); then
  fail "[admin-socket-non-root] a non-root user listed agents: $out"
fi
grep -Eqi 'permission denied|connect' <<<"$out" || fail "[admin-socket-non-root] unclear error: $out"
printf '  ok %-40s %s\n' admin-socket-non-root "$(head -1 <<<"$out" | cut -c1-150)"

step "configurations the server refuses (findings 1 and 6)"
CASES=$((CASES + 1))
sed 's/account_ids = \[.*\]//' "$T/server.conf" >"$T/noaccounts.conf"
if out=$("$SERVER_BIN" validate -config "$T/noaccounts.conf" 2>&1); then fail "[sev-snp-without-account-ids] accepted"; fi
grep -q "account_ids" <<<"$out" || fail "[sev-snp-without-account-ids] unclear error: $out"
printf '  ok %-40s %s\n' sev-snp-without-account-ids "$(grep account_ids <<<"$out" | head -1 | cut -c1-150)"
CASES=$((CASES + 1))
mkdir -p "$T/open" && chmod 1777 "$T/open"
sed -e "s#socket_path = .*#socket_path = \"$T/open/api.sock\"#" -e "s#bind_port = .*#bind_port = $(free_port)#" \
  -e "s#data_dir = .*#data_dir = \"$T/server2\"#" -e "s#connection_string = .*#connection_string = \"$T/server2.db\"#" \
  "$T/server.conf" >"$T/open.conf"
if timeout 30 "$SERVER_BIN" run -config "$T/open.conf" >"$T/open.out" 2>&1; then fail "[world-writable-socket-dir] ran"; fi
grep -Eq "writable|owner|mode" "$T/open.out" || fail "[world-writable-socket-dir] unclear error: $(tail -3 "$T/open.out")"
[[ ! -e $T/open/api.sock ]] || fail "[world-writable-socket-dir] a socket was created"
printf '  ok %-40s %s\n' world-writable-socket-dir "$(grep -E 'writable|owner|mode' "$T/open.out" | head -1 | cut -c1-150)"

[[ $(nodes) == 3 ]] || fail "expected exactly 3 nodes (A and B banned, D; C evicted), got $(nodes)"
finish
