#!/usr/bin/env bash
# t-13: SIGKILL while the spool rotates. With the smallest segments (BccSpoolSegmentSize
# 1M: a rotation every ~120 messages of 8 KB) the daemon is killed three times under
# load, each time at another point, and restarted; at the end every message any client
# saw acknowledged has its row and reads back with its SHA-256, and `queue list --check`
# finds nothing amiss (records of interrupted rounds are marked dead at restart).
#
#   smtp-source -s 20 --> bccsink (1M segments) --SIGKILL x3, restart--> check
. "${TESTLIB:-$(dirname "$0")/../lib.sh}"
need smtp-source jq sha256sum

SEG=(--BccSpoolSegmentSize 1M)
: >"$T/acked"
for round in 1 2 3; do
  start_sink "$T/data" "${SEG[@]}"
  smtp-source -v -s 20 -m 1500 -l 8192 -f sender@example.org -t watch@bcc.test \
    "127.0.0.1:$SINK_PORT" >"$T/client$round.log" 2>&1 &
  client=$!
  PIDS+=("$client")
  # A different point in the segment each round.
  want=$((150 + 170 * round))
  for _ in $(seq 1 1200); do
    [ "$(grep -c 'queued as' "$T/client$round.log" || true)" -ge "$want" ] && break
    sleep 0.02
  done
  kill -KILL "$SINK_PID"
  wait "$SINK_PID" 2>/dev/null || true
  wait "$client" 2>/dev/null || true
  grep -o 'queued as [0-9A-Z]*' "$T/client$round.log" | awk '{print $3}' >>"$T/acked"
done
sort -u -o "$T/acked" "$T/acked"
n=$(grep -c . "$T/acked")
segments=$(find "$T/data/spool/segments" -name '*.seg' | wc -l)
[ "$segments" -ge 6 ] || fail "only $segments segments: the spool did not rotate under the load"
ok "three SIGKILLs after $n acknowledged messages in all, across $segments segments"

start_sink "$T/data" "${SEG[@]}"
queue_json "$T/data" >"$T/rows.json"
jq -r .id "$T/rows.json" | sort -u >"$T/row-ids"
missing=$(comm -23 "$T/acked" "$T/row-ids" | grep -c . || true)
[ "$missing" -eq 0 ] || fail "$missing acknowledged messages have no row: $(comm -23 "$T/acked" "$T/row-ids" | head -3)"
"$BCCSINK" queue list --check --DataDir "$T/data" >"$T/check.out" || fail "queue check: $(grep -v '^[0-9A-Z]\{26\} ' "$T/check.out" | head -5)"
tail -1 "$T/check.out" | grep -q ", 0 problems$" || fail "queue check: $(tail -1 "$T/check.out")"
for id in $(awk 'NR % 40 == 1' "$T/acked"); do
  sum=$(spooled_message "$T/data" "$id" | sha256sum | cut -d' ' -f1)
  [ "$sum" = "$(jq -r "select(.id == \"$id\") | .sha256" "$T/rows.json")" ] || fail "spooled $id differs from its row"
done
ok "every acknowledged message has its row and its record ($(tail -2 "$T/check.out" | head -1))"

smtp-source -s 5 -m 200 -f sender@example.org -t watch@bcc.test "127.0.0.1:$SINK_PORT" || fail "no intake after the restarts"
ok "intake works after the restarts"
stop_sink
finish
