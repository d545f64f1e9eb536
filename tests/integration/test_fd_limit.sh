#!/usr/bin/env bash
# Out of file descriptors: ayad under `prlimit --nofile=64:64` with ~80 TCP
# connections held to its DNS port (and a few to its gossip and control
# listeners) must not spin or flood its log while accept() fails with
# EMFILE, and must answer a fresh TCP query within 3 s once they close.
. "$(dirname "$0")/lib.sh"

NOFILE=64
CONNS=80
if ! command -v prlimit >/dev/null; then
	echo "ok - # SKIP prlimit (util-linux) not installed"
	finish
fi

PORT=$(free_port)
GPORT=$(free_port)
D=$T/node
# Idle connections stay open (30 s) and one client may hold them all: the
# descriptors run out, not the connection limits.
write_config "$D" "$PORT" "  tcp_idle_timeout: 30s
  tcp_max_per_client: 1000
gossip:
  bind: 127.0.0.1:$GPORT
  insecure: true"
# prlimit execs ayad: the PID start_ayad records is ayad's own.
cat >"$T/ayad-nofile" <<EOF
#!/bin/sh
exec prlimit --nofile=$NOFILE:$NOFILE "$AYAD" "\$@"
EOF
chmod +x "$T/ayad-nofile"
AYAD=$T/ayad-nofile start_ayad "$D" || {
	not_ok "ayad starts with nofile $NOFILE"
	finish
}
ok "ayad starts with nofile $NOFILE"
PID=$(cat "$D/ayad.pid")
check "nofile limit applied" grep -qE "^Max open files +$NOFILE +$NOFILE " "/proc/$PID/limits"

# cpu_ticks: utime + stime of ayad, all threads (fields 14 and 15 of stat).
cpu_ticks() { awk '{ sub(/^.*\) /, ""); print $12 + $13 }' "/proc/$PID/stat"; }
accept_lines() { grep -ci "accept" "$D/ayad.log"; }
ctl_status() { timeout 5 "$AYACTL" -s "$D/ayad.sock" status >/dev/null; }

python3 "$ROOT/tests/integration/fd_hog.py" "$T/ready" "$T/release" 30 \
	"127.0.0.1:$PORT:$CONNS" "127.0.0.1:$GPORT:4" "unix:$D/ayad.sock:4" &
HOG=$!
for _ in $(seq 1 100); do
	[ -e "$T/ready" ] && break
	sleep 0.1
done
check "connections held ($(cat "$T/ready" 2>/dev/null || echo 0) of $((CONNS + 8)))" \
	test "$(cat "$T/ready" 2>/dev/null || echo 0)" -ge "$CONNS"
sleep 0.5 # let ayad take what it can and run out
n=$(ls "/proc/$PID/fd" | wc -l)
check "ayad ran out of descriptors ($n open)" test "$n" -ge $((NOFILE - 2))

hz=$(getconf CLK_TCK)
lines0=$(accept_lines)
t0=$(cpu_ticks)
sleep 3
t1=$(cpu_ticks)
lines1=$(accept_lines)
pct=$(((t1 - t0) * 100 / (3 * hz)))
check "saturated: ayad uses $pct% of a core over 3 s (< 30%)" test "$pct" -lt 30
check "saturated: $lines1 accept error lines in the log (< 20)" test "$lines1" -lt 20
echo "# accept lines before the 3 s: $lines0; last ones:"
grep -i "accept" "$D/ayad.log" | tail -n 3 | sed 's/^/#   /'

touch "$T/release"
for _ in $(seq 1 50); do
	kill -0 "$HOG" 2>/dev/null || break
	sleep 0.1
done
kill "$HOG" 2>/dev/null
wait "$HOG" 2>/dev/null

# Recovery: a fresh TCP query is answered within 3 s of the connections closing.
answered=
start=$(date +%s%N)
for _ in $(seq 1 6); do
	if [ -n "$(dig @127.0.0.1 -p "$PORT" +tcp +norec +time=1 +tries=1 +short SOA "$ZONE" \
		2>/dev/null)" ]; then
		answered=1
		break
	fi
	[ $((($(date +%s%N) - start) / 1000000)) -ge 3000 ] && break
	sleep 0.2
done
ms=$((($(date +%s%N) - start) / 1000000))
check "recovered: dig +tcp answered ${ms} ms after the connections closed (< 3 s)" \
	test -n "$answered" -a "$ms" -lt 3000
check "recovered: control socket answers" ctl_status

stop_ayad "$D"
finish
