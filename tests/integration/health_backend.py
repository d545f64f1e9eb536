#!/usr/bin/env python3
"""A tiny HTTP backend for the health tests, loopback only.

    health_backend.py [--mode ok|500|hang] [--load X] [--load-file F] ADDR:PORT [...]

Listens on every ADDR:PORT given (each must be a 127.0.0.0/8 or ::1
address) and answers every request:
  ok    200 "ok" (with "X-Load: X" when --load is given; with --load-file,
        X is the file's first line, read at every request, none when the
        file is absent or empty: the test changes the load by rewriting it)
  500   500 "broken"
  hang  accepts the connection and never answers (the client times out)
Runs until killed; the caller keeps its PID and stops it by that PID.
"""
import argparse
import ipaddress
import selectors
import socket
import sys


def parse_addr(text):
    host, _, port = text.rpartition(":")
    host = host.strip("[]")
    ip = ipaddress.ip_address(host)
    if not ip.is_loopback:
        sys.exit(f"health_backend: {host} is not a loopback address")
    return host, int(port), socket.AF_INET6 if ip.version == 6 else socket.AF_INET


def response(mode, load):
    if mode == "500":
        body = b"broken\n"
        head = b"HTTP/1.1 500 Internal Server Error\r\n"
    else:
        body = b"ok\n"
        head = b"HTTP/1.1 200 OK\r\n"
        if load is not None:
            head += f"X-Load: {load}\r\n".encode()
    return head + b"Content-Length: %d\r\nConnection: close\r\n\r\n" % len(body) + body


def read_load(path):
    try:
        with open(path) as f:
            return f.readline().strip() or None
    except OSError:
        return None


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--mode", choices=["ok", "500", "hang"], default="ok")
    ap.add_argument("--load", default=None)
    ap.add_argument("--load-file", default=None)
    ap.add_argument("listen", nargs="+")
    args = ap.parse_args()
    sel = selectors.DefaultSelector()
    for text in args.listen:
        host, port, fam = parse_addr(text)
        s = socket.socket(fam, socket.SOCK_STREAM)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind((host, port))
        s.listen(512)
        s.setblocking(False)
        sel.register(s, selectors.EVENT_READ, "listen")
    reply = response(args.mode, args.load)
    held = []  # hang mode: connections we never answer (bounded)
    while True:
        for key, _ in sel.select():
            sock = key.fileobj
            if key.data == "listen":
                try:
                    conn, _ = sock.accept()
                except OSError:
                    continue
                if args.mode == "hang":
                    held.append(conn)
                    if len(held) > 256:
                        held.pop(0).close()
                    continue
                conn.setblocking(False)
                sel.register(conn, selectors.EVENT_READ, "conn")
            else:
                try:
                    data = sock.recv(4096)
                except OSError:
                    data = b""
                if data:
                    if args.load_file is not None:
                        reply = response(args.mode, read_load(args.load_file))
                    try:
                        sock.sendall(reply)
                    except OSError:
                        pass
                sel.unregister(sock)
                sock.close()


if __name__ == "__main__":
    main()
