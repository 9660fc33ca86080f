#!/usr/bin/env python3
"""The layering of bccsink, checked from the includes (DESIGN.md, "Folders").

Every project include is folder-qualified from the repository root ("db/MessageQueue.h"),
and a file includes only from its own layer or a lower one:

    base < db < sandbox < report < sink

Inside a layer, a subfolder is a library below the folder's own files, and subfolders of
the same rank do not know each other:

    sandbox:  extract < analyzers < analyzers/vxcube < analyzers/vxcube/emulator < (root)
    report:   delivery, spoof, stats < (root) < http
    sink:     smtp, hold < retention < (root)

test/ may include anything, but folder-qualified too. Prints one line per violation
(file:line: what and why) and exits 1 if there is any, 0 otherwise.

Usage: check_includes.py [ROOT]   (default: the repository this script lives in)
"""
import os
import re
import sys

LAYERS = ["base", "db", "sandbox", "report", "sink"]
# Rank of a folder inside its layer; folders of one rank are siblings. Deeper folders not
# listed take the rank of their nearest listed ancestor.
SUBRANKS = {
    "sandbox/extract": 0,
    "sandbox/analyzers": 1,
    "sandbox/analyzers/vxcube": 2,
    "sandbox/analyzers/vxcube/emulator": 3,
    "sandbox": 4,
    "report/delivery": 0,
    "report/spoof": 0,
    "report/stats": 0,
    "report": 1,
    "report/http": 2,
    "sink/smtp": 0,
    "sink/hold": 0,
    "sink/retention": 1,
    "sink": 2,
}
SOURCE_DIRS = LAYERS + ["test"]
INCLUDE = re.compile(r'^\s*#\s*include\s*"([^"]+)"', re.M)


def unit(folder):
    """The listed folder that a folder belongs to (itself or its nearest ancestor)."""
    while folder and folder not in SUBRANKS:
        if "/" not in folder:
            return folder
        folder = folder.rsplit("/", 1)[0]
    return folder


def problem(path, target, root):
    """Why `path` may not include `target` ('' when it may)."""
    top = target.split("/", 1)[0]
    if "/" not in target or top not in SOURCE_DIRS:
        return "bare include: name its folder from the repository root"
    if not os.path.isfile(os.path.join(root, target)):
        return "no such file under the repository root"
    src_top = path.split("/", 1)[0]
    if src_top == "test":
        return ""
    if top == "test":
        return "a library includes from test/"
    if LAYERS.index(top) > LAYERS.index(src_top):
        return f"upward include: {src_top}/ is below {top}/ (base < db < sandbox < report < sink)"
    if top != src_top:
        return ""
    a, b = unit(os.path.dirname(path)), unit(os.path.dirname(target))
    if a == b or a not in SUBRANKS or b not in SUBRANKS:
        return ""
    if SUBRANKS[b] > SUBRANKS[a]:
        return f"upward include: {a}/ is below {b}/"
    if SUBRANKS[b] == SUBRANKS[a]:
        return f"sibling include: {a}/ and {b}/ are separate libraries of one rank"
    return ""


def main():
    root = os.path.abspath(sys.argv[1] if len(sys.argv) > 1 else
                           os.path.join(os.path.dirname(__file__), "..", ".."))
    bad = checked = 0
    for top in SOURCE_DIRS:
        for folder, dirs, files in os.walk(os.path.join(root, top)):
            rel_folder = os.path.relpath(folder, root)
            # the fixtures of this very check are made to fail it
            if rel_folder.startswith(os.path.join("test", "layering")) or "/corpus" in rel_folder:
                dirs[:] = []
                continue
            for name in sorted(files):
                if not name.endswith((".h", ".cpp")):
                    continue
                path = os.path.join(rel_folder, name)
                checked += 1
                with open(os.path.join(root, path), encoding="utf-8", errors="replace") as f:
                    text = f.read()
                for m in INCLUDE.finditer(text):
                    why = problem(path, m.group(1), root)
                    if why:
                        line = text.count("\n", 0, m.start()) + 1
                        print(f'{path}:{line}: #include "{m.group(1)}": {why}')
                        bad += 1
    print(f"layering: {checked} files, {bad} bad includes")
    return 1 if bad or checked == 0 else 0


if __name__ == "__main__":
    sys.exit(main())
