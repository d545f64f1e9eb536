#!/usr/bin/env python3
"""Single-node failover benchmark driver (scripts/bench-failover.sh).

    failover.py --ayad PATH --backend PATH --dir DIR [--runs N] [--endpoints N]
                [--measure-s S]

Part 1, failover: an ayad with DEFAULT monitor settings (http, interval
500 ms, timeout 300 ms, rise 2, fall 2, jitter 0.1) probes two backends on
127.0.0.31 and 127.0.0.32. Each run SIGKILLs the .31 backend and polls the
service with a UDP query every 10 ms until an answer excludes .31 (failover
time), then restarts it and polls until .31 is answered again (recovery
time).

Part 2, cost: another ayad probes N endpoints (127.0.1.1 .. ) every second
with an http monitor, against 4 backend processes each listening on N/4
loopback addresses; ayad's CPU (utime+stime from /proc) and RSS are read
over a measurement window after a warm-up. It runs twice: with the default
`keepalive: true` (one kept connection per endpoint) and with
`keepalive: false` (a connection per probe, as before keep-alive).

The backend (--backend, tests/bench/failover/ka_backend.py) keeps HTTP/1.1
connections open like a real web server.

Loopback only; every process started is stopped by PID; every wait bounded.
Prints a table and, with --markdown FILE, writes the same as Markdown.
"""
import argparse
import os
import random
import signal
import socket
import statistics
import struct
import subprocess
import sys
import time

ZONE = "svc.example.com"
POLL_S = 0.010


def free_port():
    for _ in range(100):
        port = random.randint(20000, 60000)
        socks = []
        try:
            for typ in (socket.SOCK_DGRAM, socket.SOCK_STREAM):
                s = socket.socket(socket.AF_INET, typ)
                socks.append(s)
                s.bind(("127.0.0.1", port))
            return port
        except OSError:
            pass
        finally:
            for s in socks:
                s.close()
    sys.exit("failover: no free port")


def query(name, qid):
    q = struct.pack("!HHHHHH", qid, 0, 1, 0, 0, 0)
    for label in name.rstrip(".").split("."):
        q += bytes([len(label)]) + label.encode()
    return q + b"\0" + struct.pack("!HH", 1, 1)


def skip_name(buf, off):
    while off < len(buf):
        n = buf[off]
        if n == 0:
            return off + 1
        if n & 0xC0 == 0xC0:
            return off + 2
        off += 1 + n
    raise ValueError("truncated name")


def a_records(buf, qid):
    qid2, _flags, qd, an = struct.unpack("!HHHH", buf[:8])
    if qid2 != qid:
        return None
    off = 12
    for _ in range(qd):
        off = skip_name(buf, off) + 4
    out = set()
    for _ in range(an):
        off = skip_name(buf, off)
        typ, _cls, _ttl, rdlen = struct.unpack("!HHIH", buf[off:off + 10])
        off += 10
        if typ == 1 and rdlen == 4:
            out.add(socket.inet_ntoa(buf[off:off + 4]))
        off += rdlen
    return out


class Poller:
    """A UDP client asking one name over and over."""

    def __init__(self, port, name):
        self.addr = ("127.0.0.1", port)
        self.name = name
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.settimeout(0.2)
        self.qid = 0

    def answers(self):
        self.qid = (self.qid + 1) & 0xFFFF
        self.sock.sendto(query(self.name, self.qid), self.addr)
        try:
            while True:
                buf, _ = self.sock.recvfrom(4096)
                got = a_records(buf, self.qid)
                if got is not None:
                    return got
        except (socket.timeout, ValueError, struct.error):
            return None

    def wait(self, pred, limit_s):
        """Poll every POLL_S until pred(answers); seconds taken, or None at limit."""
        t0 = time.monotonic()
        while time.monotonic() - t0 < limit_s:
            got = self.answers()
            if got is not None and pred(got):
                return time.monotonic() - t0
            time.sleep(POLL_S)
        return None


class Procs:
    """Processes we started, stopped by PID."""

    def __init__(self):
        self.procs = {}

    def start(self, name, argv, **kw):
        self.stop(name)
        self.procs[name] = subprocess.Popen(argv, **kw)
        return self.procs[name]

    def kill(self, name, sig=signal.SIGKILL):
        p = self.procs.pop(name, None)
        if p is None:
            return
        if p.poll() is None:
            p.send_signal(sig)
        try:
            p.wait(timeout=15)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait(timeout=5)

    def stop(self, name):
        self.kill(name, signal.SIGTERM)

    def stop_all(self):
        for name in list(self.procs):
            self.stop(name)


def write_config(d, port, services, monitor):
    os.makedirs(os.path.join(d, "zones"), exist_ok=True)
    with open(os.path.join(d, "zones", ZONE + ".zone"), "w") as f:
        f.write(f"""$ORIGIN {ZONE}.
$TTL 300
@ IN SOA ns1 hostmaster 1 3600 600 86400 60
@ IN NS ns1
ns1 IN A 127.0.0.1
""")
    with open(os.path.join(d, "aya.yaml"), "w") as f:
        f.write(f"""node:
  name: bench-1
  region: r1
dns:
  listen: ["127.0.0.1:{port}"]
  threads: 1
log:
  level: warning
regions:
  - {{ name: r1, location: [50.0, 8.0] }}
monitors:
  - {monitor}
zones:
  - name: {ZONE}
    file: zones/{ZONE}.zone
    services:
{services}
control:
  socket: {d}/ayad.sock
state_dir: {d}/state
""")


def start_ayad(procs, ayad, d, port, name):
    log = open(os.path.join(d, "ayad.log"), "ab")
    procs.start("ayad-" + name, [ayad, "-c", os.path.join(d, "aya.yaml")], stderr=log)
    poll = Poller(port, "ns1." + ZONE)
    if poll.wait(lambda a: "127.0.0.1" in a, 15) is None:
        sys.exit(f"failover: ayad in {d} did not answer, see {d}/ayad.log")
    return procs.procs["ayad-" + name]


def wait_listening(addr, port, limit_s=5):
    t0 = time.monotonic()
    while time.monotonic() - t0 < limit_s:
        try:
            socket.create_connection((addr, port), 0.2).close()
            return True
        except OSError:
            time.sleep(0.02)
    return False


def failover(args, procs):
    d = os.path.join(args.dir, "failover")
    port, hport = free_port(), free_port()
    services = """      - name: www
        ttl: 1
        pools:
          - region: r1
            monitor: web
            endpoints: [ { address: 127.0.0.31 }, { address: 127.0.0.32 } ]
        policy: [healthy, drain]"""
    # Defaults: interval 500ms, timeout 300ms, rise 2, fall 2 (config/ schema).
    write_config(d, port, services, f"{{ name: web, type: http, port: {hport}, path: /health }}")

    def backend(n):
        procs.start(f"b{n}", [sys.executable, args.backend, f"127.0.0.{n}:{hport}"])
        if not wait_listening(f"127.0.0.{n}", hport):
            sys.exit(f"failover: backend 127.0.0.{n} did not start")

    backend(31)
    backend(32)
    start_ayad(procs, args.ayad, d, port, "failover")
    poll = Poller(port, "www." + ZONE)
    both = lambda a: a == {"127.0.0.31", "127.0.0.32"}
    if poll.wait(both, 10) is None:
        sys.exit("failover: the service never answered both backends")
    down, back = [], []
    for run in range(args.runs):
        # Let probes settle at a random phase so runs sample the probe schedule.
        time.sleep(1.0 + random.random() * 0.5)
        procs.kill("b31")
        t = poll.wait(lambda a: "127.0.0.31" not in a and len(a) > 0, 10)
        if t is None:
            sys.exit(f"failover: run {run}: .31 still answered 10 s after the kill")
        down.append(t)
        time.sleep(random.random() * 0.5)
        t0 = time.monotonic()
        backend(31)
        t = poll.wait(lambda a: "127.0.0.31" in a, 15)
        if t is None:
            sys.exit(f"failover: run {run}: .31 not back 15 s after the restart")
        back.append(time.monotonic() - t0)
        print(f"  run {run + 1:2d}: failover {down[-1] * 1e3:6.0f} ms, back {back[-1] * 1e3:6.0f} ms",
              flush=True)
    procs.stop("ayad-failover")
    procs.kill("b31")
    procs.kill("b32")
    return down, back


def cpu_ticks(pid):
    """(utime, stime) in clock ticks."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return int(fields[11]), int(fields[12])


def rss_kb(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def cost(args, procs, keepalive):
    d = os.path.join(args.dir, "cost-ka" if keepalive else "cost-close")
    port, hport = free_port(), free_port()
    n = args.endpoints
    addrs = [f"127.0.{1 + i // 250}.{1 + i % 250}" for i in range(n)]
    per_svc = 250  # POL_MAX_ENDPOINTS is 256 per service
    services = []
    for s in range(0, n, per_svc):
        eps = ", ".join(f"{{ address: {a} }}" for a in addrs[s:s + per_svc])
        services.append(f"""      - name: s{s // per_svc}
        ttl: 1
        pools:
          - region: r1
            monitor: web
            endpoints: [ {eps} ]
        policy: [healthy, drain, {{ first_n: 2 }}]""")
    write_config(d, port, "\n".join(services),
                 f"{{ name: web, type: http, port: {hport}, path: /health, interval: 1s, "
                 f"keepalive: {'true' if keepalive else 'false'} }}")
    nproc = 4
    for k in range(nproc):
        mine = addrs[k::nproc]
        procs.start(f"c{k}", [sys.executable, args.backend] + [f"{a}:{hport}" for a in mine])
    for a in (addrs[0], addrs[-1]):
        if not wait_listening(a, hport, 10):
            sys.exit(f"failover: cost backend {a} did not start")
    ayad = start_ayad(procs, args.ayad, d, port, "cost")
    ctl = [args.ayactl, "-s", os.path.join(d, "ayad.sock"), "--json", "status"]
    import json
    time.sleep(args.warmup_s)
    hz = os.sysconf("SC_CLK_TCK")
    c0, t0 = cpu_ticks(ayad.pid), time.monotonic()
    s0 = json.loads(subprocess.run(ctl, capture_output=True, check=True).stdout)["counters"]
    time.sleep(args.measure_s)
    c1, t1 = cpu_ticks(ayad.pid), time.monotonic()
    s1 = json.loads(subprocess.run(ctl, capture_output=True, check=True).stdout)["counters"]
    rss = rss_kb(ayad.pid)
    conns = established(hport)
    procs.stop("ayad-cost")
    for k in range(nproc):
        procs.kill(f"c{k}")
    return {
        "endpoints": n,
        "cpu_pct": 100.0 * (sum(c1) - sum(c0)) / hz / (t1 - t0),
        "user_pct": 100.0 * (c1[0] - c0[0]) / hz / (t1 - t0),
        "sys_pct": 100.0 * (c1[1] - c0[1]) / hz / (t1 - t0),
        "rss_mb": rss / 1024.0,
        "probes_per_s": (s1["probes_sent"] - s0["probes_sent"]) / (t1 - t0),
        "failed": s1["probes_failed"] - s0["probes_failed"],
        "window_s": t1 - t0,
        "conns": conns,
    }


def established(port):
    """Established TCP connections from a prober to port (the prober's side only)."""
    n = 0
    for path in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            with open(path) as f:
                next(f)
                for line in f:
                    fields = line.split()
                    if fields[3] == "01" and int(fields[2].rsplit(":", 1)[1], 16) == port:
                        n += 1
        except OSError:
            pass
    return n


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--ayad", required=True)
    ap.add_argument("--ayactl", required=True)
    ap.add_argument("--backend", required=True)
    ap.add_argument("--dir", required=True)
    ap.add_argument("--runs", type=int, default=10)
    ap.add_argument("--endpoints", type=int, default=1000)
    ap.add_argument("--warmup-s", type=float, default=5.0)
    ap.add_argument("--measure-s", type=float, default=20.0)
    ap.add_argument("--markdown", default=None)
    args = ap.parse_args()
    procs = Procs()
    try:
        print(f"failover: {args.runs} runs, default monitor (interval 500ms, timeout 300ms, fall 2)")
        down, back = failover(args, procs)
        print(f"cost: {args.endpoints} endpoints, http every 1 s, {args.measure_s:.0f} s window")
        c = cost(args, procs, True)
        print("cost: the same with keepalive: false (a connection per probe)")
        c0 = cost(args, procs, False)
    finally:
        procs.stop_all()
    ms = lambda v: f"{v * 1e3:.0f} ms"
    rows = [
        ("failover, median", ms(statistics.median(down))),
        ("failover, max", ms(max(down))),
        ("failover, min", ms(min(down))),
        ("back in answers, median", ms(statistics.median(back))),
        ("back in answers, max", ms(max(back))),
        (f"ayad CPU, {c['endpoints']} endpoints/s, keep-alive", f"{c['cpu_pct']:.1f} % of a core"),
        ("  of which user space", f"{c['user_pct']:.1f} %"),
        ("  of which kernel", f"{c['sys_pct']:.1f} %"),
        ("  probe connections open", f"{c['conns']}"),
        ("  probes/s measured", f"{c['probes_per_s']:.0f} ({c['failed']} failed)"),
        ("  ayad RSS", f"{c['rss_mb']:.1f} MiB"),
        (f"ayad CPU, {c0['endpoints']} endpoints/s, keepalive: false",
         f"{c0['cpu_pct']:.1f} % of a core"),
        ("  of which user space", f"{c0['user_pct']:.1f} %"),
        ("  of which kernel (TCP set-up, both loopback ends)", f"{c0['sys_pct']:.1f} %"),
        ("  probes/s measured", f"{c0['probes_per_s']:.0f} ({c0['failed']} failed)"),
        ("  ayad RSS", f"{c0['rss_mb']:.1f} MiB"),
    ]
    w = max(len(r[0]) for r in rows)
    print()
    for k, v in rows:
        print(f"  {k:<{w}}  {v}")
    ok_fail = max(down) < 1.5
    ok_cpu = c["cpu_pct"] < 5.0
    print(f"\n  goal failover < 1.5 s: {'met' if ok_fail else 'MISSED'}; "
          f"goal < 5% of a core: {'met' if ok_cpu else 'MISSED'} "
          f"({c['cpu_pct']:.1f} % total, {c['user_pct']:.1f} % user space)")
    if args.markdown:
        with open(args.markdown, "w") as f:
            f.write("| measure | result |\n|---|---|\n")
            for k, v in rows:
                f.write(f"| {k} | {v} |\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
