#!/usr/bin/env bash
# ayactl top against a real ayad: a paced UDP client sends A queries for a
# service at a known rate while `ayactl --json top --count 2 --interval 1`
# samples the node; the JSON lines carry queries/s and answers/s within a
# tolerance of the rate sent, pool shares that sum to 100, and the drain
# made before as a recent event. The text view: no ANSI codes when stdout
# is not a terminal, one screen per refresh.
. "$(dirname "$0")/lib.sh"

PORT=$(free_port)
D=$T/node
RATE=200
write_config "$D" "$PORT" "regions:
  - { name: r1, location: [50.0, 8.0] }
  - { name: r2, location: [40.0, -75.0] }"
python3 - "$D/aya.yaml" <<'PY'
import sys
p = sys.argv[1]
s = open(p).read()
svc = """    services:
      - name: www
        ttl: 5
        pools:
          - region: r1
            endpoints: [ { address: 192.0.2.1 }, { address: 192.0.2.2 } ]
          - region: r2
            endpoints: [ { address: 198.51.100.1 } ]
        policy: [healthy, drain, weighted, { first_n: 2 }]
"""
marker = "    file: zones/svc.example.com.zone\n"
s = s.replace(marker, marker + svc).replace("region: test-region", "region: r1")
open(p, "w").write(s)
PY

start_ayad "$D" || {
	not_ok "ayad starts"
	finish
}
ok "ayad starts"
ctl() { "$AYACTL" -s "$D/ayad.sock" "$@"; }

out=$(ctl drain www 192.0.2.2)
check "drain an endpoint (an event for top)" test $? -eq 0

# The paced client: RATE queries/s for SECS seconds, answers read as they come.
python3 - "$PORT" "$RATE" 6 >"$T/client.out" 2>&1 <<'PY' &
import socket, struct, sys, time
port, rate, secs = int(sys.argv[1]), int(sys.argv[2]), float(sys.argv[3])
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.setblocking(False)
name = b"".join(bytes([len(l)]) + l for l in b"www.svc.example.com".split(b".")) + b"\0"
start = time.monotonic()
sent = got = 0
while True:
    now = time.monotonic()
    if now - start >= secs:
        break
    while sent < (now - start) * rate:
        q = struct.pack(">HHHHHH", sent & 0xFFFF, 0, 1, 0, 0, 0) + name + struct.pack(">HH", 1, 1)
        s.sendto(q, ("127.0.0.1", port))
        sent += 1
    try:
        while True:
            s.recv(4096)
            got += 1
    except BlockingIOError:
        pass
    time.sleep(0.002)
print("sent", sent, "got", got)
PY
echo $! >"$T/client.pid"
PIDS+=("$T/client.pid")
sleep 1.5
ctl --json top --count 2 --interval 1 >"$T/top.json" 2>"$T/top.err"
check "top --json --count 2: exit 0" test $? -eq 0
check "top --json: two JSON lines" test "$(wc -l <"$T/top.json")" -eq 2
python3 - "$T/top.json" "$RATE" <<'PY' 2>"$T/err"
import json, sys
rate = float(sys.argv[2])
lines = [json.loads(l) for l in open(sys.argv[1])]
for j in lines:
    assert j["ok"] is True and j["node"] == "it-node-1", j
    assert 0.8 <= j["interval_s"] <= 1.5, j["interval_s"]
    assert abs(j["queries_per_s"] - rate) <= 0.25 * rate, j["queries_per_s"]
    assert abs(j["rcodes_per_s"]["noerror"] - rate) <= 0.25 * rate, j["rcodes_per_s"]
    www = [s for s in j["services"] if s["name"] == "www.svc.example.com"][0]
    assert abs(www["answers_per_s"] - rate) <= 0.25 * rate, www
    assert [p["region"] for p in www["pools"]] == ["r1", "r2"], www
    shares = [p["share"] for p in www["pools"]]
    assert all(isinstance(x, float) for x in shares), shares
    assert abs(sum(shares) - 100.0) < 0.01, shares
    assert sum(p["answers"] for p in www["pools"]) == www["answers"], www
    assert all(p["admit"] == 1.0 and p["healthy"] is True for p in www["pools"]), www
    assert any("192.0.2.2" in e["text"] and "drain" in e["text"] for e in j["events"]), j["events"]
    assert all(isinstance(e["time_ms"], int) for e in j["events"]), j["events"]
print("# rates:", [(j["queries_per_s"], [p["share"] for p in j["services"][0]["pools"]]) for j in lines], file=sys.stderr)
PY
rc=$?
sed 's/^/# /' "$T/err"
check "top --json: queries/s, answers/s near the rate sent, shares sum to 100, the drain event" \
	test $rc -eq 0

out=$(ctl top --count 1 --interval 0.5)
check "top (text): exit 0" test $? -eq 0
check "top (text): no ANSI codes when not a terminal" bash -c "! grep -q $'\033' <<<\"\$1\"" _ "$out"
check "top (text): the service and its pools" grep -qE "^ +r2 " <<<"$out"
check "top (text): queries/s line" grep -qE "^queries/s +[0-9.]+" <<<"$out"
stop_pidfile "$T/client.pid"
cat "$T/client.out" | sed 's/^/# client: /'

ctl --json top --count 0 >/dev/null 2>&1
check "top --count 0: usage error (exit 2)" test $? -eq 2
ctl status --interval 1 >/dev/null 2>&1
check "--interval outside top: usage error (exit 2)" test $? -eq 2

stop_ayad "$D"
finish
