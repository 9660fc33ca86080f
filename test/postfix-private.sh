# postfix-private.sh: a private Postfix on loopback for tests and benchmarks, as
# ../shared/postfix-test-recipe.md has it (own folders, loopback only, no systemd or
# syslog, every service chroot n). Sourced by test/integration/t-10-postfix and
# t-16-smtp-mode, test/bench/intake.sh and smtp-mode.sh; run as root.
#
# postfix_private_config DIR SMTPPORT RELAYPORT: writes DIR/etc/main.cf and master.cf
# (smtpd on 127.0.0.1:SMTPPORT, relayhost [127.0.0.1]:RELAYPORT, queue and data folders
# under DIR, log in DIR/maillog). The caller appends what its case needs (always_bcc,
# transport_maps, process limits), then runs `postfix -c DIR/etc start`.
postfix_private_config() {
  local dir=$1 smtpport=$2 relayport=$3
  mkdir -p "$dir/etc" "$dir/spool" "$dir/data"
  chown postfix "$dir/data"
  cat >"$dir/etc/main.cf" <<CF
compatibility_level = 3.6
queue_directory = $dir/spool
data_directory = $dir/data
maillog_file = $dir/maillog
maillog_file_prefixes = /tmp
myhostname = mta.test.local
mydestination =
inet_interfaces = loopback-only
inet_protocols = ipv4
mynetworks = 127.0.0.0/8
smtpd_relay_restrictions = permit_mynetworks, reject
relayhost = [127.0.0.1]:$relayport
alias_maps =
alias_database =
CF
  # The recipe's services plus tlsmgr, which every stock master.cf has: a service that
  # sets smtp_tls_security_level=may (deploy/postfix/master.cf.bccsink does) otherwise
  # logs "connect to private/tlsmgr" in each smtp process and stalls about a second.
  cat >"$dir/etc/master.cf" <<CF
127.0.0.1:$smtpport inet n - n - - smtpd
pickup    unix n - n 60 1 pickup
cleanup   unix n - n - 0 cleanup
qmgr      unix n - n 300 1 qmgr
rewrite   unix - - n - - trivial-rewrite
bounce    unix - - n - 0 bounce
defer     unix - - n - 0 bounce
trace     unix - - n - 0 bounce
verify    unix - - n - 1 verify
flush     unix n - n 1000? 0 flush
proxymap  unix - - n - - proxymap
smtp      unix - - n - - smtp
relay     unix - - n - - smtp
showq     unix n - n - - showq
error     unix - - n - - error
retry     unix - - n - - error
discard   unix - - n - - discard
local     unix - n n - - local
anvil     unix - - n - 1 anvil
scache    unix - - n - 1 scache
postlog   unix-dgram n - n - 1 postlogd
tlsmgr    unix - - n 1000? 1 tlsmgr
CF
}

# postfix_private_stop DIR: `postfix -c DIR/etc stop`, then waits up to 10 s for its master
# process (by the PID in DIR/spool/pid/master.pid) and SIGKILLs it if it is still there.
postfix_private_stop() {
  local dir=$1 master=""
  [ -f "$dir/spool/pid/master.pid" ] && master=$(tr -dc 0-9 <"$dir/spool/pid/master.pid")
  postfix -c "$dir/etc" stop >/dev/null 2>&1 || true
  [ -n "$master" ] || return 0
  for _ in $(seq 1 100); do
    kill -0 "$master" 2>/dev/null || return 0
    sleep 0.1
  done
  kill -KILL "$master" 2>/dev/null || true
}
