#!/usr/bin/env bash
# t-17-slo: time to verdict as a service level, on the daemon's /metrics and its log.
#
#   swaks --SMTP--> bccsink serve --HttpSocket--> /metrics, /api/overview
#                     | pending --worker--> vxCube (the emulator: every analysis 3 s,
#                     |                      VxcubeMaxConcurrent 1: files queue up)
#                     +--> checked: bccsink_time_to_verdict_seconds{verdict}, the SLO
#
# 1. BccVerdictSlo 15m: before anything, the histogram's count is 0, the oldest pending
#    age 0, the SLO ratio 1. Two copies with an .exe each: while vxCube holds them the
#    oldest pending age rises; once checked the histogram counts them by verdict (one
#    dangerous, one clean) and its sum moved; the age falls back to 0; the second file
#    waited in vxCube's queue (bccsink_analyzer_queue_wait_seconds); the ratio stays 1
#    (their deadlines are 15 minutes ahead). /api/overview's verdict_slo says the same.
#    Every metric deploy/prometheus/bccsink-slo.rules.yml names is on /metrics.
# 2. BccVerdictSlo 1s on the same data: a copy that takes 3 s misses it; the ratio falls
#    under 1 (overdue while it waits, late once checked) and the log says "verdict SLO
#    missed".
# shellcheck source-path=SCRIPTDIR source=../lib.sh
. "${TESTLIB:-$(dirname "$0")/../lib.sh}"
need swaks jq curl python3
ROOT=$(cd "$(dirname "$0")/../../.." && pwd)
RULES=$ROOT/deploy/prometheus/bccsink-slo.rules.yml
TF=/usr/share/clamav-testfiles
[ -f "$TF/clam.exe" ] || fail "clamav-testfiles is not installed (deploy/install-deps.sh)"
EMULATOR=$(dirname "$BCCSINK_BIN")/vxcube-emulator
[ -x "$EMULATOR" ] || fail "no vxcube-emulator beside $BCCSINK_BIN"
TOKEN='t0ken-for-t17-at-least-32-characters'
(umask 077 && echo "$TOKEN" >"$T/http-token")

# Three PE files of their own hashes: clam.exe (dangerous for the emulator) and two
# variants with a byte appended (clean).
cp "$TF/clam.exe" "$T/bad.exe"
for n in 1 2; do
  cp "$TF/clam.exe" "$T/ok$n.exe"
  printf 'variant %s' "$n" >>"$T/ok$n.exe"
done
sha256sum "$T/bad.exe" | cut -d' ' -f1 >"$T/dangerous.txt"
"$EMULATOR" --listen 127.0.0.1:0 --api-key t17-key --dangerous-sha256 "$T/dangerous.txt" \
  --analysis-ms 3000 >"$T/emulator.out" 2>&1 &
PIDS+=($!)
for _ in $(seq 1 100); do grep -q "listening on" "$T/emulator.out" && break; sleep 0.1; done
VX_PORT=$(sed -nE 's/.*listening on [^ ]*:([0-9]+).*/\1/p' "$T/emulator.out" | head -1)
[ -n "$VX_PORT" ] || fail "the emulator did not start: $(cat "$T/emulator.out")"
VX=(--UseYara no --UseVxcube yes --VxcubeApiAddress "http://127.0.0.1:$VX_PORT/api-2.0/"
  --VxcubeApiKey t17-key --VxcubePollInterval 1s --VxcubeMaxConcurrent 1
  --HttpTokenFile "$T/http-token")

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

scrape() { curl -sS "http://127.0.0.1:$HTTP/metrics" >"$T/metrics.txt" || fail "GET /metrics"; }
# metric NAME: its value in the last scrape.
metric() { awk -v m="$1" '$1 == m { print $2 }' "$T/metrics.txt"; }
# above A B: A > B as numbers.
above() { python3 -c "import sys; sys.exit(0 if float('$1') > float('$2') else 1)"; }
checked() {
  queue_json "$DATA" | jq -s --argjson n "$1" '[.[] | select(.state == "checked" or .state == "reported")] | length == $n' | grep -q true
}

# --- 1. BccVerdictSlo 15m ---------------------------------------------------------------
DATA=$T/data
start_sink "$DATA" "${VX[@]}"
HTTP=$(http_port)
scrape
for v in clean dangerous failed; do
  [ "$(metric "bccsink_time_to_verdict_seconds_count{verdict=\"$v\"}")" = 0 ] || fail "count $v before: $(grep time_to_verdict "$T/metrics.txt")"
done
[ "$(metric bccsink_oldest_pending_age_seconds)" = 0 ] || fail "age before: $(metric bccsink_oldest_pending_age_seconds)"
[ "$(metric bccsink_verdict_slo_ratio)" = 1 ] || fail "ratio before"
[ "$(metric bccsink_verdict_slo_seconds)" = 900 ] || fail "target: $(metric bccsink_verdict_slo_seconds)"
ok "before: no time to verdict observed, no backlog, the SLO at 1 with a target of 900 s"

send "bad" --attach @"$T/bad.exe"
send "ok" --attach @"$T/ok1.exe"
# The analysis takes 3 s a file, one at a time: the backlog ages meanwhile.
age=0
for _ in $(seq 1 40); do
  scrape
  age=$(metric bccsink_oldest_pending_age_seconds)
  above "$age" 1.5 && break
  sleep 0.2
done
above "$age" 1.5 || fail "the oldest pending age did not rise: $age"
wait_until 30 "two copies checked" checked 2
scrape
[ "$(metric 'bccsink_time_to_verdict_seconds_count{verdict="dangerous"}')" = 1 ] || fail "dangerous: $(grep time_to_verdict_seconds_count "$T/metrics.txt")"
[ "$(metric 'bccsink_time_to_verdict_seconds_count{verdict="clean"}')" = 1 ] || fail "clean: $(grep time_to_verdict_seconds_count "$T/metrics.txt")"
[ "$(metric 'bccsink_time_to_verdict_seconds_bucket{verdict="clean",le="+Inf"}')" = 1 ] || fail "+Inf bucket"
[ "$(metric 'bccsink_time_to_verdict_seconds_bucket{verdict="clean",le="1"}')" = 0 ] || fail "a 3 s analysis under 1 s"
above "$(metric 'bccsink_time_to_verdict_seconds_sum{verdict="clean"}')" 2.5 || fail "clean sum: $(grep time_to_verdict_seconds_sum "$T/metrics.txt")"
ok "checked: time to verdict counted by verdict (1 dangerous, 1 clean), the sum moved"
for _ in $(seq 1 20); do
  scrape
  [ "$(metric bccsink_oldest_pending_age_seconds)" = 0 ] && break
  sleep 0.2
done
[ "$(metric bccsink_oldest_pending_age_seconds)" = 0 ] || fail "age after: $(metric bccsink_oldest_pending_age_seconds)"
ok "the oldest pending age rose to $age s while vxCube worked and fell back to 0"
[ "$(metric 'bccsink_analyzer_queue_wait_seconds_count{analyzer="vxcube"}')" = 2 ] || fail "queue wait count: $(grep queue_wait "$T/metrics.txt")"
above "$(metric 'bccsink_analyzer_queue_wait_seconds_sum{analyzer="vxcube"}')" 1.5 || fail "queue wait sum: $(grep queue_wait "$T/metrics.txt")"
ok "the second file waited in vxCube's queue (VxcubeMaxConcurrent 1)"
[ "$(metric bccsink_verdict_slo_ratio)" = 1 ] || fail "ratio with 15m: $(grep verdict_slo "$T/metrics.txt")"
curl -sS -H "Authorization: Bearer $TOKEN" "http://127.0.0.1:$HTTP/api/overview" >"$T/overview.json"
jq -e '.verdict_slo.target_seconds == 900 and .verdict_slo.ratio == 1 and
  .verdict_slo.oldest_pending_seconds == 0' "$T/overview.json" >/dev/null || fail "overview: $(jq -c .verdict_slo "$T/overview.json")"
ok "the SLO stays 1 with BccVerdictSlo 15m; /api/overview's verdict_slo agrees"

# Every bccsink_ metric the rules read is exported (recording rules' own names have a ':').
python3 - "$RULES" >"$T/rule-metrics" <<'PY' || fail "the rules file does not parse"
import re, sys
try:
    import yaml
except ImportError:
    sys.exit("python3-yaml is not installed")
doc = yaml.safe_load(open(sys.argv[1]))
names = set()
for group in doc["groups"]:
    for rule in group["rules"]:
        assert ("alert" in rule) != ("record" in rule), rule
        names.update(re.findall(r"\bbccsink_[a-z0-9_]+", rule["expr"]))
print("\n".join(sorted(names)))
PY
[ -s "$T/rule-metrics" ] || fail "no metric names in $RULES"
while read -r name; do
  grep -qE "^$name(\{| )" "$T/metrics.txt" || fail "$RULES reads $name, which /metrics does not have"
done <"$T/rule-metrics"
ok "every metric the rules read is on /metrics ($(wc -l <"$T/rule-metrics") names)"
stop_sink

# --- 2. BccVerdictSlo 1s: missed -----------------------------------------------------------
start_sink "$DATA" "${VX[@]}" --BccVerdictSlo 1s
HTTP=$(http_port)
send "slow" --attach @"$T/ok2.exe"
for _ in $(seq 1 50); do
  scrape
  above 1 "$(metric bccsink_verdict_slo_ratio)" && break
  sleep 0.2
done
above 1 "$(metric bccsink_verdict_slo_ratio)" || fail "the ratio did not fall: $(grep verdict_slo "$T/metrics.txt")"
[ "$(metric 'bccsink_verdict_slo_copies{result="overdue"}')" = 1 ] || fail "overdue: $(grep verdict_slo_copies "$T/metrics.txt")"
ok "BccVerdictSlo 1s: the copy still waiting past its deadline pulls the ratio to $(metric bccsink_verdict_slo_ratio)"
wait_until 30 "the slow copy checked" checked 3
scrape
[ "$(metric 'bccsink_verdict_slo_copies{result="late"}')" = 1 ] || fail "late: $(grep verdict_slo_copies "$T/metrics.txt")"
[ "$(metric 'bccsink_verdict_slo_copies{result="overdue"}')" = 0 ] || fail "still overdue"
[ "$(metric bccsink_verdict_slo_ratio)" = 0 ] || fail "ratio: $(metric bccsink_verdict_slo_ratio)"
ok "checked after its deadline: late, the ratio 0"
wait_until 15 "the SLO warning in the log" grep -q "verdict SLO missed" "$T/sink.log"
grep "verdict SLO missed" "$T/sink.log" | grep -q "within 1s" || fail "warning: $(grep 'verdict SLO' "$T/sink.log")"
[ "$(grep -c "verdict SLO missed" "$T/sink.log")" = 1 ] || fail "warned more than once"
ok "the log warned once: $(grep -m1 -o 'verdict SLO missed.*' "$T/sink.log" | cut -c1-90)..."
stop_sink
echo "t-17-slo: $PASSED checks passed"
