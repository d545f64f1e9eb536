#!/usr/bin/env python3
"""Simulated caching resolvers in front of an ayad node, and their clients'
traffic to the answered backends (standard library only, loopback only).

    resolver_sim.py --server 127.0.0.1:5300 --name shop.svc.example.com
        --backend 127.0.0.51=eu-west --backend 127.0.0.52=cloud-burst
        [--resolvers 200] [--subnets 86.128.0.0/13] [--schedule 0:200,15:800]
        [--control FILE] [--duration 60] [--csv FILE] [--quiet]

Each of N resolvers has its own client /24 (the subnets of --subnets in
turn), sent as EDNS Client Subnet so geo places it. It asks the server for
an A record, caches the answer for its TTL (the first lifetime is drawn in
(0, TTL] so the expiries spread over one TTL; later ones are the full TTL)
and asks again when it expires; until the new answer arrives its clients
keep the old address. A query unanswered after 1 s is counted as
unanswered and retried (at most 3 tries per refresh).

Demand (requests/s, all resolvers together, split evenly) follows
--schedule T:RATE,... (seconds since the start; the rate holds until the
next entry) or, while it exists and holds a number, --control FILE (read
twice a second: `echo 1500 > FILE` changes the demand at runtime). Each
request is a UDP datagram to the cached address's --udp-port
(load_backend.py counts it); --per-datagram K sends one datagram per K
requests (payload "K") to save CPU at high rates.

Every second it prints (and writes a CSV row): the demand, the traffic
share and the cached-answer share of each backend region, the utilization
each backend reports (HTTP GET of its health page, header X-Load), DNS
queries and answers and the unanswered count. Stops after --duration.
Exit 0, or 2 on a usage error.
"""
import argparse
import csv
import ipaddress
import heapq
import os
import random
import resource
import socket
import struct
import sys
import time

TICK_S = 0.005  # requests go out once a tick: 5 ms keeps a 0.25 s window within +-2%
QUERY_TIMEOUT_S = 1.0
MAX_TRIES = 3
POLL_TIMEOUT_S = 0.3


# ---- DNS: a minimal query builder and answer parser ----


def qname_wire(name):
    out = b""
    for label in name.rstrip(".").split("."):
        out += bytes([len(label)]) + label.encode()
    return out + b"\0"


def build_query(qid, name, subnet):
    """An A query with EDNS(0) and a Client Subnet option (RFC 7871)."""
    net = ipaddress.ip_network(subnet, strict=False)
    plen = net.prefixlen
    addr = net.network_address.packed[: (plen + 7) // 8]
    ecs = struct.pack("!HBB", 1, plen, 0) + addr
    opt_rdata = struct.pack("!HH", 8, len(ecs)) + ecs
    hdr = struct.pack("!HHHHHH", qid, 0, 1, 0, 0, 1)  # RD clear: we ask an authority
    question = qname_wire(name) + struct.pack("!HH", 1, 1)
    opt = b"\0" + struct.pack("!HHIH", 41, 1232, 0, len(opt_rdata)) + opt_rdata
    return hdr + question + opt


def skip_name(msg, off):
    for _ in range(128):
        n = msg[off]
        if n == 0:
            return off + 1
        if n & 0xC0 == 0xC0:
            return off + 2
        off += n + 1
    raise ValueError("name too long")


def parse_reply(msg):
    """(qid, rcode, [(address, ttl)]) of a reply; raises on garbage."""
    if len(msg) < 12:
        raise ValueError("short")
    qid, flags, qd, an = struct.unpack("!HHHH", msg[:8])
    if not flags & 0x8000:
        raise ValueError("not a response")
    off = 12
    for _ in range(qd):
        off = skip_name(msg, off) + 4
    out = []
    for _ in range(an):
        off = skip_name(msg, off)
        rtype, rclass, ttl, rdlen = struct.unpack("!HHIH", msg[off : off + 10])
        off += 10
        if rtype == 1 and rclass == 1 and rdlen == 4:
            out.append((socket.inet_ntoa(msg[off : off + 4]), ttl))
        off += rdlen
    return qid, flags & 0xF, out


# ---- the backends' reports ----


def poll_util(addr, port):
    """(utilization, capacity) from the backend's health page; NaN when it does not say."""
    try:
        with socket.create_connection((addr, port), timeout=POLL_TIMEOUT_S) as s:
            s.sendall(f"GET /health HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n".encode())
            data = b""
            while len(data) < 8192:
                chunk = s.recv(4096)
                if not chunk:
                    break
                data += chunk
    except OSError:
        return float("nan"), 0.0
    u, cap = float("nan"), 0.0
    for line in data.split(b"\r\n\r\n")[0].split(b"\r\n")[1:]:
        k, _, v = line.partition(b":")
        try:
            if k.strip().lower() == b"x-load":
                u = float(v)
            elif k.strip().lower() == b"x-capacity":
                cap = float(v)
        except ValueError:
            pass
    return u, cap


# ---- the simulation ----


class Resolver:
    __slots__ = ("idx", "subnet", "addr", "expiry", "pending", "tries", "sent_at")

    def __init__(self, idx, subnet):
        self.idx = idx
        self.subnet = subnet
        self.addr = None  # cached answer
        self.expiry = 0.0  # when it must be asked again
        self.pending = None  # qid in flight
        self.tries = 0
        self.sent_at = 0.0


def parse_schedule(text):
    out = []
    for item in text.split(","):
        t, _, rate = item.partition(":")
        out.append((float(t), float(rate)))
    out.sort()
    if not out or out[0][0] > 0:
        out.insert(0, (0.0, 0.0))
    return out


def subnets_of(prefixes, n):
    """n distinct /24s, taking the prefixes' /24s in turn."""
    pools = [ipaddress.ip_network(p).subnets(new_prefix=24) for p in prefixes]
    out = []
    while len(out) < n:
        progressed = False
        for it in pools:
            net = next(it, None)
            if net is not None:
                out.append(str(net))
                progressed = True
                if len(out) == n:
                    break
        if not progressed:
            sys.exit(f"resolver_sim: {','.join(prefixes)} holds fewer than {n} /24s")
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--server", default="127.0.0.1:5300", help="ayad HOST:PORT")
    ap.add_argument("--name", required=True, help="the service name to resolve")
    ap.add_argument("--backend", action="append", default=[], metavar="ADDR=REGION",
                    help="a backend address and its region (repeat)")
    ap.add_argument("--resolvers", type=int, default=200)
    ap.add_argument("--subnets", default="86.128.0.0/13",
                    help="comma-separated prefixes the clients' /24s come from (default: GB)")
    ap.add_argument("--schedule", default="0:200", help="T:RATE,... requests/s from T s on")
    ap.add_argument("--control", help="a file holding the demand (overrides --schedule)")
    ap.add_argument("--duration", type=float, default=60.0, help="seconds (at most 3600)")
    ap.add_argument("--udp-port", type=int, default=18091, help="backends' traffic port")
    ap.add_argument("--http-port", type=int, default=18090, help="backends' health port")
    ap.add_argument("--per-datagram", type=int, default=1, help="requests per datagram")
    ap.add_argument("--csv", help="write the per-second figures here")
    ap.add_argument("--seed", type=int)
    ap.add_argument("--quiet", action="store_true", help="no per-second lines")
    args = ap.parse_args()
    if not 0 < args.duration <= 3600 or not 1 <= args.resolvers <= 5000:
        ap.error("--duration 0..3600 s, --resolvers 1..5000")
    if args.per_datagram < 1:
        ap.error("--per-datagram must be >= 1")
    host, _, port = args.server.rpartition(":")
    server = (host, int(port))
    if not ipaddress.ip_address(host).is_loopback:
        ap.error("--server must be a loopback address")
    region_of = {}
    for b in args.backend:
        addr, sep, region = b.partition("=")
        if not sep or not ipaddress.ip_address(addr).is_loopback:
            ap.error(f"--backend {b}: expected LOOPBACK_ADDR=REGION")
        region_of[addr] = region
    regions = sorted(set(region_of.values()), key=list(region_of.values()).index)
    schedule = parse_schedule(args.schedule)
    rng = random.Random(args.seed)

    nets = subnets_of(args.subnets.split(","), args.resolvers)
    resolvers = [Resolver(i, s) for i, s in enumerate(nets)]
    # Every resolver's clients send the same demand, so an address gets the
    # demand times the share of the resolvers holding it: counted per address.
    holders = {}  # address -> resolvers caching it
    owed = {}  # address -> requests owed (fractions carry over to the next tick)
    due = []  # (expiry, index): a heap
    dns = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    dns.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 20)
    dns.connect(server)
    dns.setblocking(False)
    traffic = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    traffic.setblocking(False)
    payload = str(args.per_datagram).encode()

    by_qid = {}
    next_qid = rng.randrange(65536)
    tot = {"queries": 0, "answers": 0, "unanswered": 0, "bad": 0, "other": 0, "sent": 0,
           "unserved": 0, "send_errors": 0}
    sec = {"queries": 0, "answers": 0, "sent": 0}
    sec_addr = {}  # requests per address this second
    sec_ans = {}  # answers per region this second
    writer = None
    csv_file = None
    if args.csv:
        csv_file = open(args.csv, "w", newline="")
        writer = csv.writer(csv_file)
        cols = ["t", "demand", "requests", "queries", "answers", "unanswered_total"]
        for r in regions:
            cols += [f"share_{r}", f"cached_{r}", f"answers_{r}", f"util_{r}"]
        cols += ["share_other"]
        writer.writerow(cols)

    def send_query(r, now):
        nonlocal next_qid
        for _ in range(65536):
            next_qid = (next_qid + 1) & 0xFFFF
            if next_qid not in by_qid:
                break
        r.pending = next_qid
        r.sent_at = now
        r.tries += 1
        by_qid[next_qid] = r
        try:
            dns.send(build_query(next_qid, args.name, r.subnet))
        except OSError:
            pass  # counted as unanswered at the timeout
        tot["queries"] += 1
        sec["queries"] += 1

    def demand_at(t):
        if args.control and os.path.exists(args.control):
            try:
                with open(args.control) as f:
                    return max(0.0, float(f.read().split()[0]))
            except (OSError, ValueError, IndexError):
                pass
        rate = schedule[0][1]
        for st, sr in schedule:
            if st <= t:
                rate = sr
        return rate

    t0 = time.monotonic()
    for r in resolvers:  # the first queries spread over half a second
        r.expiry = t0 + rng.uniform(0, 0.5)
        heapq.heappush(due, (r.expiry, r.idx))
    end = t0 + args.duration
    last = t0
    next_report = t0 + 1.0
    next_demand = t0
    demand = 0.0
    if not args.quiet:
        print(f"# {len(resolvers)} resolvers ({resolvers[0].subnet} .. {resolvers[-1].subnet}) "
              f"asking {server[0]}:{server[1]} for {args.name}; schedule {args.schedule}"
              + (f", control file {args.control}" if args.control else ""), flush=True)
    while True:
        now = time.monotonic()
        if now >= end:
            break
        if now >= next_demand:
            demand = demand_at(now - t0)
            next_demand = now + 0.5
        # replies
        for _ in range(10000):
            try:
                msg = dns.recv(4096)
            except (BlockingIOError, InterruptedError):
                break
            except OSError:
                break  # e.g. ICMP refused: the timeout counts it
            try:
                qid, rcode, ans = parse_reply(msg)
            except (ValueError, IndexError, struct.error):
                tot["bad"] += 1
                continue
            r = by_qid.pop(qid, None)
            if r is None or r.pending != qid:
                tot["other"] += 1
                continue
            r.pending = None
            r.tries = 0
            tot["answers"] += 1
            sec["answers"] += 1
            if rcode != 0 or not ans:
                tot["bad"] += 1
                r.expiry = now + 1.0  # keep what it had, ask again soon
                heapq.heappush(due, (r.expiry, r.idx))
                continue
            addr, ttl = rng.choice(ans)
            first = r.addr is None
            if r.addr is not None:
                holders[r.addr] -= 1
            holders[addr] = holders.get(addr, 0) + 1
            r.addr = addr
            life = max(ttl, 1)
            r.expiry = now + (rng.uniform(0, life) if first else life)
            heapq.heappush(due, (r.expiry, r.idx))
            reg = region_of.get(addr, "other")
            sec_ans[reg] = sec_ans.get(reg, 0) + 1
        # timeouts, then expiries
        for r in [r for r in by_qid.values() if now - r.sent_at >= QUERY_TIMEOUT_S]:
            by_qid.pop(r.pending, None)
            r.pending = None
            tot["unanswered"] += 1
            if r.tries < MAX_TRIES:
                send_query(r, now)
            else:
                r.tries = 0
                r.expiry = now + 1.0
                heapq.heappush(due, (r.expiry, r.idx))
        while due and due[0][0] <= now:
            exp, i = heapq.heappop(due)
            r = resolvers[i]
            if r.pending is None and exp == r.expiry:  # else superseded
                send_query(r, now)
        # traffic
        dt = now - last
        last = now
        per = demand * dt / len(resolvers)  # requests per resolver this tick
        unheld = len(resolvers) - sum(holders.values())
        tot["unserved"] += per * unheld
        for addr, count in holders.items():
            if count <= 0:
                continue
            owed[addr] = owed.get(addr, rng.uniform(0, args.per_datagram)) + per * count
            n = int(owed[addr] / args.per_datagram)
            if n <= 0:
                continue
            owed[addr] -= n * args.per_datagram
            for _ in range(n):
                try:
                    traffic.sendto(payload, (addr, args.udp_port))
                except OSError:
                    tot["send_errors"] += 1
            k = n * args.per_datagram
            sec_addr[addr] = sec_addr.get(addr, 0) + k
            tot["sent"] += k
            sec["sent"] += k
        # the per-second report
        if now >= next_report:
            t = round(now - t0)
            # Requests go out in a burst per tick: read the backends at a random
            # point between two bursts, as the monitors do, not right after one
            # (that would count half a tick too much).
            time.sleep(rng.uniform(0, TICK_S))
            utils = {a: poll_util(a, args.http_port) for a in region_of}
            total = sum(sec_addr.values())
            row = [t, f"{demand:g}", total, sec["queries"], sec["answers"], tot["unanswered"]]
            parts_share, parts_util = [], []
            for reg in regions:
                addrs = [a for a in region_of if region_of[a] == reg]
                n_reg = sum(sec_addr.get(a, 0) for a in addrs)
                share = n_reg / total if total else 0.0
                cached = sum(holders.get(a, 0) for a in addrs) / len(resolvers)
                caps = [utils[a] for a in addrs]
                known = [(u, c) for u, c in caps if u == u]
                wsum = sum(c or 1 for _, c in known)
                util = sum(u * (c or 1) for u, c in known) / wsum if known else float("nan")
                row += [f"{share:.4f}", f"{cached:.4f}", sec_ans.get(reg, 0), f"{util:.4f}"]
                parts_share.append(f"{reg} {100 * share:5.1f}%")
                parts_util.append(f"{reg} {util:4.2f}")
            other = sum(v for a, v in sec_addr.items() if a not in region_of)
            row.append(f"{other / total if total else 0.0:.4f}")
            if writer:
                writer.writerow(row)
                csv_file.flush()
            if not args.quiet:
                print(f"t={t:3d}s demand {demand:6g}/s | traffic {' '.join(parts_share)}"
                      f" | util {' '.join(parts_util)} | dns {sec['queries']} q"
                      f" | unanswered {tot['unanswered']}", flush=True)
            sec_addr.clear()
            sec_ans.clear()
            sec.update(queries=0, answers=0, sent=0)
            next_report += 1.0
            if next_report < now:  # fell behind (a stall): do not report in a burst
                next_report = now + 1.0
        delay = TICK_S - (time.monotonic() - now)
        if delay > 0:
            time.sleep(delay)
    # queries still in flight at the end get their full timeout first
    deadline = time.monotonic() + QUERY_TIMEOUT_S
    while by_qid and time.monotonic() < deadline:
        try:
            msg = dns.recv(4096)
            qid, _, _ = parse_reply(msg)
            if by_qid.pop(qid, None) is not None:
                tot["answers"] += 1
        except (BlockingIOError, InterruptedError):
            time.sleep(0.01)
        except (OSError, ValueError, IndexError, struct.error):
            pass
    tot["unanswered"] += len(by_qid)
    if csv_file:
        csv_file.close()
    ru = resource.getrusage(resource.RUSAGE_SELF)
    cpu = ru.ru_utime + ru.ru_stime
    print(f"summary: queries {tot['queries']} answers {tot['answers']} unanswered "
          f"{tot['unanswered']} bad {tot['bad']} requests {tot['sent']} "
          f"unserved {round(tot['unserved'])} send_errors {tot['send_errors']} "
          f"cpu {cpu:.1f}s", flush=True)


if __name__ == "__main__":
    main()
