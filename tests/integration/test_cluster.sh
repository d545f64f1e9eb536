#!/usr/bin/env bash
# Gossip end to end: three ayad processes on 127.0.0.1/.2/.3, one
# region each, sealed with a shared keyring file. Checks: every node lists
# the three members; a drain on node 1 changes the DNS answers of nodes 2
# and 3; a killed backend in eu-west, probed by the observers the nodes
# pick, leaves every node's answers within 2 s (the time is in the ok line)
# and comes back; ayactl keyring install/use/remove, each run once on one
# node, rotates the key of all three and keeps the cluster talking;
# kill -9 of node 3 is seen as dead by nodes 1 and 2; node 3 restarted
# rejoins. Every wait is bounded; processes are stopped by PID file.
. "$(dirname "$0")/cluster.sh"

cluster_init 3
REGIONS=(eu-west us-east ap-south)
# Health-checked backends of the "app" service, eu-west only.
BACKEND=$ROOT/tests/integration/health_backend.py
HPORT=$(free_port)
APP=app.$ZONE

# Every node: one region each, the three regions, www (a drain moves it from
# eu-west to us-east) and app (two health-checked backends in eu-west).
REGIONS_YAML="$WWW_REGIONS_YAML
  - { name: ap-south, location: [19.08, 72.88] }"
SERVICES_YAML="$WWW_SERVICES_YAML
      - name: app
        ttl: 1
        pools:
          - region: eu-west
            monitor: web
            endpoints: [ { address: 127.0.0.41 }, { address: 127.0.0.42 } ]
        policy: [healthy, drain, { first_n: 2 }]"
MONITORS_YAML="monitors:
  - { name: web, type: http, port: $HPORT, path: /health, expect: [200], interval: 500ms,
      timeout: 300ms, rise: 2, fall: 2 }"

# start_backend N: health_backend.py on 127.0.0.N:HPORT, stopped by PID file.
start_backend() {
	python3 "$BACKEND" "127.0.0.$1:$HPORT" 2>>"$T/backend-$1.log" &
	echo $! >"$T/backend-$1.pid"
	PIDS+=("$T/backend-$1.pid")
}
start_backend 41
start_backend 42

for i in 1 2 3; do
	node_config "$i" region="${REGIONS[$((i - 1))]}" regions="$REGIONS_YAML" \
		services="$SERVICES_YAML" extra="$MONITORS_YAML"
	check "node $i starts" node_start "$i"
done

check "all three list each other as alive within 10 s" wait_for 10 everyone_alive 3
ctl 1 members | sed 's/^/# /'
VERSION=$("$AYAD" --version | awk '{print $2; exit}')
versions_of() { ctl "$1" --json members | python3 -c '
import json, sys
print(" ".join(m["name"] + "=" + m["version"] for m in json.load(sys.stdin)["members"]))'; }
check "members: every node's version ($VERSION), learnt by gossip" \
	test "$(versions_of 2)" = "node-1=$VERSION node-2=$VERSION node-3=$VERSION"
check "members text: a VERSION column" bash -c "\"$AYACTL\" -s \"$T/n3/ayad.sock\" members | grep -qE '^node-1 .* $VERSION +[0-9a-f]{16}'"
# The nodes' files differ only in their own sections (node, dns, gossip): no drift.
hash_of() { ctl "$1" --json members | python3 -c '
import json, sys
d = json.load(sys.stdin)
print(d["config_hash"] if sys.argv[1] == "self" else
      next(m["config_hash"] + (" drift" if m["drift"] else "") for m in d["members"] if m["name"] == sys.argv[1]))' "$2"; }
check "node 1 sees node 2's config hash, same as its own, no drift" \
	test "$(hash_of 1 node-2)" = "$(hash_of 1 self)"
check "node 2 reports the same config hash itself" test "$(hash_of 2 self)" = "$(hash_of 1 self)"
check "status shows a 3-member cluster" bash -c "\"$AYACTL\" -s \"$T/n2/ayad.sock\" --json status |
	python3 -c 'import json,sys; c=json.load(sys.stdin)[\"cluster\"]; sys.exit(0 if c[\"live\"]==3 and c[\"joined\"] and not c[\"insecure\"] else 1)'"

check "every node answers eu-west first" answers_are 192.0.2.10 1 2 3
check "drain on node 1" ctl 1 drain www eu-west
check "nodes 2 and 3 follow the drain within 3 s" wait_for 3 answers_are 198.51.100.10 1 2 3
check "undrain on node 2" ctl 2 undrain www eu-west
check "every node follows the undrain within 3 s" wait_for 3 answers_are 192.0.2.10 1 2 3

# Backend kill: every node's answers for app must drop 127.0.0.41.
app_answer() { dig @127.0.0.$1 -p "${DNSPORT[$1]}" +norec +time=1 +tries=1 +short A "$APP" | sort | tr '\n' ' '; }
app_is() { # app_is WANT NODES...: WANT is the sorted answer, space-terminated
	local want=$1 i
	shift
	for i in "$@"; do [ "$(app_answer "$i")" = "$want" ] || return 1; done
}
# backends_up NODES...: each node shows both app backends up.
backends_up() {
	local i
	for i in "$@"; do
		[ "$(ctl "$i" backends app 2>/dev/null | grep -c '/web  *up ')" = 2 ] || return 1
	done
}
# elapsed_ms MAX_MS CMD...: poll CMD every 20 ms; prints the ms it took, fails after MAX_MS.
elapsed_ms() {
	local max=$1 t0 now
	shift
	t0=$(date +%s%3N)
	while :; do
		now=$(date +%s%3N)
		"$@" && { echo $((now - t0)); return 0; }
		[ $((now - t0)) -ge "$max" ] && return 1
		sleep 0.02
	done
}
check "every node sees both app backends up within 10 s" wait_for 10 backends_up 1 2 3
check "every node answers both app backends" app_is "127.0.0.41 127.0.0.42 " 1 2 3
ctl 1 backends app | sed 's/^/# /'
pid=$(cat "$T/backend-41.pid")
kill -KILL "$pid"
wait "$pid" 2>/dev/null
rm -f "$T/backend-41.pid"
if ms=$(elapsed_ms 2000 app_is "127.0.0.42 " 1 2 3); then
	ok "killed backend 127.0.0.41 leaves every node's answers within 2 s (took $ms ms)"
else
	not_ok "killed backend 127.0.0.41 leaves every node's answers within 2 s"
	for i in 1 2 3; do echo "# node $i: $(app_answer "$i")"; ctl "$i" backends app | sed 's/^/#   /'; done
fi
# The answers can change first: two of three observers down are a majority,
# while the third node's own probe still needs its second failure (fall 2).
check "every node shows 127.0.0.41 down within 2 s" wait_for 2 bash -c "for i in 1 2 3; do
	\"$AYACTL\" -s \"$T/n\$i/ayad.sock\" backends app | grep -q '127.0.0.41:$HPORT/web  *down ' || exit 1; done"
start_backend 41
if ms=$(elapsed_ms 5000 app_is "127.0.0.41 127.0.0.42 " 1 2 3); then
	ok "restarted backend 127.0.0.41 is back in every node's answers within 5 s (took $ms ms)"
else
	not_ok "restarted backend 127.0.0.41 is back in every node's answers within 5 s"
fi

# Key rotation without downtime, from one node: install a second key everywhere, switch, remove
# the old one (tests/integration/test_keyring.sh checks the refusals and failures).
NEWKEY=$(openssl rand -base64 32)
OLDID=$(ctl 1 --json keyring list | python3 -c 'import json,sys; print(json.load(sys.stdin)["keys"][0]["id"])')
check "keyring install from node 1 reaches all three" bash -c \
	"\"$AYACTL\" -s \"$T/n1/ayad.sock\" keyring install \"$NEWKEY\" | grep -q 'installed on 3/3 members'"
NEWID=$(ctl 1 --json keyring list | python3 -c 'import json,sys; print([k["id"] for k in json.load(sys.stdin)["keys"] if not k["primary"]][0])')
check "keyring use from node 2 reaches all three" ctl 2 keyring use "$NEWID"
check "the primary key cannot be removed" bash -c "! \"$AYACTL\" -s \"$T/n1/ayad.sock\" keyring remove $NEWID 2>/dev/null"
check "keyring remove of the old key from node 3 within 10 s" wait_for 10 ctl 3 keyring remove "$OLDID"
check "keyring lists one key, the primary of all three" bash -c "\"$AYACTL\" -s \"$T/n3/ayad.sock\" --json keyring list |
	python3 -c 'import json,sys; k=json.load(sys.stdin)[\"keys\"]; sys.exit(0 if len(k)==1 and k[0][\"id\"]==\"$NEWID\" and k[0][\"primaries\"]==3 else 1)'"
check "a drain still travels after the rotation" ctl 3 drain www eu-west
check "... and reaches every node within 3 s" wait_for 3 answers_are 198.51.100.10 1 2 3
ctl 3 undrain www eu-west >/dev/null

# kill -9 node 3: nodes 1 and 2 must mark it dead.
kill -KILL "$(cat "$T/n3/ayad.pid")"
wait "$(cat "$T/n3/ayad.pid")" 2>/dev/null
rm -f "$T/n3/ayad.pid"
check "nodes 1 and 2 mark node-3 dead within 15 s" wait_for 15 all_see dead node-3 1 2
check "cluster status counts 2 live" bash -c "\"$AYACTL\" -s \"$T/n1/ayad.sock\" --json status |
	python3 -c 'import json,sys; sys.exit(0 if json.load(sys.stdin)[\"cluster\"][\"live\"]==2 else 1)'"

# Restart it: it rejoins (the keyring file still has only the old key: install the new one first).
echo "$NEWKEY" >"$KEYS"
rm -f "$T/n3/ayad.sock"
# Node 3 comes back with a zone file that differs from the others': drift.
echo "drift-marker 300 IN TXT \"node 3 only\"" >>"$T/n3/zones/$ZONE.zone"
check "node 3 restarts" node_start 3
check "node 3 rejoins: every node sees all alive within 10 s" wait_for 10 everyone_alive 3
check "node 1 marks node 3's changed zone file as drift" \
	wait_for 5 bash -c "\"$AYACTL\" -s \"$T/n1/ayad.sock\" --json members | python3 -c 'import json,sys; sys.exit(0 if [m for m in json.load(sys.stdin)[\"members\"] if m[\"name\"]==\"node-3\" and m[\"drift\"]] else 1)'"

for i in 1 2 3; do stop_ayad "$T/n$i"; done
finish
