#!/usr/bin/env bash
# Slow DNS-over-TCP clients cannot sit on the connection table (issue 12,
# finding 4): a query must arrive whole within dns.tcp_message_timeout of its
# first byte (slowloris closed), a client that does not read its replies is
# closed by the write deadline, a full table evicts the connection idle the
# longest so a clean client is answered at once, and tcp_max_per_client
# counts a /24 as one client. Each case takes a few seconds.
. "$(dirname "$0")/lib.sh"

MSG_MS=1000
MAXC=20
run_client() { # NAME ARGS...: tcp_slow.py, its lines prefixed with NAME
	local name=$1
	shift
	timeout 60 python3 "$ROOT/tests/integration/tcp_slow.py" "$PORT" "$@" |
		sed "s/^\(\(not \)\?ok - \)/\1$name: /" >"$T/$name.out"
	cat "$T/$name.out"
	grep -q "^not ok" "$T/$name.out" && FAILS=$((FAILS + 1))
	grep -q "^ok" "$T/$name.out" || not_ok "$name: client ran"
}
status_count() { # DIR NAME: a counter from ayactl status
	timeout 5 "$AYACTL" -s "$1/ayad.sock" status | awk -v n="$2" '$1 == n { print $2 }'
}

# Deadlines and eviction: a longer idle timeout than the message deadline,
# a small table, no per-client limit in the way (127.0.0.x is one /24).
PORT=$(free_port)
D=$T/node
write_config "$D" "$PORT" "  tcp_idle_timeout: 5s
  tcp_message_timeout: ${MSG_MS}ms
  tcp_max_connections: $MAXC
  tcp_max_per_client: 100"
start_ayad "$D" || {
	not_ok "ayad starts"
	finish
}
ok "ayad starts"
run_client deadlines "$MSG_MS" "$MAXC" deadlines
run_client evict "$MSG_MS" "$MAXC" evict
n=$(status_count "$D" tcp_timeouts)
check "status: tcp_timeouts counted (${n:-none})" test "${n:-0}" -ge 3
n=$(status_count "$D" tcp_evicted)
check "status: tcp_evicted counted (${n:-none})" test "${n:-0}" -ge 1
n=$(status_count "$D" tcp_refused)
check "status: tcp_refused counted (${n:-none})" test "${n:-0}" -ge 1
check "still answers over TCP" test -n "$(q +tcp +short SOA "$ZONE")"
stop_ayad "$D"

# Per-client limit by prefix: 3 connections for all of 127.0.0.0/24.
PORT=$(free_port)
D=$T/node2
write_config "$D" "$PORT" "  tcp_max_per_client: 3"
start_ayad "$D" || {
	not_ok "ayad starts (per-client limit)"
	finish
}
ok "ayad starts (per-client limit)"
run_client prefix 3 prefix
stop_ayad "$D"
finish
