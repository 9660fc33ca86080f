#!/usr/bin/env bash
# t-17-retro-report: what the administrator sees of a retro-alert, from the running daemon.
#
#   swaks --SMTP--> bccsink serve --> checked, judged
#                        |
#   a retro_alerts row (as the detector writes one: yara now says dangerous, due)
#                        |
#                   reporter's round --> DataDir/reports/new: "[bccsink] retro-alert:
#                        |                notes.txt now dangerous (1 message)", X-Bccsink-Retro
#                   HTTP: /api/retro, /api/retro/ID, /api/messages/ID "retro", /metrics
#
# The alert's rows are written with SQL (the detection stage is not under test here); the
# daemon's reporter delivers it within its sweep, once; `report resend ALERT` sends it again
# from the command line; `queue show --json` names the alert. The copy came by
# recipient_bcc_maps: the report names its original recipient.
# shellcheck source-path=SCRIPTDIR source=../lib.sh
. "${TESTLIB:-$(dirname "$0")/../lib.sh}"
need swaks jq curl python3

TOKEN='t0ken-for-t17-retro-report-at-least-32-chars'
printf 'quarterly figures\n' >"$T/notes.txt"
DATA=$T/data
MAILDIR=$DATA/reports/new
start_sink "$DATA" --HttpToken "$TOKEN" --SinkName sink-a
HTTP=$(grep "http listening on" "$T/sink.log" | tail -1 | sed -E 's/.*http listening on [^ ]*:([0-9]+).*/\1/')
[ -n "$HTTP" ] || fail "no 'http listening on' line in the log"
api() { curl -sS --fail-with-body -H "Authorization: Bearer $TOKEN" "http://127.0.0.1:$HTTP/api/$1" || fail "api $1"; }

# A recipient_bcc_maps copy: its recipient encodes the original one, bob@example.org.
swaks --server "127.0.0.1:$SINK_PORT" --from alice@example.org --to watch+bob=example.org@bcc.test \
  --header "Subject: figures" --attach @"$T/notes.txt" >"$T/swaks.out" 2>&1 || fail "swaks: $(tail -3 "$T/swaks.out")"
judged() { queue_json "$DATA" | jq -e '.report != null and .report != "due"' >/dev/null; }
wait_until 20 "the copy to be checked and judged" judged
ID=$(queue_json "$DATA" | jq -r .id)
ok "a copy checked and judged ($ID)"

ALERT=01JRETRO0000000000000T17RA
python3 - "$DATA/bccsink.db" "$ALERT" "$ID" <<'PY' || fail "cannot add the retro-alert"
import sqlite3, sys, time
db = sqlite3.connect(sys.argv[1], timeout=30)
alert, msg = sys.argv[2], sys.argv[3]
now = int(time.time() * 1000)
with db:
    db.execute("INSERT INTO retro_alerts (id, sink, sha256, analyzer, verdict, threats, cause,"
               " created_at, created_ms, report_status, report_next_at)"
               " VALUES (?, 'sink-a', ?, 'yara', 'dangerous', 'Evil_Macro', 'rules-reload',"
               " strftime('%Y-%m-%dT%H:%M:%fZ', 'now'), ?, 'due', 0)", (alert, "b" * 64, now))
    db.execute("INSERT INTO retro_messages (alert_id, msg_id, earlier_verdict, earlier_checked_at,"
               " verdict, file_path) SELECT ?, id, 'clean', checked_at, 'dangerous', 'notes.txt'"
               " FROM messages WHERE id = ?", (alert, msg))
PY

# The reporter's sweep (5 s) finds it; one mail, marked sent.
retro_mail() { grep -l '^X-Bccsink-Retro: yes' "$MAILDIR"/* 2>/dev/null | head -1; }
has_retro_mail() { [ -n "$(retro_mail)" ]; }
wait_until 20 "the retro report in $MAILDIR" has_retro_mail
MAIL=$(retro_mail)
python3 - "$MAIL" "$ID" >"$T/mail.json" <<'PY' || fail "cannot read $MAIL"
import email, email.policy, json, sys
m = email.message_from_binary_file(open(sys.argv[1], "rb"), policy=email.policy.default)
text = next(p.get_content() for p in m.walk() if p.get_content_type() == "text/plain")
print(json.dumps({"subject": str(m["Subject"]), "alert": m["X-Bccsink-Retro-Alert"], "text": text}))
PY
[ "$(jq -r .subject "$T/mail.json")" = "[bccsink] retro-alert: notes.txt now dangerous (1 message)" ] ||
  fail "subject: $(jq -r .subject "$T/mail.json")"
[ "$(jq -r .alert "$T/mail.json")" = "$ALERT" ] || fail "X-Bccsink-Retro-Alert: $(jq -r .alert "$T/mail.json")"
jq -r .text "$T/mail.json" | grep -q "is now dangerous" || fail "text: $(jq -r .text "$T/mail.json")"
jq -r .text "$T/mail.json" | grep -q "because yara: Evil_Macro" || fail "text names no cause"
jq -r .text "$T/mail.json" | grep -q "  $ID" || fail "the text does not name message $ID"
jq -r .text "$T/mail.json" | grep -q "sender:     alice@example.org" || fail "the text does not name the sender"
jq -r .text "$T/mail.json" | grep -q "recipients: bob@example.org (original recipients)" ||
  fail "the text does not name the original recipient"
ok "the daemon mailed the retro report: $(jq -r .subject "$T/mail.json")"

sent() { [ "$(api "retro/$ALERT" | jq -r .report_status)" = sent ]; }
wait_until 10 "the alert to be marked sent" sent
sleep 6  # a further sweep must not send it again
[ "$(grep -l '^X-Bccsink-Retro: yes' "$MAILDIR"/* | wc -l)" -eq 1 ] || fail "the retro report went out more than once"
[ "$(api retro | jq -r '.alerts[0].id')" = "$ALERT" ] || fail "/api/retro: $(api retro)"
[ "$(api "retro/$ALERT" | jq -r '.messages[0].id')" = "$ID" ] || fail "/api/retro/$ALERT: $(api "retro/$ALERT")"
[ "$(api "messages/$ID" | jq -c '[.retro[] | {alert, retro, earlier_verdict, verdict, analyzer}]')" = \
  "[{\"alert\":\"$ALERT\",\"retro\":true,\"earlier_verdict\":\"clean\",\"verdict\":\"dangerous\",\"analyzer\":\"yara\"}]" ] ||
  fail "/api/messages/$ID retro: $(api "messages/$ID" | jq -c .retro)"
sent_total=$(curl -sS "http://127.0.0.1:$HTTP/metrics" | awk '$1 == "bccsink_retro_reports_total{result=\"sent\"}" { print $2 }')
[ "$sent_total" = 1 ] || fail "bccsink_retro_reports_total{result=\"sent\"} is '$sent_total'"
ok "sent once; /api/retro, /api/retro/ID, the message's \"retro\" and /metrics say so"

[ "$("$BCCSINK" queue show "$ID" --json --DataDir "$DATA" | jq -r '.retro[0].alert')" = "$ALERT" ] ||
  fail "queue show --json names no alert"
"$BCCSINK" report resend "$ALERT" --DataDir "$DATA" --SinkName sink-a >"$T/resend.out" 2>&1 ||
  fail "report resend $ALERT: $(cat "$T/resend.out")"
[ "$(grep -l '^X-Bccsink-Retro: yes' "$MAILDIR"/* | wc -l)" -eq 2 ] || fail "report resend made no second mail"
ok "queue show --json names the alert; report resend $ALERT mails it again"

stop_sink
finish
