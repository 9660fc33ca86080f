#!/usr/bin/env bash
# t-08-analyzers: the real analyzers behind `bccsink scan` and the daemon.
#
#   built-in YARA rules --scan--> EICAR dangerous, a text file clean
#   daemon + YaraRules folder --SIGHUP--> a broken rule keeps the old rules, a new rule
#     applies to the next files
#   real clamd (clamav-daemon, signatures written here) --scan --UseClamd--> clam.exe dangerous
#   build/vxcube-emulator --scan --UseVxcube--> dangerous with a report link; a wrong key is
#     unscanned, said once as a configuration error
source "$TESTLIB"
need jq python3 swaks md5sum clamd sigtool
TF=/usr/share/clamav-testfiles
[ -f "$TF/clam.exe" ] || fail "clamav-testfiles is not installed (deploy/install-deps.sh)"
EMULATOR=$(dirname "$BCCSINK_BIN")/vxcube-emulator
[ -x "$EMULATOR" ] || fail "no vxcube-emulator beside $BCCSINK"
ROOT=$(cd "$(dirname "$0")/../../.." && pwd)

# message OUT NAME FILE: a message with FILE attached as NAME.
message() {
  python3 - "$1" "$2" "$3" <<'PY'
import sys
from email.message import EmailMessage
m = EmailMessage()
m["From"], m["To"], m["Subject"] = "alice@example.org", "bob@example.com", "t-08"
m["Message-ID"] = "<%s@t-08.test>" % sys.argv[2]
m.set_content("see attached\n")
m.add_attachment(open(sys.argv[3], "rb").read(), maintype="application",
                 subtype="octet-stream", filename=sys.argv[2])
open(sys.argv[1], "wb").write(m.as_bytes())
PY
}

scan() {  # scan FILE [options]: sets RC, writes $T/out.json and $T/err
  set +e
  "$BCCSINK" scan "$1" --json --DataDir "$T/scan" "${@:2}" >"$T/out.json" 2>"$T/err"
  RC=$?
  set -e
}

# --- 1. YARA, built in ---------------------------------------------------------------
printf '%s' 'X5O!P%@AP[4\PZX54(P^)7CC)7}$EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*' >"$T/eicar.com"
message "$T/eicar.eml" eicar.com "$T/eicar.com"
scan "$T/eicar.eml"
[ "$RC" -eq 2 ] || fail "eicar: exit $RC: $(cat "$T/err")"
jq -e '.files[] | select(.name == "eicar.com") | .verdict == "dangerous" and
  (.threats | index("EICAR_Test_File")) and any(.analyzers[]; .analyzer == "yara")' "$T/out.json" >/dev/null ||
  fail "eicar: $(jq -c .files "$T/out.json")"
ok "built-in YARA rules: the EICAR test file is dangerous (EICAR_Test_File)"
scan "$T/eicar.eml" --UseYara no
[ "$RC" -eq 0 ] && jq -e '.verdict == "unscanned"' "$T/out.json" >/dev/null || fail "UseYara no: exit $RC"
ok "UseYara no: nothing analyses the file, which is unscanned"
scan "$T/eicar.eml" --YaraRules "$T/none"
[ "$RC" -eq 3 ] && grep -q "YaraRules" "$T/err" || fail "missing rules folder: exit $RC, $(cat "$T/err")"
ok "a YaraRules folder that does not exist: exit 3 naming the option"

# --- 2. the daemon with a rules folder, and SIGHUP -------------------------------------
cp -r "$ROOT/etc/rules" "$T/rules"
printf 'var s = "bccsink-local-marker-1";\n' >"$T/one.js"
printf 'var s = "bccsink-local-marker-2";\n' >"$T/two.js"
message "$T/one.eml" one.js "$T/one.js"
message "$T/two.eml" two.js "$T/two.js"
start_sink "$T/data" --YaraRules "$T/rules"
verdict_of() {  # verdict_of MESSAGE-ID: waits (bounded) until analysed, prints the verdict
  # (a reported message moves on from checked: the reporter wakes as soon as it is checked)
  for _ in $(seq 1 100); do
    v=$("$BCCSINK" queue list --json --DataDir "$T/data" |
      jq -r --arg m "<$1@t-08.test>" 'select(.message_id == $m and (.state == "checked" or .state == "reported")) | .verdict')
    [ -n "$v" ] && { echo "$v"; return 0; }
    sleep 0.1
  done
  echo "never checked"
}
swaks --server "127.0.0.1:$SINK_PORT" --to watch@bcc.test --data "@$T/one.eml" >/dev/null 2>&1 || fail "swaks one"
[ "$(verdict_of one.js)" = clean ] || fail "one.js before the local rule: $(verdict_of one.js)"
printf 'rule Local_Broken { strings: $a = "x" condition: $a and }\n' >"$T/rules/local.yar"
kill -HUP "$SINK_PID"
for _ in $(seq 1 50); do grep -q "keeping the old YARA rules" "$T/sink.log" && break; sleep 0.1; done
grep "keeping the old YARA rules" "$T/sink.log" | grep -q "local.yar:1" || fail "broken rule: $(tail -3 "$T/sink.log")"
kill -0 "$SINK_PID" || fail "the daemon stopped on a broken rule"
ok "SIGHUP with a broken rule: the error names local.yar:1, the old rules stay on"
cat >"$T/rules/local.yar" <<'YAR'
rule Local_Marker
{
  meta:
    verdict = "dangerous"
    description = "t-08's marker"
  strings:
    $m = "bccsink-local-marker"
  condition:
    $m
}
YAR
kill -HUP "$SINK_PID"
for _ in $(seq 1 50); do grep -q "YARA rules reloaded" "$T/sink.log" && break; sleep 0.1; done
grep -q "YARA rules reloaded" "$T/sink.log" || fail "no reload: $(tail -3 "$T/sink.log")"
swaks --server "127.0.0.1:$SINK_PORT" --to watch@bcc.test --data "@$T/two.eml" >/dev/null 2>&1 || fail "swaks two"
[ "$(verdict_of two.js)" = dangerous ] || fail "two.js after the reload: $(verdict_of two.js)"
ok "SIGHUP with a new rule: the next file is dangerous by it"
stop_sink

# --- 3. clamd, real, with signatures written here ---------------------------------------
start_clamd "$T/clamd"
message "$T/clam.eml" invoice.exe "$TF/clam.exe"
scan "$T/clam.eml" --UseYara no --UseClamd yes --ClamdSocket "unix:$T/clamd/clamd.sock"
[ "$RC" -eq 2 ] || fail "clamd: exit $RC: $(cat "$T/err")"
jq -e '.files[] | select(.name == "invoice.exe") | any(.analyzers[]; .analyzer == "clamd" and
  .verdict == "dangerous" and (.threats[0] | startswith("BccSink.Test.ClamExe")))' "$T/out.json" >/dev/null ||
  fail "clamd: $(jq -c .files "$T/out.json")"
ok "clamd: clam.exe is dangerous with the signature's name"
scan "$T/clam.eml" --UseClamd yes --ClamdSocket "unix:$T/clamd/clamd.sock"
jq -e '.files[] | select(.name == "invoice.exe") | [.analyzers[].analyzer] | sort == ["clamd", "yara"]' \
  "$T/out.json" >/dev/null || fail "yara and clamd: $(jq -c .files "$T/out.json")"
ok "YARA and clamd together: each analyzer's answer is kept, the worst decides"
scan "$T/clam.eml" --UseYara no --UseClamd yes --ClamdSocket "unix:$T/clamd/none.sock" --BccAnalysisTimeout 3s
[ "$RC" -eq 0 ] && jq -e '.verdict == "unscanned"' "$T/out.json" >/dev/null || fail "clamd down: exit $RC"
ok "clamd unreachable until the deadline: unscanned, not an error"

# --- 4. the vxCube emulator -------------------------------------------------------------
sha256sum "$TF/clam.exe" | cut -d' ' -f1 >"$T/dangerous.txt"
"$EMULATOR" --listen 127.0.0.1:0 --api-key t08-key --dangerous-sha256 "$T/dangerous.txt" \
  --analysis-ms 300 >"$T/emulator.out" 2>&1 &
PIDS+=($!)
for _ in $(seq 1 100); do grep -q "listening on" "$T/emulator.out" && break; sleep 0.1; done
VX_PORT=$(sed -nE 's/.*listening on [^ ]*:([0-9]+).*/\1/p' "$T/emulator.out" | head -1)
[ -n "$VX_PORT" ] || fail "the emulator did not start: $(cat "$T/emulator.out")"
VX=(--UseYara no --UseVxcube yes --VxcubeApiAddress "http://127.0.0.1:$VX_PORT/api-2.0/"
  --VxcubePollInterval 1s)
scan "$T/clam.eml" "${VX[@]}" --VxcubeApiKey t08-key
[ "$RC" -eq 2 ] || fail "vxcube: exit $RC: $(cat "$T/err")"
jq -e '.files[] | select(.name == "invoice.exe") | any(.analyzers[]; .analyzer == "vxcube" and
  .verdict == "dangerous" and (.report_url | length > 0))' "$T/out.json" >/dev/null ||
  fail "vxcube: $(jq -c .files "$T/out.json")"
ok "vxCube emulator: clam.exe is dangerous, with a link to the task's report"
scan "$T/clam.eml" "${VX[@]}" --VxcubeApiKey wrong-key --BccAnalysisTimeout 5s
[ "$RC" -eq 0 ] && jq -e '.verdict == "unscanned"' "$T/out.json" >/dev/null || fail "wrong key: exit $RC"
grep -q "wrong-key" "$T/out.json" "$T/err" && fail "the API key reached the output"
ok "a wrong API key: unscanned, and the key is in no output"
echo "t-08-analyzers: $PASSED checks passed"
