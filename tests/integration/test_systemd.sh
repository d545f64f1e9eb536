#!/usr/bin/env bash
# systemd's notify protocol (Type=notify), with a stand-in notify socket:
# READY=1 once ayad answers DNS (a query sent on READY=1 is answered),
# WATCHDOG=1 at half WATCHDOG_USEC, RELOADING=1 then READY=1 around a reload
# (SIGHUP and ayactl reload), STOPPING=1 on SIGTERM. Without NOTIFY_SOCKET
# nothing changes (every other test).
. "$(dirname "$0")/lib.sh"

PORT=$(free_port)
N="$T/node"
write_config "$N" "$PORT"
OUT="$T/notify.log"
python3 "$ROOT/tests/integration/notify_listener.py" "$T/notify.sock" "$OUT" "$PORT" "$ZONE" 40 &
echo $! >"$T/listener.pid"
PIDS+=("$T/listener.pid")
wait_for 5 test -S "$T/notify.sock" >/dev/null || not_ok "notify socket ready"

# 1 s watchdog: a ping every 500 ms.
NOTIFY_SOCKET="$T/notify.sock" WATCHDOG_USEC=1000000 "$AYAD" -c "$N/aya.yaml" 2>>"$N/ayad.log" &
echo $! >"$N/ayad.pid"
PIDS+=("$N/ayad.pid")

check "READY=1 sent" wait_for 10 grep -q "READY=1" "$OUT"
check "READY=1 only once DNS answers (query sent on READY=1 answered)" \
	wait_for 5 grep -q "query-after-ready ok" "$OUT"
check "STATUS names the node" grep -q "STATUS=node it-node-1 (region test-region): answering DNS" "$OUT"
grep -q "watchdog: pinging systemd every 500 ms" "$N/ayad.log" && ok "watchdog interval logged" ||
	not_ok "watchdog interval logged"
sleep 2.2
pings=$(grep -c "WATCHDOG=1" "$OUT")
echo "# $pings WATCHDOG=1 in about 2.5 s"
check "WATCHDOG=1 every 500 ms (>= 4 in 2.5 s)" test "$pings" -ge 4
check "no ping storm (<= 8 in 2.5 s)" test "$pings" -le 8

# A reload: RELOADING=1 (with MONOTONIC_USEC), then READY=1.
ready_before=$(grep -c "READY=1" "$OUT")
kill -HUP "$(cat "$N/ayad.pid")"
check "SIGHUP: RELOADING=1 with MONOTONIC_USEC" wait_for 5 grep -q "RELOADING=1|MONOTONIC_USEC=" "$OUT"
reload_ready() { [ "$(grep -c "READY=1" "$OUT")" -gt "$ready_before" ]; }
check "SIGHUP: READY=1 after the reload" wait_for 5 reload_ready
last_reload=$(grep -n "RELOADING=1" "$OUT" | tail -n1 | cut -d: -f1)
last_ready=$(grep -n "READY=1" "$OUT" | tail -n1 | cut -d: -f1)
check "READY=1 follows RELOADING=1" test "$last_ready" -gt "$last_reload"
reloads_before=$(grep -c "RELOADING=1" "$OUT")
"$AYACTL" -s "$N/ayad.sock" reload >/dev/null
more_reloads() { [ "$(grep -c "RELOADING=1" "$OUT")" -gt "$reloads_before" ]; }
check "ayactl reload: RELOADING=1 too" wait_for 5 more_reloads

# SIGTERM: STOPPING=1, and a clean exit.
PID=$(cat "$N/ayad.pid")
kill -TERM "$PID"
check "SIGTERM: STOPPING=1" wait_for 10 grep -q "STOPPING=1" "$OUT"
# One SIGTERM only: wait for the exit rather than stop_ayad's own SIGTERM.
for _ in $(seq 1 150); do
	kill -0 "$PID" 2>/dev/null || break
	sleep 0.1
done
rc=0
wait "$PID" || rc=$?
rm -f "$N/ayad.pid"
check "SIGTERM: exit 0 (rc=$rc)" test "$rc" -eq 0
if grep -q "ERROR: AddressSanitizer\|ERROR: LeakSanitizer\|runtime error:" "$N/ayad.log"; then
	not_ok "no sanitizer report"
fi

# WATCHDOG_PID naming another process: that watchdog is not ours, no pings.
: >"$OUT.2"
python3 "$ROOT/tests/integration/notify_listener.py" "$T/notify2.sock" "$OUT.2" "$PORT" "$ZONE" 20 &
echo $! >"$T/listener2.pid"
PIDS+=("$T/listener2.pid")
wait_for 5 test -S "$T/notify2.sock" >/dev/null
NOTIFY_SOCKET="$T/notify2.sock" WATCHDOG_USEC=1000000 WATCHDOG_PID=1 \
	"$AYAD" -c "$N/aya.yaml" 2>>"$N/ayad.log" &
echo $! >"$N/ayad.pid"
check "READY=1 (second run)" wait_for 10 grep -q "READY=1" "$OUT.2"
sleep 1.2
check "WATCHDOG_PID of another process: no WATCHDOG=1" test "$(grep -c "WATCHDOG=1" "$OUT.2")" -eq 0
stop_ayad "$N"
finish
