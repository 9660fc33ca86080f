#!/usr/bin/env bash
# t-07-analysis: the daemon's analysis workers on real material, end to end.
#
#   make_messages.py (t-06) --swaks/smtp-source--> bccsink serve --BccWorkers 2
#       --> spool + pending row --worker--> extraction --> hash list (clam.exe dangerous)
#       --> verdict cache (file_verdicts) --> message `checked` with its verdict
#
# 1. The t-06 messages, one swaks each: every one ends `checked` with its verdict
#    (dangerous where clam.exe hides, clean, suspicious for the encrypted member: an
#    evasion); the nested
#    one names clam.exe by its path through zip and message. clam.exe arrives in many
#    messages but is analysed once: one verdict row, one "verdict hashlist on" log line,
#    and files.seen_count equals the number of messages carrying it. Every checked
#    message's verdict is the worst of its files' (checked again after 2 and 3).
#    1b. A 40 MB message with 1,003 files, clam.exe among them, whose extraction outlasts
#    a round of the completer: checked dangerous, not concluded before its files exist.
# 2. A burst of 50 copies of one message (smtp-source, 10 sessions): all checked dangerous,
#    all from the cache.
# 3. SIGKILL right after a batch of 300 was acknowledged, once the workers are under way
#    (messages checked, analyzing and pending); a restart on the same DataDir checks all
#    of them with the right verdicts, none lost.
# 4. A poison message (attempts already past BccMaxAttempts, set with sqlite3 while the
#    daemon is stopped) goes to `failed` with the reason, and keeps its spool file.
# shellcheck source-path=SCRIPTDIR source=../lib.sh
. "${TESTLIB:-$(dirname "$0")/../lib.sh}"
need swaks smtp-source jq sqlite3 python3 sha256sum
TF=/usr/share/clamav-testfiles
[ -f "$TF/clam.exe" ] || fail "clamav-testfiles is not installed (deploy/install-deps.sh)"
HERE=$(cd "$(dirname "$0")" && pwd)
mkdir -p "$T/msg"
python3 "$HERE/../t-06-scan/make_messages.py" "$T/msg"
# Two more, with LF line ends for smtp-source -F: large.eml (see 1b) and many.eml, clam.exe
# in a zip among 30 text files (a message that takes a worker a while).
python3 - "$T" <<'PY'
import io, os, sys, zipfile
from email.message import EmailMessage
from email.policy import SMTP

exe = open("/usr/share/clamav-testfiles/clam.exe", "rb").read()


def zipped(files):
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        for name, data in files:
            z.writestr(name, data)
    return buf.getvalue()


def write(name, attachments):
    m = EmailMessage(policy=SMTP)
    m["From"], m["To"], m["Subject"] = "alice@example.org", "bob@example.com", name
    m["Message-ID"] = "<%s@t-07.test>" % name
    m.set_content("Please see the attachments.\n")
    for filename, data, subtype in attachments:
        m.add_attachment(data, maintype="application", subtype=subtype, filename=filename)
    with open(os.path.join(sys.argv[1], name + ".eml"), "wb") as f:
        f.write(m.as_bytes().replace(b"\r\n", b"\n"))


notes = [("docs/note%04d.txt" % i, "note %d\n" % i) for i in range(1000)]
write("large", [("large.bin", os.urandom(30000000), "octet-stream"),
                ("docs.zip", zipped(notes), "zip"), ("clam.exe", exe, "octet-stream")])
write("many", [("many.zip", zipped(notes[:30] + [("docs/payload.exe", exe)]), "zip")])
PY
CLAM=$(sha256sum "$TF/clam.exe" | cut -d' ' -f1)
printf '# t-07 list\n%s dangerous ClamAV-Test-File\n' "$CLAM" >"$T/hashes"
DATA=$T/data
DB=$DATA/bccsink.db
# The hash list alone decides (YARA, on by default, has its own tests): the verdicts are known.
ANALYSIS=(--HashListFile "$T/hashes" --BccWorkers 2 --UseYara no)

# forget_pid PID: a server this test reaped itself is not signalled again at exit (its
# PID may belong to another process by then).
forget_pid() {
  local p rest=()
  for p in "${PIDS[@]}"; do
    [ "$p" = "$1" ] || rest+=("$p")
  done
  PIDS=("${rest[@]}")
}

kill_sink() {
  kill -KILL "$SINK_PID"
  wait "$SINK_PID" 2>/dev/null || true
  forget_pid "$SINK_PID"
}

# wait_settled N [SECONDS]: until the queue holds N messages, none pending or analyzing
# (default 20 s). Leaves the rows in $T/rows.json.
wait_settled() {
  local n=$1 limit=${2:-20}
  for _ in $(seq 1 $((limit * 5))); do
    queue_json "$DATA" >"$T/rows.json"
    [ "$(jq -s --argjson n "$n" 'length == $n and all(.[]; .state != "pending" and .state != "analyzing")' \
      "$T/rows.json")" = true ] && return 0
    sleep 0.2
  done
  fail "after ${limit} s: $(jq -s -c 'group_by(.state) | map({(.[0].state): length}) | add' "$T/rows.json") of $n"
}

# verdict_of MESSAGE-ID: the verdict of the row with that Message-ID header.
# The analysis is over once a message is checked; the reporter may have made it
# `reported` since (its own test is t-09), which counts as checked here.
verdict_of() {
  jq -r --arg m "$1" 'select(.message_id == $m) | "\(if .state == "reported" then "checked" else .state end) \(.verdict)"' \
    "$T/rows.json"
}

sql() { sqlite3 -batch "$DB" "$@"; }

# consistent WHAT: every checked message's verdict is the worst of its files' verdicts
# (clean < unscanned < suspicious < dangerous, as sandbox/analyzers/Verdict.cpp ranks them),
# at least suspicious when an unscanned file's reason or an error line is an evasion
# ("evasion: ..."), and no selected, readable file of a checked message is left without a
# verdict.
consistent() {
  local rank="CASE %s WHEN 'clean' THEN 0 WHEN 'unscanned' THEN 1 WHEN 'suspicious' THEN 2 WHEN 'dangerous' THEN 3 END" bad
  # shellcheck disable=SC2059
  bad=$(sql "SELECT m.id || ' ' || m.verdict FROM messages m WHERE m.state IN ('checked', 'reported') AND (
      MAX((SELECT COALESCE(MAX($(printf "$rank" f.verdict)), 0) FROM message_files f WHERE f.msg_id = m.id),
          CASE WHEN EXISTS (SELECT 1 FROM message_files f WHERE f.msg_id = m.id
                              AND f.verdict = 'unscanned' AND f.reason LIKE 'evasion: %')
                 OR m.errors LIKE 'evasion: %' OR m.errors LIKE '%' || char(10) || 'evasion: %'
               THEN 2 ELSE 0 END)
        <> $(printf "$rank" m.verdict)
      OR EXISTS (SELECT 1 FROM message_files f WHERE f.msg_id = m.id AND f.selected = 1
                 AND f.sha256 IS NOT NULL AND f.verdict IS NULL))")
  [ -z "$bad" ] || fail "$1: checked with a verdict that is not the worst of its files' ($(echo "$bad" | wc -l)): $(
    for id in $(echo "$bad" | cut -d' ' -f1 | head -3); do
      "$BCCSINK" queue show "$id" --json --DataDir "$DATA" | jq -c '{id, verdict, files: [.files[] | {path, selected, verdict}]}'
      grep "analyzed id=$id " "$T/sink.log"
    done)"
}

# ------------------------------------------------------------ 1. the t-06 messages
start_sink "$DATA" "${ANALYSIS[@]}"
grep -q "analysis: 2 workers, analyzers: hashlist" "$T/sink.log" || fail "analysis not started as configured"
# The messages this test knows, by Message-ID (make_messages.py may write more).
declare -A expect=(
  ["<archive-clam.zip@t-06.test>"]=dangerous ["<archive-clam.7z@t-06.test>"]=dangerous
  ["<archive-clam.cab@t-06.test>"]=dangerous ["<archive-clam.tar.gz@t-06.test>"]=dangerous
  ["<archive-clam.exe.bz2@t-06.test>"]=dangerous ["<archive-clam.bz2.zip@t-06.test>"]=dangerous
  ["<invoice@t-06.test>"]=dangerous ["<nested@t-06.test>"]=dangerous
  ["<outer@t-06.test>"]=dangerous ["<utf8@t-06.test>"]=dangerous
  ["<clean@t-06.test>"]=clean ["<encrypted@t-06.test>"]=suspicious
)
sent=0
for m in archive-clam.zip archive-clam.7z archive-clam.cab archive-clam.tar.gz archive-clam.exe.bz2 \
  archive-clam.bz2.zip pe-as-pdf nested nested-rfc822 utf8-name clean encrypted; do
  swaks --server "127.0.0.1:$SINK_PORT" --from alice@example.org --to watch@bcc.test \
    --data @"$T/msg/$m.eml" >"$T/swaks.out" 2>&1 || fail "swaks $m.eml: $(tail -3 "$T/swaks.out")"
  sent=$((sent + 1))
done
wait_settled "$sent"
ok "$sent messages sent with swaks, all analysed"
for mid in "${!expect[@]}"; do
  got=$(verdict_of "$mid")
  [ "$got" = "checked ${expect[$mid]}" ] || fail "$mid: '$got', expected 'checked ${expect[$mid]}'"
done
ok "every message checked with its verdict (10 dangerous, 1 clean, 1 suspicious: the encrypted zip)"

# Each message's log line, with its queue id, for an administrator to follow.
for id in $(jq -r .id "$T/rows.json"); do
  v=$(jq -r --arg id "$id" 'select(.id == $id) | .verdict' "$T/rows.json")
  grep -q "analyzed id=$id verdict=$v " "$T/sink.log" || fail "no 'analyzed id=$id verdict=$v' log line"
done
ok "one 'analyzed id=... verdict=...' log line per message"

nested=$(jq -r 'select(.message_id == "<nested@t-06.test>") | .id' "$T/rows.json")
"$BCCSINK" queue show "$nested" --json --DataDir "$DATA" >"$T/show.json"
jq -e --arg s "$CLAM" '(.state == "checked" or .state == "reported") and .verdict == "dangerous" and
    any(.files[]; .path == "bundle.zip > forwarded.eml > payload.exe" and .sha256 == $s and
        .verdict == "dangerous" and
        any(.analyzers[]; .analyzer == "hashlist" and .verdict == "dangerous" and
            (.threats | index("ClamAV-Test-File"))))' "$T/show.json" >/dev/null ||
  fail "queue show of the nested message: $(jq -c .files "$T/show.json")"
ok "queue show: 'bundle.zip > forwarded.eml > payload.exe' dangerous by hashlist"

encrypted=$(jq -r 'select(.message_id == "<encrypted@t-06.test>") | .id' "$T/rows.json")
"$BCCSINK" queue show "$encrypted" --json --DataDir "$DATA" |
  jq -e 'any(.files[]; .name == "secret.exe" and .verdict == "unscanned" and (.reason | test("^evasion: encrypted")))' \
    >/dev/null || fail "encrypted member not listed as unscanned with its reason"
ok "queue show: the encrypted member is unscanned, with the reason"

# clam.exe came in 10 messages (each of the 6 archives, invoice.pdf, 2 nested, utf8) and
# was analysed once: the verdict row is unique by key anyway, so the log line (one per
# verdict stored on a file that is not clean) and decided_at are what prove it.
carrying=$(jq -r .id "$T/rows.json" | while read -r id; do
  "$BCCSINK" queue show "$id" --json --DataDir "$DATA" | jq -r --arg s "$CLAM" 'select(any(.files[]; .sha256 == $s)) | .id'
done | wc -l)
[ "$carrying" -eq 10 ] || fail "queue show finds clam.exe in $carrying messages, not 10"
[ "$(sql "SELECT COUNT(*) FROM file_verdicts WHERE sha256 = '$CLAM'")" = 1 ] || fail "file_verdicts rows for clam.exe: $(sql "SELECT * FROM file_verdicts WHERE sha256 = '$CLAM'")"
seen=$(sql "SELECT seen_count FROM files WHERE sha256 = '$CLAM'")
[ "$seen" = "$carrying" ] || fail "files.seen_count of clam.exe is $seen, not $carrying"
analysed=$(grep -c "verdict hashlist on $CLAM" "$T/sink.log" || true)
[ "$analysed" -eq 1 ] || fail "clam.exe was analysed $analysed times"
decided=$(sql "SELECT decided_ms FROM file_verdicts WHERE sha256 = '$CLAM'")
[ "$(sql "SELECT COUNT(*) FROM file_submissions")" = 0 ] || fail "submissions left in flight"
ok "clam.exe in $carrying messages, seen_count $seen, analysed once (1 verdict row, 1 log line)"
consistent "the t-06 messages"
ok "each message's verdict is the worst of its files' verdicts"

# --------------------------------------------- 1b. a large message with clam.exe in it
# 30 MB of random bytes, a zip of 1,000 small files and clam.exe: extracting it takes
# longer than one round of the completer (1 s), which therefore looks at the message
# while its worker is still extracting. Nothing may be concluded from files not yet
# recorded. (smtp-source -F sends a file as the message and adds CRLF to each line.)
smtp-source -m 1 -F "$T/large.eml" -f alice@example.org -t watch@bcc.test "127.0.0.1:$SINK_PORT" \
  >"$T/large.out" 2>&1 || fail "smtp-source large: $(tail -3 "$T/large.out")"
sent=$((sent + 1))
carrying=$((carrying + 1))
wait_settled "$sent"
large=$(jq -r 'select(.message_id == "<large@t-07.test>") | .id' "$T/rows.json")
"$BCCSINK" queue show "$large" --json --DataDir "$DATA" >"$T/show.json"
jq -e --arg s "$CLAM" '(.state == "checked" or .state == "reported") and .verdict == "dangerous" and (.files | length) == 1003 and
    any(.files[]; .name == "clam.exe" and .sha256 == $s and .verdict == "dangerous")' "$T/show.json" >/dev/null ||
  fail "large message with clam.exe: $(jq -c '{state, verdict, files: (.files | length),
    clam: [.files[] | select(.name == "clam.exe") | .verdict]}' "$T/show.json"); $(grep "analyzed id=$large " "$T/sink.log")"
ok "a 40 MB message with 1,003 files, clam.exe among them: checked dangerous"

# ------------------------------------------------------------ 2. a burst of 50 copies
# smtp-source -F sends the file as the message (it adds CRLF to each line itself).
tr -d '\r' <"$T/msg/archive-clam.zip.eml" >"$T/burst.eml"
smtp-source -s 10 -m 50 -F "$T/burst.eml" -f alice@example.org -t watch@bcc.test \
  "127.0.0.1:$SINK_PORT" >"$T/burst.out" 2>&1 || fail "smtp-source burst: $(tail -3 "$T/burst.out")"
wait_settled $((sent + 50))
burst=$(jq -s '[.[] | select(.message_id == "<archive-clam.zip@t-06.test>")] | length' "$T/rows.json")
[ "$burst" -eq 51 ] || fail "$burst copies of archive-clam.zip in the queue, not 51"
jq -e -s 'all(.[] | select(.message_id == "<archive-clam.zip@t-06.test>"); (.state == "checked" or .state == "reported") and .verdict == "dangerous")' \
  "$T/rows.json" >/dev/null || fail "burst: not all checked dangerous"
if [ "$(sql "SELECT decided_ms FROM file_verdicts WHERE sha256 = '$CLAM'")" != "$decided" ] ||
  [ "$(grep -c "verdict hashlist on $CLAM" "$T/sink.log")" -ne 1 ]; then
  fail "clam.exe analysed again during the burst"
fi
seen=$(sql "SELECT seen_count FROM files WHERE sha256 = '$CLAM'")
[ "$seen" -eq $((carrying + 50)) ] || fail "seen_count $seen after the burst, not $((carrying + 50))"
ok "burst of 50 copies: all checked dangerous from the cache, seen_count $seen"
consistent "the burst"
stop_sink
forget_pid "$SINK_PID"

# ------------------------------------------------- 3. SIGKILL with work outstanding
# The batch: 100 each of the nested, the clean and the many-files message, sent in
# parallel; 2 workers take longer than smtp-source to get through it.
before=$(queue_json "$DATA" | wc -l)
tr -d '\r' <"$T/msg/nested.eml" >"$T/nested.eml"
tr -d '\r' <"$T/msg/clean.eml" >"$T/clean.eml"
start_sink "$DATA" "${ANALYSIS[@]}"
clients=()
for m in nested clean many; do
  smtp-source -s 5 -m 100 -F "$T/$m.eml" -f alice@example.org -t watch@bcc.test \
    "127.0.0.1:$SINK_PORT" >"$T/batch-$m.out" 2>&1 &
  clients+=($!)
  PIDS+=($!)
done
for c in "${clients[@]}"; do
  wait "$c" || fail "smtp-source batch: $(tail -3 "$T"/batch-*.out)"
  forget_pid "$c"
done
# Kill once the workers are under way, so that the kill finds all three states.
for _ in $(seq 1 500); do
  [ "$(sql "SELECT COUNT(*) FROM messages WHERE state IN ('checked', 'reported')")" -ge $((before + 20)) ] && break
  sleep 0.01
done
kill_sink
total=$((before + 300))
[ "$(sql "SELECT COUNT(*) FROM messages")" -eq "$total" ] || fail "$(sql "SELECT COUNT(*) FROM messages") rows after the kill, not $total"
open=$(sql "SELECT COUNT(*) FROM messages WHERE state IN ('pending', 'analyzing')")
held=$(sql "SELECT COUNT(*) FROM messages WHERE state = 'analyzing'")
[ "$open" -gt 0 ] || fail "the kill came too late: every message was already checked"
ok "SIGKILL after 300 acknowledged: $open not yet analysed ($(sql "SELECT state || '=' || COUNT(*) FROM messages GROUP BY state" | tr '\n' ' '))"

start_sink "$DATA" "${ANALYSIS[@]}"
if [ "$held" -gt 0 ]; then
  grep -q "recovery: $held messages returned to pending" "$T/sink.log" ||
    fail "the $held messages held at the kill were not returned to pending at start"
fi
wait_settled "$total"
jq -e -s 'all(.[]; (.state == "checked" or .state == "reported"))' "$T/rows.json" >/dev/null ||
  fail "not all checked after the restart: $(jq -s -c '[.[] | select((.state != "checked" and .state != "reported")) | {id, state, reason}]' "$T/rows.json")"
# One more of each was sent in 1.; the many-files message only here.
declare -A want=(["<nested@t-06.test>"]="101 dangerous" ["<clean@t-06.test>"]="101 clean" ["<many@t-07.test>"]="100 dangerous")
for mid in "${!want[@]}"; do
  got=$(jq -s -r --arg m "$mid" '[.[] | select(.message_id == $m)] | "\(length) \(map(.verdict) | unique | join(","))"' "$T/rows.json")
  [ "$got" = "${want[$mid]}" ] || fail "after the restart, $mid: '$got' (count and verdicts), expected '${want[$mid]}'"
done
"$BCCSINK" queue list --check --DataDir "$DATA" >"$T/check.out" || fail "queue check: $(cat "$T/check.out")"
consistent "after the restart"
ok "restart on the same DataDir: all $total checked with the right verdicts, queue check clean"

# ------------------------------------------------------------ 4. a poison message
stop_sink
forget_pid "$SINK_PID"
poison=$nested
sql "UPDATE messages SET state = 'pending', attempts = 5, verdict = NULL, checked_at = NULL WHERE id = '$poison'"
start_sink "$DATA" "${ANALYSIS[@]}"
for _ in $(seq 1 100); do
  state=$("$BCCSINK" queue show "$poison" --json --DataDir "$DATA" | jq -r .state)
  [ "$state" = pending ] || [ "$state" = analyzing ] || break
  sleep 0.2
done
"$BCCSINK" queue show "$poison" --json --DataDir "$DATA" >"$T/poison.json"
jq -e '.state == "failed" and (.reason | test("attempts"))' "$T/poison.json" >/dev/null ||
  fail "poison message: $(jq -c '{state, reason, attempts, verdict}' "$T/poison.json")"
spooled_message "$DATA" "$poison" >/dev/null || fail "the failed message lost its spooled copy"
grep -q "failed id=$poison: .*attempts" "$T/sink.log" || fail "no 'failed id=$poison' log line"
[ "$(sql "SELECT COUNT(*) FROM messages WHERE state IN ('checked', 'reported')")" -eq $((total - 1)) ] ||
  fail "other messages changed state: $(sql "SELECT state || '=' || COUNT(*) FROM messages GROUP BY state" | tr '\n' ' ')"
ok "attempts past BccMaxAttempts: failed ('$(jq -r .reason "$T/poison.json" | cut -c1-40)...'), spool file kept"
stop_sink
finish
