#!/usr/bin/env bash
# evasion.sh: how many broken-MIME mails bccsink still reads as a mail client would, beside
# ClamAV's parser on the same mails.
#
# The corpus is mime-is-broken (github.com/noxxi/mime-is-broken, GPL-3.0), kept outside the
# project in ../shared/corpora/mime-is-broken (relative to the repository's parent folder,
# or to the main checkout's when this is a git worktree; CORPUS overrides it). When it is
# missing the script says so and exits 0. Each mail hides one attachment behind one MIME
# trick named in its `X-Payload-Id:` header (the trick's id and `valid(N)`: 3 fully valid,
# 2 valid edge case, 1 odd but not wrong, 0 off the standard but read by some mail clients).
#
#   hide-content.d   eicar.zip behind the trick. Found = some file `bccsink scan --json`
#                    lists, at any depth (archive members included), has the SHA-256 of the
#                    68-byte EICAR file. Printed found/total per validity level.
#   hide-filename.d  the real name `file.zip` behind the trick. Found = some listed file's
#                    name ends in `.zip` (any case). Printed found/total per validity level.
#
# When `clamscan` and `sigtool` are installed, ClamAV scans the hide-content mails too, with
# a database of one line only: the MD5 signature of the EICAR file (sigtool --md5, in a
# temp .hdb). Its result then depends only on how its parser decodes the mail; the script
# first checks that this database finds a plain eicar.zip.
#
#   test/bench/evasion.sh
#   BCCSINK=/tmp/bccsink test/bench/evasion.sh --list-missed /tmp/missed.txt
#
# --list-missed FILE (or MISSED=FILE) writes one line per mail bccsink missed:
#   CORPUS-FOLDER/MAIL <TAB> valid(N) <TAB> trick-id <TAB> clamav (found|missed|-)
#
# Env: BCCSINK (binary, default ROOT/build/bccsink; not built here), CORPUS, JOBS (mails
# scanned at once, 2), TIMEOUT (seconds per mail and tool, 20). Needs jq, timeout, xargs.
# A scan that fails or times out counts as missed and is counted on its own line. bccsink
# runs with YARA off (only the files it extracts matter). Temp folder removed on exit.
#
# The last line is machine-readable:
#   RESULT content=A/N v3=.. v2=.. v1=.. v0=.. clamav=B/N filename=C/M errors=E
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
BCCSINK=${BCCSINK:-$ROOT/build/bccsink}
# In a git worktree elsewhere, the main checkout's parent folder is tried too.
if [ -z "${CORPUS:-}" ] && [ ! -d "$ROOT/../shared/corpora/mime-is-broken" ] &&
  common=$(git -C "$ROOT" rev-parse --path-format=absolute --git-common-dir 2>/dev/null); then
  [ -d "$(dirname "$common")/../shared/corpora/mime-is-broken" ] &&
    CORPUS=$(dirname "$common")/../shared/corpora/mime-is-broken
fi
CORPUS=${CORPUS:-$ROOT/../shared/corpora/mime-is-broken}
JOBS=${JOBS:-2}
TIMEOUT=${TIMEOUT:-20}
MISSED=${MISSED:-}
EICAR_SHA256=275a021bbfb6489e54d471899f7db9d1663fc695ec2fe2a2c4538aabf651fd0f

die() {
  echo "evasion.sh: $*" >&2
  exit 1
}

while [ $# -gt 0 ]; do
  case $1 in
    --list-missed)
      [ $# -ge 2 ] || die "--list-missed needs a file"
      MISSED=$2
      shift 2
      ;;
    -h | --help)
      sed -n '2,/^set -euo/p' "${BASH_SOURCE[0]}" | sed '$d; s/^# \{0,1\}//'
      exit 0
      ;;
    *) die "unknown argument '$1' (--list-missed FILE, --help)" ;;
  esac
done

if [ ! -d "$CORPUS/hide-content.d" ] || [ ! -d "$CORPUS/hide-filename.d" ]; then
  echo "evasion.sh: no corpus at $CORPUS (hide-content.d, hide-filename.d): skipped"
  exit 0
fi
CORPUS=$(cd "$CORPUS" && pwd)
for v in JOBS TIMEOUT; do
  [[ ${!v} =~ ^[1-9][0-9]*$ ]] || die "$v must be a positive integer, not '${!v}'"
done
for tool in jq timeout xargs awk sha256sum; do
  command -v "$tool" >/dev/null 2>&1 || die "'$tool' is not installed"
done
[ -x "$BCCSINK" ] || die "no bccsink binary at $BCCSINK (build it, or set BCCSINK)"

T=$(mktemp -d /tmp/bccsink-evasion.XXXXXX)
trap 'rm -rf "$T"' EXIT
trap 'exit 130' INT TERM

# ------------------------------------------------------------------ ClamAV's database
# The EICAR file, written without a trailing newline (68 bytes); its MD5 signature is the
# whole database, so ClamAV finds EICAR only where its own parser decodes the mail.
CLAM=no
# shellcheck disable=SC2016 # the EICAR string, literally
printf '%s' 'X5O!P%@AP[4\PZX54(P^)7CC)7}$EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*' >"$T/eicar.com"
[ "$(sha256sum <"$T/eicar.com" | cut -d' ' -f1)" = "$EICAR_SHA256" ] || die "wrote a wrong EICAR file"
if command -v clamscan >/dev/null 2>&1 && command -v sigtool >/dev/null 2>&1; then
  (cd "$T" && sigtool --md5 eicar.com) | sed 's/:eicar\.com$/:Bench.EICAR.MD5/' >"$T/eicar.hdb"
  # A plain eicar.zip must be found with this database alone, and a clean file not.
  if command -v python3 >/dev/null 2>&1; then
    python3 -c 'import sys, zipfile
with zipfile.ZipFile(sys.argv[1], "w", zipfile.ZIP_DEFLATED) as z: z.write(sys.argv[2], "eicar.com")' \
      "$T/eicar.zip" "$T/eicar.com"
    probe=$T/eicar.zip
  else
    probe=$T/eicar.com
  fi
  echo clean >"$T/clean.txt"
  rc=0
  clamscan --no-summary -d "$T/eicar.hdb" "$probe" >/dev/null 2>&1 || rc=$?
  [ "$rc" -eq 1 ] || die "clamscan with only the EICAR MD5 signature does not find $(basename "$probe") (exit $rc)"
  rc=0
  clamscan --no-summary -d "$T/eicar.hdb" "$T/clean.txt" >/dev/null 2>&1 || rc=$?
  [ "$rc" -eq 0 ] || die "clamscan with only the EICAR MD5 signature does not pass a clean file (exit $rc)"
  CLAM=yes
  echo "== ClamAV: $(clamscan --version), database: the EICAR MD5 signature only"
else
  echo "== ClamAV: clamscan or sigtool is not installed: bccsink alone"
fi

# ---------------------------------------------------------------------- one mail each
# one KIND FILE: prints one line
#   KIND <TAB> FOLDER/MAIL <TAB> valid(N) <TAB> trick-id <TAB> bccsink <TAB> clamav
# where bccsink is found, missed or error (failed or timed out), clamav found, missed,
# error or - (not run).
one() {
  local kind=$1 file=$2 header id valid rc=0 json bcc clam=-
  header=$(grep -a -m1 '^X-Payload-Id:' "$file" | tr -d '\r' || true)
  id=$(awk '{ print $2 }' <<<"$header")
  valid=$(grep -o 'valid([0-9])' <<<"$header" | head -1 || true)
  json=$(timeout "$TIMEOUT" "$BCCSINK" scan "$file" --json --UseYara no 2>/dev/null) || rc=$?
  if [ "$rc" -gt 2 ]; then
    bcc=error
  elif [ "$kind" = hide-content ]; then
    bcc=$(jq -r --arg s "$EICAR_SHA256" 'if any(.files[]; .sha256 == $s) then "found" else "missed" end' <<<"$json" 2>/dev/null) || bcc=error
  else
    bcc=$(jq -r 'if any(.files[]; .name | ascii_downcase | endswith(".zip")) then "found" else "missed" end' <<<"$json" 2>/dev/null) ||
      bcc=error
  fi
  if [ "$CLAM" = yes ] && [ "$kind" = hide-content ]; then
    rc=0
    timeout "$TIMEOUT" clamscan --no-summary -d "$T/eicar.hdb" "$file" >/dev/null 2>&1 || rc=$?
    case $rc in
      0) clam=missed ;;
      1) clam=found ;;
      *) clam=error ;;
    esac
  fi
  printf '%s\t%s\t%s\t%s\t%s\t%s\n' "$kind" "$(basename "$(dirname "$file")")/$(basename "$file")" \
    "${valid:-valid(?)}" "${id:-?}" "$bcc" "$clam"
}
export -f one
export BCCSINK TIMEOUT EICAR_SHA256 CLAM T

echo "== scanning $(find "$CORPUS/hide-content.d" "$CORPUS/hide-filename.d" -type f | wc -l) mails" \
  "of $CORPUS, $JOBS at a time, $TIMEOUT s each at most"
for kind in hide-content hide-filename; do
  # shellcheck disable=SC2016 # $1 and $2 belong to the inner bash
  find "$CORPUS/$kind.d" -type f -print0 | sort -z |
    xargs -0 -P "$JOBS" -I{} bash -c 'one "$1" "$2"' _ "$kind" {} >>"$T/results.tsv"
done

# ---------------------------------------------------------------------------- report
echo
echo "bccsink: $BCCSINK"
awk -F'\t' -v clam="$CLAM" '
  { v = $3; sub(/^valid\(/, "", v); sub(/\)$/, "", v); key = $1 SUBSEP v
    n[key]++; all[$1]++
    if ($5 == "found") { b[key]++; ball[$1]++ }
    if ($6 == "found") { c[key]++; call[$1]++ }
    if ($5 == "error") errs++
    if ($6 == "error") cerrs++ }
  function row(kind, label, key, withclam) {
    if (withclam) printf "  %-10s %6d %10s %10s\n", label, n[key], b[key] + 0 "/" n[key], c[key] + 0 "/" n[key]
    else printf "  %-10s %6d %10s\n", label, n[key], b[key] + 0 "/" n[key]
  }
  END {
    levels[1] = "3"; levels[2] = "2"; levels[3] = "1"; levels[4] = "0"; levels[5] = "?"
    print "hide-content: EICAR reached, per validity level"
    if (clam == "yes") printf "  %-10s %6s %10s %10s\n", "validity", "mails", "bccsink", "clamav"
    else printf "  %-10s %6s %10s\n", "validity", "mails", "bccsink"
    for (i = 1; i <= 5; i++) if (n["hide-content" SUBSEP levels[i]]) row("hide-content", levels[i], "hide-content" SUBSEP levels[i], clam == "yes")
    if (clam == "yes") printf "  %-10s %6d %10s %10s\n", "all", all["hide-content"], ball["hide-content"] + 0 "/" all["hide-content"], call["hide-content"] + 0 "/" all["hide-content"]
    else printf "  %-10s %6d %10s\n", "all", all["hide-content"], ball["hide-content"] + 0 "/" all["hide-content"]
    print "hide-filename: a file named *.zip, per validity level"
    printf "  %-10s %6s %10s\n", "validity", "mails", "bccsink"
    for (i = 1; i <= 5; i++) if (n["hide-filename" SUBSEP levels[i]]) row("hide-filename", levels[i], "hide-filename" SUBSEP levels[i], 0)
    printf "  %-10s %6d %10s\n", "all", all["hide-filename"], ball["hide-filename"] + 0 "/" all["hide-filename"]
    printf "scans that failed or timed out (counted as missed): bccsink %d", errs
    if (clam == "yes") printf ", clamscan %d", cerrs
    printf "\n"
    k = "hide-content" SUBSEP
    printf "RESULT content=%d/%d v3=%d/%d v2=%d/%d v1=%d/%d v0=%d/%d", ball["hide-content"], all["hide-content"],
      b[k "3"], n[k "3"], b[k "2"], n[k "2"], b[k "1"], n[k "1"], b[k "0"], n[k "0"]
    if (clam == "yes") printf " clamav=%d/%d", call["hide-content"], all["hide-content"]
    printf " filename=%d/%d errors=%d\n", ball["hide-filename"], all["hide-filename"], errs
  }' "$T/results.tsv"

if [ -n "$MISSED" ]; then
  awk -F'\t' -v OFS='\t' '$5 != "found" { print $2, $3, $4, $6 }' "$T/results.tsv" | sort -k1,1 >"$MISSED"
  echo "missed mails: $(wc -l <"$MISSED") lines in $MISSED"
fi
