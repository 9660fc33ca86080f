#!/usr/bin/env bash
# t-18-report-storm: a campaign of one EICAR mail to 50 users is one report, not 50
# (BccReportGroupWindow, issue 18 #12).
#
#   swaks x50 --SMTP--> bccsink --> checked (YARA: EICAR dangerous), judged due, held for
#   (one copy per user:            its group's window (the file's SHA-256)
#    watch+userN=example.com@bcc.test)          |
#                                               v  10 s after the first copy was judged
#                                 one report in DataDir/reports/new listing all 50
#                                 messages and their original recipients
#   then 3 more copies           --> one follow-up naming the first report (X-Bccsink-Follows)
#   a copy of another file       --> a report of its own
#   2. --BccReportGroupWindow 0   --> 50 copies make 50 reports (today's behaviour)
source "$TESTLIB"
need jq python3 swaks

EICAR='X5O!P%@AP[4\PZX54(P^)7CC)7}$EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*'
printf '%s' "$EICAR" >"$T/eicar.com"
EICAR_SHA=$(sha256sum "$T/eicar.com" | cut -d' ' -f1)
# Another file YARA finds dangerous, of another digest: EICAR with a line end after it.
printf '%s\r\n' "$EICAR" >"$T/other.com"
N=50

# send FIRST COUNT FILE: COUNT copies of one campaign mail, each to user FIRST.. (its
# original recipient encoded in the copy's recipient, as recipient_bcc_maps does), ten
# swaks at a time: the campaign arrives within a few seconds, as one from a mail server does.
send() {
  local i pids=() n=0
  for ((i = $1; i < $1 + $2; i++)); do
    swaks --server "127.0.0.1:$SINK_PORT" --from billing@example.org \
      --to "watch+user$i=example.com@bcc.test" --header "To: user$i@example.com" \
      --header "Subject: Your invoice" --attach @"$3" >"$T/swaks.$i.out" 2>&1 &
    pids+=("$!:$i")
    if [ "${#pids[@]}" -eq 10 ] || [ "$i" -eq $(($1 + $2 - 1)) ]; then
      for p in "${pids[@]}"; do
        wait "${p%%:*}" || fail "swaks ${p#*:}: $(tail -3 "$T/swaks.${p#*:}.out")"
      done
      pids=()
    fi
  done
}

queue() { "$BCCSINK" queue list --json --DataDir "$DATA" "$@"; }
reported() { [ "$(queue | jq -s '[.[] | select(.report == "sent")] | length')" -eq "$1" ]; }

# mails DIR: each mail in DIR as one JSON line: Subject, the group headers, the text part.
mails() {
  python3 - "$1" <<'PY'
import json, os, sys
from email import policy
from email.parser import BytesParser
d = sys.argv[1]
for name in sorted(os.listdir(d)) if os.path.isdir(d) else []:
    m = BytesParser(policy=policy.default).parsebytes(open(os.path.join(d, name), "rb").read())
    text = next((p.get_content() for p in m.walk() if p.get_content_type() == "text/plain"), "")
    print(json.dumps({"subject": str(m["Subject"]), "group": m["X-Bccsink-Group"],
                      "count": m["X-Bccsink-Group-Count"], "follows": m["X-Bccsink-Follows"],
                      "queue_id": m["X-Bccsink-Queue-Id"], "text": text}))
PY
}

# --- 1. a 10 s window --------------------------------------------------------------------
DATA=$T/data1
REPORT_GROUP_WINDOW=10s start_sink "$DATA"
send 0 "$N" "$T/eicar.com"
wait_until 120 "the $N copies reported" reported "$N"
mails "$DATA/reports/new" >"$T/mails.json"
[ "$(wc -l <"$T/mails.json")" -eq 1 ] ||
  fail "$N copies made $(wc -l <"$T/mails.json") report mails, not 1: $(jq -c '{subject, count}' "$T/mails.json")"
jq -e --argjson n "$N" --arg sha "$EICAR_SHA" '
  .subject == "[bccsink] dangerous: \($n) messages with eicar.com" and .count == "\($n)" and
  (.text | contains("eicar.com (\($sha))")) and
  ([range(0; $n) as $i | .text | contains("Original recipients: user\($i)@example.com\n")] | all)' \
  "$T/mails.json" >/dev/null || fail "the group report: $(jq -c '{subject, count}' "$T/mails.json")"
FIRST=$(jq -r .group "$T/mails.json")
ok "$N copies of one EICAR mail: one report listing the $N messages and their recipients"

send "$N" 3 "$T/eicar.com"
send 100 1 "$T/other.com"  # attached as other.com
wait_until 60 "the follow-up and the other file's report" reported $((N + 4))
mails "$DATA/reports/new" >"$T/mails.json"
[ "$(wc -l <"$T/mails.json")" -eq 3 ] || fail "expected 3 report mails, got $(jq -c '{subject, count}' "$T/mails.json")"
jq -s -e --arg first "$FIRST" --argjson n "$N" '
  [.[] | select(.follows == $first)] | length == 1 and
  (.[0].subject == "[bccsink] dangerous: 3 more messages with eicar.com, follows \($first)") and
  (.[0].text | contains("This follows report \($first)")) and
  (.[0].text | contains("user\($n)@example.com")) and (.[0].text | contains("user0@example.com") | not)' \
  "$T/mails.json" >/dev/null || fail "the follow-up: $(jq -c '{subject, follows}' "$T/mails.json")"
jq -s -e '[.[] | select(.queue_id != null and (.subject | endswith(": Your invoice")))] | length == 1' \
  "$T/mails.json" >/dev/null || fail "the other file's report: $(jq -c '{subject, queue_id}' "$T/mails.json")"
ok "3 more copies: one follow-up naming the first report; another file: a report of its own"
stop_sink

# --- 2. window 0: a report per message ----------------------------------------------------
DATA=$T/data2
REPORT_GROUP_WINDOW=0 start_sink "$DATA"
send 0 "$N" "$T/eicar.com"
wait_until 120 "the $N copies reported" reported "$N"
mails "$DATA/reports/new" >"$T/mails.json"
[ "$(wc -l <"$T/mails.json")" -eq "$N" ] || fail "window 0: $(wc -l <"$T/mails.json") report mails, not $N"
jq -s -e 'all(.[]; .group == null and (.subject == "[bccsink] dangerous: Your invoice"))' "$T/mails.json" >/dev/null ||
  fail "window 0: $(jq -c .subject "$T/mails.json" | sort | uniq -c)"
ok "--BccReportGroupWindow 0: $N copies, $N report mails"

echo "t-18-report-storm: $PASSED checks passed"
