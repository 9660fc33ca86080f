#!/usr/bin/env bash
# t-18-isolate: messages are parsed in forked, seccomp-confined parser processes that hold
# nothing of the daemon's (issue 18, finding 3; sandbox/extract/README.md, "Isolation").
#
#   swaks --> bccsink serve (threads; database, spool, lock, listeners)
#                 |  fork at start-up, before any thread
#                 v
#             parser master: fds 0-2 on /dev/null + 1 control socket
#                 |  fork per worker (BccExtractWorkers), replaced after BccExtractWorkerMessages
#                 v
#             parser process: Seccomp 2, NoNewPrivs 1; fds 0-2 /dev/null + its socket
#
# 1. With the default BccExtractIsolation = yes, three copies with EICAR attached are
#    checked and reported; the master and every parser process hold no file of the
#    daemon (no database, spool, lock, listening socket) and the parsers run under a
#    seccomp filter with no_new_privs.
#    Every parser runs with oom_score_adj 1000 and an address-space cap (RLIMIT_AS).
# 2. SIGKILL to the daemon: the master and its parsers are gone too (bounded wait).
# 3. BccExtractIsolation = no: no parser process, the copy is still checked.
# 4. SIGKILL to the parser master (what an escaped parser would do to stop scanning): the
#    next copy is not silently unscanned but "evasion: parser unavailable", suspicious;
#    the log says so once at critical level, /metrics counts it (event="master_gone").
# shellcheck source-path=SCRIPTDIR source=../lib.sh
. "${TESTLIB:-$(dirname "$0")/../lib.sh}"
need swaks jq curl

DATA=$T/data
printf '%s' 'X5O!P%@AP[4\PZX54(P^)7CC)7}$EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*' >"$T/eicar.com"

# send N: one copy with EICAR attached; prints its queue id.
send() {
  swaks --server "127.0.0.1:$SINK_PORT" --from alice@example.org --to watch@bcc.test \
    --header "Message-Id: <t18.$1@example.org>" --attach @"$T/eicar.com" >"$T/swaks.out" 2>&1 ||
    fail "swaks failed: $(tail -5 "$T/swaks.out")"
  sed -n 's/.*250 2.0.0 Ok: queued as \([0-9A-Z]*\).*/\1/p' "$T/swaks.out"
}

# analysed ID: true once the copy is checked or already reported.
analysed() {
  local s
  s=$(queue_json "$DATA" | jq -r "select(.id == \"$1\") | .state")
  [ "$s" = checked ] || [ "$s" = reported ]
}

wait_analysed() {
  for _ in $(seq 1 150); do
    analysed "$1" && return 0
    sleep 0.1
  done
  fail "copy $1 not analysed: $(queue_json "$DATA")"
}

children() { ps -o pid= --ppid "$1" | tr -d ' '; }

# only_devnull_and_one_socket PID WHAT: its descriptors are 0-2 on /dev/null and one socket.
only_devnull_and_one_socket() {
  local pid=$1 what=$2 fd name target sockets=0
  for fd in /proc/"$pid"/fd/*; do
    target=$(readlink "$fd") || continue
    name=${fd##*/}
    if [ "$name" -le 2 ] && [ "$target" = /dev/null ]; then
      continue
    elif [ "${target#socket:}" != "$target" ]; then
      sockets=$((sockets + 1))
    else
      fail "$what (pid $pid) holds fd $name -> $target"
    fi
  done
  [ "$sockets" -eq 1 ] || fail "$what (pid $pid) holds $sockets sockets, not 1"
}

# ------------------------------------------------------------------------------ 1.
start_sink "$DATA" --BccExtractWorkers 2 --BccExtractWorkerMessages 2
grep -q "extraction: 2 parser processes (seccomp)" "$T/sink.log" || fail "no isolation line in the log"
ids=()
for n in 1 2 3; do
  id=$(send "$n")
  [ ${#id} -eq 26 ] || fail "no queue id in the 250 reply"
  ids+=("$id")
done
for id in "${ids[@]}"; do wait_analysed "$id"; done
ok "three copies analysed by parser processes"

master=$(children "$SINK_PID")
[ "$(echo "$master" | wc -w)" -eq 1 ] || fail "the daemon has children '$master', not one master"
only_devnull_and_one_socket "$master" "the parser master"
workers=$(children "$master")
[ -n "$workers" ] || fail "the master has no parser process after three messages"
for w in $workers; do
  grep -q '^Seccomp:[[:space:]]*2' "/proc/$w/status" || fail "parser $w is not under a seccomp filter"
  grep -q '^NoNewPrivs:[[:space:]]*1' "/proc/$w/status" || fail "parser $w has no no_new_privs"
  only_devnull_and_one_socket "$w" "parser process"
  [ "$(cat "/proc/$w/oom_score_adj")" = 1000 ] || fail "parser $w: oom_score_adj $(cat "/proc/$w/oom_score_adj")"
  grep -Eq '^Max address space +[0-9]+ ' "/proc/$w/limits" || fail "parser $w has no RLIMIT_AS"
done
ok "master and $(echo "$workers" | wc -w) parser process(es) hold only /dev/null and their socket; parsers under seccomp"

# ------------------------------------------------------------------------------ 2.
kill -KILL "$SINK_PID"
wait "$SINK_PID" 2>/dev/null || true
forget_pid "$SINK_PID"
gone=""
for _ in $(seq 1 50); do
  gone=yes
  for p in $master $workers; do
    # A zombie waiting for init to reap it counts as gone.
    st=$(ps -o stat= -p "$p" 2>/dev/null || true)
    [ -n "$st" ] && [ "${st#Z}" = "$st" ] && gone=""
  done
  [ -n "$gone" ] && break
  sleep 0.1
done
[ -n "$gone" ] || fail "the parser master or a parser outlived the daemon's SIGKILL"
ok "the master and its parsers die with the daemon"

# ------------------------------------------------------------------------------ 3.
start_sink "$DATA" --BccExtractIsolation no
grep -q "extraction: in the daemon's process" "$T/sink.log" || fail "no in-process line in the log"
id=$(send 4)
wait_analysed "$id"
[ -z "$(children "$SINK_PID")" ] || fail "BccExtractIsolation no, yet the daemon has children"
ok "BccExtractIsolation no: parsed in the daemon, no parser process"
stop_sink

# ------------------------------------------------------------------------------ 4.
DATA=$T/data4
start_sink "$DATA"
http=""
for _ in $(seq 1 50); do
  http=$(grep "http listening on" "$T/sink.log" | tail -1 | sed -E 's/.*http listening on [^ ]*:([0-9]+).*/\1/')
  [ -n "$http" ] && break
  sleep 0.1
done
[ -n "$http" ] || fail "no 'http listening on' line in the log"
id=$(send 5)
wait_analysed "$id"
master=$(children "$SINK_PID")
[ "$(echo "$master" | wc -w)" -eq 1 ] || fail "the daemon has children '$master', not one master"
kill -KILL "$master"
ids=()
for n in 6 7; do
  id=$(send "$n")
  wait_analysed "$id"
  ids+=("$id")
done
for id in "${ids[@]}"; do
  row=$(queue_json "$DATA" | jq -c "select(.id == \"$id\")")
  v=$(echo "$row" | jq -r .verdict)
  [ "$v" = suspicious ] || fail "copy $id after the master's death: verdict $v, not suspicious: $row"
done
"$BCCSINK" queue show "${ids[0]}" --DataDir "$DATA" >"$T/show.txt" 2>&1 || true
grep -q "evasion: parser unavailable" "$T/show.txt" || fail "no 'evasion: parser unavailable' in: $(cat "$T/show.txt")"
[ "$(grep -c "until bccsink restarts" "$T/sink.log")" -eq 1 ] ||
  fail "not one critical line for the master's death: $(grep -i "parser" "$T/sink.log" | tail -5)"
gone=$(curl -sS "http://127.0.0.1:$http/metrics" | awk '$1 == "bccsink_parser_events_total{event=\"master_gone\"}" { print $2 }')
[ "$gone" = 2 ] || fail "bccsink_parser_events_total{event=\"master_gone\"} is '$gone', not 2"
ok "a killed master makes each copy 'evasion: parser unavailable', suspicious, logged once, counted"
stop_sink
finish
