#!/usr/bin/env bash
# Reload: SIGHUP and `ayactl reload` pick up a new serial; changed records
# under the same serial load with a warning; a broken zone is
# rejected, the old data keeps being served and ayactl exits 1 with the error.
. "$(dirname "$0")/lib.sh"

PORT=$(free_port)
D=$T/node
write_config "$D" "$PORT"
start_ayad "$D" || {
	not_ok "ayad starts"
	finish
}
ok "ayad starts"
check "initial serial" test "$(serial)" = 2026112501

# wait_serial WANT: up to 5 s for the node to serve it.
wait_serial() {
	local i
	for i in $(seq 1 50); do
		[ "$(serial)" = "$1" ] && return 0
		sleep 0.1
	done
	return 1
}

set_serial "$D" 2026112502
kill -HUP "$(cat "$D/ayad.pid")"
check "SIGHUP: new serial served" wait_serial 2026112502
check "SIGHUP: reload logged with the serial" grep -q "reload: 1 zone(s), serials $ZONE 2026112502" "$D/ayad.log"

set_serial "$D" 2026112503
out=$("$AYACTL" -s "$D/ayad.sock" reload)
check "ayactl reload: exit 0" test $? -eq 0
check "ayactl reload: prints the new serial" grep -qE "$ZONE +2026112503" <<<"$out"
check "ayactl reload: new serial served" test "$(serial)" = 2026112503

# Changed records under the same serial: loaded, but the reload says secondaries will miss it.
echo "unbumped IN A 192.0.2.99" >>"$D/zones/$ZONE.zone"
out=$("$AYACTL" -s "$D/ayad.sock" reload 2>&1)
check "same serial, new record: reload accepted" test $? -eq 0
check "same serial, new record: the reload warns" \
	grep -q "records changed but the SOA serial is still 2026112503" <<<"$out"
check "same serial, new record: the warning is logged" \
	grep -q "secondaries will not transfer the change" "$D/ayad.log"
check "same serial, new record: served" test "$(q +short A unbumped.$ZONE)" = 192.0.2.99

cp "$D/zones/$ZONE.zone" "$T/good.zone"
set_serial "$D" 2026112504
echo "broken IN A 300.0.0.1" >>"$D/zones/$ZONE.zone"
out=$("$AYACTL" -s "$D/ayad.sock" reload 2>&1)
rc=$?
check "broken zone: ayactl reload exits 1" test "$rc" -eq 1
check "broken zone: the error names file:line" grep -qE "$ZONE\.zone:[0-9]+(:[0-9]+)?: error" <<<"$out"
check "broken zone: old serial still served" test "$(serial)" = 2026112503
check "broken zone: old data still answered" test "$(q +short A api.$ZONE)" = 192.0.2.80
check "broken zone: error logged" grep -qE "error: reload: .*$ZONE\.zone" "$D/ayad.log"
out=$("$AYACTL" -s "$D/ayad.sock" --json reload 2>&1)
check "broken zone: --json reload exits 1 with ok=false" python3 -c '
import json, sys
j = json.loads(sys.argv[1]); assert j["ok"] is False and "error" in j["error"]' "$out"
out=$("$AYACTL" -s "$D/ayad.sock" status)
check "status shows the failed reload" grep -qE "^last reload .* failed: " <<<"$out"

kill -HUP "$(cat "$D/ayad.pid")"
sleep 0.5
check "broken zone: SIGHUP keeps the old serial" test "$(serial)" = 2026112503
check "ayad still running after failed reloads" kill -0 "$(cat "$D/ayad.pid")"

cp "$T/good.zone" "$D/zones/$ZONE.zone"
set_serial "$D" 2026112505
"$AYACTL" -s "$D/ayad.sock" reload >/dev/null
check "fixed zone: reload accepted" test $? -eq 0
check "fixed zone: new serial served" test "$(serial)" = 2026112505
out=$("$AYACTL" -s "$D/ayad.sock" status)
check "status shows the good reload" grep -qE "^last reload .* ok: 1 zone" <<<"$out"

sed -i "s/127.0.0.1:$PORT/127.0.0.2:$PORT/" "$D/aya.yaml"
"$AYACTL" -s "$D/ayad.sock" reload >/dev/null
check "listen change: warned, needs a restart" grep -q "dns.listen changed; restart" "$D/ayad.log"
check "listen change: still serving the old address" test "$(serial)" = 2026112505

# Settings read only at start: the reload says they need a restart.
sed -i "s/threads: 2/threads: 3\n  tcp_max_connections: 500/" "$D/aya.yaml"
out=$("$AYACTL" -s "$D/ayad.sock" reload 2>&1)
check "dns.threads change: the reload says it needs a restart" \
	grep -q "warning: dns.threads changed; restart ayad to apply it" <<<"$out"
check "dns.tcp_max_connections change: the reload says it needs a restart" \
	grep -q "warning: dns.tcp_max_connections changed; restart ayad" <<<"$out"

stop_ayad "$D"
finish
