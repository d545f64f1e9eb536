#!/usr/bin/env bash
# Upgrading a node without losing a query (README "Upgrading without losing
# queries"): a 2-node gossip cluster; node 1 (A) serves a UDP + TCP query
# load (upgrade_client.py); a copy of the binary is started beside it with
# the same config (B), A gets SIGTERM. Checks: no UDP or TCP query lost, A
# exits 0, B takes over (control socket, gossip) and keeps the drain set
# before the upgrade; node 2 sees node 1 alive again. Then B is upgraded
# the same way to C (the second generation finds its sockets in the order
# the handover left them). Last, a process that is not an ayad holding the
# state lock is refused (exit 1). Every wait is bounded; processes are
# stopped by PID file.
. "$(dirname "$0")/cluster.sh"

CLIENT=$ROOT/tests/integration/upgrade_client.py
cluster_init 2
# Moderate rates: build/san binaries are several times slower.
UDP_RATE=${UDP_RATE:-1500}
TCP_RATE=${TCP_RATE:-5}
LOAD_S=6

status_ok() { ctl 1 status >/dev/null 2>&1; }

for i in 1 2; do
	# www in eu-west, us-east next (a drain moves it); two DNS threads.
	node_config "$i" threads=2 regions="$WWW_REGIONS_YAML" services="$WWW_SERVICES_YAML"
	node_start "$i" || {
		not_ok "node $i starts"
		finish
	}
	ok "node $i starts"
done
check "both see each other alive within 10 s" wait_for 10 sees 2 alive node-1
check "drain www eu-west on node 1 before the upgrade" ctl 1 drain www eu-west
check "node 1 answers us-east (drained)" answer_is 1 198.51.100.10

# upgrade GEN: start a copy of the binary as generation GEN beside the running
# node 1 under load, stop the old one, check nothing was lost.
upgrade() {
	local gen=$1 dir=$T/n1 bin=$T/bin$1/ayad log=$T/n1/ayad-$1.log
	local old_pid=$T/n1/ayad.pid new_pid=$T/n1/ayad-$1.pid out=$T/load-$1.json
	mkdir -p "$T/bin$gen"
	cp "$AYAD" "$bin"
	PORT=${DNSPORT[1]} timeout 60 python3 "$CLIENT" 127.0.0.1 "${DNSPORT[1]}" "$LOAD_S" \
		"$UDP_RATE" "$TCP_RATE" "$WWW" >"$out" 2>"$out.err" &
	local load=$!
	wait_for 10 logged "$out.err" "sending" >/dev/null
	sleep 1
	"$bin" -c "$dir/aya.yaml" 2>"$log" &
	echo $! >"$new_pid"
	PIDS+=("$new_pid")
	check "gen $gen: answers DNS beside the old node within 10 s" \
		wait_for 10 logged "$log" "answering DNS beside it"
	check "gen $gen: names the old node's pid" logged "$log" "(pid $(cat "$old_pid"))"
	sleep 1
	local t0 rc=0
	t0=$(date +%s%N)
	stop_pidfile "$old_pid" || rc=$?
	echo "# old node stopped in $((($(date +%s%N) - t0) / 1000000)) ms"
	check "gen $gen: the old node exits 0 (rc=$rc)" test "$rc" -eq 0
	check "gen $gen: the old node handed over" logged "$dir/ayad.log" "handing the DNS sockets over"
	grep "dnsd: drained" "$dir/ayad.log" | tail -n 1 | sed 's/^/# /'
	check "gen $gen: takes over within 5 s" wait_for 5 logged "$log" "took over from pid"
	check "gen $gen: control socket answers" wait_for 5 status_ok
	wait "$load"
	echo "# load: $(cat "$out")"
	check "gen $gen: no UDP query lost" python3 -c '
import json, sys
d = json.load(open(sys.argv[1]))
sys.exit(0 if d["udp_sent"] > 1000 and d["udp_lost"] == 0 else 1)' "$out"
	check "gen $gen: no TCP query lost" python3 -c '
import json, sys
d = json.load(open(sys.argv[1]))
sys.exit(0 if d["tcp_sent"] > 5 and d["tcp_lost"] == 0 else 1)' "$out"
	check "gen $gen: serves (dig)" wait_for 2 answer_is 1 198.51.100.10
	check "gen $gen: the drain is still in effect" bash -c \
		"\"$AYACTL\" -s \"$dir/ayad.sock\" status | grep -qE ', 1 drain\(s\)$'"
	check "gen $gen: node 2 sees node-1 alive within 5 s" wait_for 5 sees 2 alive node-1
	check "gen $gen: node 1 sees node-2 alive" wait_for 5 sees 1 alive node-2
	# From now on the new process is node 1.
	cat "$dir/ayad.log" >>"$dir/ayad-old.log"
	mv "$log" "$dir/ayad.log"
	mv "$new_pid" "$old_pid"
	PIDS+=("$old_pid")
}
upgrade 2
upgrade 3

# A process that is not an ayad holds the lock: refused, exit 1.
stop_ayad "$T/n1"
cat >"$T/holder.py" <<'PY'
import fcntl, os, sys, time
f = open(sys.argv[1], "w")
fcntl.flock(f, fcntl.LOCK_EX)
f.write("%d\n" % os.getpid())
f.flush()
time.sleep(20)
PY
python3 "$T/holder.py" "$T/n1/state/state.lock" &
echo $! >"$T/holder.pid"
PIDS+=("$T/holder.pid")
holds() { grep -qx "$(cat "$T/holder.pid")" "$T/n1/state/state.lock"; }
wait_for 10 holds || not_ok "the python holder took the lock"
timeout 10 "$AYAD" -c "$T/n1/aya.yaml" 2>"$T/refused.log"
rc=$?
check "not an ayad holding the state lock: exit 1 (rc=$rc)" test "$rc" -eq 1
check "... with a clear line" logged "$T/refused.log" "not an ayad; refusing"
stop_pidfile "$T/holder.pid"

stop_ayad "$T/n2"
finish
