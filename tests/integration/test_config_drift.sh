#!/usr/bin/env bash
# Config drift follows reloads: two gossiping ayad processes on
# 127.0.0.1 and 127.0.0.2 with the same shared config. Node 1 reloads a
# changed service: its advertised config hash (ayactl status --json) changes
# at once, its own member record carries it, node 2 reports drift for node 1,
# and the reload's diagnostics name the changed gossip: key that needs a
# restart. Node 2 then gets the same change and reloads: drift clears on
# both. Every wait is bounded; processes are stopped by PID file.
. "$(dirname "$0")/cluster.sh"

cluster_init 2

# drift_config I ADDR [GOSSIP_EXTRA]: T/nI/aya.yaml, www answering ADDR.
drift_config() {
	node_config "$1" gossip="${3:-}" regions="regions:
  - { name: eu-west, location: [53.35, -6.26] }" services="    services:
      - name: www
        ttl: 5
        pools:
          - region: eu-west
            endpoints: [ { address: $2 } ]"
}

own_hash() { cluster_field "$1" config_hash; }
drift() { cluster_field "$1" drift; }

both_alive() { sees 1 alive node-2 && sees 2 alive node-1; }
no_drift() { [ "$(drift 1)" = 0 ] && [ "$(drift 2)" = 0 ]; }
b_sees_drift() { [ "$(member 2 node-1 drift)" = true ] && [ "$(drift 2)" = 1 ]; }
b_sees_hash() { [ "$(member 2 node-1 config_hash)" = "$1" ]; }

for i in 1 2; do drift_config "$i" 192.0.2.10; done
check "node 1 starts" node_start 1
check "node 2 starts" node_start 2
check "the two nodes see each other alive" wait_for 10 both_alive
check "same shared config, different per-node parts: no drift" wait_for 5 no_drift
H0=$(own_hash 1)
check "both advertise the same hash" test "$H0" = "$(own_hash 2)"

# Node 1: a changed service, and a gossip tunable that needs a restart.
drift_config 1 192.0.2.11 "  gossip_interval: 150ms"
OUT=$(ctl 1 reload 2>&1)
check "node 1 reloads" test $? -eq 0
H1=$(own_hash 1)
check "node 1's hash changes at once" test -n "$H1" -a "$H1" != "$H0"
check "node 1's own member record carries it" test "$(member 1 node-1 config_hash)" = "$H1"
if echo "$OUT" | grep -q "reload: gossip.gossip_interval changed; restart ayad to apply it"; then
	ok "reload names the gossip key that needs a restart"
else
	not_ok "reload names the gossip key that needs a restart"
	echo "$OUT" | sed 's/^/#   /'
fi
check "no other gossip key reported" test "$(echo "$OUT" | grep -c 'reload: gossip\.')" -eq 1
check "node 2 learns node 1's new hash" wait_for 3 b_sees_hash "$H1"
check "node 2 reports drift for node 1" wait_for 3 b_sees_drift
check "node 1 reports node 2 drifting" test "$(member 1 node-2 drift)" = true

# Node 2 gets the same change: drift clears on both.
drift_config 2 192.0.2.11
check "node 2 reloads" ctl 2 reload
check "node 2 advertises node 1's hash" test "$(own_hash 2)" = "$H1"
check "drift clears on both nodes" wait_for 3 no_drift
check "node 1 sees node 2's new hash" test "$(member 1 node-2 config_hash)" = "$H1"

for i in 1 2; do stop_ayad "$T/n$i"; done
finish
