#!/usr/bin/env python3
"""Slow DNS-over-TCP clients for test_tcp_slow.sh (issue 12, finding 4).

usage: tcp_slow.py PORT MSG_MS MAX_CONNS deadlines|evict
       tcp_slow.py PORT MAX_PER_CLIENT prefix

Talks to 127.0.0.1 (and other 127.0.0.x/127.0.1.x sources, all local on
Linux). Prints one line per check in the ok / not ok format and a few
"# name value" lines with the measured times; every socket operation and
loop is bounded in time."""
import select
import socket
import struct
import sys
import time

PORT = int(sys.argv[1])
fails = 0


def report(name, good):
    global fails
    print(("ok - " if good else "not ok - ") + name)
    sys.stdout.flush()
    if not good:
        fails += 1


def query(qid, name, qtype=1):
    wire = b"".join(bytes([len(p)]) + p.encode() for p in name.split(".")) + b"\0"
    msg = struct.pack(">HHHHHH", qid, 0, 1, 0, 0, 0) + wire + struct.pack(">HH", qtype, 1)
    return struct.pack(">H", len(msg)) + msg


def connect(src="127.0.0.1", rcvbuf=None):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    if rcvbuf is not None:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
    s.settimeout(3)
    s.bind((src, 0))
    s.connect(("127.0.0.1", PORT))
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


def answered(s, qid, name="api.svc.example.com"):
    """Send one query; True when its answer comes back."""
    try:
        s.sendall(query(qid, name))
        return struct.unpack(">H", read_msg(s)[:2])[0] == qid
    except (EOFError, OSError):
        return False


def closed_by_peer(s, within_s):
    """True when the server closes the connection within within_s seconds."""
    s.settimeout(within_s)
    try:
        return s.recv(1) == b""
    except (ConnectionResetError, BrokenPipeError):
        return True
    except socket.timeout:
        return False


def wait_closed(s, within_s):
    """Seconds until the server closes s (reading nothing), or None."""
    start = time.monotonic()
    p = select.poll()
    p.register(s, select.POLLERR | select.POLLHUP | select.POLLRDHUP)
    while time.monotonic() - start < within_s:
        left = within_s - (time.monotonic() - start)
        if p.poll(max(1, int(left * 1000))):
            return time.monotonic() - start
    return None


def deadlines(msg_s):
    # (a) Slowloris: one byte of a query every 0.5 s. Closed once the message
    # deadline passes, counted from the first byte (the idle timeout is longer).
    s = connect()
    q = query(0x1001, "api.svc.example.com")
    start = time.monotonic()
    closed_at = None
    for i in range(len(q)):
        try:
            s.sendall(q[i:i + 1])
        except OSError:
            closed_at = time.monotonic() - start
            break
        if closed_by_peer(s, 0.5):
            closed_at = time.monotonic() - start
            break
        if time.monotonic() - start > msg_s * 3 + 2:
            break
    s.close()
    print("# slowloris_closed_after_s %s" % ("%.2f" % closed_at if closed_at else "never"))
    report("slowloris (1 byte / 0.5 s) closed by the message deadline",
           closed_at is not None and closed_at <= msg_s + 1.0)
    report("slowloris not closed before the message deadline",
           closed_at is None or closed_at >= msg_s * 0.8)

    # A query split over less than the deadline is answered.
    s = connect()
    q = query(0x1002, "api.svc.example.com")
    step = msg_s / 4
    s.sendall(q[:1])
    time.sleep(step)
    s.sendall(q[1:9])
    time.sleep(step)
    s.sendall(q[9:])
    try:
        ok = struct.unpack(">H", read_msg(s)[:2])[0] == 0x1002
    except (EOFError, OSError):
        ok = False
    report("query split over half the deadline answered", ok)

    # The deadline is per message: queries every msg_s/3 for 3 deadlines, all answered.
    good = True
    start = time.monotonic()
    i = 0
    while time.monotonic() - start < msg_s * 3 and good:
        good = answered(s, 0x1100 + i)
        i += 1
        time.sleep(msg_s / 3)
    report("a connection busy for 3 message deadlines keeps answering (%d queries)" % i, good)
    s.close()

    # A client that sends queries and never reads: closed by the write deadline.
    s = connect(rcvbuf=4096)
    s.setblocking(False)
    qs = b"".join(query(0x2000 + i, "big.svc.example.com", 16) for i in range(2000))
    sent = 0
    start = time.monotonic()
    last = start
    while sent < len(qs) and time.monotonic() - start < 2 and time.monotonic() - last < 0.5:
        try:
            n = s.send(qs[sent:])
            sent += n
            last = time.monotonic()
        except BlockingIOError:
            time.sleep(0.01)
        except OSError:
            break
    t = wait_closed(s, msg_s * 4 + 1)
    s.close()
    print("# not_reading_closed_after_s %s (sent %d bytes)" %
          ("%.2f" % t if t is not None else "never", sent))
    report("client not reading its replies closed by the write deadline",
           t is not None and t <= msg_s * 3 + 0.5)


def evict(msg_s, max_conns):
    # (b) The table (max_conns) full of idle connections from 127.0.0.2-6: a
    # clean client still gets its answer, at once; the idlest goes.
    conns = []
    for i in range(max_conns):
        conns.append(connect("127.0.0.%d" % (2 + i % 5)))
        time.sleep(0.01)
    time.sleep(0.3)
    s = connect()
    start = time.monotonic()
    ok = answered(s, 0x3001)
    took = time.monotonic() - start
    print("# clean_query_with_full_table_s %.3f" % took)
    report("clean query answered with the table full of idle connections", ok and took < 1)
    report("the connection idle the longest was evicted", closed_by_peer(conns[0], 1))
    report("a newer idle connection kept", not closed_by_peer(conns[-1], 0.2))
    s.close()
    for c in conns:
        c.close()
    time.sleep(0.3)

    # Full of busy connections (each has sent the first byte of a query): a
    # new one is refused, and gets in once the message deadline clears them.
    conns = []
    for i in range(max_conns):
        c = connect("127.0.0.%d" % (2 + i % 5))
        c.sendall(b"\x00")
        conns.append(c)
    time.sleep(0.3)
    s = connect()
    report("table full of busy connections: new one refused", closed_by_peer(s, 1))
    s.close()
    start = time.monotonic()
    ok = False
    while time.monotonic() - start < msg_s + 2 and not ok:
        try:
            s = connect()
            ok = answered(s, 0x3002)
            s.close()
        except OSError:
            pass
        if not ok:
            time.sleep(0.1)
    took = time.monotonic() - start
    print("# answered_after_busy_table_s %.2f" % took)
    report("answered once the message deadline closed the busy ones", ok and took <= msg_s + 1)
    for c in conns:
        c.close()


def prefix(max_per_client):
    # (c) 127.0.0.1 and 127.0.0.2 are one client (/24): the limit is theirs together.
    srcs = ["127.0.0.1", "127.0.0.2"]
    conns = []
    for i in range(max_per_client):
        c = connect(srcs[i % 2])
        conns.append(c)
        report("connection %d of %s answered" % (i + 1, srcs[i % 2]), answered(c, 0x4000 + i))
    extra = connect("127.0.0.3")
    report("127.0.0.3 over the /24 limit refused", closed_by_peer(extra, 1))
    extra.close()
    other = connect("127.0.1.1")
    report("127.0.1.1 (another /24) answered", answered(other, 0x4100))
    other.close()
    conns.pop().close()
    time.sleep(0.2)
    again = connect("127.0.0.3")
    report("127.0.0.3 answered once one of the /24 closed", answered(again, 0x4200))
    again.close()
    for c in conns:
        c.close()


if __name__ == "__main__":
    if sys.argv[-1] == "deadlines":
        deadlines(int(sys.argv[2]) / 1000)
    elif sys.argv[-1] == "evict":
        evict(int(sys.argv[2]) / 1000, int(sys.argv[3]))
    elif sys.argv[-1] == "prefix":
        prefix(int(sys.argv[2]))
    else:
        sys.exit(__doc__)
    sys.exit(1 if fails else 0)
