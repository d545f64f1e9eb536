#!/usr/bin/env python3
"""One run of scripts/bench-gossip.sh: SYSTEM (ayad|serf) with N nodes on
127.0.0.1..N inside the caller's fresh network namespace. Prints one line:
  SYSTEM N join_s idle_bytes_per_s_per_node change_s fail_s poll_round_s
Every wait is bounded; every process is killed by PID at the end."""
import concurrent.futures as cf
import json
import os
import shutil
import signal
import subprocess
import sys
import time

SYS, N, DIR = sys.argv[1], int(sys.argv[2]), sys.argv[3]
ROOT = os.environ["ROOT"]
AYAD, AYACTL = os.environ["AYAD"], os.environ["AYACTL"]
IDLE_S = float(os.environ.get("IDLE_S", "10"))
# Extra gossip: keys for ayad, e.g. "probe_interval: 500ms" (one "key: value" per ';').
EXTRA = "".join(f"  {kv.strip()}\n" for kv in os.environ.get("GOSSIP_EXTRA", "").split(";") if kv.strip())
GPORT, DNSPORT, RPCPORT = 7946, 5300, 7373
ZONE = "svc.example.com"
POOL = cf.ThreadPoolExecutor(16)
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
          - {{ region: r0, endpoints: [ {{ address: 192.0.2.10 }} ] }}
          - {{ region: r1, endpoints: [ {{ address: 198.51.100.10 }} ] }}
        policy: [healthy, drain, {{ first_n: 1 }}]
control: {{ socket: {d}/ayad.sock }}
state_dir: {d}/state
log: {{ level: warning }}
""")
    return d


def start(i):
    if SYS == "ayad":
        d = ayad_config(i)
        log = open(f"{d}/ayad.log", "w")
        procs[i] = subprocess.Popen([AYAD, "-c", f"{d}/aya.yaml"], stderr=log, stdout=log)
    else:
        os.makedirs(f"{DIR}/s{i}", exist_ok=True)
        log = open(f"{DIR}/s{i}/serf.log", "w")
        args = ["serf", "agent", f"-node=node-{i}", f"-bind=127.0.0.{i}:{GPORT}",
                f"-rpc-addr=127.0.0.{i}:{RPCPORT}", "-log-level=warn", "-profile=lan"]
        args += [f"-retry-join=127.0.0.{j}:{GPORT}" for j in (1, 2, 3) if j != i and j <= N]
        procs[i] = subprocess.Popen(args, stderr=log, stdout=log)


def members(i):
    """{name: (state, tags)} as node i sees it."""
    if SYS == "ayad":
        out = run([AYACTL, "-s", f"{DIR}/n{i}/ayad.sock", "--json", "members"])
        try:
            return {m["name"]: (m["state"], {}) for m in json.loads(out)["members"]}
        except (ValueError, KeyError):
            return {}
    out = run(["serf", "members", f"-rpc-addr=127.0.0.{i}:{RPCPORT}", "-format=json"])
    try:
        return {m["name"]: (m["status"], m.get("tags", {})) for m in json.loads(out)["members"]}
    except (ValueError, KeyError):
        return {}


def dns_answer(i):
    return run(["dig", f"@127.0.0.{i}", "-p", str(DNSPORT), "+norec", "+time=1", "+tries=1",
                "+short", "A", f"www.{ZONE}"]).strip()


def wait_all(nodes, pred, limit_s):
    """Poll pred(i) for every node concurrently until all hold: (seconds, round_s) or None."""
    t0 = time.monotonic()
    pending, rounds = set(nodes), 0
    while pending and time.monotonic() - t0 < limit_s:
        ok = dict(zip(pending, POOL.map(pred, list(pending))))
        pending = {i for i, v in ok.items() if not v}
        rounds += 1
    dt = time.monotonic() - t0
    return None if pending else (dt, dt / max(rounds, 1))


def main():
    nodes = range(1, N + 1)
    try:
        for i in nodes:
            start(i)
            time.sleep(0.02)
        alive = ("alive",)
        r = wait_all([1], lambda i: sum(s in alive for s, _ in members(i).values()) == N, 120)
        if r is None:
            print(f"{SYS} {N} FAILED: node 1 did not see {N} members alive in 120 s", flush=True)
            return
        join = r[0]
        time.sleep(2)  # let the join gossip settle before measuring idle traffic
        o0 = out_octets()
        time.sleep(IDLE_S)
        idle = (out_octets() - o0) / N / IDLE_S
        if SYS == "ayad":
            run([AYACTL, "-s", f"{DIR}/n1/ayad.sock", "drain", "www", "r0"])
            r = wait_all(nodes, lambda i: dns_answer(i) == "198.51.100.10", 30)
        else:
            run(["serf", "tags", f"-rpc-addr=127.0.0.1:{RPCPORT}", "-set", "bench=1"])
            r = wait_all(nodes, lambda i: members(i).get("node-1", ("", {}))[1].get("bench") == "1", 60)
        change, poll = (r if r else (float("nan"), float("nan")))
        victim = N
        procs[victim].send_signal(signal.SIGKILL)
        procs[victim].wait()
        dead = ("dead", "failed")
        r = wait_all(range(1, N), lambda i: members(i).get(f"node-{victim}", ("",))[0] in dead, 60)
        fail = r[0] if r else float("nan")
        print(f"{SYS} {N} {join:.2f} {idle:.0f} {change:.2f} {fail:.2f} {poll:.2f}", flush=True)
    finally:
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
