#!/usr/bin/env bash
# t-18-privileges: started as root, bccsink binds its ports, opens DataDir and its keys,
# then runs as User (bccsink), as Postfix does (issue 18, finding 3).
#
#   root: bccsink serve --User bccsink
#     bind 127.0.0.1:SMTP, 127.0.0.1:HTTP, lock DataDir, open bccsink.db
#     chown what root made in DataDir --> setgroups/setgid/setuid(bccsink), setuid(0) fails
#   swaks --> SMTP (uid bccsink) --> spool/, bccsink.db (owned by bccsink)
#   curl  --> HTTP /metrics (a database connection opened after the switch)
#
# 1. A DataDir made by an earlier run as root (User = '') is taken over: the log names
#    what was root's; /proc/PID/status shows bccsink's uid and gid (real, effective, saved,
#    file system) and bccsink's groups only.
# 2. Mail is taken (250) and stored, every file in DataDir owned by bccsink; /metrics
#    answers after the switch.
# 3. A DataDir behind a folder bccsink may not search (0700 root) is refused at start,
#    naming that folder, before anything is made in it.
# 4. A User that does not exist is refused, naming the option and the fixes.
# shellcheck source-path=SCRIPTDIR source=../lib.sh
. "${TESTLIB:-$(dirname "$0")/../lib.sh}"
need swaks curl jq
[ "$(id -u)" -eq 0 ] || fail "t-18-privileges runs as root (it checks the switch to User)"
getent passwd bccsink >/dev/null || fail "no system user bccsink: run deploy/install-deps.sh"
uid=$(id -u bccsink)
gid=$(id -g bccsink)

# $T is 0700 (mktemp): bccsink could not reach a DataDir in it. This parent is searchable.
P=$(mktemp -d /tmp/bccsink-t18.XXXXXX)
chmod 0711 "$P"
at_exit "rm -rf '$P'"
DATA=$P/data

# 1. An earlier run as root leaves root's DataDir, database and spool.
start_sink "$DATA" --User ''
grep -q "privileges: running as root (User = '')" "$T/sink.log" || fail "no warning for User = ''"
stop_sink
forget_pid "$SINK_PID"
[ "$(stat -c %u "$DATA/bccsink.db")" = 0 ] || fail "the root run's database is not root's"

# deploy/run.sh as root: its first-run token, made by root in DataDir, goes with it.
src=$(cd "$(dirname "$0")/../../.." && pwd)
token_file=$("$src/deploy/first-run-token.sh" "$DATA" "$src/etc/bccsink.conf")
[ "$token_file" = "$DATA/http-token" ] || fail "first-run-token.sh made '$token_file'"

start_sink "$DATA" --User bccsink --HttpTokenFile "$token_file"
grep -q "privileges: $DATA/http-token was root's: given to bccsink" "$T/sink.log" ||
  fail "the first-run token is not taken over: $(grep -i "privileges\|DataDir" "$T/sink.log" | tail -3)"
grep -q "privileges: $DATA was root's: given to bccsink" "$T/sink.log" ||
  fail "the take-over of DataDir is not logged: $(grep privileges "$T/sink.log")"
grep -q "privileges: $DATA/bccsink.db was root's: given to bccsink" "$T/sink.log" ||
  fail "the take-over of bccsink.db is not logged"
grep -q "privileges: running as bccsink (uid $uid, gid $gid), root given up" "$T/sink.log" ||
  fail "the switch is not logged: $(grep privileges "$T/sink.log")"
status=/proc/$SINK_PID/status
[ "$(awk '/^Uid:/ {print $2, $3, $4, $5}' "$status")" = "$uid $uid $uid $uid" ] ||
  fail "Uid: $(grep '^Uid:' "$status")"
[ "$(awk '/^Gid:/ {print $2, $3, $4, $5}' "$status")" = "$gid $gid $gid $gid" ] ||
  fail "Gid: $(grep '^Gid:' "$status")"
groups=$(awk '/^Groups:/ {$1 = ""; print}' "$status" | xargs)
[ "$groups" = "$(id -G bccsink | tr ' ' '\n' | sort -n | xargs)" ] || fail "Groups: $groups"
# Every thread, not only the main one (glibc changes the ids of all threads).
for task in /proc/"$SINK_PID"/task/*; do
  [ "$(awk '/^Uid:/ {print $3}' "$task/status")" = "$uid" ] || fail "thread $task is not bccsink's"
done
ok "a root DataDir taken over (logged), the daemon and all its threads run as bccsink ($uid:$gid)"

# The parser processes (BccExtractIsolation) are forked before the daemon's own switch: the
# master and its workers must not stay root.
children=$(ps -o pid= --ppid "$SINK_PID" | xargs)
[ -n "$children" ] || fail "no parser master under the daemon (BccExtractIsolation is on)"
for child in $children $(for c in $children; do ps -o pid= --ppid "$c"; done); do
  [ "$(awk '/^Uid:/ {print $2, $3, $4, $5}' "/proc/$child/status")" = "$uid $uid $uid $uid" ] ||
    fail "parser process $child: $(grep '^Uid:' "/proc/$child/status")"
done
ok "the parser master and its workers run as bccsink too ($children)"

# 2. Mail taken and stored by bccsink; the HTTP port still answers.
swaks --server "127.0.0.1:$SINK_PORT" --from alice@example.org --to watch@bcc.test \
  --header "Subject: t18" >"$T/swaks.out" 2>&1 || fail "swaks: $(tail -5 "$T/swaks.out")"
id=$(sed -n 's/.*250 2.0.0 Ok: queued as \([0-9A-Z]*\).*/\1/p' "$T/swaks.out")
[ ${#id} -eq 26 ] || fail "no queue id in the 250 reply"
# The row is committed before the 250: it is in the queue at once.
[ -n "$(queue_json "$DATA" | jq -r "select(.id == \"$id\") | .state")" ] ||
  fail "the message is not in the queue: $(queue_json "$DATA")"
spooled_message "$DATA" "$id" | grep -q "^Subject: t18" || fail "the message is not in the spool"
segment=$(find "$DATA/spool" -name '*.seg' | head -1)
[ -n "$segment" ] && [ "$(stat -c %u "$segment")" = "$uid" ] || fail "no segment of bccsink's"
notours=$(find "$DATA" ! -user bccsink)
[ -z "$notours" ] || fail "not bccsink's: $notours"
# This run's port: the log holds the root run's lines too.
http=$(sink_http_port) || fail "no HTTP port: $(tail -3 "$T/sink.log")"
code=$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$http/metrics" || true)
[ "$code" = 200 ] || fail "/metrics answered $code after the switch"
ok "mail taken (250) and stored, every file in DataDir bccsink's, /metrics answers"
# The parser that read it left root with its master, so its /proc files were root's: it
# still set its oom_score_adj to 1000 (made dumpable for that write), so that the OOM
# killer takes a parser before the daemon.
workers=""
for _ in $(seq 1 100); do
  workers=$(for c in $(ps -o pid= --ppid "$SINK_PID"); do ps -o pid= --ppid "$c"; done | xargs)
  [ -n "$workers" ] && break
  sleep 0.1
done
[ -n "$workers" ] || fail "no parser process after a message"
for w in $workers; do
  [ "$(cat "/proc/$w/oom_score_adj")" = 1000 ] || fail "parser $w: oom_score_adj $(cat "/proc/$w/oom_score_adj")"
done
ok "the parser processes ($workers), run as bccsink, have oom_score_adj 1000"
stop_sink
forget_pid "$SINK_PID"

# 3. A DataDir under a folder bccsink may not search.
HIDDEN=$(mktemp -d /tmp/bccsink-t18-root.XXXXXX)  # 0700 root, as /root is
at_exit "rm -rf '$HIDDEN'"
rc=0
timeout 20 "$BCCSINK" serve --User bccsink --BccSocket 127.0.0.1:0 --BccDomains bcc.test \
  --DataDir "$HIDDEN/data" >"$T/hidden.out" 2>&1 || rc=$?
[ "$rc" = 1 ] || fail "serve with an unreachable DataDir: exit $rc: $(cat "$T/hidden.out")"
grep -q "bccsink: User bccsink cannot reach DataDir $HIDDEN/data: $HIDDEN (mode 0700, owner uid 0" "$T/hidden.out" ||
  fail "unclear refusal: $(cat "$T/hidden.out")"
grep -q "cannot be searched by user bccsink" "$T/hidden.out" || fail "the reason is not said"
[ ! -e "$HIDDEN/data" ] || fail "the refused start made $HIDDEN/data"
ok "a DataDir behind a 0700 root folder refused at start, the folder named, nothing made"

# 4. A user the system does not have.
rc=0
timeout 20 "$BCCSINK" serve --User no-such-user-t18 --BccSocket 127.0.0.1:0 \
  --BccDomains bcc.test --DataDir "$P/other" >"$T/nouser.out" 2>&1 || rc=$?
[ "$rc" = 1 ] || fail "serve with a missing user: exit $rc: $(cat "$T/nouser.out")"
grep -q "bccsink: option User: no user 'no-such-user-t18' on this system: create it (adduser --system --group" "$T/nouser.out" ||
  fail "unclear refusal: $(cat "$T/nouser.out")"
grep -q "or set User = '' to stay root" "$T/nouser.out" || fail "the other fix is not said"
[ ! -e "$P/other" ] || fail "the refused start made its DataDir"
ok "a missing User refused, naming the option, adduser and User = ''"

finish
