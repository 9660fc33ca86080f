#!/usr/bin/env bash
# t-18-health: a corrupt database stops the intake (451, the MTA keeps the copies) until
# `bccsink db rebuild` makes a new one from the spool; a disk that fills during a DATA is
# answered 452 at the final dot.
#
#   swaks --SMTP--> bccsink --> spool record + row in DataDir/bccsink.db
#   stop; garbage over pages in the middle of bccsink.db (dd)
#   start: quick_check finds it -> health database_corrupt, logged once (critical)
#     swaks --MAIL--> 451 4.3.0          /metrics --> 200, bccsink_health{state="database_corrupt"} 1
#   stop; `db check` exits 1; `db rebuild` moves it aside, rows from the spool
#   start: swaks --> 250; `queue list` holds the earlier copies again
#   BCCSINK_TEST_INTAKE_FREE_SPACE=FILE (the intake's free-space probe, read at each look):
#     MAIL, DATA 354, the test lowers FILE mid-message, the dot --> 452 4.3.1; MAIL 452
#     until FILE says there is room again, then 250
source "$TESTLIB"
need jq python3 swaks curl dd sqlite3

send() {  # send N: one copy; the swaks transcript in $T/swaks.out, its exit status returned
  swaks --server "127.0.0.1:$SINK_PORT" --from alice@example.org --to watch@bcc.test \
    --header "Subject: copy $1" --body "copy number $1" >"$T/swaks.out" 2>&1
}

DATA=$T/data
DB=$DATA/bccsink.db

# --- 1. a corrupt database: 451, /metrics, one log line ---------------------------------
start_sink "$DATA"
for n in $(seq 1 20); do send "$n" || fail "swaks $n: $(tail -3 "$T/swaks.out")"; done
wait_until 30 "20 rows" sh -c "[ \"\$('$BCCSINK' queue list --json --DataDir '$DATA' | jq -s length)\" = 20 ]"
stop_sink
sqlite3 "$DB" "PRAGMA wal_checkpoint(TRUNCATE);" >/dev/null
PAGES=$(($(stat -c %s "$DB") / 4096))
[ "$PAGES" -ge 8 ] || fail "the database has only $PAGES pages"
# Garbage over 4 pages in the middle (not page 1: the header makes it "not a database").
dd if=/dev/urandom of="$DB" bs=4096 seek=$((PAGES / 2 - 2)) count=4 conv=notrunc status=none
ok "20 copies taken, the daemon stopped, 4 of the database's $PAGES pages overwritten"

start_sink "$DATA"
HTTP=$(sink_http_port) || fail "no HTTP port: $(tail -3 "$T/sink.log")"
set +e
send 21
RC=$?
set -e
# The reply to MAIL itself (not only at the dot, as an insert failing would give).
grep -A1 -- "-> MAIL FROM" "$T/swaks.out" | grep -q "<\*\* *451 4.3.0" &&
  ! grep -q "<- *250 2.0.0 Ok: queued" "$T/swaks.out" ||
  fail "a copy to a corrupt database: exit $RC, $(grep -E '^ *<[-*]' "$T/swaks.out" | tail -3)"
ok "MAIL is answered 451 4.3.0 while the database is corrupt"
curl -sS -o "$T/metrics" -w '%{http_code}' "http://127.0.0.1:$HTTP/metrics" >"$T/code"
[ "$(cat "$T/code")" = 200 ] || fail "/metrics answered $(cat "$T/code")"
grep -q '^bccsink_health{state="database_corrupt"} 1$' "$T/metrics" &&
  grep -q '^bccsink_health{state="ok"} 0$' "$T/metrics" ||
  fail "/metrics: $(grep health "$T/metrics")"
ok "/metrics answers 200 with bccsink_health{state=\"database_corrupt\"} 1"
send 22 || true
# The workers, the reporter and the other stages meet the damage too (their first rounds
# run at start and on each wake-up): a moment for them, and the line is still one.
sleep 1
LINES=$(grep -c "is corrupt" "$T/sink.log" || true)
[ "$LINES" = 1 ] || fail "the log says it $LINES times: $(grep -i corrupt "$T/sink.log" | head -5)"
grep "is corrupt" "$T/sink.log" | grep -q " C bccsink: the database .*bccsink db rebuild" ||
  fail "no critical line with advice: $(grep 'is corrupt' "$T/sink.log")"
ERRORS=$(grep -c " E \| C " "$T/sink.log" || true)
[ "$ERRORS" = 1 ] || fail "$ERRORS error lines: $(grep ' E \| C ' "$T/sink.log" | head -5)"
ok "the log says it once, with what to do (db check, db rebuild)"
stop_sink

# --- 2. db check, db rebuild -------------------------------------------------------------
set +e
"$BCCSINK" db check --DataDir "$DATA" >"$T/check.out" 2>&1
RC=$?
set -e
[ "$RC" = 1 ] && grep -q "corrupt" "$T/check.out" || fail "db check: exit $RC, $(cat "$T/check.out")"
ok "db check exits 1: $(sed -n 2p "$T/check.out" | cut -c1-80)"
"$BCCSINK" db rebuild --DataDir "$DATA" >"$T/rebuild.out" 2>&1 || fail "db rebuild: $(cat "$T/rebuild.out")"
grep -q "20 messages pending again (20 with their envelope" "$T/rebuild.out" ||
  fail "db rebuild: $(cat "$T/rebuild.out")"
ls "$DATA"/bccsink.db.corrupt-* >/dev/null || fail "the damaged database was not kept aside"
"$BCCSINK" db check --DataDir "$DATA" >"$T/check.out" 2>&1 || fail "db check after rebuild: $(cat "$T/check.out")"
ok "db rebuild: $(tail -1 "$T/rebuild.out" | cut -c1-90); db check then exits 0"

start_sink "$DATA"
send 23 || fail "after the rebuild: $(tail -3 "$T/swaks.out")"
wait_until 30 "21 rows" sh -c "[ \"\$('$BCCSINK' queue list --json --DataDir '$DATA' | jq -s length)\" = 21 ]"
"$BCCSINK" queue list --json --DataDir "$DATA" | jq -r '.sender' | sort | uniq -c >"$T/from"
grep -q "21 alice@example.org" "$T/from" || fail "rows: $(cat "$T/from")"
"$BCCSINK" queue list --check --DataDir "$DATA" >"$T/qcheck.out" || fail "queue list --check: $(cat "$T/qcheck.out")"
ok "after a restart mail is taken again, and the 20 earlier copies are back (21 rows, spool consistent)"
stop_sink

# --- 3. the disk fills during a DATA: 452 at the dot, and until there is room again ------
FREE=$T/free
echo 100000000000 >"$FREE"
BCCSINK_TEST_INTAKE_FREE_SPACE=$FREE start_sink "$DATA" --BccMinFreeSpace 100M
python3 - "$SINK_PORT" "$FREE" >"$T/dialogue" <<'PY'
import socket, sys
port, free = int(sys.argv[1]), sys.argv[2]
s = socket.create_connection(("127.0.0.1", port), timeout=10)
f = s.makefile("rb")
def reply():
    line = f.readline().decode()
    while line[3:4] == "-":
        line = f.readline().decode()
    return line.strip()
def cmd(c):
    s.sendall(c.encode() + b"\r\n")
    return reply()
reply()
cmd("EHLO t-18.test")
print("MAIL", cmd("MAIL FROM:<alice@example.org>"))
cmd("RCPT TO:<watch@bcc.test>")
print("DATA", cmd("DATA"))
s.sendall(b"Subject: big\r\n\r\n" + (b"x" * 998 + b"\r\n") * 1000)
s.sendall(b"NOOP-ish line\r\n")
open(free, "w").write("1000\n")  # the disk is full now
s.sendall((b"y" * 998 + b"\r\n") * 2200 + b".\r\n")
print("DOT", reply())
print("MAIL2", cmd("MAIL FROM:<alice@example.org>"))
open(free, "w").write("100000000000\n")
import time; time.sleep(0.3)  # MAIL's look is cached for 250 ms
print("MAIL3", cmd("MAIL FROM:<alice@example.org>"))
cmd("QUIT")
PY
grep -q "^DATA 354" "$T/dialogue" || fail "dialogue: $(cat "$T/dialogue")"
grep -q "^DOT 452 4.3.1" "$T/dialogue" || fail "the dot after the disk filled: $(cat "$T/dialogue")"
grep -q "^MAIL2 452 4.3.1" "$T/dialogue" || fail "MAIL while full: $(cat "$T/dialogue")"
grep -q "^MAIL3 250" "$T/dialogue" || fail "MAIL once there is room: $(cat "$T/dialogue")"
ok "the disk filling during a DATA: 354, then 452 4.3.1 at the dot, 452 to MAIL until room is back, then 250"
stop_sink
finish
