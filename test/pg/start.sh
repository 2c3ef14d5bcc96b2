#!/usr/bin/env bash
# Starts a throwaway PostgreSQL 15 for tests: initdb in a fresh temporary directory (owned by an unprivileged user,
# created if needed), listening only on 127.0.0.1 at a free port (and a unix socket inside the data directory),
# trust authentication, superuser "postgres".
#
# Usage: start.sh STATE_DIR [extra postgres -c options...]
# Writes STATE_DIR/conninfo (a libpq connection string) and STATE_DIR/env (PGDATA, PORT, PG_TEST_USER for stop.sh
# and restart.sh). Exits non-zero, with the server log, when PostgreSQL cannot start. Stop it with stop.sh STATE_DIR.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/common.sh"

STATE=${1:?usage: $0 STATE_DIR}
shift
mkdir -p "$STATE"
STATE=$(cd "$STATE" && pwd)
if [[ -f $STATE/env ]]; then
  # A previous run did not clean up: stop it first.
  "$HERE/stop.sh" "$STATE" || true
fi
rm -f "$STATE/conninfo" "$STATE/env"

for b in initdb pg_ctl postgres; do
  [[ -x $PG_BIN/$b ]] || { echo "start.sh: $PG_BIN/$b not found (install postgresql-15)" >&2; exit 1; }
done
ensure_pg_user

PGDATA=$(mktemp -d /tmp/cvm-pg.XXXXXX)
chmod 700 "$PGDATA"
[[ $(id -u) -eq 0 ]] && chown "$PG_TEST_USER" "$PGDATA"
PORT=$(/usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
cat >"$STATE/env" <<ENV
PGDATA=$PGDATA
PORT=$PORT
PG_TEST_USER=$PG_TEST_USER
ENV

if ! as_pg "$PG_BIN/initdb" -D "$PGDATA" -U postgres --auth=trust -E UTF8 --locale=C.UTF-8 --no-instructions \
      >"$PGDATA.initdb.log" 2>&1; then
  echo "start.sh: initdb failed:" >&2
  cat "$PGDATA.initdb.log" >&2
  rm -f "$PGDATA.initdb.log"
  exit 1
fi
rm -f "$PGDATA.initdb.log"

cat >>"$PGDATA/postgresql.conf" <<CONF
listen_addresses = '127.0.0.1'
port = $PORT
unix_socket_directories = '$PGDATA'
max_connections = 300
shared_buffers = 64MB
log_min_messages = warning
log_connections = off
CONF
for opt in "$@"; do echo "$opt" >>"$PGDATA/postgresql.conf"; done

if ! as_pg "$PG_BIN/pg_ctl" -D "$PGDATA" -l "$PGDATA/server.log" -w -t 60 start >/dev/null; then
  echo "start.sh: PostgreSQL did not start:" >&2
  cat "$PGDATA/server.log" >&2 || true
  exit 1
fi
echo "host=127.0.0.1 port=$PORT user=postgres dbname=postgres connect_timeout=5" >"$STATE/conninfo"
echo "PostgreSQL 15 on 127.0.0.1:$PORT (data $PGDATA, user $PG_TEST_USER); conninfo in $STATE/conninfo"
