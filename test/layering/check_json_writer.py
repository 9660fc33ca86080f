#!/usr/bin/env python3
"""JSON is written in one place (STYLE.md 13; issue 18, finding 9): base/JsonText.

Poco's Stringifier (and Object/Array::stringify, which use it) pass bytes >= 0x80 as they
are, so a JSON text written with them directly can be invalid UTF-8. Only base/JsonText.cpp
may call them; every other writer calls jsonText(). Prints one line per call elsewhere in
the product's folders (file:line: text) and exits 1 if there is any, 0 otherwise.

Usage: check_json_writer.py [ROOT]   (default: the repository this script lives in)
"""
import os
import re
import sys

PRODUCT_DIRS = ["base", "db", "sandbox", "report", "sink"]
THE_WRITER = os.path.join("base", "JsonText.cpp")
DIRECT = re.compile(r"Stringifier|(\.|->)\s*stringify\s*\(")


def main():
    root = os.path.abspath(sys.argv[1] if len(sys.argv) > 1 else
                           os.path.join(os.path.dirname(__file__), "..", ".."))
    bad = checked = 0
    for top in PRODUCT_DIRS:
        for folder, _, files in os.walk(os.path.join(root, top)):
            for name in sorted(files):
                if not name.endswith((".h", ".cpp")):
                    continue
                path = os.path.relpath(os.path.join(folder, name), root)
                checked += 1
                if path == THE_WRITER:
                    continue
                with open(os.path.join(root, path), encoding="utf-8", errors="replace") as f:
                    for number, line in enumerate(f, 1):
                        if DIRECT.search(line) and not line.lstrip().startswith("//"):
                            print(f"{path}:{number}: {line.strip()}: write JSON with jsonText "
                                  "(base/JsonText.h)")
                            bad += 1
    print(f"json writer: {checked} files, {bad} direct Poco JSON writes")
    return 1 if bad or checked == 0 else 0


if __name__ == "__main__":
    sys.exit(main())
