#!/usr/bin/env bash
# ayactl and ayad's command line: status (text and JSON), exit codes,
# --check on good and bad configs, --version; for scripts: one-line usage
# errors, JSON error objects with --json; log-level at runtime.
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

# For scripts: a usage error is one line and a hint, not the whole help;
# with --json every failure is also one JSON object on stdout, same exit.
"$AYACTL" frobnicate >"$T/out" 2>"$T/err"
check "usage error: nothing on stdout" test ! -s "$T/out"
check "usage error: one line and the hint" test "$(wc -l <"$T/err")" -eq 2
check "usage error: says what is wrong" grep -qx "ayactl: unknown command 'frobnicate'" "$T/err"
check "usage error: the hint" grep -qx "run 'ayactl --help' for the commands" "$T/err"
"$AYACTL" status extra 2>"$T/err"
check "usage error (arguments): exit 2, two lines" \
	test $? -eq 2 -a "$(wc -l <"$T/err")" -eq 2
"$AYACTL" --help | grep -q "^commands:"
check "--help: the whole help on stdout" test $? -eq 0
# json_err FILE EXIT: FILE is one JSON object {"ok": false, "error", "exit": EXIT}.
json_err() {
	python3 -c '
import json, sys
j = json.load(open(sys.argv[1]))
assert j["ok"] is False and j["exit"] == int(sys.argv[2]) and j["error"], j
' "$1" "$2"
}
"$AYACTL" -s "$T/nothing.sock" --json status >"$T/out" 2>/dev/null
rc=$?
check "--json, no daemon: exit 3" test $rc -eq 3
check "--json, no daemon: a JSON error object on stdout" json_err "$T/out" 3
"$AYACTL" --json frobnicate >"$T/out" 2>/dev/null
rc=$?
check "--json, usage error: exit 2" test $rc -eq 2
check "--json, usage error: a JSON error object on stdout" json_err "$T/out" 2
"$AYACTL" --json log-level loud >"$T/out" 2>"$T/err"
rc=$?
check "log-level with a bad level: usage error, exit 2" test $rc -eq 2
check "log-level with a bad level: JSON object with --json" json_err "$T/out" 2
check "log-level with a bad level: names the allowed levels" \
	grep -q "debug, info, warning or error" "$T/out"
check "--json: nothing on stderr" test ! -s "$T/err"

start_ayad "$D" || {
	not_ok "ayad starts"
	finish
}
ok "ayad starts"
check "control socket is mode 0660, ayad's group" test "$(stat -c '%a %g' "$D/ayad.sock")" = "660 $(id -g)"
check "state_dir is mode 0750" test "$(stat -c %a "$D/state")" = 750
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

# A command that fails: exit 1, the JSON error object on stdout.
"$AYACTL" -s "$D/ayad.sock" --json drain nosuchservice >"$T/out" 2>"$T/err"
rc=$?
check "--json, failing command: exit 1" test $rc -eq 1
check "--json, failing command: a JSON error object on stdout" json_err "$T/out" 1
check "--json, failing command: the message in the object" grep -q "nosuchservice" "$T/out"
check "--json, failing command: nothing on stderr" test ! -s "$T/err"

# log-level: shown, set at runtime (a debug line appears), back at reload.
ctl1() { "$AYACTL" -s "$D/ayad.sock" "$@"; }
check "log-level: shows the config's level" grep -qx "log level: info" <<<"$(ctl1 log-level)"
check "no debug lines at info" bash -c "! grep -q 'control: status request' '$D/ayad.log'"
out=$(ctl1 log-level debug)
check "log-level debug: exit 0" test $? -eq 0
check "log-level debug: says it holds until the next reload" \
	grep -q "until the next reload, which applies the config's log.level: info" <<<"$out"
ctl1 status >/dev/null
check "log-level debug: a debug line appears in the log" \
	wait_for 5 grep -q "control: status request, ok" "$D/ayad.log"
check "log-level change logged" grep -q "log: level info -> debug (ayactl)" "$D/ayad.log"
out=$(ctl1 --json log-level)
check "log-level --json: level and config_level" python3 -c '
import json, sys
j = json.loads(sys.argv[1])
assert j == {"ok": True, "level": "debug", "config_level": "info", "changed": False}, j
' "$out"
ctl1 reload >/dev/null
check "reload applies the config's level again" grep -qx "log level: info" <<<"$(ctl1 log-level)"
ctl1 log-level warning >/dev/null
n=$(grep -c "control: status request" "$D/ayad.log")
ctl1 status >/dev/null
ctl1 log-level info >/dev/null
check "log-level warning: no more debug lines" \
	test "$(grep -c "control: status request" "$D/ayad.log")" -eq "$n"

stop_ayad "$D"
check "control socket removed at exit" test ! -e "$D/ayad.sock"
start_ayad "$D" && ok "restart over a stale state dir" || not_ok "restart over a stale state dir"
check "cookie secret kept across restarts" test "$(stat -c %s "$D/state/cookie.secret")" = 16
stop_ayad "$D"
finish
