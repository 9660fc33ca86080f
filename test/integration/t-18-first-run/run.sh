#!/usr/bin/env bash
# t-18-first-run: the dashboard works from the first run of deploy/run.sh (issue 18, 13).
#
#   deploy/first-run-token.sh DATA etc/bccsink.conf --> DATA/http-token (0600, 64 hex)
#   bccsink serve --HttpTokenFile DATA/http-token --> /api/overview with that token: 200
#
# 1. Without HttpToken/HttpTokenFile (the shipped sample), the script makes DATA/http-token
#    once: 64 hex digits, mode 0600 whatever the umask, the same token on the next run.
# 2. A token of the administrator's own (in the file or as an argument) wins: nothing made.
# 3. The daemon started with it (as deploy/run.sh does) answers the dashboard's API with
#    the token and refuses it without; the dashboard's page is served.
# 4. deploy/run.sh passes the file to serve and prints the dashboard's URL and the file.
# shellcheck source-path=SCRIPTDIR source=../lib.sh
. "${TESTLIB:-$(dirname "$0")/../lib.sh}"
need curl
src=$(cd "$(dirname "$0")/../../.." && pwd)
script=$src/deploy/first-run-token.sh
[ -x "$script" ] || fail "no $script"

umask 022
DATA=$T/data
file=$("$script" "$DATA" "$src/etc/bccsink.conf")
[ "$file" = "$DATA/http-token" ] || fail "the token file is '$file', not $DATA/http-token"
[ "$(stat -c %a "$file")" = 600 ] || fail "the token file is $(stat -c %a "$file"), not 0600"
token=$(cat "$file")
[[ $token =~ ^[0-9a-f]{64}$ ]] || fail "the token is not 64 hex digits: '$token'"
again=$("$script" "$DATA" "$src/etc/bccsink.conf")
[ "$again" = "$file" ] && [ "$(cat "$file")" = "$token" ] || fail "a second run changed the token"
ok "a first run makes DATA/http-token: 64 hex digits, 0600 under umask 022, kept across runs"

printf 'HttpToken = %s\n' "$(printf 'x%.0s' $(seq 1 40))" >"$T/own.conf"
[ -z "$("$script" "$T/data2" "$T/own.conf")" ] || fail "a configured HttpToken was replaced"
[ -z "$("$script" "$T/data3" "$src/etc/bccsink.conf" --HttpTokenFile /etc/x)" ] ||
  fail "--HttpTokenFile was replaced"
[ ! -e "$T/data2/http-token" ] && [ ! -e "$T/data3/http-token" ] ||
  fail "a token file was made although one was configured"
ok "the administrator's own HttpToken or --HttpTokenFile wins: no token made"

start_sink "$DATA" --HttpTokenFile "$file" --User ""
port=$(sink_http_port) || fail "no HTTP port: $(tail -3 "$T/sink.log")"
[ -n "$port" ] || fail "no 'http listening on' line: $(tail -3 "$T/sink.log")"
code=$(curl -s -o "$T/overview.json" -w '%{http_code}' -H "Authorization: Bearer $token" \
  "http://127.0.0.1:$port/api/overview")
[ "$code" = 200 ] || fail "/api/overview with the first-run token: $code $(cat "$T/overview.json")"
code=$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$port/api/overview")
[ "$code" = 401 ] || fail "/api/overview without a token: $code, not 401"
code=$(curl -s -o "$T/index.html" -w '%{http_code}' "http://127.0.0.1:$port/")
[ "$code" = 200 ] && grep -q token "$T/index.html" || fail "the dashboard's page: $code"
ok "the daemon takes the first-run token: the dashboard's API answers 200 with it, 401 without"

# deploy/run.sh itself, in a copy of the tree whose install, cmake and bccsink are stand-ins
# that record what they were given (the real ones ran above and in every other scenario).
tree=$T/tree
mkdir -p "$tree/deploy" "$tree/etc" "$tree/build" "$T/bin"
cp "$src/deploy/run.sh" "$src/deploy/first-run-token.sh" "$tree/deploy/"
cp "$src/etc/bccsink.conf" "$tree/etc/"
printf '#!/bin/sh\nexit 0\n' >"$tree/deploy/install-deps.sh"
printf '#!/bin/sh\nexit 0\n' >"$T/bin/cmake"
printf '#!/bin/sh\nexit 0\n' >"$T/bin/sudo"
printf '#!/bin/sh\nprintf "%%s\\n" "$@" >"%s/serve.args"\n' "$T" >"$tree/build/bccsink"
chmod +x "$tree/deploy/install-deps.sh" "$T/bin/cmake" "$T/bin/sudo" "$tree/build/bccsink"
PATH=$T/bin:$PATH bash "$tree/deploy/run.sh" >"$T/run.out" 2>&1 || fail "deploy/run.sh: $(cat "$T/run.out")"
grep -qx -- "--HttpTokenFile" "$T/serve.args" && grep -qx "$tree/var/http-token" "$T/serve.args" ||
  fail "deploy/run.sh did not pass the token file: $(cat "$T/serve.args")"
[ "$(stat -c %a "$tree/var/http-token")" = 600 ] || fail "run.sh's token file is not 0600"
grep -q "dashboard at http://127.0.0.1:8025/" "$T/run.out" &&
  grep -q "token .* is in $tree/var/http-token" "$T/run.out" ||
  fail "deploy/run.sh did not print the dashboard's URL and the token's file: $(cat "$T/run.out")"
PATH=$T/bin:$PATH bash "$tree/deploy/run.sh" --HttpSocket 127.0.0.1:9999 >"$T/run2.out" 2>&1 ||
  fail "deploy/run.sh --HttpSocket: $(cat "$T/run2.out")"
grep -q "dashboard at http://127.0.0.1:9999/" "$T/run2.out" || fail "--HttpSocket not in the URL"
ok "deploy/run.sh passes var/http-token to serve and prints the dashboard's URL and the file"
finish
