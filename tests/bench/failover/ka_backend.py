#!/usr/bin/env python3
"""A keep-alive HTTP/1.1 backend for the failover benchmark, loopback only.

    ka_backend.py ADDR:PORT [ADDR:PORT ...]

Listens on every ADDR:PORT given (127.0.0.0/8 or ::1) and answers every
request on a connection with 200 "ok" (Content-Length framed), keeping the
connection open as HTTP/1.1 does, unless the request says
"Connection: close". This is how real web servers answer health checks, so
the agent's kept-alive probes are measured against it. Runs until killed;
the caller keeps its PID and stops it by that PID.
"""
import ipaddress
import selectors
import socket
import sys

REPLY = b"HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nok\n"
CLOSE_REPLY = b"HTTP/1.1 200 OK\r\nContent-Length: 3\r\nConnection: close\r\n\r\nok\n"
MAX_REQUEST = 8192


def parse_addr(text):
    host, _, port = text.rpartition(":")
    host = host.strip("[]")
    ip = ipaddress.ip_address(host)
    if not ip.is_loopback:
        sys.exit(f"ka_backend: {host} is not a loopback address")
    return host, int(port), socket.AF_INET6 if ip.version == 6 else socket.AF_INET


def serve_conn(sock, buf):
    """Answer every complete request in buf; False: close the connection."""
    try:
        data = sock.recv(4096)
    except OSError:
        return False
    if not data:
        return False
    buf += data
    while True:
        end = buf.find(b"\r\n\r\n")
        if end < 0:
            return len(buf) <= MAX_REQUEST
        head = bytes(buf[:end]).lower()
        del buf[:end + 4]
        close = b"connection: close" in head
        try:
            sock.sendall(CLOSE_REPLY if close else REPLY)
        except OSError:
            return False
        if close:
            return False


def main():
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    sel = selectors.DefaultSelector()
    for text in sys.argv[1:]:
        host, port, fam = parse_addr(text)
        s = socket.socket(fam, socket.SOCK_STREAM)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind((host, port))
        s.listen(512)
        s.setblocking(False)
        sel.register(s, selectors.EVENT_READ, None)
    while True:
        for key, _ in sel.select():
            sock = key.fileobj
            if key.data is None:
                try:
                    conn, _ = sock.accept()
                except OSError:
                    continue
                conn.setblocking(False)
                sel.register(conn, selectors.EVENT_READ, bytearray())
            elif not serve_conn(sock, key.data):
                sel.unregister(sock)
                sock.close()


if __name__ == "__main__":
    main()
