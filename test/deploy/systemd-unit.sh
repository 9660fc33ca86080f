#!/usr/bin/env bash
# deploy/systemd/bccsink.service, checked offline with systemd's own tools (no running
# systemd needed): `systemd-analyze security --offline=true` rates its exposure at or
# below 2.0 (issue 18: 2.0 before ProtectProc, ProcSubset and the narrower filter), /proc
# is restricted, and the system-call filter leaves out @privileged and @resources while
# keeping what the parser worker processes need (fork/clone, prctl, seccomp, wait4, and
# prlimit64 for each worker's RLIMIT_AS).
set -euo pipefail
unit=${1:-$(cd "$(dirname "$0")/../.." && pwd)/deploy/systemd/bccsink.service}
fail() {
  echo "FAIL: $*" >&2
  exit 1
}
command -v systemd-analyze >/dev/null || fail "systemd-analyze is not installed (package systemd)"
out=$(systemd-analyze security --offline=true --no-pager "$unit" 2>&1) ||
  fail "systemd-analyze security failed: $out"
level=$(echo "$out" | sed -nE 's/.*Overall exposure level for [^:]*: ([0-9.]+).*/\1/p')
[ -n "$level" ] || fail "no exposure level in: $out"
awk -v l="$level" 'BEGIN { exit !(l <= 2.0) }' || fail "exposure $level is above 2.0"
echo "ok - exposure level $level (at most 2.0)"

for setting in 'ProtectProc=' 'ProcSubset=' 'SystemCallFilter=~@privileged' \
  'SystemCallFilter=~@resources' 'NoNewPrivileges='; do
  grep -q "✓ $setting " <<<"$out" || fail "$setting is not satisfied: $(echo "$out" | grep " $setting " || true)"
done
echo "ok - ProtectProc, ProcSubset, no @privileged, no @resources, NoNewPrivileges"

# The allow list as systemd builds it: each SystemCallFilter line in order, groups
# expanded by `systemd-analyze syscall-filter`.
groups=$(systemd-analyze syscall-filter --no-pager)
allowed=$(UNIT="$unit" GROUPS_TEXT="$groups" python3 - <<'PY'
import os
groups, cur = {}, None
for line in os.environ["GROUPS_TEXT"].splitlines():
    if line.startswith("@"):
        cur = line.split()[0]
        groups[cur] = []
    elif cur and line.strip() and not line.strip().startswith("#"):
        groups[cur].append(line.split()[0])
def expand(names):
    out = set()
    for n in names:
        out |= expand(groups[n]) if n.startswith("@") else {n}
    return out
allowed = set()
for line in open(os.environ["UNIT"]):
    line = line.strip()
    if not line.startswith("SystemCallFilter="):
        continue
    value = line.split("=", 1)[1]
    if value.startswith("~"):
        allowed -= expand(value[1:].split())
    else:
        allowed |= expand(value.split())
print("\n".join(sorted(allowed)))
PY
)
for call in fork clone clone3 execve wait4 prctl seccomp pipe2 socketpair flock fdatasync prlimit64; do
  grep -qx "$call" <<<"$allowed" || fail "the filter refuses $call (parser workers, spool)"
done
for call in setuid setgroups chown capset setrlimit sched_setaffinity; do
  grep -qx "$call" <<<"$allowed" && fail "the filter allows $call"
done
echo "ok - fork, clone, execve, wait4, prctl, seccomp allowed; setuid, chown, setrlimit refused"
