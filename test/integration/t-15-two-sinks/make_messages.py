#!/usr/bin/env python3
"""make_messages.py OUT: t-15's messages, LF line ends (smtp-source -F adds the CR).

OUT/pool-N.pdf     5 clean PDFs, the pool the shared copies draw from
OUT/dangerous.pdf  a PDF the emulator is told is dangerous (OUT/dangerous.txt: its SHA-256)
OUT/burst.pdf      a PDF first seen in the SIGKILL burst
OUT/msg/cNN.eml    40 copies, each with 2 pool files (pool[i % 5], pool[(i + 2) % 5])
OUT/msg/dN.eml     6 copies carrying dangerous.pdf and pool[0]
OUT/msg/burst.eml  one copy carrying burst.pdf, sent many times
The bytes come from a fixed seed, so every run sends the same files.
"""
import base64
import hashlib
import os
import random
import sys
from email.message import EmailMessage
from email.policy import SMTP

out = sys.argv[1]
rng = random.Random(15)


def pdf(tag):
    # Text without '/' in the stream, so no YARA rule could match by chance.
    body = base64.urlsafe_b64encode(bytes(rng.randrange(256) for _ in range(4000)))
    return (b"%PDF-1.4\n% " + tag.encode() + b"\n1 0 obj\n<< /Length " + str(len(body)).encode() +
            b" >>\nstream\n" + body + b"\nendstream\nendobj\ntrailer\n<< /Root 1 0 R >>\n%%EOF\n")


def message(name, files):
    m = EmailMessage(policy=SMTP)
    m["From"], m["To"], m["Subject"] = "alice@example.org", "bob@example.com", name
    m["Message-ID"] = "<%s@t-15.test>" % name
    m.set_content("Please see the attachments.\n")
    for filename, data in files:
        m.add_attachment(data, maintype="application", subtype="pdf", filename=filename)
    with open(os.path.join(out, "msg", name + ".eml"), "wb") as f:
        f.write(m.as_bytes().replace(b"\r\n", b"\n"))


def save(name, data):
    with open(os.path.join(out, name), "wb") as f:
        f.write(data)


os.makedirs(os.path.join(out, "msg"), exist_ok=True)
pool = [pdf("pool-%d" % i) for i in range(5)]
for i, p in enumerate(pool):
    save("pool-%d.pdf" % i, p)
dangerous, burst = pdf("dangerous"), pdf("burst")
save("dangerous.pdf", dangerous)
save("burst.pdf", burst)
save("dangerous.txt", (hashlib.sha256(dangerous).hexdigest() + "\n").encode())
for i in range(40):
    message("c%02d" % i, [("a.pdf", pool[i % 5]), ("b.pdf", pool[(i + 2) % 5])])
for i in range(6):
    message("d%d" % i, [("invoice.pdf", dangerous), ("terms.pdf", pool[0])])
message("burst", [("burst.pdf", burst)])
