#!/usr/bin/env python3
"""One run of scripts/bench-gossip.sh: SYSTEM (ayad|serf) with N nodes on
127.0.0.1..N inside the caller's fresh network namespace. Prints one line:
  SYSTEM N join_s idle_B/s busy_B/s change_med change_worst fail_med fail_worst false_dead suspects
(per node; times in seconds) and writes every sample to OUT.json.

How each number is taken (every wait is bounded, every process is killed by
PID at the end):
  idle    OutOctets of the namespace over IDLE_S, / N / IDLE_S; no polling runs.
          The window starts SETTLE_S after the join (past the first push/pull
          wave) and lasts one push/pull interval of both systems (30 s, 60 s
          above 32 nodes: see pushpull_window), so it holds one push/pull per
          node: a 10 s window right after the join holds none and under-counts
          both systems by a quarter.
  busy    the same while a change is made on node 1 every second (ayad: drain
          and undrain; serf: a tag set and changed); no polling runs.
  change  R samples. The clock starts before the command (`ayactl drain` /
          `serf tags -set`) is spawned. ayad: every node's DNS answer is polled
          with raw UDP queries, all nodes at once, every POLL_MS; serf: every
          node's log is tailed every POLL_MS for "EventMemberUpdate: node-1"
          (serf logs it when memberlist delivers the update).
  fail    R samples: kill -9 of a node (N, N-1, ...), until every other node's
          log says it is dead (ayad: "member dead member=node-K ..."; serf:
          "EventMemberFailed: node-K"); the node is then restarted and the next
          sample waits until every node has seen it alive again.
  false_dead, suspects: while a busy loop saturates core 0 for BUSY_S seconds
          (taskset -c 0), count the dead (serf: failed) and suspect marks in
          every node's log; every node is up, so each one is false."""
import json
import os
import re
import select
import shutil
import signal
import socket
import statistics
import struct
import subprocess
import sys
import time

SYS, N, DIR = sys.argv[1], int(sys.argv[2]), sys.argv[3]
ROOT = os.environ["ROOT"]
AYAD, AYACTL = os.environ["AYAD"], os.environ["AYACTL"]
def pushpull_window(n):
    """One push/pull interval of both systems at n nodes: 30 s, stretched
    above 32 nodes by ceil(log2 n) - 4 (ayad's gsp_pushpull_every, and
    memberlist's pushPullScale)."""
    bits = max(n - 1, 0).bit_length()  # ceil(log2 n)
    return 30.0 * (1 if bits <= 5 else bits - 4)


IDLE_S = float(os.environ.get("IDLE_S") or pushpull_window(N))
SETTLE_S = float(os.environ.get("SETTLE_S", "40"))
R = int(os.environ.get("BENCH_GOSSIP_R", "5"))
BUSY_S = float(os.environ.get("BENCH_GOSSIP_BUSY_S", "120"))
POLL_MS = float(os.environ.get("BENCH_GOSSIP_POLL_MS", "10"))
# Extra gossip: keys for ayad, e.g. "probe_interval: 500ms" (one "key: value" per ';').
EXTRA = "".join(f"  {kv.strip()}\n" for kv in os.environ.get("GOSSIP_EXTRA", "").split(";") if kv.strip())
GPORT, DNSPORT, RPCPORT = 7946, 5300, 7373
ZONE = "svc.example.com"
A_DEFAULT, A_DRAINED = "192.0.2.10", "198.51.100.10"
procs = {}


def run(args, timeout=5):
    try:
        return subprocess.run(args, capture_output=True, text=True, timeout=timeout).stdout
    except subprocess.TimeoutExpired:
        return ""


def out_octets():
    with open("/proc/net/netstat") as f:
        lines = [l.split() for l in f if l.startswith("IpExt:")]
    return int(lines[1][lines[0].index("OutOctets")])


def log_path(i):
    return f"{DIR}/n{i}/ayad.log" if SYS == "ayad" else f"{DIR}/s{i}/serf.log"


def ayad_config(i):
    d = f"{DIR}/n{i}"
    os.makedirs(f"{d}/zones", exist_ok=True)
    shutil.copy(f"{ROOT}/examples/zones/{ZONE}.zone", f"{d}/zones/{ZONE}.zone")
    seeds = ", ".join(f'"127.0.0.{j}:{GPORT}"' for j in (1, 2, 3) if j != i and j <= N)
    with open(f"{d}/aya.yaml", "w") as f:
        f.write(f"""node: {{ name: node-{i}, region: r{i % 3} }}
dns: {{ listen: ["127.0.0.{i}:{DNSPORT}"], threads: 1 }}
gossip:
  bind: 127.0.0.{i}:{GPORT}
  seeds: [{seeds}]
  insecure: true
{EXTRA}regions:
  - {{ name: r0, location: [53.35, -6.26] }}
  - {{ name: r1, location: [39.04, -77.49] }}
  - {{ name: r2, location: [19.08, 72.88] }}
zones:
  - name: {ZONE}
    file: zones/{ZONE}.zone
    services:
      - name: www
        ttl: 5
        pools:
          - {{ region: r0, endpoints: [ {{ address: {A_DEFAULT} }} ] }}
          - {{ region: r1, endpoints: [ {{ address: {A_DRAINED} }} ] }}
        policy: [healthy, drain, {{ first_n: 1 }}]
control: {{ socket: {d}/ayad.sock }}
state_dir: {d}/state
log: {{ level: info }}
""")
    return d


def start(i):
    if SYS == "ayad":
        d = ayad_config(i) if not os.path.exists(f"{DIR}/n{i}/aya.yaml") else f"{DIR}/n{i}"
        log = open(f"{d}/ayad.log", "a")
        procs[i] = subprocess.Popen([AYAD, "-c", f"{d}/aya.yaml"], stderr=log, stdout=log)
    else:
        os.makedirs(f"{DIR}/s{i}", exist_ok=True)
        log = open(f"{DIR}/s{i}/serf.log", "a")
        args = ["serf", "agent", f"-node=node-{i}", f"-bind=127.0.0.{i}:{GPORT}",
                f"-rpc-addr=127.0.0.{i}:{RPCPORT}", "-log-level=info", "-profile=lan",
                "-retry-interval=1s"]
        args += [f"-retry-join=127.0.0.{j}:{GPORT}" for j in (1, 2, 3) if j != i and j <= N]
        procs[i] = subprocess.Popen(args, stderr=log, stdout=log)
    log.close()


def alive_on_node1():
    if SYS == "ayad":
        out = run([AYACTL, "-s", f"{DIR}/n1/ayad.sock", "--json", "members"])
        try:
            return sum(m["state"] == "alive" for m in json.loads(out)["members"])
        except (ValueError, KeyError):
            return 0
    out = run(["serf", "members", f"-rpc-addr=127.0.0.1:{RPCPORT}", "-format=json"])
    try:
        return sum(m["status"] == "alive" for m in json.loads(out)["members"])
    except (ValueError, KeyError):
        return 0


class Tail:
    """New complete lines of every node's log since the last call."""

    def __init__(self, nodes):
        self.pos = {i: os.path.getsize(log_path(i)) if os.path.exists(log_path(i)) else 0
                    for i in nodes}
        self.part = {i: "" for i in nodes}

    def lines(self, i):
        try:
            with open(log_path(i), "rb") as f:
                f.seek(self.pos[i])
                data = f.read()
        except OSError:
            return []
        self.pos[i] += len(data)
        text = self.part[i] + data.decode("utf-8", "replace")
        *full, self.part[i] = text.split("\n")
        return full


def wait_logs(tail, nodes, pattern, limit_s, t0):
    """Seconds from t0 until every node's log (from tail on) has a line matching pattern, or None."""
    rx = re.compile(pattern)
    pending = set(nodes)
    while pending and time.monotonic() - t0 < limit_s:
        for i in list(pending):
            if any(rx.search(l) for l in tail.lines(i)):
                pending.discard(i)
        if pending:
            time.sleep(POLL_MS / 1000)
    return None if pending else time.monotonic() - t0


def dns_query(qid):
    q = struct.pack(">HHHHHH", qid, 0, 1, 0, 0, 0)
    q += b"".join(bytes([len(l)]) + l.encode() for l in f"www.{ZONE}".split(".")) + b"\0"
    return q + struct.pack(">HH", 1, 1)


def skip_name(b, o):
    while o < len(b):
        n = b[o]
        if n == 0:
            return o + 1
        if n & 0xC0 == 0xC0:
            return o + 2
        o += n + 1
    return len(b)


def first_a(b):
    """The first A record of a DNS response, as text ("" when none)."""
    try:
        an = struct.unpack(">H", b[6:8])[0]
        o = skip_name(b, 12) + 4
        for _ in range(an):
            o = skip_name(b, o)
            typ, _cls, _ttl, rdlen = struct.unpack(">HHIH", b[o:o + 10])
            o += 10
            if typ == 1 and rdlen == 4:
                return socket.inet_ntoa(b[o:o + 4])
            o += rdlen
    except (struct.error, IndexError, OSError):
        pass
    return ""


def wait_dns(nodes, want, limit_s, t0):
    """Seconds from t0 until every node answers `want`: all nodes are queried at once every POLL_MS."""
    socks = {}
    for i in nodes:
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.connect((f"127.0.0.{i}", DNSPORT))
        s.setblocking(False)
        socks[s] = i
    pending, qid = set(nodes), 0
    try:
        while pending and time.monotonic() - t0 < limit_s:
            qid = (qid + 1) & 0xFFFF
            for s, i in socks.items():
                if i in pending:
                    try:
                        s.send(dns_query(qid))
                    except OSError:
                        pass
            end = time.monotonic() + POLL_MS / 1000
            while pending and time.monotonic() < end:
                ready, _, _ = select.select(list(socks), [], [], max(0, end - time.monotonic()))
                for s in ready:
                    try:
                        b = s.recv(4096)
                    except OSError:
                        continue
                    if first_a(b) == want:
                        pending.discard(socks[s])
            # The rest of the round: answers to older queries are read and ignored above.
    finally:
        for s in socks:
            s.close()
    return None if pending else time.monotonic() - t0


def toggle(k):
    """Change number k on node 1: ayad drain/undrain, serf tag value."""
    if SYS == "ayad":
        cmd = "drain" if k % 2 == 0 else "undrain"
        run([AYACTL, "-s", f"{DIR}/n1/ayad.sock", cmd, "www", "r0"])
        return A_DRAINED if k % 2 == 0 else A_DEFAULT
    run(["serf", "tags", f"-rpc-addr=127.0.0.1:{RPCPORT}", "-set", f"bench={k}"])
    return None


def measure_change(k, nodes):
    if SYS == "ayad":
        t0 = time.monotonic()
        want = toggle(k)
        return wait_dns(nodes, want, 30, t0)
    # Tail from before the command, so no update line can be missed.
    t0 = time.monotonic()
    tail = Tail(nodes)
    toggle(k)
    return wait_logs(tail, nodes, r"EventMemberUpdate: node-1$", 60, t0)


def dead_rx(name):
    return rf"member dead member={name} " if SYS == "ayad" else rf"EventMemberFailed: {name} "


def alive_rx(name):
    return rf"member alive member={name} " if SYS == "ayad" else rf"EventMemberJoin: {name} "


def busy_marks(nodes):
    """False dead and suspect marks while core 0 is saturated for BUSY_S."""
    tail = Tail(nodes)
    spin = subprocess.Popen(["taskset", "-c", "0", "timeout", str(int(BUSY_S)), "sh", "-c",
                             "while :; do :; done"])
    try:
        spin.wait(BUSY_S + 10)
    except subprocess.TimeoutExpired:
        spin.kill()
        spin.wait()
    time.sleep(2)  # marks made at the very end reach the logs
    dead = re.compile(r"member dead member=" if SYS == "ayad" else r"EventMemberFailed:")
    susp = re.compile(r"member suspect member=" if SYS == "ayad" else r"memberlist: Suspect ")
    nd = ns = 0
    for i in nodes:
        for l in tail.lines(i):
            nd += bool(dead.search(l))
            ns += bool(susp.search(l))
    return nd, ns


def stats(v):
    ok = [x for x in v if x is not None]
    if not ok:
        return float("nan"), float("nan")
    worst = max(ok) if len(ok) == len(v) else float("inf")
    return statistics.median(ok), worst


def main():
    nodes = list(range(1, N + 1))
    res = {"system": SYS, "n": N, "r": R, "busy_s": BUSY_S, "poll_ms": POLL_MS}
    try:
        t0 = time.monotonic()
        for i in nodes:
            start(i)
            time.sleep(0.02)
        while alive_on_node1() != N and time.monotonic() - t0 < 120:
            time.sleep(0.1)
        if alive_on_node1() != N:
            print(f"{SYS} {N} FAILED: node 1 did not see {N} members alive in 120 s", flush=True)
            return
        res["join_s"] = time.monotonic() - t0
        time.sleep(SETTLE_S)  # let the join gossip settle before measuring idle traffic
        o0 = out_octets()
        time.sleep(IDLE_S)
        res["idle_Bps"] = (out_octets() - o0) / N / IDLE_S
        # Busy: one change a second on node 1, nothing polled (the namespace counts only gossip).
        o0, tb, k = out_octets(), time.monotonic(), 0
        while time.monotonic() - tb < IDLE_S:
            toggle(k)
            k += 1
            time.sleep(max(0, tb + k - time.monotonic()))
        res["busy_Bps"] = (out_octets() - o0) / N / (time.monotonic() - tb)
        # The node is left in a known state: the undrain/tag k below flips it.
        time.sleep(2)
        res["change_s"] = []
        for r in range(R):
            res["change_s"].append(measure_change(k, nodes))
            k += 1
            time.sleep(1)
        if BUSY_S > 0:
            res["false_dead"], res["suspects"] = busy_marks(nodes)
        res["fail_s"] = []
        for r in range(R):
            victim = N - (r % max(1, N - 1))
            others = [i for i in nodes if i != victim]
            tail = Tail(others)
            procs[victim].send_signal(signal.SIGKILL)
            t0 = time.monotonic()
            procs[victim].wait()
            res["fail_s"].append(wait_logs(tail, others, dead_rx(f"node-{victim}"), 60, t0))
            t1 = time.monotonic()
            tail = Tail(others)
            start(victim)
            if wait_logs(tail, others, alive_rx(f"node-{victim}"), 60, t1) is None:
                res["rejoin_failed"] = victim
                break
            time.sleep(1)
        cm, cw = stats(res["change_s"])
        fm, fw = stats(res["fail_s"])
        fd, su = res.get("false_dead", "-"), res.get("suspects", "-")
        print(f"{SYS} {N} {res['join_s']:.1f} {res['idle_Bps']:.0f} {res['busy_Bps']:.0f} "
              f"{cm:.3f} {cw:.3f} {fm:.2f} {fw:.2f} {fd} {su}", flush=True)
    finally:
        with open(f"{DIR}.json", "w") as f:
            json.dump(res, f)
        for p in procs.values():
            if p.poll() is None:
                p.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + 10
        for p in procs.values():
            try:
                p.wait(max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()


main()
