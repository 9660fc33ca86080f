#!/usr/bin/env bash
# t-17-retention: a copy's content expires while its row stays; disk pressure frees the
# oldest clean content first.
#
#   swaks --SMTP--> bccsink (BccKeepClean 2s, BccKeepFlagged 1h)
#     clean.eml (200 KB of text) -> checked clean, no report -> after 2 s its spool record
#       is dead, its bytes punched out (bytes_freed), content_expired true, the row stays;
#       `queue show --raw` says the content expired, `report show` builds from the row
#     eicar.eml (EICAR, built-in YARA) -> dangerous, reported -> kept (1 h)
#   restart with BccKeepClean 1h and the test hook BCCSINK_TEST_FREE_SPACE (free space
#   read as 1000 bytes, under twice BccMinFreeSpace):
#     clean2.eml -> its content goes for room at once, logged, counted as pressure;
#     the dangerous copy stays
source "$TESTLIB"
need jq python3 swaks curl

http_port() {
  local line
  for _ in $(seq 1 50); do
    line=$(grep "http listening on" "$T/sink.log" | tail -1 || true)
    if [ -n "$line" ]; then
      echo "$line" | sed -E 's/.*http listening on [^ ]*:([0-9]+).*/\1/'
      return 0
    fi
    sleep 0.1
  done
  fail "no 'http listening on' line in the log"
}
metric() {
  curl -sS "http://127.0.0.1:$HTTP/metrics" | awk -v m="$1" '$1 == m { print $2 }'
}
send() {  # send FILE: one copy, its queue id in $T/last.id
  swaks --server "127.0.0.1:$SINK_PORT" --from alice@example.org --to watch@bcc.test \
    --data "@$1" >"$T/swaks.out" 2>&1 || fail "swaks $1: $(tail -3 "$T/swaks.out")"
  sed -nE 's/.*250 2\.0\.0 .*[Qq]ueued as ([0-9A-Z]+).*/\1/p' "$T/swaks.out" | tail -1
}
show() {  # show ID: queue show --json
  "$BCCSINK" queue show "$1" --json --DataDir "$DATA"
}
# wait_for ID JQ-EXPR: until the row matches (bounded: about 15 s)
wait_for() {
  for _ in $(seq 1 60); do
    show "$1" | jq -e "$2" >/dev/null 2>&1 && return 0
    sleep 0.2
  done
  fail "$1 never matched $2: $(show "$1" | jq -c '{state, verdict, report, content_expired}')"
}

python3 - "$T" <<'PY'
import sys
from email.message import EmailMessage
t = sys.argv[1]
def write(name, subject, body, attach=None):
    m = EmailMessage()
    m["From"], m["To"], m["Subject"] = "alice@example.org", "bob@example.com", subject
    m["Message-ID"] = "<%s@t-17.test>" % name
    m.set_content(body)
    if attach:
        m.add_attachment(attach, maintype="application", subtype="octet-stream",
                         filename="eicar.com")
    open("%s/%s.eml" % (t, name), "wb").write(m.as_bytes())
text = "".join("line %06d of a long clean letter\n" % i for i in range(6000))  # ~200 KB
write("clean", "quarterly figures", text)
write("clean2", "more figures", text)
write("eicar", "invoice", "see attached\n",
      rb"X5O!P%@AP[4\PZX54(P^)7CC)7}$EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*")
PY

# --- 1. age: clean content after BccKeepClean, flagged kept ----------------------------
DATA=$T/data
start_sink "$DATA" --BccKeepClean 2s --BccKeepFlagged 1h --BccKeepRows 30d
HTTP=$(http_port)
CLEAN=$(send "$T/clean.eml")
EICAR=$(send "$T/eicar.eml")
[ -n "$CLEAN" ] && [ -n "$EICAR" ] || fail "no queue ids: $(cat "$T/swaks.out")"
wait_for "$EICAR" '.verdict == "dangerous" and .report == "sent"'
wait_for "$CLEAN" '.content_expired == true'
show "$CLEAN" | jq -e '.verdict == "clean" and (.content_expired_at | length > 0)' >/dev/null ||
  fail "clean row: $(show "$CLEAN")"
ok "the clean copy's content expired after BccKeepClean; its row stays (verdict clean)"
show "$EICAR" | jq -e '.content_expired == false' >/dev/null || fail "dangerous: $(show "$EICAR")"
"$BCCSINK" queue show "$EICAR" --raw --DataDir "$DATA" >"$T/eicar.raw" &&
  grep -q "<eicar@t-17.test>" "$T/eicar.raw" && grep -q "filename=\"eicar.com\"" "$T/eicar.raw" ||
  fail "the dangerous copy's content is not its message: $(head -c 300 "$T/eicar.raw")"
ok "the dangerous copy's content is kept (BccKeepFlagged 1h)"
set +e
"$BCCSINK" queue show "$CLEAN" --raw --DataDir "$DATA" >"$T/raw.out" 2>"$T/raw.err"
RC=$?
set -e
[ "$RC" -ne 0 ] && grep -q "the content of $CLEAN expired on .* (BccKeepClean)" "$T/raw.err" ||
  fail "queue show --raw of an expired copy: exit $RC, $(cat "$T/raw.err")"
ok "queue show --raw of the expired copy: exit $RC, 'the content of ID expired on DATE (BccKeepClean)'"
"$BCCSINK" report show "$CLEAN" --json --DataDir "$DATA" >"$T/report.json" 2>"$T/report.err" ||
  fail "report show of an expired copy: $(cat "$T/report.err")"
grep -q "expired on" "$T/report.err" && jq -e '.errors | any(test("expired on"))' "$T/report.json" >/dev/null ||
  fail "report show: $(cat "$T/report.err") $(jq -c .errors "$T/report.json")"
ok "report show of the expired copy is built from its row and says the content expired"
FREED=$(metric bccsink_retention_bytes_freed_total)
AGE=$(metric 'bccsink_retention_content_expired_total{reason="age"}')
[ "${AGE:-0}" -ge 1 ] || fail "metrics: expired by age $AGE"
[ "${FREED:-0}" -ge 150000 ] || fail "metrics: bytes freed $FREED (hole punching on $(stat -f -c %T "$DATA"))"
ok "/metrics: $AGE expired by age, $FREED bytes of the spool freed (punched out of its segment)"
"$BCCSINK" queue list --check --DataDir "$DATA" >"$T/check.out" || fail "check: $(cat "$T/check.out")"
grep -q "1 marked dead" "$T/check.out" || fail "check: $(cat "$T/check.out")"
ok "queue list --check: no problems, the expired record counted dead"
stop_sink

# A restart restores nothing of the expired copy.
start_sink "$DATA" --BccKeepClean 1h --BccKeepFlagged 1h
show "$CLEAN" | jq -e '.content_expired == true' >/dev/null || fail "after restart: $(show "$CLEAN")"
[ "$("$BCCSINK" queue list --json --DataDir "$DATA" | jq -s length)" = 2 ] || fail "rows after restart"
ok "after a restart: still expired, no row restored, 2 rows"
stop_sink

# --- 2. disk pressure: the oldest clean content first ----------------------------------
export BCCSINK_TEST_FREE_SPACE=1000
start_sink "$DATA" --BccKeepClean 1h --BccKeepFlagged 1h --BccMinFreeSpace 1M
unset BCCSINK_TEST_FREE_SPACE
HTTP=$(http_port)
grep -q "BCCSINK_TEST_FREE_SPACE set" "$T/sink.log" || fail "the test hook was not taken"
CLEAN2=$(send "$T/clean2.eml")
wait_for "$CLEAN2" '.content_expired == true'
ok "under disk pressure the young clean copy's content expired at once (BccKeepClean 1h)"
show "$EICAR" | jq -e '.content_expired == false' >/dev/null || fail "dangerous after pressure"
ok "the dangerous copy is kept under pressure"
grep -q "retention: disk pressure: .* clean copies expired early, .* freed" "$T/sink.log" ||
  fail "no disk pressure line: $(grep retention "$T/sink.log" | tail -3)"
[ "$(metric 'bccsink_retention_content_expired_total{reason="pressure"}')" -ge 1 ] ||
  fail "metrics: pressure $(metric 'bccsink_retention_content_expired_total{reason="pressure"}')"
ok "logged (notice, with the bytes freed) and counted in /metrics (reason=\"pressure\")"
stop_sink
finish
