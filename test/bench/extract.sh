#!/usr/bin/env bash
# extract.sh: how fast bccsink takes files out of messages, alone and in the daemon.
#
#   1. scan, large   `bccsink scan --json` on a message with one attachment of 50 MB
#                    (MB = 2^20 bytes) of random bytes, base64: MB/s of attachment and of
#                    message, and peak RSS (the spool file is mapped, so RSS may count it).
#   2. scan, zip     the same on a message with a zip of 1,000 small text files: files/s.
#      Each scan is run RUNS times; the best time is reported, and the peak RSS of that
#      run. The time includes bccsink's start-up, reported on its own line (a 1 KB
#      message).
#   3. daemon        `bccsink serve` with the hash list analyzer and WORKERS workers.
#                    COUNT messages, each with 3 PDF attachments (PDF is in the default
#                    VxcubeFileTypes, so every attachment is selected and analysed); 30 % of
#                    the attachment slots are drawn from a pool of 50 files, so those repeat
#                    across messages, the rest are unique. Each message is sent by its own
#                    `smtp-source -m 1 -F FILE`, CLIENTS at a time (xargs -P), and the clock
#                    runs from the first connection until every message is `checked`:
#                    messages/s. Then the same COUNT files again: every file must come from
#                    the verdict cache (file_verdicts keeps one row per distinct attachment
#                    and no verdict is decided again). Each message's verdict is compared
#                    with the one the generator expects (5 pool files are listed dangerous).
#
# Env: BUILD (build folder, default ROOT/build; built Release with cmake when its bccsink
# is missing), BCCSINK (binary, default $BUILD/bccsink), RUNS (3), COUNT (500),
# CLIENTS (10), WORKERS (2), LIMIT (seconds a daemon pass may take, 600), ISOLATION
# (BccExtractIsolation of the daemon: yes, no, or both: the daemon section twice, no then
# yes, each on a fresh data folder, both figures printed). Needs python3,
# smtp-source, sqlite3, jq; peak RSS from /usr/bin/time -v, or, without it, from sampling
# VmHWM in /proc (which can miss growth in the last 10 ms). Not root. Only 127.0.0.1 is
# used; the daemon is stopped by PID on exit, error included, and the temp folder removed.
#
# The last line is machine-readable:
#   RESULT large_mb_s=A large_rss_kb=B zip_files_s=C zip_rss_kb=D daemon_msg_s=E cached_msg_s=F verdict_rows=G distinct=H
# with ISOLATION=both also daemon_noiso_msg_s=I cached_noiso_msg_s=J (E and F are then "yes").
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
BUILD=${BUILD:-$ROOT/build}
BCCSINK=${BCCSINK:-$BUILD/bccsink}
RUNS=${RUNS:-3}
COUNT=${COUNT:-500}
CLIENTS=${CLIENTS:-10}
WORKERS=${WORKERS:-2}
LIMIT=${LIMIT:-600}
ISOLATION=${ISOLATION:-yes}
TIMEBIN=${TIMEBIN:-/usr/bin/time}

BENCH=extract.sh
# shellcheck source=lib.sh
. "$ROOT/test/bench/lib.sh"

for v in RUNS COUNT CLIENTS WORKERS LIMIT; do
  [[ ${!v} =~ ^[1-9][0-9]*$ ]] || die "$v must be a positive integer, not '${!v}'"
done
case $ISOLATION in yes | no | both) ;; *) die "ISOLATION must be yes, no or both, not '$ISOLATION'" ;; esac
for tool in python3 smtp-source sqlite3 jq xargs awk; do
  command -v "$tool" >/dev/null 2>&1 || die "'$tool' is not installed (deploy/install-deps.sh)"
done

need_binary

T=$(mktemp -d /tmp/bccsink-extract.XXXXXX)
SINK_PID=""

cleanup() {
  local rc=$?
  trap - EXIT
  if [ -n "$SINK_PID" ]; then
    kill -TERM "$SINK_PID" 2>/dev/null || true
    wait "$SINK_PID" 2>/dev/null || true
  fi
  if [ $rc -ne 0 ] && [ -s "$T/sink.log" ]; then
    echo "--- last lines of the daemon's log:" >&2
    tail -5 "$T/sink.log" >&2
  fi
  rm -rf "$T"
  exit $rc
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# ------------------------------------------------------------------------ the material
echo "== making the messages"
python3 - "$T" <<'PY'
import base64, hashlib, io, os, sys, zipfile
from email.message import EmailMessage
from email.policy import SMTP

out = sys.argv[1]


def message(subject, attachments):
    m = EmailMessage(policy=SMTP)
    m["From"], m["To"], m["Subject"] = "alice@example.org", "bob@example.com", subject
    m["Message-ID"] = "<%s@extract.bench>" % subject
    m.set_content("Please see the attachments.\n")
    for name, data, subtype in attachments:
        m.add_attachment(data, maintype="application", subtype=subtype, filename=name)
    # LF line ends: smtp-source -F adds CRLF to each line itself.
    return m.as_bytes().replace(b"\r\n", b"\n")


def write(path, data):
    with open(os.path.join(out, path), "wb") as f:
        f.write(data)


# 1. One attachment of 50 MB random bytes; 2. a zip of 1,000 small text files; and a
# message of about 1 KB for bccsink's start-up time.
big = os.urandom(50 << 20)
write("large.eml", message("large", [("large.bin", big, "octet-stream")]))
write("large.sha256", hashlib.sha256(big).hexdigest().encode() + b"\n")
buf = io.BytesIO()
with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
    for i in range(1000):
        z.writestr("notes/n%04d.txt" % i, "note %d: %s\n" % (i, base64.b64encode(os.urandom(300)).decode()))
write("zip.eml", message("zip", [("notes.zip", buf.getvalue(), "zip")]))
write("tiny.eml", message("tiny", [("tiny.txt", b"tiny\n", "octet-stream")]))
PY
python3 "$ROOT/test/bench/make_messages.py" "$T" "$COUNT"
read -r SLOTS REPEATS DISTINCT <"$T/counts"
sed 's/$/ dangerous Bench-Listed/' "$T/listed" >"$T/hashes"

# ------------------------------------------------------------------------- 1. and 2.
# measure FILE: runs `bccsink scan --json` on it and sets SECS (wall clock) and RSS (kB,
# peak resident set). The report goes to $T/scan.json.
measure() {
  local file=$1 t0 pid rc=0 hwm=0 h
  t0=$(now)
  if [ -x "$TIMEBIN" ]; then
    "$TIMEBIN" -v -o "$T/time.txt" "$BCCSINK" scan "$file" --json --DataDir "$T/scan" \
      --BccMaxMessageSize 200M >"$T/scan.json" 2>"$T/scan.err" || rc=$?
    SECS=$(since "$t0")
    RSS=$(awk -F': ' '/Maximum resident set size/ { print $2 }' "$T/time.txt")
  else
    "$BCCSINK" scan "$file" --json --DataDir "$T/scan" --BccMaxMessageSize 200M \
      >"$T/scan.json" 2>"$T/scan.err" &
    pid=$!
    while kill -0 "$pid" 2>/dev/null; do
      h=$(awk '/^VmHWM:/ { print $2 }' "/proc/$pid/status" 2>/dev/null || true)
      [ -n "$h" ] && [ "$h" -gt "$hwm" ] && hwm=$h
      sleep 0.01
    done
    wait "$pid" || rc=$?
    SECS=$(since "$t0")
    RSS=$hwm
  fi
  # 0 clean, 1 suspicious, 2 dangerous; 3 is an error.
  [ "$rc" -le 2 ] || die "bccsink scan $file: exit $rc: $(head -3 "$T/scan.err")"
}

# best FILE: RUNS measurements; BEST_SECS and BEST_RSS of the fastest.
best() {
  BEST_SECS=""
  for _ in $(seq 1 "$RUNS"); do
    measure "$1"
    if [ -z "$BEST_SECS" ] || awk -v a="$SECS" -v b="$BEST_SECS" 'BEGIN { exit !(a < b) }'; then
      BEST_SECS=$SECS
      BEST_RSS=$RSS
    fi
  done
}

[ -x "$TIMEBIN" ] || echo "   $TIMEBIN is missing: peak RSS from sampling /proc/PID/status (VmHWM)"
echo "== scan: start-up, 1 KB message, best of $RUNS"
best "$T/tiny.eml"
TINY_SECS=$BEST_SECS
TINY_RSS=$BEST_RSS

echo "== scan: 50 MB random attachment, best of $RUNS"
best "$T/large.eml"
LARGE_SECS=$BEST_SECS
LARGE_RSS=$BEST_RSS
jq -e --arg s "$(cat "$T/large.sha256")" 'any(.files[]; .size == 52428800 and .sha256 == $s)' \
  "$T/scan.json" >/dev/null || die "the 50 MB attachment is not in the report: $(jq -c '[.files[] | {name, size}]' "$T/scan.json")"
LARGE_MSG_MB=$(awk -v b="$(stat -c %s "$T/large.eml")" 'BEGIN { printf "%.1f", b / 1048576 }')
LARGE_MB_S=$(rate 50 "$LARGE_SECS")
LARGE_MSG_MB_S=$(rate "$LARGE_MSG_MB" "$LARGE_SECS")

echo "== scan: zip of 1,000 small files, best of $RUNS"
best "$T/zip.eml"
ZIP_SECS=$BEST_SECS
ZIP_RSS=$BEST_RSS
n=$(jq '[.files[] | select(.path | startswith("notes.zip > "))] | length' "$T/scan.json")
[ "$n" -eq 1000 ] || die "the zip's report lists $n members, not 1000"
ZIP_FILES_S=$(rate 1000 "$ZIP_SECS")

# ---------------------------------------------------------------------------- 3. daemon
# daemon_run MODE: the daemon section with BccExtractIsolation MODE (yes, no), on a fresh
# data folder; sets FIRST_R, SECOND_R, FIRST_SEND, FIRST_SECS, SECOND_SEND, SECOND_SECS,
# DAEMON_RSS, ROWS_FIRST, ROWS_SECOND.
daemon_run() {
  local mode=$1
  rm -rf "$T/data"
  WANT=0
  echo "== daemon: $WORKERS workers, hash list analyzer, BccExtractIsolation $mode"
  start_sink --BccWorkers "$WORKERS" --HashListFile "$T/hashes" --UseYara no --BccExtractIsolation "$mode"
  pass first "$COUNT" "$CLIENTS"
  FIRST_SEND=$SEND_SECS
  FIRST_SECS=$PASS_SECS
  ROWS_FIRST=$(sql "SELECT COUNT(*) FROM file_verdicts")
  SEEN=$(sql "SELECT COUNT(DISTINCT sha256) FROM message_files WHERE selected = 1")
  DECIDED=$(sql "SELECT MAX(decided_ms) FROM file_verdicts")
  BAD=$(wrong_verdicts)
  [ "$BAD" -eq 0 ] || die "first pass: $BAD messages with a verdict other than expected: $(wrong_examples)"
  [ "$SEEN" -eq "$DISTINCT" ] || die "the daemon found $SEEN distinct selected files, the generator made $DISTINCT"
  [ "$ROWS_FIRST" -eq "$DISTINCT" ] || die "file_verdicts has $ROWS_FIRST rows after the first pass, $DISTINCT distinct attachments"

  pass second "$COUNT" "$CLIENTS"
  SECOND_SEND=$SEND_SECS
  SECOND_SECS=$PASS_SECS
  ROWS_SECOND=$(sql "SELECT COUNT(*) FROM file_verdicts")
  BAD=$(wrong_verdicts)
  [ "$BAD" -eq 0 ] || die "second pass: $BAD messages with a verdict other than expected: $(wrong_examples)"
  [ "$ROWS_SECOND" -eq "$DISTINCT" ] || die "file_verdicts has $ROWS_SECOND rows after the second pass, not $DISTINCT"
  [ "$(sql "SELECT MAX(decided_ms) FROM file_verdicts")" = "$DECIDED" ] ||
    die "the second pass decided verdicts again: not all cache hits"
  SUBMITTED=$(sql "SELECT COUNT(*) FROM file_submissions")
  [ "$SUBMITTED" -eq 0 ] || die "$SUBMITTED submissions still in flight"
  DAEMON_RSS=$(awk '/^VmHWM:/ { print $2 }' "/proc/$SINK_PID/status")
  stop_sink
  FIRST_R=$(rate "$COUNT" "$FIRST_SECS")
  SECOND_R=$(rate "$COUNT" "$SECOND_SECS")
}

RESULT_EXTRA=""
if [ "$ISOLATION" = both ]; then
  daemon_run no
  NO_FIRST_R=$FIRST_R NO_SECOND_R=$SECOND_R NO_FIRST_SECS=$FIRST_SECS NO_SECOND_SECS=$SECOND_SECS
  NO_RSS=$DAEMON_RSS
  daemon_run yes
  RESULT_EXTRA=" daemon_noiso_msg_s=$NO_FIRST_R cached_noiso_msg_s=$NO_SECOND_R"
else
  daemon_run "$ISOLATION"
fi

# -------------------------------------------------------------------------------- report
echo
echo "extract: $(nproc) CPUs, $(awk '/^MemTotal:/ { printf "%.1f GiB", $2 / 1048576 }' /proc/meminfo)," \
  "$(uname -r), $BCCSINK"
printf '%-44s %9s %14s %12s\n' case seconds rate "peak RSS"
printf '%-44s %9s %14s %9s kB\n' "scan: start-up (1 KB message)" "$TINY_SECS" "" "$TINY_RSS"
printf '%-44s %9s %9s MB/s %9s kB\n' "scan: 50 MB attachment ($LARGE_MSG_MB MB message)" "$LARGE_SECS" \
  "$LARGE_MB_S" "$LARGE_RSS"
printf '%-44s %9s %14s\n' "" "" "($LARGE_MSG_MB_S MB/s of message)"
printf '%-44s %9s %7s files/s %9s kB\n' "scan: zip of 1,000 small files" "$ZIP_SECS" "$ZIP_FILES_S" "$ZIP_RSS"
if [ "$ISOLATION" = both ]; then
  printf '%-44s %9s %10s msg/s %9s kB\n' "daemon, isolation no: $COUNT, new files" "$NO_FIRST_SECS" "$NO_FIRST_R" "$NO_RSS"
  printf '%-44s %9s %10s msg/s\n' "daemon, isolation no: the same (cache)" "$NO_SECOND_SECS" "$NO_SECOND_R"
fi
printf '%-44s %9s %10s msg/s %9s kB\n' "daemon: $COUNT messages, new files" "$FIRST_SECS" "$FIRST_R" "$DAEMON_RSS"
printf '%-44s %9s %10s msg/s\n' "daemon: the same $COUNT again (cache)" "$SECOND_SECS" "$SECOND_R"
echo
echo "daemon: sending took $FIRST_SEND s of the first pass and $SECOND_SEND s of the second (one smtp-source" \
  "per message); the last message was checked $(awk -v a="$FIRST_SEND" -v b="$FIRST_SECS" 'BEGIN { printf "%.2f", b - a }') s" \
  "and $(awk -v a="$SECOND_SEND" -v b="$SECOND_SECS" 'BEGIN { printf "%.2f", b - a }') s after the last 250"
echo "daemon: $SLOTS attachments, $REPEATS of them drawn from the pool of 50; $DISTINCT distinct"
echo "daemon: file_verdicts rows $ROWS_FIRST after the first pass, $ROWS_SECOND after the second;" \
  "distinct attachments $DISTINCT; no verdict decided in the second pass"
echo "RESULT large_mb_s=$LARGE_MB_S large_rss_kb=$LARGE_RSS zip_files_s=$ZIP_FILES_S zip_rss_kb=$ZIP_RSS" \
  "daemon_msg_s=$FIRST_R cached_msg_s=$SECOND_R verdict_rows=$ROWS_SECOND distinct=$DISTINCT$RESULT_EXTRA"
