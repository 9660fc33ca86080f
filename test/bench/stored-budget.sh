#!/usr/bin/env bash
# stored-budget.sh: issue 18, finding 4 at the size it was found. One message of MEMBERS
# zip members of MEMBER_MB MiB each, compressible about 60:1 (under the default
# BccArchiveMaxRatio of 100), goes by SMTP into `bccsink serve` with its defaults
# (BccMaxStoredPerMessage 200M); the script waits until it is checked and prints what it
# wrote into DataDir/files, and the daemon's peak RSS (VmHWM): the files not kept wait in
# memory for the analyzers (YARA, the default) instead.
#
#   make the zip (python3 zipfile) --swaks--> bccsink serve --> worker: extraction
#     --> DataDir/files up to max(200M, 10 x message) --> the rest from memory --> checked
#
# Env: BUILD (default ROOT/build), BCCSINK ($BUILD/bccsink; another binary, e.g. a build
# of the commit before, gives the "before" figure), MEMBERS (5), MEMBER_MB (99), LIMIT
# (seconds, 600), ARGS (more options for serve). Needs python3, swaks, sqlite3. Only
# 127.0.0.1; the daemon is stopped by PID on exit, error included; the temp folder removed.
#
# The last line is machine-readable:
#   RESULT message_bytes=A unpacked_bytes=B files_bytes=C peak_rss_kb=D seconds=E verdict=F
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
BUILD=${BUILD:-$ROOT/build}
BCCSINK=${BCCSINK:-$BUILD/bccsink}
MEMBERS=${MEMBERS:-5}
MEMBER_MB=${MEMBER_MB:-99}
LIMIT=${LIMIT:-600}
BENCH=stored-budget
T=$(mktemp -d /tmp/bccsink-bench-budget.XXXXXX)
PIDS=()
SINK_PID=""
# shellcheck source=lib.sh
. "$ROOT/test/bench/lib.sh"
cleanup() {
  [ -n "$SINK_PID" ] && stop_pid "$SINK_PID" || true
  rm -rf "$T"
}
trap cleanup EXIT
for tool in python3 swaks sqlite3; do
  command -v "$tool" >/dev/null || die "needs $tool"
done
need_binary

echo "== making a message of $MEMBERS members of $MEMBER_MB MiB"
python3 - "$T" "$MEMBERS" "$MEMBER_MB" <<'PY'
import io, os, random, sys, zipfile
from email.message import EmailMessage

t, members, mb = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
rnd = random.Random(18)
# One random byte in 256 zeros: deflate makes about 60:1 of it (within its 32 KiB window).
chunk = bytearray(1 << 20)
for i in range(0, len(chunk), 256):
    chunk[i] = rnd.randrange(1, 256)
buf = io.BytesIO()
with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
    for n in range(members):
        with z.open("part%d.com" % (n + 1), "w", force_zip64=True) as w:
            for _ in range(mb):
                w.write(bytes([n + 1]) + bytes(chunk[1:]))
m = EmailMessage()
m["From"], m["To"], m["Subject"] = "alice@example.org", "bob@example.com", "parts"
m["Message-ID"] = "<parts@bench.test>"
m.set_content("Parts, attached.\n")
m.add_attachment(buf.getvalue(), maintype="application", subtype="zip", filename="parts.zip")
open(os.path.join(t, "parts.eml"), "wb").write(m.as_bytes())
PY
SIZE=$(stat -c %s "$T/parts.eml")
echo "   $SIZE bytes, $((MEMBERS * MEMBER_MB)) MiB unpacked"

# shellcheck disable=SC2086
start_sink ${ARGS:-}
t0=$(now)
swaks --server "127.0.0.1:$PORT" --from alice@example.org --to watch@bcc.test \
  --data "@$T/parts.eml" >"$T/swaks.out" 2>&1 || die "swaks: $(tail -3 "$T/swaks.out")"
while :; do
  state=$(sql "SELECT state FROM messages LIMIT 1")
  case "$state" in checked | reported) break ;; failed) die "failed: $(sql "SELECT reason FROM messages")" ;; esac
  awk -v s="$(since "$t0")" -v l="$LIMIT" 'BEGIN { exit !(s > l) }' && die "not checked after $LIMIT s"
  sleep 0.2
done
SECS=$(since "$t0")
RSS=$(awk '/^VmHWM/ { print $2 }' "/proc/$SINK_PID/status")
FILES=0
[ -d "$T/data/files" ] && FILES=$(du -sb "$T/data/files" | cut -f1)
VERDICT=$(sql "SELECT verdict FROM messages LIMIT 1")
NOTKEPT=$(sql "SELECT COUNT(*) FROM message_files WHERE not_kept IS NOT NULL" 2>/dev/null || echo "-")
echo "   checked $VERDICT in $SECS s; DataDir/files: $FILES bytes; files not kept: $NOTKEPT; peak RSS $RSS kB"
stop_sink
echo "RESULT message_bytes=$SIZE unpacked_bytes=$((MEMBERS * MEMBER_MB << 20)) files_bytes=$FILES peak_rss_kb=$RSS seconds=$SECS verdict=$VERDICT"
