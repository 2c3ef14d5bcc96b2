#!/usr/bin/env bash
# Fault: the server's data_dir (SQLite datastore, disk KeyManager, server ID) on a small tmpfs that fills up.
# While full: a write through the admin API fails with a clear error naming the datastore and the reason (no
# space), reads still work, and the server logs the same; a restart on the full disk either serves or stops with
# an error naming the path and the reason. Nothing is corrupted (`PRAGMA integrity_check`, every entry written
# before is still there) and once space returns the server takes writes again.
# Needs root to mount a tmpfs; without it the test says so in one line and is skipped (77).
# Usage: server_disk_full_test.sh <build-dir>
set -euo pipefail
source "$(dirname "$0")/lib.sh"

if ! mount -t tmpfs -o size=8m,mode=0700 tmpfs "$SDIR" 2>"$T/mount.err"; then
  skip "cannot mount a tmpfs on $SDIR (needs root): $(head -1 "$T/mount.err")"
fi
MOUNTS+=("$SDIR")
PARENT=spiffe://$TD/spire/agent/join_token/full
create() { srv entry create -entryID "$1" -parentID "$PARENT" -spiffeID "spiffe://$TD/full/$1" -selector unix:uid:1; }

write_server_conf
start_server
step "entries written while there is space"
for i in 1 2 3; do create "before-$i" >/dev/null || fail "entry create before-$i"; done

step "fill the tmpfs"
dd if=/dev/zero of="$SDIR/filler" bs=64k 2>/dev/null || true
# SQLite may still find free pages in its files: write until the datastore itself reports the full disk.
for i in $(seq 1 40); do
  if ! create "full-$i" >"$T/full.out" 2>"$T/full.err"; then break; fi
done
cat "$T/full.err"
expect "$T/full.err" "datastore.*$SDIR/datastore.sqlite3" "the error does not name the datastore file"
expect "$T/full.err" "[Nn]o space left on device|disk is full" "the error does not give the reason (no space)"
expect "$T/server.log" "$SDIR/datastore.sqlite3.*([Nn]o space left on device|disk is full)" \
  "the server log does not name the path and the reason"

step "while full: reads still work, the server stays up"
srv entry show -entryID before-1 | grep -q before-1 || fail "entry show while the disk is full"
kill -0 "$SERVER_PID" 2>/dev/null || fail "the server exited when the disk filled"

step "restart on the full disk: serves, or stops naming the path and the reason"
kill "$SERVER_PID"; wait "$SERVER_PID" 2>/dev/null || true
"$SERVER_BIN" run -config "$T/server.conf" >"$T/server-full.log" 2>&1 &
SERVER_PID=$!
PIDS+=("$SERVER_PID")
LOGS+=("$T/server-full.log")
state=starting
for i in $(seq 1 120); do
  if ! kill -0 "$SERVER_PID" 2>/dev/null; then state=exited; break; fi
  if "$SERVER_BIN" healthcheck -socketPath "$SSOCK" >/dev/null 2>&1; then state=serving; break; fi
  sleep 0.5
done
case $state in
  serving)
    echo "   restarted on the full disk"
    srv entry show -entryID before-2 | grep -q before-2 || fail "entry show after restart on the full disk"
    kill "$SERVER_PID"; wait "$SERVER_PID" 2>/dev/null || true ;;
  exited)
    wait "$SERVER_PID" 2>/dev/null || true
    echo "   refused to start: $(grep -iE 'space|full' "$T/server-full.log" | tail -1)"
    expect "$T/server-full.log" "$SDIR/[a-z_.0-9]+.*([Nn]o space left on device|disk is full)" \
      "the failed start does not name the path and the reason" ;;
  *) fail "the server neither served nor stopped on the full disk" ;;
esac

step "space back: integrity_check, nothing lost, writes work again"
rm -f "$SDIR/filler"
integrity_ok "$SDIR/datastore.sqlite3" || fail "integrity_check after the disk was full"
start_server "$T/server-after.log"
for i in 1 2 3; do srv entry show -entryID "before-$i" | grep -q "before-$i" || fail "before-$i lost"; done
create after-1 >/dev/null || fail "entry create once space returned"
srv entry show -entryID after-1 | grep -q after-1 || fail "after-1 not listed"
integrity_ok "$SDIR/datastore.sqlite3" || fail "integrity_check at the end"
echo "PASS"
