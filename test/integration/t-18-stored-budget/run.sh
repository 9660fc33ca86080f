#!/usr/bin/env bash
# t-18-stored-budget: one message may add at most its stored-content budget to
# DataDir/files (issue 18, finding 4: a 7.9 MB message wrote 501 MB there).
#
#   python3 zipfile: parts.zip = part1..part5.com, 20 MB each (a fill byte, a marker at
#     the end; part5's marker is what the test's YARA rule calls dangerous), ~100 KB
#   swaks --SMTP--> bccsink serve --BccMaxStoredPerMessage 30M --BccArchiveMaxRatio 5000
#     --YaraRules (the marker rule) --> spool --> worker: extraction
#       parts.zip, part1.com  -> DataDir/files (within 30 MB)
#       part2..part5.com      -> not kept: held in memory, given to YARA from there
#     --> message checked dangerous (part5's marker, seen only in memory)
#   queue show --json: not_kept on part2..5, null on the zip and part1
#   report show: "not kept:   the message's stored-content budget of 30 MB was reached"
#   du -sb DataDir/files stays under 30 MB (it would be 100 MB without the budget)
#   new YARA rules + SIGHUP --> RecheckStage: the 2 kept files only, no error
source "$TESTLIB"
need jq python3 swaks du

python3 - "$T" <<'PY'
import io, sys, zipfile
from email.message import EmailMessage

t = sys.argv[1]
buf = io.BytesIO()
with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
    for n in range(1, 6):
        tail = b"BCCSINK-T18-NOT-KEPT-DANGER" if n == 5 else b"BCCSINK-T18-PART-%d" % n
        z.writestr("part%d.com" % n, bytes([n]) * (20 << 20) + tail)
m = EmailMessage()
m["From"], m["To"], m["Subject"] = "alice@example.org", "bob@example.com", "parts"
m["Message-ID"] = "<parts@t-18.test>"
m.set_content("Five parts, attached.\n")
m.add_attachment(buf.getvalue(), maintype="application", subtype="zip", filename="parts.zip")
open(t + "/parts.eml", "wb").write(m.as_bytes())
PY
mkdir -p "$T/rules"
cat >"$T/rules/marker.yar" <<'YAR'
rule T18_Not_Kept_Marker
{
  meta:
    verdict = "dangerous"
  strings:
    $a = "BCCSINK-T18-NOT-KEPT-DANGER"
  condition:
    $a
}
YAR

DATA=$T/data
BUDGET=$((30 << 20))
start_sink "$DATA" --BccMaxStoredPerMessage 30M --BccArchiveMaxRatio 5000 \
  --YaraRules "$T/rules"
used() { if [ -d "$DATA/files" ]; then du -sb "$DATA/files" | cut -f1; else echo 0; fi; }
BEFORE=$(used)
swaks --server "127.0.0.1:$SINK_PORT" --from alice@example.org --to watch@bcc.test \
  --data "@$T/parts.eml" >"$T/swaks.out" 2>&1 || fail "swaks: $(tail -3 "$T/swaks.out")"
ID=$(sed -nE 's/.*250 2\.0\.0 .*[Qq]ueued as ([0-9A-Z]+).*/\1/p' "$T/swaks.out" | tail -1)
[ -n "$ID" ] || fail "no queue id: $(tail -3 "$T/swaks.out")"
show() { "$BCCSINK" queue show "$ID" --json --DataDir "$DATA"; }
checked() { show | jq -e '.state == "checked" or .state == "reported"' >/dev/null 2>&1; }
wait_until 60 "$ID to be checked" checked
AFTER=$(used)
SIZE=$(stat -c %s "$T/parts.eml")
echo "# message $SIZE bytes; DataDir/files $BEFORE -> $AFTER bytes (budget $BUDGET)"

show >"$T/show.json"
jq -e '.verdict == "dangerous"' "$T/show.json" >/dev/null ||
  fail "verdict: $(jq -c '{state, verdict}' "$T/show.json")"
ok "checked dangerous: part5's marker was found in bytes that were never stored"

[ $((AFTER - BEFORE)) -le "$BUDGET" ] ||
  fail "DataDir/files grew by $((AFTER - BEFORE)) bytes, over the budget of $BUDGET"
[ $((AFTER - BEFORE)) -ge $((20 << 20)) ] ||
  fail "DataDir/files grew by $((AFTER - BEFORE)) bytes: part1 should be stored"
ok "DataDir/files grew by $((AFTER - BEFORE)) bytes, within the 30 MB budget (100 MB unpacked)"

WHY="the message's stored-content budget of 30 MB was reached"
for n in 2 3 4 5; do
  jq -e --arg p "parts.zip > part$n.com" --arg why "$WHY" \
    '.files | map(select(.path == $p)) | length == 1 and (.[0].not_kept == $why) and (.[0].verdict != null)' \
    "$T/show.json" >/dev/null || fail "part$n: $(jq -c --arg p "parts.zip > part$n.com" '.files[] | select(.path == $p)' "$T/show.json")"
done
jq -e '.files | map(select(.path == "parts.zip > part5.com"))[0].verdict == "dangerous"' \
  "$T/show.json" >/dev/null || fail "part5 not dangerous: $(jq -c .files "$T/show.json")"
jq -e '.files | map(select(.path == "parts.zip > part1.com" or .path == "parts.zip"))
       | length == 2 and all(.not_kept == null)' "$T/show.json" >/dev/null ||
  fail "kept files: $(jq -c .files "$T/show.json")"
ok "queue show --json: part2..part5 not_kept (\"$WHY\"), each with a verdict; the zip and part1 kept"

"$BCCSINK" report show "$ID" --DataDir "$DATA" >"$T/report.txt" 2>"$T/report.err" ||
  fail "report show: $(cat "$T/report.err")"
[ "$(grep -c "not kept:   $WHY" "$T/report.txt")" -eq 4 ] ||
  fail "report text: $(grep -n "not kept" "$T/report.txt" || head -40 "$T/report.txt")"
ok "the report lists the four files not kept and why"
grep -q "not kept id=$ID files=4 bytes=83886161 stored=" "$T/sink.log" ||
  fail "log: $(grep "not kept" "$T/sink.log" || echo 'no "not kept" line')"
ok "logged once: not kept id=$ID files=4 bytes=83886161 ..."

# A re-check (new YARA rules, SIGHUP) scans the kept files again and passes by the files
# not kept, without an error: the zip and part1, 2 files.
MARK=$(wc -l <"$T/sink.log")
cat >"$T/rules/parts.yar" <<'YAR'
rule T18_Part
{
  meta:
    verdict = "suspicious"
  strings:
    $a = "BCCSINK-T18-PART-"
  condition:
    $a
}
YAR
kill -HUP "$SINK_PID"
rechecked() { tail -n +"$((MARK + 1))" "$T/sink.log" | grep -q "recheck: yara done"; }
wait_until 60 "the re-check after SIGHUP" rechecked
tail -n +"$((MARK + 1))" "$T/sink.log" | grep -q "recheck: yara done (2 files)" ||
  fail "re-check: $(tail -n +"$((MARK + 1))" "$T/sink.log" | grep recheck)"
! tail -n +"$((MARK + 1))" "$T/sink.log" | grep -E "recheck: paused|cannot (open|read)" ||
  fail "the re-check met an error"
ok "a re-check after SIGHUP took the 2 kept files and passed by the 4 not kept, without error"

stop_sink
finish
