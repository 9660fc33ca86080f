#!/usr/bin/env bash
# t-03: every refusal an MTA can meet, from real connections: client not allowed (554),
# too many connections (421), too big (552), too many recipients (452), disk nearly full
# and pending queue full (452 4.3.1: the MTA keeps the copy), and bad configuration.
. "${TESTLIB:-$(dirname "$0")/../lib.sh}"
need swaks jq sqlite3

# --- allow-list: only 127.0.0.2 (and ::1) may connect.
start_sink "$T/a" --BccAllowedClients "127.0.0.2/32, ::1/128"
swaks --server "127.0.0.1:$SINK_PORT" --to watch@bcc.test >"$T/denied.out" 2>&1 && fail "denied client delivered"
grep -q "<\*\* 554 5.7.1" "$T/denied.out" || fail "no 554 at connect: $(cat "$T/denied.out")"
ok "client outside BccAllowedClients gets 554 5.7.1 at connect"
swaks --server "127.0.0.1:$SINK_PORT" --local-interface 127.0.0.2 --to watch@bcc.test >"$T/allowed.out" 2>&1 ||
  fail "allowed client refused: $(tail -3 "$T/allowed.out")"
ok "client inside BccAllowedClients delivers"
[ "$(queue_json "$T/a" | jq -r .client_ip)" = 127.0.0.2 ] || fail "client ip not recorded"
stop_sink

# --- the same over IPv6: ::1 is on the list.
SOCKET="[::1]:0" start_sink "$T/a6" --BccAllowedClients "127.0.0.2/32, ::1/128"
swaks --server ::1 --port "$SINK_PORT" --to watch@bcc.test >"$T/v6.out" 2>&1 ||
  fail "IPv6 client refused: $(tail -3 "$T/v6.out")"
[ "$(queue_json "$T/a6" | jq -r .client_ip)" = ::1 ] || fail "IPv6 client ip not recorded"
ok "IPv6 listener and an IPv6 entry of BccAllowedClients"
stop_sink

# --- connection limit, message size, recipients.
start_sink "$T/b" --BccMaxConnections 2 --BccMaxMessageSize 10k --BccMaxRecipients 2
exec 3<>"/dev/tcp/127.0.0.1/$SINK_PORT"
exec 4<>"/dev/tcp/127.0.0.1/$SINK_PORT"
read -r -t 5 g3 <&3 && read -r -t 5 g4 <&4 || fail "no greeting on the first two connections"
exec 5<>"/dev/tcp/127.0.0.1/$SINK_PORT"
read -r -t 5 g5 <&5 || fail "no reply on the third connection"
[[ $g5 == "421 4.3.2"* ]] || fail "third connection got '$g5'"
exec 3<&- 4<&- 5<&-
ok "connection over BccMaxConnections gets 421 4.3.2"
sleep 0.3

head -c 50000 /dev/urandom >"$T/big.bin"
swaks --server "127.0.0.1:$SINK_PORT" --to watch@bcc.test --attach @"$T/big.bin" >"$T/big.out" 2>&1 &&
  fail "oversize message accepted"
grep -q "<\*\* 552 5.3.4" "$T/big.out" || fail "no 552 for an oversize message: $(tail -5 "$T/big.out")"
ok "message over BccMaxMessageSize gets 552 5.3.4 after DATA"

replies=$(smtp_dialogue "$SINK_PORT" <<'SMTP'
EHLO c.example.org
MAIL FROM:<a@example.org> SIZE=999999
MAIL FROM:<a@example.org> SIZE=100
RCPT TO:<one@bcc.test>
RCPT TO:<two@bcc.test>
RCPT TO:<three@bcc.test>
RCPT TO:<x@example.net>
QUIT
SMTP
)
echo "$replies" | grep -q "^552 5.3.4" || fail "SIZE= over the limit not refused: $replies"
echo "$replies" | grep -q "^452 4.5.3" || fail "third recipient not refused with 452: $replies"
echo "$replies" | grep -q "^550 5.1.1" || fail "foreign recipient not refused: $replies"
ok "SIZE= over the limit 552, recipient over BccMaxRecipients 452 4.5.3"
[ "$(queue_json "$T/b" | wc -l)" -eq 0 ] || fail "a refused message was queued"
stop_sink

# --- storage: disk nearly full, then the pending limit. Both 4xx, never 5xx.
start_sink "$T/c" --BccMinFreeSpace 100000G
swaks --server "127.0.0.1:$SINK_PORT" --to watch@bcc.test >"$T/disk.out" 2>&1 && fail "accepted with a full disk"
grep -q "<\*\* 452 4.3.1" "$T/disk.out" || fail "no 452 4.3.1 for a full disk: $(tail -5 "$T/disk.out")"
ok "disk nearly full: 452 4.3.1"
stop_sink
# A backlog of one message that this sink's workers do not take (another sink received it,
# as when several sinks share a database).
start_sink "$T/c"
swaks --server "127.0.0.1:$SINK_PORT" --to watch@bcc.test >/dev/null 2>&1 || fail "first message refused"
stop_sink
sqlite3 "$T/c/bccsink.db" "UPDATE messages SET state = 'pending', sink = 'sink.elsewhere'"
start_sink "$T/c" --BccMaxPending 1
swaks --server "127.0.0.1:$SINK_PORT" --to watch@bcc.test >"$T/pending.out" 2>&1 && fail "accepted over BccMaxPending"
grep -q "<\*\* 452 4.3.1" "$T/pending.out" || fail "no 452 4.3.1 for a full queue"
ok "pending queue over BccMaxPending: 452 4.3.1"
stop_sink

# --- configuration errors stop start-up and name the option and line.
printf 'DataDir = %s\nBccMaxConections = 5\n' "$T/d" >"$T/bad.conf"
"$BCCSINK" serve --config "$T/bad.conf" >"$T/conf.out" 2>&1 && fail "started with an unknown option"
grep -q "bad.conf:2: option BccMaxConections" "$T/conf.out" || fail "error lacks file:line: $(cat "$T/conf.out")"
"$BCCSINK" check-config --BccAllowedClients 10.0.0.0/40 >"$T/conf2.out" 2>&1 && fail "bad CIDR accepted"
grep -q "BccAllowedClients" "$T/conf2.out" || fail "bad CIDR error lacks the option"
"$BCCSINK" check-config --BccTlsCertificate /c --BccTlsKey /very/secret >"$T/conf3.out" || fail "check-config"
grep -q "secret" "$T/conf3.out" && fail "check-config shows a secret"
ok "configuration errors name option (and file line); check-config masks secrets"

# --- timeouts and shutdown: an idle client is told 421, never left hanging.
start_sink "$T/e" --BccCommandTimeout 1s
exec 3<>"/dev/tcp/127.0.0.1/$SINK_PORT"
read -r -t 5 greeting <&3 || fail "no greeting"
read -r -t 5 late <&3 || fail "no reply after the command timeout"
[[ $late == "421 4.4.2"* ]] || fail "idle client got '$late'"
exec 3<&-
ok "client silent beyond BccCommandTimeout gets 421 4.4.2"
# A second daemon on the same SMTP port must not start (no silent SO_REUSEPORT sharing).
if "$BCCSINK" serve --BccSocket "127.0.0.1:$SINK_PORT" --HttpSocket 127.0.0.1:0 \
  --DataDir "$T/e2" >"$T/second.out" 2>&1; then
  fail "a second daemon started on port $SINK_PORT"
fi
grep -qi "address already in use\|cannot start" "$T/second.out" || fail "second daemon said: $(cat "$T/second.out")"
ok "a second daemon on a port in use stops at start"
exec 3<>"/dev/tcp/127.0.0.1/$SINK_PORT"
read -r -t 5 greeting <&3 || fail "no greeting"
started=$(date +%s%N)
stop_sink
read -r -t 5 bye <&3 || fail "no reply at shutdown"
[[ $bye == "421 4.3.2"* ]] || fail "connected client got '$bye' at shutdown"
[ $(( ($(date +%s%N) - started) / 1000000 )) -lt 3000 ] || fail "shutdown waited for an idle client"
exec 3<&-
ok "SIGTERM tells connected clients 421 4.3.2 and stops within a second"

finish
