#!/usr/bin/env python3
"""Opens N SMTP connections to HOST:PORT, reads each greeting, and holds them idle.

    idle_connections.py HOST PORT N

Prints "open N greeted G" once every connection is open and greeted (G counts 220
greetings; a server over its limit answers 421 instead), then holds them until stdin
reaches end of file or SIGTERM, and exits 0. Used by intake.sh to show what idle
connections cost a server; only loopback addresses are accepted.
"""
import ipaddress
import signal
import socket
import sys


def main():
    if len(sys.argv) != 4:
        sys.exit("usage: idle_connections.py HOST PORT N")
    host, port, count = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    if not ipaddress.ip_address(host).is_loopback:
        sys.exit("idle_connections.py: only loopback addresses")
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    held, greeted = [], 0
    for _ in range(count):
        s = socket.create_connection((host, port), timeout=30)
        held.append(s)
    for s in held:
        line = b""
        while not line.endswith(b"\n"):
            chunk = s.recv(512)
            if not chunk:
                break
            line += chunk
        greeted += line.startswith(b"220")
    print(f"open {len(held)} greeted {greeted}", flush=True)
    sys.stdin.read()
    for s in held:
        s.close()


if __name__ == "__main__":
    main()
