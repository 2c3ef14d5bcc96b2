# Shared harness of the attack suite (sourced, not run). One server (aws_iid + sev_snp required, the audit log on,
# SQLite) serves every case of a script; each case runs attack-client once and checks three things:
#   1. the refusal the attacker sees: its gRPC code and a message naming the reason;
#   2. the server logged it: an audit line (type=audit ... status=error) and, for attestations, the
#      "node attestation (...) failed:" line naming the reason, both new since the case began;
#   3. nothing was stored: the datastore (read with the sqlite3 CLI) is as the case expects.
# Exit 77 when a binary is missing.

BUILD=$(cd "${1:?usage: $0 <build-dir>}" && pwd)
SERVER_BIN=$BUILD/src/cli/server/spire-server
AGENT_BIN=$BUILD/src/cli/agent/spire-agent
IMDS_BIN=$BUILD/tools/imds_emulator/imds-emulator
ATTACK=$BUILD/test/attacks/attack-client
for b in "$SERVER_BIN" "$AGENT_BIN" "$IMDS_BIN" "$ATTACK"; do
  [[ -x $b ]] || { echo "SKIP: $b not built"; exit 77; }
done
command -v sqlite3 >/dev/null || { echo "SKIP: the sqlite3 CLI is not installed"; exit 77; }

source "$(dirname "${BASH_SOURCE[0]}")/../lib/common.sh"
harness_init attacks
CASES=0

TD=example.org
ACCOUNT=123456789012
REGION=us-east-1
SSOCK=$T/server/api.sock
DB=$T/server/datastore.sqlite3
PORT=$(free_port)

sql() { sqlite3 -readonly "$DB" "$1"; }
nodes() { sql "SELECT count(*) FROM attested_nodes"; }
entries() { sql "SELECT count(*) FROM registered_entries"; }
# A digest of everything attestation may write: nodes with their serials and ban flags, their selectors, entries.
state() {
  sql "SELECT spiffe_id, cert_serial, new_cert_serial, banned FROM attested_nodes ORDER BY spiffe_id;
       SELECT spiffe_id, type, value FROM node_selectors ORDER BY 1,2,3; SELECT id FROM registered_entries ORDER BY 1" |
    sha256sum | cut -c1-16
}
agent_id() { echo "spiffe://$TD/spire/agent/aws_iid/${2:-$ACCOUNT}/${3:-$REGION}/$1"; }

# Materials every script needs: the test AWS key + certificate, three simulated AMD hierarchies (two trusted, with
# VLEKs for us-east-1 and eu-west-1; one nobody trusts).
make_materials() {
  "$IMDS_BIN" --state-dir "$T/iid" --certs-dir "$T/awscerts" --region "$REGION" --ready-file "$T/imds0.port" \
    >"$T/imds0.out" 2>&1 &
  local p=$!
  retry 60 test -s "$T/imds0.port" || fail "imds emulator did not start"
  kill "$p"; wait "$p" 2>/dev/null || true
  # As `sevsnp-sim init`, with RSA-2048 ARKs (RSA-4096 key generation would take most of the suite's time).
  "$ATTACK" init-sim -sim-dir "$T/sim" -csp-id "CN=cc-$REGION.amazonaws.com" || fail "simulator init"
  "$ATTACK" init-sim -sim-dir "$T/sim-eu" -csp-id "CN=cc-eu-west-1.amazonaws.com" || fail "simulator init eu"
  "$ATTACK" init-sim -sim-dir "$T/sim-evil" -csp-id "CN=cc-$REGION.amazonaws.com" || fail "simulator init evil"
}

# start_server EXTRA_SERVER_HCL EXTRA_AWS_IID_HCL EXTRA_SEV_SNP_HCL
start_server() {
  mkdir -p "$T/server"
  cat >"$T/server.conf" <<CONF
server {
  bind_address = "127.0.0.1"
  bind_port = $PORT
  socket_path = "$SSOCK"
  trust_domain = "$TD"
  data_dir = "$T/server"
  log_level = "DEBUG"
  audit_log_enabled = true
  ratelimit {
    attestation = false
  }
  $1
}
plugins {
  DataStore "sql" {
    plugin_data {
      database_type = "sqlite3"
      connection_string = "$DB"
    }
  }
  KeyManager "memory" {
    plugin_data {}
  }
  NodeAttestor "aws_iid" {
    plugin_data {
      aws_certificates_path = "$T/awscerts"
      account_ids = ["$ACCOUNT"]
      $2
      sev_snp {
        required = true
        insecure_extra_roots = ["$T/sim/ark.pem", "$T/sim-eu/ark.pem"]
        kds_fetch = false
        $3
      }
    }
  }
}
CONF
  "$SERVER_BIN" run -config "$T/server.conf" >"$T/server.log" 2>&1 &
  SERVER_PID=$!
  PIDS+=("$SERVER_PID")
  retry 60 "$SERVER_BIN" healthcheck -socketPath "$SSOCK" || fail "server not healthy"
  "$SERVER_BIN" bundle show -socketPath "$SSOCK" >"$T/bundle.pem" || fail "bundle show"
}

attack() {  # attack CMD [flags]: attack-client against the server with the shared materials
  local cmd=$1
  shift
  "$ATTACK" "$cmd" -server "127.0.0.1:$PORT" -bundle "$T/bundle.pem" -td "$TD" -iid-state "$T/iid" \
    -sim-dir "$T/sim" -attacker-sim-dir "$T/sim-evil" "$@" 2>>"$T/attack-client.stderr"
}

# refused NAME CODE MSG_REGEX LOG_REGEX STORE -- CMD [flags]
#   CODE       the gRPC code name the attacker must see (absl spelling, e.g. PERMISSION_DENIED)
#   MSG_REGEX  must match its message (the reason)
#   LOG_REGEX  a server log line written during the case must match (besides the audit line)
#   STORE      "same": the datastore digest is unchanged; or a shell condition evaluated afterwards
# KEEP_GOING=1: report every failing case and fail at the end (debugging); default: stop at the first.
FAILED=0
case_fail() {
  if [[ ${KEEP_GOING:-0} == 1 ]]; then
    echo "CASE FAIL: $*" >&2
    FAILED=$((FAILED + 1))
  else
    fail "$@"
  fi
}
finish() {
  [[ $FAILED == 0 ]] || fail "$FAILED case(s) failed"
  echo "PASS: $CASES attack cases refused"
}

refused() {
  local name=$1 code=$2 msg=$3 logre=$4 store=$5
  shift 6
  CASES=$((CASES + 1))
  local before lines out fresh
  before=$(state)
  lines=$(wc -l <"$T/server.log")
  out=$(attack "$@") || { case_fail "[$name] attack-client failed: $(tail -3 "$T/attack-client.stderr")"; return 0; }
  echo "$name $out" >>"$T/results.txt"
  [[ $out =~ ^RESULT\ code=$code\ msg= ]] || { case_fail "[$name] expected $code, got: $out"; return 0; }
  grep -Eq -- "$msg" <<<"${out#*msg=}" || { case_fail "[$name] message does not match /$msg/: $out"; return 0; }
  sleep 0.2  # the audit line is written as the status is sent
  fresh=$(tail -n +"$((lines + 1))" "$T/server.log")
  grep -q "type=audit.*status=error" <<<"$fresh" || { case_fail "[$name] no audit line for the refusal"; return 0; }
  grep -Eq -- "$logre" <<<"$fresh" || { case_fail "[$name] no server log line matching /$logre/"; return 0; }
  if [[ $store == same ]]; then
    [[ $(state) == "$before" ]] || { case_fail "[$name] the datastore changed"; return 0; }
  else
    eval "$store" || { case_fail "[$name] datastore check failed: $store"; return 0; }
  fi
  printf '  ok %-40s %s\n' "$name" "${out:0:150}"
}

accepted() {  # accepted NAME -- CMD [flags]: a legitimate call that must succeed (setting up a case)
  local name=$1
  shift 2
  local out
  out=$(attack "$@") || fail "[$name] attack-client failed: $(tail -3 "$T/attack-client.stderr")"
  [[ $out == "RESULT ok"* ]] || fail "[$name] a legitimate call was refused: $out"
  echo "  setup $name: $out"
}
