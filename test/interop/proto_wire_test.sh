#!/usr/bin/env bash
# Wire contract: every proto under proto/spire and proto/grpc, compiled by protoc, gives the same file descriptor
# (packages, services, methods, streaming, messages, field names, numbers, types, enums, options) as the one
# compiled into the real peers: spire-api-sdk as pinned by SPIRE v1.13.3 and grpc-go's health service.
# Only comments may differ. Usage: proto_wire_test.sh <build-dir>
set -euo pipefail
source "$(dirname "$0")/lib.sh"

command -v protoc >/dev/null || skip "protoc not installed"
need_peers go
PROTO=$SRC/proto
INC=$(dirname "$(dirname "$(dirname "$(find /usr/include /usr/local/include -path '*google/protobuf/descriptor.proto' -print -quit)")")")
[[ -f $INC/google/protobuf/descriptor.proto ]] || skip "google/protobuf/descriptor.proto not found"
mapfile -t FILES < <(cd "$PROTO" && find spire grpc -name '*.proto' | sort)
[[ ${#FILES[@]} -ge 25 ]] || fail "expected at least 25 protos under proto/spire and proto/grpc, found ${#FILES[@]}"

mkdir -p "$T/peer" "$T/ours"
"$PEERS/bin/descdump" -out "$T/peer" "${FILES[@]}" || fail "descdump"
decode() { protoc -I"$INC" --decode=google.protobuf.FileDescriptorSet google/protobuf/descriptor.proto <"$1"; }
bad=0
for f in "${FILES[@]}"; do
  pb=$(echo "$f" | tr / _).pb
  protoc -I"$PROTO" -o "$T/ours/$pb" "$f" 2>"$T/protoc.err" || { cat "$T/protoc.err"; fail "protoc $f"; }
  decode "$T/ours/$pb" >"$T/ours/$pb.txt"
  decode "$T/peer/$pb" >"$T/peer/$pb.txt"
  grep -q "^  package: " "$T/ours/$pb.txt" || fail "no package decoded for $f"
  if diff -u "$T/peer/$pb.txt" "$T/ours/$pb.txt" >"$T/$pb.diff"; then
    echo "same  $f ($(grep -c '^      name:\|^    name:' "$T/ours/$pb.txt") names)"
  else
    echo "DIFF  $f"; cat "$T/$pb.diff"; bad=1
  fi
done
[[ $bad == 0 ]] || fail "our protos differ from the peers' wire contract"
echo "PASS"
