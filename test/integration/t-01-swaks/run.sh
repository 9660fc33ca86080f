#!/usr/bin/env bash
# t-01: a real client (swaks) hands a copy to bccsink; the copy is queued durably with
# its envelope, DSN parameters and digest, and the queue commands show it.
#
#   swaks --> bccsink (127.0.0.1:random) --> a record in DataDir/spool/segments/ + pending row
. "${TESTLIB:-$(dirname "$0")/../lib.sh}"
need swaks jq sha256sum python3

start_sink "$T/data"

# A message with an attachment, as an MTA's always_bcc copy would carry it.
head -c 30000 /dev/urandom >"$T/attachment.bin"
swaks --server "127.0.0.1:$SINK_PORT" --from alice@example.org --to watch@bcc.test \
  --header "Message-Id: <t01.1@example.org>" --attach @"$T/attachment.bin" >"$T/swaks.out" 2>&1 ||
  fail "swaks failed: $(tail -5 "$T/swaks.out")"
id=$(sed -n 's/.*250 2.0.0 Ok: queued as \([0-9A-Z]*\).*/\1/p' "$T/swaks.out")
[ ${#id} -eq 26 ] || fail "no queue id in the 250 reply"
ok "swaks got 250 with queue id $id"

row=$(queue_json "$T/data" | jq -c "select(.id == \"$id\")")
[ -n "$row" ] || fail "no row for $id"
# Queued as pending; the analysis workers may have taken it on since.
case $(echo "$row" | jq -r .state) in pending | analyzing | checked) ;; *) fail "state is not queued: $row" ;; esac
[ "$(echo "$row" | jq -r .sender)" = alice@example.org ] || fail "sender: $row"
[ "$(echo "$row" | jq -r '.recipients[0]')" = watch@bcc.test ] || fail "recipients: $row"
[ "$(echo "$row" | jq -r .message_id)" = "<t01.1@example.org>" ] || fail "message_id: $row"
[ "$(echo "$row" | jq -r .client_ip)" = 127.0.0.1 ] || fail "client_ip: $row"
file="$T/message.eml"
spooled_message "$T/data" "$id" >"$file" || fail "queue show --raw $id"
[ "$(sha256sum "$file" | cut -d' ' -f1)" = "$(echo "$row" | jq -r .sha256)" ] || fail "sha256 differs"
[ "$(stat -c %s "$file")" = "$(echo "$row" | jq -r .size)" ] || fail "size differs"
ok "row holds envelope, Message-ID, size and SHA-256 of the spooled message"

head -1 "$file" | grep -q "^Received: from " || fail "no Received header first"
grep -q "by sink.test (bccsink) with ESMTP id $id" "$file" || fail "Received header lacks id"
ok "spooled message starts with bccsink's Received trace header"

# The attachment survives byte for byte: swaks base64-encodes it, so decode the part.
awk '/^Content-Transfer-Encoding: BASE64/{b=1;next} b&&/^--/{b=0} b' "$file" | tr -d '\r' |
  base64 -d 2>/dev/null >"$T/decoded.bin" || true
cmp -s "$T/decoded.bin" "$T/attachment.bin" || fail "attachment bytes differ"
ok "attachment stored intact"

# An address outside BccDomains: not a relay.
swaks --server "127.0.0.1:$SINK_PORT" --from alice@example.org --to bob@example.net \
  >"$T/relay.out" 2>&1 && fail "relay attempt accepted"
grep -q "<\*\* 550 5.1.1" "$T/relay.out" || fail "relay attempt not refused with 550 5.1.1"
ok "RCPT outside BccDomains refused with 550 5.1.1"

# DSN as Postfix sends it, pipelined in one write, two transactions on one connection.
replies=$(smtp_dialogue "$SINK_PORT" <<'SMTP'
EHLO mta.example.org
MAIL FROM:<bob@example.org> SIZE=100 BODY=8BITMIME RET=HDRS ENVID=abc+2Bdef
RCPT TO:<watch@bcc.test> NOTIFY=NEVER ORCPT=rfc822;watch@bcc.test
DATA
Subject: one
Message-ID: <t01.2@example.org>

..dot-stuffed line
.
RSET
MAIL FROM:<>
RCPT TO:<Watch@BCC.TEST>
DATA
Subject: two

x
.
QUIT
SMTP
)
echo "$replies" | grep -q "^250-DSN" || fail "DSN not offered: $replies"
[ "$(echo "$replies" | grep -c '^250 2.0.0 Ok: queued as')" -eq 2 ] || fail "not two messages: $replies"
ok "pipelined dialogue with two transactions got two 250s"

id2=$(echo "$replies" | sed -n 's/^250 2.0.0 Ok: queued as //p' | head -1)
row=$("$BCCSINK" queue show "$id2" --json --DataDir "$T/data")
[ "$(echo "$row" | jq -r '.dsn[0].notify')" = NEVER ] || fail "NOTIFY not recorded: $row"
[ "$(echo "$row" | jq -r '.dsn[0].orcpt')" = "rfc822;watch@bcc.test" ] || fail "ORCPT: $row"
[ "$(echo "$row" | jq -r .envid)" = "abc+2Bdef" ] || fail "ENVID: $row"
[ "$(echo "$row" | jq -r .ret)" = HDRS ] || fail "RET: $row"
[ "$(echo "$row" | jq -r .helo)" = mta.example.org ] || fail "HELO: $row"
spooled_message "$T/data" "$id2" >"$T/message2.eml" || fail "queue show --raw $id2"
grep -q "^\.dot-stuffed line" "$T/message2.eml" || fail "dot-unstuffing"
ok "DSN NOTIFY/ORCPT/ENVID/RET recorded, dots unstuffed"

[ "$(queue_json "$T/data" | wc -l)" -eq 3 ] || fail "expected 3 queued messages"
"$BCCSINK" queue list --check --DataDir "$T/data" | tail -1 | grep -q "3 rows, 3 spool files, 0 problems" ||
  fail "queue check"
"$BCCSINK" queue show NOSUCHID --DataDir "$T/data" >/dev/null 2>&1 && fail "show of a missing id succeeded"
grep -q "received id=$id from=<alice@example.org>" "$T/sink.log" || fail "no mail event log line"
ok "queue list/show/--check and the mail event log agree"

# A sender that is not UTF-8 (a raw 0xE9 byte in MAIL FROM, as a Latin-1 client sends it):
# the copy is taken, and every JSON output stays valid UTF-8 that a strict parser accepts,
# the byte shown as U+FFFD.
replies=$(printf 'EHLO mta.example.org\nMAIL FROM:<\xe9@x>\nRCPT TO:<watch@bcc.test>\nDATA\nSubject: latin1\n\nx\n.\nQUIT\n' |
  smtp_dialogue "$SINK_PORT")
id3=$(echo "$replies" | sed -n 's/^250 2.0.0 Ok: queued as //p')
[ ${#id3} -eq 26 ] || fail "the copy from <\\xe9@x> was not taken: $replies"
# strict_json ID: stdin is UTF-8 JSON (one value a line, or one pretty value), and the
# message ID's sender is U+FFFD then "@x".
strict_json() {
  python3 -c '
import json, sys
text = sys.stdin.buffer.read().decode("utf-8")  # strict: raises on an invalid byte
rows = [json.loads(l) for l in text.splitlines()] if text.startswith("{\"") else [json.loads(text)]
assert any(r["id"] == sys.argv[1] and r["sender"] == "\ufffd@x" for r in rows), text
' "$1"
}
queue_json "$T/data" | strict_json "$id3" || fail "queue list --json is not strict UTF-8 JSON"
"$BCCSINK" queue show "$id3" --json --DataDir "$T/data" | strict_json "$id3" ||
  fail "queue show --json is not strict UTF-8 JSON"
"$BCCSINK" queue show "$id3" --DataDir "$T/data" | sed '/^spool: /d' | strict_json "$id3" ||
  fail "queue show is not strict UTF-8 JSON"
ok "a raw 0xE9 in MAIL FROM: queue list/show JSON is valid UTF-8 (U+FFFD)"

stop_sink
finish
