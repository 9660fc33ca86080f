#!/usr/bin/env python3
"""Misbehaving SMTP clients over loopback, for t-18-slowloris and slowloris.sh.

    slow_clients.py slowloris HOST PORT SOURCE N INTERVAL SECONDS [--reconnect]
        N connections from SOURCE; each greeted with 220 then sends one byte of a command
        every INTERVAL seconds, never a whole line in time. Runs until every connection is
        closed by the server, or SECONDS pass. With --reconnect a closed connection is
        opened again at once (the attack keeps its pressure; figures are not kept).
    slow_clients.py nonreader HOST PORT SOURCE SECONDS
        One connection that sends HELP lines and reads none of the replies; prints how
        long the server took to close it from the moment the client's sends blocked.
    slow_clients.py busydata HOST PORT SOURCE SECONDS
        One connection in DATA sending a 1000-byte line every 0.1 s (10 kB/s) until the
        server ends it; prints the replies that ended it and when.
    slow_clients.py refused HOST PORT SOURCE N
        N connections held open that never send a byte; each must be answered and closed
        by the server within 5 s.

Prints one JSON object on stdout. Only loopback addresses are accepted.
"""
import collections
import errno
import ipaddress
import json
import signal
import socket
import sys
import time


def loopback(*addresses):
    for a in addresses:
        if not ipaddress.ip_address(a).is_loopback:
            sys.exit("slow_clients.py: only loopback addresses")


def connect(host, port, source):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.bind((source, 0))
    s.setblocking(False)
    err = s.connect_ex((host, port))
    if err not in (0, errno.EINPROGRESS):
        s.close()
        raise OSError(err, "connect")
    return s


class Conn:
    LINE = b"EHLO slowloris.example\r\n"

    def __init__(self, sock, now):
        self.sock = sock
        self.opened = now
        self.buf = b""
        self.closed = None
        self.sent = 0

    def first(self):
        return self.buf.split(b"\r\n", 1)[0].decode(errors="replace")

    def last(self):
        lines = [l for l in self.buf.split(b"\r\n") if l]
        return lines[-1].decode(errors="replace") if lines else ""

    def read(self, now):
        while self.closed is None:
            try:
                chunk = self.sock.recv(4096)
            except (BlockingIOError, InterruptedError):
                return
            except OSError as e:
                if e.errno == errno.ENOTCONN:  # the connect is still under way
                    return
                chunk = b""
            if not chunk:
                self.closed = now
                self.sock.close()
                return
            self.buf += chunk

    def trickle(self, now):
        if self.closed is not None or not self.buf.startswith(b"220"):
            return
        byte = self.LINE[self.sent % len(self.LINE): self.sent % len(self.LINE) + 1]
        try:
            self.sock.send(byte)
            self.sent += 1
        except (BlockingIOError, InterruptedError):
            pass
        except OSError:
            self.closed = now
            self.sock.close()


STOP = []


def slowloris(host, port, source, n, interval, seconds, reconnect):
    signal.signal(signal.SIGTERM, lambda *_: STOP.append(1))  # stop and print the figures
    start = time.monotonic()
    conns = [Conn(connect(host, port, source), start) for _ in range(n)]
    done = []
    next_byte = start + interval
    while True:
        now = time.monotonic()
        for c in conns:
            c.read(now)
        if now >= next_byte:
            for c in conns:
                c.trickle(now)
            next_byte += interval
        if reconnect:
            # A closed connection is opened again a second later: the attack keeps its
            # pressure without turning into a connection flood.
            for i, c in enumerate(conns):
                if c.closed is not None and now - c.closed >= 1.0:
                    done.append(c)
                    try:
                        conns[i] = Conn(connect(host, port, source), now)
                    except OSError:
                        pass
        if STOP or now - start >= seconds or (not reconnect and all(c.closed is not None for c in conns)):
            break
        time.sleep(0.05)
    greeted = [c for c in conns + done if c.first().startswith("220")]
    cut = [c for c in greeted if c.closed is not None]
    out = {
        "connections": len(conns) + len(done),
        "greeted": len(greeted),
        "refused_per_ip": sum(1 for c in conns + done if c.first().startswith("421 4.7.0")),
        "other_first": sorted({c.first() for c in conns + done if not c.first().startswith(("220", "421 4.7.0"))}),
        "first": dict(collections.Counter(c.first()[:9] or "none" for c in conns + done)),
        "cut": len(cut),
        "cut_after_max": round(max((c.closed - c.opened for c in cut), default=0), 2),
        "cut_after_min": round(min((c.closed - c.opened for c in cut), default=0), 2),
        "cut_replies": sorted({c.last() for c in cut}),
        "bytes_sent_max": max((c.sent for c in greeted), default=0),
    }
    for c in conns:
        if c.closed is None:
            c.sock.close()
    return out


def nonreader(host, port, source, seconds):
    s = socket.create_connection((host, port), timeout=10, source_address=(source, 0))
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    greeting = s.recv(512).decode(errors="replace").strip()
    s.setblocking(False)
    batch = b"HELP\r\n" * 2000
    start = time.monotonic()
    blocked = None
    while time.monotonic() - start < seconds:
        try:
            s.send(batch)
            continue
        except (BlockingIOError, InterruptedError):
            if blocked is None:
                blocked = time.monotonic()
        except OSError as e:
            now = time.monotonic()
            return {"greeting": greeting, "closed": True, "error": errno.errorcode.get(e.errno, str(e.errno)),
                    "closed_after_blocked": round(now - (blocked or now), 2)}
        time.sleep(0.1)
    return {"greeting": greeting, "closed": False}


def busydata(host, port, source, seconds):
    s = socket.create_connection((host, port), timeout=10, source_address=(source, 0))
    f = s.makefile("rb")

    def reply():
        lines = []
        while True:
            line = f.readline().decode(errors="replace")
            lines.append(line.strip())
            if len(line) < 4 or line[3] != "-":
                return lines

    start = time.monotonic()
    greeting = reply()
    for command in (b"EHLO busy.example\r\n", b"MAIL FROM:<b@client.test>\r\n", b"RCPT TO:<watch@bcc.test>\r\n",
                    b"DATA\r\n"):
        s.sendall(command)
        r = reply()
    if not r[-1].startswith("354"):
        return {"greeting": greeting, "error": "no 354: " + " ".join(r)}
    s.setblocking(False)
    got = b""
    line = b"x" * 998 + b"\r\n"
    while time.monotonic() - start < seconds:
        try:
            s.send(line)
        except (BlockingIOError, InterruptedError):
            pass
        except OSError:
            pass
        try:
            chunk = s.recv(4096)
            if not chunk:
                break
            got += chunk
        except (BlockingIOError, InterruptedError):
            pass
        except OSError:
            break
        time.sleep(0.1)
    return {"replies": [l for l in got.decode(errors="replace").split("\r\n") if l],
            "ended_after": round(time.monotonic() - start, 2)}


def refused(host, port, source, n):
    start = time.monotonic()
    conns = [Conn(connect(host, port, source), start) for _ in range(n)]
    while time.monotonic() - start < 5 and any(c.closed is None for c in conns):
        now = time.monotonic()
        for c in conns:
            c.read(now)
        time.sleep(0.02)
    closed = [c for c in conns if c.closed is not None]
    out = {"connections": n, "closed_by_server": len(closed),
           "first_lines": sorted({c.first() for c in conns}),
           "closed_after_max": round(max((c.closed - c.opened for c in closed), default=0), 3)}
    for c in conns:
        if c.closed is None:
            c.sock.close()
    return out


def main():
    a = sys.argv[1:]
    if len(a) < 4:
        sys.exit(__doc__)
    mode, host, port, source = a[0], a[1], int(a[2]), a[3]
    loopback(host, source)
    if mode == "slowloris":
        out = slowloris(host, port, source, int(a[4]), float(a[5]), float(a[6]), "--reconnect" in a)
    elif mode == "nonreader":
        out = nonreader(host, port, source, float(a[4]))
    elif mode == "busydata":
        out = busydata(host, port, source, float(a[4]))
    elif mode == "refused":
        out = refused(host, port, source, int(a[4]))
    else:
        sys.exit(__doc__)
    print(json.dumps(out), flush=True)


if __name__ == "__main__":
    main()
