#!/usr/bin/env bash
# Attack suite, Workload API: a real spire-agent (aws_iid + simulated SEV-SNP report) attested to a real spire-server;
# callers that omit the security header or hand the agent forged, expired or misdirected JWT-SVIDs. Every case: the
# refusal and its reason as the caller sees them, the agent's refusal log line, and the server's datastore unchanged
# (docs/security.md, "Attack suite").
# Usage: agent_workload_attacks.sh <build-dir>
set -euo pipefail
source "$(dirname "$0")/lib.sh"

step "materials, server, IMDS emulator"
make_materials
start_server '' '' ''
INSTANCE=i-0a9e9e9e9e9e9e9e9
"$IMDS_BIN" --state-dir "$T/iid" --instance-id "$INSTANCE" --region "$REGION" --account-id "$ACCOUNT" \
  --ready-file "$T/imds.port" >"$T/imds.log" 2>&1 &
PIDS+=($!)
retry 60 test -s "$T/imds.port" || fail "imds emulator not ready"

step "a real agent attests (simulated SEV-SNP report)"
mkdir -p -m 755 "$T/agent"
cat >"$T/agent.conf" <<CONF
agent {
  data_dir = "$T/agent/data"
  log_level = "DEBUG"
  server_address = "127.0.0.1"
  server_port = $PORT
  socket_path = "$T/agent/api.sock"
  trust_bundle_path = "$T/bundle.pem"
  trust_domain = "$TD"
}
plugins {
  NodeAttestor "aws_iid" {
    plugin_data {
      ec2_metadata_endpoint = "http://127.0.0.1:$(cat "$T/imds.port")"
      sev_snp {
        report_provider = "simulated"
        simulator {
          dir = "$T/sim"
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
"$AGENT_BIN" run -config "$T/agent.conf" >"$T/agent.log" 2>&1 &
PIDS+=($!)
retry 120 "$AGENT_BIN" healthcheck -socketPath "$T/agent/api.sock" || fail "agent not healthy"
WSOCK=$T/agent/api.sock
"$SERVER_BIN" entry create -socketPath "$SSOCK" -parentID "$(agent_id "$INSTANCE")" -spiffeID "spiffe://$TD/wl" \
  -selector "unix:uid:$(id -u)" >/dev/null || fail "entry create"

# wl_refused NAME CODE MSG_REGEX -- CMD [flags]: a Workload API call the agent must refuse, with its log line.
wl_refused() {
  local name=$1 code=$2 msg=$3
  shift 4
  CASES=$((CASES + 1))
  local before lines out
  before=$(state)
  lines=$(wc -l <"$T/agent.log")
  out=$("$ATTACK" "$@" -socket "$WSOCK" 2>>"$T/attack-client.stderr") || fail "[$name] attack-client failed"
  [[ $out =~ ^RESULT\ code=$code\ msg= ]] || { case_fail "[$name] expected $code, got: $out"; return 0; }
  grep -Eq -- "$msg" <<<"${out#*msg=}" || { case_fail "[$name] message does not match /$msg/: $out"; return 0; }
  sleep 0.2
  tail -n +"$((lines + 1))" "$T/agent.log" | grep -q "workload API: .* refused: $code" ||
    { case_fail "[$name] no agent log line for the refusal"; return 0; }
  [[ $(state) == "$before" ]] || { case_fail "[$name] the server's datastore changed"; return 0; }
  printf '  ok %-40s %s\n' "$name" "${out:0:150}"
}

step "Workload API callers"
wl_refused workload-call-without-security-header INVALID_ARGUMENT 'security header' -- fetch-no-header
wl_refused jwt-alg-none INVALID_ARGUMENT 'alg|none' -- validate-jwt -audience aud-a \
  -token "$("$ATTACK" forge-jwt -tamper alg-none -audience aud-a -td "$TD")"
wl_refused jwt-unknown-kid INVALID_ARGUMENT 'kid|key' -- validate-jwt -audience aud-a \
  -token "$("$ATTACK" forge-jwt -tamper wrong-kid -audience aud-a -td "$TD")"
GOOD=$("$SERVER_BIN" jwt mint -socketPath "$SSOCK" -spiffeID "spiffe://$TD/wl" -audience aud-a -ttl 1m) ||
  fail "jwt mint"
OUT=$("$ATTACK" validate-jwt -socket "$WSOCK" -audience aud-a -token "$GOOD")
[[ $OUT == "RESULT ok id=spiffe://$TD/wl" ]] || fail "a valid JWT-SVID was refused: $OUT"
wl_refused jwt-wrong-audience INVALID_ARGUMENT 'audience' -- validate-jwt -audience aud-b -token "$GOOD"
EXPIRED=$("$SERVER_BIN" jwt mint -socketPath "$SSOCK" -spiffeID "spiffe://$TD/wl" -audience aud-a -ttl 1s) ||
  fail "jwt mint (1s)"
sleep 2.5
wl_refused jwt-expired INVALID_ARGUMENT 'expired' -- validate-jwt -audience aud-a -token "$EXPIRED"

if [[ -w /proc/sys/kernel/ns_last_pid ]]; then
  wl_refused caller-with-reused-pid PERMISSION_DENIED '.' -- reused-pid
  grep -q "now belongs to a new process" "$T/attack-client.stderr" || fail "[caller-with-reused-pid] PID not reused"
else
  echo "  (caller-with-reused-pid needs root to steer PIDs: not run; CallerAttestationTest.RefusesBadPidsAndReusedPids)"
fi

finish
