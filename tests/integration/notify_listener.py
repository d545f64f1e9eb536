#!/usr/bin/env python3
"""A stand-in for systemd's notify socket: every datagram ayad sends to
NOTIFY_SOCKET is written to OUT as one line "<ms since start> <fields joined by |>".
On the first READY=1 it sends one DNS query (SOA of ZONE) to 127.0.0.1:PORT
and records "query-after-ready ok" or "... fail": READY=1 must mean answering.
Runs until SECONDS have passed (bounded) or it is killed.

usage: notify_listener.py SOCKET OUT PORT ZONE SECONDS
"""
import os
import socket
import struct
import sys
import time


def soa_query(zone):
    qname = b"".join(bytes([len(p)]) + p.encode() for p in zone.split(".") if p) + b"\0"
    return struct.pack("!HHHHHH", 0x4242, 0, 1, 0, 0, 0) + qname + struct.pack("!HH", 6, 1)


def main():
    path, out, port, zone, seconds = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4], float(sys.argv[5])
    if os.path.exists(path):
        os.unlink(path)
    s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    s.bind(path)
    start = time.monotonic()
    ready_seen = False
    with open(out, "a", buffering=1) as f:
        while time.monotonic() - start < seconds:
            s.settimeout(max(0.05, seconds - (time.monotonic() - start)))
            try:
                msg = s.recv(4096).decode(errors="replace")
            except socket.timeout:
                break
            ms = int((time.monotonic() - start) * 1000)
            f.write("%d %s\n" % (ms, msg.strip().replace("\n", "|")))
            if "READY=1" in msg.split("\n") and not ready_seen:
                ready_seen = True
                q = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
                q.settimeout(1.0)
                try:
                    q.sendto(soa_query(zone), ("127.0.0.1", port))
                    r = q.recv(4096)
                    good = len(r) >= 12 and r[:2] == b"\x42\x42" and struct.unpack("!H", r[6:8])[0] > 0
                except OSError:
                    good = False
                f.write("%d query-after-ready %s\n" % (ms, "ok" if good else "fail"))


if __name__ == "__main__":
    main()
