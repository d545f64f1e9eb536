#!/usr/bin/env bash
# Reload applies gossip.seeds and gossip.bind (issue 12, finding 3): two
# nodes, node-1 without node-0 in its seeds and node-0 without seeds, so
# they never meet. A reload of node-1 with node-0 added as a seed joins it
# (both see the other alive within seconds). A reload of node-1 with a new
# gossip port rebinds: node-0 keeps seeing it alive, at the new address, and
# node-1's status and members show it; the old port is closed. A bind that
# cannot work (a port in use) keeps the old sockets and says so.
. "$(dirname "$0")/cluster.sh"

cluster_init 2
NEWPORT=$(free_port)

# reload_config I SEEDS GPORT: T/nI/aya.yaml for node-(I-1) on 127.0.0.I, gossip
# on GPORT, fast probes. The names start at node-0 (the test's own numbering).
reload_config() {
	node_config "$1" name="node-$(($1 - 1))" seeds="$2" gport="$3" gossip="  probe_interval: 200ms
  probe_timeout: 100ms"
}

sees_alive() { sees "$1" alive "$2"; }
both_alive() { sees_alive 1 node-1 && sees_alive 2 node-0 && sees_alive 1 node-0 && sees_alive 2 node-1; }
at_addr() { [ "$(member "$1" "$2" address)" = "$3" ]; }

reload_config 1 "" "${GPORT[1]}"
reload_config 2 "" "${GPORT[2]}"
check "node-0 starts" node_start 1
check "node-1 starts" node_start 2
sleep 1
check "before: node-0 does not know node-1 (no seed between them)" test -z "$(member 1 node-1 state)"

reload_config 2 "$(seed_of 1)" "${GPORT[2]}"
out=$(ctl 2 reload 2>&1)
check "reload with node-0 as a seed: exit 0" test $? -eq 0
check "reload: the diagnostics say the seeds were applied" grep -q "gossip.seeds applied" <<<"$out"
check "reload: no 'restart ayad' for the seeds" bash -c "! grep -q 'seeds changed; restart' <<<\"\$1\"" _ "$out"
check "the new seed is joined: both alive on both within 5 s" wait_for 5 both_alive

reload_config 2 "$(seed_of 1)" "$NEWPORT"
out=$(ctl 2 reload 2>&1)
check "reload with a new gossip port: exit 0" test $? -eq 0
check "reload: the diagnostics say the bind was applied" \
	grep -q "gossip.bind applied: now on 127.0.0.2:$NEWPORT (was 127.0.0.2:${GPORT[2]})" <<<"$out"
check "node-0 sees node-1 at the new address within 5 s" wait_for 5 at_addr 1 node-1 "127.0.0.2:$NEWPORT"
check "node-1's own members row shows the new address" at_addr 2 node-1 "127.0.0.2:$NEWPORT"
check "node-1's status shows the new bind" bash -c "\"$AYACTL\" -s \"$T/n2/ayad.sock\" --json status |
	python3 -c 'import json,sys; sys.exit(0 if json.load(sys.stdin)[\"cluster\"][\"bind\"]==\"127.0.0.2:$NEWPORT\" else 1)'"
sleep 2
check "2 s later node-0 still sees node-1 alive (probes reach the new port)" sees_alive 1 node-1
check "... and node-1 sees node-0 alive" sees_alive 2 node-0
check "the old gossip port is closed (TCP and UDP)" python3 -c "
import socket, sys
s = socket.socket(); s.settimeout(1)
u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
u.bind(('127.0.0.2', ${GPORT[2]}))
sys.exit(0 if s.connect_ex(('127.0.0.2', ${GPORT[2]})) != 0 else 1)"

# A port that is taken: the reload keeps the old sockets and says so.
# (free_port checks 127.0.0.1 only: the hog takes any free port of 127.0.0.2 itself.)
python3 -c "
import socket, sys, time
u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); u.bind(('127.0.0.2', 0))
print(u.getsockname()[1]); sys.stdout.flush()
time.sleep(30)" >"$T/hog.port" &
echo $! >"$T/hog.pid"
PIDS+=("$T/hog.pid")
wait_for 5 test -s "$T/hog.port" >/dev/null
HOGPORT=$(cat "$T/hog.port")
reload_config 2 "$(seed_of 1)" "$HOGPORT"
out=$(ctl 2 reload 2>&1)
check "reload with a taken port: the reload itself is accepted" test $? -eq 0
check "reload: the diagnostics say the bind was not applied" \
	grep -q "gossip.bind not applied: cannot bind 127.0.0.2:$HOGPORT: .*; still on 127.0.0.2:$NEWPORT" <<<"$out"
check "the failure is logged" grep -q "reload: gossip.bind: cannot bind 127.0.0.2:$HOGPORT" "$T/n2/ayad.log"
check "node-1 stays on the new port" at_addr 2 node-1 "127.0.0.2:$NEWPORT"
sleep 1
check "node-0 still sees node-1 alive" sees_alive 1 node-1
stop_pidfile "$T/hog.pid"

for i in 1 2; do stop_ayad "$T/n$i"; done
finish
