#!/usr/bin/env bash
# smtp-mode.sh: what SMTP mode (issue 16) costs a Postfix: throughput and added latency of
#     Postfix -> bccsink (SmtpSocket, hold, re-injection) -> Postfix -> smtp-sink
# against
#     Postfix -> smtp-sink
# in one run, on ONE private Postfix configured from the shipped snippets
# (deploy/postfix/main.cf.smtp-mode, master.cf.smtp-mode, ports changed by sed): its port
# SMTPPORT has the content filter, and a second smtpd, PLAINPORT, is the same Postfix with
# `-o content_filter= -o receive_override_options=` (no filter). Both relay to one
# smtp-sink (relayhost), which stores nothing.
#
# 1. Throughput: `smtp-source -s SESSIONS -m COUNT -l SIZE` (2000 messages of 4 KiB, 20
#    sessions, no attachments) into PLAINPORT, then into SMTPPORT. msg/s = COUNT divided by
#    the time from smtp-source's start until Postfix's maillog shows the COUNT-th
#    `status=sent` to the relayhost (end to end, since the filter's cost is on the way out
#    of the queue, not in smtpd); smtp-source's own time (intake) is printed too.
# 2. Added latency, light load (LAT messages started RATE a second, 200 at 20/s, one
#    `smtp-source -m 1 -F` each),
#    for messages without attachments and for messages whose attachment (a PDF, which the
#    vxCube emulator analyses) has its verdict cached already (the same PDF sent once
#    first, its verdict awaited). Per message, from Postfix's maillog (delays logged in
#    ms: delay_logging_resolution_limit = 3) and bccsink's hold queue:
#      alone:   d     = delay= of the delivery to the relayhost (arrival to smtp-sink's 250)
#      filter:  d1    = delay= of the delivery to bccsink (arrival to SmtpSocket's 250;
#                       the reply names bccsink's queue id)
#               hold  = held.delivered_ms - held.held_ms in bccsink's database: from its 250
#                       to the return smtpd's 250 (issue 16's "added latency from 250 to
#                       re-injection", goal p99 <= 1 s); the relay's reply names Postfix's
#                       new queue id
#               d2    = delay= of that queue id's delivery to the relayhost
#               e2e   = d1 + hold + d2
#    Added latency at p50 (p99) = e2e's p50 (p99) - alone's p50 (p99). Both clocks are the
#    machine's; the legs do not overlap (each starts at the previous one's 250), apart from
#    the return smtpd's DATA phase, counted in both hold and d2 (a few ms).
#
# Env: COUNT (2000), SESSIONS (20), SIZE (4096), LAT (200), RATE (20), LIMIT (seconds a phase may
# take, 600), BCCSINK (default ROOT/build/bccsink; vxcube-emulator beside it). Needs root
# (Postfix). Every server is stopped by PID (Postfix with `postfix -c DIR stop`), its temp
# folder removed; 127.0.0.1 only. It measures, it does not judge a figure, but it fails
# when a message is refused, not delivered, or delivered other than once.
#
# The last line is machine-readable:
#   RESULT alone=X msg/s filter=Y msg/s ratio=R plain_hold_p50=.. plain_hold_p99=..
#          plain_added_p50=.. plain_added_p99=.. cached_hold_p50=.. cached_hold_p99=..
#          cached_added_p50=.. cached_added_p99=.. (latencies in ms)
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
# shellcheck source=../postfix-private.sh
. "$ROOT/test/postfix-private.sh"
BCCSINK=${BCCSINK:-$ROOT/build/bccsink}
BUILD=$(dirname "$BCCSINK")
EMULATOR=$BUILD/vxcube-emulator
COUNT=${COUNT:-2000}
SESSIONS=${SESSIONS:-20}
SIZE=${SIZE:-4096}
LAT=${LAT:-200}
RATE=${RATE:-20}
LIMIT=${LIMIT:-600}
# shellcheck disable=SC2034 # read by lib.sh (die)
BENCH=smtp-mode.sh
PATH=$PATH:/usr/sbin:/usr/lib/postfix/sbin
# shellcheck source=lib.sh
. "$ROOT/test/bench/lib.sh" # die, now, since, stop_pid, need_binary, free_port, wait_listen

for v in COUNT SESSIONS SIZE LAT RATE LIMIT; do
  [[ ${!v} =~ ^[1-9][0-9]*$ ]] || die "$v must be a positive integer, not '${!v}'"
done
[ "$(id -u)" -eq 0 ] || die "needs root (private Postfix)"
for tool in smtp-source smtp-sink postfix postconf ss awk python3 sqlite3 curl jq; do
  command -v "$tool" >/dev/null 2>&1 || die "'$tool' is not installed (deploy/install-deps.sh)"
done
need_binary
[ -x "$EMULATOR" ] || die "no vxcube-emulator beside $BCCSINK (ninja -C $BUILD vxcube-emulator)"

T=$(mktemp -d /tmp/bccsink-bench.XXXXXX) # under /tmp: maillog_file_prefixes = /tmp
chmod 755 "$T"
PIDS=()
PF_DIR=""
SINK_PID=""
P=$T/postfix
DB=$T/data/bccsink.db

stop_postfix() {
  [ -n "$PF_DIR" ] || return 0
  local dir=$PF_DIR
  PF_DIR=""
  postfix_private_stop "$dir"
}
cleanup() {
  local rc=$?
  trap - EXIT
  stop_postfix
  for pid in "${PIDS[@]}"; do stop_pid "$pid" || true; done
  if [ $rc -ne 0 ]; then
    for f in "$T"/*.log "$P/maillog"; do
      [ -s "$f" ] || continue
      echo "--- last lines of $f:" >&2
      tail -5 "$f" >&2
    done
  fi
  rm -rf "$T"
  exit $rc
}
trap cleanup EXIT
trap 'exit 130' INT TERM

free_port SMTPPORT
free_port PLAINPORT
free_port RELAYPORT
free_port FILTERPORT
free_port RETURNPORT
free_port BCCPORT

# ------------------------------------------------------------------------------ servers
smtp-sink -u nobody -4 "127.0.0.1:$RELAYPORT" 256 >"$T/relay-sink.log" 2>&1 &
PIDS+=($!)
wait_listen "$RELAYPORT"

"$EMULATOR" --listen 127.0.0.1:0 --api-key bench-key --analysis-ms 2000 >"$T/emulator.log" 2>&1 &
PIDS+=($!)
for _ in $(seq 1 100); do grep -q "listening on" "$T/emulator.log" && break; sleep 0.1; done
VX_PORT=$(sed -nE 's/.*listening on [^ ]*:([0-9]+).*/\1/p' "$T/emulator.log" | head -1)
[ -n "$VX_PORT" ] || die "the emulator did not start: $(cat "$T/emulator.log")"

"$BCCSINK" serve --User '' --BccSocket "127.0.0.1:$BCCPORT" --BccDomains bcc.test --DataDir "$T/data" \
  --BccHostname bench.test --BccMaxConnections 200 --BccMaxConnectionsPerIp 200 \
  --SmtpSocket "127.0.0.1:$FILTERPORT" --SmtpSenderRelay "127.0.0.1:$RETURNPORT" \
  --UseVxcube yes --VxcubeApiAddress "http://127.0.0.1:$VX_PORT/api-2.0/" --VxcubeApiKey bench-key \
  --VxcubePollInterval 1s >"$T/sink.log" 2>&1 &
SINK_PID=$!
PIDS+=("$SINK_PID")
wait_listen "$FILTERPORT"

postfix_private_config "$P" "$SMTPPORT" "$RELAYPORT"
sed -e "s/127\.0\.0\.1\]:10025/127.0.0.1]:$FILTERPORT/" "$ROOT/deploy/postfix/main.cf.smtp-mode" >>"$P/etc/main.cf"
sed -e "s/^127\.0\.0\.1:10026 /127.0.0.1:$RETURNPORT /" "$ROOT/deploy/postfix/master.cf.smtp-mode" >>"$P/etc/master.cf"
[ "$SESSIONS" -le 100 ] || echo "default_process_limit = $SESSIONS" >>"$P/etc/main.cf"
echo "delay_logging_resolution_limit = 3" >>"$P/etc/main.cf"
cat >>"$P/etc/master.cf" <<CF
127.0.0.1:$PLAINPORT inet n - n - - smtpd
  -o syslog_name=postfix/plain
  -o content_filter=
  -o receive_override_options=
CF
postfix -c "$P/etc" check >"$T/postfix-start.log" 2>&1 || die "postfix check: $(cat "$T/postfix-start.log")"
PF_DIR=$P
postfix -c "$P/etc" start >>"$T/postfix-start.log" 2>&1 || die "postfix start: $(cat "$T/postfix-start.log")"
wait_listen "$SMTPPORT"
wait_listen "$PLAINPORT"
wait_listen "$RETURNPORT"

relayed() { grep -c "relay=127.0.0.1\[127.0.0.1\]:$RELAYPORT, .*status=sent" "$P/maillog" || true; }
# wait_relayed N: until N messages in all went to the relayhost; fails after LIMIT.
wait_relayed() {
  local t0
  t0=$(now)
  while [ "$(relayed)" -lt "$1" ]; do
    awk -v s="$(since "$t0")" -v l="$LIMIT" 'BEGIN { exit !(s > l) }' &&
      die "only $(relayed) of $1 messages relayed after $LIMIT s"
    sleep 0.1
  done
}

# --------------------------------------------------------------------- 1. throughput
# through NAME PORT: COUNT messages; sets INTAKE_S and E2E_S.
DONE=0
# CPU the machine spent (every process, user + system, in ms), and bccsink alone: where a
# phase's CPU went, since on a small machine the phase is bound by it.
cpu_all() { awk '/^cpu / { print ($2 + $3 + $4 + $7 + $8) * 1000 / '"$(getconf CLK_TCK)"' }' /proc/stat; }
cpu_sink() { awk '{ print ($14 + $15) * 1000 / '"$(getconf CLK_TCK)"' }' "/proc/$SINK_PID/stat"; }

through() {
  local name=$1 port=$2 t0 all0 sink0
  echo "== $name: smtp-source -s $SESSIONS -m $COUNT -l $SIZE -> 127.0.0.1:$port"
  sync
  all0=$(cpu_all)
  sink0=$(cpu_sink)
  t0=$(now)
  timeout "$LIMIT" smtp-source -s "$SESSIONS" -m "$COUNT" -l "$SIZE" -f sender@example.org \
    -t bob@example.net "127.0.0.1:$port" >"$T/source-$name.log" 2>&1 ||
    die "smtp-source ($name): $(tail -3 "$T/source-$name.log")"
  INTAKE_S=$(since "$t0")
  DONE=$((DONE + COUNT))
  wait_relayed "$DONE"
  E2E_S=$(since "$t0")
  CPU_ALL_MS=$(awk -v a="$(cpu_all)" -v b="$all0" -v n="$COUNT" 'BEGIN { printf "%.2f", (a - b) / n }')
  CPU_SINK_MS=$(awk -v a="$(cpu_sink)" -v b="$sink0" -v n="$COUNT" 'BEGIN { printf "%.2f", (a - b) / n }')
  echo "   intake $INTAKE_S s, last delivery $E2E_S s; CPU a message: $CPU_ALL_MS ms in all, bccsink $CPU_SINK_MS ms"
}
through alone "$PLAINPORT"
ALONE_INTAKE=$INTAKE_S
ALONE_S=$E2E_S
ALONE_CPU=$CPU_ALL_MS
through filter "$SMTPPORT"
FILTER_INTAKE=$INTAKE_S
FILTER_S=$E2E_S
FILTER_CPU=$CPU_ALL_MS
FILTER_SINK_CPU=$CPU_SINK_MS
sleep 1
[ "$(relayed)" -eq "$DONE" ] || die "$(relayed) deliveries to the relayhost, not $DONE"
HELD=$(sqlite3 "$DB" "SELECT COUNT(*) FROM held WHERE state = 'delivered'")
[ "$HELD" -eq "$COUNT" ] || die "$HELD messages delivered by bccsink, not $COUNT"
THROUGH_HOLD=$(sqlite3 "$DB" "SELECT delivered_ms - held_ms FROM held" | sort -n |
  awk '{ v[NR] = $1 } END { printf "%d/%d", v[int((NR - 1) * 0.5) + 1], v[int((NR - 1) * 0.99) + 1] }')
# Where that hold went, mean ms per stage: taken -> checked (the analysis workers),
# checked -> decided (the hold stage's deciding thread), decided -> delivered (re-injection).
STAGES=$(sqlite3 -separator ' ' "$DB" "SELECT
  CAST(AVG((julianday(m.checked_at) - 2440587.5) * 86400000.0 - h.held_ms) AS INT),
  CAST(AVG(h.decided_ms - (julianday(m.checked_at) - 2440587.5) * 86400000.0) AS INT),
  CAST(AVG(h.delivered_ms - h.decided_ms) AS INT)
  FROM held h JOIN messages m ON m.id = h.msg_id")

# --------------------------------------------------------------------- 2. latency
python3 - "$T" "$LAT" <<'PY'
import base64, os, random, sys
from email.message import EmailMessage
from email.policy import SMTP
T, n = sys.argv[1], int(sys.argv[2])
rng = random.Random(16)
body = base64.urlsafe_b64encode(bytes(rng.randrange(256) for _ in range(30000)))
PDF = (b"%PDF-1.4\n1 0 obj\n<< /Length " + str(len(body)).encode() + b" >>\nstream\n" + body +
       b"\nendstream\nendobj\ntrailer\n<< /Root 1 0 R >>\n%%EOF\n")
def write(folder, name, pdf):
    os.makedirs(os.path.join(T, folder), exist_ok=True)
    m = EmailMessage(policy=SMTP)
    m["From"], m["To"], m["Subject"] = "sender@example.org", "bob@example.net", name
    m["Message-ID"] = "<%s.%s@bench.test>" % (folder, name)
    m.set_content("Latency probe %s.\n" % name)
    if pdf:
        m.add_attachment(PDF, maintype="application", subtype="pdf", filename="offer.pdf")
    open(os.path.join(T, folder, name + ".eml"), "wb").write(m.as_bytes().replace(b"\r\n", b"\n"))
for i in range(n):
    for folder, pdf in (("plain-a", False), ("plain-f", False), ("cached-a", True), ("cached-f", True)):
        write(folder, "%04d" % i, pdf)
write("first", "first", True)
PY

# probe FOLDER PORT: each message of $T/FOLDER, one `smtp-source -m 1 -F` each, started
# RATE a second (an open loop: the load does not grow when a server slows down, so the
# figures are latency, not queueing behind a backlog); waits until all are relayed. Sets
# MARK, the maillog line number the phase starts after.
probe() {
  local f pids=() pid gap
  MARK=$(wc -l <"$P/maillog")
  gap=$(awk -v r="$RATE" 'BEGIN { printf "%.4f", 1 / r }')
  for f in $(find "$T/$1" -name '*.eml' | sort); do
    smtp-source -m 1 -F "$f" -f sender@example.org -t bob@example.net "127.0.0.1:$2" \
      >>"$T/probe-$1.log" 2>&1 &
    pids+=($!)
    sleep "$gap"
  done
  for pid in "${pids[@]}"; do
    wait "$pid" || die "smtp-source ($1): $(tail -3 "$T/probe-$1.log")"
  done
  DONE=$((DONE + ${#pids[@]}))
  wait_relayed "$DONE"
  sleep 0.5
}
# latency MARK MODE: per-message milliseconds from the maillog after line MARK (and the
# hold queue): MODE alone prints d, MODE filter prints "e2e hold".
latency() {
  tail -n +"$(($1 + 1))" "$P/maillog" >"$T/phase.log"
  sqlite3 -separator ' ' "$DB" "SELECT msg_id, delivered_ms - held_ms, relay_reply FROM held" >"$T/held.txt"
  python3 - "$T/phase.log" "$T/held.txt" "$2" "$RELAYPORT" "$FILTERPORT" <<'PY'
import re, sys
log, held, mode, relay, filt = sys.argv[1:]
sent = {}  # queue id -> (port, delay s, reply)
line_re = re.compile(r"\]: ([0-9A-F]+): to=<[^>]*>, relay=127\.0\.0\.1\[127\.0\.0\.1\]:(\d+), "
                     r".*?delay=([0-9.]+), .*status=sent \((.*)\)")
for line in open(log):
    m = line_re.search(line)
    if m:
        sent[m.group(1)] = (m.group(2), float(m.group(3)), m.group(4))
hold = {}
for line in open(held):
    parts = line.rstrip("\n").split(" ", 2)
    if len(parts) == 3 and parts[1]:
        hold[parts[0]] = (int(parts[1]), parts[2])
queued = lambda reply: (re.search(r"queued as (\S+)", reply) or [None, None])[1]
for qid, (port, d, reply) in sent.items():
    if mode == "alone" and port == relay:
        print(round(d * 1000))
    elif mode == "filter" and port == filt:
        h = hold.get(queued(reply))
        if not h:
            continue
        leg2 = sent.get(queued(h[1]))
        if leg2 and leg2[0] == relay:
            print(round(d * 1000 + h[0] + leg2[1] * 1000), h[0])
PY
}
pct() { # pct COLUMN < numbers: "p50 p99 n"
  awk -v c="$1" '{ print $c }' | sort -n | awk '{ v[NR] = $1 } END {
    if (NR == 0) { print "- - 0"; exit }
    printf "%d %d %d\n", v[int((NR - 1) * 0.5) + 1], v[int((NR - 1) * 0.99) + 1], NR }'
}
# measure CLASS: the alone and filter probes of CLASS; sets CLASS_* figures.
measure() {
  local class=$1
  echo "== latency, $class: $LAT messages, $RATE a second, alone then through bccsink"
  probe "$class-a" "$PLAINPORT"
  latency "$MARK" alone >"$T/$class-alone.txt"
  probe "$class-f" "$SMTPPORT"
  # The relayhost can have the last message before bccsink has recorded the return smtpd's
  # 250 (a Durable commit): read again for a few seconds until every message matches.
  for _ in $(seq 1 20); do
    latency "$MARK" filter >"$T/$class-filter.txt"
    [ "$(wc -l <"$T/$class-filter.txt")" -lt "$LAT" ] || break
    sleep 0.5
  done
  [ "$(wc -l <"$T/$class-alone.txt")" -eq "$LAT" ] || die "$class: $(wc -l <"$T/$class-alone.txt") alone deliveries matched, not $LAT"
  [ "$(wc -l <"$T/$class-filter.txt")" -eq "$LAT" ] || die "$class: $(wc -l <"$T/$class-filter.txt") filtered deliveries matched, not $LAT"
  read -r A50 A99 _ < <(pct 1 <"$T/$class-alone.txt")
  read -r E50 E99 _ < <(pct 1 <"$T/$class-filter.txt")
  read -r H50 H99 _ < <(pct 2 <"$T/$class-filter.txt")
  printf -v "${class}_line" '%-28s %8s %8s %8s %8s %8s %8s %8s %8s' "$class" "$A50" "$A99" "$E50" "$E99" \
    "$H50" "$H99" "$((E50 - A50))" "$((E99 - A99))"
  printf -v "${class}_result" '%s_hold_p50=%s %s_hold_p99=%s %s_added_p50=%s %s_added_p99=%s' \
    "$class" "$H50" "$class" "$H99" "$class" "$((E50 - A50))" "$class" "$((E99 - A99))"
}
measure plain
# The PDF once, then its verdict in the cache (vxCube emulator: 2 s per analysis).
smtp-source -m 1 -F "$T/first/first.eml" -f sender@example.org -t bob@example.net "127.0.0.1:$SMTPPORT" \
  >"$T/first.log" 2>&1 || die "smtp-source (first): $(cat "$T/first.log")"
DONE=$((DONE + 1))
wait_relayed "$DONE"
measure cached

# ----------------------------------------------------------------------------- report
stop_pid "$SINK_PID" || die "bccsink did not stop cleanly on SIGTERM"
ALONE_R=$(rate "$COUNT" "$ALONE_S")
FILTER_R=$(rate "$COUNT" "$FILTER_S")
RATIO=$(awk -v a="$FILTER_R" -v b="$ALONE_R" 'BEGIN { printf "%.2f", (b > 0 ? a / b : 0) }')
echo
echo "smtp-mode: $(date -u '+%F %H:%M') UTC, $(lscpu | sed -n 's/^Model name: *//p'), $(nproc) CPUs"
echo "throughput: smtp-source -s $SESSIONS -m $COUNT -l $SIZE (no attachments), until the last delivery"
printf '%-34s %10s %10s %10s\n' path "intake s" "e2e s" "msg/s"
printf '%-34s %10s %10s %10s\n' "Postfix -> smtp-sink" "$ALONE_INTAKE" "$ALONE_S" "$ALONE_R"
printf '%-34s %10s %10s %10s\n' "Postfix -> bccsink -> Postfix" "$FILTER_INTAKE" "$FILTER_S" "$FILTER_R"
echo "ratio filter / alone: $RATIO   (goal >= 0.5)"
echo "CPU a message (the machine's, every process): alone $ALONE_CPU ms, through bccsink $FILTER_CPU ms, of which bccsink $FILTER_SINK_CPU ms ($(nproc) CPUs)"
echo "bccsink hold (250 -> relay 250) under that load, p50/p99: $THROUGH_HOLD ms"
read -r ST_CHECK ST_DECIDE ST_DELIVER <<<"$STAGES"
echo "  of which, mean: taken -> checked $ST_CHECK ms, checked -> decided $ST_DECIDE ms, decided -> delivered $ST_DELIVER ms"
echo
echo "latency, ms, $LAT messages a class, $RATE a second (alone = Postfix only; e2e = d1 + hold + d2)"
printf '%-28s %8s %8s %8s %8s %8s %8s %8s %8s\n' class "alone50" "alone99" "e2e50" "e2e99" \
  "hold50" "hold99" "added50" "added99"
echo "${plain_line:?}"
echo "${cached_line:?}"
echo "goal: hold p99 <= 1000 ms"
echo "RESULT alone=$ALONE_R msg/s filter=$FILTER_R msg/s ratio=$RATIO ${plain_result:?} ${cached_result:?}"
