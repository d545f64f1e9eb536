#!/usr/bin/env python3
"""Write the seed corpus of fuzz_query: real queries, one binary file each.

Usage: tests/fuzz/gen_query_corpus.py tests/fuzz/corpus/query
"""
import os
import struct
import sys


def name(text):
    out = b""
    for label in text.strip(".").split("."):
        if label:
            out += bytes([len(label)]) + label.encode()
    return out + b"\0"


def query(qname, qtype, qclass=1, flags=0x0100, opt=None, ident=0x4242):
    ar = 1 if opt is not None else 0
    msg = struct.pack("!HHHHHH", ident, flags, 1, 0, 0, ar)
    msg += name(qname) + struct.pack("!HH", qtype, qclass)
    if opt is not None:
        payload, version, do, options = opt
        ttl = (version << 16) | (0x8000 if do else 0)
        msg += b"\0" + struct.pack("!HHIH", 41, payload, ttl, len(options)) + options
    return msg


def option(code, data):
    return struct.pack("!HH", code, len(data)) + data


SEEDS = {
    "a": query("www.example.com", 1),
    "a-case": query("WwW.ExAmPlE.CoM", 1),
    "mx-edns": query("example.com", 15, opt=(1232, 0, True, b"")),
    "nxdomain": query("nope.example.com", 28, opt=(4096, 0, False, b"")),
    "cname": query("alias.example.com", 1),
    "loop": query("loop.example.com", 1),
    "wild": query("x.y.wild.example.com", 16),
    "wild-cname": query("q.cw.example.com", 1),
    "referral": query("deep.sub.example.com", 1),
    "srv": query("_sip._tcp.example.com", 33),
    "any": query("example.com", 255),
    "axfr": query("example.com", 252),
    "ixfr": query("example.com", 251),
    "chaos": query("id.server", 16, qclass=3),
    "refused": query("example.org", 1),
    "badvers": query("www.example.com", 1, opt=(1232, 1, False, b"")),
    "nsid": query("www.example.com", 1, opt=(1232, 0, False, option(3, b""))),
    "cookie": query("www.example.com", 1, opt=(1232, 0, False, option(10, bytes(range(8))))),
    "cookie-server": query("www.example.com", 1, opt=(1232, 0, False,
                           option(10, bytes(range(8)) + bytes([1, 0, 0, 0]) + bytes(12)))),
    "ecs": query("www.example.com", 1, opt=(1232, 0, False,
                 option(8, struct.pack("!HBB", 1, 24, 0) + bytes([192, 0, 2])))),
    "notify": query("example.com", 6, flags=0x2000),
    "service": query("geo.example.com", 1),
    "service-ecs": query("geo.example.com", 1, opt=(1232, 0, False,
                         option(8, struct.pack("!HBB", 1, 24, 0) + bytes([198, 51, 100])))),
    "service-ecs6": query("Multi.Example.com", 28, opt=(1232, 0, False,
                          option(8, struct.pack("!HBB", 2, 48, 0) +
                                 bytes([0x20, 0x01, 0x0d, 0xb8, 0, 1])))),
    "service-ecs0": query("geo.example.com", 255, opt=(1232, 0, False,
                          option(8, struct.pack("!HBB", 1, 0, 0)))),
    "service-cname": query("galias.example.com", 1, opt=(1232, 0, False,
                           option(8, struct.pack("!HBB", 1, 28, 0) + bytes([100, 64, 0, 16])))),
    # DNSSEC (the fixture zone is signed): DO set.
    "do-dnskey": query("example.com", 48, opt=(1232, 0, True, b"")),
    "do-nxdomain": query("nope.example.com", 1, opt=(1232, 0, True, b"")),
    "do-nodata": query("www.example.com", 15, opt=(1232, 0, True, b"")),
    "do-wild": query("x.y.wild.example.com", 16, opt=(1232, 0, True, b"")),
    "do-wild-cname": query("q.cw.example.com", 1, opt=(1232, 0, True, b"")),
    "do-referral": query("deep.sub.example.com", 1, opt=(512, 0, True, b"")),
    "do-service-ecs": query("multi.example.com", 1, opt=(1232, 0, True,
                            option(8, struct.pack("!HBB", 1, 24, 0) + bytes([198, 51, 100])))),
    "do-nsec": query("www.example.com", 47, opt=(1232, 0, True, b"")),
}


def main():
    outdir = sys.argv[1]
    os.makedirs(outdir, exist_ok=True)
    for label, msg in SEEDS.items():
        with open(os.path.join(outdir, label), "wb") as f:
            f.write(msg)


if __name__ == "__main__":
    main()
