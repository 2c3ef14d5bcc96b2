#!/usr/bin/env bash
# Packaging: stages the install from <build-dir> (the binaries already built there) into a throwaway root, checks
# the systemd units' hardening and that they start the installed binaries, validates the installed sample
# configurations with the installed binaries, then runs server + agent from those samples (paths moved into the
# throwaway root, the SEV-SNP simulator and the IMDSv2 emulator standing in for the hardware) until a workload holds
# an X509-SVID. By default (CTest) it stages with `cmake --install` into a DESTDIR: with the sanitizer build's
# ~600 MB binaries, cpack's dpkg-shlibdeps pass alone takes minutes. SPIRECVM_PACKAGING_DEB=1 instead builds the
# real .deb with CPack (uncompressed), checks its control data (Depends from dpkg-shlibdeps, conffiles) and
# extracts it with dpkg-deb.
# Usage: packaging_test.sh <build-dir>
set -euo pipefail

BUILD=$(cd "${1:?usage: $0 <build-dir>}" && pwd)
IMDS=$BUILD/tools/imds_emulator/imds-emulator
SIM=$BUILD/tools/sevsnp_sim/sevsnp-sim
for b in "$BUILD/src/cli/server/spire-server" "$BUILD/src/cli/agent/spire-agent" "$IMDS" "$SIM"; do
  [[ -x $b ]] || { echo "SKIP: $b not built"; exit 77; }
done
command -v curl >/dev/null || { echo "SKIP: curl not installed"; exit 77; }

source "$(dirname "$0")/../lib/common.sh"
harness_init packaging-test
ROOT=$T/root
http_code() { curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$1$2"; }
# answers PORT PATH CODE: the HTTP GET answers CODE (a function, so retry re-asks).
answers() { [[ $(http_code "$1" "$2") == "$3" ]]; }

if [[ ${SPIRECVM_PACKAGING_DEB:-0} != 1 ]]; then
  step "stage with cmake --install into a DESTDIR"
  DESTDIR=$ROOT cmake --install "$BUILD" >"$T/install.log" 2>&1 || fail "cmake --install"
else
  command -v dpkg-deb >/dev/null && command -v cpack >/dev/null || { echo "SKIP: dpkg-deb or cpack missing"; exit 77; }
  step "cpack -G DEB"
  # Uncompressed: the sanitizer build's binaries are ~600 MB and compressing them dominates (make package compresses).
  (cd "$BUILD" && cpack -G DEB -B "$T/pkg" -D CPACK_DEBIAN_COMPRESSION_TYPE=none) >"$T/cpack.log" 2>&1 || fail "cpack"
  DEB=$(ls "$T"/pkg/spire-cvm_*.deb 2>/dev/null | head -1)
  [[ -n $DEB ]] || fail "no .deb made"
  echo "   $(basename "$DEB")"
  DEPENDS=$(dpkg-deb -f "$DEB" Depends)
  echo "   Depends: $DEPENDS"
  for lib in libgrpc libprotobuf libssl libsqlite3 libcurl; do
    grep -q "$lib" <<<"$DEPENDS" || fail "Depends has no $lib"
  done
  dpkg-deb -e "$DEB" "$T/control"
  grep -qx "/etc/spire-cvm/server.conf" "$T/control/conffiles" || fail "server.conf is not a conffile"
  grep -qx "/etc/spire-cvm/agent.conf" "$T/control/conffiles" || fail "agent.conf is not a conffile"
  dpkg-deb -x "$DEB" "$ROOT"
fi

step "installed files"
UNITS=$ROOT/lib/systemd/system
for f in etc/spire-cvm/server.conf etc/spire-cvm/agent.conf lib/systemd/system/spire-cvm-server.service \
  lib/systemd/system/spire-cvm-agent.service; do
  [[ -f $ROOT/$f ]] || fail "missing /$f"
done
[[ -d $ROOT/etc/spire-cvm/aws-certificates ]] || fail "missing /etc/spire-cvm/aws-certificates"
# The units start the installed binaries (whatever the prefix) with the installed configurations.
SERVER=$ROOT$(sed -n 's/^ExecStart=\([^ ]*\) run -config \/etc\/spire-cvm\/server.conf$/\1/p' "$UNITS/spire-cvm-server.service")
AGENT=$ROOT$(sed -n 's/^ExecStart=\([^ ]*\) run -config \/etc\/spire-cvm\/agent.conf$/\1/p' "$UNITS/spire-cvm-agent.service")
[[ -x $SERVER && $SERVER == */spire-server ]] || fail "server unit's ExecStart is not an installed spire-server"
[[ -x $AGENT && $AGENT == */spire-agent ]] || fail "agent unit's ExecStart is not an installed spire-agent"
for opt in NoNewPrivileges=yes ProtectSystem=strict ProtectHome= PrivateTmp=yes RestrictSUIDSGID=yes \
  LockPersonality=yes SystemCallArchitectures=native StateDirectory=spire-cvm/; do
  grep -q "^$opt" "$UNITS/spire-cvm-server.service" || fail "server unit lacks $opt"
  grep -q "^$opt" "$UNITS/spire-cvm-agent.service" || fail "agent unit lacks $opt"
done
grep -qx "DynamicUser=yes" "$UNITS/spire-cvm-server.service" || fail "server unit is not DynamicUser"
grep -qx "CapabilityBoundingSet=" "$UNITS/spire-cvm-server.service" || fail "server unit keeps capabilities"
if command -v systemd-analyze >/dev/null; then
  for u in server agent; do
    # Unit syntax only: the binaries are not at their installed paths on this machine.
    systemd-analyze verify "$UNITS/spire-cvm-$u.service" 2>&1 | grep -v "is not executable\|No such file\|Failed to prepare\|Command .* is not" \
      | grep -i "unknown\|invalid\|error" && fail "systemd-analyze: spire-cvm-$u.service"
  done
fi

step "the simulated hardware: SEV-SNP simulator, IMDSv2 emulator"
ACCOUNT=123456789012
REGION=us-east-1
INSTANCE=i-0123456789abcdef0
MEAS=$(printf 'c0ffee%.0s' $(seq 16))
ARK=$("$SIM" init -dir "$T/sim" -csp-id "CN=cc-$REGION.amazonaws.com")
# The emulator's test "AWS" certificate goes where the sample server looks for AWS's certificates.
"$IMDS" --state-dir "$T/imds-state" --certs-dir "$ROOT/etc/spire-cvm/aws-certificates" --instance-id "$INSTANCE" \
  --region "$REGION" --account-id "$ACCOUNT" --instance-type m6a.large --ready-file "$T/imds.port" >"$T/imds.log" 2>&1 &
PIDS+=($!)
retry 60 test -s "$T/imds.port" || fail "IMDS emulator did not start"

# The server's sample needs AWS's certificates in aws_certificates_path to validate (it refuses an empty directory):
# the emulator's test "AWS" certificate is now there.
step "the installed samples validate with the installed binaries (paths moved into the throwaway root)"
SPORT=$(free_port); SHC=$(free_port); SMET=$(free_port); AHC=$(free_port); AMET=$(free_port)
# relocate <in> <out>: the sample with every absolute spire-cvm path under $T and the ports made free.
relocate() {
  sed -e "s#/var/lib/spire-cvm#$T/var/lib/spire-cvm#g" -e "s#/run/spire-cvm#$T/run/spire-cvm#g" \
    -e "s#/etc/spire-cvm#$ROOT/etc/spire-cvm#g" -e "s#\"8081\"#\"$SPORT\"#" \
    -e "s#bind_port = 8080#bind_port = $SHC#" -e "s#port = 9988#port = $SMET#" \
    -e "s#bind_port = 8088#bind_port = $AHC#" -e "s#port = 9989#port = $AMET#" "$1" >"$2"
}
# What the units' StateDirectory= and RuntimeDirectory= make.
mkdir -p -m 700 "$T/var/lib/spire-cvm/server" "$T/var/lib/spire-cvm/agent"
mkdir -p -m 755 "$T/run/spire-cvm/agent"
mkdir -p -m 750 "$T/run/spire-cvm/server"
chmod 755 "$T/var" "$T/var/lib" "$T/var/lib/spire-cvm" "$T/run" "$T/run/spire-cvm"
relocate "$ROOT/etc/spire-cvm/server.conf" "$T/server.conf"
relocate "$ROOT/etc/spire-cvm/agent.conf" "$T/agent.conf"
"$SERVER" validate -config "$T/server.conf" >"$T/validate.log" 2>&1 || fail "server validate: $(cat "$T/validate.log")"
"$AGENT" validate -config "$T/agent.conf" >"$T/validate.log" 2>&1 || fail "agent validate: $(cat "$T/validate.log")"

step "run them with the simulated hardware"
# The simulator's AMD-like root is trusted only through insecure_extra_roots (test/demo only).
sed -i "s#^      sev_snp {#      sev_snp {\n        insecure_extra_roots = [\"$ARK\"]#" "$T/server.conf"
SSOCK=$T/run/spire-cvm/server/private/api.sock
"$SERVER" run -config "$T/server.conf" >"$T/server.log" 2>&1 &
PIDS+=($!)
retry 60 "$SERVER" healthcheck -socketPath "$SSOCK" || fail "server not healthy"
retry 20 answers "$SHC" /ready 200 || fail "server /ready is not 200"
"$SERVER" bundle show -socketPath "$SSOCK" >"$ROOT/etc/spire-cvm/bootstrap-bundle.pem" || fail "bundle show"

# The agent on this "instance": the local server, the emulator's IMDS, the simulator's reports.
/usr/bin/python3 - "$T/agent.conf" "http://127.0.0.1:$(cat "$T/imds.port")" "$T/sim" "$MEAS" <<'PY'
import sys
path, imds, sim, meas = sys.argv[1:]
s = open(path).read()
def sub(old, new):
    global s
    assert s.count(old) == 1, old
    s = s.replace(old, new)
sub('server_address = "spire-server.example.org"', 'server_address = "127.0.0.1"')
sub('  NodeAttestor "aws_iid" {\n    plugin_data {\n',
    '  NodeAttestor "aws_iid" {\n    plugin_data {\n      ec2_metadata_endpoint = "%s"\n' % imds)
sub('report_provider = "auto"',
    'report_provider = "simulated"\n        simulator {\n          dir = "%s"\n          measurement = "%s"\n        }' % (sim, meas))
open(path, "w").write(s)
PY
"$AGENT" validate -config "$T/agent.conf" >"$T/validate.log" 2>&1 || fail "agent validate (simulated): $(cat "$T/validate.log")"
ASOCK=$T/run/spire-cvm/agent/public/api.sock
"$AGENT" run -config "$T/agent.conf" >"$T/agent.log" 2>&1 &
PIDS+=($!)
retry 120 "$AGENT" healthcheck -socketPath "$ASOCK" || fail "agent did not attest"
[[ $(http_code "$AHC" /ready) == 200 ]] || fail "agent /ready is not 200"
curl -fsS "http://127.0.0.1:$AMET/metrics" | grep -q '^spire_agent_node_attestor_new_svid{status="OK"} 1$' \
  || fail "agent metrics: no successful attestation counted"

AGENT_ID=spiffe://example.org/spire/agent/aws_iid/$ACCOUNT/$REGION/$INSTANCE
"$SERVER" entry create -socketPath "$SSOCK" -parentID "$AGENT_ID" -spiffeID spiffe://example.org/packaged \
  -selector "unix:uid:$(id -u)" >/dev/null || fail "entry create"
retry 60 "$AGENT" api fetch x509 -socketPath "$ASOCK" -write "$T/svid" || fail "no X509-SVID"
openssl verify -CAfile "$T/svid/bundle.0.pem" "$T/svid/svid.0.pem" >/dev/null || fail "openssl verify"
echo "PASS"
