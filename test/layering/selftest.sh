#!/usr/bin/env bash
# The layering check must refuse what it is there to refuse: run it over fixture/, a tree
# with one violation of each kind (upward across layers, upward inside a layer, between
# siblings, bare, missing file) and one allowed include of each kind, and compare its
# report line by line with expected.txt. It must also exit non-zero there.
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
out=$(python3 "$here/check_includes.py" "$here/fixture" | sort)
status=${PIPESTATUS[0]}
if [ "$status" -ne 1 ]; then
  echo "FAIL: check_includes.py exited $status on the fixture, expected 1"
  exit 1
fi
if ! diff <(sort "$here/expected.txt") <(printf '%s\n' "$out"); then
  echo "FAIL: the report on the fixture differs from expected.txt (< expected, > got)"
  exit 1
fi
echo "layering self-test: every planted violation found, nothing else"
