#!/usr/bin/env bash
# DNS over TCP (RFC 7766): pipelining, split messages, idle timeout,
# malformed length, half-close, per-client connection limit.
. "$(dirname "$0")/lib.sh"

PORT=$(free_port)
D=$T/node
write_config "$D" "$PORT" "  tcp_idle_timeout: 700ms
  tcp_max_per_client: 3"
start_ayad "$D" || {
	not_ok "ayad starts"
	finish
}
ok "ayad starts"

for host in 127.0.0.1 ::1; do
	timeout 60 python3 "$ROOT/tests/integration/tcp_client.py" "$host" "$PORT" 700 |
		sed "s/^\(\(not \)\?ok - \)/\1$host: /" >"$T/tcp.out"
	cat "$T/tcp.out"
	grep -q "^not ok" "$T/tcp.out" && FAILS=$((FAILS + 1))
	grep -q "^ok" "$T/tcp.out" || not_ok "$host: tcp client ran"
done

out=$(kdig @127.0.0.1 -p "$PORT" +tcp +noall +answer +keepopen api.$ZONE A mail.$ZONE A 2>&1)
check "kdig +keepopen: two answers on one connection" test "$(grep -c 'IN	A' <<<"$out")" -eq 2

stop_ayad "$D"
finish
