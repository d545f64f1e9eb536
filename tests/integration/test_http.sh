#!/usr/bin/env bash
# The HTTP pages of a real ayad (http.listen).
# /metrics: the families the operator's dashboards use, with real values
# (answers per service and region after real queries, an endpoint whose
# backend is down at 0, its utilization from the X-Load header), clean under
# `promtool check metrics`.
# The status page: self-contained (no external script, style, font or
# image), its JSON has the node, regions, members and the recent health
# changes and drains; rendered in headless Chromium, the DOM shows the node
# and every region, and a screenshot is kept in $B/test-output/.
# Only GET/HEAD; unknown paths 404; a reload moves the listener, a reload to
# an address in use keeps the old one and says so. Bounded waits; processes
# stopped by PID.
. "$(dirname "$0")/lib.sh"

BACKEND=$ROOT/tests/integration/health_backend.py
SVC=www.$ZONE
BPORT=$(free_port)
HTTP=$(free_port)
HTTP2=$(free_port)

start_backend() {
	local n=$1 i
	python3 "$BACKEND" --load 0.25 "127.0.0.$n:$BPORT" 2>>"$T/b$n.log" &
	echo $! >"$T/b$n.pid"
	PIDS+=("$T/b$n.pid")
	for i in $(seq 1 50); do
		python3 -c "import socket; socket.create_connection(('127.0.0.$n', $BPORT), 0.2)" \
			2>/dev/null && return 0
		sleep 0.05
	done
	return 1
}
check "backend r1 starts" start_backend 31

PORT=$(free_port)
D=$T/node
write_config "$D" "$PORT" "regions:
  - { name: r1, location: [50.0, 8.0] }
  - { name: r2, location: [40.0, -75.0] }
monitors:
  - { name: web, type: http, port: $BPORT, path: /health, expect: [200], interval: 200ms,
      timeout: 150ms, rise: 1, fall: 1, load: { header: X-Load } }
http:
  listen: [\"127.0.0.1:$HTTP\"]"
python3 - "$D/aya.yaml" <<'PY'
import sys
p = sys.argv[1]
s = open(p).read()
svc = """    services:
      - name: www
        ttl: 5
        pools:
          - region: r1
            monitor: web
            endpoints: [ { address: 127.0.0.31 } ]
          - region: r2
            monitor: web
            endpoints: [ { address: 127.0.0.32 } ]
"""
marker = "    file: zones/svc.example.com.zone\n"
s = s.replace(marker, marker + svc).replace("region: test-region", "region: r1")
open(p, "w").write(s)
PY

start_ayad "$D" || {
	not_ok "ayad starts with http.listen"
	finish
}
ok "ayad starts with http.listen"

M=$T/metrics.txt
scrape() { curl -sf --max-time 5 "http://127.0.0.1:${1:-$HTTP}/metrics" >"$M"; }
has() { grep -qE "$1" "$M"; }

# r2's backend (127.0.0.32) never starts: it goes down; r1 stays healthy.
wait_for 10 bash -c "'$AYACTL' -s '$D/ayad.sock' backends | grep -q '127.0.0.32.*down'" ||
	not_ok "r2's endpoint seen down"
for i in $(seq 1 20); do q +short A "$SVC" >/dev/null; done
# 400 more SOA queries (one in 64 is timed for the query duration histogram).
python3 - "$PORT" <<'PY'
import socket, struct, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.settimeout(2)
name = b"".join(bytes([len(l)]) + l for l in b"svc.example.com".split(b".")) + b"\0"
for i in range(400):
    s.sendto(struct.pack(">HHHHHH", i, 0, 1, 0, 0, 0) + name + struct.pack(">HH", 6, 1),
             ("127.0.0.1", int(sys.argv[1])))
    s.recv(4096)
PY

check "GET /metrics answers 200" scrape
ctype=$(curl -s --max-time 5 -o /dev/null -w '%{content_type}' "http://127.0.0.1:$HTTP/metrics")
check "content type is the Prometheus text format ($ctype)" \
	grep -q "text/plain; version=0.0.4" <<<"$ctype"
if command -v promtool >/dev/null; then
	out=$(promtool check metrics <"$M" 2>&1)
	rc=$?
	check "promtool check metrics is clean" test "$rc" -eq 0 -a -z "$out"
	[ -n "$out" ] && sed 's/^/#   /' <<<"$out" | head -20
else
	not_ok "promtool installed (scripts/deps.sh test)"
fi
check "aya_dns_responses_total with rcode and transport" \
	has '^aya_dns_responses_total\{rcode="noerror",transport="udp"\} [1-9]'
check "aya_dns_queries_total by transport" has '^aya_dns_queries_total\{transport="tcp"\} 0$'
check "query duration histogram, UDP, sampled and scaled" \
	has '^aya_dns_query_duration_seconds_count\{transport="udp"\} [1-9][0-9]*$'
check "aya_service_answers_total: 20 answers for r1" \
	has "^aya_service_answers_total\\{service=\"$SVC\",region=\"r1\"\\} 2[0-9]$"
check "aya_endpoint_healthy: r1 up" \
	has "^aya_endpoint_healthy\\{service=\"$SVC\",region=\"r1\",address=\"127.0.0.31\"\\} 1$"
check "aya_endpoint_healthy: r2 down" \
	has "^aya_endpoint_healthy\\{service=\"$SVC\",region=\"r2\",address=\"127.0.0.32\"\\} 0$"
check "aya_endpoint_utilization: r1 reports 0.25" \
	has "^aya_endpoint_utilization\\{service=\"$SVC\",region=\"r1\",address=\"127.0.0.31\"\\} 0.25$"
check "aya_pool_admit of r1" has "^aya_pool_admit\\{service=\"$SVC\",region=\"r1\"\\} 1$"
check "aya_probes_total by result" has '^aya_probes_total\{result="ok"\} [1-9]'
check "aya_gossip_members: alone, itself alive" has '^aya_gossip_members\{state="alive"\} 1$'
check "aya_snapshot_rebuilds_total" has '^aya_snapshot_rebuilds_total [0-9]+$'
check "rebuild duration histogram" has '^aya_snapshot_build_duration_seconds_bucket\{le="\+Inf"\} [0-9]+$'
check "aya_build_info with version and node" has '^aya_build_info\{version="[0-9.]+",node="it-node-1",region="r1"\} 1$'
check "process metrics" has '^process_resident_memory_bytes [1-9]'

# The example Grafana dashboard: every family it queries is exported, every expression parses.
python3 - "$ROOT/examples/grafana/aya-dashboard.json" "$M" "$T/rules.yml" <<'PY' 2>"$T/err"
import json, re, sys
dash = json.load(open(sys.argv[1]))
scrape = open(sys.argv[2]).read()
exprs = [t["expr"] for p in dash["panels"] for t in p["targets"]]
names = set(n for e in exprs for n in re.findall(r"\b(?:aya|process)_[a-z_]+", e))
with open(sys.argv[3], "w") as f:
    f.write("groups:\n  - name: dashboard\n    rules:\n")
    for i, e in enumerate(exprs):
        f.write(f"      - record: aya:dashboard:{i}\n        expr: {json.dumps(e.replace('$instance', '.*'))}\n")
# A family is exported when it has its TYPE line (some have no sample while a value is unknown).
fam = lambda n: re.sub(r"_(bucket|sum|count)$", "", n)
missing = [n for n in sorted(names) if not re.search("^# TYPE " + fam(n) + " ", scrape, re.M)]
assert not missing, f"not in /metrics: {missing}"
print(len(exprs), "expressions,", len(names), "families")
PY
check "Grafana dashboard: every family it queries is in /metrics" test $? -eq 0
sed 's/^/#   /' "$T/err" | tail -3
if command -v promtool >/dev/null; then
	check "Grafana dashboard: every expression parses (promtool check rules)" \
		promtool check rules "$T/rules.yml"
fi

# ---- the status page ----
"$AYACTL" -s "$D/ayad.sock" drain www r1 >/dev/null
J=$T/status.json
curl -sf --max-time 5 "http://127.0.0.1:$HTTP/status.json" >"$J"
check "status.json answers" test -s "$J"
python3 - "$J" "$SVC" <<'PY' 2>"$T/err"
import json, sys
j = json.load(open(sys.argv[1]))
svc = sys.argv[2]
assert j["node"] == "it-node-1" and j["region"] == "r1", j
r = {x["name"]: x for x in j["regions"]}
assert set(r) == {"r1", "r2"}, r
assert (r["r1"]["lat"], r["r1"]["lon"]) == (50.0, 8.0), r["r1"]
assert r["r1"]["endpoints"] == 1 and r["r1"]["drained"] == 1 and r["r1"]["healthy"] == 0, r["r1"]
assert r["r2"]["endpoints"] == 1 and r["r2"]["healthy"] == 0, r["r2"]
assert r["r1"]["answers"] >= 20, r["r1"]
assert j["members"][0]["name"] == "it-node-1" and j["members"][0]["state"] == "alive", j["members"]
texts = [e["text"] for e in j["events"]]
assert f"{svc} r2 127.0.0.32 down" in texts, texts
assert f"{svc} r1 127.0.0.31 drained" in texts, texts
assert texts.index(f"{svc} r1 127.0.0.31 drained") < texts.index(f"{svc} r2 127.0.0.32 down"), texts
assert [p["region"] for p in j["services"][0]["pools"]] == ["r1", "r2"], j["services"]
PY
check "status.json: node, regions with location and health, members, events newest first" \
	test $? -eq 0
sed 's/^/#   /' "$T/err" | tail -5
check "the log says the backend went down, at warning" \
	grep -q "warning: health: endpoint down (cluster verdict) service=$SVC region=r2 endpoint=127.0.0.32$" "$D/ayad.log"
H=$T/page.html
curl -sf --max-time 5 "http://127.0.0.1:$HTTP/" >"$H"
check "GET / is the status page" grep -q "<title>Aya</title>" "$H"
check "the page is self-contained (no external script, style, font or image)" \
	bash -c "! grep -Eiq '<script[^>]+src=|<link|@import|url\\(|<img' '$H'"
check "the page embeds the map's country points" grep -q "COUNTRIES = \[\[" "$H"
CHROME=$(command -v chromium || command -v chromium-browser || true)
if [ -n "$CHROME" ]; then
	OUT=$BDIR/test-output
	mkdir -p "$OUT"
	# The page fetches status.json after load: a virtual-time budget lets it run.
	timeout 60 "$CHROME" --headless --no-sandbox --disable-gpu --user-data-dir="$T/chrome" \
		--virtual-time-budget=5000 --dump-dom "http://127.0.0.1:$HTTP/" >"$T/dom.html" 2>"$T/chrome.log"
	check "chromium: the DOM shows the node" grep -q '<span id="node">it-node-1</span>' "$T/dom.html"
	for r in r1 r2; do
		check "chromium: the DOM shows region $r in the table and on the map" \
			test "$(grep -o "class=\"region\" data-region=\"$r\"\|class=\"region-pin\" data-region=\"$r\"" \
				"$T/dom.html" | wc -l)" -eq 2
	done
	check "chromium: the DOM lists the health change" grep -q "127.0.0.32 down" "$T/dom.html"
	rm -f "$OUT/status-page.png"
	timeout 60 "$CHROME" --headless --no-sandbox --disable-gpu --user-data-dir="$T/chrome" \
		--hide-scrollbars --window-size=1280,1000 --virtual-time-budget=5000 \
		--screenshot="$OUT/status-page.png" "http://127.0.0.1:$HTTP/" >>"$T/chrome.log" 2>&1
	check "chromium: screenshot kept at $OUT/status-page.png" test -s "$OUT/status-page.png"
else
	not_ok "chromium installed (scripts/deps.sh test)"
fi
"$AYACTL" -s "$D/ayad.sock" undrain www r1 >/dev/null

# A killed backend: /metrics shows it down within the failover goal (monitor: 200 ms, fall 1).
healthy_r1() {
	curl -sf --max-time 2 "http://127.0.0.1:$HTTP/metrics" |
		grep -q "^aya_endpoint_healthy{service=\"$SVC\",region=\"r1\",address=\"127.0.0.31\"} $1\$"
}
check "r1's backend is up in /metrics before the kill" healthy_r1 1
t0=$(date +%s%N)
kill -KILL "$(cat "$T/b31.pid")"
if wait_for 10 healthy_r1 0 >/dev/null; then
	ms=$((($(date +%s%N) - t0) / 1000000))
	echo "# /metrics showed the killed backend down after $ms ms"
	check "a killed backend's aya_endpoint_healthy goes to 0 within 1.5 s ($ms ms)" test "$ms" -le 1500
else
	not_ok "a killed backend's aya_endpoint_healthy goes to 0"
fi

code=$(curl -s --max-time 5 -o /dev/null -w '%{http_code}' "http://127.0.0.1:$HTTP/nosuch")
check "unknown path: 404 ($code)" test "$code" = 404
code=$(curl -s --max-time 5 -o /dev/null -w '%{http_code}' -X POST -d x "http://127.0.0.1:$HTTP/metrics")
check "POST: refused ($code)" test "$code" = 405 -o "$code" = 413

# Reload: the listener moves to another port.
sed -i "s/127.0.0.1:$HTTP/127.0.0.1:$HTTP2/" "$D/aya.yaml"
out=$("$AYACTL" -s "$D/ayad.sock" reload 2>&1)
check "reload with a new http.listen is ok" grep -q "reload: ok" <<<"$out"
check "the new address serves /metrics" scrape "$HTTP2"
check "the old address is closed" bash -c "! curl -sf --max-time 2 http://127.0.0.1:$HTTP/metrics >/dev/null"
# Reload to an address another process holds: the old listener stays.
python3 -c "
import socket, time, sys
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(('127.0.0.1', $HTTP)); s.listen(1); time.sleep(30)" &
echo $! >"$T/hog.pid"
PIDS+=("$T/hog.pid")
wait_for 10 python3 -c "import socket; socket.create_connection(('127.0.0.1', $HTTP), 0.2)" 2>/dev/null ||
	not_ok "the process holding port $HTTP started"
sed -i "s/127.0.0.1:$HTTP2/127.0.0.1:$HTTP/" "$D/aya.yaml"
out=$("$AYACTL" -s "$D/ayad.sock" reload 2>&1)
check "reload to a busy address says http.listen was not applied" \
	grep -q "http.listen not applied" <<<"$out"
check "... and the previous address still serves" scrape "$HTTP2"
stop_pidfile "$T/hog.pid"

stop_ayad "$D"
finish
