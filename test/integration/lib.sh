# Shared helpers for the integration scenarios (sourced by each t-*/run.sh).
# Every server a scenario starts is registered here and stopped by PID on exit.
set -euo pipefail

BCCSINK=${BCCSINK:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)/build/bccsink}
T=$(mktemp -d /tmp/bccsink-it.XXXXXX)
# The administrator's commands see the daemon's configuration (one --config file in
# production); here the daemon's name is on its command line (start_sink), so the
# commands get it the same way. A message's content and report are read by the sink
# named in its row only; a command given a name or a file of its own keeps it. `exec`
# keeps a daemon's PID the one start_sink registers.
BCCSINK_BIN=$BCCSINK
BCCSINK=$T/bccsink
# As root (CI), serve would switch to User (bccsink), who cannot search the 0700 mktemp
# folders the scenarios keep their data in: every serve here stays who started it
# (--User '') unless the scenario names a User itself (t-18-privileges).
cat >"$BCCSINK" <<EOF
#!/bin/sh
if [ "\$1" = serve ]; then
  case " \$* " in
    *" --User "* | *" --User="*) ;;
    *) set -- "\$@" --User '' ;;
  esac
fi
for arg in "\$@"; do
  case "\$arg" in --BccHostname | --SinkName | --config) exec "$BCCSINK_BIN" "\$@" ;; esac
done
case "\$1" in
  queue | report | stats) exec "$BCCSINK_BIN" "\$@" --BccHostname sink.test ;;
  *) exec "$BCCSINK_BIN" "\$@" ;;
esac
EOF
chmod 0755 "$BCCSINK"
PIDS=()
AT_EXIT=()
PASSED=0

cleanup() {
  local rc=$?
  for pid in "${PIDS[@]}"; do
    kill -TERM "$pid" 2>/dev/null || true
  done
  for pid in "${PIDS[@]}"; do
    wait "$pid" 2>/dev/null || true
  done
  if [ $rc -ne 0 ] && [ -f "$T/sink.log" ]; then
    echo "--- last lines of the daemon's log:"
    tail -20 "$T/sink.log"
  fi
  local log cmd
  for log in "$T"/sink-*.log; do
    [ $rc -ne 0 ] && [ -f "$log" ] || continue
    echo "--- last lines of $(basename "$log"):"
    tail -20 "$log"
  done
  # What at_exit registered, after the daemons are gone (a database they use, say).
  for cmd in "${AT_EXIT[@]}"; do
    eval "$cmd" || true
  done
  rm -rf "$T"
  exit $rc
}
trap cleanup EXIT

fail() {
  echo "FAIL: $*" >&2
  exit 1
}

ok() {
  PASSED=$((PASSED + 1))
  echo "ok - $*"
}

# A scenario whose tool is missing fails loudly instead of passing silently.
need() {
  for tool in "$@"; do
    command -v "$tool" >/dev/null 2>&1 || fail "required tool '$tool' is not installed (deploy/install-deps.sh)"
  done
  [ -x "$BCCSINK_BIN" ] || fail "no bccsink binary at $BCCSINK_BIN"
}

# start_sink DATADIR [--Name value ...]: starts the daemon on a free loopback port and
# sets SINK_PID, SINK_PORT. The log goes to $T/sink.log (appended across restarts).
start_sink() {
  start_sink_logging "$T/sink.log" "$@"
}

# start_sink_logging LOG DATADIR [--Name value ...]: start_sink with its log in LOG.
# Reports are one mail per message (BccReportGroupWindow 0) unless the scenario sets
# REPORT_GROUP_WINDOW (t-18-report-storm): the scenarios count mails per message.
start_sink_logging() {
  local log=$1 data=$2
  shift 2
  local mark
  mark=0
  [ -f "$log" ] && mark=$(wc -l <"$log")
  "$BCCSINK" serve --BccSocket "${SOCKET:-127.0.0.1:0}" --BccDomains "${DOMAINS:-bcc.test}" \
    --HttpSocket "${HTTP_SOCKET:-127.0.0.1:0}" \
    --DataDir "$data" --BccHostname sink.test --BccReportGroupWindow "${REPORT_GROUP_WINDOW:-0}" \
    "$@" >>"$log" 2>&1 &
  SINK_PID=$!
  PIDS+=("$SINK_PID")
  SINK_LOG=$log
  SINK_MARK=$mark
  for _ in $(seq 1 100); do
    local line
    line=$(tail -n +"$((mark + 1))" "$log" | grep -m1 " bccsink: listening on " || true)
    if [ -n "$line" ]; then
      SINK_PORT=$(echo "$line" | sed -E 's/.*listening on [^ ]*:([0-9]+) .*/\1/')
      return 0
    fi
    kill -0 "$SINK_PID" 2>/dev/null || fail "bccsink exited at start: $(tail -3 "$log")"
    sleep 0.1
  done
  fail "bccsink did not start listening"
}

# sink_http_port: the HTTP port of the daemon started last, from its own "http listening
# on" line (logged after the SMTP one: a restart's log still holds the earlier run's).
sink_http_port() {
  local line
  for _ in $(seq 1 50); do
    line=$(tail -n +"$((SINK_MARK + 1))" "$SINK_LOG" | grep -m1 "http listening on " || true)
    if [ -n "$line" ]; then
      echo "$line" | sed -E 's/.*http listening on [^ ]*:([0-9]+).*/\1/'
      return 0
    fi
    sleep 0.1
  done
  echo "no 'http listening on' line in $SINK_LOG" >&2
  return 1
}

# Several daemons at once (t-15), each known by its SinkName.
declare -A NAMED_PID NAMED_PORT NAMED_HTTP NAMED_DATA

# start_named_sink NAME DATADIR [--Name value ...]: a daemon with --SinkName NAME, its log
# in $T/sink-NAME.log (appended across restarts); sets NAMED_PID[NAME], NAMED_PORT[NAME]
# (SMTP), NAMED_HTTP[NAME] (its "http listening on" port, when it has one) and
# NAMED_DATA[NAME], and SINK_PID, SINK_PORT as start_sink does.
start_named_sink() {
  local name=$1 data=$2 log=$T/sink-$1.log mark=0 line
  shift 2
  [ -f "$log" ] && mark=$(wc -l <"$log")
  start_sink_logging "$log" "$data" --SinkName "$name" "$@"
  NAMED_PID[$name]=$SINK_PID
  NAMED_PORT[$name]=$SINK_PORT
  NAMED_DATA[$name]=$data
  NAMED_HTTP[$name]=""
  for _ in $(seq 1 50); do
    line=$(tail -n +"$((mark + 1))" "$log" | grep -m1 "http listening on " || true)
    if [ -n "$line" ]; then
      NAMED_HTTP[$name]=$(echo "$line" | sed -E 's/.*http listening on [^ ]*:([0-9]+).*/\1/')
      break
    fi
    [ "${HTTP_SOCKET-x}" = "" ] && break
    sleep 0.1
  done
}

# forget_pid PID: a process this scenario reaped itself is not signalled again at exit
# (its PID may belong to another process by then).
forget_pid() {
  local p rest=()
  for p in "${PIDS[@]}"; do
    [ "$p" = "$1" ] || rest+=("$p")
  done
  PIDS=("${rest[@]}")
}

# stop_named_sink NAME: SIGTERM by PID; fails unless it stops cleanly.
stop_named_sink() {
  local pid=${NAMED_PID[$1]}
  kill -TERM "$pid"
  wait "$pid" || fail "bccsink $1 did not stop cleanly"
  forget_pid "$pid"
}

# kill_named_sink NAME: SIGKILL by PID, reaped.
kill_named_sink() {
  local pid=${NAMED_PID[$1]}
  kill -KILL "$pid"
  wait "$pid" 2>/dev/null || true
  forget_pid "$pid"
}

# at_exit COMMAND: run by the EXIT trap after every registered process is stopped (a
# server the daemons depend on, so it outlives them), keeping the scenario's exit status.
at_exit() {
  AT_EXIT+=("$1")
}

stop_sink() {
  kill -TERM "$SINK_PID"
  wait "$SINK_PID" || fail "bccsink did not stop cleanly"
}

# smtp_dialogue PORT: sends stdin (CRLF added per line) in one write, as a pipelining
# client does, and prints the server's replies.
smtp_dialogue() {
  local port=$1
  exec 9<>"/dev/tcp/127.0.0.1/$port"
  sed 's/$/\r/' >&9
  timeout 10 cat <&9 | tr -d '\r' || true
  exec 9<&-
}

queue_json() {
  "$BCCSINK" queue list --json --DataDir "$1"
}

# spooled_message DATADIR ID: the message as the spool holds it (a segment record or a
# file of its own), through `queue show --raw`.
spooled_message() {
  "$BCCSINK" queue show "$2" --raw --DataDir "$1"
}

finish() {
  echo "$PASSED passed, 0 failed"
}

# start_clamd DIR: a real clamd (Debian's clamav-daemon) in DIR with one signature, the
# MD5 of clamav-testfiles' clam.exe written by ClamAV's own `sigtool --md5` and named
# BccSink.Test.ClamExe (clamd reports it with .UNOFFICIAL); no downloaded database is
# needed. Registered for the stop by PID; sets CLAMD_SOCKET.
start_clamd() {
  local dir=$1 exe=/usr/share/clamav-testfiles/clam.exe
  mkdir -p "$dir/db" "$dir/tmp"
  sigtool --md5 "$exe" | sed 's/:[^:]*$/:BccSink.Test.ClamExe/' >"$dir/db/test.hdb"
  grep -q '^[0-9a-f]\{32\}:'"$(stat -c %s "$exe")"':BccSink.Test.ClamExe$' "$dir/db/test.hdb" ||
    fail "sigtool --md5 gave $(cat "$dir/db/test.hdb")"
  cat >"$dir/clamd.conf" <<CONF
Foreground yes
LocalSocket $dir/clamd.sock
DatabaseDirectory $dir/db
TemporaryDirectory $dir/tmp
LogFile $dir/clamd.log
PidFile $dir/clamd.pid
CONF
  clamd --config-file="$dir/clamd.conf" >"$dir/out" 2>&1 &
  PIDS+=($!)
  for _ in $(seq 1 600); do [ -S "$dir/clamd.sock" ] && break; sleep 0.1; done
  [ -S "$dir/clamd.sock" ] || fail "clamd did not start: $(tail -5 "$dir/out")"
  CLAMD_SOCKET=$dir/clamd.sock
}

# free_ports N: N distinct free loopback ports, below the kernel's ephemeral range so that
# no port-0 bind (bccsink's, the emulator's) can take one of them meanwhile; one line.
free_ports() {
  python3 - "$1" <<'PY'
import random, socket, sys
low = int(open("/proc/sys/net/ipv4/ip_local_port_range").read().split()[0])
found = []
while len(found) < int(sys.argv[1]):
    port = random.randrange(max(1024, low - 12000), low)
    if port in found:
        continue
    s = socket.socket()
    try:
        s.bind(("127.0.0.1", port))
        found.append(port)
    except OSError:
        pass
    finally:
        s.close()
print(*found)
PY
}

# port_open PORT: something accepts connections on 127.0.0.1:PORT.
port_open() { (exec 8<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# wait_until SECONDS WHAT COMMAND...: polls COMMAND every 0.2 s until it succeeds; fails
# the scenario after SECONDS, naming WHAT.
wait_until() {
  local limit=$1 what=$2 t0=$SECONDS
  shift 2
  until "$@"; do
    [ $((SECONDS - t0)) -lt "$limit" ] || fail "timed out after ${limit}s waiting for $what"
    sleep 0.2
  done
}
