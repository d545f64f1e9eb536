#!/usr/bin/env python3
"""Bounded DNS burst client for test_rrl.sh (response rate limiting).

  rrl_client.py udp PORT SRC NAME COUNT [SOCKETS [cookie|nxrandom]]
      COUNT A queries for NAME from source address SRC, sent at once over
      SOCKETS sockets (default 1; each has its own source port, so the
      kernel spreads them over the server's SO_REUSEPORT workers). With
      "cookie" a first query fetches a server cookie and every query of the
      burst carries it; with "nxrandom" every query asks for a different
      random name under NAME (NXDOMAIN). Prints
        full N     replies without TC
        tc N       replies with TC=1
        tc_empty N of those, with no answer or authority records
        lost N     no reply within 1 s of the last one
  rrl_client.py tcp PORT SRC NAME COUNT
      COUNT queries pipelined on one TCP connection; prints "tcp N" (replies).

Every receive has a timeout and the whole run a deadline of 30 s."""
import os
import socket
import struct
import sys
import time

RECV_IDLE_S = 1.0
DEADLINE_S = 30.0


def qname_wire(name):
    out = b""
    for label in name.rstrip(".").split("."):
        out += bytes([len(label)]) + label.encode()
    return out + b"\0"


def query(qid, name, cookie=None):
    hdr = struct.pack("!HHHHHH", qid, 0, 1, 0, 0, 1)
    q = qname_wire(name) + struct.pack("!HH", 1, 1)
    opt_rdata = b""
    if cookie is not None:
        opt_rdata = struct.pack("!HH", 10, len(cookie)) + cookie
    opt = b"\0" + struct.pack("!HHIH", 41, 1232, 0, len(opt_rdata)) + opt_rdata
    return hdr + q + opt


def skip_name(msg, off):
    while True:
        n = msg[off]
        if n == 0:
            return off + 1
        if n & 0xC0 == 0xC0:
            return off + 2
        off += n + 1


def server_cookie(msg):
    """The COOKIE option of the reply's OPT record (client + server cookie), or None."""
    qd, an, ns, ar = struct.unpack("!HHHH", msg[4:12])
    off = 12
    for _ in range(qd):
        off = skip_name(msg, off) + 4
    for i in range(an + ns + ar):
        off = skip_name(msg, off)
        rtype, _, _, rdlen = struct.unpack("!HHIH", msg[off : off + 10])
        off += 10
        if rtype == 41 and i >= an + ns:
            p = off
            while p + 4 <= off + rdlen:
                code, olen = struct.unpack("!HH", msg[p : p + 4])
                if code == 10:
                    return msg[p + 4 : p + 4 + olen]
                p += 4 + olen
        off += rdlen
    return None


def udp(port, src, name, count, nsock, mode):
    socks = []
    for _ in range(nsock):
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 20)
        s.bind((src, 0))
        s.setblocking(False)
        socks.append(s)
    cookie = None
    if mode == "cookie":
        s = socks[0]
        s.setblocking(True)
        s.settimeout(2.0)
        s.sendto(query(0xFFFF, name, os.urandom(8)), ("127.0.0.1", port))
        reply, _ = s.recvfrom(4096)
        cookie = server_cookie(reply)
        if cookie is None or len(cookie) != 24:
            print("no server cookie in the reply")
            sys.exit(1)
        s.setblocking(False)
    for i in range(count):
        qn = name
        if mode == "nxrandom":
            qn = "nx%08x.%s" % (int.from_bytes(os.urandom(4), "big"), name)
        socks[i % nsock].sendto(query(i, qn, cookie), ("127.0.0.1", port))
    seen = set()
    full = tc = tc_empty = 0
    deadline = time.monotonic() + DEADLINE_S
    last = time.monotonic()
    while len(seen) < count and time.monotonic() < deadline:
        got = False
        for s in socks:
            try:
                msg, _ = s.recvfrom(4096)
            except BlockingIOError:
                continue
            got = True
            qid = struct.unpack("!H", msg[:2])[0]
            if qid in seen or qid >= count:
                continue
            seen.add(qid)
            an, ns = struct.unpack("!HH", msg[6:10])
            if msg[2] & 0x02:
                tc += 1
                if an == 0 and ns == 0:
                    tc_empty += 1
            else:
                full += 1
        if got:
            last = time.monotonic()
        elif time.monotonic() - last > RECV_IDLE_S:
            break
        else:
            time.sleep(0.002)
    print("full %d" % full)
    print("tc %d" % tc)
    print("tc_empty %d" % tc_empty)
    print("lost %d" % (count - len(seen)))


def recv_exact(s, n):
    buf = b""
    while len(buf) < n:
        chunk = s.recv(n - len(buf))
        if not chunk:
            raise EOFError
        buf += chunk
    return buf


def tcp(port, src, name, count):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.settimeout(5.0)
    s.bind((src, 0))
    s.connect(("127.0.0.1", port))
    out = b""
    for i in range(count):
        q = query(i, name)
        out += struct.pack("!H", len(q)) + q
    s.sendall(out)
    got = 0
    try:
        for _ in range(count):
            n = struct.unpack("!H", recv_exact(s, 2))[0]
            msg = recv_exact(s, n)
            if not msg[2] & 0x02:
                got += 1
    except (EOFError, socket.timeout, OSError):
        pass
    s.close()
    print("tcp %d" % got)


def main():
    if len(sys.argv) < 6:
        print(__doc__)
        sys.exit(2)
    mode, port, src, name, count = sys.argv[1:6]
    if mode == "udp":
        nsock = int(sys.argv[6]) if len(sys.argv) > 6 else 1
        extra = sys.argv[7] if len(sys.argv) > 7 else ""
        udp(int(port), src, name, int(count), nsock, extra)
    elif mode == "tcp":
        tcp(int(port), src, name, int(count))
    else:
        print(__doc__)
        sys.exit(2)


if __name__ == "__main__":
    main()
