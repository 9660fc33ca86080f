# lib.sh: what the daemon benchmarks share (sourced by extract.sh, analyze.sh, intake.sh,
# postgres.sh and smtp-mode.sh).
# The caller sets BENCH (its name, for messages), BCCSINK, BUILD, T (its temp folder) and
# LIMIT (seconds a pass may take), and stops SINK_PID itself on exit.

die() {
  echo "$BENCH: $*" >&2
  exit 1
}

now() { date +%s.%N; }
since() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.3f", b - a }'; }
rate() { awk -v n="$1" -v s="$2" 'BEGIN { printf "%.1f", (s > 0 ? n / s : 0) }'; }

# stop_pid PID (one of the caller's PIDS array): SIGTERM (SIGKILL after 10 s), reaps it, forgets it; returns its status.
stop_pid() {
  local pid=$1 p rest=() rc=0
  for p in "${PIDS[@]}"; do
    [ "$p" = "$pid" ] || rest+=("$p")
  done
  PIDS=("${rest[@]}")
  kill -TERM "$pid" 2>/dev/null || true
  for _ in $(seq 1 100); do
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  kill -KILL "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || rc=$?
  return $rc
}

# need_binary: builds $BUILD/bccsink (Release) when it is the binary asked for and missing;
# warns when the binary's build folder is not a Release build.
need_binary() {
  if [ ! -x "$BCCSINK" ]; then
    [ "$BCCSINK" = "$BUILD/bccsink" ] || die "no bccsink binary at BCCSINK=$BCCSINK"
    echo "== no binary at $BCCSINK: building it (Release)"
    cmake -S "$ROOT" -B "$BUILD" -DCMAKE_BUILD_TYPE=Release >/dev/null
    cmake --build "$BUILD" -j"$(nproc)" >/dev/null
    [ -x "$BCCSINK" ] || die "build did not produce $BCCSINK"
  fi
  if [ -f "$(dirname "$BCCSINK")/CMakeCache.txt" ]; then
    local type
    type=$(sed -n 's/^CMAKE_BUILD_TYPE:STRING=//p' "$(dirname "$BCCSINK")/CMakeCache.txt")
    [ "$type" = Release ] || echo "   warning: $BCCSINK is a '${type:-no type}' build, not Release"
  fi
}

# start_sink ARGS...: `bccsink serve` on 127.0.0.1 (a port the kernel picks) with data in
# $T/data and ARGS; sets SINK_PID, PORT, DB.
start_sink() {
  DB=$T/data/bccsink.db
  "$BCCSINK" serve --User '' --BccSocket 127.0.0.1:0 --HttpSocket 127.0.0.1:0 --BccDomains bcc.test --DataDir "$T/data" \
    --BccHostname bench.test --BccMaxConnections 200 --BccMaxConnectionsPerIp 200 "$@" >"$T/sink.log" 2>&1 &
  SINK_PID=$!
  PORT=""
  for _ in $(seq 1 100); do
    PORT=$(sed -n 's/.* bccsink: listening on [^ ]*:\([0-9]*\) .*/\1/p' "$T/sink.log" | head -1)
    [ -n "$PORT" ] && return 0
    kill -0 "$SINK_PID" 2>/dev/null || die "bccsink exited at start: $(tail -3 "$T/sink.log")"
    sleep 0.1
  done
  die "bccsink did not start listening"
}

# stop_sink: SIGTERM by PID; fails the run when bccsink does not stop cleanly.
stop_sink() {
  kill -TERM "$SINK_PID"
  wait "$SINK_PID" || die "bccsink did not stop cleanly on SIGTERM"
  SINK_PID=""
}

sql() { sqlite3 -batch "$DB" "$@"; }

# pass NAME COUNT CLIENTS: sends $T/msg/*.eml, one `smtp-source -m 1 -F FILE` each,
# CLIENTS at a time, and waits until the queue holds WANT (a running total the caller
# starts at 0) analysed messages: `checked`, or `reported` already (a message the reporter
# took moves on from checked). Sets SEND_SECS (until the last 250) and PASS_SECS (until
# the last message is analysed). A failed message fails the run.
WANT=0
pass() {
  local name=$1 count=$2 clients=$3 t0 checked failed
  WANT=$((WANT + count))
  echo "== daemon, $name: $count messages, $clients smtp-source at a time -> 127.0.0.1:$PORT"
  t0=$(now)
  find "$T/msg" -name 'm*.eml' | sort | xargs -P "$clients" -I{} \
    smtp-source -m 1 -F {} -f alice@example.org -t watch@bcc.test "127.0.0.1:$PORT" \
    >"$T/source-$name.log" 2>&1 || die "smtp-source: $(tail -3 "$T/source-$name.log")"
  SEND_SECS=$(since "$t0")
  while :; do
    checked=$(sql "SELECT COUNT(*) FROM messages WHERE state IN ('checked', 'reported')")
    [ "$checked" -ge "$WANT" ] && break
    failed=$(sql "SELECT COUNT(*) FROM messages WHERE state = 'failed'")
    [ "$failed" -eq 0 ] || die "$failed messages failed: $(sql "SELECT reason FROM messages WHERE state = 'failed' LIMIT 1")"
    awk -v s="$(since "$t0")" -v l="$LIMIT" 'BEGIN { exit !(s > l) }' &&
      die "$name: only $checked of $WANT checked after $LIMIT s"
    sleep 0.05
  done
  PASS_SECS=$(since "$t0")
}

# wrong_verdicts: how many messages have a verdict other than $T/expected.tsv's; their
# Message-ID, expected and stored verdict go to $T/wrong.tsv (wrong_examples prints some).
wrong_verdicts() {
  sql -separator $'\t' "SELECT header_message_id, verdict FROM messages" | sort >"$T/got.tsv"
  awk -F'\t' 'NR == FNR { want[$1] = $2; next } want[$1] != $2 { print $1 "\t" want[$1] "\t" $2 }' \
    <(sort "$T/expected.tsv") "$T/got.tsv" >"$T/wrong.tsv"
  wc -l <"$T/wrong.tsv"
}
wrong_examples() {
  head -5 "$T/wrong.tsv" | awk -F'\t' '{ printf "%s%s expected %s, got %s", (NR > 1 ? "; " : ""), $1, $2, $3 }'
}

# free_port VAR: a loopback TCP port below the ephemeral range (so smtp-source's own
# connections cannot take it), with no socket on it at all, not handed out before.
TAKEN=" "
free_port() {
  local low p
  low=$(awk '{print $1}' /proc/sys/net/ipv4/ip_local_port_range)
  [ "$low" -gt 12000 ] || low=60000
  for _ in $(seq 1 200); do
    p=$((10000 + (RANDOM * 32768 + RANDOM) % (low - 10000)))
    case $TAKEN in *" $p "*) continue ;; esac
    [ -z "$(ss -tanH "sport = :$p")" ] || continue
    TAKEN+="$p "
    printf -v "$1" '%s' "$p"
    return 0
  done
  die "no free port found"
}

# wait_listen PORT [PID]: until something listens on 127.0.0.1:PORT (and PID still lives).
wait_listen() {
  local port=$1 pid=${2:-}
  for _ in $(seq 1 200); do
    [ -n "$(ss -ltnH "src 127.0.0.1 and sport = :$port")" ] && return 0
    if [ -n "$pid" ] && ! kill -0 "$pid" 2>/dev/null; then
      die "server (pid $pid) for port $port exited before listening"
    fi
    sleep 0.05
  done
  die "nothing listening on 127.0.0.1:$port after 10 s"
}
