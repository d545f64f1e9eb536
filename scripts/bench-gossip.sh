#!/usr/bin/env bash
# Gossip benchmark: ayad against serf (Debian's `serf`, lan profile)
# with N nodes on 127.0.0.x, each cluster in its own network namespace
# (unshare -n) so that the kernel's IpExt OutOctets counter of that
# namespace is exactly the cluster's own traffic (no tcpdump needed, and
# nothing else on the machine is counted).
#
#   scripts/bench-gossip.sh [N ...]      default: 10 30   (60 works too)
#   env: B=build/rel  IDLE_S=  SETTLE_S=40  SYSTEMS="ayad serf"
#        (IDLE_S: the idle and the busy window; default one push/pull interval
#        of both systems, 30 s up to 32 nodes and 60 s up to 64, so each window
#        holds exactly one push/pull per node;
#        SETTLE_S: wait after the join, past the first push/pull wave)
#        BENCH_GOSSIP_R=5         samples of each time (median and worst reported)
#        BENCH_GOSSIP_BUSY_S=120  seconds of the core-0 busy loop (0 = skip)
#        BENCH_GOSSIP_POLL_MS=10  polling period of the DNS answers and logs
#        GOSSIP_EXTRA="probe_interval: 500ms; suspicion_mult: 3"  (ayad gossip: keys)
#
# Per N and system (see scripts/bench_gossip.py for the details):
#   join     time until node 1 sees all N alive
#   idle     bytes/s per node sent while idle
#   busy     bytes/s per node while node 1 changes state every second
#   change   clock started before `ayactl drain` / `serf tags -set` is spawned,
#            until every node's DNS answer changed (ayad) / every node's serf
#            logged the member update (serf); median and worst of R
#   fail     kill -9 of a node until every other node logged it dead/failed;
#            median and worst of R (the node is restarted between samples)
#   false_dead, suspects   marks logged by all nodes while core 0 spins for
#            BENCH_GOSSIP_BUSY_S (every node is up: each mark is false)
# Every wait is bounded; processes are stopped by PID. Needs root for
# unshare -n (as in the CI container).
set -eu
ROOT=$(cd "$(dirname "$0")/.." && pwd)
B=${B:-build/rel}
case "$B" in /*) BDIR=$B ;; *) BDIR=$ROOT/$B ;; esac
NS=${*:-10 30}
export AYAD=$BDIR/ayad AYACTL=$BDIR/ayactl ROOT IDLE_S=${IDLE_S:-} SETTLE_S=${SETTLE_S:-40}
[ -x "$AYAD" ] && [ -x "$AYACTL" ] || { echo "bench-gossip: build $AYAD and $AYACTL first" >&2; exit 1; }
command -v serf >/dev/null || echo "bench-gossip: serf not installed, ayad only" >&2
command -v taskset >/dev/null || { echo "bench-gossip: needs taskset (util-linux)" >&2; exit 1; }
T=$(mktemp -d /tmp/aya-bench-gossip.XXXXXX)
[ -n "${BENCH_GOSSIP_KEEP:-}" ] || trap 'rm -rf "$T"' EXIT
RESULTS=$T/results.txt
: >"$RESULTS"
for n in $NS; do
	for sys in ${SYSTEMS:-ayad serf}; do
		[ "$sys" = serf ] && ! command -v serf >/dev/null && continue
		# A fresh namespace per run: the counters start at zero, nothing leaks between runs.
		timeout 1800 unshare -n sh -c 'ip link set lo up && exec python3 "$0" "$@"' \
			"$ROOT/scripts/bench_gossip.py" "$sys" "$n" "$T/$sys-$n" >>"$RESULTS" ||
			echo "$sys $n FAILED" >>"$RESULTS"
		cat "$T/$sys-$n.json" >&2 2>/dev/null && echo >&2 || true
	done
done
echo "R=${BENCH_GOSSIP_R:-5} samples per time; busy loop ${BENCH_GOSSIP_BUSY_S:-120} s; poll ${BENCH_GOSSIP_POLL_MS:-10} ms"
printf '%-5s %4s %7s %7s %7s %11s %11s %9s %9s %6s %6s\n' system N join_s idle_B/s busy_B/s \
	change_med change_max fail_med fail_max f_dead suspect
sort -k2,2n -k1,1 "$RESULTS" |
	awk '{ if (NF == 11) printf "%-5s %4s %7s %7s %7s %11s %11s %9s %9s %6s %6s\n", $1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11; else print }'
