#!/usr/bin/env bash
# t-18-slowloris: connection slots stay bounded under attack (issue 18, finding 1).
#
#   attacker   127.0.0.2  300 connections, 1 byte / 3 s ---+
#   non-reader 127.0.0.4  HELP flood, reads no reply ------+
#   busy DATA  127.0.0.5  DATA at 10 kB/s, never ends -----+--> bccsink 127.0.0.1:PORT
#   outsiders  127.0.0.9  40 connections, never QUIT ------+    BccMaxConnections 60, of them
#   swaks      127.0.0.1  the legitimate MTA's copies -----+    10 reserved for the allowed
#                                                               127.0.0.1-5
#
# 1. The attacker's first 20 connections are greeted and its 21st-300th get 421 4.7.0
#    (BccMaxConnectionsPerIp 20); each greeted one, trickling a byte every 3 s, is told
#    421 4.4.2 for its rate (BccMinDataRate 500 after the 10 s grace) well before 20 s.
# 2. A client reading none of its replies is closed within BccSendTimeout (3 s) of its
#    sends blocking.
# 3. A client busy in DATA past BccSessionTimeout (20 s) gets 451 then 421 4.4.2, and its
#    message is not stored.
# 4. Outsiders (not in BccAllowedClients) get 554 and are closed at once, so 40 of them
#    that never say QUIT hold none of the 60 slots.
# 5. Meanwhile swaks from 127.0.0.1 gets every copy accepted, and /metrics counts the
#    refusals by reason (per_ip, slow, send_timeout, session_deadline, client/reserved).
# About 25 s of wall time.
. "${TESTLIB:-$(dirname "$0")/../lib.sh}"
need swaks python3 curl jq
CLIENTS=$(cd "$(dirname "$0")/../../bench" && pwd)/slow_clients.py
[ -f "$CLIENTS" ] || fail "no $CLIENTS"

start_sink "$T/d" --BccMaxConnections 60 --BccReservedConnections 10 \
  --BccMaxConnectionsPerIp 20 --BccMinDataRate 500 --BccSendTimeout 3s \
  --BccSessionTimeout 20s --BccCommandTimeout 5m --BccDataTimeout 3m \
  --BccAllowedClients "127.0.0.1/32 127.0.0.2/32 127.0.0.3/32 127.0.0.4/32 127.0.0.5/32"
HTTP=""
for _ in $(seq 1 50); do
  HTTP=$(sed -n -E 's/.*http listening on [^ ]*:([0-9]+).*/\1/p' "$T/sink.log" | tail -1)
  [ -n "$HTTP" ] && break
  sleep 0.1
done
[ -n "$HTTP" ] || fail "no 'http listening on' line in the log"
metric() {
  curl -sS "http://127.0.0.1:$HTTP/metrics" | awk -v m="$1" '$1 == m { print $2 }'
}

t0=$SECONDS
python3 "$CLIENTS" slowloris 127.0.0.1 "$SINK_PORT" 127.0.0.2 300 3 40 >"$T/loris.json" &
LORIS=$!
python3 "$CLIENTS" nonreader 127.0.0.1 "$SINK_PORT" 127.0.0.4 30 >"$T/nonreader.json" &
NONREADER=$!
python3 "$CLIENTS" busydata 127.0.0.1 "$SINK_PORT" 127.0.0.5 40 >"$T/busy.json" &
BUSY=$!
sleep 1  # the attack is in place
python3 "$CLIENTS" refused 127.0.0.1 "$SINK_PORT" 127.0.0.9 40 >"$T/refused.json" ||
  fail "refused clients: $(cat "$T/refused.json")"

# The legitimate MTA, while the attack holds what it can.
for i in 1 2 3 4 5; do
  swaks --server "127.0.0.1:$SINK_PORT" --local-interface 127.0.0.1 --timeout 20 \
    --from "mta$i@example.org" --to watch@bcc.test >"$T/swaks$i.out" 2>&1 ||
    fail "legitimate copy $i refused during the attack: $(grep -E '^<(\*\*|-) ' "$T/swaks$i.out" | tail -3)"
  grep -q "<-  250 2.0.0 Ok: queued as" "$T/swaks$i.out" || fail "copy $i not queued: $(tail -3 "$T/swaks$i.out")"
done
ok "the legitimate client's 5 copies are accepted during the attack"

jq -e '.connections == 40 and .closed_by_server == 40 and .closed_after_max < 1 and
       (.first_lines | map(startswith("554 5.7.1")) | all)' "$T/refused.json" >/dev/null ||
  fail "outsiders: $(cat "$T/refused.json")"
ok "40 outsiders get 554 and are closed at once ($(jq .closed_after_max "$T/refused.json") s at most)"

wait "$NONREADER" || fail "non-reader client failed"
jq -e '.closed and .closed_after_blocked <= 5' "$T/nonreader.json" >/dev/null ||
  fail "non-reading client: $(cat "$T/nonreader.json")"
ok "a client reading no replies is closed $(jq .closed_after_blocked "$T/nonreader.json") s after its sends block (BccSendTimeout 3s)"

wait "$LORIS" || fail "slowloris client failed"
jq -e '.connections == 300 and .greeted == 20 and .refused_per_ip == 280 and .other_first == []' \
  "$T/loris.json" >/dev/null || fail "per-address cap: $(cat "$T/loris.json")"
ok "the attacker's 21st to 300th connections get 421 4.7.0 (BccMaxConnectionsPerIp 20)"
jq -e '.cut == 20 and .cut_after_max < 18 and .cut_after_min >= 10 and
       .cut_replies == ["421 4.4.2 sink.test Minimum data rate not met, closing connection"]' \
  "$T/loris.json" >/dev/null || fail "trickling clients: $(cat "$T/loris.json")"
ok "each trickling connection is told 421 4.4.2 for its rate within $(jq .cut_after_max "$T/loris.json") s"

wait "$BUSY" || fail "busy DATA client failed"
jq -e '.replies[-2] == "451 4.4.2 sink.test Session time limit exceeded, message not taken" and
       .replies[-1] == "421 4.4.2 sink.test Session time limit exceeded, closing connection" and
       .ended_after < 24' "$T/busy.json" >/dev/null || fail "session deadline: $(cat "$T/busy.json")"
[ "$(queue_json "$T/d" | jq -s 'map(select(.sender == "b@client.test")) | length')" = 0 ] ||
  fail "the message cut by the session deadline was stored"
ok "a session busy in DATA past BccSessionTimeout gets 451 then 421 4.4.2, nothing stored"

[ "$(queue_json "$T/d" | jq -s length)" = 5 ] || fail "queue: $(queue_json "$T/d" | jq -c .sender)"
for reason in per_ip:280 slow:20 send_timeout:1 session_deadline:1; do
  got=$(metric "bccsink_messages_refused_total{reason=\"${reason%%:*}\"}")
  [ "$got" = "${reason#*:}" ] || fail "metric ${reason%%:*}: '$got', want ${reason#*:}"
done
refused=$(($(metric 'bccsink_messages_refused_total{reason="client"}') + $(metric 'bccsink_messages_refused_total{reason="reserved"}')))
[ "$refused" = 40 ] || fail "client+reserved refusals: $refused, want 40"
ok "/metrics counts per_ip 280, slow 20, send_timeout 1, session_deadline 1, 554s 40"
echo "   (scenario took $((SECONDS - t0)) s)"
finish
