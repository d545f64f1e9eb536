#!/usr/bin/env python3
"""A UDP man in the middle for test_dnssec.sh: listens on 127.0.0.1:LISTEN,
forwards every query to 127.0.0.1:UPSTREAM and returns the reply with every
occurrence of the 4 bytes of address FROM replaced by those of TO (the RRSIG
stays as signed), so that a validator behind it must find the data bogus.
Replies that do not contain FROM pass unchanged; TC replies too (the
validator then asks over TCP, which this proxy does not serve, and fails).
Runs until SECONDS have passed (bounded) or it is killed.

usage: tamper_proxy.py LISTEN UPSTREAM FROM TO SECONDS
"""
import select
import socket
import sys
import time


def main():
    listen, upstream = int(sys.argv[1]), int(sys.argv[2])
    old, new = socket.inet_aton(sys.argv[3]), socket.inet_aton(sys.argv[4])
    deadline = time.monotonic() + float(sys.argv[5])
    front = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    front.bind(("127.0.0.1", listen))
    pending = {}  # upstream socket -> client address
    while time.monotonic() < deadline:
        r, _, _ = select.select([front] + list(pending), [], [], 0.2)
        for s in r:
            if s is front:
                data, client = front.recvfrom(65535)
                up = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
                up.connect(("127.0.0.1", upstream))
                up.send(data)
                pending[up] = (client, time.monotonic())
            else:
                client, _ = pending.pop(s)
                try:
                    data = s.recv(65535)
                    front.sendto(data.replace(old, new), client)
                except OSError:
                    pass
                s.close()
        # Forget queries unanswered for 5 s (bounded state).
        now = time.monotonic()
        for s in [s for s, (_, t) in pending.items() if now - t > 5]:
            pending.pop(s)
            s.close()


if __name__ == "__main__":
    main()
