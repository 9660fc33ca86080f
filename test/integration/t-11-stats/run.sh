#!/usr/bin/env bash
# t-11-stats: statistics per interval, stored and exported.
#
#   swaks --SMTP--> bccsink serve --StatsInterval 2s --> checked, judged (origin hop)
#                      |  StatsCollector: each closed 2 s interval counted from the
#                      |  database, stored as JSON (stats_intervals)
#                      +--HTTPS POST [intervals]--> collector.py (python3 http.server + ssl,
#                                                   a certificate made here by openssl,
#                                                   trusted with --StatsExportCaFile)
#   bccsink stats --json / stats (table)
#
# 1. Five copies: EICAR (dangerous), clam.exe attached as invoice.doc (a .doc that is
#    really a PE), a zip holding clam.exe as a.exe, a clean .txt, and one that came to the
#    site's MTA from 203.0.113.9 (the origin hop). `stats --json` counts them: messages,
#    verdicts, the doc->pe mismatch, exe inside zip, the connecting IPs, names only as MD5
#    and shape; no file name in clear and no subject anywhere.
# 2. The collector received every interval, once, with the sink's name; same privacy.
# 3. Stopped for a while and started again: the intervals missed meanwhile are stored,
#    none missing between the first and the last.
# shellcheck source-path=SCRIPTDIR source=../lib.sh
. "${TESTLIB:-$(dirname "$0")/../lib.sh}"
need swaks jq python3 openssl md5sum
CLAM=/usr/share/clamav-testfiles/clam.exe
[ -f "$CLAM" ] || fail "clamav-testfiles is not installed (deploy/install-deps.sh)"

# --- the collector ----------------------------------------------------------------------
openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj "/CN=localhost" \
  -addext "subjectAltName=DNS:localhost,IP:127.0.0.1" \
  -keyout "$T/collector.key" -out "$T/collector.pem" >/dev/null 2>&1 ||
  fail "openssl could not make a certificate"
cat >"$T/collector.py" <<'PY'
# Appends each POST body as one line to the file named by argv[3]; answers 200.
import http.server, os, ssl, sys

cert, key, out, portfile = sys.argv[1:5]


class Handler(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        with open(out, "ab") as f:
            f.write(body.replace(b"\n", b" ") + b"\n")
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args):
        pass


server = http.server.HTTPServer(("127.0.0.1", 0), Handler)
context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
context.load_cert_chain(cert, key)
server.socket = context.wrap_socket(server.socket, server_side=True)
with open(portfile + ".tmp", "w") as f:
    f.write(str(server.server_address[1]))
os.rename(portfile + ".tmp", portfile)
server.serve_forever()
PY
python3 "$T/collector.py" "$T/collector.pem" "$T/collector.key" "$T/posts.jsonl" "$T/collector.port" \
  >"$T/collector.log" 2>&1 &
COLLECTOR_PID=$!
PIDS+=("$COLLECTOR_PID")
for _ in $(seq 1 50); do
  [ -s "$T/collector.port" ] && break
  kill -0 "$COLLECTOR_PID" 2>/dev/null || fail "the collector did not start: $(cat "$T/collector.log")"
  sleep 0.1
done
[ -s "$T/collector.port" ] || fail "the collector did not start"
COLLECTOR_URL="https://127.0.0.1:$(cat "$T/collector.port")/collect"

# --- 1. five copies ------------------------------------------------------------------
DATA=$T/data
EICAR='X5O!P%@AP[4\PZX54(P^)7CC)7}$EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*'
printf '%s' "$EICAR" >"$T/eicar.com"
cp "$CLAM" "$T/invoice.doc"
python3 - "$CLAM" "$T/bundle.zip" <<'PY'
import sys, zipfile
with zipfile.ZipFile(sys.argv[2], "w", zipfile.ZIP_DEFLATED) as z:
    z.write(sys.argv[1], "a.exe")
PY
printf 'minutes of the meeting\n' >"$T/Minutes2026.txt"
HOP='from x.example.net (x.example.net [203.0.113.9]) by mx.example.com (Postfix) with ESMTP id 4AbC; Mon, 30 Nov 2026 02:00:00 +0000'

SINCE=$(date -u -d '-5 seconds' +%Y-%m-%dT%H:%M:%SZ)
start_sink "$DATA" --StatsInterval 2s --StatsExportUrl "$COLLECTOR_URL" \
  --StatsExportCaFile "$T/collector.pem"
grep -q "stats: every 2 s, exported" "$T/sink.log" || fail "no stats line in the log"

send() {
  local subject=$1
  shift
  swaks --server "127.0.0.1:$SINK_PORT" --from alice@example.org --to watch@bcc.test \
    --header "Subject: $subject" "$@" >"$T/swaks.out" 2>&1 || fail "swaks '$subject': $(tail -3 "$T/swaks.out")"
}
send "Zebra-Subject-Eicar" --attach @"$T/eicar.com"
send "Zebra-Subject-Invoice" --attach @"$T/invoice.doc"
send "Zebra-Subject-Bundle" --attach @"$T/bundle.zip"
send "Zebra-Subject-Minutes" --attach @"$T/Minutes2026.txt"
send "Zebra-Subject-Origin" --add-header "Received: $HOP"

queue() { "$BCCSINK" queue list --json --DataDir "$DATA"; }
for _ in $(seq 1 150); do
  [ "$(queue | jq -s 'length == 5 and all(.[]; .report != null)')" = true ] && break
  sleep 0.2
done
[ "$(queue | jq -s 'length == 5 and all(.[]; .report != null)')" = true ] ||
  fail "not all 5 messages judged: $(queue | jq -s -c '[.[] | {state, verdict, report}]')"
ok "five copies checked and judged"

stats() { "$BCCSINK" stats --json --since "$SINCE" --DataDir "$DATA" --BccHostname sink.test; }
# Until every interval holding a message is stored (not partial) and exported.
exported_messages() {
  [ -s "$T/posts.jsonl" ] || { echo 0; return; }
  jq -s '[.[][] | .messages] | add // 0' "$T/posts.jsonl"
}
for _ in $(seq 1 100); do
  stats >"$T/stats.json"
  [ "$(jq '[.intervals[] | select(.partial | not) | .messages] | add // 0' "$T/stats.json")" -eq 5 ] &&
    [ "$(exported_messages)" -eq 5 ] && break
  sleep 0.2
done
stored=$(jq '[.intervals[] | select(.partial | not) | .messages] | add // 0' "$T/stats.json")
[ "$stored" -eq 5 ] || fail "stored intervals count $stored messages, not 5: $(jq -c '[.intervals[] | {start, partial, messages}]' "$T/stats.json")"

t() { jq -c "$1" "$T/stats.json"; }
[ "$(t '.interval_seconds')" = 2 ] || fail "interval_seconds: $(t '.interval_seconds')"
[ "$(t '.totals.messages')" = 5 ] || fail "totals.messages: $(t '.totals.messages')"
[ "$(t '.totals.recipients')" = 5 ] || fail "totals.recipients: $(t '.totals.recipients')"
[ "$(t '[.intervals[].messages] | add')" = 5 ] || fail "intervals do not add up to 5"
[ "$(t '.totals.size_histogram | add')" = 5 ] || fail "size histogram: $(t '.totals.size_histogram')"
ok "stats --json: 5 messages, 5 recipients, in 2 s intervals that add up"

[ "$(t '.totals.verdicts.dangerous >= 1 and .totals.verdicts.clean >= 2 and .totals.verdicts.pending == 0')" = true ] ||
  fail "verdicts: $(t '.totals.verdicts')"
[ "$(t '.totals.verdicts | add')" = 5 ] || fail "verdicts do not add up to 5: $(t '.totals.verdicts')"
[ "$(t '.totals.verdicts_by_analyzer.yara.dangerous >= 1')" = true ] ||
  fail "yara's verdicts: $(t '.totals.verdicts_by_analyzer')"
ok "verdicts per message and per analyzer: $(t '.totals.verdicts')"

[ "$(t '[.totals.mismatches[] | select(.extension == "doc" and .family == "pe") | .count] | add')" = 1 ] ||
  fail "no .doc that is really a PE: $(t '.totals.mismatches')"
[ "$(t '[.totals.in_archive[] | select(.extension == "exe" and .container == "zip") | .count] | add')" = 1 ] ||
  fail "no .exe inside a zip: $(t '.totals.in_archive')"
[ "$(t '.totals.by_extension.doc == 1 and .totals.by_extension.zip == 1 and .totals.by_extension.exe == 1')" = true ] ||
  fail "by_extension: $(t '.totals.by_extension')"
# libmagic names a PE application/x-dosexec or application/vnd.microsoft.portable-executable.
[ "$(t '.totals.mismatches[0].true_type as $pe | .totals.by_true_type[$pe]')" = 2 ] ||
  fail "by_true_type: $(t '.totals.by_true_type')"
[ "$(t '.totals.size_by_type.pe.files')" = 2 ] || fail "size_by_type: $(t '.totals.size_by_type')"
ok "correlations: 1 .doc that is really a PE, 1 .exe inside a zip"

[ "$(t '.totals.by_ip["203.0.113.9"].messages')" = 1 ] || fail "origin hop: $(t '.totals.by_ip')"
[ "$(t '.totals.by_ip["127.0.0.1"].messages')" = 4 ] || fail "copies without a hop: $(t '.totals.by_ip')"
ok "connecting IPs: the origin hop 203.0.113.9, else the copy's client"

md5() { printf '%s' "$1" | md5sum | cut -d' ' -f1; }
[ "$(jq -r --arg m "$(md5 invoice.doc)" '.totals.names[] | select(.md5 == $m) | .shape' "$T/stats.json")" = "aaaaaaa.doc" ] ||
  fail "invoice.doc's MD5 and shape: $(t '.totals.names')"
[ "$(jq -r --arg m "$(md5 Minutes2026.txt)" '.totals.names[] | select(.md5 == $m) | .shape' "$T/stats.json")" = "Aaaaaaa0000.txt" ] ||
  fail "Minutes2026.txt's shape: $(t '.totals.names')"
# Never a name in clear, never a subject. (a.exe is not searched for: its shape is
# a.exe, one lower-case letter and the extension.)
for word in invoice Minutes2026 bundle eicar.com Zebra-Subject; do
  if grep -qF "$word" "$T/stats.json"; then fail "'$word' appears in stats --json"; fi
done
ok "file names only as MD5 and shape; no name or subject in the JSON"

# --- 2. the collector -----------------------------------------------------------------
[ "$(exported_messages)" -eq 5 ] || fail "the collector got $(exported_messages) messages, not 5"
jq -e -s '[.[][] | .sink] | all(. == "sink.test")' "$T/posts.jsonl" >/dev/null ||
  fail "an exported interval without the sink's name"
dups=$(jq -s '[.[][] | .start] | (length - (unique | length))' "$T/posts.jsonl")
[ "$dups" -eq 0 ] || fail "$dups intervals exported twice"
for word in invoice Minutes2026 bundle eicar.com Zebra-Subject; do
  if grep -qF "$word" "$T/posts.jsonl"; then fail "'$word' reached the collector"; fi
done
jq -e -s '[.[][] | .mismatches[] | select(.extension == "doc")] | length == 1' "$T/posts.jsonl" >/dev/null ||
  fail "the collector lacks the doc->pe mismatch"
ok "the collector got every interval once over HTTPS ($(wc -l <"$T/posts.jsonl") POSTs), no names, no subjects"

"$BCCSINK" stats --since "$SINCE" --DataDir "$DATA" --BccHostname sink.test >"$T/table.txt"
grep -q "^statistics of sink.test" "$T/table.txt" && grep -q "^total " "$T/table.txt" &&
  grep -q "1 .doc that are really pe" "$T/table.txt" && grep -q "1 .exe inside zip" "$T/table.txt" ||
  fail "stats table: $(cat "$T/table.txt")"
if grep -q invoice "$T/table.txt"; then fail "a name in clear in the table"; fi
ok "stats prints a table"

# --- 3. down for a while -------------------------------------------------------------
stop_sink
sleep 5
start_sink "$DATA" --StatsInterval 2s
sleep 4
stats >"$T/stats.json"
gaps=$(jq '[.intervals[] | select(.partial | not) | .start | fromdateiso8601] as $s
  | [range(1; $s | length) | select($s[.] - $s[. - 1] != 2)] | length' "$T/stats.json")
[ "$gaps" -eq 0 ] || fail "stored intervals have $gaps gaps: $(t '[.intervals[] | {start, partial}]')"
[ "$(t '.totals.messages')" = 5 ] || fail "after the restart: $(t '.totals.messages') messages"
ok "after a restart the intervals missed while down are stored, no gaps"
stop_sink

finish
