#!/usr/bin/env bash
# Response rate limiting (issue 12, finding 7): with dns.rrl at 10 responses
# per second and slip 2, a burst of 200 UDP queries from one source gets
# about 10 full answers and every second limited reply as TC=1 with no
# records, the rest dropped; the same holds when the burst comes from 20
# source ports (spread over both workers: the table is shared); random
# NXDOMAIN names share their zone's bucket; another name, an exempt prefix,
# a valid server cookie and TCP are not limited; ayactl status counts it;
# a reload without rrl: and a node without rrl: answer everything. Each
# source address below (127.0.x.1) is its own /24, so its own key.
# Every client run is bounded (rrl_client.py: 30 s deadline, 1 s idle).
. "$(dirname "$0")/lib.sh"

N=200
RATE=10
client() { timeout 40 python3 "$ROOT/tests/integration/rrl_client.py" "$@"; }
val() { awk -v k="$1" '$1 == k { print $2 }' <<<"$2"; }
status_count() { # NAME
	timeout 5 "$AYACTL" -s "$D/ayad.sock" status | awk -v n="$1" '$1 == n { print $2 }'
}
# limited NAME OUT: about RATE full answers (a second boundary may add RATE),
# and of the rest every second one truncated, empty.
limited() {
	local name=$1 out=$2 full tc tce lost rest
	full=$(val full "$out") tc=$(val tc "$out") tce=$(val tc_empty "$out") lost=$(val lost "$out")
	echo "# $name: full=$full tc=$tc tc_empty=$tce lost(dropped)=$lost"
	rest=$((N - full))
	check "$name: $RATE..$((2 * RATE)) of $N answered in full ($full)" \
		test "$full" -ge "$RATE" -a "$full" -le $((2 * RATE))
	check "$name: every 2nd limited reply slipped as TC=1 ($tc of $rest)" \
		test "$tc" -ge $((rest / 2 - 2)) -a "$tc" -le $((rest / 2 + 2))
	check "$name: slipped replies carry no records ($tce of $tc)" test "$tce" -eq "$tc"
	check "$name: the others dropped ($lost)" test "$lost" -eq $((rest - tc))
}

PORT=$(free_port)
D=$T/node
write_config "$D" "$PORT" "  rrl:
    responses_per_second: $RATE
    slip: 2
    window: 15
    exempt: [127.0.2.0/24, \"::1\"]"
start_ayad "$D" || {
	not_ok "ayad starts"
	finish
}
ok "ayad starts with dns.rrl"

out=$(client udp "$PORT" 127.0.1.1 "ns1.$ZONE" $N)
limited "one source, one port" "$out"
out=$(client udp "$PORT" 127.0.3.1 "ns1.$ZONE" $N 20)
limited "one source, 20 ports (both workers)" "$out"
out=$(client udp "$PORT" 127.0.5.1 "$ZONE" $N 1 nxrandom)
limited "random NXDOMAIN names, one zone" "$out"

out=$(client udp "$PORT" 127.0.1.1 "mail.$ZONE" 5)
check "limited source: another name is answered ($(val full "$out") of 5)" \
	test "$(val full "$out")" -eq 5
out=$(client udp "$PORT" 127.0.2.1 "ns1.$ZONE" $N)
check "exempt prefix: all $N answered in full ($(val full "$out"))" test "$(val full "$out")" -eq $N
out=$(client udp "$PORT" 127.0.4.1 "ns1.$ZONE" $N 1 cookie)
check "valid server cookie: all $N answered in full ($(val full "$out"))" \
	test "$(val full "$out")" -eq $N
out=$(client tcp "$PORT" 127.0.1.1 "ns1.$ZONE" 50)
check "TCP from the limited source: all 50 answered ($(val tcp "$out"))" \
	test "$(val tcp "$out")" -eq 50

n=$(status_count rrl_dropped)
check "status: rrl_dropped counted (${n:-none})" test "${n:-0}" -ge 200
n=$(status_count rrl_slipped)
check "status: rrl_slipped counted (${n:-none})" test "${n:-0}" -ge 200
n=$(status_count rrl_keys)
check "status: rrl_keys in use (${n:-none})" test "${n:-0}" -ge 3

# Reload without rrl: a new source is no longer limited.
write_config "$D" "$PORT"
"$AYACTL" -s "$D/ayad.sock" reload >/dev/null
out=$(client udp "$PORT" 127.0.6.1 "ns1.$ZONE" $N)
check "after a reload without rrl: all $N answered ($(val full "$out"))" test "$(val full "$out")" -eq $N
stop_ayad "$D"

# A node without rrl: nothing limited.
PORT=$(free_port)
D=$T/plain
write_config "$D" "$PORT"
start_ayad "$D" || {
	not_ok "ayad starts without rrl"
	finish
}
out=$(client udp "$PORT" 127.0.1.1 "ns1.$ZONE" $N)
check "no rrl: all $N answered in full ($(val full "$out"))" test "$(val full "$out")" -eq $N
n=$(status_count rrl_dropped)
check "no rrl: rrl_dropped 0 (${n:-none})" test "${n:-x}" = 0
stop_ayad "$D"

# Config errors cite the line.
D=$T/bad
write_config "$D" 5399 "  rrl:
    responses_per_second: 0
    slip: 11
    exempt: [192.0.2.1/24]"
err=$("$AYAD" --check -c "$D/aya.yaml" 2>&1)
check "--check: responses_per_second 0 rejected with its line" \
	grep -qE 'aya.yaml:[0-9]+:[0-9]+: error: dns.rrl.responses_per_second: 0 is out of range' <<<"$err"
check "--check: slip 11 rejected" grep -q 'dns.rrl.slip: 11 is out of range 0..10' <<<"$err"
check "--check: bad exempt prefix rejected" grep -q "dns.rrl.exempt: bad prefix '192.0.2.1/24'" <<<"$err"
finish
