#!/usr/bin/env bash
# Reload under load: aya-loadgen keeps a steady UDP query rate while the
# node reloads 20 times (SIGHUP and ayactl, alternating serials). Every query
# must be answered with NOERROR: no loss, no wrong answer, no crash.
. "$(dirname "$0")/lib.sh"

LOADGEN=$BDIR/aya-loadgen
if [ ! -x "$LOADGEN" ]; then
	not_ok "aya-loadgen built ($LOADGEN)"
	finish
fi

PORT=$(free_port)
D=$T/node
write_config "$D" "$PORT"
start_ayad "$D" || {
	not_ok "ayad starts"
	finish
}
ok "ayad starts"

SECONDS_LOAD=8
"$LOADGEN" -s 127.0.0.1 -p "$PORT" -n api.$ZONE -t A -d "$SECONDS_LOAD" -r 5000 -c 200 \
	-T 2000 --expect-rcode NOERROR >"$T/load.out" 2>"$T/load.err" &
echo $! >"$T/loadgen.pid"
PIDS+=("$T/loadgen.pid")

sleep 0.5
bad=0
for i in $(seq 1 20); do
	s=$((2026112600 + i % 2))
	set_serial "$D" "$s"
	if [ $((i % 2)) -eq 0 ]; then
		kill -HUP "$(cat "$D/ayad.pid")"
	else
		"$AYACTL" -s "$D/ayad.sock" reload >/dev/null || bad=$((bad + 1))
	fi
	sleep 0.25
done
check "20 reloads accepted" test "$bad" -eq 0

lpid=$(cat "$T/loadgen.pid")
for i in $(seq 1 $(((SECONDS_LOAD + 15) * 10))); do
	kill -0 "$lpid" 2>/dev/null || break
	sleep 0.1
done
wait "$lpid"
lrc=$?
rm -f "$T/loadgen.pid"
line=$(grep -E "sent=[0-9]+" "$T/load.out" | tail -n1)
echo "# $line"
sent=$(sed -nE 's/.*sent=([0-9]+).*/\1/p' <<<"$line")
recv=$(sed -nE 's/.*received=([0-9]+).*/\1/p' <<<"$line")
lost=$(sed -nE 's/.*lost=([0-9]+).*/\1/p' <<<"$line")
wrong=$(sed -nE 's/.*wrong=([0-9]+).*/\1/p' <<<"$line")
check "loadgen ran (exit $lrc)" test -n "$sent"
check "load sent queries during the reloads (sent=${sent:-?})" test "${sent:-0}" -gt 10000
check "no query lost during reloads (lost=${lost:-?})" test "${lost:-1}" -eq 0
check "no wrong answer during reloads (wrong=${wrong:-?})" test "${wrong:-1}" -eq 0
check "every query answered (received=${recv:-?})" test "${recv:-0}" -eq "${sent:-1}"
check "reloads logged" test "$(grep -c 'info: reload: 1 zone' "$D/ayad.log")" -eq 20
check "last serial served" test "$(serial)" = 2026112600

stop_ayad "$D"
finish
