#!/usr/bin/env bash
# dashboard/chromium: the dashboard in Debian's chromium (playwright-core from npm) against
# a running daemon holding real data.
#
#   swaks --SMTP--> bccsink --> checked, reported, counted (StatsInterval 2s)
#                      ^  HttpSocket 127.0.0.1:0, HttpToken
#                      |
#   dashboard.test.mjs: chromium --HTTP--> /, app.js, /api/*   (and the API itself, to compare)
#
# Mail sent: EICAR (dangerous), clam.exe attached as report.doc (mismatch doc -> pe), a
# spoofed internal sender via an untrusted hop, a clean note, and EICAR under the subject
# "<img src=x onerror=alert(1)>" (must stay text); the two EICAR ones then get held rows
# (quarantined, discarded) for the quarantine section. The screenshot goes to
# $SCREENSHOT_DIR/dashboard.png (ctest: the build folder; otherwise /tmp).
source "${TESTLIB:?set TESTLIB to test/integration/lib.sh}"
need jq python3 swaks node npm
HERE=$(cd "$(dirname "$0")" && pwd)
CHROMIUM=${CHROMIUM:-/usr/bin/chromium}
[ -x "$CHROMIUM" ] || fail "no chromium at $CHROMIUM (deploy/install-deps.sh installs Debian's chromium)"
CLAM=/usr/share/clamav-testfiles/clam.exe
[ -f "$CLAM" ] || fail "clamav-testfiles is not installed (deploy/install-deps.sh)"
export SCREENSHOT_DIR=${SCREENSHOT_DIR:-/tmp}

# playwright-core, exactly as package-lock.json pins it (the registry is needed once).
if [ ! -f "$HERE/node_modules/playwright-core/package.json" ]; then
  (cd "$HERE" && npm ci --no-audit --no-fund >"$T/npm.log" 2>&1) || fail "npm ci in test/dashboard: $(tail -5 "$T/npm.log")"
fi
ok "playwright-core $(node -p 'require(process.argv[1]).version' "$HERE/node_modules/playwright-core/package.json"), $("$CHROMIUM" --version 2>/dev/null | head -1)"

EICAR='X5O!P%@AP[4\PZX54(P^)7CC)7}$EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*'
printf '%s' "$EICAR" >"$T/eicar.com"
printf 'lunch on friday?\n' >"$T/notes.txt"
TOKEN=$(python3 -c 'import secrets; print(secrets.token_hex(16))')
HOP='from evil.example.net (evil.example.net [203.0.113.9]) by mx.example.com (Postfix) with ESMTP id X; Mon, 30 Nov 2026 02:00:00 +0000'

# start DATADIR [--Name value...]: start_sink, then HTTP_PORT and BASE_URL from the log line
# "http listening on 127.0.0.1:PORT" of this start.
start() {
  local mark=0
  [ -f "$T/sink.log" ] && mark=$(wc -l <"$T/sink.log")
  start_sink "$@"
  HTTP_PORT=""
  for _ in $(seq 1 100); do
    HTTP_PORT=$(tail -n +"$((mark + 1))" "$T/sink.log" | sed -nE 's/.*http listening on 127\.0\.0\.1:([0-9]+).*/\1/p' | head -1)
    [ -n "$HTTP_PORT" ] && break
    sleep 0.1
  done
  [ -n "$HTTP_PORT" ] || fail "the daemon logged no 'http listening on 127.0.0.1:PORT'"
  BASE_URL="http://127.0.0.1:$HTTP_PORT"
}

DATA=$T/data
start "$DATA" --HttpToken "$TOKEN" --InternalDomains example.com --StatsInterval 2s

# api PATH: the JSON of GET BASE_URL/PATH with the token.
api() {
  python3 - "$BASE_URL$1" "$TOKEN" <<'PY'
import sys, urllib.request
req = urllib.request.Request(sys.argv[1], headers={"Authorization": "Bearer " + sys.argv[2]})
print(urllib.request.urlopen(req, timeout=10).read().decode())
PY
}

send() {
  local from=$1 subject=$2
  shift 2
  swaks --server "127.0.0.1:$SINK_PORT" --from "$from" --to watch@bcc.test \
    --header "Subject: $subject" "$@" >"$T/swaks.out" 2>&1 || fail "swaks '$subject': $(tail -3 "$T/swaks.out")"
}
send alice@example.org "EICAR inside" --attach @"$T/eicar.com"
send bob@example.org "minutes" --attach-name report.doc --attach-type application/msword --attach @"$CLAM"
send ceo@example.com "urgent wire transfer" --header "To: staff@example.com" --add-header "Received: $HOP"
send carol@example.org "lunch" --attach @"$T/notes.txt"
send mallory@example.org '<img src=x onerror=alert(1)>' --attach @"$T/eicar.com"
ok "5 messages sent to the daemon (SMTP port $SINK_PORT, HTTP port $HTTP_PORT)"

# Until every message is checked and judged by the reporter, no report is due, and the
# statistics count all five.
queue() { "$BCCSINK" queue list --json --DataDir "$DATA"; }
for _ in $(seq 1 150); do
  [ "$(queue | jq -s 'length == 5 and all(.[]; .report != null and .report != "due")')" = true ] && break
  sleep 0.2
done
[ "$(queue | jq -s 'length == 5 and all(.[]; .report != null and .report != "due")')" = true ] ||
  fail "not all 5 messages checked and judged: $(queue | jq -s -c '[.[] | {id, state, verdict, report}]')"
for _ in $(seq 1 150); do
  api /api/stats >"$T/stats.json" 2>"$T/api.err" || true
  jq -e '.totals.messages == 5 and (.totals.mismatches | length) > 0' "$T/stats.json" >/dev/null 2>&1 && break
  sleep 0.2
done
jq -e '.totals.messages == 5 and any(.totals.mismatches[]; .extension == "doc" and .family == "pe")' "$T/stats.json" >/dev/null ||
  fail "/api/stats does not count the 5 messages and the doc -> pe mismatch: $(jq -c .totals "$T/stats.json" 2>/dev/null || cat "$T/api.err")"
ok "checked, judged and counted: $(queue | jq -s -c 'map(.verdict) | group_by(.) | map({(.[0]): length}) | add')"

# The quarantine section: the two EICAR messages as SMTP mode would hold them (this daemon is
# in BCC mode, so their held rows are written here, as db/HoldQueue::decide leaves them):
# "EICAR inside" quarantined, the hostile subject's discarded. The page releases the one
# and deletes the other.
python3 - "$DATA/bccsink.db" <<'PY' || fail "cannot add held rows to $DATA/bccsink.db"
import sqlite3, sys, time
db = sqlite3.connect(sys.argv[1], timeout=30)
now = int(time.time() * 1000)
with db:
    for state, action, sender in (("quarantined", "quarantine", "alice@example.org"),
                                          ("discarded", "discard", "mallory@example.org")):
        n = db.execute(
            "INSERT INTO held (msg_id, sink, state, action, why, smtputf8, xforward, held_ms,"
            " decided_ms, next_ms) SELECT id, sink, ?, ?, 'dangerous: Eicar-Test-Signature',"
            " 0, '', ?, ?, ? FROM messages WHERE sender = ?",
            (state, action, now, now, now, sender)).rowcount
        assert n == 1, (state, n)
PY
# A retro-alert as the detector writes one (schema 7): the EICAR file mallory sent, judged
# clean then, now dangerous by new YARA rules; its name is markup. report_status none: no
# receiver is configured here.
python3 - "$DATA/bccsink.db" <<'PY' || fail "cannot add a retro-alert to $DATA/bccsink.db"
import sqlite3, sys, time
db = sqlite3.connect(sys.argv[1], timeout=30)
now = int(time.time() * 1000)
with db:
    db.execute("INSERT INTO retro_alerts (id, sink, sha256, analyzer, verdict, threats, cause,"
               " created_at, created_ms, report_status) SELECT '01JRETRO0000000000000000RA', sink,"
               " sha256, 'yara', 'dangerous', 'Evil_Macro', 'rules-reload',"
               " strftime('%Y-%m-%dT%H:%M:%fZ', 'now'), ?, 'none' FROM messages"
               " WHERE sender = 'mallory@example.org'", (now,))
    n = db.execute("INSERT INTO retro_messages (alert_id, msg_id, earlier_verdict, earlier_checked_at,"
                   " verdict, file_path) SELECT '01JRETRO0000000000000000RA', id, 'clean', checked_at,"
                   " 'dangerous', '<img src=x onerror=alert(1)>.exe' FROM messages"
                   " WHERE sender = 'mallory@example.org'").rowcount
    assert n == 1, n
PY
ok "a retro-alert naming mallory's message for the retro-alerts card"
[ "$(api /api/quarantine | jq '.count')" = 2 ] || fail "/api/quarantine does not list the 2 held rows: $(api /api/quarantine)"
ok "2 held messages (quarantined, discarded) for the quarantine section"

if ! BASE_URL=$BASE_URL TOKEN=$TOKEN CHROMIUM=$CHROMIUM node "$HERE/dashboard.test.mjs" | tee "$T/node.out"; then
  fail "the browser test failed (above)"
fi
PASSED=$((PASSED + $(grep -c '^ok - ' "$T/node.out")))
stop_sink

# The same page from a daemon without HttpToken: the JSON API is off and the page says so.
start "$T/data-off"
if ! API_OFF=1 BASE_URL=$BASE_URL TOKEN=none CHROMIUM=$CHROMIUM node "$HERE/dashboard.test.mjs" | tee "$T/node.out"; then
  fail "the browser test with the API off failed (above)"
fi
PASSED=$((PASSED + $(grep -c '^ok - ' "$T/node.out")))
stop_sink
finish
