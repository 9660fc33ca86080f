#!/usr/bin/env bash
# t-17-retro: a verdict that turns after the message was judged makes a retro-alert that
# names the message (issue 17, "Retro-alerts").
#
#   (a) swaks --> bccsink (YaraRules = a folder here) --> one.js checked clean
#       a rule matching one.js added, SIGHUP --> the rules' digest changed --> RecheckStage
#       scans the kept files of BccRetroWindow again --> yara dangerous --> RetroJudge -->
#       retro_alerts (cause rules-reload) + retro_messages naming the message, logged,
#       counted on /metrics
#   (b) swaks --> bccsink (vxCube emulator only) --> invoice.exe checked clean by vxCube
#       the emulator's answer changes (the digest put on its dangerous list); the cached clean
#       verdict lapses (BccCleanVerdictMaxAge 2s); a second message with the same file
#       makes vxCube answer again: dangerous --> the pipeline's hook --> RetroJudge -->
#       an alert (cause late-answer) naming the first message, not the second
#   (c) two sinks on one database, the emulator slow (5 s an analysis): sink-c2
#       (BccAnalysisTimeout 60s) submits late.exe; sink-c1's copy of it (BccAnalysisTimeout
#       2s) waits on that submission and is checked with vxCube unscanned at its deadline;
#       then the answer arrives, dangerous --> sink-c2's pipeline hook --> an alert of
#       sink-c2 naming sink-c1's message, judged unscanned before the answer came
# Each alert is due for a retro report, which the reporter (woken by the alert) mails at
# once to the Maildir DataDir/reports: (a) and (b) check that mail names the earlier
# message (its full content is t-17-retro-report's).
source "$TESTLIB"
need jq python3 swaks sqlite3 curl
EMULATOR=$(dirname "$BCCSINK_BIN")/vxcube-emulator
[ -x "$EMULATOR" ] || fail "no vxcube-emulator beside $BCCSINK_BIN"
[ -f /usr/share/clamav-testfiles/clam.exe ] || fail "clamav-testfiles is not installed"
ROOT=$(cd "$(dirname "$0")/../../.." && pwd)

# retro_mail DATA ALERT ID: the retro report of ALERT is in DATA's Maildir, naming message ID.
retro_mail() {
  local f
  f=$(grep -l "^X-Bccsink-Retro-Alert: $2" "$1"/reports/new/* 2>/dev/null | head -1)
  [ -n "$f" ] && python3 - "$f" "$3" <<'PY'
import email, email.policy, sys
m = email.message_from_binary_file(open(sys.argv[1], "rb"), policy=email.policy.default)
text = next(p.get_content() for p in m.walk() if p.get_content_type() == "text/plain")
sys.exit(0 if m["X-Bccsink-Retro"] == "yes" and "\n  " + sys.argv[2] + "\n" in text else 1)
PY
}

# message OUT NAME FILE ID: a message with FILE attached as NAME, Message-ID <ID@t-17.test>.
message() {
  python3 - "$@" <<'PY'
import sys
from email.message import EmailMessage
m = EmailMessage()
m["From"], m["To"], m["Subject"] = "alice@example.org", "bob@example.com", "t-17"
m["Message-ID"] = "<%s@t-17.test>" % sys.argv[4]
m.set_content("see attached\n")
m.add_attachment(open(sys.argv[3], "rb").read(), maintype="application",
                 subtype="octet-stream", filename=sys.argv[2])
open(sys.argv[1], "wb").write(m.as_bytes())
PY
}

send() {  # send DATADIR-PORT EML
  swaks --server "127.0.0.1:$1" --to watch@bcc.test --data "@$2" >"$T/swaks.out" 2>&1 ||
    fail "swaks $2: $(tail -3 "$T/swaks.out")"
}

# judged DATA ID [OPTION...]: waits (bounded) until the message is past analysis; prints
# "ROWID VERDICT".
judged() {
  for _ in $(seq 1 100); do
    line=$("$BCCSINK" queue list --json --DataDir "$1" "${@:3}" |
      jq -r --arg m "<$2@t-17.test>" 'select(.message_id == $m and
        (.state == "checked" or .state == "reported")) | "\(.id) \(.verdict)"')
    [ -n "$line" ] && { echo "$line"; return 0; }
    sleep 0.1
  done
  echo "never-checked -"
}

sql() {  # sql DATA QUERY (DATA/bccsink.db, or the database shared by (c)'s sinks)
  local db=$1/bccsink.db
  [ -f "$db" ] || db=$T/shared.db
  sqlite3 -cmd ".timeout 5000" "$db" "$2"
}

# wait_alert DATA CAUSE: waits (bounded) for a retro alert of that cause; prints its id.
wait_alert() {
  for _ in $(seq 1 150); do
    id=$(sql "$1" "SELECT id FROM retro_alerts WHERE cause = '$2'")
    [ -n "$id" ] && { echo "$id"; return 0; }
    sleep 0.1
  done
  return 1
}

# --- (a) a YARA rule added by SIGHUP ------------------------------------------------------
cp -r "$ROOT/etc/rules" "$T/rules"
printf 'var s = "bccsink-retro-marker";\n' >"$T/one.js"
ONE_SHA=$(sha256sum "$T/one.js" | cut -d' ' -f1)
message "$T/one.eml" one.js "$T/one.js" one
start_sink "$T/a" --YaraRules "$T/rules" --SinkName sink-a
send "$SINK_PORT" "$T/one.eml"
read -r ONE_ID ONE_VERDICT < <(judged "$T/a" one)
[ "$ONE_VERDICT" = clean ] || fail "one.js before the rule: $ONE_ID $ONE_VERDICT"
ok "a message whose attachment no rule matches is judged clean"
cat >"$T/rules/local.yar" <<'YAR'
rule Retro_Marker
{
  meta:
    verdict = "dangerous"
    description = "t-17's marker"
  strings:
    $m = "bccsink-retro-marker"
  condition:
    $m
}
YAR
kill -HUP "$SINK_PID"
ALERT=$(wait_alert "$T/a" rules-reload) || fail "no retro alert after SIGHUP: $(tail -5 "$T/sink.log")"
# due, or sent already: the reporter is woken by the alert.
[ "$(sql "$T/a" "SELECT sink || ' ' || sha256 || ' ' || analyzer || ' ' || verdict || ' ' ||
  threats || ' ' || (report_status IN ('due', 'sent')) FROM retro_alerts WHERE id = '$ALERT'")" = \
  "sink-a $ONE_SHA yara dangerous Retro_Marker 1" ] ||
  fail "the alert: $(sql "$T/a" "SELECT * FROM retro_alerts")"
[ "$(sql "$T/a" "SELECT msg_id || ' ' || earlier_verdict || ' ' || verdict || ' ' || file_path
  FROM retro_messages WHERE alert_id = '$ALERT'")" = "$ONE_ID clean dangerous one.js" ] ||
  fail "the alert's messages: $(sql "$T/a" "SELECT * FROM retro_messages")"
grep -q "retro: $ONE_SHA now dangerous (yara: Retro_Marker), 1 messages judged again, alert $ALERT" \
  "$T/sink.log" || fail "no retro notice in the log: $(grep retro "$T/sink.log")"
[ "$(judged "$T/a" one)" = "$ONE_ID dangerous" ] || fail "the message's verdict: $(judged "$T/a" one)"
wait_until 15 "the retro report of $ALERT in $T/a/reports/new" retro_mail "$T/a" "$ALERT" "$ONE_ID"
ok "a rule added by SIGHUP: the re-check makes an alert naming the earlier message, logged, mailed"
grep -q "recheck: yara changed" "$T/sink.log" || fail "the re-check was not logged"
[ "$(sql "$T/a" "SELECT recheck_cursor IS NULL FROM analyzer_generations
  WHERE sink = 'sink-a' AND analyzer = 'yara'")" = 1 ] || fail "the re-check did not finish"
ok "the re-check ran and finished (analyzer_generations' cursor cleared)"
HTTP=$(sed -nE 's/.*http listening on [^ ]*:([0-9]+).*/\1/p' "$T/sink.log" | tail -1)
curl -sf "http://127.0.0.1:$HTTP/metrics" >"$T/metrics" || fail "no /metrics"
grep -qx 'bccsink_retro_alerts_total{cause="rules-reload"} 1' "$T/metrics" &&
  grep -qx 'bccsink_recheck_files_total{analyzer="yara"} 1' "$T/metrics" &&
  grep -qx 'bccsink_recheck_pending_files 0' "$T/metrics" ||
  fail "/metrics: $(grep -E 'retro|recheck' "$T/metrics")"
ok "/metrics counts the alert by cause and the file re-checked by YARA"
stop_sink
# A restart with the same rules re-checks nothing.
MARK=$(wc -l <"$T/sink.log")
start_sink "$T/a" --YaraRules "$T/rules" --SinkName sink-a
sleep 1
tail -n +"$((MARK + 1))" "$T/sink.log" | grep -q "recheck: yara changed" &&
  fail "a restart with unchanged rules re-checked"
ok "a restart with unchanged rules does not re-check"
stop_sink

# --- (b) a vxCube answer that turns after the first judgement -------------------------------
cp /usr/share/clamav-testfiles/clam.exe "$T/invoice.exe"  # a real PE: vxCube takes it
EXE_SHA=$(sha256sum "$T/invoice.exe" | cut -d' ' -f1)
: >"$T/dangerous.txt"
message "$T/first.eml" invoice.exe "$T/invoice.exe" first
message "$T/second.eml" invoice.exe "$T/invoice.exe" second
"$EMULATOR" --listen 127.0.0.1:0 --api-key t17-key --dangerous-sha256 "$T/dangerous.txt" \
  --analysis-ms 200 >"$T/emulator.out" 2>&1 &
PIDS+=($!)
for _ in $(seq 1 100); do grep -q "listening on" "$T/emulator.out" && break; sleep 0.1; done
VX_PORT=$(sed -nE 's/.*listening on [^ ]*:([0-9]+).*/\1/p' "$T/emulator.out" | head -1)
[ -n "$VX_PORT" ] || fail "the emulator did not start: $(cat "$T/emulator.out")"
start_sink "$T/b" --SinkName sink-b --UseYara no --UseVxcube yes --VxcubeApiKey t17-key \
  --VxcubeApiAddress "http://127.0.0.1:$VX_PORT/api-2.0/" --VxcubePollInterval 1s \
  --BccCleanVerdictMaxAge 2s
send "$SINK_PORT" "$T/first.eml"
read -r FIRST_ID FIRST_VERDICT < <(judged "$T/b" first)
[ "$FIRST_VERDICT" = clean ] || fail "the first message: $FIRST_ID $FIRST_VERDICT"
ok "vxCube judges the first message's file clean"
# The emulator's answer changes: the digest goes on its dangerous list (POST /_emulator/hashes).
curl -sf -X POST -H 'Content-Type: application/json' -d "{\"dangerous\": [\"$EXE_SHA\"]}" \
  "http://127.0.0.1:$VX_PORT/_emulator/hashes" >/dev/null || fail "the emulator's list did not change"
sleep 2.2  # the cached clean verdict lapses: the next message asks vxCube again
send "$SINK_PORT" "$T/second.eml"
read -r SECOND_ID SECOND_VERDICT < <(judged "$T/b" second)
[ "$SECOND_VERDICT" = dangerous ] || fail "the second message: $SECOND_ID $SECOND_VERDICT"
ALERT=$(wait_alert "$T/b" late-answer) || fail "no retro alert for the late answer"
[ "$(sql "$T/b" "SELECT analyzer || ' ' || verdict || ' ' || (report_status IN ('due', 'sent'))
  FROM retro_alerts WHERE id = '$ALERT'")" = "vxcube dangerous 1" ] || fail "$(sql "$T/b" "SELECT * FROM retro_alerts")"
[ "$(sql "$T/b" "SELECT msg_id || ' ' || earlier_verdict FROM retro_messages
  WHERE alert_id = '$ALERT'")" = "$FIRST_ID clean" ] ||
  fail "the alert names: $(sql "$T/b" "SELECT * FROM retro_messages")"
grep -q "retro: $EXE_SHA now dangerous (vxcube: " "$T/sink.log" || fail "no retro notice for vxcube"
wait_until 15 "the retro report of $ALERT in $T/b/reports/new" retro_mail "$T/b" "$ALERT" "$FIRST_ID"
ok "vxCube's answer turned dangerous: an alert names the first message (not the second, judged so)"
stop_sink

# --- (c) an answer that arrives after the message's deadline ---------------------------------
cp /usr/share/clamav-testfiles/clam-upx.exe "$T/late.exe"
LATE_SHA=$(sha256sum "$T/late.exe" | cut -d' ' -f1)
message "$T/late-1.eml" late.exe "$T/late.exe" late-1
message "$T/late-2.eml" late.exe "$T/late.exe" late-2
curl -sf -X POST -H 'Content-Type: application/json' \
  -d "{\"dangerous\": [\"$LATE_SHA\"], \"analysis_ms\": 5000}" \
  "http://127.0.0.1:$VX_PORT/_emulator/hashes" >/dev/null || fail "the emulator's list"
curl -sf -X POST -H 'Content-Type: application/json' -d '{"analysis_ms": 5000}' \
  "http://127.0.0.1:$VX_PORT/_emulator/faults" >/dev/null || fail "the emulator's analysis time"
SHARED="sqlite:$T/shared.db"
VX=(--UseYara no --UseVxcube yes --VxcubeApiKey t17-key --VxcubePollInterval 1s
  --VxcubeApiAddress "http://127.0.0.1:$VX_PORT/api-2.0/" --DatabaseUrl "$SHARED")
start_named_sink sink-c2 "$T/c2" "${VX[@]}" --BccAnalysisTimeout 60s
send "${NAMED_PORT[sink-c2]}" "$T/late-2.eml"
for _ in $(seq 1 50); do
  [ "$(sqlite3 -cmd ".timeout 5000" "$T/shared.db" "SELECT COUNT(*) FROM file_submissions
    WHERE sha256 = '$LATE_SHA'")" = 1 ] && break
  sleep 0.1
done
start_named_sink sink-c1 "$T/c1" "${VX[@]}" --BccAnalysisTimeout 2s
send "${NAMED_PORT[sink-c1]}" "$T/late-1.eml"
read -r LATE1_ID LATE1_VERDICT < <(judged "$T/c1" late-1 --DatabaseUrl "$SHARED")
[ "$LATE1_VERDICT" = unscanned ] || fail "sink-c1's copy before the answer: $LATE1_ID $LATE1_VERDICT"
ok "a copy whose vxCube answer is still on its way at its deadline is judged unscanned"
ALERT=$(wait_alert "$T/c2" late-answer) || fail "no alert for the answer after the deadline"
[ "$(sqlite3 -cmd ".timeout 5000" "$T/shared.db" "SELECT a.sink || ' ' || a.verdict || ' ' ||
  m.msg_id || ' ' || m.earlier_verdict || ' ' || m.verdict FROM retro_alerts a
  JOIN retro_messages m ON m.alert_id = a.id WHERE a.id = '$ALERT'")" = \
  "sink-c2 dangerous $LATE1_ID unscanned dangerous" ] ||
  fail "the late alert: $(sqlite3 "$T/shared.db" "SELECT * FROM retro_messages")"
read -r LATE2_ID LATE2_VERDICT < <(judged "$T/c2" late-2 --DatabaseUrl "$SHARED")
[ "$LATE2_VERDICT" = dangerous ] || fail "sink-c2's own copy: $LATE2_VERDICT"
ok "the answer arrives dangerous after the deadline: an alert names the copy judged unscanned"
stop_named_sink sink-c1
stop_named_sink sink-c2
finish
