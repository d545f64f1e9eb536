#!/usr/bin/env python3
"""Keyless clients of a node's gossip TCP port (test_gossip_tcp.sh).

  gossip_trickle.py hold HOST:PORT N MAX_S READY STATS STOP SRC_FIRST SRC_COUNT
      Keep N connections open from 127.0.0.SRC_FIRST .. SRC_FIRST+SRC_COUNT-1
      (round robin), each sending the next byte of a plausible frame (length,
      then an envelope header) every 3 s. A connection the server closes is
      opened again 0.2 s later. Writes READY once the first N are connected;
      stops when STOP exists or after MAX_S, then writes to STATS (JSON):
      connects, server_closed, max_closed_age_s (the longest life of a
      connection the server closed), max_open_age_s (the oldest connection
      still open at the end).
  gossip_trickle.py badkey HOST:PORT
      Send a frame header naming a key id nobody has (length, version 1,
      4 id bytes) and print the seconds until the server closes (8 = never).
  gossip_trickle.py bigclaim HOST:PORT KEYFILE N
      Open N connections (4 per source, from 127.0.0.150 on) that each send
      a frame header with the 16 MiB maximum length and the id of the
      cluster's first key (the SHA-256 of the key), then nothing; print how
      many the server closed within 2 s.
  gossip_trickle.py peraddr HOST:PORT SRC N
      Open N silent connections from SRC, 0.1 s apart; print how many are
      still open 1 s later.

Every socket operation has a timeout and every loop a deadline."""
import json
import os
import random
import select
import socket
import sys
import time

BYTE_EVERY_S = 3.0
REOPEN_S = 0.2


def target(s):
    host, port = s.rsplit(":", 1)
    return host, int(port)


def connect(dst, src):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.settimeout(1)
    try:
        s.bind((src, 0))
        s.connect(dst)
    except OSError:
        s.close()
        return None
    s.setblocking(False)
    return s


def closed(s):
    """True when the server closed s (EOF or reset); never blocks."""
    try:
        r, _, _ = select.select([s], [], [], 0)
        if not r:
            return False
        return s.recv(64) == b""
    except OSError:
        return True


def hold(argv):
    dst = target(argv[0])
    n, max_s = int(argv[1]), float(argv[2])
    ready, stats_file, stop = argv[3], argv[4], argv[5]
    first, count = int(argv[6]), int(argv[7])
    srcs = [f"127.0.0.{first + i}" for i in range(count)]
    # A plausible frame: 1 KB, GCM envelope, a random key id, then noise.
    frame = bytes([0, 0, 4, 0, 1]) + os.urandom(4) + os.urandom(64)
    conns = []  # [sock or None, src, opened, next_byte_at, pos, reopen_at]
    st = {"connects": 0, "server_closed": 0, "max_closed_age_s": 0.0, "max_open_age_s": 0.0}
    now = time.monotonic()
    for i in range(n):
        src = srcs[i % len(srcs)]
        s = connect(dst, src)
        st["connects"] += s is not None
        conns.append([s, src, now, now + random.uniform(0, BYTE_EVERY_S), 0, now])
    with open(ready + ".tmp", "w") as f:
        f.write(f"{sum(c[0] is not None for c in conns)}\n")
    os.rename(ready + ".tmp", ready)
    end = time.monotonic() + max_s
    while time.monotonic() < end and not os.path.exists(stop):
        now = time.monotonic()
        for c in conns:
            s = c[0]
            if s is None:
                if now >= c[5]:
                    c[0] = connect(dst, c[1])
                    st["connects"] += c[0] is not None
                    c[2], c[3], c[4], c[5] = now, now + BYTE_EVERY_S, 0, now + REOPEN_S
                continue
            gone = closed(s)
            if not gone and now >= c[3]:
                try:
                    s.send(frame[c[4] % len(frame):c[4] % len(frame) + 1])
                    c[4] += 1
                    c[3] = now + BYTE_EVERY_S
                except OSError:
                    gone = True
            if gone:
                st["server_closed"] += 1
                st["max_closed_age_s"] = max(st["max_closed_age_s"], now - c[2])
                s.close()
                c[0], c[5] = None, now + REOPEN_S
        time.sleep(0.05)
    now = time.monotonic()
    for c in conns:
        if c[0] is not None:
            st["max_open_age_s"] = max(st["max_open_age_s"], now - c[2])
            c[0].close()
    st["max_closed_age_s"] = round(st["max_closed_age_s"], 2)
    st["max_open_age_s"] = round(st["max_open_age_s"], 2)
    with open(stats_file + ".tmp", "w") as f:
        json.dump(st, f)
    os.rename(stats_file + ".tmp", stats_file)


def badkey(argv):
    s = socket.create_connection(target(argv[0]), timeout=2)
    t0 = time.monotonic()
    s.sendall(bytes([0, 0, 0, 200, 1, 0xde, 0xad, 0xbe, 0xef]))
    s.settimeout(0.1)
    while time.monotonic() - t0 < 8:
        try:
            if s.recv(64) == b"":
                break
        except socket.timeout:
            continue
        except OSError:
            break
    print(f"{min(time.monotonic() - t0, 8):.2f}")
    s.close()


def bigclaim(argv):
    import base64, hashlib
    dst, n = target(argv[0]), int(argv[2])
    key = base64.b64decode(open(argv[1]).read().split()[0])
    kid = hashlib.sha256(key).digest()[:4]
    hdr = (16 << 20).to_bytes(4, "big") + bytes([1]) + kid + os.urandom(16)
    socks = []
    for i in range(n):
        s = connect(dst, f"127.0.0.{150 + i // 4}")
        if s is not None:
            try:
                s.send(hdr)
                socks.append(s)
            except OSError:
                s.close()
    end = time.monotonic() + 2
    shut = set()
    while time.monotonic() < end and len(shut) < len(socks):
        for i, s in enumerate(socks):
            if i not in shut and closed(s):
                shut.add(i)
        time.sleep(0.05)
    print(len(shut))
    for s in socks:
        s.close()


def peraddr(argv):
    dst, src, n = target(argv[0]), argv[1], int(argv[2])
    socks = []
    for _ in range(n):
        s = connect(dst, src)
        if s is not None:
            socks.append(s)
        time.sleep(0.1)
    time.sleep(1)
    print(sum(not closed(s) for s in socks))
    for s in socks:
        s.close()


if __name__ == "__main__":
    {"hold": hold, "badkey": badkey, "bigclaim": bigclaim, "peraddr": peraddr}[sys.argv[1]](sys.argv[2:])
