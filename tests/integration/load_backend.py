#!/usr/bin/env python3
"""Load-reporting backends for the steering test and demo, loopback only.

    load_backend.py [--http-port P] [--udp-port P] [--window S] [--pidfile F]
                    ADDR=CAPACITY [ADDR=CAPACITY ...]

One backend per ADDR (a 127.0.0.0/8 address), all in this one process:

  traffic  UDP datagrams to ADDR:udp-port are the requests the backend serves
           (resolver_sim.py sends them to the address its cached DNS answer
           names). A datagram whose payload is a decimal integer K counts as
           K requests, anything else as one; nothing is sent back.
  health   HTTP/1.1 on ADDR:http-port (any path, keep-alive honoured):
           200 with
             X-Load: U       utilization = requests over the last --window
                             seconds / (CAPACITY x window), capped at 1 (a
                             saturated server reports 100 %, and the monitors
                             take a value over 1 as unknown)
             X-Capacity: C   CAPACITY, requests per second
             X-Rate: R       the uncapped request rate (q/s), for people
           and a JSON body {"utilization": U, "capacity": C, "rate": R}.

Writes its PID to --pidfile (removed at exit). Runs until SIGTERM/SIGINT;
the caller stops it by that PID.
"""
import argparse
import ipaddress
import json
import os
import selectors
import signal
import socket
import sys
import time

BUCKET_S = 0.05  # traffic is counted in 50 ms buckets
MAX_CONNS = 256  # open health connections, all backends together
MAX_REQ = 8192  # bytes of one request's head


class Backend:
    def __init__(self, addr, capacity, window):
        self.addr = addr
        self.capacity = capacity
        self.window = window
        self.nb = max(1, int(round(window / BUCKET_S)))
        self.buckets = [0] * (self.nb + 1)  # a ring, one spare for the current one
        self.cur = int(time.monotonic() / BUCKET_S)
        self.total = 0

    def _advance(self, now):
        b = int(now / BUCKET_S)
        if b - self.cur > len(self.buckets):
            self.buckets = [0] * len(self.buckets)
        else:
            for k in range(self.cur + 1, b + 1):
                self.buckets[k % len(self.buckets)] = 0
        self.cur = max(self.cur, b)

    def add(self, n, now):
        self._advance(now)
        self.buckets[self.cur % len(self.buckets)] += n
        self.total += n

    def rate(self, now):
        """Requests per second over the last window (the complete buckets, and
        the current one pro rata so the estimate does not saw-tooth)."""
        self._advance(now)
        ring = len(self.buckets)
        done = sum(self.buckets[(self.cur - k) % ring] for k in range(1, self.nb + 1))
        part = now / BUCKET_S - self.cur  # share of the current bucket elapsed
        cur = self.buckets[self.cur % ring]
        oldest = self.buckets[(self.cur - self.nb) % ring]
        # slide: drop the elapsed share of the oldest complete bucket, add the current
        return (done - oldest * part + cur) / self.window

    def report(self, now):
        r = self.rate(now)
        u = min(1.0, r / self.capacity) if self.capacity > 0 else 0.0
        return u, r


def parse_backend(text):
    addr, sep, cap = text.partition("=")
    if not sep:
        sys.exit(f"load_backend: {text}: expected ADDR=CAPACITY")
    ip = ipaddress.ip_address(addr)
    if ip.version != 4 or not ip.is_loopback:
        sys.exit(f"load_backend: {addr} is not a 127.0.0.0/8 address")
    capacity = float(cap)
    if capacity <= 0:
        sys.exit(f"load_backend: {text}: capacity must be > 0")
    return addr, capacity


def response(b, now, keep):
    u, r = b.report(now)
    body = json.dumps({"utilization": round(u, 4), "capacity": b.capacity, "rate": round(r, 1)})
    body = (body + "\n").encode()
    head = (
        "HTTP/1.1 200 OK\r\n"
        f"X-Load: {u:.4f}\r\n"
        f"X-Capacity: {b.capacity:g}\r\n"
        f"X-Rate: {r:.1f}\r\n"
        "Content-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\n"
        + ("" if keep else "Connection: close\r\n")
        + "\r\n"
    )
    return head.encode() + body


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--http-port", type=int, default=18090)
    ap.add_argument("--udp-port", type=int, default=18091)
    ap.add_argument("--window", type=float, default=1.0, help="seconds (default 1)")
    ap.add_argument("--pidfile")
    ap.add_argument("backends", nargs="+", metavar="ADDR=CAPACITY")
    args = ap.parse_args()
    if not 0.1 <= args.window <= 60:
        sys.exit("load_backend: --window must be 0.1..60 s")

    def stop(signum, frame):
        raise SystemExit(0)

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    sel = selectors.DefaultSelector()
    backends = []
    for text in args.backends:
        addr, cap = parse_backend(text)
        b = Backend(addr, cap, args.window)
        backends.append(b)
        t = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        t.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        t.bind((addr, args.http_port))
        t.listen(128)
        t.setblocking(False)
        sel.register(t, selectors.EVENT_READ, ("listen", b))
        u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        u.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 20)
        u.bind((addr, args.udp_port))
        u.setblocking(False)
        sel.register(u, selectors.EVENT_READ, ("udp", b))
    if args.pidfile:
        with open(args.pidfile + ".tmp", "w") as f:
            f.write(f"{os.getpid()}\n")
        os.replace(args.pidfile + ".tmp", args.pidfile)
    conns = {}  # socket -> bytes received so far
    try:
        while True:
            for key, _ in sel.select(timeout=1.0):
                kind, b = key.data
                sock = key.fileobj
                now = time.monotonic()
                if kind == "udp":
                    for _ in range(1000):  # drain, bounded
                        try:
                            data = sock.recv(64)
                        except (BlockingIOError, InterruptedError):
                            break
                        try:
                            n = int(data) if data else 1
                        except ValueError:
                            n = 1
                        b.add(max(1, min(n, 1_000_000)), now)
                elif kind == "listen":
                    try:
                        c, _ = sock.accept()
                    except OSError:
                        continue
                    if len(conns) >= MAX_CONNS:
                        c.close()
                        continue
                    c.setblocking(False)
                    conns[c] = b""
                    sel.register(c, selectors.EVENT_READ, ("conn", b))
                else:
                    try:
                        data = sock.recv(4096)
                    except (BlockingIOError, InterruptedError):
                        continue
                    except OSError:
                        data = b""
                    buf = conns[sock] + data
                    close = not data or len(buf) > MAX_REQ
                    while not close and b"\r\n\r\n" in buf:
                        head, _, buf = buf.partition(b"\r\n\r\n")
                        lines = head.split(b"\r\n")
                        keep = lines[0].endswith(b"HTTP/1.1") and not any(
                            l.lower().startswith(b"connection:") and b"close" in l.lower()
                            for l in lines[1:]
                        )
                        try:
                            sock.sendall(response(b, now, keep))
                        except OSError:
                            keep = False
                        close = not keep
                    if close:
                        sel.unregister(sock)
                        sock.close()
                        del conns[sock]
                    else:
                        conns[sock] = buf
    finally:
        if args.pidfile:
            try:
                os.unlink(args.pidfile)
            except OSError:
                pass


if __name__ == "__main__":
    main()
