#!/usr/bin/env bash
# An experiment, not a build mode: how much of the agent's idle RSS is the dynamic linking of gRPC, protobuf and
# Abseil. Relinks the agent of BUILD (same objects) against Debian's static archives of those libraries (and re2,
# c-ares, upb, address_sorting), in three variants, and takes bench/compare-agents.sh's idle sample of each beside
# the agent as built:
#   dynamic      the agent as CMake links it
#   static-pie   gRPC/protobuf/Abseil static, still a position-independent executable
#   static-relr  the same with packed relative relocations (-z pack-relative-relocs) and --gc-sections
#   static-nopie the same without PIE (the binary's own code then has no ASLR: measured, not proposed)
# Usage: bench/agent-static-link.sh [build-dir]   (the release build of bench/compare-agents.sh)
# Environment: VARIANTS ["dynamic static-pie static-relr static-nopie"]  OUT [mktemp -d]  IDLE_SETTLE [15]
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD=$(cd "${1:-$ROOT/build/release}" && pwd)
VARIANTS=${VARIANTS:-dynamic static-pie static-relr static-nopie}
OUT=${OUT:-$(mktemp -d /tmp/cvm-agent-static.XXXXXX)}
LINK_DIR=$BUILD/src/cli/agent
[[ -f $LINK_DIR/CMakeFiles/spire-agent.dir/link.txt ]] || { echo "agent-static-link: $BUILD has no spire-agent" >&2; exit 1; }

# link_cmd VARIANT OUTPUT: CMake's link line with the shared gRPC/protobuf/Abseil libraries swapped for archives.
link_cmd() {
  python3 - "$LINK_DIR/CMakeFiles/spire-agent.dir/link.txt" "$1" "$2" <<'PY'
import glob, os, re, sys
words, variant, out = open(sys.argv[1]).read().split(), sys.argv[2], sys.argv[3]
lib = "/usr/lib/x86_64-linux-gnu"
static, kept = [], []
for w in words:
    m = re.match(lib + r"/lib(grpc\+\+|grpc|gpr|upb|address_sorting|protobuf|absl_\w+|cares)\.so", w)
    if m and os.path.exists(f"{lib}/lib{m.group(1)}.a"):
        static.append(f"{lib}/lib{m.group(1)}.a")
    elif w == "-lre2":
        static.append(f"{lib}/libre2.a")
    else:
        kept.append(w)
static += [a for a in sorted(glob.glob(f"{lib}/libabsl_*.a")) if a not in static]
kept[kept.index("-o") + 1] = out
flags = {"static-pie": [], "static-relr": ["-Wl,-z,pack-relative-relocs", "-Wl,--gc-sections"],
         "static-nopie": ["-no-pie", "-Wl,--gc-sections"]}[variant]
at = kept.index("-pthread")
print(" ".join(kept[:at] + flags + ["-Wl,--start-group"] + list(dict.fromkeys(static)) +
               ["-Wl,--end-group", "-lssl", "-lcrypto", "-lz"] + kept[at:]))
PY
}

for v in $VARIANTS; do
  fake=$OUT/$v
  mkdir -p "$fake/src/cli/server" "$fake/src/cli/agent" "$fake/bench"
  ln -sf "$BUILD/src/cli/server/spire-server" "$fake/src/cli/server/spire-server"
  ln -sf "$BUILD/bench/wlgen" "$fake/bench/wlgen"
  if [[ $v == dynamic ]]; then
    cp "$LINK_DIR/spire-agent" "$fake/src/cli/agent/spire-agent"
  else
    (cd "$LINK_DIR" && eval "$(link_cmd "$v" "$fake/src/cli/agent/spire-agent")") 2>"$OUT/$v.link.err" \
      || { cat "$OUT/$v.link.err" >&2; exit 1; }
  fi
  NO_BUILD=1 AGENTS=cvm WATCHERS=1000 FETCH_DURATION=2 IDLE_SETTLE=${IDLE_SETTLE:-15} OUT="$OUT/$v.run" \
    "$ROOT/bench/compare-agents.sh" "$fake" >"$OUT/$v.log" 2>&1 || { tail "$OUT/$v.log" >&2; exit 1; }
  echo "$v: $(ldd "$fake/src/cli/agent/spire-agent" | wc -l) shared objects, idle $(cat "$OUT/$v.run/cvm/idle.json")"
done
echo "outputs in $OUT"
