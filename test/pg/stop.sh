#!/usr/bin/env bash
# Stops the PostgreSQL started by start.sh STATE_DIR and removes its data directory.
set -uo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/common.sh"
STATE=${1:?usage: $0 STATE_DIR}
[[ -f $STATE/env ]] || { echo "stop.sh: nothing to stop in $STATE"; exit 0; }
. "$STATE/env"
if [[ -d $PGDATA ]]; then
  as_pg "$PG_BIN/pg_ctl" -D "$PGDATA" -m fast -w -t 30 stop >/dev/null 2>&1 ||
    as_pg "$PG_BIN/pg_ctl" -D "$PGDATA" -m immediate -w -t 30 stop >/dev/null 2>&1 || true
  case $PGDATA in /tmp/cvm-pg.*) rm -rf "$PGDATA" ;; esac
fi
rm -f "$STATE/env" "$STATE/conninfo"
echo "PostgreSQL stopped"
