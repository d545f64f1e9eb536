#!/usr/bin/env python3
"""Hold connections open to exhaust a server's file descriptors (test_fd_limit.sh).

Usage: fd_hog.py READY_FILE RELEASE_FILE MAX_S TARGET...
TARGET is HOST:PORT:N (N TCP connections; HOST may be [v6]) or unix:PATH:N.
Connects every target, writes READY_FILE with the number of connections made,
then holds them until RELEASE_FILE exists or MAX_S seconds pass, and closes
them. The server need not accept: a connection in its listen queue counts.
Every socket operation has a timeout; nothing here runs unbounded."""
import os
import socket
import sys
import time

ready, release, max_s = sys.argv[1], sys.argv[2], float(sys.argv[3])
socks = []
for target in sys.argv[4:]:
    where, n = target.rsplit(":", 1)
    if where.startswith("unix:"):
        fam, addr = socket.AF_UNIX, where[5:]
    else:
        host, port = where.rsplit(":", 1)
        host = host.strip("[]")
        fam = socket.AF_INET6 if ":" in host else socket.AF_INET
        addr = (host, int(port))
    for _ in range(int(n)):
        s = socket.socket(fam, socket.SOCK_STREAM)
        s.settimeout(2)
        try:
            s.connect(addr)
            socks.append(s)
        except OSError:
            s.close()
with open(ready + ".tmp", "w") as f:
    f.write(f"{len(socks)}\n")
os.rename(ready + ".tmp", ready)
end = time.monotonic() + max_s
while time.monotonic() < end and not os.path.exists(release):
    time.sleep(0.05)
for s in socks:
    s.close()
