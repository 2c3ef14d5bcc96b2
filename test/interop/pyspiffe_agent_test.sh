#!/usr/bin/env bash
# Interop: py-spiffe (the `spiffe` package from PyPI) against spire-cvm's agent Workload API: X509-SVID,
# X.509 bundles and a JWT-SVID, cross-checked (chain ends at a served root, JWT validates against the served
# JWT bundle and through the agent, not for another audience).
# Usage: pyspiffe_agent_test.sh <build-dir>
set -euo pipefail
source "$(dirname "$0")/lib.sh"

need_cvm_binaries
need_peers python
PY=$PEERS/venv/bin/python

step "spire-cvm server + agent, one entry for this uid"
start_cvm_server
cvm_token
cvm_entry -spiffeID "spiffe://$TD/py" -selector "unix:uid:$UID_NOW"
start_cvm_agent

step "py-spiffe: X509-SVID, bundles, JWT-SVID"
retry 40 "$PY" "$SRC/test/interop/py_spiffe_client.py" --socket "$CVM_ASOCK" --audience interop-py \
  || fail "py-spiffe client"
"$PY" "$SRC/test/interop/py_spiffe_client.py" --socket "$CVM_ASOCK" --audience interop-py >"$T/py.json" \
  || fail "py-spiffe client"
cat "$T/py.json"
SERVER_ROOT=$(openssl x509 -in "$T/cvm-bundle.pem" -outform DER | sha256sum | cut -d' ' -f1)
python3 - "$T/py.json" "$TD" "$SERVER_ROOT" <<'PY' || fail "py-spiffe output is not what the agent should serve"
import json, sys
d = json.load(open(sys.argv[1])); td = sys.argv[2]
want = f"spiffe://{td}/py"
x, j = d["x509"], d["jwt"]
assert x["spiffe_id"] == want, x
assert x["chain_length"] >= 1 and x["chain_verified"], x
assert any(b[0] == td and b[1] >= 1 for b in x["bundles"]), x
assert sys.argv[3] in x["roots_sha256"], ("the server's published root was not served", x)
assert j["spiffe_id"] == want and j["audience"] == ["interop-py"], j
assert j["jwt_keys"], j
assert j["validated_locally"] == want and j["validated_by_agent"] == want, j
print("py-spiffe content OK")
PY

echo "PASS"
