#!/usr/bin/env python3
"""Raw DNS-over-TCP probes for test_tcp.sh (RFC 7766). Prints one line per
check in the ok / not ok format; every socket operation has a timeout."""
import socket
import struct
import sys
import time

HOST, PORT, IDLE_MS = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
fails = 0


def report(name, good):
    global fails
    print(("ok - " if good else "not ok - ") + name)
    if not good:
        fails += 1


def query(qid, name, qtype=1):
    wire = b"".join(bytes([len(p)]) + p.encode() for p in name.split(".")) + b"\0"
    msg = struct.pack(">HHHHHH", qid, 0, 1, 0, 0, 0) + wire + struct.pack(">HH", qtype, 1)
    return struct.pack(">H", len(msg)) + msg


def connect():
    fam = socket.AF_INET6 if ":" in HOST else socket.AF_INET
    s = socket.socket(fam, socket.SOCK_STREAM)
    s.settimeout(3)
    s.connect((HOST, PORT))
    return s


def read_exact(s, n):
    buf = b""
    while len(buf) < n:
        chunk = s.recv(n - len(buf))
        if not chunk:
            raise EOFError
        buf += chunk
    return buf


def read_msg(s):
    (n,) = struct.unpack(">H", read_exact(s, 2))
    return read_exact(s, n)


def closed_by_peer(s, within_s):
    """True when the server closes the connection within within_s seconds."""
    s.settimeout(within_s)
    try:
        return s.recv(1) == b""
    except ConnectionResetError:
        return True
    except socket.timeout:
        return False


# Pipelining: three queries in one write, three answers in order.
s = connect()
ids = [0x1111, 0x2222, 0x3333]
names = ["api.svc.example.com", "nope.svc.example.com", "mail.svc.example.com"]
s.sendall(b"".join(query(i, n) for i, n in zip(ids, names)))
try:
    replies = [read_msg(s) for _ in ids]
    got = [struct.unpack(">H", r[:2])[0] for r in replies]
    rcodes = [r[3] & 0xF for r in replies]
    report("pipelining: 3 answers in order", got == ids)
    report("pipelining: rcodes NOERROR, NXDOMAIN, NOERROR", rcodes == [0, 3, 0])
except (EOFError, socket.timeout):
    report("pipelining: 3 answers in order", False)
    report("pipelining: rcodes NOERROR, NXDOMAIN, NOERROR", False)

# A query split across writes is answered once complete.
q = query(0x4444, "api.svc.example.com")
s.sendall(q[:1])
time.sleep(0.05)
s.sendall(q[1:7])
time.sleep(0.05)
s.sendall(q[7:])
try:
    report("split query answered", struct.unpack(">H", read_msg(s)[:2])[0] == 0x4444)
except (EOFError, socket.timeout):
    report("split query answered", False)

# Idle timeout: the connection above is now idle.
start = time.monotonic()
closed = closed_by_peer(s, IDLE_MS / 1000 + 2)
elapsed = time.monotonic() - start
report("idle timeout closes the connection", closed)
report("idle timeout not before it is due", elapsed >= IDLE_MS / 1000 * 0.8)
s.close()

# A length below a DNS header is malformed: closed.
s = connect()
s.sendall(b"\x00\x00")
report("zero length closes the connection", closed_by_peer(s, 2))
s.close()

# Half-close after a query: the answer still arrives.
s = connect()
s.sendall(query(0x5555, "api.svc.example.com"))
s.shutdown(socket.SHUT_WR)
try:
    report("answer after client half-close", struct.unpack(">H", read_msg(s)[:2])[0] == 0x5555)
except (EOFError, socket.timeout):
    report("answer after client half-close", False)
s.close()

# Per-client limit (3 in the test config): the 4th connection is closed.
conns = [connect() for _ in range(3)]
for i, c in enumerate(conns):
    c.sendall(query(0x6000 + i, "api.svc.example.com"))
    read_msg(c)
extra = connect()
report("connection over the per-client limit refused", closed_by_peer(extra, 2))
extra.close()
for c in conns:
    c.close()
time.sleep(0.2)
s = connect()
s.sendall(query(0x7777, "api.svc.example.com"))
try:
    report("new connection accepted once others closed",
           struct.unpack(">H", read_msg(s)[:2])[0] == 0x7777)
except (EOFError, socket.timeout):
    report("new connection accepted once others closed", False)
s.close()

sys.exit(1 if fails else 0)
