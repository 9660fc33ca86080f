#!/usr/bin/env bash
# t-06-scan: `bccsink scan` on real material, no daemon.
#
#   clamav-testfiles --make_messages.py--> *.eml --bccsink scan --json--> report, exit code
#
# The hash list analyzer knows clam.exe's SHA-256 as dangerous, so a report that finds
# clam.exe inside a zip, 7z, cab, tar.gz, bz2, an attached message or a uuencoded part
# says so, with the file's path inside its containers.
source "$TESTLIB"
need jq python3 sha256sum
TF=/usr/share/clamav-testfiles
[ -f "$TF/clam.exe" ] || fail "clamav-testfiles is not installed (deploy/install-deps.sh)"
HERE=$(cd "$(dirname "$0")" && pwd)
mkdir -p "$T/msg"
python3 "$HERE/make_messages.py" "$T/msg"
CLAM=$(sha256sum "$TF/clam.exe" | cut -d' ' -f1)
printf '# t-06 list\n%s dangerous ClamAV-Test-File\n' "$CLAM" >"$T/hashes"

scan() {  # scan FILE [options]: sets RC and writes $T/out.json
  set +e
  "$BCCSINK" scan "$1" --json --HashListFile "$T/hashes" --DataDir "$T/data" "${@:2}" >"$T/out.json" 2>"$T/err"
  RC=$?
  set -e
}

for m in archive-clam.zip archive-clam.7z archive-clam.cab archive-clam.tar.gz \
  archive-clam.exe.bz2 archive-clam.bz2.zip; do
  scan "$T/msg/$m.eml"
  [ "$RC" -eq 2 ] || fail "$m: exit $RC, not 2 (dangerous): $(cat "$T/err")"
  jq -e --arg s "$CLAM" '.verdict == "dangerous" and
      any(.files[]; .sha256 == $s and .verdict == "dangerous" and (.path | contains(" > ")) and
          (.threats | index("ClamAV-Test-File")))' "$T/out.json" >/dev/null ||
    fail "$m: clam.exe not found dangerous inside the archive: $(jq -c '.files' "$T/out.json")"
  ok "$m: clam.exe found inside, dangerous, path $(jq -r --arg s "$CLAM" '[.files[] | select(.sha256 == $s) | .path][0]' "$T/out.json")"
done

for f in clam.mail clam.exe.mbox.base64 clam.exe.mbox.uu; do
  scan "$TF/$f"
  [ "$RC" -eq 2 ] || fail "$f: exit $RC, not 2"
  jq -e --arg s "$CLAM" 'any(.files[]; .sha256 == $s and .name == "clam.exe" and .family == "pe")' \
    "$T/out.json" >/dev/null || fail "$f: no clam.exe of family pe"
  ok "$f from clamav-testfiles: clam.exe, pe, dangerous"
done

scan "$T/msg/clean.eml"
[ "$RC" -eq 0 ] || fail "clean: exit $RC"
jq -e '.verdict == "clean" and (.files | length) == 2 and
    any(.files[]; .name == "dot.png" and .family == "image" and .selected == false and .verdict == null)' \
  "$T/out.json" >/dev/null || fail "clean: $(cat "$T/out.json")"
ok "clean message: exit 0, PNG listed, not selected"

scan "$T/msg/pe-as-pdf.eml"
jq -e '.files[] | select(.name == "invoice.pdf") | .extension_mismatch == true and .family == "pe" and .extension == "pdf" and .selected' \
  "$T/out.json" >/dev/null || fail "pe-as-pdf: $(jq -c .files "$T/out.json")"
ok "a PE named invoice.pdf: extension mismatch, selected"

for m in nested nested-rfc822; do
  scan "$T/msg/$m.eml"
  [ "$RC" -eq 2 ] || fail "$m: exit $RC"
  path=$(jq -r --arg s "$CLAM" '[.files[] | select(.sha256 == $s) | .path][0]' "$T/out.json")
  case $path in *"bundle.zip > forwarded.eml > payload.exe") ;; *) fail "$m: path '$path'" ;; esac
  ok "$m: found at '$path'"
done

scan "$T/msg/encrypted.eml"
# An archive no password opens is what a sender does to pass unseen: the message is
# suspicious (exit 1), the member unscanned with the evasion named.
jq -e '.verdict == "suspicious" and any(.files[]; .name == "secret.exe" and .verdict == "unscanned" and .reason == "evasion: encrypted zip, no password opened it")' \
  "$T/out.json" >/dev/null || fail "encrypted: $(jq -c . "$T/out.json")"
[ "$RC" -eq 1 ] || fail "encrypted: exit $RC"
ok "encrypted zip member: listed as unscanned with the evasion, the message suspicious"

scan "$T/msg/utf8-name.eml"
jq -e '.files[] | select(.name == "счёт.exe") | .verdict == "dangerous"' "$T/out.json" >/dev/null ||
  fail "utf8 name: $(jq -c '[.files[].name]' "$T/out.json")"
ok "RFC 2231 UTF-8 file name decoded"

scan "$T/msg/encoded-word.eml"
jq -e '.files[] | select(.name == "résumé.exe") | .verdict == "dangerous"' "$T/out.json" >/dev/null ||
  fail "encoded-word name: $(jq -c '[.files[].name]' "$T/out.json")"
ok "RFC 2047 Latin-1 encoded-word file name decoded"

# Every file of clamav-testfiles in one message: clam.exe found inside each container.
scan "$T/msg/all-testfiles.eml"
[ "$RC" -eq 2 ] || fail "all-testfiles: exit $RC"
for c in clam.7z clam.bin-be.cpio clam.bin-le.cpio clam.bz2.zip clam.cab clam.exe.bz2 clam.mail \
  clam.newc.cpio clam.odc.cpio clam.tar.gz clam.zip; do
  jq -e --arg s "$CLAM" --arg p "$c > clam.exe" 'any(.files[]; .sha256 == $s and .path == $p)' \
    "$T/out.json" >/dev/null || fail "all-testfiles: no '$c > clam.exe'"
done
n=$(ls /usr/share/clamav-testfiles | wc -l)
jq -e --argjson n "$n" '[.files[] | select(.path | contains(" > ") | not)] | length >= $n' \
  "$T/out.json" >/dev/null || fail "all-testfiles: fewer top-level files than the $n attached"
ok "all $n clamav-testfiles in one message: each listed, clam.exe found in 11 containers"

# 20 zips inside each other: past BccMaxNesting the innermost container is unscanned, named.
scan "$T/msg/nest20.eml"
jq -e '.verdict == "suspicious" and any(.files[]; .verdict == "unscanned" and (.reason | test("^evasion: .*BccMaxNesting")))
  and any(.errors[]; test("^evasion: .*nested deeper than 10"))' "$T/out.json" >/dev/null ||
  fail "nest20: $(jq -c '[.verdict, .errors]' "$T/out.json")"
ok "20-level nesting: the container past the limit is unscanned with the reason"
scan "$T/msg/nest20.eml" --BccMaxNesting 25
path=$(jq -r --arg s "$CLAM" '[.files[] | select(.sha256 == $s) | .path][0]' "$T/out.json")
[ "$RC" -eq 2 ] && [ "$(grep -o ' > ' <<<"$path" | wc -l)" -eq 20 ] || fail "nest20 with limit 25: exit $RC, '$path'"
ok "20-level nesting with BccMaxNesting 25: clam.exe found under 20 containers"

# A 2 GiB zip bomb member: unscanned without being inflated; the member after it is read.
scan "$T/msg/bomb.eml"
jq -e --arg s "$CLAM" 'any(.files[]; .name == "zeros.bin" and .verdict == "unscanned" and (.reason | startswith("evasion: ")))
  and any(.files[]; .sha256 == $s and .path == "bomb.zip > clam.exe")' "$T/out.json" >/dev/null ||
  fail "bomb: $(jq -c '[.files[] | {path, verdict, reason}]' "$T/out.json")"
ok "zip bomb: the member is unscanned with its reason, clam.exe beside it found"

# A 50 MB attachment: decoded whole, hashed right.
scan "$T/msg/big.eml" --BccMaxMessageSize 100M
jq -e --arg s "$(cat "$T/msg/big.sha256")" 'any(.files[]; .name == "big.exe" and .sha256 == $s and .size == 52428800)' \
  "$T/out.json" >/dev/null || fail "big: $(jq -c '[.files[] | {name, size, sha256}]' "$T/out.json")"
scan "$T/msg/big.eml"
[ "$RC" -eq 3 ] && grep -q BccMaxMessageSize "$T/err" || fail "big over BccMaxMessageSize: exit $RC"
ok "50 MB attachment: size and SHA-256 right; over BccMaxMessageSize it is an error naming the option"

# Suspicious via the list: exit 1. Then the errors: exit 3 with the reason.
printf '%s suspicious\n' "$CLAM" >"$T/hashes"
scan "$T/msg/archive-clam.zip.eml"
[ "$RC" -eq 1 ] || fail "suspicious: exit $RC"
ok "suspicious: exit 1"
printf 'not-a-hash dangerous\n' >"$T/hashes"
scan "$T/msg/clean.eml"
[ "$RC" -eq 3 ] && grep -q "HashListFile" "$T/err" && grep -q ":1" "$T/err" || fail "bad list: exit $RC, $(cat "$T/err")"
ok "malformed hash list: exit 3 naming the option and line"
scan "$T/msg/no-such-file.eml"
[ "$RC" -eq 3 ] || fail "missing file: exit $RC"
ok "missing message file: exit 3"
echo "t-06-scan: $PASSED checks passed"
