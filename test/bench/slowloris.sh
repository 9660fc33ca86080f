#!/usr/bin/env bash
# slowloris.sh: legitimate mail during a slowloris attack, bccsink against Postfix.
#
# An attacker on 127.0.0.2 (or SOURCES addresses from 127.0.0.2 on, N/SOURCES each)
# holds N (300) connections, each sending one byte of a command every INTERVAL (3) seconds
# and opened again a second after the server closes it (slow_clients.py slowloris
# --reconnect). A legitimate client on 127.0.0.1 sends M (20) messages one after the
# other, each `swaks` on a connection of its own, first with no attack, then WARMUP (15)
# seconds into the attack (past the 10 s grace of the rate bounds, so connections are
# being cut and opened again). For each server it prints messages
# accepted / sent and their median and slowest latency (swaks from start to exit, a
# perl start included), and what the attacker got (connections greeted, cut).
#   1. bccsink with its defaults (BccMaxConnections 100, BccMaxConnectionsPerIp 20,
#      BccMinDataRate 500, BccSessionTimeout 30m, BccSendTimeout 2m).
#   2. ALLOWED=1 (optional): bccsink with BccAllowedClients 127.0.0.1/32, as production
#      sets it to its MTAs: the attacker gets 554 and is closed at once, and the last
#      BccReservedConnections (10) slots are never its.
#   3. BEFORE (optional): another bccsink binary, e.g. one built before issue 18.
#   4. a private Postfix smtpd on loopback (test/postfix-private.sh, as intake.sh starts
#      it) with its defaults: 100 smtpd processes at most, stress-dependent timeouts (10 s
#      and per-request deadlines with smtpd_min_data_rate 500 once every process is
#      busy), smtpd_client_connection_count_limit 50. Its mynetworks is 127.0.0.1/32 here,
#      so that the attacker is not exempt from that limit as a trusted client would be;
#      the legitimate client relays to bob@example.net through a local smtp-sink.
#
# Env: N, SOURCES, INTERVAL, M, WARMUP, LIMIT (seconds one swaks may take, 120), BCCSINK (default
# ROOT/build/bccsink), ALLOWED, BEFORE (a second bccsink binary; default none). Needs root (Postfix,
# smtp-sink -u nobody), swaks, python3. Every server is stopped by PID (Postfix with
# `postfix -c DIR stop`) on exit, error included; only loopback addresses are used.
#
# The last line is machine-readable:
#   RESULT bccsink_quiet=A/M,Xs bccsink_attack=B/M,Ys postfix_quiet=... postfix_attack=...
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
# shellcheck source=../postfix-private.sh
. "$ROOT/test/postfix-private.sh"
BCCSINK=${BCCSINK:-$ROOT/build/bccsink}
BEFORE=${BEFORE:-}
ALLOWED=${ALLOWED:-}
N=${N:-300}
INTERVAL=${INTERVAL:-3}
M=${M:-20}
WARMUP=${WARMUP:-15}
SOURCES=${SOURCES:-1}
LIMIT=${LIMIT:-120}
BUILD=$ROOT/build
BENCH=slowloris.sh
# shellcheck source=lib.sh
. "$ROOT/test/bench/lib.sh"
CLIENTS=$ROOT/test/bench/slow_clients.py

for v in N SOURCES INTERVAL M WARMUP LIMIT; do
  [[ ${!v} =~ ^[1-9][0-9]*$ ]] || die "$v must be a positive integer, not '${!v}'"
done
[ "$(id -u)" -eq 0 ] || die "needs root (private Postfix, smtp-sink -u nobody)"
for tool in swaks smtp-sink postfix ss awk python3 jq; do
  command -v "$tool" >/dev/null 2>&1 || die "'$tool' is not installed (deploy/install-deps.sh)"
done
need_binary
[ -z "$BEFORE" ] || [ -x "$BEFORE" ] || die "no binary at BEFORE=$BEFORE"
ulimit -n "$(ulimit -Hn)"

T=$(mktemp -d /tmp/bccsink-bench.XXXXXX)
chmod 755 "$T"
PIDS=()
PF_DIR=""
cleanup() {
  local rc=$?
  trap - EXIT
  [ -z "$PF_DIR" ] || postfix_private_stop "$PF_DIR"
  for pid in "${PIDS[@]}"; do stop_pid "$pid" || true; done
  if [ $rc -ne 0 ]; then
    for f in "$T"/*.log "$T"/postfix/maillog; do
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

# legit NAME PORT RCPT: M messages from 127.0.0.1, one swaks each; sets OK (accepted),
# MEDIAN and WORST (seconds).
legit() {
  local name=$1 port=$2 rcpt=$3 i t0
  : >"$T/$name.lat"
  OK=0
  for i in $(seq 1 "$M"); do
    t0=$(now)
    if swaks --server "127.0.0.1:$port" --local-interface 127.0.0.1 --timeout "$LIMIT" \
      --from alice@example.org --to "$rcpt" --h-Subject "legitimate $i" >"$T/$name-$i.out" 2>&1 &&
      grep -q '^<-  250 .*[Qq]ueued' "$T/$name-$i.out"; then
      OK=$((OK + 1))
    fi
    since "$t0" >>"$T/$name.lat"
    echo >>"$T/$name.lat"
  done
  MEDIAN=$(sort -n "$T/$name.lat" | awk '{ v[NR] = $1 } END { printf "%.2f", (NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2) }')
  WORST=$(sort -n "$T/$name.lat" | tail -1 | awk '{ printf "%.2f", $1 }')
}

# measure NAME PORT RCPT: the quiet pass, then the attacked one; prints both, and sets
# RESULT_<NAME>.
declare -A RESULT
measure() {
  local name=$1 port=$2 rcpt=$3 attackers=() quiet s pid
  legit "$name-quiet" "$port" "$rcpt"
  quiet="$OK/$M median ${MEDIAN}s worst ${WORST}s"
  RESULT[${name}_quiet]="$OK/$M,${MEDIAN}s"
  for s in $(seq 1 "$SOURCES"); do
    python3 "$CLIENTS" slowloris 127.0.0.1 "$port" "127.0.0.$((s + 1))" $((N / SOURCES)) "$INTERVAL" 3600 \
      --reconnect >"$T/$name-attack-$s.json" 2>"$T/$name-attack-$s.err" &
    attackers+=($!)
    PIDS+=($!)
  done
  sleep "$WARMUP"
  legit "$name-attack" "$port" "$rcpt"
  for pid in "${attackers[@]}"; do stop_pid "$pid" || true; done
  RESULT[${name}_attack]="$OK/$M,${MEDIAN}s"
  printf '%-22s quiet: %-32s attacked: %s/%s median %ss worst %ss\n' "$name" "$quiet" "$OK" "$M" "$MEDIAN" "$WORST"
  cat "$T/$name"-attack-*.json 2>/dev/null | jq -rs 'if length == 0 then "no figures" else
    "\(map(.connections) | add) connections, \(map(.greeted) | add) greeted, first replies \(reduce (map(.first)[] | to_entries[]) as $e ({}; .[$e.key] += $e.value) | to_entries | map("\(.key) x\(.value)") | join(", ")), \(map(.cut) | add) of the greeted cut by the server (after \(map(.cut_after_min) | min)-\(map(.cut_after_max) | max) s: \(map(.cut_replies) | add | unique | join("; ")))" end' |
    sed 's/^/                       attacker: /'
}

# run_bccsink NAME BINARY [ARGS...]: `serve` with its defaults and ARGS, measured, stopped.
run_bccsink() {
  local name=$1 binary=$2 port pid
  shift 2
  free_port port
  "$binary" serve --BccSocket "127.0.0.1:$port" --HttpSocket 127.0.0.1:0 --BccDomains bcc.test \
    --DataDir "$T/$name" --BccHostname bench.test "$@" >"$T/$name.log" 2>&1 &
  pid=$!
  PIDS+=("$pid")
  wait_listen "$port" "$pid"
  measure "$name" "$port" watch@bcc.test
  stop_pid "$pid" || die "$name did not stop cleanly"
}

echo "slowloris: $N connections from $SOURCES address(es) from 127.0.0.2 on, a byte every $INTERVAL s; $M legitimate messages from 127.0.0.1; $(nproc) CPUs, $(uname -r), $(date -u +%F)"
run_bccsink bccsink "$BCCSINK"
[ -z "$ALLOWED" ] || run_bccsink bccsink-allowlist "$BCCSINK" --BccAllowedClients 127.0.0.1/32
[ -z "$BEFORE" ] || run_bccsink bccsink-before "$BEFORE"

P=$T/postfix
free_port RELAY_PORT
free_port SMTPD_PORT
postfix_private_config "$P" "$SMTPD_PORT" "$RELAY_PORT"
sed -i 's|^mynetworks = .*|mynetworks = 127.0.0.1/32|' "$P/etc/main.cf"
smtp-sink -u nobody -4 "127.0.0.1:$RELAY_PORT" 100 >"$T/relay-sink.log" 2>&1 &
PIDS+=($!)
wait_listen "$RELAY_PORT"
postfix -c "$P/etc" check >"$T/postfix-start.log" 2>&1 || die "postfix check: $(tail -3 "$T/postfix-start.log")"
PF_DIR=$P
postfix -c "$P/etc" start >>"$T/postfix-start.log" 2>&1 || die "postfix start: $(tail -3 "$T/postfix-start.log")"
wait_listen "$SMTPD_PORT"
measure postfix "$SMTPD_PORT" bob@example.net
postfix_private_stop "$P"
PF_DIR=""

line="RESULT"
for k in bccsink_quiet bccsink_attack bccsink-allowlist_quiet bccsink-allowlist_attack bccsink-before_quiet bccsink-before_attack postfix_quiet postfix_attack; do
  [ -z "${RESULT[$k]:-}" ] || line+=" $k=${RESULT[$k]}"
done
echo "$line"
