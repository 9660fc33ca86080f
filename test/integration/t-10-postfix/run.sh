#!/usr/bin/env bash
# t-10-postfix: the whole chain with a real Postfix, configured with the SHIPPED
# deploy/postfix snippets (main.cf.bccsink, master.cf.bccsink, transport), adapted only by
# the sed of deploy/README.md.
#
#   swaks / smtp-source
#        |
#        v
#   Postfix smtpd 127.0.0.1:SMTPPORT  (private instance in $T/pf, loopback only)
#        |-- relayhost [127.0.0.1]:RELAYPORT --> smtp-sink -d $T/mbox  (bob@, staff@, the
#        |                                       burst's recipient, and admin@: the mailbox)
#        `-- always_bcc watch@bcc.test, transport "bccsink" --> bccsink 127.0.0.1:SINKPORT
#                                                                |  YARA (+ clamd if needed)
#                                                                v
#               report mail  --SMTP--> Postfix smtpd 127.0.0.1:SMTPPORT --> smtp-sink
#                                          `-- its own always_bcc copy --> bccsink (clean)
#
# Asserted:
#   a) clam.exe inside a zip: a report "[bccsink] dangerous..." whose text names clam.exe's
#      SHA-256 and "dangerous", and whose report.json has that file, verdict dangerous
#   b) a clean message with a text attachment: no report
#   c) ceo@example.com -> staff@example.com with a Received hop from 203.0.113.9: a
#      report whose subject says "spoofed" and whose text names 203.0.113.9
#   d) 200 messages in a burst (10 at once), 20 with the EICAR file: all 200 copies in
#      bccsink's queue, Postfix logs status=sent to SINKPORT for every copy, reports for
#      exactly those 20 (by Message-ID in report.json)
#   and no report loop: Postfix's copies of the 22 report mails reach bccsink, are judged
#   clean and not reported; the mailbox holds exactly 22 reports.
#   e) original recipients: the same Postfix switched from always_bcc to the shipped
#      recipient_bcc.pcre (main.cf.bccsink's commented line, postfix reload): a message to
#      bob@example.org and carol+news@example.net reaches bccsink as ONE copy, addressed to
#      watch+bob=example.org@bcc.test and watch+carol+news=example.net@bcc.test (accepted
#      by BccDomains = watch@bcc.test as subaddresses), whose original_recipients are
#      exactly those two (`queue show --json ID`).
# shellcheck source=../lib.sh
source "$TESTLIB"
PATH=$PATH:/usr/sbin:/usr/lib/postfix/sbin
need postfix postconf postmap swaks smtp-source smtp-sink python3 jq
TF=/usr/share/clamav-testfiles
[ -f "$TF/clam.exe" ] || fail "clamav-testfiles is not installed (deploy/install-deps.sh)"
ROOT=$(cd "$(dirname "$0")/../../.." && pwd)
for f in main.cf.bccsink master.cf.bccsink transport recipient_bcc.pcre; do
  [ -f "$ROOT/deploy/postfix/$f" ] || fail "no deploy/postfix/$f"
done
chmod 755 "$T"  # Postfix's unprivileged processes reach $T/pf/data through it
P=$T/pf
BURST=200
BURST_EICAR=20
START=$SECONDS

# Postfix is stopped (and waited for) before lib.sh's cleanup removes $T.
POSTFIX_UP=0
t10_cleanup() {
  local rc=$?
  set +e  # under -e the "(exit $rc)" below would end the trap before cleanup ran
  if [ "$POSTFIX_UP" = 1 ]; then
    postfix_private_stop "$P"
    if [ $rc -ne 0 ] && [ -f "$P/maillog" ]; then
      echo "--- last lines of Postfix's maillog:"
      tail -15 "$P/maillog"; echo
    fi
  fi
  (exit $rc)
  cleanup
}
trap t10_cleanup EXIT

# wait_for SECONDS WHAT COMMAND...: polls COMMAND every 0.5 s until it succeeds.
wait_for() {
  local limit=$1 what=$2 t0=$SECONDS next=$((SECONDS + 10))
  shift 2
  until "$@"; do
    [ $((SECONDS - t0)) -lt "$limit" ] || fail "timed out after ${limit}s waiting for $what"
    if [ $SECONDS -ge $next ]; then
      echo "  ... still waiting for $what ($((SECONDS - t0))s)"
      next=$((SECONDS + 10))
    fi
    sleep 0.5
  done
  echo "  $what after $((SECONDS - t0))s"
}

# --- messages ------------------------------------------------------------------------
mkdir -p "$T/msg" "$T/burst" "$T/mbox"
# shellcheck disable=SC2016  # the EICAR string, literally
printf '%s' 'X5O!P%@AP[4\PZX54(P^)7CC)7}$EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*' >"$T/eicar.com"
python3 - "$T" "$TF/clam.exe" "$BURST" "$BURST_EICAR" <<'PY'
import io, sys, zipfile
from email.message import EmailMessage
T, clam, burst, eicars = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])

def message(path, frm, to, subject, mid, attachment=None):
    m = EmailMessage()
    m["From"], m["To"], m["Subject"] = frm, to, subject
    m["Message-ID"] = "<%s@t-10.test>" % mid
    m.set_content("t-10: %s\n" % subject)
    if attachment:
        data, maintype, subtype, name = attachment
        if maintype == "text":
            m.add_attachment(data.decode(), subtype=subtype, filename=name)
        else:
            m.add_attachment(data, maintype=maintype, subtype=subtype, filename=name)
    open(path, "wb").write(m.as_bytes())

z = io.BytesIO()
with zipfile.ZipFile(z, "w", zipfile.ZIP_DEFLATED) as zf:
    zf.write(clam, "clam.exe")
message(T + "/msg/clam.eml", "alice@example.org", "bob@example.net",
        "t-10 invoice (clam.exe in a zip)", "t10-clam",
        (z.getvalue(), "application", "zip", "invoice.zip"))
message(T + "/msg/clean.eml", "alice@example.org", "bob@example.net",
        "t-10 minutes of the meeting", "t10-clean",
        (b"Nothing to see here.\n" * 20, "text", "plain", "minutes.txt"))
eicar = open(T + "/eicar.com", "rb").read()
step = burst // eicars
for i in range(burst):
    infected = i % step == 0
    message("%s/burst/%03d.eml" % (T, i), "burst@example.org", "rcpt@example.net",
            "t-10 burst %03d%s" % (i, " eicar" if infected else ""), "t10-burst-%03d" % i,
            (eicar, "application", "octet-stream", "eicar%03d.com" % i) if infected
            else (b"burst %d\n" % i, "text", "plain", "note.txt"))
    if infected:
        open(T + "/burst-eicar.txt", "a").write("<t10-burst-%03d@t-10.test>\n" % i)
PY
[ "$(wc -l <"$T/burst-eicar.txt")" -eq "$BURST_EICAR" ] || fail "the generator made $(wc -l <"$T/burst-eicar.txt") EICAR messages"
CLAM_SHA=$(sha256sum "$TF/clam.exe" | cut -d' ' -f1)

# --- 1. bccsink (clamd only if the built-in YARA rules do not call clam.exe dangerous) ---
ANALYZERS=()
set +e
"$BCCSINK" scan "$T/msg/clam.eml" --json --DataDir "$T/scan" >"$T/scan.json" 2>"$T/scan.err"
RC=$?
set -e
if [ "$RC" -eq 2 ] && jq -e --arg s "$CLAM_SHA" 'any(.files[]; .sha256 == $s and .verdict == "dangerous")' \
  "$T/scan.json" >/dev/null; then
  echo "# the built-in YARA rules call clam.exe dangerous: no clamd"
else
  echo "# YARA alone calls clam.exe $(jq -r --arg s "$CLAM_SHA" '.files[] | select(.sha256 == $s) | .verdict' "$T/scan.json" 2>/dev/null || echo "?") (scan exit $RC): starting clamd"
  need clamd sigtool
  start_clamd "$T/clamd"
  ANALYZERS=(--UseClamd yes --ClamdSocket "unix:$T/clamd/clamd.sock")
fi

# Loopback ports for Postfix's smtpd and the smtp-sink, below the kernel's ephemeral range
# so that no port-0 bind (bccsink's) can take one of them.
read -r SMTPPORT RELAYPORT < <(free_ports 2)
[ -n "$RELAYPORT" ] || fail "no free loopback ports"

# An address entry, so that e) shows its subaddresses (watch+LOCAL=DOMAIN@) accepted.
DOMAINS=watch@bcc.test start_sink "$T/data" --InternalDomains example.com --BccSmtpServer "127.0.0.1:$SMTPPORT" \
  --BccReportRecipientAddress admin@example.net --BccReporterAddress bccsink@example.com \
  "${ANALYZERS[@]}"
SINKPORT=$SINK_PORT  # set by start_sink
echo "# ports: bccsink $SINKPORT, Postfix smtpd $SMTPPORT, smtp-sink (relayhost) $RELAYPORT"

# --- 2. the administrator's mailbox, and Postfix's relayhost --------------------------
smtp-sink -4 -u root -d "$T/mbox/%M." "127.0.0.1:$RELAYPORT" 100 >"$T/smtp-sink.out" 2>&1 &
PIDS+=($!)
port_open() { (exec 8<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
wait_for 10 "smtp-sink on $RELAYPORT" port_open "$RELAYPORT"

# --- 3. the private Postfix, with the shipped snippets ------------------------------------
adapt() {
  sed -e 's/\[bccsink\.example\.com\]:25/[127.0.0.1]:'"$SINKPORT"'/' \
    -e 's/bcc\.example\.com/bcc.test/g' "$ROOT/deploy/postfix/$1"
}
# shellcheck source=../../postfix-private.sh
. "$ROOT/test/postfix-private.sh"
postfix_private_config "$P" "$SMTPPORT" "$RELAYPORT"
adapt main.cf.bccsink >>"$P/etc/main.cf"
adapt master.cf.bccsink >>"$P/etc/master.cf"
adapt transport >"$P/etc/transport"
postmap -c "$P/etc" "hash:$P/etc/transport" || fail "postmap of the shipped transport table"
[ "$(postmap -c "$P/etc" -q bcc.test "hash:$P/etc/transport")" = "bccsink:[127.0.0.1]:$SINKPORT" ] ||
  fail "the adapted transport table gives '$(postmap -c "$P/etc" -q bcc.test "hash:$P/etc/transport")'"
[ "$(postconf -c "$P/etc" -h always_bcc)" = watch@bcc.test ] || fail "always_bcc is $(postconf -c "$P/etc" -h always_bcc)"
postconf -c "$P/etc" -M bccsink/unix | grep -q 'smtp_data_done_timeout=120s' ||
  fail "the bccsink service of master.cf.bccsink: $(postconf -c "$P/etc" -M bccsink/unix)"
postconf -c "$P/etc" -n >"$T/postconf.out" 2>&1
if grep -qi "warning" "$T/postconf.out"; then fail "postconf warns: $(grep -i warning "$T/postconf.out")"; fi
postfix -c "$P/etc" check >"$T/postfix-check.out" 2>&1 || fail "postfix check: $(cat "$T/postfix-check.out")"
postfix -c "$P/etc" start >"$T/postfix-start.out" 2>&1 || fail "postfix start: $(cat "$T/postfix-start.out")"
POSTFIX_UP=1
wait_for 30 "Postfix's smtpd on $SMTPPORT" port_open "$SMTPPORT"
ok "a private Postfix with the shipped main.cf.bccsink, master.cf.bccsink and transport (sed only)"

# --- 4. the mail -------------------------------------------------------------------------
send() {  # send FROM TO FILE [swaks options]
  swaks --server "127.0.0.1:$SMTPPORT" --from "$1" --to "$2" --data "@$3" "${@:4}" \
    >"$T/swaks.out" 2>&1 || fail "swaks $1 -> $2: $(tail -5 "$T/swaks.out")"
}
send alice@example.org bob@example.net "$T/msg/clam.eml"
send alice@example.org bob@example.net "$T/msg/clean.eml"
swaks --server "127.0.0.1:$SMTPPORT" --from ceo@example.com --to staff@example.com \
  --header "Subject: t-10 please pay this invoice today" \
  --header "Message-Id: <t10-spoof@t-10.test>" \
  --add-header "Received: from evil.example.net (evil.example.net [203.0.113.9]) by mx.example.com (Postfix) with ESMTP id 4AbCdE; Mon, 3 Jun 2024 10:00:00 +0000" \
  --body "Wire the money." >"$T/swaks.out" 2>&1 || fail "swaks spoof: $(tail -5 "$T/swaks.out")"
ok "three messages handed to Postfix with swaks (clam.exe in a zip, clean, spoofed internal)"

t0=$SECONDS
find "$T/burst" -name '*.eml' | sort | xargs -P 10 -I{} smtp-source -F {} -f burst@example.org \
  -t rcpt@example.net -m 1 -s 1 "127.0.0.1:$SMTPPORT" 2>"$T/smtp-source.err" ||
  fail "smtp-source: $(head -5 "$T/smtp-source.err")"
echo "# $BURST burst messages handed to Postfix in $((SECONDS - t0))s"

# --- 5. what bccsink received ---------------------------------------------------------
burst_copies() {
  [ "$(queue_json "$T/data" | jq -s '[.[] | select(.sender == "burst@example.org")] | length')" -ge "$BURST" ]
}
wait_for 120 "all $BURST burst copies in bccsink's queue" burst_copies
N=$(queue_json "$T/data" | jq -s '[.[] | select(.sender == "burst@example.org")] | length')
[ "$N" -eq "$BURST" ] || fail "$N burst copies in bccsink's queue, not $BURST"
N=$(queue_json "$T/data" | jq -s '[.[] | select(.sender == "burst@example.org" and
  (.recipients == ["watch@bcc.test"]) and any(.dsn[]; .notify == "NEVER"))] | length')
[ "$N" -eq "$BURST" ] || fail "$N burst copies addressed to watch@bcc.test, not $BURST"
ok "all $BURST burst copies reached bccsink through the bccsink transport"

# --- 6. the mailbox ----------------------------------------------------------------------
# Each smtp-sink dump is one mail transaction; a report is a dump addressed to admin@ whose
# report.json parses (a dump still being written does not, and is read again later).
cat >"$T/mbox.py" <<'PY'
import email, email.policy, glob, json, sys
for path in sorted(glob.glob(sys.argv[1] + "/*")):
    try:
        raw = open(path, "rb").read()
        m = email.message_from_bytes(raw, policy=email.policy.default)
        if "admin@example.net" not in " ".join(m.get_all("X-Rcpt-Args", [])):
            continue
        text, report = None, None
        for part in m.walk():
            if part.get_content_type() == "text/plain" and text is None:
                text = part.get_content()
            elif part.get_filename() == "report.json":
                report = json.loads(part.get_payload(decode=True))
        if text is None or report is None:
            continue
    except Exception:
        continue
    print(json.dumps({"file": path, "mail_from": m.get("X-Mail-Args", ""),
                      "from": str(m.get("From", "")), "subject": str(m.get("Subject", "")),
                      "verdict_header": str(m.get("X-Bccsink-Verdict", "")),
                      "text": text, "report": report}))
PY
reports() { python3 "$T/mbox.py" "$T/mbox" >"$T/reports.jsonl"; jq -s length "$T/reports.jsonl"; }
EXPECTED=$((2 + BURST_EICAR))
enough_reports() { [ "$(reports)" -ge "$EXPECTED" ]; }
wait_for 120 "$EXPECTED reports in the administrator's mailbox" enough_reports

# No report loop: every row judged (the report copies included), nothing due, and the
# mailbox still holds exactly the expected reports.
settled() {
  queue_json "$T/data" >"$T/queue.jsonl"
  [ "$(jq -s length "$T/queue.jsonl")" -ge $((3 + BURST + EXPECTED)) ] &&
    jq -s -e 'all(.[]; .report == "none" or .report == "sent")' "$T/queue.jsonl" >/dev/null
}
wait_for 120 "every copy (the reports' own included) judged and nothing due" settled
sleep 1
queue_json "$T/data" >"$T/queue.jsonl"
ROWS=$(jq -s length "$T/queue.jsonl")
[ "$ROWS" -eq $((3 + BURST + EXPECTED)) ] || fail "$ROWS rows in bccsink's queue, not $((3 + BURST + EXPECTED))"
R=$(reports)
[ "$R" -eq "$EXPECTED" ] || fail "$R reports in the mailbox, not $EXPECTED: $(jq -r .subject "$T/reports.jsonl")"
N=$(jq -s '[.[] | select(.sender == "bccsink@example.com")] | length' "$T/queue.jsonl")
[ "$N" -eq "$EXPECTED" ] || fail "$N copies of report mails reached bccsink, not $EXPECTED"
jq -s -e '[.[] | select(.sender == "bccsink@example.com")] |
  all(.[]; .verdict == "clean" and .report == "none" and .spoofed == false)' "$T/queue.jsonl" >/dev/null ||
  fail "a report's own copy was reported: $(jq -c 'select(.sender == "bccsink@example.com") | [.verdict, .report, .spoofed]' "$T/queue.jsonl" | sort | uniq -c)"
N=$(jq -s '[.[] | select(.report == "sent")] | length' "$T/queue.jsonl")
[ "$N" -eq "$EXPECTED" ] || fail "$N rows reported, not $EXPECTED"
jq -s -e 'all(.[]; .mail_from | contains("<bccsink@example.com>"))' "$T/reports.jsonl" >/dev/null ||
  fail "a report not from bccsink@example.com: $(jq -r .mail_from "$T/reports.jsonl" | sort -u)"
ok "exactly $EXPECTED reports; Postfix's copies of them reached bccsink, clean and not reported (no loop)"

# Postfix's side: one status=sent to bccsink's port per copy.
N=$(grep -c "to=<watch@bcc.test>, relay=127.0.0.1\[127.0.0.1\]:$SINKPORT, .*status=sent" "$P/maillog" || true)
[ "$N" -eq "$ROWS" ] || fail "$N 'status=sent' copies to 127.0.0.1:$SINKPORT in the maillog, $ROWS in bccsink's queue"
grep -q "postfix/bccsink/smtp" "$P/maillog" || fail "the copies did not go through the bccsink service (syslog_name postfix/bccsink)"
if grep -E "status=(deferred|bounced)" "$P/maillog" | grep -q .; then
  fail "Postfix deferred or bounced mail: $(grep -E "status=(deferred|bounced)" "$P/maillog" | head -3)"
fi
if grep -E "postfix/bccsink/[a-z]+\[[0-9]+\]: (warning|error|fatal|panic):" "$P/maillog" | grep -q .; then
  fail "the bccsink service warned: $(grep -E "postfix/bccsink/[a-z]+\[[0-9]+\]: (warning|error|fatal|panic):" "$P/maillog" | sort -u | head -3)"
fi
# The real mail itself went on unchanged to the relayhost (the smtp-sink dumps).
rcpt_dumps() { grep -l "^X-Rcpt-Args: <$1>" "$T"/mbox/* | wc -l; }
if [ "$(rcpt_dumps rcpt@example.net)" -ne "$BURST" ] || [ "$(rcpt_dumps bob@example.net)" -ne 2 ] ||
  [ "$(rcpt_dumps staff@example.com)" -ne 1 ]; then
  fail "the relayhost got $(rcpt_dumps rcpt@example.net) burst, $(rcpt_dumps bob@example.net) bob@ and $(rcpt_dumps staff@example.com) staff@ messages"
fi
ok "Postfix's maillog: $N copies 'relay=127.0.0.1[127.0.0.1]:$SINKPORT, status=sent' by postfix/bccsink"

# a) clam.exe in a zip
report_for() { jq -c --arg m "$1" 'select(.report.message.message_id == $m)' "$T/reports.jsonl"; }
others() { jq -r '"  " + .report.message.message_id + " " + .subject' "$T/reports.jsonl" | grep -v t10-burst || true; }
A=$(report_for "<t10-clam@t-10.test>")
[ "$(echo "$A" | grep -c .)" -eq 1 ] || fail "not one report for the clam.exe message; reports but the burst's:"$'\n'"$(others)"
echo "$A" | jq -e '.subject | startswith("[bccsink] dangerous")' >/dev/null ||
  fail "clam.exe report subject: $(echo "$A" | jq -r .subject)"
echo "$A" | jq -e --arg s "$CLAM_SHA" '(.text | contains($s)) and (.text | test("Verdict: +dangerous"))' >/dev/null ||
  fail "clam.exe report text: $(echo "$A" | jq -r .text)"
echo "$A" | jq -e --arg s "$CLAM_SHA" '.report.verdict == "dangerous" and
  any(.report.files[]; .sha256 == $s and .verdict == "dangerous" and (.path | endswith("clam.exe")))' >/dev/null ||
  fail "clam.exe report.json: $(echo "$A" | jq -c .report.files)"
echo "$A" | jq -e '.verdict_header == "dangerous" and (.from | contains("bccsink@example.com"))' >/dev/null ||
  fail "clam.exe report headers: $(echo "$A" | jq -c '[.from, .verdict_header]')"
ok "a) clam.exe in a zip: '$(echo "$A" | jq -r .subject)', text and report.json name $CLAM_SHA dangerous"

# c) spoofed internal
C=$(report_for "<t10-spoof@t-10.test>")
[ "$(echo "$C" | grep -c .)" -eq 1 ] || fail "not one report for the spoofed message; reports but the burst's:"$'\n'"$(others)"
echo "$C" | jq -e '(.subject | contains("spoofed")) and (.text | contains("203.0.113.9")) and
  .report.spoofed == true' >/dev/null ||
  fail "spoof report: $(echo "$C" | jq -c '[.subject, .report.spoofed, .report.spoof_reason]')"
ok "c) spoofed internal message: '$(echo "$C" | jq -r .subject)', text names 203.0.113.9"

# b) clean: checked, not reported
[ -z "$(report_for "<t10-clean@t-10.test>")" ] || fail "the clean message was reported"
jq -s -e 'any(.[]; .message_id == "<t10-clean@t-10.test>" and .verdict == "clean" and .report == "none")' \
  "$T/queue.jsonl" >/dev/null || fail "the clean message: $(jq -c 'select(.message_id == "<t10-clean@t-10.test>")' "$T/queue.jsonl")"
ok "b) the clean message with a text attachment: checked clean, no report"

# d) the burst: reports for exactly the EICAR messages
jq -r 'select(.report.message.envelope_sender == "burst@example.org") | .report.message.message_id' \
  "$T/reports.jsonl" | sort >"$T/burst-reported.txt"
sort "$T/burst-eicar.txt" >"$T/burst-eicar.sorted"
diff "$T/burst-eicar.sorted" "$T/burst-reported.txt" >"$T/burst.diff" ||
  fail "burst reports differ from the EICAR messages (< expected, > reported): $(head -10 "$T/burst.diff")"
jq -s -e 'map(select(.report.message.envelope_sender == "burst@example.org")) | all(.[];
  (.subject | startswith("[bccsink] dangerous") and endswith(" eicar")) and
  any(.report.files[]; .verdict == "dangerous" and (.threats | index("EICAR_Test_File"))))' \
  "$T/reports.jsonl" >/dev/null || fail "a burst report without EICAR_Test_File"
ok "d) burst: reports for exactly the $BURST_EICAR EICAR messages of $BURST, none for the others"

# e) original recipients with the shipped recipient_bcc.pcre
postconf -c "$P/etc" -m | grep -qx pcre ||
  fail "this Postfix has no pcre tables (postconf -m): install postfix-pcre (deploy/install-deps.sh)"
adapt recipient_bcc.pcre >"$P/etc/recipient_bcc.pcre"
for a in bob@example.org carol+news@example.net; do
  echo "  $a -> $(postmap -c "$P/etc" -q "$a" "pcre:$P/etc/recipient_bcc.pcre")"
done
[ "$(postmap -c "$P/etc" -q carol+news@example.net "pcre:$P/etc/recipient_bcc.pcre")" = \
  "watch+carol+news=example.net@bcc.test" ] || fail "the adapted recipient_bcc.pcre misses an address with an extension"
BCC_LINE=$(adapt main.cf.bccsink | sed -n 's/^#\(recipient_bcc_maps = pcre:.*\)$/\1/p')
[ -n "$BCC_LINE" ] || fail "main.cf.bccsink has no commented 'recipient_bcc_maps = pcre:' line"
postconf -c "$P/etc" -e "always_bcc =" "$BCC_LINE"
postfix -c "$P/etc" reload >"$T/postfix-reload.out" 2>&1 || fail "postfix reload: $(cat "$T/postfix-reload.out")"
t0=$SECONDS
swaks --server "127.0.0.1:$SMTPPORT" --from alice@example.org \
  --to bob@example.org,carol+news@example.net --header "Subject: t-10 two recipients" \
  --header "Message-Id: <t10-originals@t-10.test>" --body "For two." >"$T/swaks.out" 2>&1 ||
  fail "swaks to two recipients: $(tail -5 "$T/swaks.out")"
originals_copy() { queue_json "$T/data" | jq -e 'select(.message_id == "<t10-originals@t-10.test>")' >/dev/null; }
wait_for 30 "the copy of the message to two recipients" originals_copy
sleep 1  # a second copy, if Postfix split the message, would be there by now
queue_json "$T/data" | jq -c 'select(.message_id == "<t10-originals@t-10.test>")' >"$T/originals.jsonl"
[ "$(grep -c . "$T/originals.jsonl")" -eq 1 ] ||
  fail "not one copy of the message to two recipients: $(jq -c '[.id, .recipients]' "$T/originals.jsonl")"
ID=$(jq -r .id "$T/originals.jsonl")
"$BCCSINK" queue show "$ID" --json --DataDir "$T/data" >"$T/originals.json" || fail "queue show $ID"
jq -e '(.original_recipients | sort) == ["bob@example.org", "carol+news@example.net"] and
  (.recipients | sort) == ["watch+bob=example.org@bcc.test", "watch+carol+news=example.net@bcc.test"]' \
  "$T/originals.json" >/dev/null ||
  fail "the copy's recipients: $(jq -c '[.recipients, .original_recipients]' "$T/originals.json")"
ok "e) recipient_bcc.pcre: one copy in $((SECONDS - t0))s, original_recipients $(jq -c .original_recipients "$T/originals.json")"

echo "t-10-postfix: $PASSED checks passed in $((SECONDS - START))s"
