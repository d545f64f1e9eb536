# shellcheck shell=bash
# Cluster scaffolding for the gossip integration tests (sourced, bash).
#
# Sources lib.sh, so a cluster test needs only this line. Kept apart from
# lib.sh because only the multi-node tests use it: the single-node tests keep
# the short lib.sh, and a cluster test's node layout (node I = node-I on
# 127.0.0.I, $T/nI, DNSPORT[I], GPORT[I], one keyring file $KEYS) is stated
# in one place. `node_start I` and `ctl I ...` are in lib.sh.
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

WWW=www.$ZONE

# cluster_init N: NODES=N, a keyring file $KEYS holding one fresh key, and a
# free DNS port DNSPORT[I] and gossip port GPORT[I] for nodes 1..N.
cluster_init() {
	local i
	NODES=$1
	KEYS=$T/keys.txt
	openssl rand -base64 32 >"$KEYS"
	declare -ga DNSPORT GPORT
	for i in $(seq 1 "$1"); do
		DNSPORT[i]=$(free_port)
		GPORT[i]=$(free_port)
	done
}

# seed_of J: node J's gossip address, quoted for a YAML list.
seed_of() { echo "\"127.0.0.$1:${GPORT[$1]}\""; }

# seeds_except I N: every node of 1..N but I, as a YAML list's items.
seeds_except() {
	local i=$1 n=$2 seeds="" j
	for j in $(seq 1 "$n"); do
		[ "$j" = "$i" ] || seeds="$seeds${seeds:+, }$(seed_of "$j")"
	done
	echo "$seeds"
}

# node_config I [KEY=VALUE...]: $T/nI/aya.yaml for node I: DNS on
# 127.0.0.I:DNSPORT[I], gossip on 127.0.0.I sealed with $KEYS, zone $ZONE
# (the zone file is copied once, so a test's edits to it survive a rewrite).
# KEYs, each optional (default):
#   name     the node's name (node-I)
#   region   the node's region (eu-west)
#   threads  dns.threads (1)
#   gport    the gossip port (GPORT[I])
#   seeds    gossip.seeds' items ("" = none; default: the other nodes of 1..NODES)
#   gossip   more lines of the gossip: section, indented by two
#   regions  a top-level regions: block ("" = none)
#   services the zone's services: block, indented by four
#   extra    more top-level YAML (monitors:, ...)
node_config() {
	local i=$1 dir=$T/n$1 kv
	local name=node-$1 region=eu-west threads=1 gport=${GPORT[$1]} seeds gossip="" regions=""
	local services="" extra=""
	seeds=$(seeds_except "$i" "$NODES")
	shift
	for kv in "$@"; do
		case $kv in
		name=*) name=${kv#*=} ;;
		region=*) region=${kv#*=} ;;
		threads=*) threads=${kv#*=} ;;
		gport=*) gport=${kv#*=} ;;
		seeds=*) seeds=${kv#*=} ;;
		gossip=*) gossip=${kv#*=} ;;
		regions=*) regions=${kv#*=} ;;
		services=*) services=${kv#*=} ;;
		extra=*) extra=${kv#*=} ;;
		*)
			echo "node_config: unknown KEY=VALUE '$kv'" >&2
			return 1
			;;
		esac
	done
	mkdir -p "$dir/zones"
	[ -e "$dir/zones/$ZONE.zone" ] || cp "$ZONE_SRC" "$dir/zones/$ZONE.zone"
	cat >"$dir/aya.yaml" <<EOF
# node $i
node:
  name: $name
  region: $region
dns:
  listen: ["127.0.0.$i:${DNSPORT[$i]}"]
  threads: $threads
gossip:
  bind: 127.0.0.$i:$gport
  seeds: [$seeds]
  keyring: $KEYS
$gossip
$regions
zones:
  - name: $ZONE
    file: zones/$ZONE.zone
$services
$extra
control:
  socket: $dir/ayad.sock
state_dir: $dir/state
EOF
}

# member I NAME FIELD: FIELD of member NAME as node I sees it (`ayactl --json
# members`); "" when NAME or FIELD is unknown; booleans as true/false.
member() {
	ctl "$1" --json members 2>/dev/null | python3 -c '
import json, sys
d = json.load(sys.stdin)
m = next((m for m in d.get("members", []) if m["name"] == sys.argv[1]), {})
v = m.get(sys.argv[2], "")
print(str(v).lower() if isinstance(v, bool) else v)' "$2" "$3"
}

# member_state I NAME: NAME's state as node I sees it ("" when unknown).
member_state() { member "$1" "$2" state; }

# sees I STATE NAME: node I lists NAME in STATE.
sees() { [ "$(member_state "$1" "$3")" = "$2" ]; }

# all_see STATE NAME NODES...: every node of NODES lists NAME in STATE.
all_see() {
	local st=$1 name=$2 i
	shift 2
	for i in "$@"; do sees "$i" "$st" "$name" || return 1; done
}

# everyone_alive N: each of nodes 1..N lists node-1 .. node-N alive (one
# ayactl call a node).
everyone_alive() {
	local n=$1 i
	for i in $(seq 1 "$n"); do
		ctl "$i" --json members 2>/dev/null | python3 -c '
import json, sys
want = {"node-%d" % j for j in range(1, int(sys.argv[1]) + 1)}
alive = {m["name"] for m in json.load(sys.stdin).get("members", []) if m["state"] == "alive"}
sys.exit(0 if want <= alive else 1)' "$n" || return 1
	done
}

# cluster_field I FIELD: FIELD of the cluster part of node I's `ayactl --json status`.
cluster_field() {
	ctl "$1" --json status 2>/dev/null | python3 -c '
import json, sys
print(json.load(sys.stdin)["cluster"][sys.argv[1]])' "$2"
}

# answer I [NAME]: node I's A records for NAME (default $WWW), +short.
answer() { dig @"127.0.0.$1" -p "${DNSPORT[$1]}" +norec +time=1 +tries=1 +short A "${2:-$WWW}"; }

# answer_is I WANT: node I's answer for $WWW is WANT.
answer_is() { [ "$(answer "$1")" = "$2" ]; }

# answers_are WANT NODES...: every node of NODES answers WANT for $WWW.
answers_are() {
	local want=$1 i
	shift
	for i in "$@"; do answer_is "$i" "$want" || return 1; done
}
