#!/usr/bin/env bash
# A real partition: five ayad processes, each in its own network namespace,
# cut in two and healed. Topology (all of it inside namespaces made for this
# run, named aya-pPID-*; the host's interfaces and routes are not touched):
#
#   aya-pPID-0..2 (region-a)  eth0 --veth-- [brA]                 10.99.0.1-3
#   aya-pPID-3..4 (region-b)  eth0 --veth-- [brB]                 10.99.0.4-5
#   brA and brB live in aya-pPID-sw, joined by the veth pair ja/jb: the cut
#   is `ip link set ja down`, the heal `ip link set ja up`.
#
# Backends: one HTTP health backend per region (python3 -m http.server),
# 10.99.0.100 in node 0's namespace (pool region-a) and 10.99.0.200 in node
# 3's (pool region-b); the service app answers the healthy ones of both.
# Checks (docs/dev/gossip.md "Partitions"): before the cut every node answers
# both backends; after the cut each side declares the other side's members
# dead, the fresh observers of every backend are the nodes of the side
# itself, the side answers the backend it reaches and drops the other one,
# and no node crashes; after the heal every node sees all five alive again,
# every node answers both backends, and the fresh observers of each backend
# are the pre-split ones again. The split is held until the last dead mark
# is 30 s old, so that the heal is push/pull's (gossip to the dead stops
# then). The times are printed in the ok lines and in "# measured:" lines. Every wait is bounded; processes are stopped by
# PID file and every namespace is deleted in the EXIT trap (also on Ctrl-C).
# Skips when not root or when `ip netns` does not work here.
. "$(dirname "$0")/lib.sh"

if [ "$(id -u)" != 0 ]; then
	echo "ok - # SKIP not root (network namespaces need CAP_SYS_ADMIN)"
	exit 0
fi
if ! command -v ip >/dev/null || ! command -v dig >/dev/null; then
	echo "ok - # SKIP ip (iproute2) or dig not installed"
	exit 0
fi

NSP=aya-p$$
SW=$NSP-sw
N=5
SIDE_A=(0 1 2)
SIDE_B=(3 4)
NAMES_A=node-0,node-1,node-2
NAMES_B=node-3,node-4
NAMES_ALL=$NAMES_A,$NAMES_B
BK_A=10.99.0.100
BK_B=10.99.0.200
HPORT=8080
APP=app.$ZONE
KEYS=$T/keys.txt
NETNS=() # namespaces we created, deleted in the trap

addr() { echo "10.99.0.$(($1 + 1))"; }
nsx() { # nsx I CMD...: CMD in node I's namespace
	local i=$1
	shift
	ip netns exec "$NSP-$i" "$@"
}

part_cleanup() {
	local ns i
	# KEEP_LOGS=DIR keeps every node's log (and the backends') there, e.g. to read the timeline.
	if [ -n "${KEEP_LOGS:-}" ] && [ -d "$T" ]; then
		mkdir -p "$KEEP_LOGS"
		for i in $(seq 0 $((N - 1))); do
			[ -e "$T/n$i/ayad.log" ] && cp "$T/n$i/ayad.log" "$KEEP_LOGS/node-$i.log"
		done
	fi
	cleanup # lib.sh: stops every PID file, removes $T
	for ns in "${NETNS[@]}"; do
		ip netns del "$ns" 2>/dev/null
	done
}
trap part_cleanup EXIT
trap 'exit 130' INT TERM

# --- the network ------------------------------------------------------------
mkns() {
	ip netns add "$1" || return 1
	NETNS+=("$1")
	ip -n "$1" link set lo up
}
if ! mkns "$SW"; then
	echo "ok - # SKIP ip netns add does not work here"
	exit 0
fi
net_setup() {
	local i br
	ip -n "$SW" link add brA type bridge &&
		ip -n "$SW" link add brB type bridge &&
		ip -n "$SW" link add ja type veth peer name jb &&
		ip -n "$SW" link set ja master brA &&
		ip -n "$SW" link set jb master brB || return 1
	for i in $(seq 0 $((N - 1))); do
		mkns "$NSP-$i" || return 1
		br=brA
		[ "$i" -ge 3 ] && br=brB
		ip -n "$SW" link add "p$i" type veth peer name eth0 netns "$NSP-$i" &&
			ip -n "$SW" link set "p$i" master "$br" &&
			ip -n "$SW" link set "p$i" up &&
			ip -n "$NSP-$i" addr add "$(addr "$i")/24" dev eth0 &&
			ip -n "$NSP-$i" link set eth0 up || return 1
	done
	ip -n "$NSP-0" addr add "$BK_A/24" dev eth0 &&
		ip -n "$NSP-3" addr add "$BK_B/24" dev eth0 &&
		ip -n "$SW" link set brA up && ip -n "$SW" link set brB up &&
		ip -n "$SW" link set ja up && ip -n "$SW" link set jb up
}
check "5 namespaces on two bridges joined by one veth pair" net_setup

# --- backends and nodes -----------------------------------------------------
mkdir -p "$T/www"
echo ok >"$T/www/health"
start_backend() { # start_backend NODE ADDR: python3 -m http.server in NODE's namespace
	local i=$1 a=$2
	ip netns exec "$NSP-$i" python3 -m http.server --bind "$a" --directory "$T/www" "$HPORT" \
		>>"$T/backend-$a.log" 2>&1 &
	echo $! >"$T/backend-$a.pid"
	PIDS+=("$T/backend-$a.pid")
}
backend_answers() { nsx "$1" python3 -c "import urllib.request as u; u.urlopen('http://$2:$HPORT/health', timeout=1)" 2>/dev/null; }
start_backend 0 "$BK_A"
start_backend 3 "$BK_B"
both_backends() { backend_answers 0 "$BK_A" && backend_answers 3 "$BK_B"; }
check "both backends answer /health" wait_for 10 both_backends

openssl rand -base64 32 >"$KEYS"
node_config() { # node_config I: T/nI/aya.yaml
	local i=$1 dir=$T/n$1 seeds="" j region=region-a
	[ "$i" -ge 3 ] && region="region-b"
	for j in $(seq 0 $((N - 1))); do
		[ "$j" = "$i" ] || seeds="$seeds${seeds:+, }\"$(addr "$j"):7946\""
	done
	mkdir -p "$dir/zones"
	cp "$ZONE_SRC" "$dir/zones/$ZONE.zone"
	cat >"$dir/aya.yaml" <<EOF
node:
  name: node-$i
  region: $region
dns:
  listen: ["$(addr "$i"):53"]
  threads: 1
gossip:
  bind: $(addr "$i"):7946
  seeds: [$seeds]
  keyring: $KEYS
  pushpull_interval: 2s
regions:
  - { name: region-a, location: [53.35, -6.26] }
  - { name: region-b, location: [39.04, -77.49] }
zones:
  - name: $ZONE
    file: zones/$ZONE.zone
    services:
      - name: app
        ttl: 1
        pools:
          - region: region-a
            monitor: web
            endpoints: [ { address: $BK_A } ]
          - region: region-b
            monitor: web
            endpoints: [ { address: $BK_B } ]
        policy: [healthy, drain, { first_n: 2 }]
monitors:
  - { name: web, type: http, port: $HPORT, path: /health, expect: [200], interval: 500ms,
      timeout: 300ms, rise: 2, fall: 2 }
control:
  socket: $dir/ayad.sock
state_dir: $dir/state
EOF
}
# start_node I: ayad in node I's namespace (ip netns exec execs it: the PID is ayad's,
# so it must not run through a shell function, whose background copy is a subshell);
# waits until it answers SOA on its address (10 s).
start_node() {
	local i=$1 dir=$T/n$1
	ip netns exec "$NSP-$i" "$AYAD" -c "$dir/aya.yaml" 2>>"$dir/ayad.log" &
	echo $! >"$dir/ayad.pid"
	PIDS+=("$dir/ayad.pid")
	for _ in $(seq 1 100); do
		if ! kill -0 "$(cat "$dir/ayad.pid")" 2>/dev/null; then
			sed 's/^/#   /' "$dir/ayad.log" >&2
			return 1
		fi
		[ -S "$dir/ayad.sock" ] && [ -n "$(nsx "$i" dig @"$(addr "$i")" +norec +time=1 +tries=1 \
			+short SOA "$ZONE" 2>/dev/null)" ] && return 0
		sleep 0.1
	done
	return 1
}
for i in $(seq 0 $((N - 1))); do
	node_config "$i"
	check "node $i starts in its namespace" start_node "$i"
done

# --- views ------------------------------------------------------------------
# Queries every node's control socket in one python3 run (ayactl per node).
cat >"$T/view.py" <<'PY'
import json, subprocess, sys

ayactl, tdir, cmd = sys.argv[1], sys.argv[2], sys.argv[3]
args = sys.argv[4:]

def ctl(i, *a):
    out = subprocess.run([ayactl, "-s", f"{tdir}/n{i}/ayad.sock", "--json", *a],
                         capture_output=True, text=True, timeout=5).stdout
    return json.loads(out) if out else {}

def fresh(i, addr):
    for b in ctl(i, "backends", "app").get("backends", []):
        if b["address"] == addr:
            return sorted(o["node"] for o in b["observers"] if o["fresh"]), b
    return [], {}

def see(nodes, state, names):  # every node of NODES sees every member of NAMES in STATE
    for i in nodes.split(","):
        m = {x["name"]: x["state"] for x in ctl(i, "members").get("members", [])}
        if any(m.get(n) != state for n in names.split(",")):
            return False
    return True

def observers(nodes, addrs, want):  # the fresh observers of each of ADDRS on NODES are WANT
    for i in nodes.split(","):
        for addr in addrs.split(","):
            if fresh(i, addr)[0] != sorted(want.split(",")):
                return False
    return True

PRED = {"see": see, "observers": observers}
if cmd in PRED:
    sys.exit(0 if PRED[cmd](*args) else 1)
elif cmd == "poll":  # poll T0_MS SECS PRED ARGS...: ms from T0 until PRED holds (one process,
    # so a round costs only the ayactl calls); exit 1 after SECS from T0
    import time
    t0, lim = int(args[0]), int(args[1]) * 1000
    while True:
        ok = PRED[args[2]](*args[3:])
        now = int(time.time() * 1000)
        if ok:
            print(now - t0)
            sys.exit(0)
        if now - t0 >= lim:
            sys.exit(1)
        time.sleep(0.05)
elif cmd == "members":  # members I: one line
    print(" ".join(f'{x["name"]}={x["state"]}' for x in ctl(args[0], "members").get("members", [])))
elif cmd == "fresh":  # fresh I ADDR: the fresh observers, comma-separated
    print(",".join(fresh(args[0], args[1])[0]))
elif cmd == "state":  # state I ADDR: state, healthy, observers
    obs, b = fresh(args[0], args[1])
    pol = b.get("policy", {})
    print(f'{b.get("state")} healthy={pol.get("healthy")} fresh={",".join(obs)} '
          f'all={",".join(o["node"] + ":" + o["state"] + ("" if o["fresh"] else "(stale)") for o in b.get("observers", []))}')
elif cmd == "logtime":  # logtime T0_MS STATE NODES NAMES: ms from T0 until every node of NODES
    # logged every member of NAMES as STATE (the first such line after T0; the latest of them)
    import datetime
    t0, state, nodes, names = int(args[0]), args[1], args[2].split(","), args[3].split(",")
    worst = 0
    for i in nodes:
        for n in names:
            t = None
            for line in open(f"{tdir}/n{i}/ayad.log", errors="replace"):
                if f"gossip: member {state} member={n} " not in line:
                    continue
                ts = datetime.datetime.strptime(line[:23], "%Y-%m-%dT%H:%M:%S.%f")
                ms = int(ts.replace(tzinfo=datetime.timezone.utc).timestamp() * 1000)
                if ms >= t0:
                    t = ms
                    break
            if t is None:
                sys.exit(1)
            worst = max(worst, t - t0)
    print(worst)
elif cmd == "live":  # live I: the cluster's live count
    print(ctl(args[0], "status").get("cluster", {}).get("live"))
PY
view() { python3 "$T/view.py" "$AYACTL" "$T" "$@"; }
csv() { local IFS=,; echo "$*"; }
answer() { # answer I: node I's A answer for app, sorted, space-separated
	nsx "$1" dig @"$(addr "$1")" +norec +time=1 +tries=1 +short A "$APP" 2>/dev/null |
		sort | tr '\n' ' ' | sed 's/ $//'
}
answers_are() { # answers_are WANT NODES...
	local want=$1 i
	shift
	for i in "$@"; do [ "$(answer "$i")" = "$want" ] || return 1; done
}
all_alive() { ps_alive && view see "$(csv 0 1 2 3 4)" alive "$NAMES_ALL"; }
ps_alive() {
	local i
	for i in $(seq 0 $((N - 1))); do kill -0 "$(cat "$T/n$i/ayad.pid")" 2>/dev/null || return 1; done
}
now_ms() { date +%s%3N; }
# since_ms T0 DEADLINE_S CMD...: poll CMD until true; prints ms since T0; false after DEADLINE_S from T0.
since_ms() {
	local t0=$1 limit=$(($2 * 1000)) now
	shift 2
	while :; do
		if "$@"; then
			now=$(now_ms)
			echo $((now - t0))
			return 0
		fi
		now=$(now_ms)
		[ $((now - t0)) -ge "$limit" ] && return 1
		sleep 0.1
	done
}
# timed T0 DEADLINE_S LABEL CMD...: since_ms as a check, the time in the ok line and a measured line.
timed() {
	local t0=$1 lim=$2 label=$3 ms
	shift 3
	if ms=$(since_ms "$t0" "$lim" "$@"); then
		ok "$label within $lim s (took $ms ms)"
		echo "# measured: $label: $ms ms"
	else
		not_ok "$label within $lim s"
		return 1
	fi
}
dump() { # state of every node, for a failure
	local i
	for i in $(seq 0 $((N - 1))); do
		echo "# node $i: app=[$(answer "$i")] members: $(view members "$i")"
		echo "#   $BK_A: $(view state "$i" "$BK_A")"
		echo "#   $BK_B: $(view state "$i" "$BK_B")"
	done
}

# reach: node 0 gets an answer from node 4's DNS over TCP, and node 4 from backend A.
reach() {
	[ -n "$(nsx 0 dig +tcp @"$(addr 4)" +norec +time=1 +tries=1 +short SOA "$ZONE" 2>/dev/null |
		grep -v '^;')" ] || return 1
	backend_answers 4 "$BK_A"
}
cut_holds() { ! reach; }

# --- before the cut ---------------------------------------------------------
check "the two sides reach each other before the cut" reach
BOTH="$BK_A $BK_B"
t0=$(now_ms)
timed "$t0" 20 "every node sees all 5 alive" all_alive || dump
timed "$t0" 20 "every node answers both backends" answers_are "$BOTH" 0 1 2 3 4 || dump
# k = 3 observers per backend: wait until every node agrees on the same 3 fresh ones
# (records of a node that probed before it saw the others go stale after 5 s).
stable_obs() {
	local a b
	a=$(view fresh 0 "$BK_A") && b=$(view fresh 0 "$BK_B") || return 1
	[ "$(echo "$a" | tr ',' '\n' | grep -c .)" = 3 ] && [ "$(echo "$b" | tr ',' '\n' | grep -c .)" = 3 ] &&
		view observers 0,1,2,3,4 "$BK_A" "$a" && view observers 0,1,2,3,4 "$BK_B" "$b"
}
if wait_for 20 stable_obs; then
	ok "every node agrees on 3 fresh observers per backend within 20 s"
else
	not_ok "every node agrees on 3 fresh observers per backend within 20 s"
	dump
fi
OBS_A=$(view fresh 0 "$BK_A")
OBS_B=$(view fresh 0 "$BK_B")
echo "# observers before the cut: $BK_A: $OBS_A; $BK_B: $OBS_B"

# --- the cut ----------------------------------------------------------------
# Times are from the cut: the answers by a poll loop of dig only (about 100 ms a round
# here), the members' states from the "gossip: member dead member=X ..." lines of each
# node's log (ms timestamps): the time the last node of a side logged the last far
# member dead. ayactl then checks the same states (slower: python3 and 5 ayactl a round).
# answer_race T0 SECS WANT_A WANT_B: TA, TB = ms from T0 until side A answers WANT_A and
# side B answers WANT_B (empty if not within SECS).
answer_race() {
	local t0=$1 lim=$(($2 * 1000)) now
	TA="" TB=""
	while :; do
		[ -z "$TA" ] && answers_are "$3" "${SIDE_A[@]}" && TA=$(($(now_ms) - t0))
		[ -z "$TB" ] && answers_are "$4" "${SIDE_B[@]}" && TB=$(($(now_ms) - t0))
		[ -n "$TA" ] && [ -n "$TB" ] && return 0
		now=$(now_ms)
		[ $((now - t0)) -ge "$lim" ] && return 1
		sleep 0.05
	done
}
# measured LABEL MS SECS: ok with the time when MS is set, else not ok.
measured() {
	if [ -n "$2" ]; then
		ok "$1 within $3 s (took $2 ms)"
		echo "# measured: $1: $2 ms"
	else
		not_ok "$1 within $3 s"
	fi
}
# from_logs LABEL T0 SECS STATE NODES NAMES: NODES see NAMES in STATE (ayactl, within SECS
# from T0); the time is when the last of NODES logged the last of NAMES in STATE.
from_logs() {
	local label=$1 t0=$2 secs=$3 ms
	shift 3
	FL_MS=
	if view poll "$t0" "$secs" see "$2" "$1" "$3" >/dev/null && ms=$(view logtime "$t0" "$@"); then
		FL_MS=$ms
		ok "$label within $secs s (logged after $ms ms)"
		echo "# measured: $label: $ms ms"
	else
		not_ok "$label within $secs s"
		dump
	fi
}
# bg_view NAME T0 SECS PRED ARGS...: view poll in the background from now on (so that it is
# timed from T0 while the other checks run), its ms in $T/NAME.ms, its PID file kept.
bg_view() {
	local name=$1
	shift
	python3 "$T/view.py" "$AYACTL" "$T" poll "$@" >"$T/$name.ms" &
	echo $! >"$T/$name.pid"
	PIDS+=("$T/$name.pid")
}
# bg_result NAME LABEL SECS: the check of a bg_view, its time in the ok line.
bg_result() {
	local name=$1 label=$2 secs=$3 pid
	pid=$(cat "$T/$name.pid")
	if wait "$pid" && [ -s "$T/$name.ms" ]; then
		ok "$label within $secs s (took $(cat "$T/$name.ms") ms)"
		echo "# measured: $label: $(cat "$T/$name.ms") ms"
	else
		not_ok "$label within $secs s"
		dump
	fi
	rm -f "$T/$name.pid"
}

t_cut=$(now_ms) # taken before the command, so the times include its run time
ip -n "$SW" link set ja down
# Observers picked again on each side: the fresh observers of both backends are that side's
# nodes only (the far side's records are stale after max(3 x 500ms x 2, 5 s) = 5 s).
bg_view obs_a "$t_cut" 30 observers 0,1,2 "$BK_A,$BK_B" "$NAMES_A"
bg_view obs_b "$t_cut" 30 observers 3,4 "$BK_A,$BK_B" "$NAMES_B"
answer_race "$t_cut" 30 "$BK_A" "$BK_B"
measured "side A answers only its own backend $BK_A" "$TA" 30
measured "side B answers only its own backend $BK_B" "$TB" 30
from_logs "side A (nodes 0-2) declares node-3 and node-4 dead" "$t_cut" 30 dead 0,1,2 "$NAMES_B"
DEAD_A=${FL_MS:-30000}
from_logs "side B (nodes 3-4) declares node-0..2 dead" "$t_cut" 30 dead 3,4 "$NAMES_A"
DEAD_B=${FL_MS:-30000}
bg_result obs_a "side A's fresh observers of both backends are nodes 0-2" 30
bg_result obs_b "side B's fresh observers of both backends are nodes 3-4" 30
check "the cut holds: node 0 does not reach node 4, nor node 4 backend A" cut_holds
check "side A still sees its own members alive" view see "$(csv "${SIDE_A[@]}")" alive "$NAMES_A"
check "side B still sees its own members alive" view see "$(csv "${SIDE_B[@]}")" alive "$NAMES_B"
check "status on node 0 counts 3 live, on node 3 counts 2 live" \
	test "$(view live 0) $(view live 3)" = "3 2"
echo "# node 0, far backend: $(view state 0 "$BK_B")"
echo "# node 3, far backend: $(view state 3 "$BK_A")"
check "side A shows $BK_B down" bash -c "python3 '$T/view.py' '$AYACTL' '$T' state 0 $BK_B | grep -q '^down healthy=False'"
check "side B shows $BK_A down" bash -c "python3 '$T/view.py' '$AYACTL' '$T' state 3 $BK_A | grep -q '^down healthy=False'"
# The split answers hold (no flapping) for 3 s.
steady() {
	for _ in 1 2 3 4 5 6; do
		answers_are "$BK_A" "${SIDE_A[@]}" && answers_are "$BK_B" "${SIDE_B[@]}" || return 1
		sleep 0.5
	done
}
check "the split answers hold for 3 s" steady
check "no node crashed during the split" ps_alive
# Hold the split until every dead mark is over 30 s old: gossip still goes to a member
# dead for less than that (gossip_to_dead_ms, memberlist's GossipToTheDeadTime), which would
# heal the split by itself; past it, only push/pull's try of a dead member every
# pushpull_interval (2 s here) reconnects the sides, the path docs/dev/gossip.md describes.
last=$((DEAD_A > DEAD_B ? DEAD_A : DEAD_B))
wait_ms=$((t_cut + last + 30500 - $(now_ms)))
[ "$wait_ms" -gt 0 ] && sleep "$((wait_ms / 1000)).$(printf '%03d' $((wait_ms % 1000)))"
echo "# split lasted $(($(now_ms) - t_cut)) ms"

# --- the heal ---------------------------------------------------------------
t_heal=$(now_ms)
ip -n "$SW" link set ja up
bg_view back_a "$t_heal" 30 observers 0,1,2,3,4 "$BK_A" "$OBS_A"
bg_view back_b "$t_heal" 30 observers 0,1,2,3,4 "$BK_B" "$OBS_B"
answer_race "$t_heal" 30 "$BOTH" "$BOTH"
measured "after the heal side A answers both backends" "$TA" 30
measured "after the heal side B answers both backends" "$TB" 30
same_for_one_client() { # node 0's namespace asks all five nodes: one answer
	local i got
	for i in $(seq 0 $((N - 1))); do
		got=$(nsx 0 dig @"$(addr "$i")" +norec +time=1 +tries=1 +short A "$APP" 2>/dev/null | sort | tr '\n' ' ')
		[ "$got" = "$BK_A $BK_B " ] || return 1
	done
}
check "one client (node 0's namespace) gets the same answer from all five nodes" same_for_one_client
from_logs "after the heal side A sees node-3 and node-4 alive" "$t_heal" 30 alive 0,1,2 "$NAMES_B"
from_logs "after the heal side B sees node-0..2 alive" "$t_heal" 30 alive 3,4 "$NAMES_A"
check "every node sees all 5 alive" all_alive
bg_result back_a "after the heal the fresh observers of $BK_A are the pre-split ones on every node" 30
bg_result back_b "after the heal the fresh observers of $BK_B are the pre-split ones on every node" 30
check "no node crashed" ps_alive

for i in $(seq 0 $((N - 1))); do stop_ayad "$T/n$i"; done
finish
