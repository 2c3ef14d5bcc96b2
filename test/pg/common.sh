# Shared by start.sh / stop.sh / restart.sh: locate the PostgreSQL 15 binaries and run them as an unprivileged user
# (initdb and postgres refuse to run as root).
PG_BIN=${PG_BIN:-/usr/lib/postgresql/15/bin}
PG_TEST_USER=${PG_TEST_USER:-cvmtest}

# as_pg CMD...: runs CMD as $PG_TEST_USER when we are root, else as ourselves.
as_pg() {
  if [[ $(id -u) -eq 0 ]]; then
    runuser -u "$PG_TEST_USER" -- "$@"
  else
    "$@"
  fi
}

# Creates the unprivileged user if we are root and it does not exist (falls back to nobody).
ensure_pg_user() {
  [[ $(id -u) -eq 0 ]] || return 0
  if ! id "$PG_TEST_USER" >/dev/null 2>&1; then
    useradd --system --no-create-home --shell /usr/sbin/nologin "$PG_TEST_USER" >/dev/null 2>&1 || true
  fi
  if ! id "$PG_TEST_USER" >/dev/null 2>&1; then
    PG_TEST_USER=nobody
  fi
}
