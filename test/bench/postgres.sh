#!/usr/bin/env bash
# postgres.sh: bccsink on PostgreSQL beside SQLite, in one run (issue 15).
#
# A private PostgreSQL 15 (test/postgres-private.sh, PG_FSYNC=on: durable, as the figures
# must be) on loopback, and:
#   a. claims/s   build/test/db_bench claims (test/bench/db_bench.cpp: the daemon's own
#                 MessageQueue, no SMTP): CLAIMERS threads, each on its own connection,
#                 claim up to BATCH pending messages at a time and mark them checked, for
#                 CLAIM_SECONDS:
#                   sqlite      one sink, SQLite (sqlite:PATH, BEGIN IMMEDIATE)
#                   pg          one sink, PostgreSQL (FOR UPDATE SKIP LOCKED)
#                   pg 2 sinks  two db_bench processes at once on one database, each a sink
#                               of its own with half the claimers; their rates summed
#                   pg open tx  pg again for HOLD_SECONDS while another session of the
#                               same database holds a transaction open (psql: BEGIN;
#                               SELECT txid_current(); then idle until the run ends), which
#                               keeps vacuum from removing the claims' dead rows; the rate
#                               of each 10 s (db_bench's standard error): first, last and
#                               slowest say whether it stays steady
#   b. intake     smtp-source -s SESSIONS -m COUNT -l SIZE (as intake.sh sends) into:
#                 one sink on SQLite (data on disk), one sink on PostgreSQL, two sinks on
#                 PostgreSQL (two smtp-source at once, COUNT/2 and SESSIONS/2 each); msg/s
#                 until every message is acknowledged; every row must be there.
#   c. verdict    time from 250 to `checked` with build/vxcube-emulator behind (LATENCY_MS a
#                 call, ANALYSIS_MS an analysis; make_messages.py's VCOUNT messages, 3 PDFs
#                 each, 30 % from a pool of 50): one sink on SQLite, then two sinks on
#                 PostgreSQL sharing the emulator, the copies split between them. The
#                 emulator must see one lookup, upload and analysis per distinct file in
#                 both, and every verdict must be the expected one.
#
# Env: BUILD (ROOT/build; bccsink built Release when missing), BCCSINK, EMULATOR,
# DB_BENCH ($BUILD/test/db_bench; SKIP_CLAIMS=1 runs without it), CLAIMERS (4), BATCH (8, the
# workers' claim batch), CLAIM_SECONDS (10), MESSAGES (pending rows per db_bench run,
# 50000; three times that on SQLite), HOLD_SECONDS (60), COUNT (5000), SESSIONS (20), SIZE (10240), VCOUNT (200),
# CLIENTS (10), LATENCY_MS (200), ANALYSIS_MS (2000), LIMIT (seconds a pass may take,
# 900). Needs python3, smtp-source, sqlite3, jq, curl and PostgreSQL 15
# (deploy/install-deps.sh); as root the server runs as `postgres`. Only 127.0.0.1 is used;
# every server is stopped by PID on exit (PostgreSQL by pg_ctl, then its PID), error
# included, and the temp folders are removed.
#
# The last line is machine-readable:
#   RESULT claims_sqlite=A claims_pg=B claims_pg2=C claims_pg_open_tx=D claims_pg_open_tx_min=E
#          intake_sqlite=F intake_pg=G intake_pg2=H checked_sqlite=.. checked_pg=.. checked_pg2=..
#          verdict_sqlite_median_ms=I
#          verdict_sqlite_p99_ms=J verdict_pg2_median_ms=K verdict_pg2_p99_ms=L
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
BUILD=${BUILD:-$ROOT/build}
BCCSINK=${BCCSINK:-$BUILD/bccsink}
EMULATOR=${EMULATOR:-$BUILD/vxcube-emulator}
DB_BENCH=${DB_BENCH:-$BUILD/test/db_bench}
SKIP_CLAIMS=${SKIP_CLAIMS:-0}
CLAIMERS=${CLAIMERS:-4}
CLAIM_SECONDS=${CLAIM_SECONDS:-10}
BATCH=${BATCH:-8}
MESSAGES=${MESSAGES:-50000}
HOLD_SECONDS=${HOLD_SECONDS:-60}
COUNT=${COUNT:-5000}
SESSIONS=${SESSIONS:-20}
SIZE=${SIZE:-10240}
VCOUNT=${VCOUNT:-200}
CLIENTS=${CLIENTS:-10}
LATENCY_MS=${LATENCY_MS:-200}
ANALYSIS_MS=${ANALYSIS_MS:-2000}
LIMIT=${LIMIT:-900}
KEY=bench-api-key

# shellcheck disable=SC2034 # lib.sh's die names the benchmark
BENCH=postgres.sh
# shellcheck source=lib.sh
. "$ROOT/test/bench/lib.sh"
# shellcheck source=../postgres-private.sh
. "$ROOT/test/postgres-private.sh"

for v in CLAIMERS BATCH MESSAGES CLAIM_SECONDS HOLD_SECONDS COUNT SESSIONS SIZE VCOUNT CLIENTS LIMIT; do
  [[ ${!v} =~ ^[1-9][0-9]*$ ]] || die "$v must be a positive integer, not '${!v}'"
done
for v in LATENCY_MS ANALYSIS_MS; do
  [[ ${!v} =~ ^[0-9]+$ ]] || die "$v must be a whole number of milliseconds, not '${!v}'"
done
[ "$SESSIONS" -ge 2 ] || die "SESSIONS must be at least 2 (two sinks take half each)"
for tool in python3 smtp-source sqlite3 jq curl xargs awk; do
  command -v "$tool" >/dev/null 2>&1 || die "'$tool' is not installed (deploy/install-deps.sh)"
done
need_binary
[ -x "$EMULATOR" ] || die "no emulator at EMULATOR=$EMULATOR (it is built with bccsink)"
if [ "$SKIP_CLAIMS" != 1 ] && [ ! -x "$DB_BENCH" ]; then
  die "no db_bench at DB_BENCH=$DB_BENCH (ninja -C $BUILD db_bench), or SKIP_CLAIMS=1 to run without the claims"
fi

T=$(mktemp -d /tmp/bccsink-pgbench.XXXXXX)
chmod 755 "$T"
PIDS=()
PG_DIR=""

cleanup() {
  local rc=$?
  trap - EXIT
  for pid in "${PIDS[@]}"; do
    stop_pid "$pid" || true
  done
  if [ $rc -ne 0 ]; then
    for f in "$T"/*.log "$T"/*.err; do
      [ -s "$f" ] || continue
      echo "--- last lines of $f:" >&2
      tail -5 "$f" >&2
    done
  fi
  postgres_private_stop "$PG_DIR"
  rm -rf "$T"
  exit $rc
}
trap cleanup EXIT
trap 'exit 130' INT TERM

export PG_FSYNC=on
postgres_private_start bench >"$T/pg.log" 2>&1 || die "private PostgreSQL: $(cat "$T/pg.log")"
PG_VERSION=$("$PG_BIN/postgres" -V | awk '{print $3}')
# psql DB SQL: one statement on the private server, unaligned rows.
psql_on() {
  "$PG_BIN/psql" -X -q -A -t -v ON_ERROR_STOP=1 -h "$PG_SOCKET_DIR" -p "$PG_PORT" -U "$PG_USER" \
    -d "$1" -c "$2"
}
# new_db NAME: a fresh database (C collation, as the deploy notes create it); prints its URL.
new_db() {
  psql_on postgres "CREATE DATABASE $1 ENCODING 'UTF8' LOCALE 'C' TEMPLATE template0" ||
    die "CREATE DATABASE $1"
  echo "postgresql://$PG_USER@$PG_HOST:$PG_PORT/$1"
}
# q URL SQL: one query on the engine URL names (sqlite:PATH or this server's database).
q() {
  case $1 in
    sqlite:*) sqlite3 -batch "${1#sqlite:}" "$2" ;;
    *) psql_on "${1##*/}" "$2" ;;
  esac
}
pct() { awk -v p="$1" '{ v[NR] = $1 } END { i = int(NR * p + 0.999999); if (i < 1) i = 1; print v[i] }' "$2"; }

# ------------------------------------------------------------------------- a. claims/s
# db_bench_run NAME URL CLAIMERS: one db_bench claims run in the background; sets BPID.
# SQLite claims about three times as fast here: it gets three times the rows.
db_bench_run() {
  local rows=$MESSAGES
  case $2 in sqlite:*) rows=$((MESSAGES * 3)) ;; esac
  timeout $((CLAIM_SECONDS + 300)) "$DB_BENCH" claims --url "$2" --claimers "$3" --seconds "$CLAIM_SECONDS" \
    --batch "$BATCH" --messages "$rows" >"$T/claims-$1.log" 2>&1 &
  BPID=$!
  PIDS+=("$BPID")
}
# db_bench_rate NAME PID: waits for that run and sets RATE (its claims/s).
db_bench_rate() {
  local p rest=()
  wait "$2" || die "db_bench claims ($1): $(tail -3 "$T/claims-$1.log")"
  for p in "${PIDS[@]}"; do [ "$p" = "$2" ] || rest+=("$p"); done
  PIDS=("${rest[@]}")
  if grep -q 'ran out' "$T/claims-$1.log"; then
    echo "   warning ($1): $(grep 'ran out' "$T/claims-$1.log")"
  fi
  RATE=$(sed -n 's/^RESULT claims_per_s=\([0-9.]*\) .*/\1/p' "$T/claims-$1.log")
  [ -n "$RATE" ] || die "db_bench ($1) printed no RESULT line: $(tail -3 "$T/claims-$1.log")"
}
# claims NAME URL: one run with CLAIMERS claimers; sets CLAIMS_S.
claims() {
  echo "== claims, $1: $CLAIMERS claimers, batch $BATCH, $CLAIM_SECONDS s"
  db_bench_run "$1" "$2" "$CLAIMERS"
  db_bench_rate "$1" "$BPID"
  CLAIMS_S=$RATE
  echo "   $CLAIMS_S claims/s"
}
C_SQLITE=none C_PG=none C_PG2=none C_OPEN=none C_OPEN_MIN=none C_OPEN_FIRST=none C_OPEN_LAST=none
DEAD_TUPLES=none HELD=0
if [ "$SKIP_CLAIMS" != 1 ]; then
  claims sqlite "sqlite:$T/claims.db"
  C_SQLITE=$CLAIMS_S
  claims pg "$(new_db claims1)"
  C_PG=$CLAIMS_S
  # Two sinks: two processes, each a sink name of its own, half the claimers each.
  url=$(new_db claims2)
  half=$(((CLAIMERS + 1) / 2))
  echo "== claims, pg2: two db_bench at once, $half claimers each, batch $BATCH, $CLAIM_SECONDS s"
  db_bench_run pg2-1 "$url" "$half"
  first=$BPID
  db_bench_run pg2-2 "$url" "$half"
  second=$BPID
  db_bench_rate pg2-1 "$first"
  r1=$RATE
  db_bench_rate pg2-2 "$second"
  r2=$RATE
  C_PG2=$(awk -v a="$r1" -v b="$r2" 'BEGIN { printf "%.0f", a + b }')
  echo "   $r1 + $r2 = $C_PG2 claims/s"
  # The unrelated transaction: a session of the same database (vacuum's horizon for a
  # table only counts its own database's sessions) with an xid, idle meanwhile.
  url=$(new_db claims3)
  mkfifo "$T/hold.in"
  "$PG_BIN/psql" -X -q -h "$PG_SOCKET_DIR" -p "$PG_PORT" -U "$PG_USER" -d claims3 <"$T/hold.in" >"$T/hold.log" 2>&1 &
  HOLDER=$!
  PIDS+=("$HOLDER")
  exec 8>"$T/hold.in"
  echo "BEGIN; SELECT txid_current();" >&8
  open_tx() {
    psql_on claims3 "SELECT COUNT(*) FROM pg_stat_activity WHERE datname = 'claims3'
                     AND state = 'idle in transaction' AND backend_xid IS NOT NULL"
  }
  for _ in $(seq 1 50); do
    [ "$(open_tx)" = 1 ] && break
    sleep 0.1
  done
  [ "$(open_tx)" = 1 ] || die "the open transaction did not start: $(cat "$T/hold.log")"
  held_from=$(now)
  # One run of HOLD_SECONDS, as the daemon's workers go on claiming; db_bench prints each
  # 10 s's rate on standard error. Enough rows that they do not run out at 5,000/s.
  rows=$((HOLD_SECONDS * 12000))  # the claims must not run out (10,000/s measured)
  echo "== claims, pg with a transaction open: $HOLD_SECONDS s, $CLAIMERS claimers, $rows rows"
  timeout $((HOLD_SECONDS + 600)) "$DB_BENCH" claims --url "$url" --claimers "$CLAIMERS" \
    --seconds "$HOLD_SECONDS" --batch "$BATCH" --messages "$rows" >"$T/claims-open.log" 2>&1 &
  BPID=$!
  PIDS+=("$BPID")
  db_bench_rate open "$BPID"
  C_OPEN=$RATE
  sed -n 's/^at [0-9]* s: \([0-9.]*\) claims\/s$/\1/p' "$T/claims-open.log" >"$T/windows"
  [ -s "$T/windows" ] || echo "$RATE" >"$T/windows"
  echo "   $C_OPEN claims/s; each 10 s: $(tr '\n' ' ' <"$T/windows")"
  [ "$(open_tx)" = 1 ] || die "the open transaction ended before the last run did"
  HELD=$(awk -v a="$held_from" -v b="$(now)" 'BEGIN { printf "%.0f", b - a }')
  DEAD_TUPLES=$(psql_on claims3 "SELECT n_dead_tup FROM pg_stat_user_tables WHERE relname = 'messages'")
  DEAD_TUPLES=${DEAD_TUPLES:-none}
  echo "COMMIT;" >&8
  exec 8>&-
  stop_pid "$HOLDER" || true
  C_OPEN_MIN=$(sort -n "$T/windows" | head -1)
  C_OPEN_FIRST=$(head -1 "$T/windows")
  C_OPEN_LAST=$(tail -1 "$T/windows")
fi

# ----------------------------------------------------------------------- b. intake msg/s
# start_daemon NAME DATADIR ARGS...: `bccsink serve` on a port the kernel picks; sets
# DPID and DPORT; its log is $T/NAME.log.
start_daemon() {
  local name=$1 data=$2
  shift 2
  "$BCCSINK" serve --User '' --BccSocket 127.0.0.1:0 --HttpSocket 127.0.0.1:0 --BccDomains bcc.test --DataDir "$data" \
    --BccHostname bench.test --BccMaxConnections $((SESSIONS + 50)) \
    --BccMaxConnectionsPerIp $((SESSIONS + 50)) "$@" >"$T/$name.log" 2>&1 &
  DPID=$!
  PIDS+=("$DPID")
  DPORT=""
  for _ in $(seq 1 100); do
    DPORT=$(sed -n 's/.* bccsink: listening on [^ ]*:\([0-9]*\) .*/\1/p' "$T/$name.log" | head -1)
    [ -n "$DPORT" ] && return 0
    kill -0 "$DPID" 2>/dev/null || die "bccsink $name exited at start: $(tail -3 "$T/$name.log")"
    sleep 0.1
  done
  die "bccsink $name did not start listening"
}

# sink_name URL NAME: --SinkName NAME on PostgreSQL; on SQLite (one sink, as a single site
# runs it) the name start_daemon gives as BccHostname, which SinkName defaults to, so that
# `queue list --check` checks that sink's rows.
sink_name() {
  case $1 in sqlite:*) echo "--SinkName bench.test" ;; *) echo "--SinkName $2" ;; esac
}

# source_to NAME PORT MESSAGES SESSIONS: smtp-source in the background; sets SPID.
source_to() {
  timeout "$LIMIT" smtp-source -s "$4" -m "$3" -l "$SIZE" -f sender@example.org -t watch@bcc.test \
    "127.0.0.1:$2" >"$T/source-$1.log" 2>&1 &
  SPID=$!
}

# intake NAME SINKS URL: COUNT messages into SINKS daemons (1 or 2) on URL; sets INTAKE_S.
intake() {
  local name=$1 sinks=$2 url=$3 pids=() ports=() spids=() i t0 rows
  for i in $(seq 1 "$sinks"); do
    # shellcheck disable=SC2046 # sink_name's words
    start_daemon "$name-$i" "$T/$name-$i" --DatabaseUrl "$url" $(sink_name "$url" "$name-$i")
    pids+=("$DPID")
    ports+=("$DPORT")
  done
  echo "== intake, $name: $COUNT messages of $SIZE bytes, $SESSIONS sessions over $sinks sink(s)"
  sync
  t0=$(now)
  for i in $(seq 0 $((sinks - 1))); do
    source_to "$name-$i" "${ports[$i]}" $((COUNT / sinks)) $((SESSIONS / sinks))
    spids+=("$SPID")
  done
  for i in "${!spids[@]}"; do
    wait "${spids[$i]}" || die "smtp-source into $name: $(tail -3 "$T/source-$name-$i.log")"
  done
  INTAKE_S=$(since "$t0")
  # The workers analyse while the copies come in (text only: claim, a look, checked);
  # until the last is checked is the daemon's own claims figure.
  while [ "$(q "$url" "SELECT COUNT(*) FROM messages WHERE state IN ('checked', 'reported')")" -lt "$COUNT" ]; do
    [ "$(q "$url" "SELECT COUNT(*) FROM messages WHERE state = 'failed'")" = 0 ] || die "$name: failed messages"
    awk -v s="$(since "$t0")" -v l="$LIMIT" 'BEGIN { exit !(s > l) }' && die "$name: not all checked after $LIMIT s"
    sleep 0.05
  done
  CHECKED_S=$(since "$t0")
  for i in "${!pids[@]}"; do
    stop_pid "${pids[$i]}" || die "bccsink $name-$((i + 1)) did not stop cleanly on SIGTERM"
  done
  for i in $(seq 1 "$sinks"); do
    # shellcheck disable=SC2046
    rows=$("$BCCSINK" queue list --check --DataDir "$T/$name-$i" --DatabaseUrl "$url" $(sink_name "$url" "$name-$i") |
      tail -1) || true
    echo "   $name-$i: $rows"
    [ "$rows" = "check: $((COUNT / sinks)) rows, $((COUNT / sinks)) spool files, 0 problems" ] ||
      die "$name-$i: expected $((COUNT / sinks)) rows and spool files, 0 problems: '$rows'"
  done
}
COUNT=$((COUNT / 2 * 2)) # two sinks take half each
intake sqlite 1 "sqlite:$T/intake-sqlite.db"
I_SQLITE=$(rate "$COUNT" "$INTAKE_S") D_SQLITE=$(rate "$COUNT" "$CHECKED_S")
intake pg 1 "$(new_db intake1)"
I_PG=$(rate "$COUNT" "$INTAKE_S") D_PG=$(rate "$COUNT" "$CHECKED_S")
intake pg2 2 "$(new_db intake2)"
I_PG2=$(rate "$COUNT" "$INTAKE_S") D_PG2=$(rate "$COUNT" "$CHECKED_S")

# ------------------------------------------------------------------- c. time to verdict
python3 "$ROOT/test/bench/make_messages.py" "$T/v" "$VCOUNT"
read -r SLOTS REPEATS DISTINCT <"$T/v/counts"

# verdicts NAME SINKS URL: VCOUNT messages over SINKS daemons sharing a fresh emulator;
# sets V_MEDIAN, V_P99, V_MAX (ms, 250 -> checked) and V_SECS (first send -> last checked).
verdicts() {
  local name=$1 sinks=$2 url=$3 emu_pid emu="" pids=() ports=() i t0 done_n stats
  "$EMULATOR" --listen 127.0.0.1:0 --api-key "$KEY" --dangerous-sha256 "$T/v/listed" \
    --latency-ms "$LATENCY_MS" --analysis-ms "$ANALYSIS_MS" --threads 96 \
    >"$T/emulator-$name.out" 2>"$T/emulator-$name.err" &
  emu_pid=$!
  PIDS+=("$emu_pid")
  for _ in $(seq 1 100); do
    emu=$(sed -n 's/^listening on \(.*\)$/\1/p' "$T/emulator-$name.out" | head -1)
    [ -n "$emu" ] && break
    sleep 0.1
  done
  [ -n "$emu" ] || die "the emulator did not start: $(tail -3 "$T/emulator-$name.err")"
  for i in $(seq 1 "$sinks"); do
    # shellcheck disable=SC2046
    start_daemon "v$name-$i" "$T/v$name-$i" --DatabaseUrl "$url" $(sink_name "$url" "v$name-$i") \
      --UseVxcube yes --VxcubeApiAddress "http://$emu/api-2.0/" --VxcubeApiKey "$KEY" \
      --VxcubePollInterval 1s --VxcubeMaxConnections 64
    pids+=("$DPID")
    ports+=("$DPORT")
  done
  echo "== time to verdict, $name: $VCOUNT messages ($DISTINCT distinct files) over $sinks sink(s)," \
    "emulator $LATENCY_MS ms a call, $ANALYSIS_MS ms an analysis"
  find "$T/v/msg" -name 'm*.eml' | sort | awk -v n="$sinks" -v p="${ports[*]}" \
    'BEGIN { split(p, port, " ") } { print port[(NR - 1) % n + 1], $0 }' >"$T/plan-$name"
  t0=$(now)
  # shellcheck disable=SC2016
  xargs -P "$CLIENTS" -L 1 sh -c 'smtp-source -m 1 -F "$1" -f alice@example.org -t watch@bcc.test "127.0.0.1:$0"' \
    <"$T/plan-$name" >"$T/vsource-$name.log" 2>&1 || die "smtp-source ($name): $(tail -3 "$T/vsource-$name.log")"
  # How many are analysed, and the 250 -> checked times, from the engine the sinks use.
  local count_sql="SELECT COUNT(*) FROM messages WHERE state IN ('checked', 'reported')"
  local failed_sql="SELECT COUNT(*) FROM messages WHERE state = 'failed'"
  while :; do
    done_n=$(q "$url" "$count_sql")
    [ "$done_n" -ge "$VCOUNT" ] && break
    [ "$(q "$url" "$failed_sql")" = 0 ] || die "$name: failed messages"
    awk -v s="$(since "$t0")" -v l="$LIMIT" 'BEGIN { exit !(s > l) }' && die "$name: $done_n of $VCOUNT checked after $LIMIT s"
    sleep 0.1
  done
  V_SECS=$(since "$t0")
  case $url in
    sqlite:*) q "$url" "SELECT CAST(ROUND((julianday(checked_at) - julianday(received_at)) * 86400000) AS INTEGER)
                 FROM messages WHERE state IN ('checked', 'reported')" ;;
    *) q "$url" "SELECT ROUND(EXTRACT(EPOCH FROM (checked_at::timestamptz - received_at::timestamptz)) * 1000)::bigint
          FROM messages WHERE state IN ('checked', 'reported')" ;;
  esac | sort -n >"$T/latency-$name"
  q "$url" "SELECT header_message_id || '|' || verdict FROM messages" | tr '|' '\t' | sort >"$T/got-$name.tsv"
  diff <(sort "$T/v/expected.tsv") "$T/got-$name.tsv" >"$T/wrong-$name" ||
    die "$name: $(grep -c '^>' "$T/wrong-$name") verdicts other than expected: $(grep '^>' "$T/wrong-$name" | head -3 | tr '\n' ' ')"
  stats=$(curl -sf "http://$emu/_emulator/stats") || die "GET /_emulator/stats"
  for n in lookups uploads analyses; do
    [ "$(jq -r ".$n" <<<"$stats")" -eq "$DISTINCT" ] ||
      die "$name: the emulator counted $n $(jq -r ".$n" <<<"$stats"), not the $DISTINCT distinct files"
  done
  V_MEDIAN=$(pct 0.5 "$T/latency-$name")
  V_P99=$(pct 0.99 "$T/latency-$name")
  V_MAX=$(tail -1 "$T/latency-$name")
  echo "   $VCOUNT checked in $V_SECS s; 250 -> checked median $V_MEDIAN ms, p99 $V_P99 ms, max $V_MAX ms;" \
    "emulator: $(jq -c '{lookups, uploads, analyses}' <<<"$stats")"
  for i in "${!pids[@]}"; do
    stop_pid "${pids[$i]}" || die "bccsink v$name-$((i + 1)) did not stop cleanly on SIGTERM"
  done
  stop_pid "$emu_pid" || die "the emulator did not stop cleanly on SIGTERM"
}
verdicts sqlite 1 "sqlite:$T/verdict-sqlite.db"
VS_MEDIAN=$V_MEDIAN VS_P99=$V_P99 VS_MAX=$V_MAX VS_SECS=$V_SECS
verdicts pg2 2 "$(new_db verdict2)"
VP_MEDIAN=$V_MEDIAN VP_P99=$V_P99 VP_MAX=$V_MAX VP_SECS=$V_SECS

# ---------------------------------------------------------------------------- report
echo
echo "postgres: PostgreSQL $PG_VERSION (fsync on, synchronous_commit on), $(nproc) CPUs," \
  "$(awk '/^MemTotal:/ { printf "%.1f GiB", $2 / 1048576 }' /proc/meminfo), $(uname -r), $(date -u +%F), $BCCSINK"
if [ "$SKIP_CLAIMS" != 1 ]; then
  printf '%-44s %12s\n' "claims ($CLAIMERS claimers, batch $BATCH, db_bench)" "claims/s"
  printf '%-44s %12s\n' "SQLite, one sink" "$C_SQLITE"
  printf '%-44s %12s\n' "PostgreSQL, one sink" "$C_PG"
  printf '%-44s %12s\n' "PostgreSQL, two sinks (two processes)" "$C_PG2"
  printf '%-44s %12s\n' "PostgreSQL, a transaction open ${HELD} s" "$C_OPEN"
  echo "   with the transaction open, each 10 s: first $C_OPEN_FIRST/s, last" \
    "$C_OPEN_LAST/s, slowest $C_OPEN_MIN/s; dead rows in messages at the end: $DEAD_TUPLES" \
    "(target: >= 1,500 claims/s, steady)"
else
  echo "claims: skipped (SKIP_CLAIMS=1)"
fi
printf '%-44s %12s %14s\n' "intake (smtp-source -s $SESSIONS -m $COUNT -l $SIZE)" "acked msg/s" "checked msg/s"
printf '%-44s %12s %14s\n' "SQLite, one sink" "$I_SQLITE" "$D_SQLITE"
printf '%-44s %12s %14s\n' "PostgreSQL, one sink" "$I_PG" "$D_PG"
printf '%-44s %12s %14s\n' "PostgreSQL, two sinks" "$I_PG2" "$D_PG2"
echo "verdict runs: $VCOUNT messages, $SLOTS attachments ($REPEATS from the pool of 50), $DISTINCT distinct"
printf '%-44s %12s %12s %12s %12s\n' "250 -> checked ($VCOUNT msgs, vxCube emulator)" "median ms" "p99 ms" "max ms" "all in s"
printf '%-44s %12s %12s %12s %12s\n' "SQLite, one sink" "$VS_MEDIAN" "$VS_P99" "$VS_MAX" "$VS_SECS"
printf '%-44s %12s %12s %12s %12s\n' "PostgreSQL, two sinks, one emulator" "$VP_MEDIAN" "$VP_P99" "$VP_MAX" "$VP_SECS"
echo "RESULT claims_sqlite=$C_SQLITE claims_pg=$C_PG claims_pg2=$C_PG2 claims_pg_open_tx=$C_OPEN" \
  "claims_pg_open_tx_min=$C_OPEN_MIN intake_sqlite=$I_SQLITE intake_pg=$I_PG intake_pg2=$I_PG2" \
  "checked_sqlite=$D_SQLITE checked_pg=$D_PG checked_pg2=$D_PG2" \
  "verdict_sqlite_median_ms=$VS_MEDIAN verdict_sqlite_p99_ms=$VS_P99 verdict_pg2_median_ms=$VP_MEDIAN" \
  "verdict_pg2_p99_ms=$VP_P99"
