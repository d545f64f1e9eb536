#!/usr/bin/env python3
"""Bounded UDP DNS client for test_services.sh: many A queries with an EDNS
Client Subnet option (RFC 7871), answers tallied. dig in a loop is too slow
for 10,000 queries.

  svc_client.py tally HOST PORT NAME COUNT SUBNET
      prints "ADDR COUNT" per answer address, then "lost N"
  svc_client.py hash HOST PORT NAME PER SUBNET...
      prints "SUBNET ADDR[,ADDR...]" (distinct answers over PER queries)

At most WINDOW queries are in flight; every receive has a timeout and the
whole run a deadline, so a broken server costs seconds, not a hang."""
import ipaddress
import random
import socket
import struct
import sys
import time

WINDOW = 64
RECV_TIMEOUT_S = 1.0
DEADLINE_S = 60.0


def qname_wire(name):
    out = b""
    for label in name.rstrip(".").split("."):
        out += bytes([len(label)]) + label.encode()
    return out + b"\0"


def ecs_option(subnet):
    net = ipaddress.ip_network(subnet, strict=False)
    fam = 1 if net.version == 4 else 2
    plen = net.prefixlen
    addr = net.network_address.packed[: (plen + 7) // 8]
    data = struct.pack("!HBB", fam, plen, 0) + addr
    return struct.pack("!HH", 8, len(data)) + data


def query(qid, name, subnet):
    hdr = struct.pack("!HHHHHH", qid, 0, 1, 0, 0, 1)
    q = qname_wire(name) + struct.pack("!HH", 1, 1)
    opt_rdata = ecs_option(subnet) if subnet else b""
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


def answers(msg):
    """A record addresses of a reply."""
    qd, an = struct.unpack("!HH", msg[4:8])
    off = 12
    for _ in range(qd):
        off = skip_name(msg, off) + 4
    out = []
    for _ in range(an):
        off = skip_name(msg, off)
        rtype, _, _, rdlen = struct.unpack("!HHIH", msg[off : off + 10])
        off += 10
        if rtype == 1 and rdlen == 4:
            out.append(socket.inet_ntoa(msg[off : off + 4]))
        off += rdlen
    return out


def run(host, port, name, count, subnet, deadline):
    """Send count queries, return ({addr: n}, lost)."""
    fam = socket.AF_INET6 if ":" in host else socket.AF_INET
    s = socket.socket(fam, socket.SOCK_DGRAM)
    s.settimeout(RECV_TIMEOUT_S)
    s.connect((host, port))
    tally, pending, sent, lost = {}, set(), 0, 0
    while (sent < count or pending) and time.monotonic() < deadline:
        while sent < count and len(pending) < WINDOW:
            qid = random.randrange(65536)
            while qid in pending:
                qid = random.randrange(65536)
            s.send(query(qid, name, subnet))
            pending.add(qid)
            sent += 1
        try:
            msg = s.recv(4096)
        except socket.timeout:
            lost += len(pending)
            pending.clear()
            continue
        qid = struct.unpack("!H", msg[:2])[0]
        if qid not in pending:
            continue
        pending.discard(qid)
        for a in answers(msg):
            tally[a] = tally.get(a, 0) + 1
    s.close()
    return tally, lost + len(pending) + (count - sent)


def main():
    mode, host, port, name = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
    deadline = time.monotonic() + DEADLINE_S
    if mode == "tally":
        tally, lost = run(host, port, name, int(sys.argv[5]), sys.argv[6], deadline)
        for addr, n in sorted(tally.items()):
            print(addr, n)
        print("lost", lost)
    elif mode == "hash":
        per = int(sys.argv[5])
        for subnet in sys.argv[6:]:
            tally, _ = run(host, port, name, per, subnet, deadline)
            print(subnet, ",".join(sorted(tally)) or "-")
    else:
        sys.exit("usage: svc_client.py tally|hash ...")


if __name__ == "__main__":
    main()
