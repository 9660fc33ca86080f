#!/usr/bin/env bash
# t-05: the durability promise under SIGKILL. While smtp-source sends 2,000 messages,
# the daemon is killed mid-way and restarted; every message the client saw
# acknowledged with "250 ... queued as ID" must have its row and a spool file whose
# SHA-256 matches the row. Recovery must not delete anything that was acknowledged.
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
missing=0
for id in $acked; do
  row=$(jq -c "select(.id == \"$id\")" "$T/rows.json")
  if [ -z "$row" ]; then
    echo "acknowledged but no row: $id"
    missing=$((missing + 1))
    continue
  fi
  file="$T/data/spool/$(echo "$row" | jq -r .spool_file)"
  if [ ! -f "$file" ] || [ "$(sha256sum "$file" | cut -d' ' -f1)" != "$(echo "$row" | jq -r .sha256)" ]; then
    echo "acknowledged but spool file missing or changed: $id"
    missing=$((missing + 1))
  fi
done
[ "$missing" -eq 0 ] || fail "$missing acknowledged messages lost"
ok "all $n acknowledged messages have their row and a spool file with the same SHA-256"

# Files renamed but never committed are reported, not deleted.
"$BCCSINK" queue list --check --DataDir "$T/data" >"$T/check.out" || true
grep -q "row without spool file" "$T/check.out" && fail "a row lost its file: $(cat "$T/check.out")"
orphans=$(grep -c "orphan spool file" "$T/check.out" || true)
ok "queue check after the crash: no row without its file ($orphans unacknowledged orphans reported)"

# The restarted daemon takes mail again.
smtp-source -s 5 -m 100 -f sender@example.org -t watch@bcc.test "127.0.0.1:$SINK_PORT" || fail "no intake after restart"
ok "intake works after the restart"
stop_sink
finish
