#!/usr/bin/env bash
# intake.sh: how fast bccsink takes in mail, against a ceiling and a durable peer.
#
# One run sends the same load with Postfix's load client
#     smtp-source -s SESSIONS -m COUNT -l SIZE -f sender@example.org -t RCPT 127.0.0.1:PORT
# (defaults: 20 sessions, 5000 messages of 10240 bytes) to these servers on loopback and
# times smtp-source from start to exit, i.e. until every message has been acknowledged:
#   1. smtp-sink      Postfix's test server. It stores nothing, so its rate is the ceiling
#                     of what smtp-source and this machine can push through SMTP at all.
#   2. postfix        a real private Postfix smtpd queueing every message to disk (fsync
#                     per message in cleanup): the durable peer bccsink must keep up with,
#                     since in production that Postfix is what sends bccsink its copies.
#   3. bccsink        `bccsink serve` with its data on disk (in the same /tmp folder):
#                     250 only once the copy is on disk (segment record fdatasync'd, SQLite
#                     row committed). Afterwards `queue list --check` must report COUNT
#                     rows, COUNT spool files and 0 problems.
#   4. bccsink tmpfs  the same binary with its data on /dev/shm: what it does when
#                     durability costs nothing (the physical limit of its own code).
#   5. bccsink idle   on disk again, with IDLE (1000) connections opened first and held
#                     idle (greeted, never a command): their memory and threads, and
#                     whether they slow the load.
# Each bccsink run prints the group committer's batch sizes from its shutdown log line.
# It then runs bccsink once more with COUNT/5 messages (fresh data dir) and prints both
# peak RSS figures (VmHWM), to show memory stays flat as the count grows.
#
# The private Postfix follows shared/postfix-test-recipe.md: its own config dir, queue and
# data directory in a mktemp folder under /tmp, inet_interfaces loopback-only,
# maillog_file written by the postlog service, every master.cf service chroot n, and
# relayhost pointing at a second local smtp-sink so nothing leaves the machine.
# always_bcc/transport_maps are left out: this measures Postfix's own intake only. It
# relays to bob@example.net, which mynetworks = 127.0.0.0/8 permits.
#
# Postfix runs at most default_process_limit (100) smtpd and cleanup processes; a client
# beyond that waits about a second for one, and with 150 sessions Postfix fell from ~900
# to ~100 msg/s. So with SESSIONS > 100 the one line added to the recipe's main.cf is
# default_process_limit = SESSIONS, as an administrator would size it. bccsink refuses
# more than SESSIONS + IDLE + 50 connections (--BccMaxConnections, and as many from the one
# client address, --BccMaxConnectionsPerIp) with 421, which fails the run.
#
# Env: COUNT, SESSIONS, SIZE (load); IDLE (idle connections, 1000); LIMIT (seconds one smtp-source run may take, 1800);
# BCCSINK (binary; default ROOT/build/bccsink, built with cmake as in the README when
# missing). Needs root (Postfix, smtp-sink -u nobody). Every server it
# starts is stopped by PID (Postfix with `postfix -c DIR stop`) on exit, error included,
# and its temp folder is removed. Only 127.0.0.1 is used.
#
# The last line is machine-readable:
#   RESULT bccsink=X msg/s tmpfs=T msg/s smtp-sink=Y msg/s postfix=Z msg/s idle=I msg/s
#          ratio_postfix=R1 ratio_tmpfs=R2 ratio_sink=R3 idle_kb=K idle_threads=N
#          rss_small_kb=A rss_large_kb=B
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
# shellcheck source=../postfix-private.sh
. "$ROOT/test/postfix-private.sh"
BCCSINK=${BCCSINK:-$ROOT/build/bccsink}
COUNT=${COUNT:-5000}
SESSIONS=${SESSIONS:-20}
SIZE=${SIZE:-10240}
LIMIT=${LIMIT:-1800}
IDLE=${IDLE:-1000}
SMALL=$((COUNT / 5))
[ "$SMALL" -ge 1 ] || SMALL=1

BENCH=intake.sh
# shellcheck source=lib.sh
. "$ROOT/test/bench/lib.sh"  # die, now, stop_pid, free_port, wait_listen (its rate is redefined below)

for v in COUNT SESSIONS SIZE LIMIT IDLE; do
  [[ ${!v} =~ ^[1-9][0-9]*$ ]] || die "$v must be a positive integer, not '${!v}'"
done
[ "$(id -u)" -eq 0 ] || die "needs root (private Postfix, smtp-sink -u nobody)"
for tool in smtp-source smtp-sink postfix ss awk timeout python3 mkfifo; do
  command -v "$tool" >/dev/null 2>&1 || die "'$tool' is not installed (deploy/install-deps.sh)"
done

if [ ! -x "$BCCSINK" ]; then
  [ "$BCCSINK" = "$ROOT/build/bccsink" ] || die "no bccsink binary at BCCSINK=$BCCSINK"
  echo "== no binary at $BCCSINK: building it"
  cmake -S "$ROOT" -B "$ROOT/build" -DCMAKE_BUILD_TYPE=Release >/dev/null
  make -C "$ROOT/build" -j2 bccsink >/dev/null
  [ -x "$BCCSINK" ] || die "build did not produce $BCCSINK"
fi

# Under /tmp: the recipe's maillog_file_prefixes = /tmp.
T=$(mktemp -d /tmp/bccsink-bench.XXXXXX)
chmod 755 "$T"
PIDS=()      # background servers, stopped by PID
PF_DIR=""    # the private Postfix's folder (postfix_private_config), once started
SHM=""       # bccsink's tmpfs data folder, once made

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
  for pid in "${PIDS[@]}"; do
    stop_pid "$pid" || true
  done
  if [ $rc -ne 0 ]; then
    for f in "$T"/*.log "$T"/postfix/maillog; do
      [ -s "$f" ] || continue
      echo "--- last lines of $f:" >&2
      tr '\r' '\n' <"$f" | tail -5 >&2
    done
  fi
  rm -rf "$T"
  [ -z "$SHM" ] || rm -rf "$SHM"
  exit $rc
}
trap cleanup EXIT
trap 'exit 130' INT TERM



rate() { awk -v n="$1" -v s="$2" 'BEGIN { printf "%.0f", (s > 0 ? n / s : 0) }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", (b > 0 ? a / b : 0) }'; }

# send NAME PORT RCPT MESSAGES: times smtp-source until its exit (every message
# acknowledged) and sets SECONDS_TAKEN. smtp-source exits non-zero on any refusal; a
# server that stops answering fails the run after LIMIT seconds.
send() {
  local name=$1 port=$2 rcpt=$3 n=$4 t0 t1
  echo "== $name: $n messages of $SIZE bytes, $SESSIONS sessions -> 127.0.0.1:$port"
  sync # the previous run's dirty pages are not this one's to write back
  t0=$(now)
  timeout "$LIMIT" smtp-source -s "$SESSIONS" -m "$n" -l "$SIZE" -f sender@example.org -t "$rcpt" \
    "127.0.0.1:$port" >"$T/source-$name.log" 2>&1 ||
    die "smtp-source against $name failed: $(tail -3 "$T/source-$name.log")"
  t1=$(now)
  SECONDS_TAKEN=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.3f", b - a }')
}

# ---------------------------------------------------------------- 1. smtp-sink (ceiling)
free_port SINK_PORT
smtp-sink -u nobody -c "127.0.0.1:$SINK_PORT" 256 >"$T/smtp-sink.log" 2>&1 &
SINK_PID=$!
PIDS+=("$SINK_PID")
wait_listen "$SINK_PORT" "$SINK_PID"
send smtp-sink "$SINK_PORT" watch@bcc.test "$COUNT"
SINK_S=$SECONDS_TAKEN
sleep 0.2
SINK_SEEN=$(tr '\r' '\n' <"$T/smtp-sink.log" | grep -o 'mesg=[0-9]*' | tail -1 | cut -d= -f2)
[ "${SINK_SEEN:-0}" -eq "$COUNT" ] || die "smtp-sink counted ${SINK_SEEN:-0} messages, not $COUNT"
stop_pid "$SINK_PID" || true

# ------------------------------------------------------- 2. private Postfix (durable peer)
P=$T/postfix
free_port RELAY_PORT
free_port SMTPD_PORT
postfix_private_config "$P" "$SMTPD_PORT" "$RELAY_PORT"
[ "$SESSIONS" -le 100 ] || echo "default_process_limit = $SESSIONS" >>"$P/etc/main.cf"
# The relayhost: a second smtp-sink, so the queued mail goes nowhere.
smtp-sink -u nobody -4 "127.0.0.1:$RELAY_PORT" 100 >"$T/relay-sink.log" 2>&1 &
RELAY_PID=$!
PIDS+=("$RELAY_PID")
wait_listen "$RELAY_PORT" "$RELAY_PID"
postfix -c "$P/etc" check >"$T/postfix-start.log" 2>&1 || die "postfix check: $(tail -3 "$T/postfix-start.log")"
PF_DIR=$P
postfix -c "$P/etc" start >>"$T/postfix-start.log" 2>&1 || die "postfix start: $(tail -3 "$T/postfix-start.log")"
wait_listen "$SMTPD_PORT"
send postfix "$SMTPD_PORT" bob@example.net "$COUNT"
PF_S=$SECONDS_TAKEN
# Every message was queued (qmgr logs each once as it enters the active queue) and went
# on to the local relay sink; wait for the queue to drain so bccsink gets an idle machine.
t0=$(now)
for _ in $(seq 1 1200); do
  [ "$(grep -c 'status=sent' "$P/maillog" 2>/dev/null || true)" -ge "$COUNT" ] && break
  sleep 0.1
done
PF_DRAIN=$(awk -v a="$t0" -v b="$(now)" 'BEGIN { printf "%.1f", b - a }')
PF_QUEUED=$(grep -c 'nrcpt=1 (queue active)' "$P/maillog" || true)
PF_SENT=$(grep -c 'status=sent' "$P/maillog" || true)
[ "$PF_QUEUED" -eq "$COUNT" ] || die "postfix queued $PF_QUEUED messages, not $COUNT"
[ "$PF_SENT" -eq "$COUNT" ] || echo "   warning: only $PF_SENT of $COUNT relayed on after ${PF_DRAIN} s"
echo "   postfix: $PF_QUEUED queued, $PF_SENT relayed to the local sink (${PF_DRAIN} s after the last acknowledgement)"
stop_postfix
stop_pid "$RELAY_PID" || true

# ---------------------------------------------------------------------------- 3. bccsink
# run_bccsink NAME MESSAGES PARENT [IDLE]: `bccsink serve` with its DataDir in PARENT/NAME,
# optionally with IDLE connections opened first and held idle (greeted, never a command)
# while the load runs. Sets BCC_S (seconds), BCC_HWM (peak RSS, kB), BCC_BATCH (the
# committer's "N messages in M batches (mean X, max Y)"), BCC_THREADS (threads at the end
# of the load) and, with IDLE, IDLE_KB / IDLE_THREADS (RSS and threads added by opening
# the idle connections).
run_bccsink() {
  local name=$1 n=$2 parent=$3 idle=${4:-0} port pid data=$3/$1 check rss0 thr0 holder=""
  free_port port
  "$BCCSINK" serve --User '' --BccSocket "127.0.0.1:$port" --HttpSocket 127.0.0.1:0 --BccDomains bcc.test --DataDir "$data" \
    --BccMaxConnections $((SESSIONS + idle + 50)) --BccMaxConnectionsPerIp $((SESSIONS + idle + 50)) \
    >"$T/$name.log" 2>&1 &
  pid=$!
  PIDS+=("$pid")
  wait_listen "$port" "$pid"
  IDLE_KB=0
  IDLE_THREADS=0
  if [ "$idle" -gt 0 ]; then
    rss0=$(awk '/^VmRSS:/ { print $2 }' "/proc/$pid/status")
    thr0=$(ls "/proc/$pid/task" | wc -l)
    rm -f "$T/idle.in" && mkfifo "$T/idle.in"
    python3 "$ROOT/test/bench/idle_connections.py" 127.0.0.1 "$port" "$idle" <"$T/idle.in" >"$T/idle.out" 2>&1 &
    holder=$!
    PIDS+=("$holder")
    exec 7>"$T/idle.in" # the holder keeps its connections until this closes
    for _ in $(seq 1 600); do
      grep -q '^open ' "$T/idle.out" && break
      kill -0 "$holder" 2>/dev/null || die "idle connection holder failed: $(tail -2 "$T/idle.out")"
      sleep 0.1
    done
    grep -q "^open $idle greeted $idle\$" "$T/idle.out" || die "idle connections: $(cat "$T/idle.out")"
    sleep 1 # let the server settle (allocations of the new sessions)
    IDLE_KB=$(($(awk '/^VmRSS:/ { print $2 }' "/proc/$pid/status") - rss0))
    IDLE_THREADS=$(($(ls "/proc/$pid/task" | wc -l) - thr0))
    echo "   $idle idle connections open: +$IDLE_KB kB RSS, +$IDLE_THREADS threads"
  fi
  send "$name" "$port" watch@bcc.test "$n"
  BCC_S=$SECONDS_TAKEN
  BCC_HWM=$(awk '/^VmHWM:/ { print $2 }' "/proc/$pid/status")
  BCC_THREADS=$(ls "/proc/$pid/task" | wc -l)
  if [ -n "$holder" ]; then
    exec 7>&-
    stop_pid "$holder" || true
  fi
  stop_pid "$pid" || die "$name: bccsink did not stop cleanly on SIGTERM (status $?)"
  BCC_BATCH=$(sed -n 's/.*intake: \([0-9]* messages in [0-9]* batches ([^)]*)\).*/\1/p' "$T/$name.log" | tail -1)
  echo "   group commit: ${BCC_BATCH:-no batch line in the log}"
  check=$("$BCCSINK" queue list --DataDir "$data" --check | tail -1) || true
  echo "   $check"
  [ "$check" = "check: $n rows, $n spool files, 0 problems" ] ||
    die "$name: expected 'check: $n rows, $n spool files, 0 problems', got '$check'"
  rm -rf "$data"
}

# The same binary with durability costing nothing: its data on tmpfs (RAM).
SHM=$(mktemp -d /dev/shm/bccsink-bench.XXXXXX)
[ "$(stat -f -c %T "$SHM")" = tmpfs ] || die "/dev/shm is not a tmpfs"
# IDLE connections plus the load's, in bccsink and in the holder: the soft limit up to the
# hard one (root in a container may not raise the hard limit).
ulimit -n "$(ulimit -Hn)"
[ "$(ulimit -n)" = unlimited ] || [ "$(ulimit -n)" -ge $((IDLE + SESSIONS + 200)) ] ||
  die "open files limit $(ulimit -n) is below IDLE + SESSIONS + 200"

run_bccsink bccsink "$COUNT" "$T"
BCC_DISK_S=$BCC_S
RSS_DISK=$BCC_HWM
BATCH_DISK=$BCC_BATCH
THREADS_DISK=$BCC_THREADS
run_bccsink bccsink-tmpfs "$COUNT" "$SHM"
BCC_TMPFS_S=$BCC_S
BATCH_TMPFS=$BCC_BATCH
run_bccsink bccsink-idle "$COUNT" "$T" "$IDLE"
BCC_IDLE_S=$BCC_S
THREADS_IDLE=$BCC_THREADS
IDLE_RSS_KB=$IDLE_KB
IDLE_THR=$IDLE_THREADS
run_bccsink bccsink-small "$SMALL" "$T"
RSS_SMALL=$BCC_HWM
rm -rf "$SHM"

# -------------------------------------------------------------------------------- report
SINK_R=$(rate "$COUNT" "$SINK_S")
PF_R=$(rate "$COUNT" "$PF_S")
BCC_R=$(rate "$COUNT" "$BCC_DISK_S")
TMPFS_R=$(rate "$COUNT" "$BCC_TMPFS_S")
IDLE_R=$(rate "$COUNT" "$BCC_IDLE_S")
RATIO_PF=$(ratio "$BCC_R" "$PF_R")
RATIO_TMPFS=$(ratio "$BCC_R" "$TMPFS_R")
RATIO_SINK=$(ratio "$BCC_R" "$SINK_R")
RATIO_IDLE=$(ratio "$IDLE_R" "$BCC_R")

echo
echo "intake: smtp-source -s $SESSIONS -m $COUNT -l $SIZE, $(nproc) CPUs, $(uname -r), $(date -u +%F)"
printf '%-34s %10s %10s %10s\n' server messages seconds msg/s
printf '%-34s %10s %10s %10s\n' "smtp-sink (stores nothing)" "$COUNT" "$SINK_S" "$SINK_R"
printf '%-34s %10s %10s %10s\n' "postfix smtpd (queue on disk)" "$COUNT" "$PF_S" "$PF_R"
printf '%-34s %10s %10s %10s\n' "bccsink, data on disk" "$COUNT" "$BCC_DISK_S" "$BCC_R"
printf '%-34s %10s %10s %10s\n' "bccsink, data on tmpfs" "$COUNT" "$BCC_TMPFS_S" "$TMPFS_R"
printf '%-34s %10s %10s %10s\n' "bccsink, disk, $IDLE idle conns" "$COUNT" "$BCC_IDLE_S" "$IDLE_R"
echo
echo "bccsink disk / postfix:        $RATIO_PF   (target >= 3)"
echo "bccsink disk / bccsink tmpfs:  $RATIO_TMPFS   (target >= 0.8)"
echo "bccsink disk / smtp-sink:      $RATIO_SINK   (stretch >= 0.5)"
echo "with $IDLE idle / without:      $RATIO_IDLE"
echo "group commit, disk:  $BATCH_DISK"
echo "group commit, tmpfs: $BATCH_TMPFS"
echo "$IDLE idle connections cost $IDLE_RSS_KB kB RSS and $IDLE_THR threads; threads under load: $THREADS_DISK (with the idle ones: $THREADS_IDLE)"
echo "bccsink peak RSS (VmHWM): $RSS_SMALL kB with $SMALL messages, $RSS_DISK kB with $COUNT messages"
echo "RESULT bccsink=$BCC_R msg/s tmpfs=$TMPFS_R msg/s smtp-sink=$SINK_R msg/s postfix=$PF_R msg/s idle=$IDLE_R msg/s ratio_postfix=$RATIO_PF ratio_tmpfs=$RATIO_TMPFS ratio_sink=$RATIO_SINK idle_kb=$IDLE_RSS_KB idle_threads=$IDLE_THR rss_small_kb=$RSS_SMALL rss_large_kb=$RSS_DISK"
