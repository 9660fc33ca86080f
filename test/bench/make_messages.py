#!/usr/bin/env python3
"""make_messages.py OUT COUNT: the daemon benchmarks' messages (extract.sh, analyze.sh).

COUNT messages OUT/msg/mNNNN.eml, each with 3 PDF attachments (PDF is in the default
VxcubeFileTypes, so every attachment is selected and analysed). Each attachment slot takes
a file from a pool of 50 with probability 0.3 (those repeat across messages); the rest are
unique. The first 5 pool files are "listed": a benchmark tells its analyzer they are
dangerous. The layout comes from a fixed seed, the bytes are random.

Writes beside the messages:
  expected.tsv  "<Message-ID>\tclean|dangerous" per message (dangerous: a listed file in it)
  listed        the SHA-256 of the listed files, one a line
  counts        "SLOTS REPEATS DISTINCT": attachments, those drawn from the pool, distinct
Messages have LF line ends: smtp-source -F adds CRLF to each line itself.
"""
import base64
import hashlib
import os
import random
import sys
from email.message import EmailMessage
from email.policy import SMTP


def main():
    out, count = sys.argv[1], int(sys.argv[2])
    rng = random.Random(7)  # the same layout every run

    def pdf(tag):
        # Random bytes as text without '/': base64's '/' made "/JS/" (the shipped YARA rule
        # PDF_JavaScript) turn up by chance in about one file of a thousand, and the
        # message came out suspicious instead of the clean the benchmark expects.
        body = base64.urlsafe_b64encode(os.urandom(rng.randrange(3000, 12000)))
        return (b"%PDF-1.4\n% " + tag.encode() + b"\n1 0 obj\n<< /Length " +
                str(len(body)).encode() + b" >>\nstream\n" + body +
                b"\nendstream\nendobj\ntrailer\n<< /Root 1 0 R >>\n%%EOF\n")

    def message(subject, files):
        m = EmailMessage(policy=SMTP)
        m["From"], m["To"], m["Subject"] = "alice@example.org", "bob@example.com", subject
        m["Message-ID"] = "<%s@bench.test>" % subject
        m.set_content("Please see the attachments.\n")
        for name, data in files:
            m.add_attachment(data, maintype="application", subtype="pdf", filename=name)
        return m.as_bytes().replace(b"\r\n", b"\n")

    pool = [pdf("pool-%d" % i) for i in range(50)]
    listed = {hashlib.sha256(p).hexdigest() for p in pool[:5]}
    os.makedirs(os.path.join(out, "msg"), exist_ok=True)
    distinct, repeats, expected = set(), 0, []
    for n in range(count):
        files = []
        for slot in range(3):
            if rng.random() < 0.3:
                data = rng.choice(pool)
                repeats += 1
            else:
                data = pdf("msg-%d-%d" % (n, slot))
            files.append(("doc%d.pdf" % slot, data))
        digests = {hashlib.sha256(d).hexdigest() for _, d in files}
        distinct |= digests
        verdict = "dangerous" if digests & listed else "clean"
        expected.append("<m%04d@bench.test>\t%s\n" % (n, verdict))
        with open(os.path.join(out, "msg", "m%04d.eml" % n), "wb") as f:
            f.write(message("m%04d" % n, files))
    with open(os.path.join(out, "expected.tsv"), "w") as f:
        f.write("".join(expected))
    with open(os.path.join(out, "listed"), "w") as f:
        f.write("".join(h + "\n" for h in sorted(listed)))
    with open(os.path.join(out, "counts"), "w") as f:
        f.write("%d %d %d\n" % (3 * count, repeats, len(distinct)))


if __name__ == "__main__":
    main()
