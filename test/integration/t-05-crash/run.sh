#!/usr/bin/env bash
# t-05: the durability promise under SIGKILL. While smtp-source sends 2,000 messages,
# the daemon is killed mid-way and restarted; every message the client saw
# acknowledged with "250 ... queued as ID" must have its row and its spooled copy (a
# segment record) with the row's SHA-256. Recovery must not drop anything that was
# acknowledged, and leaves no record without a row (it marks those dead).
#
#   smtp-source -v -s 20 -m 2000 --> bccsink --SIGKILL--> bccsink (restart) --> check
. "${TESTLIB:-$(dirname "$0")/../lib.sh}"
need smtp-source jq sha256sum

start_sink "$T/data"
port=$SINK_PORT
# -v prints every reply, so the acknowledged queue ids are in its log.
smtp-source -v -s 20 -m 2000 -l 8192 -f sender@example.org -t watch@bcc.test "127.0.0.1:$port" \
  >"$T/client.log" 2>&1 &
client=$!
PIDS+=("$client")
for _ in $(seq 1 1200); do
  [ "$(grep -c 'queued as' "$T/client.log" || true)" -ge 400 ] && break
  sleep 0.05
done
kill -KILL "$SINK_PID"
wait "$SINK_PID" 2>/dev/null || true
wait "$client" 2>/dev/null || true
acked=$(grep -o 'queued as [0-9A-Z]*' "$T/client.log" | awk '{print $3}' | sort -u)
n=$(echo "$acked" | grep -c . || true)
[ "$n" -ge 400 ] || fail "only $n messages acknowledged before the kill"
[ "$n" -lt 2000 ] || fail "the kill came too late to test anything ($n acknowledged)"
ok "SIGKILL after $n acknowledged messages"

touch "$T/data/spool/01LEFTOVER000000000000000.eml.tmp"
start_sink "$T/data"
grep -q "recovery: removed unfinished spool/01LEFTOVER" "$T/sink.log" || fail "leftover temp file not reported"
queue_json "$T/data" >"$T/rows.json"
jq -r .id "$T/rows.json" | sort -u >"$T/row-ids"
missing=$(comm -23 <(echo "$acked") "$T/row-ids" | grep -c . || true)
[ "$missing" -eq 0 ] || fail "$missing acknowledged messages have no row: $(comm -23 <(echo "$acked") "$T/row-ids" | head -3)"
ok "all $n acknowledged messages have their row"

# The check reads every row's message from the spool against the row's size and SHA-256,
# and every record against the rows: after recovery nothing may be amiss (a record of the
# round the kill interrupted has no row and was marked dead).
"$BCCSINK" queue list --check --DataDir "$T/data" >"$T/check.out" || fail "queue check: $(grep -v '^[0-9A-Z]\{26\} ' "$T/check.out" | head -5)"
tail -1 "$T/check.out" | grep -q ", 0 problems$" || fail "queue check: $(tail -1 "$T/check.out")"
# And some of them by hand, as a reader gets them.
for id in $(echo "$acked" | awk 'NR % 50 == 1'); do
  sum=$(spooled_message "$T/data" "$id" | sha256sum | cut -d' ' -f1)
  [ "$sum" = "$(jq -r "select(.id == \"$id\") | .sha256" "$T/rows.json")" ] || fail "spooled $id differs from its row"
done
ok "every acknowledged message reads back with its row's SHA-256 ($(tail -2 "$T/check.out" | head -1))"

# The restarted daemon takes mail again.
smtp-source -s 5 -m 100 -f sender@example.org -t watch@bcc.test "127.0.0.1:$SINK_PORT" || fail "no intake after restart"
ok "intake works after the restart"
stop_sink
finish
