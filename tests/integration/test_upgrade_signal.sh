#!/usr/bin/env bash
# SIGUSR2: a binary upgrade in place, as the Debian package's postinst does it
# (systemctl kill -s USR2 --kill-whom=main ayad). ayad runs from a copy of the
# binary; the copy is replaced (a new inode, the running one becomes
# "(deleted)"), SIGUSR2 is sent under a UDP + TCP query load. Checks: no query
# lost; the new process (a child of the old) sends MAINPID= and READY=1 to the
# notify socket; the old one exits 0; the new one takes over (control socket,
# the drain set before) and runs the new file. Then a replaced binary that
# fails at start: the old process logs why and keeps serving. Processes are
# stopped by PID file; every wait is bounded.
. "$(dirname "$0")/lib.sh"

CLIENT=$ROOT/tests/integration/upgrade_client.py
WWW=www.$ZONE
PORT=$(free_port)
N=$T/node
BIN=$T/bin/ayad
UDP_RATE=${UDP_RATE:-1500}
TCP_RATE=${TCP_RATE:-5}
mkdir -p "$T/bin" "$N/zones"
cp "$AYAD" "$BIN"
cp "$ZONE_SRC" "$N/zones/$ZONE.zone"
cat >"$N/aya.yaml" <<EOF
node:
  name: node-1
  region: eu-west
dns:
  listen: ["127.0.0.1:$PORT"]
  threads: 2
$WWW_REGIONS_YAML
zones:
  - name: $ZONE
    file: zones/$ZONE.zone
$WWW_SERVICES_YAML
control:
  socket: $N/ayad.sock
state_dir: $N/state
EOF

OUT=$T/notify.log
python3 "$ROOT/tests/integration/notify_listener.py" "$T/notify.sock" "$OUT" "$PORT" "$ZONE" 60 &
echo $! >"$T/listener.pid"
PIDS+=("$T/listener.pid")
wait_for 5 test -S "$T/notify.sock" >/dev/null

NOTIFY_SOCKET=$T/notify.sock "$BIN" -c "$N/aya.yaml" 2>>"$N/ayad.log" &
echo $! >"$N/ayad.pid"
PIDS+=("$N/ayad.pid")
OLD=$(cat "$N/ayad.pid")
# One node, started here (not by node_start) on $PORT: its own answer, not cluster.sh's.
answer() { dig @127.0.0.1 -p "$PORT" +norec +time=1 +tries=1 +short A "$WWW"; }
answer_is() { [ "$(answer)" = "$1" ]; }
status_ok() { "$AYACTL" -s "$N/ayad.sock" status >/dev/null 2>&1; }
check "ayad answers" wait_for 10 answer_is 192.0.2.10
# DNS answers before the control socket exists (it comes last at start).
check "its control socket answers" wait_for 10 status_ok
check "drain www eu-west before the upgrade" "$AYACTL" -s "$N/ayad.sock" drain www eu-west
check "answers us-east (drained)" wait_for 5 answer_is 198.51.100.10

# The package replaces the file: a new inode at the same path.
cp "$AYAD" "$BIN.new" && mv -f "$BIN.new" "$BIN"
check "the running binary is now a deleted file" \
	grep -q "(deleted)" <<<"$(readlink "/proc/$OLD/exe")"

timeout 60 python3 "$CLIENT" 127.0.0.1 "$PORT" 6 "$UDP_RATE" "$TCP_RATE" "$WWW" \
	>"$T/load.json" 2>"$T/load.err" &
LOAD=$!
wait_for 10 logged "$T/load.err" "sending" >/dev/null
sleep 1
kill -USR2 "$OLD"
check "SIGUSR2: the new binary started beside" wait_for 10 logged "$N/ayad.log" "upgrade: SIGUSR2, started $BIN"
NEW=$(sed -n 's/.*upgrade: SIGUSR2, started .* (pid \([0-9]*\)) beside.*/\1/p' "$N/ayad.log" | tail -n1)
echo "$NEW" >"$N/ayad-new.pid"
PIDS+=("$N/ayad-new.pid")
check "the old process hands over once the new one answers" \
	wait_for 15 logged "$N/ayad.log" "upgrade: the new ayad (pid $NEW) answers DNS; handing over"
rc=0
for _ in $(seq 1 100); do
	kill -0 "$OLD" 2>/dev/null || break
	sleep 0.1
done
wait "$OLD" || rc=$?
check "the old process exits 0 (rc=$rc)" test "$rc" -eq 0
check "the old process drained its sockets" logged "$N/ayad.log" "handing the DNS sockets over"
check "the new process took over within 5 s" wait_for 5 logged "$N/ayad.log" "took over from pid $OLD"
check "the notify socket got MAINPID=$NEW" grep -q "MAINPID=$NEW" "$OUT"
mainpid_line=$(grep -n "MAINPID=$NEW" "$OUT" | head -n1 | cut -d: -f1)
ready_after() { [ "$(awk -v l="$mainpid_line" 'NR > l && /READY=1/' "$OUT" | wc -l)" -ge 1 ]; }
check "... and READY=1 after it" wait_for 5 ready_after
wait "$LOAD"
echo "# load: $(cat "$T/load.json")"
lost() { python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print(d[sys.argv[2]])' "$T/load.json" "$1"; }
check "no UDP query lost ($(lost udp_sent) sent)" test "$(lost udp_lost)" = 0
check "no TCP query lost ($(lost tcp_sent) sent)" test "$(lost tcp_lost)" = 0
check "the new process runs the new file" test "$(readlink "/proc/$NEW/exe")" = "$BIN"
check "the control socket answers the new process" wait_for 5 status_ok
check "the drain survived the upgrade" answer_is 198.51.100.10
mv "$N/ayad-new.pid" "$N/ayad.pid"

# A new binary that cannot start: the running one says so and keeps serving.
printf '#!/bin/sh\necho "ayad: broken build" >&2\nexit 3\n' >"$BIN.new"
chmod +x "$BIN.new" && mv -f "$BIN.new" "$BIN"
kill -USR2 "$NEW"
check "a failing new binary: logged with its exit status" \
	wait_for 10 logged "$N/ayad.log" "upgrade: the new ayad ended before it answered DNS (exit 3"
check "... and the node keeps serving" answer_is 198.51.100.10
check "... and its control socket" "$AYACTL" -s "$N/ayad.sock" status >/dev/null
# Not our child (the old process started it): no exit status, its log says.
kill -TERM "$NEW"
gone() { ! kill -0 "$NEW" 2>/dev/null; }
check "the new process stops on SIGTERM" wait_for 15 gone
check "... cleanly" logged "$N/ayad.log" "ayad\[$NEW\]: info: ayad: stopped"
if grep -q "ERROR: AddressSanitizer\|ERROR: LeakSanitizer\|runtime error:" "$N/ayad.log"; then
	not_ok "no sanitizer report"
fi
finish
