#!/usr/bin/env bash
# analyze.sh: the daemon with a slow sandbox behind it. COUNT messages of 3 PDF
# attachments each (make_messages.py: 30 % of the slots repeat files of a pool of 50, 5 of
# which the emulator is told are dangerous) go by SMTP into `bccsink serve`, which sends
# every selected file to build/vxcube-emulator answering each API call after LATENCY_MS
# and finishing each analysis ANALYSIS_MS after it starts; YARA, the default, runs too.
#
# Prints: messages/s from the first connection until every message is `checked`; the
# analyzer's submissions as the emulator counted them (lookups, uploads, analyses), each of
# which must equal the number of distinct selected files, as every repeat has to be a
# cache or in-flight hit; and the time from each message's 250 (received_at) to its
# `checked` (checked_at): median and p99. It fails (exit 1) when a figure is wrong: a
# message with another verdict than expected, a failed message, more or fewer submissions
# than distinct files, or a daemon or emulator that does not stop cleanly.
#
# Env: BUILD (build folder, default ROOT/build; built Release when its bccsink is missing),
# BCCSINK ($BUILD/bccsink), EMULATOR ($BUILD/vxcube-emulator), COUNT (1000), CLIENTS (10),
# WORKERS (2, BccWorkers), LATENCY_MS (2000), ANALYSIS_MS (2000), CONCURRENT (256,
# VxcubeMaxConcurrent), CONNECTIONS (64, VxcubeMaxConnections), POLL (1s,
# VxcubePollInterval), LIMIT (seconds the pass may take, 1800). Needs python3,
# smtp-source, sqlite3, jq, curl. Not root. Only 127.0.0.1 is used; the daemon and the
# emulator are stopped by PID on exit, error included, and the temp folder removed.
#
# The last line is machine-readable:
#   RESULT msg_s=A lookups=B uploads=C analyses=D distinct=E median_ms=F p99_ms=G
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
BUILD=${BUILD:-$ROOT/build}
BCCSINK=${BCCSINK:-$BUILD/bccsink}
EMULATOR=${EMULATOR:-$BUILD/vxcube-emulator}
COUNT=${COUNT:-1000}
CLIENTS=${CLIENTS:-10}
WORKERS=${WORKERS:-2}
LATENCY_MS=${LATENCY_MS:-2000}
ANALYSIS_MS=${ANALYSIS_MS:-2000}
CONCURRENT=${CONCURRENT:-256}
CONNECTIONS=${CONNECTIONS:-64}
POLL=${POLL:-1s}
LIMIT=${LIMIT:-1800}
KEY=bench-api-key

BENCH=analyze.sh
# shellcheck source=lib.sh
. "$ROOT/test/bench/lib.sh"

for v in COUNT CLIENTS WORKERS CONCURRENT CONNECTIONS LIMIT; do
  [[ ${!v} =~ ^[1-9][0-9]*$ ]] || die "$v must be a positive integer, not '${!v}'"
done
for v in LATENCY_MS ANALYSIS_MS; do
  [[ ${!v} =~ ^[0-9]+$ ]] || die "$v must be a whole number of milliseconds, not '${!v}'"
done
for tool in python3 smtp-source sqlite3 jq curl xargs awk; do
  command -v "$tool" >/dev/null 2>&1 || die "'$tool' is not installed (deploy/install-deps.sh)"
done
need_binary
[ -x "$EMULATOR" ] || die "no emulator at EMULATOR=$EMULATOR (it is built with bccsink)"

T=$(mktemp -d /tmp/bccsink-analyze.XXXXXX)
SINK_PID=""
EMU_PID=""

cleanup() {
  local rc=$?
  trap - EXIT
  for pid in $SINK_PID $EMU_PID; do
    kill -TERM "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
  done
  if [ $rc -ne 0 ]; then
    for log in sink.log emulator.err; do
      [ -s "$T/$log" ] && { echo "--- last lines of $log:" >&2; tail -5 "$T/$log" >&2; }
    done
  fi
  rm -rf "$T"
  exit $rc
}
trap cleanup EXIT
trap 'exit 130' INT TERM

echo "== making $COUNT messages"
python3 "$ROOT/test/bench/make_messages.py" "$T" "$COUNT"
read -r SLOTS REPEATS DISTINCT <"$T/counts"

echo "== emulator: ${LATENCY_MS} ms a call, analyses of ${ANALYSIS_MS} ms"
"$EMULATOR" --listen 127.0.0.1:0 --api-key "$KEY" --dangerous-sha256 "$T/listed" \
  --latency-ms "$LATENCY_MS" --analysis-ms "$ANALYSIS_MS" --threads $((CONNECTIONS + 16)) \
  >"$T/emulator.out" 2>"$T/emulator.err" &
EMU_PID=$!
EMU=""
for _ in $(seq 1 100); do
  EMU=$(sed -n 's/^listening on \(.*\)$/\1/p' "$T/emulator.out" | head -1)
  [ -n "$EMU" ] && break
  kill -0 "$EMU_PID" 2>/dev/null || die "the emulator exited at start: $(tail -3 "$T/emulator.err")"
  sleep 0.1
done
[ -n "$EMU" ] || die "the emulator did not start listening"
stats() { curl -sf "http://$EMU/_emulator/stats"; }

echo "== daemon: $WORKERS workers, vxCube at $EMU ($CONCURRENT files, $CONNECTIONS calls at once)"
start_sink --BccWorkers "$WORKERS" --UseVxcube yes --VxcubeApiAddress "http://$EMU/api-2.0/" \
  --VxcubeApiKey "$KEY" --VxcubePollInterval "$POLL" --VxcubeMaxConcurrent "$CONCURRENT" \
  --VxcubeMaxConnections "$CONNECTIONS"

pass first "$COUNT" "$CLIENTS"
STATS=$(stats) || die "GET /_emulator/stats failed"
stat() { jq -r ".$1" <<<"$STATS"; }
LOOKUPS=$(stat lookups)
UPLOADS=$(stat uploads)
ANALYSES=$(stat analyses)
FAULTS=$(stat faults)
VERDICTS=$(sql "SELECT COUNT(*) FROM file_verdicts WHERE analyzer = 'vxcube'")
SEEN=$(sql "SELECT COUNT(DISTINCT sha256) FROM message_files WHERE selected = 1")
BAD=$(wrong_verdicts)

# 250 -> checked per message, in ms, from the ISO 8601 times (ms) the queue keeps.
sql "SELECT CAST(ROUND((julianday(checked_at) - julianday(received_at)) * 86400000) AS INTEGER)
     FROM messages WHERE state IN ('checked', 'reported')" | sort -n >"$T/latency"
pct() { awk -v p="$1" '{ v[NR] = $1 } END { i = int(NR * p + 0.999999); if (i < 1) i = 1; print v[i] }' "$T/latency"; }
MEDIAN=$(pct 0.5)
P99=$(pct 0.99)
MAX=$(tail -1 "$T/latency")
DAEMON_RSS=$(awk '/^VmHWM:/ { print $2 }' "/proc/$SINK_PID/status")
stop_sink
kill -TERM "$EMU_PID"
wait "$EMU_PID" || die "the emulator did not stop cleanly on SIGTERM"
EMU_PID=""

[ "$BAD" -eq 0 ] || die "$BAD messages with a verdict other than expected: $(wrong_examples)"
[ "$FAULTS" -eq 0 ] || die "the emulator spoilt $FAULTS answers, none were asked for"
[ "$SEEN" -eq "$DISTINCT" ] || die "the daemon found $SEEN distinct selected files, the generator made $DISTINCT"
for n in LOOKUPS UPLOADS ANALYSES VERDICTS; do
  [ "${!n}" -eq "$DISTINCT" ] || die "$n = ${!n}, not the $DISTINCT distinct selected files"
done

MSG_S=$(rate "$COUNT" "$PASS_SECS")
echo
echo "analyze: $(nproc) CPUs, $(awk '/^MemTotal:/ { printf "%.1f GiB", $2 / 1048576 }' /proc/meminfo)," \
  "$(uname -r), $BCCSINK"
echo "emulator: $LATENCY_MS ms before each answer, analyses finish $ANALYSIS_MS ms after they start;" \
  "bccsink: $WORKERS workers, VxcubeMaxConcurrent $CONCURRENT, VxcubeMaxConnections $CONNECTIONS," \
  "VxcubePollInterval $POLL, YARA on"
printf '%-40s %s\n' "messages" "$COUNT ($SLOTS attachments, $REPEATS drawn from the pool of 50)"
printf '%-40s %s\n' "distinct selected files" "$DISTINCT"
printf '%-40s %s s (sending took %s s)\n' "first connection -> last checked" "$PASS_SECS" "$SEND_SECS"
printf '%-40s %s msg/s\n' "throughput" "$MSG_S"
printf '%-40s lookups %s, uploads %s, analyses %s; vxcube verdicts %s\n' "submissions to the emulator" \
  "$LOOKUPS" "$UPLOADS" "$ANALYSES" "$VERDICTS"
printf '%-40s median %s ms, p99 %s ms, max %s ms\n' "250 -> checked" "$MEDIAN" "$P99" "$MAX"
printf '%-40s %s kB\n' "daemon peak RSS" "$DAEMON_RSS"
echo "RESULT msg_s=$MSG_S lookups=$LOOKUPS uploads=$UPLOADS analyses=$ANALYSES distinct=$DISTINCT" \
  "median_ms=$MEDIAN p99_ms=$P99"
