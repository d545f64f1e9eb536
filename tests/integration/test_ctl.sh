#!/usr/bin/env bash
# ayactl and ayad's command line: status (text and JSON), exit codes,
# --check on good and bad configs, --version.
. "$(dirname "$0")/lib.sh"

PORT=$(free_port)
D=$T/node
write_config "$D" "$PORT"

out=$("$AYAD" --check -c "$D/aya.yaml" 2>&1)
check "--check accepts a good config (exit 0)" test $? -eq 0
check "--check reports the zone count" grep -q "ok, 1 zone" <<<"$out"

mkdir -p "$T/bad/zones"
cp "$D/zones/$ZONE.zone" "$T/bad/zones/"
sed "s/threads: 2/threads: lots/" "$D/aya.yaml" | sed "s#$D/#$T/bad/#" >"$T/bad/aya.yaml"
echo "broken IN A 999.1.2.3" >>"$T/bad/zones/$ZONE.zone"
out=$("$AYAD" --check -c "$T/bad/aya.yaml" 2>&1)
rc=$?
check "--check rejects a bad config (exit 1)" test "$rc" -eq 1
check "--check cites the config file:line" grep -qE "aya\.yaml:[0-9]+:[0-9]+: error" <<<"$out"
check "--check cites the zone file:line" grep -qE "$ZONE\.zone:[0-9]+(:[0-9]+)?: error" <<<"$out"
check "--check on a missing file exits 1" bash -c "! '$AYAD' --check -c '$T/none.yaml' 2>/dev/null"
out=$("$AYAD" --version)
check "--version names the version" grep -q "^ayad [0-9]" <<<"$out"
check "--version carries the DB-IP attribution" grep -q "IP geolocation by DB-IP" <<<"$out"
"$AYAD" -x >/dev/null 2>&1
check "ayad: bad option exits 2" test $? -eq 2

"$AYACTL" -s "$T/nothing.sock" status >/dev/null 2>"$T/err"
check "ayactl: no daemon exits 3" test $? -eq 3
check "ayactl: names the socket" grep -q "$T/nothing.sock" "$T/err"
"$AYACTL" frobnicate >/dev/null 2>&1
check "ayactl: unknown command exits 2" test $? -eq 2
"$AYACTL" >/dev/null 2>&1
check "ayactl: no command exits 2" test $? -eq 2

start_ayad "$D" || {
	not_ok "ayad starts"
	finish
}
ok "ayad starts"
check "control socket is mode 0600" test "$(stat -c %a "$D/ayad.sock")" = 600
check "state_dir is mode 0700" test "$(stat -c %a "$D/state")" = 700
check "cookie secret is 16 bytes, mode 0600" \
	test "$(stat -c '%s %a' "$D/state/cookie.secret")" = "16 600"

q A api.$ZONE >/dev/null
out=$("$AYACTL" -s "$D/ayad.sock" status)
check "status: exit 0" test $? -eq 0
check "status: node" grep -qE "^node +it-node-1$" <<<"$out"
check "status: region" grep -qE "^region +test-region$" <<<"$out"
check "status: zone with serial" grep -qE "^  $ZONE +2026112501 +[0-9]+$" <<<"$out"
check "status: workers" grep -qE "^workers +4$" <<<"$out"
check "status: listen addresses" grep -qF "127.0.0.1:$PORT, [::1]:$PORT" <<<"$out"
check "status: queries counted" grep -qE "^queries +[1-9]" <<<"$out"
out=$(AYA_SOCKET="$D/ayad.sock" "$AYACTL" --json status)
check "status --json (socket from AYA_SOCKET)" test $? -eq 0
check "status --json is valid JSON with the fields" python3 -c '
import json, sys
j = json.loads(sys.argv[1])
assert j["ok"] is True and j["node"] == "it-node-1" and j["region"] == "test-region"
assert j["zones"][0]["name"] == "svc.example.com" and j["zones"][0]["serial"] == 2026112501
assert j["counters"]["noerror"] >= 1 and j["workers"] == 4 and len(j["listen"]) == 2
' "$out"

stop_ayad "$D"
check "control socket removed at exit" test ! -e "$D/ayad.sock"
start_ayad "$D" && ok "restart over a stale state dir" || not_ok "restart over a stale state dir"
check "cookie secret kept across restarts" test "$(stat -c %s "$D/state/cookie.secret")" = 16
stop_ayad "$D"
finish
