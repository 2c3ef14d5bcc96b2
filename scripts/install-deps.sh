#!/usr/bin/env bash
# Installs the Debian packages spire-cvm builds, tests and demos with; installs only what is missing.
set -euo pipefail
PKGS=(
  build-essential cmake make pkg-config git ca-certificates
  libssl-dev openssl libxml2-dev libgrpc++-dev protobuf-compiler-grpc libprotobuf-dev protobuf-compiler
  libabsl-dev libsqlite3-dev sqlite3 libpq-dev postgresql postgresql-client
  nlohmann-json3-dev libcli11-dev libspdlog-dev libcpp-httplib-dev libcurl4-openssl-dev
  libgoogle-perftools-dev
  libgtest-dev libgmock-dev googletest libbenchmark-dev
  clang-14 libclang-rt-14-dev clang-format-14 ccache
  python3 python3-grpcio python3-protobuf python3-jwt python3-cryptography
  procps curl
  ovmf
)
missing=()
for p in "${PKGS[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]} == 0)); then
  echo "install-deps: all ${#PKGS[@]} packages present"
  exit 0
fi
echo "install-deps: installing ${missing[*]}"
SUDO=""
if [ "$(id -u)" != 0 ]; then SUDO=sudo; fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq || true
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
