#!/usr/bin/env bash
# Gossip replays are bound to the receiver and to its run (issue 12, finding
# 5). Three nodes (127.0.0.1-3, keyring) join; the UDP datagrams node 2 sends
# to node 1 are recorded on lo (tests/integration/gossip_replay.py, AF_PACKET:
# needs root). Checks: (a) those datagrams replayed to node 3 are all dropped,
# counted (`ayactl status` rx_dropped) and logged; (b) node 1 is restarted,
# rejoins, and the same datagrams replayed to it are all dropped, counted and
# logged; the cluster still works after both. Before the fix node 3 accepted
# the replays of (a) and the restarted node 1 accepted those of (b). Every
# wait is bounded; processes are stopped by PID file.
. "$(dirname "$0")/cluster.sh"

if ! python3 -c 'import socket; socket.socket(socket.AF_PACKET, socket.SOCK_RAW)' 2>/dev/null; then
	echo "ok - # SKIP recording on lo needs CAP_NET_RAW"
	exit 0
fi

cluster_init 3
REPLAY=$ROOT/tests/integration/gossip_replay.py

# dropped_at_least I BASE N: node I counts at least N more drops than BASE.
dropped_at_least() {
	local v
	v=$(cluster_field "$1" rx_dropped) && [ "${v:-0}" -ge $(($2 + $3)) ]
}

# Node 1 has no seeds, nodes 2 and 3 join through it; all in one region r1.
r1="regions:
  - { name: r1, location: [53.35, -6.26] }"
node_config 1 seeds="" region=r1 regions="$r1"
node_config 2 seeds="$(seed_of 1)" region=r1 regions="$r1"
node_config 3 seeds="$(seed_of 1)" region=r1 regions="$r1"
for i in 1 2 3; do
	check "node $i starts" node_start "$i"
done
check "3 nodes list each other alive within 10 s" wait_for 10 everyone_alive 3

# Record what node 2 sends node 1 (probes, acks, gossip): 8 s or 40 datagrams.
n=$(python3 "$REPLAY" capture "127.0.0.2:${GPORT[2]}" "127.0.0.1:${GPORT[1]}" "$T/cap.hex" 8 40)
echo "# recorded $n datagrams from node 2 to node 1"
check "at least 8 datagrams from node 2 to node 1 recorded" test "${n:-0}" -ge 8

# (a) Replayed to another node: node 3.
base=$(cluster_field 3 rx_dropped)
sent=$(python3 "$REPLAY" replay "$T/cap.hex" "127.0.0.3:${GPORT[3]}" 127.0.0.9)
check "(a) node 3 drops all $sent datagrams meant for node 1 (rx_dropped +$sent within 3 s)" \
	wait_for 3 dropped_at_least 3 "${base:-0}" "${sent:-1}"
echo "# node 3 rx_dropped: ${base:-?} -> $(cluster_field 3 rx_dropped)"
check "(a) node 3 logs the drop" grep -q \
	"gossip: dropped a packet of node-2 from 127.0.0.9:[0-9]*: addressed to another node or to an earlier run of this one" \
	"$T/n3/ayad.log"
grep -m1 "dropped a packet of node-2" "$T/n3/ayad.log" | sed 's/^/# /'

# (b) Replayed to node 1 after its restart.
stop_ayad "$T/n1"
check "node 1 restarts" node_start 1
check "node 1 rejoins: 3 alive on every node within 10 s" wait_for 10 everyone_alive 3
base=$(cluster_field 1 rx_dropped)
sent=$(python3 "$REPLAY" replay "$T/cap.hex" "127.0.0.1:${GPORT[1]}" 127.0.0.9)
check "(b) restarted node 1 drops all $sent replayed datagrams (rx_dropped +$sent within 3 s)" \
	wait_for 3 dropped_at_least 1 "${base:-0}" "${sent:-1}"
echo "# node 1 rx_dropped: ${base:-?} -> $(cluster_field 1 rx_dropped)"
check "(b) node 1 logs the drop" grep -q \
	"gossip: dropped a packet of node-2 from 127.0.0.9:[0-9]*: addressed to another node or to an earlier run of this one" \
	"$T/n1/ayad.log"

# The replays changed nothing: every node still sees every node alive.
sleep 2
check "after the replays, every node still lists 3 alive" everyone_alive 3

for i in 3 2 1; do
	stop_ayad "$T/n$i"
done
finish
