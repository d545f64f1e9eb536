#!/usr/bin/env bash
# Cluster keyring operations (issue 12, finding 9 and item 6): three ayad
# nodes on 127.0.0.1/.2/.3 sharing a keyring file with K1. From one node:
# install K2 reaches all three; remove K1 while it is every node's primary
# is refused and names them; use K2 makes every node send with K2 (gossip
# stays alive, no packet dropped for a bad key); remove K1 then works;
# remove K2 (the primary) is refused. A node frozen with SIGSTOP is named
# as not answering and the op exits 1; `use` of a key it may lack is
# refused. A restarted node keeps the ring it was given (saved in its
# state_dir) although its keyring file still holds only K1: it rejoins.
. "$(dirname "$0")/cluster.sh"

cluster_init 3
K2=$(openssl rand -base64 32)
K3=$(openssl rand -base64 32)

# key_count NODE ID FIELD: the list's installed/primaries count of key ID, as node NODE sees it.
key_count() {
	ctl "$1" --json keyring list | python3 -c '
import json, sys
d = json.load(sys.stdin)
print(next((k[sys.argv[2]] for k in d["keys"] if k["id"] == sys.argv[1]), 0))' "$2" "$3"
}
dropped() { cluster_field "$1" rx_dropped; }
key_id() { # key_id BASE64: the 8-hex-digit id (first 4 bytes of SHA-256 of the key)
	python3 -c 'import base64,hashlib,sys; print(hashlib.sha256(base64.b64decode(sys.argv[1])).hexdigest()[:8])' "$1"
}
K1ID=$(key_id "$(cat "$KEYS")")
K2ID=$(key_id "$K2")
K3ID=$(key_id "$K3")

for i in 1 2 3; do
	# A frozen node stays suspect (so still a member an op waits for) for 10 s or more.
	node_config "$i" gossip="  probe_interval: 1s
  suspicion_mult: 10"
	check "node $i starts" node_start "$i"
done
check "all three alive on every node within 10 s" wait_for 10 everyone_alive 3

out=$(ctl 1 keyring install "$K2" 2>&1)
check "install K2 from node 1: exit 0" test $? -eq 0
echo "$out" | sed 's/^/# /'
check "install: installed on 3/3 members" grep -q "keyring install $K2ID: installed on 3/3 members" <<<"$out"
check "node 3's list: K2 installed on 3, primary on 0" test "$(key_count 3 "$K2ID" installed)/$(key_count 3 "$K2ID" primaries)" = 3/0
check "node 3's list: K1 installed on 3, primary on 3" test "$(key_count 3 "$K1ID" installed)/$(key_count 3 "$K1ID" primaries)" = 3/3
check "node 2 saved its ring (0600) in its state_dir" test "$(stat -c %a "$T/n2/state/gossip.keyring" 2>/dev/null)" = 600

out=$(ctl 2 keyring remove "$K1ID" 2>&1)
rc=$?
check "remove K1 while it is every primary: refused, exit 1" test "$rc" -eq 1
echo "$out" | sed 's/^/# /'
check "... the refusal names the members" grep -q "remove $K1ID refused: it is the primary key of node-2, node-1, node-3" <<<"$out"
check "... and nothing was removed" test "$(key_count 1 "$K1ID" installed)" = 3

D0=$(($(dropped 1) + $(dropped 2) + $(dropped 3)))
out=$(ctl 1 keyring use "$K2ID" 2>&1)
check "use K2: exit 0, the primary key on 3/3" grep -q "keyring use $K2ID: the primary key on 3/3 members" <<<"$out"
check "every node sends with K2" test "$(key_count 2 "$K2ID" primaries)" = 3
sleep 3
check "3 s later all alive" everyone_alive 3
D1=$(($(dropped 1) + $(dropped 2) + $(dropped 3)))
check "no gossip packet dropped across the switch ($D0 -> $D1)" test "$D1" -eq "$D0"

# Each node's last packet from each other is K2-sealed within a probe round or two.
check "remove K1: done on 3/3 within 10 s" wait_for 10 bash -c \
	"\"$AYACTL\" -s \"$T/n3/ayad.sock\" keyring remove $K1ID | grep -q 'removed on 3/3 members'"
check "K1 is gone from every node" test "$(key_count 1 "$K1ID" installed)" = 0
out=$(ctl 1 keyring remove "$K2ID" 2>&1)
rc=$?
check "remove K2 (the primary, the last key): refused, exit 1" test "$rc" -eq 1
echo "$out" | sed 's/^/# /'
check "... names the members using it" grep -q "it is the primary key of node-1, node-2, node-3" <<<"$out"
json=$(ctl 1 --json keyring list)
check "--json keyring list: ok, 3/3 complete, one key K2 used by 3" python3 -c '
import json, sys
d = json.loads(sys.argv[1])
k = d["keys"]
sys.exit(0 if d["ok"] and d["complete"] and d["members_total"] == 3 and d["members_ok"] == 3
         and len(k) == 1 and k[0]["id"] == sys.argv[2] and k[0]["primary"]
         and k[0]["installed"] == 3 and k[0]["primaries"] == 3
         and [m["name"] for m in d["members"]] == ["node-1", "node-2", "node-3"] else 1)' "$json" "$K2ID"
check "gossip still alive after the rotation" everyone_alive 3

# A member that does not answer: named, exit 1.
kill -STOP "$(cat "$T/n3/ayad.pid")"
out=$(ctl 1 keyring install "$K3" 2>&1)
rc=$?
echo "$out" | sed 's/^/# /'
check "install K3 with node 3 frozen: exit 1" test "$rc" -eq 1
check "... installed on 2/3, node-3: no answer" bash -c \
	"grep -q 'installed on 2/3 members' <<<\"\$1\" && grep -q '  node-3: no answer' <<<\"\$1\"" _ "$out"
out=$(ctl 2 keyring use "$K3ID" 2>&1)
rc=$?
check "use K3 (node 3 may lack it): refused, exit 1" test "$rc" -eq 1
echo "$out" | sed 's/^/# /'
check "... the refusal names node-3" grep -q "no answer from node-3" <<<"$out"
check "... node 1 still sends with K2" test "$(key_count 1 "$K2ID" primaries)" = 2
kill -CONT "$(cat "$T/n3/ayad.pid")"
check "node 3 thawed: all alive within 15 s" wait_for 15 everyone_alive 3

# Restart node 2: its keyring file still says K1 only; the saved ring (K2, K3) applies.
stop_pidfile "$T/n2/ayad.pid"
check "node 2 restarts" node_start 2
check "node 2 logs that the saved ring applies" grep -q "gossip: keyring: 2 key(s) from .*gossip.keyring (saved by ayactl keyring), primary $K2ID" "$T/n2/ayad.log"
check "node 2 rejoins with its saved ring: all alive within 10 s" wait_for 10 everyone_alive 3
# Node 3 applied the install queued in its socket when it thawed: K3 is on all three.
check "node 2 has K3 installed after the restart (as have the others)" test "$(key_count 2 "$K3ID" installed)" = 3
check "node 2 still sends with K2 after the restart" test "$(key_count 2 "$K2ID" primaries)" = 3

for i in 1 2 3; do stop_ayad "$T/n$i"; done
finish
