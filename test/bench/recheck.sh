#!/usr/bin/env bash
# recheck.sh: a re-check of FILES (100,000) kept files after a YARA rule reload (issue 17):
# its files/s, and the intake rate while it runs against the rate without one.
#
#   1. the data: the schema from one start of `bccsink serve`, then FILES small distinct
#      files written into DataDir/files/ab/<sha256> and, straight into SQLite (python3's
#      sqlite3), one message a file received over the last 29 days (reported, clean, its
#      content kept), its message_files row, the `files` row and YARA's clean verdict.
#   2. the daemon (YaraRules = a copy of etc/rules, BccRecheckRate = CEILING, 100000: no
#      bound) takes COUNT messages from smtp-source with no re-check running: the intake
#      rate without one. Then a rule is added and SIGHUP: the re-check of every file
#      starts; the same loads again while it runs: the intake rate meanwhile. The re-check's
#      files/s is FILES over the time from SIGHUP to "recheck: yara done" in the log.
#   3. the same at the default BccRecheckRate (50 files/s; a re-check of FILES files then
#      takes FILES/50 s, so only its first SAMPLE seconds are measured): another rule,
#      SIGHUP, the load, and files/s from /metrics' bccsink_recheck_files_total.
#
# Each intake rate is the median of ROUNDS (3) loads, each let finish its analysis before the
# next; the first load after a start is a warm-up, not counted.
#
# Env: FILES (100000), COUNT (3000 messages a load), SESSIONS (20), SIZE (10240 bytes),
# ROUNDS (3), CEILING (100000), SAMPLE (30 s, at least), LIMIT (seconds a pass may take,
# 1800), BCCSINK.
# Loopback only; everything it starts is stopped by PID; its temp folder is removed.
# The last line is machine-readable:
#   RESULT files=N ceiling_files_s=X intake_base=A intake_during=B ratio=B/A
#          default_files_s=Y intake_base2=C intake_default=D ratio_default=D/C
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
BUILD=$ROOT/build
BCCSINK=${BCCSINK:-$BUILD/bccsink}
FILES=${FILES:-100000}
COUNT=${COUNT:-3000}
SESSIONS=${SESSIONS:-20}
SIZE=${SIZE:-10240}
CEILING=${CEILING:-100000}
SAMPLE=${SAMPLE:-30}
ROUNDS=${ROUNDS:-3}
LIMIT=${LIMIT:-1800}
BENCH=recheck.sh
# shellcheck source=lib.sh
. "$ROOT/test/bench/lib.sh"

for tool in smtp-source sqlite3 python3 curl awk; do
  command -v "$tool" >/dev/null 2>&1 || die "'$tool' is not installed (deploy/install-deps.sh)"
done
need_binary

T=$(mktemp -d /tmp/bccsink-recheck.XXXXXX)
PIDS=()
SINK_PID=""
cleanup() {
  local rc=$?
  trap - EXIT
  [ -z "$SINK_PID" ] || stop_pid "$SINK_PID" || true
  [ $rc -eq 0 ] || { echo "--- last lines of the daemon's log:" >&2; tail -5 "$T/sink.log" >&2 || true; }
  rm -rf "$T"
  exit $rc
}
trap cleanup EXIT
trap 'exit 130' INT TERM

serve() {  # serve RATE: the daemon on the bench data, YARA from $T/rules
  : >"$T/sink.log"  # emptied first: start_sink must not read the last run's port in it
  start_sink --YaraRules "$T/rules" --SinkName bench --BccRecheckRate "$1"
  PIDS+=("$SINK_PID")
  HTTP=$(sed -n 's/.*http listening on [^ ]*:\([0-9]*\).*/\1/p' "$T/sink.log" | head -1)
}
halt() {
  stop_pid "$SINK_PID" || die "bccsink did not stop cleanly"
  SINK_PID=""
}

# load NAME: COUNT messages of SIZE bytes over SESSIONS sessions; sets LOAD_RATE (msg/s,
# until smtp-source's exit: every message acknowledged). The analysis of each load is let
# finish before the next.
load() {
  local t0 s
  t0=$(now)
  timeout "$LIMIT" smtp-source -s "$SESSIONS" -m "$COUNT" -l "$SIZE" -f alice@example.org \
    -t watch@bcc.test "127.0.0.1:$PORT" >"$T/source-$1.log" 2>&1 ||
    die "smtp-source ($1): $(tail -3 "$T/source-$1.log")"
  s=$(since "$t0")
  LOAD_RATE=$(rate "$COUNT" "$s")
  echo "   intake $1: $COUNT messages in $s s = $LOAD_RATE msg/s"
  settle
}

# loads NAME: ROUNDS loads; sets LOAD_RATE to their median (the machine is shared: one
# load alone says little).
loads() {
  local rates=() i
  for i in $(seq 1 "$ROUNDS"); do
    load "$1-$i"
    rates+=("$LOAD_RATE")
  done
  LOAD_RATE=$(printf '%s\n' "${rates[@]}" | sort -g | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }')
  echo "   intake $1: median $LOAD_RATE msg/s"
}

# settle: until the analysis of the loads so far is done (the next phase starts idle).
settle() {
  local t0
  t0=$(now)
  while [ "$(sql "SELECT COUNT(*) FROM messages WHERE state IN ('pending', 'analyzing')")" -gt 0 ]; do
    awk -v s="$(since "$t0")" -v l="$LIMIT" 'BEGIN { exit !(s > l) }' && die "analysis did not settle"
    sleep 0.2
  done
}

rechecked() {  # files re-checked by YARA since the daemon started, from /metrics
  curl -s "http://127.0.0.1:$HTTP/metrics" |
    sed -n 's/^bccsink_recheck_files_total{analyzer="yara"} \([0-9]*\).*/\1/p'
}

add_rule() {  # add_rule N: a rule no bench file matches; the rules' digest changes
  cat >"$T/rules/bench-$1.yar" <<YAR
rule Bench_Recheck_$1
{
  meta:
    verdict = "dangerous"
  strings:
    \$m = "bccsink-bench-never-$1"
  condition:
    \$m
}
YAR
}

# ------------------------------------------------------------------------------ 1. data
cp -r "$ROOT/etc/rules" "$T/rules"
echo "== the data: $FILES kept files, one message each, over the last 29 days"
serve "$CEILING"
halt
t0=$(now)
python3 - "$T/data" "$FILES" <<'PY'
import datetime, hashlib, os, sqlite3, sys
data, n = sys.argv[1], int(sys.argv[2])
files = os.path.join(data, "files")
for i in range(256):
    os.makedirs(os.path.join(files, "%02x" % i), exist_ok=True)
now = datetime.datetime.now(datetime.timezone.utc)
span = 29 * 86400.0
iso = lambda t: t.strftime("%Y-%m-%dT%H:%M:%S.") + "%03dZ" % (t.microsecond // 1000)
stamp = iso(now)
msgs, mfs, fs, vs = [], [], [], []
for i in range(n):
    body = b"bccsink recheck bench file %d\n" % i
    sha = hashlib.sha256(body).hexdigest()
    with open(os.path.join(files, sha[:2], sha), "wb") as f:
        f.write(body)
    at = iso(now - datetime.timedelta(seconds=span * (i + 1) / n))
    mid = "01BENCH%019d" % i
    msgs.append((mid, at, at, "m%d.eml" % i, at))
    mfs.append((mid, sha, "f%d.txt" % i, "f%d.txt" % i, len(body)))
    fs.append((sha, hashlib.md5(body).hexdigest(), len(body), stamp, stamp))
    vs.append((sha, stamp))
db = sqlite3.connect(os.path.join(data, "bccsink.db"))
db.execute("PRAGMA journal_mode=WAL")
db.executemany(
    "INSERT INTO messages (id, sink, state, received_at, updated_at, sender, client_ip, helo,"
    " tls, size, sha256, spool_file, verdict, checked_at, report_status, extracted_at)"
    " VALUES (?, 'bench', 'reported', ?, ?, 'alice@example.org', '127.0.0.1', 'mta.test', 0,"
    " 100, 'x', ?, 'clean', ?, 'none', ?)", [m + (m[1],) for m in msgs])
db.executemany(
    "INSERT INTO files (sha256, md5, size, true_type, description, family, first_seen,"
    " last_seen, seen_count) VALUES (?, ?, ?, 'text/plain', 'ASCII text', 'text', ?, ?, 1)", fs)
db.executemany(
    "INSERT INTO message_files (msg_id, position, sha256, name, path, extension,"
    " extension_mismatch, size, selected, verdict) VALUES (?, 0, ?, ?, ?, 'txt', 0, ?, 1, 'clean')",
    mfs)
db.executemany(
    "INSERT INTO file_verdicts (sha256, analyzer, verdict, score, threats, decided_at, decided_ms)"
    " VALUES (?, 'yara', 'clean', 0, '', ?, 0)", vs)
db.commit()
PY
echo "   written in $(since "$t0") s"

# ------------------------------------------------------------- 2. at the ceiling rate
echo "== BccRecheckRate $CEILING (the ceiling)"
serve "$CEILING"
load warm-up
loads base
BASE=$LOAD_RATE
add_rule 1
t0=$(now)
kill -HUP "$SINK_PID"
loads during-ceiling
DURING=$LOAD_RATE
grep -q "recheck: yara done" "$T/sink.log" &&
  echo "   warning: the re-check ended before the last load did (FILES too small for COUNT)"
while ! grep -q "recheck: yara done" "$T/sink.log"; do
  awk -v s="$(since "$t0")" -v l="$LIMIT" 'BEGIN { exit !(s > l) }' && die "the re-check did not end"
  sleep 0.1
done
RECHECK_S=$(since "$t0")
DONE=$(sed -n 's/.*recheck: yara done (\([0-9]*\) files).*/\1/p' "$T/sink.log" | tail -1)
CEIL_RATE=$(rate "$DONE" "$RECHECK_S")
echo "   re-check: $DONE files in $RECHECK_S s = $CEIL_RATE files/s"
[ "$DONE" -ge "$FILES" ] || die "only $DONE of $FILES files re-checked"
settle
halt

# ----------------------------------------------------------- 3. at the default rate (50)
echo "== BccRecheckRate 50 (the default)"
serve 50
load warm-up-2
loads base-2
BASE2=$LOAD_RATE
add_rule 2
kill -HUP "$SINK_PID"
sleep 1
n0=$(rechecked)
t0=$(now)
loads during-default
DEFAULT=$LOAD_RATE
sleep "$(awk -v s="$(since "$t0")" -v w="$SAMPLE" 'BEGIN { d = w - s; print (d > 0 ? d : 0) }')"
n1=$(rechecked)
DEF_RATE=$(rate "$((n1 - n0))" "$(since "$t0")")
echo "   re-check: $((n1 - n0)) files in $(since "$t0") s = $DEF_RATE files/s"
halt

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.3f", (b > 0 ? a / b : 0) }'; }
echo "RESULT files=$FILES ceiling_files_s=$CEIL_RATE intake_base=$BASE intake_during=$DURING" \
  "ratio=$(ratio "$DURING" "$BASE") default_files_s=$DEF_RATE intake_base2=$BASE2" \
  "intake_default=$DEFAULT ratio_default=$(ratio "$DEFAULT" "$BASE2")"
