#!/usr/bin/env bash
# t-09-reports: the reporter stage, from a checked message to the administrator's mailbox.
#
#   swaks --SMTP--> bccsink --> checked (YARA: EICAR dangerous)
#                                 |  spoof check on the Received chain (InternalDomains,
#                                 |  TrustedRelaysFile), BccReportThreshold
#                                 v
#   1. no BccSmtpServer:  report mails in the Maildir DataDir/reports/new; clean and
#      trusted-relay messages get none; headers shaped by the message (CR/LF in a
#      subject) never become headers; report show / show --json
#   2. BccSmtpServer = Postfix's smtp-sink -d (the real server): down -> the report is
#      deferred and `queue list` says why; up -> `report resend` delivers at once and the
#      daemon delivers the next ones itself
#   3. BccReportDigestInterval: one digest mail for several messages
#   4. a broken template folder or trusted-relays file stops start-up, naming it
source "$TESTLIB"
need jq python3 swaks smtp-sink
ROOT=$(cd "$(dirname "$0")/../../.." && pwd)

EICAR='X5O!P%@AP[4\PZX54(P^)7CC)7}$EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*'
printf '%s' "$EICAR" >"$T/eicar.com"
EICAR_SHA=$(sha256sum "$T/eicar.com" | cut -d' ' -f1)
printf 'quarterly figures\n' >"$T/notes.txt"

# send FROM SUBJECT [swaks options...]: one message into the daemon.
send() {
  local from=$1 subject=$2
  shift 2
  swaks --server "127.0.0.1:$SINK_PORT" --from "$from" --to watch@bcc.test \
    --header "Subject: $subject" "$@" >"$T/swaks.out" 2>&1 || fail "swaks '$subject': $(tail -3 "$T/swaks.out")"
}

queue() { "$BCCSINK" queue list --json --DataDir "$DATA" "$@"; }

# wait_judged N: until N messages are past analysis and judged by the reporter.
wait_judged() {
  for _ in $(seq 1 150); do
    [ "$(queue | jq -s --argjson n "$1" 'length == $n and all(.[]; .report != null)')" = true ] && return 0
    sleep 0.2
  done
  fail "not all $1 messages judged by the reporter: $(queue | jq -s -c '[.[] | {id, state, report}]')"
}

# mails DIR: every mail file in DIR as one JSON object a line: the decoded Subject, the
# headers that matter, the text part, and the JSON attachment.
mails() {
  python3 - "$1" <<'PY'
import json, os, sys
from email import policy
from email.parser import BytesParser
d = sys.argv[1]
for name in sorted(os.listdir(d)) if os.path.isdir(d) else []:
    raw = open(os.path.join(d, name), "rb").read()
    m = BytesParser(policy=policy.default).parsebytes(raw)
    text = html = None
    attached = None
    for part in m.walk():
        if part.get_content_type() == "text/plain" and text is None:
            text = part.get_content()
        elif part.get_content_type() == "text/html":
            html = part.get_content()
        elif part.get_content_type() == "application/json":
            attached = json.loads(part.get_content())
    head = raw.split(b"\r\n\r\n", 1)[0].decode("ascii", "replace")
    print(json.dumps({"file": name, "subject": str(m["Subject"]), "to": str(m["To"]),
                      "queue_id": m["X-Bccsink-Queue-Id"], "bcc": m["Bcc"],
                      "header_names": [l.split(":", 1)[0] for l in head.split("\r\n") if l and l[0] not in " \t"],
                      "text": text, "html": html, "json": attached}))
PY
}

# --- 1. the Maildir outbox ------------------------------------------------------------
DATA=$T/data1
MAILDIR=$DATA/reports/new
printf '# relays of a hosted filter\n198.51.100.0/24  # the whole block\n\n2001:db8:25::/48\n' >"$T/trusted"
start_sink "$DATA" --InternalDomains example.com --TrustedRelaysFile "$T/trusted" \
  --BccReportRecipientAddress "admin@example.net, soc@example.net"
HOP='from evil.example.net (evil.example.net [203.0.113.9]) by mx.example.com (Postfix) with ESMTP id 4AbC; Mon, 30 Nov 2026 02:00:00 +0000'
TRUSTED_HOP='from relay.filter.example (relay.filter.example [198.51.100.7]) by mx.example.com (Postfix) with ESMTPS id 5XyZ; Mon, 30 Nov 2026 02:00:00 +0000'
# A subject whose encoded-word decodes to CR LF and a header line of its own.
EVIL_SUBJECT="=?utf-8?B?$(printf 'Invoice\r\nBcc: victim@example.com\r\nX-Evil: 1' | base64 -w0)?="
send alice@example.org "EICAR inside" --attach @"$T/eicar.com"
send alice@example.org "quarterly notes" --attach @"$T/notes.txt"
send ceo@example.com "urgent wire transfer" --header "To: staff@example.com" --add-header "Received: $HOP"
send ceo@example.com "via the filter" --header "To: staff@example.com" --add-header "Received: $TRUSTED_HOP"
send mallory@example.org "$EVIL_SUBJECT" --attach @"$T/eicar.com"
wait_judged 5
for _ in $(seq 1 50); do
  [ "$(queue | jq -s '[.[] | select(.report == "due")] | length')" -eq 0 ] && break
  sleep 0.2
done
queue >"$T/rows.json"
# swaks' Message-IDs do not say which message is which: map them by the order sent.
mapfile -t ID < <(jq -r '.id' "$T/rows.json")
[ "${#ID[@]}" -eq 5 ] || fail "expected 5 rows, got ${#ID[@]}"
line() { jq -r --arg id "$1" 'select(.id == $id) | "\(.state) \(.verdict) \(.report) \(.spoofed)"' "$T/rows.json"; }
[ "$(line "${ID[0]}")" = "reported dangerous sent false" ] || fail "EICAR message: $(line "${ID[0]}")"
[ "$(line "${ID[1]}")" = "checked clean none false" ] || fail "clean message: $(line "${ID[1]}")"
[ "$(line "${ID[2]}")" = "reported clean sent true" ] || fail "spoofed message: $(line "${ID[2]}")"
[ "$(line "${ID[3]}")" = "checked clean none false" ] || fail "trusted relay message: $(line "${ID[3]}")"
[ "$(line "${ID[4]}")" = "reported dangerous sent false" ] || fail "hostile subject: $(line "${ID[4]}")"
ok "queue: dangerous and spoofed messages reported, the clean and the trusted-relay one not"

mails "$MAILDIR" >"$T/mails.json"
[ "$(wc -l <"$T/mails.json")" -eq 3 ] || fail "expected 3 report mails, got $(wc -l <"$T/mails.json")"
mail_of() { jq -c --arg id "$1" 'select(.queue_id == $id)' "$T/mails.json"; }
m=$(mail_of "${ID[0]}")
jq -e --arg sha "$EICAR_SHA" '(.subject | startswith("[bccsink] dangerous: EICAR inside")) and
  (.to | contains("admin@example.net")) and (.to | contains("soc@example.net")) and
  (.text | contains($sha)) and (.text | contains("EICAR_Test_File")) and
  (.json.verdict == "dangerous") and any(.json.files[]; .sha256 == $sha and .verdict == "dangerous") and
  (.html | contains($sha))' <<<"$m" >/dev/null || fail "EICAR report: $(jq -c '{subject, to, json: .json.files}' <<<"$m")"
ok "EICAR: a report mail (text, HTML, report.json) naming the file's SHA-256 and dangerous"
m=$(mail_of "${ID[2]}")
jq -e '(.subject | startswith("[bccsink] clean, spoofed: urgent wire transfer")) and
  (.text | contains("203.0.113.9")) and .json.spoofed and (.json.spoof_reason | contains("203.0.113.9")) and
  (.json.message.origin_ip == "203.0.113.9")' <<<"$m" >/dev/null || fail "spoof report: $(jq -c '{subject, json}' <<<"$m")"
ok "spoofed internal sender via an untrusted hop: a report naming the hop's address"
m=$(mail_of "${ID[4]}")
jq -e '.bcc == null and (.header_names | index("X-Evil") | not) and (.header_names | index("Bcc") | not) and
  (.subject | contains("Invoice")) and (.subject | contains("Bcc: victim@example.com")) and
  (.html | contains("<script") | not)' <<<"$m" >/dev/null || fail "hostile subject: $(jq -c '{subject, header_names}' <<<"$m")"
ok "CR LF in a subject stays inside the Subject: no Bcc or X-Evil header in the report"

"$BCCSINK" report show "${ID[0]}" --DataDir "$DATA" >"$T/show.txt" || fail "report show"
grep -q "$EICAR_SHA" "$T/show.txt" && grep -q "Verdict:      dangerous" "$T/show.txt" || fail "report show: $(head -20 "$T/show.txt")"
"$BCCSINK" report show "${ID[2]}" --DataDir "$DATA" --json | jq -e '.spoofed and .message.subject == "urgent wire transfer"' >/dev/null ||
  fail "report show --json of the spoof"
set +e
"$BCCSINK" report show NOSUCHID --DataDir "$DATA" >/dev/null 2>"$T/err"
rc=$?
set -e
[ "$rc" -eq 1 ] && grep -q "no message NOSUCHID" "$T/err" || fail "report show of a missing id: rc $rc"
ok "report show: the text report and the JSON; an unknown id is an error"
stop_sink

# --- 2. SMTP to a real server, down and then up ---------------------------------------
DATA=$T/data2
RPORT=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
start_sink "$DATA" --BccSmtpServer "127.0.0.1:$RPORT" --BccReportRecipientAddress admin@example.net
send alice@example.org "first, server down" --attach @"$T/eicar.com"
FIRST=""
for _ in $(seq 1 100); do
  FIRST=$(queue | jq -r 'select(.report == "due" and .report_attempts == 1) | .id')
  [ -n "$FIRST" ] && break
  sleep 0.2
done
[ -n "$FIRST" ] || fail "the report was not deferred: $(queue | jq -c '{id, state, report, report_error}')"
"$BCCSINK" queue list --DataDir "$DATA" >"$T/list.txt"
grep -q "report: 1 tries: .*127.0.0.1:$RPORT" "$T/list.txt" || fail "queue list does not say why: $(cat "$T/list.txt")"
[ "$(queue | jq -r .state)" = checked ] || fail "a message whose report was not taken must stay checked"
ok "server down: the report is deferred, the message stays checked, queue list says why"

mkdir -p "$T/mailbox"
smtp-sink -u root -d "$T/mailbox/%M." "127.0.0.1:$RPORT" 10 >"$T/smtp-sink.log" 2>&1 &
PIDS+=($!)
for _ in $(seq 1 50); do
  (exec 3<>"/dev/tcp/127.0.0.1/$RPORT") 2>/dev/null && break
  sleep 0.1
done
"$BCCSINK" report resend "$FIRST" --DataDir "$DATA" --BccSmtpServer "127.0.0.1:$RPORT" \
  --BccReportRecipientAddress admin@example.net >"$T/resend.out" 2>&1 || fail "report resend: $(cat "$T/resend.out")"
grep -q "delivered via smtp 127.0.0.1:$RPORT: 250" "$T/resend.out" || fail "resend said: $(cat "$T/resend.out")"
[ "$(queue | jq -r 'select(.id == "'"$FIRST"'") | "\(.state) \(.report)"')" = "reported sent" ] || fail "after resend: $(queue | jq -c .)"
send alice@example.org "second, server up" --attach @"$T/eicar.com"
for _ in $(seq 1 100); do
  [ "$(queue | jq -s '[.[] | select(.state == "reported")] | length')" -eq 2 ] && break
  sleep 0.2
done
[ "$(queue | jq -s '[.[] | select(.state == "reported")] | length')" -eq 2 ] || fail "the daemon did not deliver the second report"
mails "$T/mailbox" >"$T/mails.json"
[ "$(wc -l <"$T/mails.json")" -eq 2 ] || fail "smtp-sink holds $(wc -l <"$T/mails.json") mails, not 2"
jq -s -e --arg sha "$EICAR_SHA" 'all(.[]; (.text | contains($sha)) and (.subject | startswith("[bccsink] dangerous")))' \
  "$T/mails.json" >/dev/null || fail "mails at smtp-sink: $(jq -c .subject "$T/mails.json")"
ok "server up: report resend delivers at once (250), the daemon delivers the next report itself"
stop_sink

# --- 3. digest ------------------------------------------------------------------------
DATA=$T/data3
start_sink "$DATA" --BccReportDigestInterval 3s
for i in 1 2 3; do send alice@example.org "digest $i" --attach @"$T/eicar.com"; done
for _ in $(seq 1 100); do
  [ "$(queue | jq -s '[.[] | select(.state == "reported")] | length')" -eq 3 ] && break
  sleep 0.2
done
mails "$DATA/reports/new" >"$T/mails.json"
n=$(wc -l <"$T/mails.json")
[ "$n" -ge 1 ] && [ "$n" -le 2 ] || fail "$n digest mails for 3 messages"
jq -s -e '(map(.json | length) | add) == 3 and all(.[]; .subject | startswith("[bccsink] digest: "))' "$T/mails.json" >/dev/null ||
  fail "digest mails: $(jq -c '{subject, n: (.json | length)}' "$T/mails.json")"
jq -s -e 'all(.[]; .text | contains("digest"))' "$T/mails.json" >/dev/null || fail "digest text"
ok "BccReportDigestInterval 3s: $n digest mail(s) listing the 3 messages"
stop_sink

# --- 4. configuration errors ------------------------------------------------------------
mkdir -p "$T/templates"
printf '{{#files}} never closed\n' >"$T/templates/report.html.mustache"
set +e
"$BCCSINK" serve --BccSocket 127.0.0.1:0 --DataDir "$T/data4" --BccReportTemplates "$T/templates" >"$T/out" 2>&1
rc1=$?
printf '192.0.2.0/24\nnot-an-address\n' >"$T/bad-trusted"
"$BCCSINK" serve --BccSocket 127.0.0.1:0 --DataDir "$T/data4" --TrustedRelaysFile "$T/bad-trusted" >>"$T/out" 2>&1
rc2=$?
set -e
[ "$rc1" -ne 0 ] && grep -q "BccReportTemplates: .*report.html.mustache" "$T/out" || fail "broken template: rc $rc1: $(cat "$T/out")"
[ "$rc2" -ne 0 ] && grep -q "TrustedRelaysFile: .*bad-trusted:2" "$T/out" || fail "bad trusted relay: rc $rc2: $(cat "$T/out")"
ok "a broken template or a bad TrustedRelaysFile line stops start-up, naming the file (and line)"

echo "t-09-reports: $PASSED checks passed"
