#!/usr/bin/env bash
# One command on a fresh Debian 12 machine: install the dependencies, build Release,
# and run bccsink in the foreground on 127.0.0.1:2525 with etc/bccsink.conf and its
# data under ./var, YARA on, clamd when it runs; reports go to the Maildir
# ./var/reports (new/ holds one mail per report). Stop it with Ctrl-C.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"

if [ "$(id -u)" -eq 0 ]; then
  deploy/install-deps.sh
else
  sudo deploy/install-deps.sh
fi
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release -DBUILD_TESTING=OFF
cmake --build build -j"$(nproc)" --target bccsink
mkdir -p var
# YARA is on (the rules built in); clamd is used when one is running (Debian's
# clamav-daemon, with a signature database from freshclam).
analyzers=()
if [ -S /run/clamav/clamd.ctl ]; then
  echo "deploy/run.sh: clamd is running: UseClamd yes" >&2
  analyzers=(--UseClamd yes --ClamdSocket unix:/run/clamav/clamd.ctl)
fi
# As root, serve binds its port, then runs as User (bccsink), which must reach ./var. A
# checkout under a folder others may not search (/root is 0700) cannot be reached: then say
# so and stay root (--User ''), rather than chmod a home folder behind the admin's back.
privileges=()
if [ "$(id -u)" -eq 0 ] && [[ " $* " != *" --User"* ]]; then
  if getent passwd bccsink >/dev/null && runuser -u bccsink -- test -x "$root/var"; then
    echo "deploy/run.sh: started as root: bccsink binds its port, then runs as user bccsink (it takes over $root/var)" >&2
  else
    echo "deploy/run.sh: user bccsink cannot reach $root/var (a parent folder is not searchable, or no such user):" \
      "running as ROOT (--User ''). For the switch to bccsink, use a checkout under /opt or /srv, or --DataDir /var/lib/bccsink" >&2
    privileges=(--User '')
  fi
fi
echo "deploy/run.sh: reports are written to $root/var/reports/new/ (no BccSmtpServer)" >&2
# The dashboard needs the JSON API's token: on a first run without one, one is made in
# var/http-token (0600) and used; a token of your own (HttpToken/HttpTokenFile) wins.
token=()
token_file=$(deploy/first-run-token.sh "$root/var" etc/bccsink.conf "$@")
[ -n "$token_file" ] && token=(--HttpTokenFile "$token_file")
http=$(sed -n -E 's/^[[:space:]]*HttpSocket[[:space:]]*=[[:space:]]*([^[:space:]#]*).*$/\1/p' \
  etc/bccsink.conf | tail -1)
prev=""
for a in "$@"; do
  [ "$prev" = --HttpSocket ] && http=$a
  case $a in --HttpSocket=*) http=${a#*=} ;; esac
  prev=$a
done
if [ -z "$http" ]; then
  echo "deploy/run.sh: no HTTP port (HttpSocket is empty): no dashboard" >&2
else
  echo "deploy/run.sh: dashboard at http://$http/" >&2
  if [ -n "$token_file" ]; then
    echo "deploy/run.sh: its token (asked once by the dashboard) is in $token_file" >&2
  else
    echo "deploy/run.sh: its token is your HttpToken/HttpTokenFile" >&2
  fi
fi
exec build/bccsink serve --config etc/bccsink.conf --DataDir "$root/var" "${token[@]}" \
  "${analyzers[@]}" "${privileges[@]}" "$@"
