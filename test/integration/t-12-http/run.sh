#!/usr/bin/env bash
# t-12-http: the daemon's HTTP port, seen by Prometheus, the dashboard and curl.
#
#   swaks --SMTP--> bccsink serve --HttpTokenFile F --> checked (YARA: EICAR dangerous) -->
#     |                 |                             reports in the Maildir
#     |                 +-- HTTP (HttpSocket 127.0.0.1:0, "http listening on" in the log)
#   a relay attempt          /metrics            counters of every stage (no token)
#   (RCPT to another         /api/... Bearer T   overview, messages, one message, files,
#    domain): 550            POST .../resend     the report is due and mailed again
#                            /, /app.js          the dashboard, with no-cache, nosniff, CSP
#
# 1. Three copies (two with EICAR), a refused relay RCPT: /metrics counts 3 received and 1
#    refusal for "relay"; the queue depths; the API answers 401 without the token, lists
#    exactly the EICAR messages as dangerous, a message's report names the file's SHA-256,
#    the file lists both messages; resend makes a second report mail; bad input is a 400.
# 2. No HttpToken: /metrics and the dashboard work, every /api/ answers 404 saying so.
# 3. HttpSocket '': no HTTP port at all.
# shellcheck source-path=SCRIPTDIR source=../lib.sh
. "${TESTLIB:-$(dirname "$0")/../lib.sh}"
need swaks jq curl

EICAR='X5O!P%@AP[4\PZX54(P^)7CC)7}$EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*'
printf '%s' "$EICAR" >"$T/eicar.com"
EICAR_SHA=$(sha256sum "$T/eicar.com" | cut -d' ' -f1)
printf 'quarterly figures\n' >"$T/notes.txt"
TOKEN='t0ken-for-t12-at-least-32-characters'

# The HTTP port of the daemon started last (its "http listening on" line).
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

send() {
  local subject=$1
  shift
  swaks --server "127.0.0.1:$SINK_PORT" --from alice@example.org --to watch@bcc.test \
    --header "Subject: $subject" "$@" >"$T/swaks.out" 2>&1 || fail "swaks '$subject': $(tail -3 "$T/swaks.out")"
}

# api PATH [curl options]: the body of an authorised API call (fails on a non-2xx).
api() {
  local path=$1
  shift
  curl -sS --fail-with-body -H "Authorization: Bearer $TOKEN" "$@" "http://127.0.0.1:$HTTP/api/$path" ||
    fail "api $path"
}

# status METHOD PATH [curl options]: the HTTP status code only.
status() {
  local method=$1 path=$2
  shift 2
  curl -sS -o "$T/body" -w '%{http_code}' -X "$method" "$@" "http://127.0.0.1:$HTTP$path"
}

metric() {
  curl -sS "http://127.0.0.1:$HTTP/metrics" | awk -v m="$1" '$1 == m { print $2 }'
}

# --- 1. with a token ----------------------------------------------------------------
DATA=$T/data1
# The token from its own file (HttpTokenFile), as production keeps it out of `ps`.
(umask 077 && echo "$TOKEN" >"$T/http-token")
start_sink "$DATA" --HttpTokenFile "$T/http-token"
HTTP=$(http_port)
[ "$HTTP" != "$SINK_PORT" ] || fail "the HTTP port is the SMTP port"
send "first EICAR" --attach @"$T/eicar.com"
send "notes" --attach @"$T/notes.txt"
send "second EICAR" --attach @"$T/eicar.com"
smtp_dialogue "$SINK_PORT" >"$T/relay.out" <<'SMTP'
EHLO relay.test
MAIL FROM:<spammer@example.org>
RCPT TO:<victim@elsewhere.example>
QUIT
SMTP
grep -q "^550 5.1.1" "$T/relay.out" || fail "relay attempt not refused: $(cat "$T/relay.out")"
for _ in $(seq 1 150); do
  [ "$(queue_json "$DATA" | jq -s 'length == 3 and all(.[]; .report == "sent" or .report == "none")')" = true ] && break
  sleep 0.2
done
queue_json "$DATA" >"$T/rows.json"
mapfile -t ID < <(jq -r .id "$T/rows.json")
[ "${#ID[@]}" -eq 3 ] || fail "expected 3 rows, got ${#ID[@]}"
[ "$(jq -r 'select(.verdict == "dangerous") | .id' "$T/rows.json" | wc -l)" -eq 2 ] ||
  fail "expected 2 dangerous messages: $(jq -c '{id, state, verdict, report}' "$T/rows.json")"

curl -sS -D "$T/metrics.head" "http://127.0.0.1:$HTTP/metrics" >"$T/metrics.txt" || fail "GET /metrics"
grep -qi '^Content-Type: text/plain; version=0.0.4' "$T/metrics.head" || fail "metrics type: $(cat "$T/metrics.head")"
bad=$(grep -vE '^(# (HELP|TYPE) [a-z_]+ .+|[a-z_]+(\{[^}]*\})? [-0-9.e+Inf]+)$' "$T/metrics.txt" || true)
[ -z "$bad" ] || fail "lines that are not Prometheus text: $bad"
[ "$(metric bccsink_messages_received_total)" = 3 ] || fail "received: $(grep received "$T/metrics.txt")"
[ "$(metric 'bccsink_messages_refused_total{reason="relay"}')" = 1 ] || fail "relay refusals: $(grep refused "$T/metrics.txt")"
[ "$(metric 'bccsink_messages_refused_total{reason="size"}')" = 0 ] || fail "size refusals"
[ "$(metric 'bccsink_queue_messages{state="reported"}')" = 2 ] || fail "reported: $(grep queue_messages "$T/metrics.txt")"
[ "$(metric 'bccsink_queue_messages{state="checked"}')" = 1 ] || fail "checked: $(grep queue_messages "$T/metrics.txt")"
[ "$(metric bccsink_reports_sent_total)" = 2 ] || fail "reports sent: $(grep reports_ "$T/metrics.txt")"
[ "$(metric 'bccsink_analyzer_submissions_total{analyzer="yara"}')" = 1 ] || fail "yara submissions (the second EICAR is a cache hit)"
[ "$(metric 'bccsink_analyzer_latency_seconds_count{analyzer="yara"}')" = 1 ] || fail "yara latency count"
[ "$(metric 'bccsink_analyzer_latency_seconds_bucket{analyzer="yara",le="+Inf"}')" = \
  "$(metric 'bccsink_analyzer_latency_seconds_count{analyzer="yara"}')" ] || fail "+Inf bucket is not the count"
[ "$(metric bccsink_cache_hits_total)" -ge 1 ] || fail "the second EICAR should be a cache hit"
[ "$(metric bccsink_spool_free_bytes)" -gt 0 ] || fail "spool free bytes"
ok "/metrics: 3 received, 1 relay refusal, queue depths, yara's submissions and latency, a cache hit"

[ "$(status GET /api/overview)" = 401 ] || fail "no token: $(cat "$T/body")"
grep -qi '^WWW-Authenticate: Bearer' <(curl -sS -D - -o /dev/null "http://127.0.0.1:$HTTP/api/messages") ||
  fail "401 without WWW-Authenticate"
[ "$(status GET /api/overview -H 'Authorization: Bearer wrong')" = 401 ] || fail "wrong token"
ok "the API without the token, or with a wrong one: 401 with WWW-Authenticate"

api overview | jq -e '.queue.reported == 2 and .queue.checked == 1 and .reports.sent == 2 and
  (.analyzers | map(.name) == ["yara"]) and .analyzers[0].healthy and .spool_free_bytes > 0' >/dev/null ||
  fail "overview: $(api overview)"
api 'messages?verdict=dangerous' >"$T/dangerous.json"
diff <(jq -r '.messages[].id' "$T/dangerous.json" | sort) <(jq -r 'select(.verdict == "dangerous") | .id' "$T/rows.json" | sort) >/dev/null ||
  fail "dangerous list: $(jq -c . "$T/dangerous.json")"
jq -e '.count == 2 and ([.messages[].subject] == ["second EICAR", "first EICAR"]) and
  all(.messages[]; .files == 1 and .report == "sent")' "$T/dangerous.json" >/dev/null ||
  fail "dangerous list (newest first, subjects, files): $(jq -c . "$T/dangerous.json")"
[ "$(api 'messages?verdict=clean&sender=ALICE' | jq -r '.messages[].subject')" = notes ] || fail "clean filter"
[ "$(api "messages?since=2000-01-01T00:00:00Z&limit=1" | jq '.count')" = 1 ] || fail "limit"
ok "/api/messages?verdict=dangerous lists exactly the EICAR messages, newest first"

FIRST=$(jq -r '.messages[1].id' "$T/dangerous.json")
api "messages/$FIRST" | jq -e --arg sha "$EICAR_SHA" '.verdict == "dangerous" and .report_status == "sent" and
  any(.files[]; .sha256 == $sha and .verdict == "dangerous")' >/dev/null || fail "message $FIRST: $(api "messages/$FIRST")"
api "files/$EICAR_SHA" | jq -e --arg sha "$EICAR_SHA" '.file.sha256 == $sha and .file.seen_count == 2 and
  (.file.verdicts | any(.analyzer == "yara" and .verdict == "dangerous")) and
  ([.messages[].name] == ["eicar.com", "eicar.com"])' >/dev/null || fail "file: $(api "files/$EICAR_SHA")"
diff <(api "files/$EICAR_SHA" | jq -r '.messages[].id' | sort) <(jq -r '.messages[].id' "$T/dangerous.json" | sort) >/dev/null ||
  fail "the file's messages are not the dangerous ones"
ok "a message's report names the file's SHA-256; the file lists both messages it came in"

mails() { find "$DATA/reports/new" -type f | wc -l; }
before=$(mails)
[ "$(status POST "/api/messages/$FIRST/resend" -H "Authorization: Bearer $TOKEN")" = 202 ] || fail "resend: $(cat "$T/body")"
jq -e --arg id "$FIRST" '.id == $id and .report == "due"' "$T/body" >/dev/null || fail "resend said: $(cat "$T/body")"
for _ in $(seq 1 50); do
  [ "$(mails)" -gt "$before" ] && break
  sleep 0.2
done
[ "$(mails)" -eq $((before + 1)) ] || fail "no second report mail after resend ($before before, $(mails) now)"
find "$DATA/reports/new" -type f -newer "$T/dangerous.json" -exec grep -l "$FIRST" {} + | grep -q . ||
  fail "the new mail is not $FIRST's report"
[ "$(metric bccsink_reports_sent_total)" = 3 ] || fail "reports sent after resend"
[ "$(status POST /api/messages/01NOSUCHMESSAGE/resend -H "Authorization: Bearer $TOKEN")" = 404 ] || fail "resend unknown"
ok "POST /api/messages/ID/resend: 202, the reporter mails the report again"

[ "$(status GET '/api/messages?since=yesterday' -H "Authorization: Bearer $TOKEN")" = 400 ] || fail "bad since"
jq -e '.error | contains("ISO 8601")' "$T/body" >/dev/null || fail "bad since said: $(cat "$T/body")"
[ "$(status GET '/api/messages?limit=5000' -H "Authorization: Bearer $TOKEN")" = 400 ] || fail "bad limit"
[ "$(status DELETE /api/overview -H "Authorization: Bearer $TOKEN")" = 405 ] || fail "DELETE"
[ "$(status GET /api/messages/NOSUCH -H "Authorization: Bearer $TOKEN")" = 404 ] || fail "unknown id"
[ "$(status GET /api/stats -H "Authorization: Bearer $TOKEN")" = 200 ] || fail "stats: $(cat "$T/body")"
jq -e 'has("intervals") and has("totals")' "$T/body" >/dev/null || fail "stats body: $(head -c 300 "$T/body")"
ok "bad parameters 400, unknown id 404, DELETE 405; /api/stats answers"

curl -sS -D "$T/index.head" -o "$T/index.html" "http://127.0.0.1:$HTTP/" || fail "GET /"
for h in '^HTTP/1.1 200' '^Content-Type: text/html' '^Cache-Control: no-cache' \
  '^X-Content-Type-Options: nosniff' "^Content-Security-Policy: default-src 'self'"; do
  grep -qi "$h" "$T/index.head" || fail "GET / lacks $h: $(cat "$T/index.head")"
done
grep -qi '<html' "$T/index.html" || fail "the dashboard is not HTML"
[ "$(status GET /app.js)" = 200 ] && [ "$(status GET /style.css)" = 200 ] || fail "app.js or style.css"
ok "the dashboard: /, /app.js, /style.css with no-cache, nosniff and the CSP"
stop_sink

# --- 2. no token: the API is off ------------------------------------------------------
start_sink "$T/data2"
HTTP=$(http_port)
grep -q "http listening on 127.0.0.1:$HTTP (JSON API off" "$T/sink.log" || fail "the log does not say the API is off"
[ "$(status GET /api/overview -H 'Authorization: Bearer anything')" = 404 ] || fail "API without HttpToken"
jq -e '.error == "the JSON API is off: set HttpToken"' "$T/body" >/dev/null || fail "API off said: $(cat "$T/body")"
[ "$(status GET /metrics)" = 200 ] && [ "$(status GET /)" = 200 ] || fail "metrics or dashboard without a token"
ok "no HttpToken: /api/ answers 404 saying so; /metrics and the dashboard still work"
stop_sink

# --- 3. no HTTP port ------------------------------------------------------------------------
# From a file: the command line cannot give an empty value, and start_sink passes
# --HttpSocket 127.0.0.1:0.
printf 'HttpSocket =\n' >"$T/no-http.conf"
"$BCCSINK" serve --config "$T/no-http.conf" --BccSocket 127.0.0.1:0 --DataDir "$T/data3" \
  --BccHostname sink.test >"$T/no-http.log" 2>&1 &
SINK_PID=$!
PIDS+=("$SINK_PID")
for _ in $(seq 1 100); do
  grep -q "listening on" "$T/no-http.log" && break
  kill -0 "$SINK_PID" 2>/dev/null || fail "bccsink exited at start: $(tail -3 "$T/no-http.log")"
  sleep 0.1
done
grep -q "listening on" "$T/no-http.log" || fail "bccsink did not start listening"
sleep 0.3
! grep -q "http listening" "$T/no-http.log" || fail "HttpSocket '' still opened a port: $(cat "$T/no-http.log")"
stop_sink
ok "HttpSocket '': no HTTP port"

finish
