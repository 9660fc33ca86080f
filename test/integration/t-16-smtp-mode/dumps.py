#!/usr/bin/env python3
"""dumps.py MBOX [ORIGINAL]: what smtp-sink -d wrote, one JSON line per dump.

smtp-sink puts X-Client-Addr, X-Client-Proto, X-Helo-Args, X-Mail-Args and one X-Rcpt-Args
per recipient before the message, then its own Received line. Each line gives the file,
the envelope smtp-sink saw, the message's Message-ID, its Received lines (unfolded) and
"stripped": the message without smtp-sink's lines and without any Received header, as
LF text. A dump still being written (no blank line after the headers yet) is skipped.

With ORIGINAL (a file), prints instead "same" when some dump's stripped text equals the
original's (LF line ends), else a unified diff against the dump with the same Message-ID.
"""
import difflib
import glob
import json
import re
import sys

SINK = ("x-client-addr", "x-client-proto", "x-helo-args", "x-mail-args", "x-rcpt-args")


def fields(header_text):
    out, cur = [], None
    for line in header_text.split("\n"):
        if line[:1] in (" ", "\t") and cur is not None:
            cur[1] += "\n" + line
        else:
            if cur is not None:
                out.append(cur)
            name = line.split(":", 1)[0]
            cur = [name, line]
    if cur is not None:
        out.append(cur)
    return out


def parse(path):
    text = open(path, "rb").read().decode("utf-8", "replace").replace("\r\n", "\n")
    if "\n\n" not in text:
        return None
    head, body = text.split("\n\n", 1)
    kept, rcpts, received, mid, mail_from, helo = [], [], [], "", "", ""
    for name, raw in fields(head):
        low = name.lower()
        value = raw.split(":", 1)[1].strip() if ":" in raw else ""
        if low == "x-rcpt-args":
            rcpts.append(value)
        elif low == "x-mail-args":
            mail_from = value
        elif low == "x-helo-args":
            helo = value
        if low in SINK:
            continue
        if low == "received":
            received.append(re.sub(r"\s+", " ", value))
            continue
        if low == "message-id":
            mid = value
        kept.append(raw)
    return {"file": path, "message_id": mid, "mail_from": mail_from, "helo": helo,
            "rcpts": rcpts, "received": received,
            "stripped": "\n".join(kept) + "\n\n" + body}


def main():
    dumps = [d for d in (parse(p) for p in sorted(glob.glob(sys.argv[1] + "/*"))) if d]
    if len(sys.argv) == 2:
        for d in dumps:
            print(json.dumps(d))
        return
    original = open(sys.argv[2], "rb").read().decode("utf-8", "replace").replace("\r\n", "\n")
    if any(d["stripped"] == original for d in dumps):
        print("same")
        return
    mid = next((f[1].split(":", 1)[1].strip() for f in fields(original.split("\n\n")[0])
                if f[0].lower() == "message-id"), "")
    for d in dumps:
        if d["message_id"] == mid:
            sys.stdout.writelines(difflib.unified_diff(
                original.splitlines(True), d["stripped"].splitlines(True), "sent", d["file"]))
            return
    print("no dump with Message-ID " + mid)


main()
