#!/usr/bin/env python3
"""dumps.py MBOX [REFERENCE MESSAGE-ID]: what smtp-sink -d wrote, one JSON line per dump.

smtp-sink puts X-Client-Addr, X-Client-Proto, X-Helo-Args, X-Mail-Args and one X-Rcpt-Args
per recipient before the message, then its own Received line. Each line gives the file,
the envelope smtp-sink saw, the message's Message-ID, its Received lines (unfolded) and
"stripped": the message without smtp-sink's lines and without any Received header, as
LF text. A dump still being written (no blank line after the headers yet) is skipped.

With REFERENCE (another smtp-sink -d folder) and MESSAGE-ID, prints instead "same" when
the dump of MBOX with that Message-ID, stripped, equals the one of REFERENCE, else a
unified diff. The reference is the same message sent by the same client straight to an
smtp-sink: it carries what the client and smtp-sink do to a message (swaks and
smtp-source end the data with an empty line, smtp-sink adds a newline), so that what
is left of a difference is what happened on the way.
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
    refs = [d for d in (parse(p) for p in sorted(glob.glob(sys.argv[2] + "/*"))) if d]
    mid = sys.argv[3]
    got = [d for d in dumps if d["message_id"] == mid]
    want = [d for d in refs if d["message_id"] == mid]
    if len(got) != 1 or len(want) != 1:
        print("%d dumps and %d references with Message-ID %s" % (len(got), len(want), mid))
    elif got[0]["stripped"] == want[0]["stripped"]:
        print("same")
    else:
        sys.stdout.writelines(difflib.unified_diff(
            want[0]["stripped"].splitlines(True), got[0]["stripped"].splitlines(True),
            want[0]["file"], got[0]["file"]))

main()
