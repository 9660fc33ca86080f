#!/usr/bin/env bash
# t-15-two-sinks: two daemons on one PostgreSQL act as one system (issue 15).
#
#   swaks / smtp-source --> bccsink a (SinkName a, DataDir a) --+
#                      \--> bccsink b (SinkName b, DataDir b) --+--> one private PostgreSQL 15
#                                 |   each: its own spool, HTTP port, Maildir of reports
#                                 +--> one vxCube emulator (the shared analyzer)
#
# 1. 40 copies split across both sinks, each with 2 of a pool of 5 PDFs: all checked
#    clean, and the emulator saw exactly one lookup, upload and analysis per distinct file
#    (the verdict cache and the in-flight submissions are shared); 5 vxcube verdict rows.
# 2. Either sink's /api/messages lists every copy of both, each with its sink's name.
# 3. 6 copies carrying a file the emulator calls dangerous, 3 to each sink: 6 report
#    mails in all (each sink's Maildir holds the reports of its own copies), not 12.
# 4. SIGKILL of sink b while a burst of 600 copies goes to it (and 30 to a): every copy
#    smtp-source saw acknowledged has its row; after b's restart on the same DataDir its
#    work completes and its spool checks clean.
# 5. PostgreSQL restarted (`pg_ctl restart -m fast`) while both sinks take copies, then
#    stopped for a few seconds: intake answers 451 4.3.0 (swaks sees it on both sinks),
#    then takes mail again and every acknowledged copy completes, the daemons never
#    restarted.
# Every server is stopped by PID; PostgreSQL after the daemons (at_exit).
# shellcheck source-path=SCRIPTDIR source=../lib.sh
. "${TESTLIB:-$(dirname "$0")/../lib.sh}"
need swaks smtp-source jq curl python3 sha256sum
HERE=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=../../postgres-private.sh
. "$HERE/../../postgres-private.sh"
EMULATOR=$(dirname "$BCCSINK_BIN")/vxcube-emulator
[ -x "$EMULATOR" ] || fail "no vxcube-emulator beside $BCCSINK_BIN"

# ------------------------------------------------------------------------ the servers
# shellcheck disable=SC2016 # expanded at exit, once PG_DIR is known
at_exit 'postgres_private_stop "${PG_DIR:-}"'
postgres_private_start >"$T/pg.out" 2>&1 || fail "private PostgreSQL: $(cat "$T/pg.out")"

# pg SQL: one statement through psql on the server's socket, rows as a|b lines.
pg() {
  "$PG_BIN/psql" -X -q -A -t -v ON_ERROR_STOP=1 -h "$PG_SOCKET_DIR" -p "$PG_PORT" -U "$PG_USER" \
    -d "$PG_DB" -c "$1"
}

python3 "$HERE/make_messages.py" "$T"
"$EMULATOR" --listen 127.0.0.1:0 --api-key t15-key --dangerous-sha256 "$T/dangerous.txt" \
  --analysis-ms 1500 >"$T/emulator.out" 2>"$T/emulator.err" &
PIDS+=($!)
for _ in $(seq 1 100); do grep -q "listening on" "$T/emulator.out" && break; sleep 0.1; done
VX_PORT=$(sed -nE 's/.*listening on [^ ]*:([0-9]+).*/\1/p' "$T/emulator.out" | head -1)
[ -n "$VX_PORT" ] || fail "the emulator did not start: $(cat "$T/emulator.out" "$T/emulator.err")"
emulator() { curl -sSf "http://127.0.0.1:$VX_PORT/_emulator/stats" | jq -r ".$1"; }

TOKEN='t0ken-for-t15-at-least-32-characters'
(umask 077 && echo "$TOKEN" >"$T/http-token")
SINK_ARGS=(--DatabaseUrl "$PG_URL" --HttpTokenFile "$T/http-token" --BccWorkers 2
  --UseYara no --UseVxcube yes --VxcubeApiAddress "http://127.0.0.1:$VX_PORT/api-2.0/"
  --VxcubeApiKey t15-key --VxcubePollInterval 1s)
start_named_sink a "$T/a" "${SINK_ARGS[@]}"
start_named_sink b "$T/b" "${SINK_ARGS[@]}"
[ -n "${NAMED_HTTP[a]}" ] && [ -n "${NAMED_HTTP[b]}" ] || fail "a sink has no HTTP port"
ok "PostgreSQL $PG_PORT, emulator $VX_PORT, sinks a (${NAMED_PORT[a]}) and b (${NAMED_PORT[b]}) on it"

# send_file PORT FILE: one copy with smtp-source; prints the queue id it was given.
send_file() {
  smtp-source -v -m 1 -F "$2" -f alice@example.org -t watch@bcc.test "127.0.0.1:$1" 2>&1 |
    sed -n 's/.*queued as \([0-9A-Z]*\).*/\1/p'
}
export -f send_file
# send_plan FILE CLIENTS: the copies FILE lists ("SINK MESSAGE" a line), CLIENTS at a
# time, both sinks at once; prints their queue ids.
send_plan() {
  sed "s/^a /${NAMED_PORT[a]} /; s/^b /${NAMED_PORT[b]} /" "$1" |
    # shellcheck disable=SC2016
    xargs -P "$2" -L 1 bash -c 'send_file "$0" "$1"'
}

# settled N [SECONDS]: until the database holds N messages, none pending or analyzing,
# none failed (default 40 s).
settled() {
  local n=$1 limit=${2:-40} now
  for _ in $(seq 1 $((limit * 5))); do
    now=$(pg "SELECT COUNT(*) || ' ' || COUNT(*) FILTER (WHERE state IN ('pending', 'analyzing'))
              || ' ' || COUNT(*) FILTER (WHERE state = 'failed') FROM messages")
    [ "$now" = "$n 0 0" ] && return 0
    [ "$(echo "$now" | cut -d' ' -f3)" = 0 ] ||
      fail "failed messages: $(pg "SELECT sink || ' ' || id || ': ' || reason FROM messages WHERE state = 'failed' LIMIT 3")"
    sleep 0.2
  done
  fail "after $limit s: $(pg "SELECT sink || ':' || state || '=' || COUNT(*) FROM messages GROUP BY sink, state ORDER BY 1" |
    tr '\n' ' ')(want $n, none open)"
}

# ------------------------------------------------------- 1. one upload per distinct file
for i in $(seq 0 39); do
  printf '%s %s\n' "$([ $((i % 2)) -eq 0 ] && echo a || echo b)" "$(printf '%s/msg/c%02d.eml' "$T" "$i")"
done >"$T/plan-c"
# 4 clients: the copies of one file reach both sinks while it is in flight.
send_plan "$T/plan-c" 4 >"$T/acked-c"
[ "$(grep -c . "$T/acked-c")" -eq 40 ] || fail "$(grep -c . "$T/acked-c") of 40 copies acknowledged"
settled 40
[ "$(pg "SELECT sink || '=' || COUNT(*) FROM messages GROUP BY sink ORDER BY sink" | tr '\n' ' ')" = "a=20 b=20 " ] ||
  fail "copies per sink: $(pg "SELECT sink, COUNT(*) FROM messages GROUP BY sink")"
[ "$(pg "SELECT COUNT(*) FROM messages WHERE verdict = 'clean' AND state = 'checked'")" = 40 ] ||
  fail "not all 40 checked clean: $(pg "SELECT state || ' ' || verdict || '=' || COUNT(*) FROM messages GROUP BY 1" | tr '\n' ' ')"
stats="lookups $(emulator lookups), uploads $(emulator uploads), analyses $(emulator analyses)"
[ "$stats" = "lookups 5, uploads 5, analyses 5" ] || fail "the emulator saw $stats for 5 distinct files"
[ "$(pg "SELECT COUNT(*) FROM file_verdicts WHERE analyzer = 'vxcube'")" = 5 ] ||
  fail "vxcube verdict rows: $(pg "SELECT COUNT(*) FROM file_verdicts WHERE analyzer = 'vxcube'")"
[ "$(pg "SELECT COUNT(*) FROM file_submissions")" = 0 ] || fail "submissions left in flight: $(pg "SELECT * FROM file_submissions")"
ok "40 copies over both sinks (20 each), 5 distinct files: the emulator saw $stats"

# --------------------------------------------------------- 2. one view from either sink
api() {
  curl -sS --fail-with-body -H "Authorization: Bearer $TOKEN" "http://127.0.0.1:${NAMED_HTTP[$1]}/api/$2" ||
    fail "sink $1: GET /api/$2"
}
pg "SELECT id || ' ' || sink FROM messages" | sort >"$T/rows-2"
for s in a b; do
  api "$s" 'messages?limit=1000' >"$T/list-$s.json"
  jq -r '.messages[] | "\(.id) \(.sink)"' "$T/list-$s.json" | sort >"$T/listed-$s"
  diff "$T/rows-2" "$T/listed-$s" >"$T/diff" || fail "sink $s lists other messages than the database: $(head -5 "$T/diff")"
  [ "$(jq .count "$T/list-$s.json")" = 40 ] || fail "sink $s: count $(jq .count "$T/list-$s.json")"
done
for s in a b; do
  api a "messages?sink=$s&limit=1000" >"$T/only-$s.json"
  jq -e --arg s "$s" '.count == 20 and all(.messages[]; .sink == $s)' "$T/only-$s.json" >/dev/null ||
    fail "sink a, ?sink=$s: $(jq -c '[.count, ([.messages[].sink] | unique)]' "$T/only-$s.json")"
done
ok "either sink's /api/messages lists all 40 copies, each with its sink's name (20 a, 20 b); ?sink= one's"

# A copy's bytes are on the disk of the sink that received it: that one serves them, the
# other answers 421 naming it.
id_b=$(pg "SELECT id FROM messages WHERE sink = 'b' LIMIT 1")
curl -sS -o "$T/raw-b" -w '%{http_code}' -H "Authorization: Bearer $TOKEN" \
  "http://127.0.0.1:${NAMED_HTTP[b]}/api/messages/$id_b/raw" >"$T/code-b"
[ "$(cat "$T/code-b")" = 200 ] && [ "$(sha256sum <"$T/raw-b" | cut -d' ' -f1)" = "$(pg "SELECT sha256 FROM messages WHERE id = '$id_b'")" ] ||
  fail "sink b's /raw of its own copy: HTTP $(cat "$T/code-b"), $(head -c 200 "$T/raw-b")"
curl -sS -o "$T/raw-a" -w '%{http_code}' -H "Authorization: Bearer $TOKEN" \
  "http://127.0.0.1:${NAMED_HTTP[a]}/api/messages/$id_b/raw" >"$T/code-a"
[ "$(cat "$T/code-a")" = 421 ] && jq -e '.sink == "b"' "$T/raw-a" >/dev/null ||
  fail "sink a's /raw of b's copy: HTTP $(cat "$T/code-a"), $(head -c 200 "$T/raw-a")"
ok "a copy's bytes: served by the sink that holds them (its SHA-256), 421 naming it from the other"

# ------------------------------------------------------ 3. N dangerous copies, N reports
for i in 0 1 2 3 4 5; do
  echo "$([ $((i % 2)) -eq 0 ] && echo a || echo b) $T/msg/d$i.eml"
done >"$T/plan-d"
send_plan "$T/plan-d" 6 >"$T/acked-d"
[ "$(grep -c . "$T/acked-d")" -eq 6 ] || fail "$(grep -c . "$T/acked-d") of 6 dangerous copies acknowledged"
settled 46
for _ in $(seq 1 150); do
  [ "$(pg "SELECT COUNT(*) FROM messages WHERE verdict = 'dangerous' AND report_status = 'sent'")" = 6 ] && break
  sleep 0.2
done
[ "$(pg "SELECT COUNT(*) FROM messages WHERE verdict = 'dangerous' AND state = 'reported' AND report_status = 'sent'")" = 6 ] ||
  fail "dangerous copies: $(pg "SELECT sink || ' ' || state || ' ' || COALESCE(report_status, '-') FROM messages WHERE verdict = 'dangerous'" | tr '\n' ';')"
sleep 1 # a second reporter round: nothing more may be mailed
for s in a b; do
  find "$T/$s/reports/new" -type f -exec grep -h -m1 -i '^X-Bccsink-Queue-Id:' {} + 2>/dev/null |
    awk '{print $2}' | tr -d '\r' | sort >"$T/mailed-$s"
  pg "SELECT id FROM messages WHERE verdict = 'dangerous' AND sink = '$s'" | sort >"$T/dangerous-$s"
  diff "$T/dangerous-$s" "$T/mailed-$s" >/dev/null ||
    fail "sink $s mailed reports for [$(tr '\n' ' ' <"$T/mailed-$s")], its dangerous copies are [$(tr '\n' ' ' <"$T/dangerous-$s")]"
done
total=$(cat "$T/mailed-a" "$T/mailed-b" | grep -c .)
[ "$total" -eq 6 ] || fail "$total report mails for 6 dangerous copies"
[ "$(emulator uploads)" = 6 ] || fail "uploads $(emulator uploads) after the dangerous file, not 6"
ok "6 dangerous copies (3 per sink): 6 report mails in all, each sink mailing its own"

# ---------------------------------------- 4. SIGKILL of one sink while it takes a burst
before=$(pg "SELECT COUNT(*) FROM messages")
smtp-source -v -s 10 -m 600 -F "$T/msg/burst.eml" -f alice@example.org -t watch@bcc.test \
  "127.0.0.1:${NAMED_PORT[b]}" >"$T/burst-b.log" 2>&1 &
client_b=$!
PIDS+=("$client_b")
smtp-source -v -s 2 -m 30 -F "$T/msg/burst.eml" -f alice@example.org -t watch@bcc.test \
  "127.0.0.1:${NAMED_PORT[a]}" >"$T/burst-a.log" 2>&1 &
client_a=$!
PIDS+=("$client_a")
for _ in $(seq 1 1000); do
  [ "$(grep -c 'queued as' "$T/burst-b.log" || true)" -ge 100 ] && break
  sleep 0.01
done
kill_named_sink b
wait "$client_b" 2>/dev/null || true
forget_pid "$client_b"
wait "$client_a" || fail "the burst to sink a: $(tail -3 "$T/burst-a.log")"
forget_pid "$client_a"
grep -o 'queued as [0-9A-Z]*' "$T/burst-b.log" | awk '{print $3}' | sort -u >"$T/acked-b"
n=$(grep -c . "$T/acked-b" || true)
[ "$n" -ge 100 ] && [ "$n" -lt 600 ] || fail "$n of 600 acknowledged before the kill: nothing to test"
pg "SELECT id FROM messages WHERE sink = 'b'" | sort >"$T/rows-b"
missing=$(comm -23 "$T/acked-b" "$T/rows-b" | grep -c . || true)
[ "$missing" -eq 0 ] || fail "$missing acknowledged copies have no row: $(comm -23 "$T/acked-b" "$T/rows-b" | head -3)"
open=$(pg "SELECT COUNT(*) FROM messages WHERE sink = 'b' AND state IN ('pending', 'analyzing')")
ok "SIGKILL of b after $n acknowledged copies: every one has its row ($open of b's not yet analysed)"

start_named_sink b "$T/b" "${SINK_ARGS[@]}"
total=$(pg "SELECT COUNT(*) FROM messages")
[ "$total" -ge $((before + 30 + n)) ] || fail "$total rows, fewer than the $((before + 30 + n)) acknowledged"
settled "$total" 60
[ "$(pg "SELECT COUNT(*) FROM messages WHERE header_message_id = '<burst@t-15.test>' AND (verdict <> 'clean' OR state <> 'checked')")" = 0 ] ||
  fail "burst copies not checked clean: $(pg "SELECT sink || ' ' || state || ' ' || verdict || '=' || COUNT(*) FROM messages WHERE header_message_id = '<burst@t-15.test>' GROUP BY 1" | tr '\n' ' ')"
# Some of them read back as a reader gets them, with their row's SHA-256.
for id in $(awk 'NR % 20 == 1' "$T/acked-b"); do
  sum=$("$BCCSINK" queue show "$id" --raw --DataDir "$T/b" --DatabaseUrl "$PG_URL" --SinkName b | sha256sum | cut -d' ' -f1)
  [ "$sum" = "$(pg "SELECT sha256 FROM messages WHERE id = '$id'")" ] || fail "b's spooled $id differs from its row"
done
"$BCCSINK" queue list --check --DataDir "$T/b" --DatabaseUrl "$PG_URL" --SinkName b >"$T/check-b.out" 2>&1 ||
  fail "queue check of b: $(tail -3 "$T/check-b.out")"
tail -1 "$T/check-b.out" | grep -q ", 0 problems$" || fail "queue check of b: $(tail -1 "$T/check-b.out")"
ok "b restarted on its DataDir: all $total copies checked (the burst clean), b's spool checks clean"

# ------------------------------------------------ 5. PostgreSQL restarts under the load
# feed SINK: one copy at a time until $T/stop exists; a line per copy in $T/feed-SINK:
# "ok ID" for a 250, else the refusal smtp-source died on (it gives up at a 4xx).
feed() {
  local s=$1 out line
  while [ ! -e "$T/stop" ]; do
    out=$(timeout 20 smtp-source -v -m 1 -l 2048 -f alice@example.org -t watch@bcc.test "127.0.0.1:${NAMED_PORT[$s]}" 2>&1 || true)
    if [[ $out =~ queued\ as\ ([0-9A-Z]+) ]]; then
      echo "ok ${BASH_REMATCH[1]}"
    else
      line=$(echo "$out" | grep -m1 'fatal:' || echo "${out##*$'\n'}")
      if [[ $line =~ \ ([45][0-9][0-9]\ .*) ]]; then
        echo "refused ${BASH_REMATCH[1]}"
      else
        echo "refused without a code: $line"
      fi
    fi
    sleep 0.02
  done >>"$T/feed-$s"
}
refused() { grep -c '^refused' "$T/feed-$1" || true; }
accepted() { grep -c '^ok' "$T/feed-$1" || true; }
pid_a=${NAMED_PID[a]}
pid_b=${NAMED_PID[b]}
: >"$T/feed-a"
: >"$T/feed-b"
feed a &
PIDS+=($!)
feeders=($!)
feed b &
PIDS+=($!)
feeders+=($!)
for _ in $(seq 1 200); do
  [ "$(accepted a)" -ge 10 ] && [ "$(accepted b)" -ge 10 ] && break
  sleep 0.05
done
postgres_private_ctl restart -m fast >"$T/pg-restart.out" 2>&1 || fail "pg_ctl restart: $(cat "$T/pg-restart.out")"
# After the restart both take mail again, without being restarted.
for s in a b; do
  mark=$(accepted "$s")
  for _ in $(seq 1 200); do
    [ "$(accepted "$s")" -ge $((mark + 5)) ] && break
    sleep 0.05
  done
  [ "$(accepted "$s")" -ge $((mark + 5)) ] || fail "sink $s takes no mail after pg_ctl restart: $(tail -2 "$T/feed-$s")"
done
ok "pg_ctl restart -m fast under load: both sinks take mail again ($(refused a) + $(refused b) copies refused meanwhile)"

# Down for a few seconds: what an MTA sees is a temporary failure, never a 5xx or a 250.
postgres_private_ctl stop -m fast >"$T/pg-stop.out" 2>&1 || fail "pg_ctl stop: $(cat "$T/pg-stop.out")"
sleep 0.5
for s in a b; do
  set +e
  swaks --timeout 15 --server "127.0.0.1:${NAMED_PORT[$s]}" --from alice@example.org --to watch@bcc.test \
    --header "Subject: while PostgreSQL is down" >"$T/swaks-down-$s.out" 2>&1
  rc=$?
  set -e
  [ "$rc" -ne 0 ] && grep -q '^<\*\* *451 4\.3\.0' "$T/swaks-down-$s.out" ||
    fail "sink $s while PostgreSQL is down: swaks rc $rc: $(grep '^<' "$T/swaks-down-$s.out" | tail -3)"
done
down_a=$(refused a)
down_b=$(refused b)
sleep 2
[ "$(refused a)" -gt "$down_a" ] && [ "$(refused b)" -gt "$down_b" ] ||
  fail "the feeders were not refused while PostgreSQL was down: $(tail -1 "$T/feed-a"); $(tail -1 "$T/feed-b")"
bad=$(grep -h '^refused' "$T/feed-a" "$T/feed-b" | grep -v '^refused 4' | head -3 || true)
[ -z "$bad" ] || fail "refusals that are not temporary: $bad"
ok "PostgreSQL stopped: both sinks answer 451 4.3.0 (swaks), the feeders' copies are refused with 4xx"

postgres_private_ctl start >"$T/pg-start.out" 2>&1 || fail "pg_ctl start: $(cat "$T/pg-start.out")"
# An MTA retries a deferred copy; the first retry after the restart may still meet a
# session that has not noticed yet, so a few seconds of retries are allowed.
for s in a b; do
  up=0
  for _ in $(seq 1 50); do
    swaks --timeout 15 --server "127.0.0.1:${NAMED_PORT[$s]}" --from alice@example.org --to watch@bcc.test \
      --header "Subject: PostgreSQL is back" >"$T/swaks-up-$s.out" 2>&1 && up=1 && break
    sleep 0.2
  done
  [ $up -eq 1 ] || fail "sink $s after PostgreSQL came back: $(grep '^<' "$T/swaks-up-$s.out" | tail -2)"
done
sleep 1
touch "$T/stop"
for f in "${feeders[@]}"; do
  wait "$f" || true
  forget_pid "$f"
done
[ "${NAMED_PID[a]}" = "$pid_a" ] && [ "${NAMED_PID[b]}" = "$pid_b" ] &&
  kill -0 "$pid_a" && kill -0 "$pid_b" || fail "a sink is no longer the process it was"
sed -n 's/^ok //p' "$T/feed-a" "$T/feed-b" | sort -u >"$T/acked-5"
pg "SELECT id FROM messages" | sort >"$T/rows-5"
missing=$(comm -23 "$T/acked-5" "$T/rows-5" | grep -c . || true)
[ "$missing" -eq 0 ] || fail "$missing copies acknowledged around the outage have no row: $(comm -23 "$T/acked-5" "$T/rows-5" | head -3)"
total=$(pg "SELECT COUNT(*) FROM messages")
settled "$total" 60
# The HTTP stage's pooled sessions died with the server too: the API answers all the same.
for s in a b; do
  api "$s" 'messages?limit=1' >"$T/after-$s.json"
  [ "$(jq .count "$T/after-$s.json")" = 1 ] || fail "sink $s's API after the outage: $(cat "$T/after-$s.json")"
done
ok "PostgreSQL back: $(grep -c . "$T/acked-5") copies acknowledged around the outage, all $total checked, same two processes"

stop_named_sink a
stop_named_sink b
finish
