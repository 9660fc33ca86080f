#!/usr/bin/env bash
# t-14-file-modes: what bccsink creates is its user's alone, whatever the umask it was
# started with (issue 18, finding 8).
#
#   umask 022 shell --> bccsink serve (umask 077 at start) --> DataDir 0700, bccsink.db,
#   swaks --> a copy        -wal 0600, spool/segments/*.seg 0600, files/ entries 0600/0700
#
# 1. Started from a shell with umask 022, a copy with EICAR attached is taken and checked:
#    DataDir and every folder in it are 0700, the database, its WAL, the segment, every
#    extracted file and the report 0600.
# 2. A second `serve` on the same DataDir (finding 10) exits non-zero at once, naming the
#    first one's pid, and touches nothing: the first one's files are as they were and it
#    still takes mail.
#
#   bccsink serve (pid N, flock on DataDir/bccsink.lock) <-- bccsink serve: "in use (pid N)"
# shellcheck source-path=SCRIPTDIR source=../lib.sh
. "${TESTLIB:-$(dirname "$0")/../lib.sh}"
need swaks jq

umask 022
DATA=$T/data

start_sink "$DATA"
# EICAR: a file the analysis selects, so it is kept under files/.
printf '%s' 'X5O!P%@AP[4\PZX54(P^)7CC)7}$EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*' >"$T/eicar.com"
swaks --server "127.0.0.1:$SINK_PORT" --from alice@example.org --to watch@bcc.test \
  --header "Message-Id: <t14.1@example.org>" --attach @"$T/eicar.com" >"$T/swaks.out" 2>&1 ||
  fail "swaks failed: $(tail -5 "$T/swaks.out")"
id=$(sed -n 's/.*250 2.0.0 Ok: queued as \([0-9A-Z]*\).*/\1/p' "$T/swaks.out")
[ ${#id} -eq 26 ] || fail "no queue id in the 250 reply"
# The analysis keeps the file under files/, the reporter writes the report to the Maildir.
state() { queue_json "$DATA" | jq -r "select(.id == \"$id\") | .state"; }
for _ in $(seq 1 100); do
  [ "$(state)" = reported ] && break
  sleep 0.1
done
[ "$(state)" = reported ] || fail "message not reported: $(queue_json "$DATA")"
ok "a copy taken, checked and reported, started with umask 022"

mode() { stat -c %a "$1"; }
[ "$(mode "$DATA")" = 700 ] || fail "DataDir is $(mode "$DATA")"
[ "$(mode "$DATA/bccsink.db")" = 600 ] || fail "bccsink.db is $(mode "$DATA/bccsink.db")"
[ -f "$DATA/bccsink.db-wal" ] || fail "no bccsink.db-wal while the daemon runs"
[ "$(mode "$DATA/bccsink.db-wal")" = 600 ] || fail "bccsink.db-wal is $(mode "$DATA/bccsink.db-wal")"
segment=$(find "$DATA/spool/segments" -name '*.seg' | head -1)
[ -n "$segment" ] || fail "no segment"
[ "$(mode "$segment")" = 600 ] || fail "$segment is $(mode "$segment")"
[ -n "$(find "$DATA/files" -type f | head -1)" ] || fail "nothing under files/"
others=$(find "$DATA" \( -type f ! -perm 600 \) -o \( -type d ! -perm 700 \))
[ -z "$others" ] || fail "not 0600/0700: $(echo "$others" | xargs stat -c '%a %n')"
[ -n "$(find "$DATA/reports/new" -type f | head -1)" ] || fail "no report in the Maildir"
ok "DataDir 0700, bccsink.db and -wal 0600, segments, files/ entries, report 0600, folders 0700"

[ "$(cat "$DATA/bccsink.lock")" = "$SINK_PID" ] || fail "bccsink.lock holds $(cat "$DATA/bccsink.lock")"
first_pid=$SINK_PID
first_port=$SINK_PORT
before=$(find "$DATA" -path "$DATA/files" -prune -o -printf '%p %s %T@\n' | sort)
rc=0
timeout 10 "$BCCSINK" serve --BccSocket 127.0.0.1:0 --BccDomains bcc.test --HttpSocket 127.0.0.1:0 \
  --DataDir "$DATA" >"$T/second.out" 2>&1 || rc=$?
[ "$rc" -ne 0 ] && [ "$rc" -ne 124 ] || fail "second serve: exit $rc: $(cat "$T/second.out")"
grep -qx "bccsink: DataDir $DATA is in use by another bccsink (pid $first_pid)" "$T/second.out" ||
  fail "second serve said: $(cat "$T/second.out")"
after=$(find "$DATA" -path "$DATA/files" -prune -o -printf '%p %s %T@\n' | sort)
[ "$before" = "$after" ] || fail "second serve touched files: $(diff <(echo "$before") <(echo "$after"))"
swaks --server "127.0.0.1:$first_port" --from alice@example.org --to watch@bcc.test \
  >"$T/swaks2.out" 2>&1 || fail "the first daemon stopped taking mail: $(tail -5 "$T/swaks2.out")"
grep -q "250 2.0.0 Ok: queued as" "$T/swaks2.out" || fail "no 250 from the first daemon"
ok "a second serve on the DataDir refused with the first one's pid, nothing touched, mail still taken"

stop_sink
finish
