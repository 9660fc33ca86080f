#!/usr/bin/env python3
"""Builds the messages t-06-scan feeds to `bccsink scan`, from Debian's clamav-testfiles
and from files made here. Usage: make_messages.py OUTDIR. Standard library only."""
import base64
import io
import os
import sys
import zipfile
from email.message import EmailMessage
from email.policy import SMTP

TESTFILES = "/usr/share/clamav-testfiles"
out = sys.argv[1]


def read(name):
    with open(os.path.join(TESTFILES, name), "rb") as f:
        return f.read()


def message(subject, attachments, body="Please see the attachment.\n"):
    m = EmailMessage(policy=SMTP)
    m["From"] = "alice@example.org"
    m["To"] = "bob@example.com"
    m["Subject"] = subject
    m["Message-ID"] = "<%s@t-06.test>" % subject.replace(" ", "-")
    m.set_content(body)
    for name, data, maintype, subtype in attachments:
        if maintype == "message":
            m.add_attachment(data, filename=name)
        else:
            m.add_attachment(data, maintype=maintype, subtype=subtype, filename=name)
    return m


def write(name, m):
    with open(os.path.join(out, name), "wb") as f:
        f.write(m.as_bytes() if hasattr(m, "as_bytes") else m)


exe = read("clam.exe")
# clam.exe inside each archive format of the testfiles, one message each.
for archive, subtype in [("clam.zip", "zip"), ("clam.7z", "x-7z-compressed"),
                         ("clam.cab", "vnd.ms-cab-compressed"), ("clam.tar.gz", "gzip"),
                         ("clam.exe.bz2", "x-bzip2"), ("clam.bz2.zip", "zip")]:
    write("archive-%s.eml" % archive, message("archive " + archive,
                                               [(archive, read(archive), "application", subtype)]))

# A PE named .pdf (extension mismatch), and a clean message with a PNG and a text file.
write("pe-as-pdf.eml", message("invoice", [("invoice.pdf", exe, "application", "pdf")]))
png = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==")
write("clean.eml", message("clean", [("dot.png", png, "image", "png"),
                                    ("notes.txt", b"just notes\n", "text", "plain")]))

# Nested: a message with clam.exe, attached to a message, zipped, attached to a message.
inner = message("inner", [("payload.exe", exe, "application", "octet-stream")])
buf = io.BytesIO()
with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
    z.writestr("forwarded.eml", inner.as_bytes())
middle = buf.getvalue()
write("nested.eml", message("nested", [("bundle.zip", middle, "application", "zip")]))
outer_inner = message("outer", [("fwd.eml", message("middle", [("bundle.zip", middle, "application", "zip")]), "message", "rfc822")])
write("nested-rfc822.eml", outer_inner)

# An encrypted member cannot be read: it is listed as unscanned, never dropped. The zip
# is written by hand with the "encrypted" flag (traditional PKWARE) on a stored member.
name = b"secret.exe"
data = b"\x00" * 12 + exe  # 12-byte encryption header, contents left as they are
import struct, zlib
crc = zlib.crc32(exe) & 0xFFFFFFFF
local = struct.pack("<IHHHHHIIIHH", 0x04034B50, 20, 1, 0, 0, 0, crc, len(data), len(exe), len(name), 0) + name + data
central = struct.pack("<IHHHHHHIIIHHHHHII", 0x02014B50, 20, 20, 1, 0, 0, 0, crc, len(data), len(exe), len(name), 0, 0, 0, 0, 0, 0) + name
end = struct.pack("<IHHHHIIH", 0x06054B50, 0, 0, 1, 1, len(central), len(local), 0)
write("encrypted.eml", message("encrypted", [("locked.zip", local + central + end, "application", "zip")]))

# A non-ASCII file name (RFC 2231 by Python's email package).
write("utf8-name.eml", message("utf8", [("счёт.exe", exe, "application", "octet-stream")]))

# An encoded-word (RFC 2047) file name in Latin-1, written by hand as old mailers do.
raw = (b"From: alice@example.org\r\nTo: bob@example.com\r\nSubject: ew\r\n"
       b"Message-ID: <ew@t-06.test>\r\nMIME-Version: 1.0\r\n"
       b"Content-Type: multipart/mixed; boundary=\"XX\"\r\n\r\n--XX\r\n"
       b"Content-Type: text/plain\r\n\r\nsee attached\r\n--XX\r\n"
       b"Content-Type: application/octet-stream; name=\"=?ISO-8859-1?Q?r=E9sum=E9.exe?=\"\r\n"
       b"Content-Disposition: attachment; filename=\"=?ISO-8859-1?Q?r=E9sum=E9.exe?=\"\r\n"
       b"Content-Transfer-Encoding: base64\r\n\r\n" +
       base64.encodebytes(exe).replace(b"\n", b"\r\n") + b"--XX--\r\n")
write("encoded-word.eml", raw)

# Every file of clamav-testfiles attached to one message.
names = sorted(n for n in os.listdir(TESTFILES) if os.path.isfile(os.path.join(TESTFILES, n)))
write("all-testfiles.eml", message("all testfiles",
                                   [(n, read(n), "application", "octet-stream") for n in names]))

# clam.exe at the bottom of 20 zips inside each other.
data, inner_name = exe, "payload.exe"
for level in range(20, 0, -1):
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr(inner_name, data)
    data, inner_name = buf.getvalue(), "level%02d.zip" % level
write("nest20.eml", message("nest20", [(inner_name, data, "application", "zip")]))

# A zip bomb: 2 GiB of zeros in a 2 MB member, next to clam.exe.
buf = io.BytesIO()
with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
    with z.open("zeros.bin", "w", force_zip64=True) as f:
        chunk = bytes(1 << 24)
        for _ in range(128):
            f.write(chunk)
    z.writestr("clam.exe", exe)
write("bomb.eml", message("bomb", [("bomb.zip", buf.getvalue(), "application", "zip")]))

# A 50 MB attachment of random bytes behind a PE header: selected, hashed, kept whole.
big = exe + os.urandom(50 * 1024 * 1024 - len(exe))
with open(os.path.join(out, "big.sha256"), "w") as f:
    import hashlib
    f.write(hashlib.sha256(big).hexdigest() + "\n")
write("big.eml", message("big", [("big.exe", big, "application", "octet-stream")]))
