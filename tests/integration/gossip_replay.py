#!/usr/bin/env python3
"""Capture gossip datagrams on lo and replay them (tests/integration/test_gossip_replay.sh).

  gossip_replay.py capture SRC DST OUT SECONDS MAX
      Record the UDP payloads sent from SRC (ip:port) to DST (ip:port) on the
      loopback interface (AF_PACKET: needs root or CAP_NET_RAW) for up to
      SECONDS or MAX datagrams, into OUT (one hex payload a line). Prints the
      count.
  gossip_replay.py replay IN DST FROM_IP
      Send every payload of IN to DST from an ephemeral port on FROM_IP,
      10 ms apart; prints the count.

Only whole, unfragmented IPv4 datagrams seen arriving on lo are kept (lo
shows every frame twice: once outgoing, once incoming).
"""
import socket
import struct
import sys
import time

ETH_P_ALL = 0x0003
PACKET_OUTGOING = 4


def addr(text):
    host, port = text.rsplit(":", 1)
    return socket.inet_aton(host), int(port)


def capture(src, dst, out, seconds, limit):
    s_ip, s_port = addr(src)
    d_ip, d_port = addr(dst)
    sock = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_ALL))
    sock.bind(("lo", 0))
    sock.settimeout(0.2)
    end = time.monotonic() + seconds
    got = []
    while time.monotonic() < end and len(got) < limit:
        try:
            frame, meta = sock.recvfrom(70000)
        except socket.timeout:
            continue
        if meta[2] == PACKET_OUTGOING or len(frame) < 14 + 28:
            continue
        if struct.unpack("!H", frame[12:14])[0] != 0x0800:
            continue
        ip = frame[14:]
        ihl = (ip[0] & 0x0F) * 4
        frag = struct.unpack("!H", ip[6:8])[0]
        if ip[9] != 17 or frag & 0x3FFF or ip[12:16] != s_ip or ip[16:20] != d_ip:
            continue
        sport, dport, ulen = struct.unpack("!HHH", ip[ihl:ihl + 6])
        if sport != s_port or dport != d_port:
            continue
        got.append(ip[ihl + 8:ihl + ulen].hex())
    with open(out, "w") as f:
        f.write("".join(p + "\n" for p in got))
    print(len(got))


def replay(path, dst, from_ip):
    host, port = dst.rsplit(":", 1)
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind((from_ip, 0))
    n = 0
    with open(path) as f:
        for line in f:
            sock.sendto(bytes.fromhex(line.strip()), (host, int(port)))
            n += 1
            time.sleep(0.01)
    print(n)


if __name__ == "__main__":
    if sys.argv[1] == "capture":
        capture(sys.argv[2], sys.argv[3], sys.argv[4], float(sys.argv[5]), int(sys.argv[6]))
    elif sys.argv[1] == "replay":
        replay(sys.argv[2], sys.argv[3], sys.argv[4])
    else:
        sys.exit("usage: gossip_replay.py capture|replay ...")
