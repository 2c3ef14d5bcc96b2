#!/usr/bin/env bash
# Builds the real peers the interop suite talks to, once per machine, into a cache folder:
#   ${SPIRECVM_PEERS_DIR:-$HOME/.cache/spire-cvm/peers}/<hash of the go.mod + go.sum of both modules below>/
#     bin/spire-server, bin/spire-agent      SPIRE v1.13.3, the tools of the module test/interop/peers
#     bin/x509fetch jwtfetch bundles watch mtls-server mtls-client cvm-mtls-server descdump
#                                            go-spiffe v2.9.0 clients, module test/interop (cmd/)
# Two modules because one cannot hold both: go-spiffe v2.9.0's Workload API adds methods (WIT-SVIDs) that
# SPIRE v1.13.3's agent does not implement, so SPIRE must build with the go-spiffe it pins (v2.6.0).
#     venv/                                  Python venv with py-spiffe ("spiffe" from PyPI), and the AWS test tools:
#                                            sev-snp-measure (reference measurements), moto[server] (AWS emulator)
# Usage: build-peers.sh [go|python|all]   (default all)
# Prints the cache folder as its only line on stdout. Build output goes to <folder>/*.log.
# Exit 0: ready. Exit 77: the toolchain or a package registry is missing; ONE line on stderr says which, and
# callers skip only the interop suite. Any other non-zero exit is a real failure (e.g. a build error).
# SPIRECVM_INTEROP=0 in the environment makes it report "unavailable" on purpose (skips the suite).
set -euo pipefail

WHAT=${1:-all}
case $WHAT in go | python | all) ;; *) echo "usage: $0 [go|python|all]" >&2; exit 2 ;; esac
SRC=$(cd "$(dirname "$0")/.." && pwd)
MOD=$SRC/test/interop
PY_SPIFFE=spiffe==0.3.2
PY_TOOLS=(sev-snp-measure==0.0.13 "moto[server]==5.2.5")
unavailable() { echo "interop peers unavailable: $*" >&2; exit 77; }
[[ ${SPIRECVM_INTEROP:-1} != 0 ]] || unavailable "disabled by SPIRECVM_INTEROP=0"

HASH=$(cat "$MOD/go.mod" "$MOD/go.sum" "$MOD/peers/go.mod" "$MOD/peers/go.sum" | sha256sum | cut -c1-16)
ROOT=${SPIRECVM_PEERS_DIR:-$HOME/.cache/spire-cvm/peers}
DIR=$ROOT/$HASH
mkdir -p "$DIR/bin"
# One builder at a time (ctest -j runs several interop tests at once); the others wait and reuse.
exec 9>"$ROOT/.lock"
flock 9

# The clients are cheap to rebuild, so they have their own stamp: a change to cmd/ does not rebuild SPIRE.
clients_hash() { find "$MOD/cmd" "$MOD/internal" -name '*.go' -print0 | sort -z | xargs -0 cat | sha256sum | cut -c1-16; }

build_go() {
  command -v go >/dev/null || unavailable "go is not installed (need Go >= 1.25 to build SPIRE v1.13.3)"
  local clients; clients=$(clients_hash)
  if [[ -f $DIR/spire.ok && -f $DIR/clients.$clients.ok ]]; then return 0; fi
  cd "$MOD"
  if ! (go mod download && cd peers && go mod download) >"$DIR/download.log" 2>&1; then
    unavailable "the Go module proxy is unreachable ($(go env GOPROXY)); see $DIR/download.log"
  fi
  if [[ ! -f $DIR/spire.ok ]]; then
    echo "building SPIRE v1.13.3 spire-server and spire-agent into $DIR/bin (once per machine; log: $DIR/spire.log)" >&2
    local start=$SECONDS
    (cd peers && nice -n 10 go build -o "$DIR/bin/" github.com/spiffe/spire/cmd/spire-server \
      github.com/spiffe/spire/cmd/spire-agent) >"$DIR/spire.log" 2>&1 || {
      echo "SPIRE build failed; tail of $DIR/spire.log:" >&2; tail -20 "$DIR/spire.log" >&2; exit 1
    }
    echo "built SPIRE in $((SECONDS - start))s" >>"$DIR/spire.log"
    touch "$DIR/spire.ok"
  fi
  rm -f "$DIR"/clients.*.ok
  nice -n 10 go build -o "$DIR/bin/" ./cmd/... >"$DIR/clients.log" 2>&1 || {
    echo "client build failed; tail of $DIR/clients.log:" >&2; tail -20 "$DIR/clients.log" >&2; exit 1
  }
  touch "$DIR/clients.$clients.ok"
}

build_python() {
  # The stamp names the package list, so adding a tool installs it into the existing venv.
  local stamp; stamp=$DIR/venv.$(echo "$PY_SPIFFE ${PY_TOOLS[*]}" | sha256sum | cut -c1-8).ok
  [[ -f $stamp ]] && return 0
  local py; py=$(command -v python3) || unavailable "python3 is not installed (needed for py-spiffe)"
  if [[ ! -x $DIR/venv/bin/pip ]]; then
    rm -rf "$DIR/venv"
    "$py" -m venv "$DIR/venv" >"$DIR/venv.log" 2>&1 || unavailable "python3 cannot make a venv (python3-venv missing?); see $DIR/venv.log"
  fi
  if ! "$DIR/venv/bin/pip" install --disable-pip-version-check -q "$PY_SPIFFE" "${PY_TOOLS[@]}" >>"$DIR/venv.log" 2>&1; then
    unavailable "PyPI is unreachable or $PY_SPIFFE ${PY_TOOLS[*]} is not installable; see $DIR/venv.log"
  fi
  touch "$DIR/venv.ok" "$stamp"
}

case $WHAT in
  go) build_go ;;
  python) build_python ;;
  all) build_go; build_python ;;
esac
echo "$DIR"
