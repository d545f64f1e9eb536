#!/usr/bin/env bash
# Health checks end to end: a real ayad probes real HTTP backends on
# 127.0.0.21/.22 (region r1) and 127.0.0.23 (region r2) and its DNS answers
# follow: a killed backend leaves the answers, a dead region fails over to
# the next one, a hanging backend is marked down with a timeout, an HTTP 500
# is down, a recovered backend returns with slow start, and a restarted
# ayad answers from the stored observations before its first probe, also
# when they went stale while it was down (the restart grace).
# Every wait is bounded; backends are stopped by their PID files.
. "$(dirname "$0")/lib.sh"

BACKEND=$ROOT/tests/integration/health_backend.py
SVC=www.$ZONE
PORT=$(free_port)
HPORT=$(free_port)
D=$T/node
write_config "$D" "$PORT" "regions:
  - { name: r1, location: [50.0, 8.0] }
  - { name: r2, location: [40.0, -75.0] }
monitors:
  - { name: web, type: http, port: $HPORT, path: /health, expect: [200], interval: 200ms,
      timeout: 150ms, rise: 2, fall: 2, slow_start: 4s }"
python3 - "$D/aya.yaml" <<'PY'
import sys
p = sys.argv[1]
s = open(p).read()
svc = """    services:
      - name: www
        ttl: 1
        pools:
          - region: r1
            monitor: web
            endpoints: [ { address: 127.0.0.21 }, { address: 127.0.0.22 } ]
          - region: r2
            monitor: web
            endpoints: [ { address: 127.0.0.23 } ]
        policy: [healthy, drain, geo, { first_n: 2 }]
"""
marker = "    file: zones/svc.example.com.zone\n"
s = s.replace(marker, marker + svc).replace("region: test-region", "region: r1")
open(p, "w").write(s)
PY

ctl() { "$AYACTL" -s "$D/ayad.sock" "$@"; }
# answers: the A records of the service, sorted, space-separated.
answers() { q +short A "$SVC" 2>/dev/null | sort | tr '\n' ' ' | sed 's/ $//'; }

# backend N [MODE]: (re)start the backend on 127.0.0.N (PID file $T/bN.pid).
backend() {
	local n=$1 mode=${2:-ok} i
	stop_backend "$n"
	python3 "$BACKEND" --mode "$mode" "127.0.0.$n:$HPORT" 2>>"$T/b$n.log" &
	echo $! >"$T/b$n.pid"
	PIDS+=("$T/b$n.pid")
	for i in $(seq 1 50); do
		python3 -c "import socket,sys; socket.create_connection(('127.0.0.$n', $HPORT), 0.2)" \
			2>/dev/null && return 0
		sleep 0.05
	done
	echo "# backend 127.0.0.$n did not start" >&2
	return 1
}
# stop_backend N: SIGKILL, as a crashed backend.
stop_backend() {
	local f=$T/b$1.pid
	[ -s "$f" ] || return 0
	{
		kill -KILL "$(cat "$f")"
		wait "$(cat "$f")"
	} 2>/dev/null
	rm -f "$f"
}

# wait_answers WANT SECONDS: poll every 50 ms until the answers are WANT;
# prints the time it took (ms). False on timeout.
wait_answers() {
	local want=$1 limit_ms=$(($2 * 1000)) t0 now got
	t0=$(date +%s%3N)
	while :; do
		got=$(answers)
		now=$(date +%s%3N)
		if [ "$got" = "$want" ]; then
			echo $((now - t0))
			return 0
		fi
		if [ $((now - t0)) -gt "$limit_ms" ]; then
			echo "# waited ${limit_ms} ms for '$want', last answer '$got'" >&2
			return 1
		fi
		sleep 0.05
	done
}

# answers_become WANT SECONDS: wait_answers without the timing.
answers_become() { wait_answers "$@" >/dev/null; }

# backend_field ADDR FIELD: a field of the backend row for ADDR in `backends --json`.
backend_field() {
	ctl --json backends "$SVC" | python3 -c '
import json, sys
addr, field = sys.argv[1], sys.argv[2]
for b in json.load(sys.stdin)["backends"]:
    if b["address"] == addr:
        v = b
        for part in field.split("."):
            v = v[part]
        print(v)
' "$1" "$2"
}

# wait_field ADDR FIELD WANT_REGEX SECONDS
wait_field() {
	local i got
	for i in $(seq 1 $(($4 * 10))); do
		got=$(backend_field "$1" "$2")
		[[ $got =~ $3 ]] && return 0
		sleep 0.1
	done
	echo "# $1 $2 is '$got', wanted /$3/" >&2
	return 1
}

for n in 21 22 23; do backend "$n" || exit 1; done
start_ayad "$D" || exit 1

check "all backends up: answers are region r1" \
	answers_become "127.0.0.21 127.0.0.22" 5
check "backends lists three monitored endpoints" \
	test "$(ctl --json backends | python3 -c 'import json,sys; print(len(json.load(sys.stdin)["backends"]))')" = 3
check "backends shows up with an RTT and this node as observer" \
	wait_field 127.0.0.21 state '^up$' 3
check "the observer is this node" test "$(backend_field 127.0.0.21 observers)" != "[]"
check "text output has a header and a row per endpoint" \
	test "$(ctl backends www | grep -c '127.0.0.2[123]:')" = 3
check "backends: this node's probe (local) and the cluster's verdict, apart" \
	test "$(backend_field 127.0.0.21 local) $(backend_field 127.0.0.21 verdict)" = "up up"
check "backends text: LOCAL and VERDICT columns, with a legend" \
	bash -c "'$AYACTL' -s '$D/ayad.sock' backends www | grep -q '^SERVICE .* LOCAL .* VERDICT ' &&
	'$AYACTL' -s '$D/ayad.sock' backends www | grep -q '^VERDICT: the cluster'"

# 1. Kill one backend: it leaves the answers within the fall x interval budget.
stop_backend 21
ms=$(wait_answers "127.0.0.22 127.0.0.23" 3) && ok "killed backend excluded after ${ms} ms" ||
	not_ok "killed backend excluded within 3 s"
check "killed backend is down with a connect error" wait_field 127.0.0.21 state '^down$' 2
check "its policy view is excluded" wait_field 127.0.0.21 policy.healthy '^False$' 2
check "its last error is not empty" test -n "$(backend_field 127.0.0.21 error)"

# 2. Kill the other in r1: the answers move to r2.
stop_backend 22
ms=$(wait_answers "127.0.0.23" 3) && ok "region r1 down: answers moved to r2 after ${ms} ms" ||
	not_ok "region r1 down: answers moved to r2 within 3 s"

# 3. Bring both back: answers return; slow start shows in backends.
backend 21 && backend 22
check "recovered backends return to the answers" \
	answers_become "127.0.0.21 127.0.0.22" 5
check "a recovered backend is in slow start" wait_field 127.0.0.21 policy.slow_start '^0\.' 2
check "backends text shows slow-start" bash -c "'$AYACTL' -s '$D/ayad.sock' backends | grep -q 'slow-start'"
check "slow start ends at full weight" wait_field 127.0.0.21 policy.slow_start '^1(\.0)?$' 8

# 4. A backend that accepts and never answers: down with a timeout error.
backend 22 hang
check "hanging backend leaves the answers" answers_become "127.0.0.21 127.0.0.23" 4
check "hanging backend is down" wait_field 127.0.0.22 state '^down$' 2
check "hanging backend's last error says timeout" wait_field 127.0.0.22 error 'timeout' 2
check "ayactl backends shows the timeout" \
	bash -c "'$AYACTL' -s '$D/ayad.sock' backends www | grep '127.0.0.22:' | grep -q timeout"

# 5. HTTP 500: down.
backend 22 500
check "HTTP 500 keeps it down" wait_field 127.0.0.22 error '500' 3
check "HTTP 500 backend stays out of the answers" test "$(answers)" = "127.0.0.21 127.0.0.23"
backend 22 ok
check "fixed backend returns" answers_become "127.0.0.21 127.0.0.22" 5

# 6. Counters in status.
sent=$(ctl --json status | python3 -c 'import json,sys; print(json.load(sys.stdin)["counters"]["probes_sent"])')
check "status counts probes sent ($sent)" test "${sent:-0}" -gt 10
check "status counts probe timeouts" \
	test "$(ctl --json status | python3 -c 'import json,sys; print(json.load(sys.stdin)["counters"]["probe_timeouts"])')" -gt 0

# 7. Restart with a dead backend: the stored observation excludes it at once.
stop_backend 21
check "dead backend excluded before the restart" answers_become "127.0.0.22 127.0.0.23" 3
stop_ayad "$D"
start_ayad "$D" || exit 1
check "restarted ayad excludes the dead backend from its first answer" \
	test "$(answers)" = "127.0.0.22 127.0.0.23"
check "restarted ayad shows the stored down state" test "$(backend_field 127.0.0.21 state)" = down
# 7b. Down for longer than the stale limit (5 s here): the stored observation is stale, but
# for one stale limit after the start it still counts (restart grace) instead of failing open.
stop_ayad "$D"
sleep 5.5
start_ayad "$D" || exit 1
check "after a long stop, the first answer still excludes the dead backend" \
	test "$(answers)" = "127.0.0.22 127.0.0.23"
sleep 5.5
check "once the grace is over, its own probes keep it excluded" \
	test "$(answers)" = "127.0.0.22 127.0.0.23"
# 8. Reload without the monitor on r2: its endpoint is no longer probed.
python3 - "$D/aya.yaml" <<'PY'
import sys
p = sys.argv[1]
s = open(p).read()
r2 = s.index("region: r2")
s = s[:r2] + s[r2:].replace("            monitor: web\n", "", 1)
open(p, "w").write(s)
PY
check "reload without r2's monitor is accepted" bash -c "'$AYACTL' -s '$D/ayad.sock' reload >/dev/null"
check "backends lists the two monitored endpoints left" \
	test "$(ctl --json backends | python3 -c 'import json,sys; print(len(json.load(sys.stdin)["backends"]))')" = 2
check "the agent probes two targets" \
	test "$(ctl --json status | python3 -c 'import json,sys; print(json.load(sys.stdin)["counters"]["probe_targets"])')" = 2
check "unknown service is an error" bash -c "! '$AYACTL' -s '$D/ayad.sock' backends nosuch 2>/dev/null"
stop_ayad "$D"
finish
