#!/usr/bin/env bash
# deploy/first-run-token.sh DATADIR CONFIG [--Name value ...]: the JSON API's token for a
# first run (deploy/run.sh). When neither CONFIG nor the arguments give HttpToken or
# HttpTokenFile, makes DATADIR/http-token once (64 hex digits, mode 0600, kept across runs)
# and prints its path; otherwise prints nothing (the administrator's own token is used).
# Without a token the HTTP port serves a dashboard that can load nothing (issue 18, 13).
set -euo pipefail
data=$1 config=$2
shift 2

# The last value wins, as in bccsink: the file first, then the arguments.
given=""
if [ -f "$config" ]; then
  given=$(sed -n -E 's/^[[:space:]]*HttpToken(File)?[[:space:]]*=[[:space:]]*([^[:space:]#].*)$/\2/p' \
    "$config" | tail -1)
fi
while [ $# -gt 0 ]; do
  case $1 in
    --HttpToken | --HttpTokenFile) given=${2-} && shift ;;
    --HttpToken=* | --HttpTokenFile=*) given=${1#*=} ;;
  esac
  shift
done
[ -n "$given" ] && exit 0

umask 077
mkdir -p "$data"
file=$data/http-token
if [ ! -s "$file" ]; then
  # 32 random bytes as 64 hex digits: above bccsink's minimum of 32 characters.
  token=$(od -An -tx1 -N32 /dev/urandom | tr -d ' \n')
  [ ${#token} -eq 64 ] || { echo "first-run-token: /dev/urandom gave no token" >&2; exit 1; }
  printf '%s\n' "$token" >"$file.tmp"
  mv "$file.tmp" "$file"
fi
chmod 0600 "$file"
cd "$(dirname "$file")" && echo "$(pwd)/$(basename "$file")"
