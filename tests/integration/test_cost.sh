#!/usr/bin/env bash
# Runtime region cost end to end (ayactl cost). Two regions 460 km apart
# (within the default cost_tolerance_km of 1000): "dear" (cost 5) listed
# first, "cheap" (cost 1) second; the geo step puts the cheaper first, so
# www answers cheap's address. Checks: ayactl cost lists both; an unknown
# region, a non-number and an out-of-range value are refused; `cost cheap
# 10` flips the answers to dear at once, services marks the override, a
# restart of ayad keeps it (persisted), `cost cheap reset` flips back and
# also survives a restart; in a three-node gossip cluster a cost set on
# node 1 changes the answers of node 3. Every wait is bounded; processes
# are stopped by PID file.
. "$(dirname "$0")/cluster.sh"

CHEAP=192.0.2.1
DEAR=192.0.2.2

# cost_config DIR NAME DNS_ADDR DNS_PORT [GOSSIP_YAML]
cost_config() {
	local dir=$1 name=$2 addr=$3 port=$4 gossip=${5:-}
	mkdir -p "$dir/zones"
	cp "$ZONE_SRC" "$dir/zones/$ZONE.zone"
	cat >"$dir/aya.yaml" <<EOF
node:
  name: $name
  region: cheap
dns:
  listen: ["$addr:$port"]
  threads: 1
$gossip
regions:
  - { name: dear, location: [51.51, -0.13], cost: 5 }
  - { name: cheap, location: [53.35, -6.26], cost: 1 }
zones:
  - name: $ZONE
    file: zones/$ZONE.zone
    services:
      - name: www
        ttl: 5
        pools:
          - region: dear
            endpoints: [ { address: $DEAR } ]
          - region: cheap
            endpoints: [ { address: $CHEAP } ]
        policy: [healthy, drain, geo, { first_n: 1 }]
control:
  socket: $dir/ayad.sock
state_dir: $dir/state
EOF
}

# ---- one node: set, refuse, restart, reset ----

PORT=$(free_port)
D=$T/n0
cost_config "$D" node-0 127.0.0.1 "$PORT"
check "ayad starts" start_ayad "$D"
c0() { "$AYACTL" -s "$D/ayad.sock" "$@"; }
a0() { q +short A "$WWW"; }
is0() { [ "$(a0)" = "$1" ]; }

check "the cheaper region answers first ($CHEAP)" is0 "$CHEAP"
out=$(c0 cost)
echo "$out" | sed 's/^/# /'
check "cost lists both regions with their config cost" bash -c \
	"grep -Eq '^dear +5 +5 +-$' <<<\"$out\" && grep -Eq '^cheap +1 +1 +-$' <<<\"$out\""

err=$(c0 cost mars 3 2>&1)
rc=$?
check "an unknown region is refused (exit 1)" test "$rc" -eq 1
check "the refusal lists the regions" grep -q "unknown region 'mars' (regions: dear, cheap)" <<<"$err"
err=$(c0 cost cheap lots 2>&1)
rc=$?
check "a value that is not a number is refused (exit 2)" test "$rc" -eq 2
check "the refusal says so" grep -q "'lots' is not a number" <<<"$err"
for v in -1 1000001 1e9; do
	err=$(c0 -- cost cheap "$v" 2>&1)
	rc=$?
	check "cost $v is refused as out of range (exit 1)" test "$rc" -eq 1
	check "cost $v: the refusal gives the range" grep -q "out of range 0..1000000" <<<"$err"
done
check "nothing was stored by the refusals" bash -c "! \"$AYACTL\" -s \"$D/ayad.sock\" cost | grep -q set"

check "cost cheap 10" c0 cost cheap 10
check "answers flip to dear at once" wait_for 2 is0 "$DEAR"
check "cost cheap 10 again changes nothing" bash -c \
	"\"$AYACTL\" -s \"$D/ayad.sock\" cost cheap 10 | grep -q 'nothing changed'"
check "services shows the effective cost and the mark" bash -c \
	"\"$AYACTL\" -s \"$D/ayad.sock\" services | grep -q 'pool cheap  cost 10 (set, config 1)'"
json=$(c0 --json cost)
check "cost --json: effective 10, config 1, set by node-0" python3 -c '
import json, sys
d = json.loads(sys.argv[1])
r = {x["region"]: x for x in d["regions"]}
c = r["cheap"]
sys.exit(0 if d["ok"] and c["cost"] == 10 and c["config_cost"] == 1 and c["overridden"]
         and c["origin"] == "node-0" and c["age_s"] >= 0 and not r["dear"]["overridden"] else 1)' "$json"

stop_ayad "$D"
check "ayad restarts" start_ayad "$D"
check "the cost survives the restart: answers stay on dear" is0 "$DEAR"
check "cost cheap reset" c0 cost cheap reset
check "answers flip back to cheap" wait_for 2 is0 "$CHEAP"
stop_ayad "$D"
check "ayad restarts again" start_ayad "$D"
check "the reset survives the restart too" is0 "$CHEAP"
stop_ayad "$D"

# ---- three nodes: a cost set on node 1 changes node 3's answers ----

# cost_config, not node_config: the same file as the one node's above, plus gossip.
cluster_init 3
for i in 1 2 3; do
	cost_config "$T/n$i" "node-$i" "127.0.0.$i" "${DNSPORT[$i]}" "gossip:
  bind: 127.0.0.$i:${GPORT[$i]}
  seeds: [$(seeds_except "$i" 3)]
  keyring: $KEYS"
	check "node $i starts" node_start "$i"
done
check "the three nodes see each other within 10 s" wait_for 10 everyone_alive 3
check "every node answers cheap" answers_are "$CHEAP" 1 2 3
check "cost cheap 10 on node 1" ctl 1 cost cheap 10
check "node 3 (and 2) answer dear within 3 s" wait_for 3 answers_are "$DEAR" 1 2 3
check "node 3 lists the override from node-1" bash -c \
	"\"$AYACTL\" -s \"$T/n3/ayad.sock\" cost | grep -Eq '^cheap +1 +10 +set .* by node-1$'"
check "cost cheap reset on node 2" ctl 2 cost cheap reset
check "every node answers cheap again within 3 s" wait_for 3 answers_are "$CHEAP" 1 2 3
for i in 1 2 3; do stop_ayad "$T/n$i"; done
finish
