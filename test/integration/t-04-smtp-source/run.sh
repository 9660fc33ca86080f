#!/usr/bin/env bash
# t-04: Postfix's own load client. smtp-source speaks HELO, reuses nothing, and runs
# many sessions at once; every message must land, over TCP and over a unix socket.
#
#   smtp-source -s 20 --> bccsink 127.0.0.1:random  and  unix:$T/sink.sock
. "${TESTLIB:-$(dirname "$0")/../lib.sh}"
need smtp-source jq

start_sink "$T/tcp"
smtp-source -s 20 -m 1000 -l 4096 -f sender@example.org -t watch@bcc.test "127.0.0.1:$SINK_PORT" ||
  fail "smtp-source over TCP failed"
"$BCCSINK" queue list --check --DataDir "$T/tcp" | tail -1 | grep -q "1000 rows, 1000 spool files, 0 problems" ||
  fail "not 1000 consistent messages: $("$BCCSINK" queue list --check --DataDir "$T/tcp" | tail -1)"
[ "$(queue_json "$T/tcp" | jq -r .helo | sort -u)" != "" ] || fail "no HELO recorded"
[ "$(queue_json "$T/tcp" | jq -r .sha256 | sort -u | wc -l)" -ge 1 ] || fail "no digests"
ok "1000 messages from 20 concurrent HELO sessions, all queued with their files"
stop_sink

SOCKET="unix:$T/sink.sock" start_sink "$T/unix"
smtp-source -s 5 -m 200 -f sender@example.org -t watch@bcc.test "unix:$T/sink.sock" ||
  fail "smtp-source over the unix socket failed"
"$BCCSINK" queue list --check --DataDir "$T/unix" | tail -1 | grep -q "200 rows, 200 spool files, 0 problems" ||
  fail "not 200 messages over the unix socket"
ok "200 messages over the unix socket"
# A second daemon on that socket must not take it from the running one.
if "$BCCSINK" serve --BccSocket "unix:$T/sink.sock" --HttpSocket 127.0.0.1:0 --DataDir "$T/unix2" \
  >"$T/second.out" 2>&1; then
  fail "a second daemon started on unix:$T/sink.sock"
fi
grep -q "in use" "$T/second.out" || fail "second daemon said: $(cat "$T/second.out")"
smtp-source -m 1 -f sender@example.org -t watch@bcc.test "unix:$T/sink.sock" ||
  fail "the first daemon lost its socket to the second"
ok "a second daemon on a unix socket in use stops at start; the first keeps it"
kill -KILL "$SINK_PID"  # leaves its socket file behind, as a crash does
wait "$SINK_PID" 2>/dev/null || true
[ -S "$T/sink.sock" ] || fail "no socket file left to test a stale one"
SOCKET="unix:$T/sink.sock" start_sink "$T/unix"
smtp-source -m 1 -f sender@example.org -t watch@bcc.test "unix:$T/sink.sock" ||
  fail "no delivery after a restart over a stale socket file"
ok "a stale socket file of a crashed daemon is taken over at restart"
stop_sink
finish
