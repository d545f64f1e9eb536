#!/usr/bin/env bash
# Gossip benchmark (issue 5): ayad against serf (Debian's `serf`, lan profile)
# with N nodes on 127.0.0.x, each cluster in its own network namespace
# (unshare -n) so that the kernel's IpExt OutOctets counter of that
# namespace is exactly the cluster's own traffic (no tcpdump needed, and
# nothing else on the machine is counted).
#
#   scripts/bench-gossip.sh [N ...]      default: 10 30   (60 works too)
#   env: B=build/rel  IDLE_S=10  SYSTEMS="ayad serf"
#        GOSSIP_EXTRA="probe_interval: 500ms; suspicion_mult: 3"  (ayad gossip: keys)
#
# Per N and system:
#   join    time until node 1 sees all N alive
#   idle    bytes/s per node sent while idle (OutOctets delta / N / IDLE_S)
#   change  ayad: `ayactl drain` on node 1 until every node's DNS answer changed;
#           serf: `serf tags -set` on node 1 until every node's `serf members` shows it
#   fail    kill -9 of node N until every other node lists it as dead/failed
# Nodes are polled concurrently (16 at a time); the resolution is one
# polling round (printed). Every wait is bounded; processes are stopped by
# PID. Needs root for unshare -n (as in the CI container).
set -eu
ROOT=$(cd "$(dirname "$0")/.." && pwd)
B=${B:-build/rel}
case "$B" in /*) BDIR=$B ;; *) BDIR=$ROOT/$B ;; esac
NS=${*:-10 30}
export AYAD=$BDIR/ayad AYACTL=$BDIR/ayactl ROOT IDLE_S=${IDLE_S:-10}
[ -x "$AYAD" ] && [ -x "$AYACTL" ] || { echo "bench-gossip: build $AYAD and $AYACTL first" >&2; exit 1; }
command -v serf >/dev/null || echo "bench-gossip: serf not installed, ayad only" >&2
T=$(mktemp -d /tmp/aya-bench-gossip.XXXXXX)
trap 'rm -rf "$T"' EXIT
RESULTS=$T/results.txt
for n in $NS; do
	for sys in ${SYSTEMS:-ayad serf}; do
		[ "$sys" = serf ] && ! command -v serf >/dev/null && continue
		# A fresh namespace per run: the counters start at zero, nothing leaks between runs.
		timeout 600 unshare -n sh -c 'ip link set lo up && exec python3 "$0" "$@"' \
			"$ROOT/scripts/bench_gossip.py" "$sys" "$n" "$T/$sys-$n" >>"$RESULTS" ||
			echo "$sys $n FAILED" >>"$RESULTS"
	done
done
printf '%-5s %4s %9s %9s %10s %9s %9s\n' system N join_s idle_B/s change_s fail_s poll_s
sort -k2,2n -k1,1 "$RESULTS" | while read -r line; do printf '%s\n' "$line"; done |
	awk '{ if (NF == 7) printf "%-5s %4s %9s %9s %10s %9s %9s\n", $1, $2, $3, $4, $5, $6, $7; else print }'
