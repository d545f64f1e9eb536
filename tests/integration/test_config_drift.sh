#!/usr/bin/env bash
# Config drift follows reloads: two gossiping ayad processes on
# 127.0.0.1 and 127.0.0.2 with the same shared config. Node 1 reloads a
# changed service: its advertised config hash (ayactl status --json) changes
# at once, its own member record carries it, node 2 reports drift for node 1,
# and the reload's diagnostics name the changed gossip: key that needs a
# restart. Node 2 then gets the same change and reloads: drift clears on
# both. Every wait is bounded; processes are stopped by PID file.
. "$(dirname "$0")/lib.sh"

KEYS=$T/keys.txt
openssl rand -base64 32 >"$KEYS"
declare -a DNSPORT GPORT
for i in 1 2; do
	DNSPORT[$i]=$(free_port)
	GPORT[$i]=$(free_port)
done

# node_config I ADDR [GOSSIP_EXTRA]: T/nI/aya.yaml, www answering ADDR.
node_config() {
	local i=$1 addr=$2 extra=${3:-} dir=$T/n$1 other=$((3 - $1))
	mkdir -p "$dir/zones"
	cp "$ZONE_SRC" "$dir/zones/$ZONE.zone"
	cat >"$dir/aya.yaml" <<EOF
# node $i
node: { name: node-$i, region: eu-west }
dns:
  listen: ["127.0.0.$i:${DNSPORT[$i]}"]
  threads: 1
gossip:
  bind: 127.0.0.$i:${GPORT[$i]}
  seeds: ["127.0.0.$other:${GPORT[$other]}"]
  keyring: $KEYS
$extra
regions:
  - { name: eu-west, location: [53.35, -6.26] }
zones:
  - name: $ZONE
    file: zones/$ZONE.zone
    services:
      - name: www
        ttl: 5
        pools:
          - region: eu-west
            endpoints: [ { address: $addr } ]
control:
  socket: $dir/ayad.sock
state_dir: $dir/state
EOF
}

# cluster_field I FIELD: FIELD of node I's `ayactl --json status` cluster part.
cluster_field() {
	ctl "$1" --json status | python3 -c '
import json, sys
print(json.load(sys.stdin)["cluster"][sys.argv[1]])' "$2"
}
own_hash() { cluster_field "$1" config_hash; }
drift() { cluster_field "$1" drift; }

# member I NAME FIELD: FIELD of member NAME as node I sees it (`ayactl --json members`).
member() {
	ctl "$1" --json members 2>/dev/null | python3 -c '
import json, sys
d = json.load(sys.stdin)
m = next((m for m in d.get("members", []) if m["name"] == sys.argv[1]), {})
v = m.get(sys.argv[2], "")
print(str(v).lower() if isinstance(v, bool) else v)' "$2" "$3"
}

both_alive() {
	[ "$(member 1 node-2 state)" = alive ] && [ "$(member 2 node-1 state)" = alive ]
}
no_drift() { [ "$(drift 1)" = 0 ] && [ "$(drift 2)" = 0 ]; }
b_sees_drift() { [ "$(member 2 node-1 drift)" = true ] && [ "$(drift 2)" = 1 ]; }
b_sees_hash() { [ "$(member 2 node-1 config_hash)" = "$1" ]; }

for i in 1 2; do node_config "$i" 192.0.2.10; done
check "node 1 starts" node_start 1
check "node 2 starts" node_start 2
check "the two nodes see each other alive" wait_for 10 both_alive
check "same shared config, different per-node parts: no drift" wait_for 5 no_drift
H0=$(own_hash 1)
check "both advertise the same hash" test "$H0" = "$(own_hash 2)"

# Node 1: a changed service, and a gossip tunable that needs a restart.
node_config 1 192.0.2.11 "  gossip_interval: 150ms"
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
node_config 2 192.0.2.11
check "node 2 reloads" ctl 2 reload
check "node 2 advertises node 1's hash" test "$(own_hash 2)" = "$H1"
check "drift clears on both nodes" wait_for 3 no_drift
check "node 1 sees node 2's new hash" test "$(member 1 node-2 config_hash)" = "$H1"

for i in 1 2; do stop_ayad "$T/n$i"; done
finish
