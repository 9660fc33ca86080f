#!/usr/bin/env bash
# Builds the libFuzzer targets with clang (ASan + UBSan) and runs each for a bounded
# time on its corpus in test/fuzz/corpus/NAME, which it grows (commit what it adds), and
# on seeds from Debian's packages. Exit non-zero on any crash, leak or sanitizer report
# (leaks inside the libraries listed in lsan.supp, each with its reason, excepted);
# the crashing input is left in build-fuzz/.
#   FUZZ_SECONDS  seconds per target (default 60) of the four walkers' targets; the
#                 worker framing's target takes a fifth of that out of the same total
#                 (60: 57 s each and 12 s for worker_fuzzer, 240 s in all, as before it)
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
budget=${FUZZ_SECONDS:-60}
worker_seconds=$((budget / 5 > 0 ? budget / 5 : 1))
seconds=$(((4 * budget - worker_seconds) / 4))
command -v clang++ >/dev/null || { echo "fuzz: clang++ is not installed (deploy/install-deps.sh)" >&2; exit 1; }
CXX=clang++ cmake -S "$root" -B "$root/build-fuzz" -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DBCCSINK_FUZZ=ON -DBUILD_TESTING=OFF >/dev/null
cmake --build "$root/build-fuzz" -j"$(nproc)" --target mime_fuzzer archive_fuzzer decode_fuzzer container_fuzzer worker_fuzzer
cd "$root/build-fuzz"
# Seeds from Debian's packages (read, never committed): ClamAV's test mails and archives,
# CPython's MIME regression messages.
seeds=$(mktemp -d)
trap 'rm -rf "$seeds"' EXIT
mkdir -p "$seeds/mime" "$seeds/archive" "$seeds/decode" "$seeds/container" "$seeds/worker"
cp /usr/share/clamav-testfiles/clam.mail /usr/share/clamav-testfiles/clam.exe.mbox.* "$seeds/mime/"
cp /usr/lib/python3.11/test/test_email/data/msg_*.txt "$seeds/mime/"
for f in clam.zip clam.7z clam.cab clam.tar.gz clam.exe.bz2 clam.bz2.zip clam.arj clam.newc.cpio; do
  cp "/usr/share/clamav-testfiles/$f" "$seeds/archive/"
done
# container_fuzzer: the first byte picks the walker (see container_fuzzer.cpp).
t=/usr/share/clamav-testfiles
{ printf '\000'; cat "$t/clam.exe.html"; } >"$seeds/container/html"
{ printf '\001'; cat "$t/clam.pdf"; } >"$seeds/container/pdf"
{ printf '\002'; cat "$t/clam.tnef"; } >"$seeds/container/tnef"
{ printf '\003'; cat "$t/clam.ole.doc"; } >"$seeds/container/ole"
{ printf '\003'; cat "$t/clam.ppt"; } >"$seeds/container/ppt"
for target in mime_fuzzer archive_fuzzer decode_fuzzer container_fuzzer worker_fuzzer; do
  name=${target%_fuzzer}
  run=$seconds
  [ "$target" = worker_fuzzer ] && run=$worker_seconds
  corpus=$root/test/fuzz/corpus/$name  # grows: new inputs are written here
  mkdir -p "$corpus"
  echo "== fuzz: $target for ${run}s"
  rc=0
  LSAN_OPTIONS=suppressions=$root/test/fuzz/lsan.supp ./"$target" -max_total_time="$run" -max_len=65536 -rss_limit_mb=2048 -timeout=10 \
    -print_final_stats=1 "$corpus" "$seeds/$name" \
    >"$name.log" 2>&1 || rc=$?
  grep -E "^(#[0-9]+ *DONE|stat::number_of_executed_units|==[0-9]+==|SUMMARY)" "$name.log" || true
  if [ "$rc" -ne 0 ]; then
    tail -60 "$name.log" >&2
    echo "fuzz: $target failed (exit $rc); log in build-fuzz/$name.log" >&2
    exit 1
  fi
done
