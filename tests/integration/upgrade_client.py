#!/usr/bin/env python3
"""Query load for test_upgrade.sh: count what an upgrade loses.

usage: upgrade_client.py HOST PORT SECONDS UDP_PER_S TCP_PER_S [QNAME]

UDP: queries paced every 10 ms from 16 sockets (16 source ports, so the
kernel's SO_REUSEPORT hash spreads them over every server socket of both
processes), each with an ID unique over the run, never retried; an answer
counts when a reply with its ID and QR=1 comes back within 2 s of the last
query sent. TCP: one connection per query, one thread each (3 s timeout).
Bounded: at most 60 s and 60,000 UDP queries (the ID space). Prints one JSON
object: sent, answered, lost per transport, and the send times (seconds from
the start) of the first lost queries.
"""
import json
import select
import socket
import struct
import sys
import threading
import time


def query(qid, qname):
    q = struct.pack(">HHHHHH", qid, 0, 1, 0, 0, 0)
    for label in qname.rstrip(".").split("."):
        q += bytes([len(label)]) + label.encode()
    return q + b"\x00" + struct.pack(">HH", 1, 1)


def tcp_one(host, port, qid, qname, results, lock):
    ok, err = False, ""
    try:
        fam = socket.AF_INET6 if ":" in host else socket.AF_INET
        with socket.socket(fam, socket.SOCK_STREAM) as s:
            s.settimeout(3)
            s.connect((host, port))
            q = query(qid, qname)
            s.sendall(struct.pack(">H", len(q)) + q)
            buf = b""
            while len(buf) < 2 or len(buf) < 2 + struct.unpack(">H", buf[:2])[0]:
                chunk = s.recv(4096)
                if not chunk:
                    raise OSError("closed before the answer")
                buf += chunk
            rid, flags = struct.unpack(">HH", buf[2:6])
            ok = rid == qid and flags & 0x8000 != 0
            if not ok:
                err = "bad reply"
    except OSError as e:
        err = str(e)
    with lock:
        results.append((qid, ok, err))


def main():
    host, port = sys.argv[1], int(sys.argv[2])
    seconds = min(float(sys.argv[3]), 60.0)
    udp_rate, tcp_rate = float(sys.argv[4]), float(sys.argv[5])
    qname = sys.argv[6] if len(sys.argv) > 6 else "api.svc.example.com"
    fam = socket.AF_INET6 if ":" in host else socket.AF_INET
    socks = []
    for _ in range(16):
        s = socket.socket(fam, socket.SOCK_DGRAM)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 20)
        s.setblocking(False)
        socks.append(s)
    sent_at = {}  # UDP id -> send time
    answered = set()
    tcp_results, lock, threads = [], threading.Lock(), []

    def collect(timeout):
        r, _, _ = select.select(socks, [], [], timeout)
        for s in r:
            while True:
                try:
                    data = s.recv(4096)
                except BlockingIOError:
                    break
                if len(data) >= 4:
                    rid, flags = struct.unpack(">HH", data[:4])
                    if flags & 0x8000 and rid in sent_at:
                        answered.add(rid)

    print("# sending", file=sys.stderr, flush=True)
    t0 = time.monotonic()
    next_id, tcp_id, udp_due, tcp_due = 1, 1, 0.0, 0.0
    while True:
        now = time.monotonic() - t0
        if now >= seconds:
            break
        udp_due = udp_rate * now
        while next_id <= udp_due and next_id < 60000:
            s = socks[next_id % len(socks)]
            try:
                s.sendto(query(next_id, qname), (host, port))
                sent_at[next_id] = now
            except OSError:
                pass  # not sent: not counted
            next_id += 1
        tcp_due = tcp_rate * now
        while tcp_id <= tcp_due:
            th = threading.Thread(target=tcp_one,
                                  args=(host, port, tcp_id, qname, tcp_results, lock))
            th.start()
            threads.append(th)
            tcp_id += 1
        collect(0.01)
    end = time.monotonic() + 2.0
    while time.monotonic() < end and len(answered) < len(sent_at):
        collect(0.05)
    for th in threads:
        th.join(5)
    lost = sorted(i for i in sent_at if i not in answered)
    with lock:
        tcp_ok = sum(1 for r in tcp_results if r[1])
        tcp_errors = [r[2] for r in tcp_results if not r[1]][:5]
    print(json.dumps({
        "udp_sent": len(sent_at), "udp_answered": len(answered), "udp_lost": len(lost),
        "udp_lost_at": [round(sent_at[i], 3) for i in lost[:10]],
        "tcp_sent": tcp_id - 1, "tcp_answered": tcp_ok, "tcp_lost": tcp_id - 1 - tcp_ok,
        "tcp_errors": tcp_errors,
    }))


if __name__ == "__main__":
    main()
