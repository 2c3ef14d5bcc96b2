#!/usr/bin/env bash
# Restarts the PostgreSQL started by start.sh STATE_DIR (same port and data).
# Usage: restart.sh STATE_DIR [fast|immediate] [seconds to stay down]
#   fast: clean shutdown; immediate: crash-like (no checkpoint; recovery replays the WAL on start).
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/common.sh"
STATE=${1:?usage: $0 STATE_DIR [fast|immediate] [down_seconds]}
MODE=${2:-fast}
DOWN=${3:-0}
. "$STATE/env"
as_pg "$PG_BIN/pg_ctl" -D "$PGDATA" -m "$MODE" -w -t 30 stop >/dev/null
sleep "$DOWN"
as_pg "$PG_BIN/pg_ctl" -D "$PGDATA" -l "$PGDATA/server.log" -w -t 60 start >/dev/null
