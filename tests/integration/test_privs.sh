#!/usr/bin/env bash
# Least privilege (config user:/group:, control.group), as root:
#  - ayad started as root with `user: nobody` serves port 53 (a privileged
#    port, on a loopback address of its own) as nobody, with
#    CAP_NET_BIND_SERVICE and nothing else; state_dir (even files a root run
#    left there) becomes nobody's; a reload still binds a privileged port
#    (http.listen on port 80);
#  - the control socket is 0660 with control.group: a member of that group
#    may use ayactl, another user is refused with a hint;
#  - started as nobody with CAP_NET_BIND_SERVICE (what systemd's User= and
#    AmbientCapabilities= do), it serves port 53 without switching;
#  - started as another unprivileged user, it refuses with a clear error.
. "$(dirname "$0")/lib.sh"

if [ "$(id -u)" -ne 0 ]; then
	echo "ok - skipped: needs root # SKIP"
	exit 0
fi
if ! getent group staff >/dev/null || ! getent group nogroup >/dev/null ||
	! getent passwd nobody >/dev/null; then
	echo "ok - skipped: needs user nobody and groups staff, nogroup # SKIP"
	exit 0
fi
STAFF=$(getent group staff | cut -d: -f3)
OTHER=23456 # a uid with no account, in no group

# An address of its own on loopback, port 53 (privileged).
ADDR=127.0.$((RANDOM % 200 + 20)).$((RANDOM % 200 + 20))
if ss -Hlun "src $ADDR:53" | grep -q . || ss -Hltn "src $ADDR:80" | grep -q .; then
	echo "ok - skipped: $ADDR:53 or :80 in use # SKIP"
	exit 0
fi
chmod 0755 "$T"
N="$T/node"
mkdir -p "$N/run"
chown nobody:nogroup "$N/run"
write_config "$N" 53
sed -i -e "s|listen: .*|listen: [\"$ADDR:53\"]|" \
	-e "s|socket: .*|socket: $N/run/ayad.sock\n  group: staff|" "$N/aya.yaml"
printf 'user: nobody\ngroup: nogroup\nhttp:\n  listen: []\n' >>"$N/aya.yaml"
chmod -R a+rX "$N"
# What a run as root left behind: a root-owned file in state_dir.
mkdir -p "$N/state"
head -c 16 /dev/urandom >"$N/state/cookie.secret"
chmod 0600 "$N/state/cookie.secret"
# A signed zone whose key directory a root run left: root's, with a root-owned key.
sed -i "s|^    file: zones/$ZONE.zone|&\n    dnssec: {}|" "$N/aya.yaml"
mkdir -m 0700 "$N/state/dnssec"
cp "$ROOT/tests/dnsd/keys/Ksvc.example.com.+013+31252."{key,private} "$N/state/dnssec/"
chmod 0600 "$N/state/dnssec/"*.private

"$AYAD" -c "$N/aya.yaml" 2>>"$N/ayad.log" &
echo $! >"$N/ayad.pid"
PIDS+=("$N/ayad.pid")
PID=$(cat "$N/ayad.pid")
answers() { [ -n "$(dig @"$ADDR" -p 53 +norec +time=1 +tries=1 +short SOA "$ZONE" 2>/dev/null)" ]; }
check "ayad as nobody answers on $ADDR:53" wait_for 10 answers
# DNS answers before the control socket exists (it comes last at start).
check "... and has started" wait_for 10 grep -q " up, control socket" "$N/ayad.log"
check "logged the switch" grep -q \
	"running as user nobody (uid 65534, gid 65534) with CAP_NET_BIND_SERVICE only" "$N/ayad.log"
status_of() { awk -v k="$1:" '$1 == k {print $2, $3, $4, $5}' "/proc/$PID/status"; }
check "every uid is nobody's" test "$(status_of Uid)" = "65534 65534 65534 65534"
check "every gid is nogroup's" test "$(status_of Gid)" = "65534 65534 65534 65534"
check "supplementary groups include control.group (staff)" \
	grep -Eq "^Groups:.*\b$STAFF\b" "/proc/$PID/status"
cap() { awk -v k="$1:" '$1 == k {print $2}' "/proc/$PID/status"; }
# CAP_NET_BIND_SERVICE is bit 10: 0x400.
check "effective capabilities: CAP_NET_BIND_SERVICE only" test "$(cap CapEff)" = 0000000000000400
check "permitted capabilities: CAP_NET_BIND_SERVICE only" test "$(cap CapPrm)" = 0000000000000400
check "no new privileges" test "$(awk '$1 == "NoNewPrivs:" {print $2}' "/proc/$PID/status")" = 1
# Every thread: capabilities are per thread.
bad_threads=0
for tdir in /proc/"$PID"/task/*; do
	[ "$(awk '$1 == "CapEff:" {print $2}' "$tdir/status")" = 0000000000000400 ] ||
		bad_threads=$((bad_threads + 1))
done
check "every thread has the same single capability" test "$bad_threads" -eq 0
check "state_dir is nobody's, mode 0750" test "$(stat -c '%U %a' "$N/state")" = "nobody 750"
check "the root-owned cookie.secret became nobody's" \
	test "$(stat -c %U "$N/state/cookie.secret")" = nobody
check "state files created as nobody" test "$(stat -c %U "$N/state/state.lmdb")" = nobody
check "the dnssec key directory is nobody's, mode 0700" \
	test "$(stat -c '%U %a' "$N/state/dnssec")" = "nobody 700"
check "the root-owned key file became nobody's" \
	test "$(stat -c %U "$N/state/dnssec/Ksvc.example.com.+013+31252.private")" = nobody
add_key() { "$AYACTL" -s "$N/run/ayad.sock" dnssec add "$ZONE" >/dev/null; }
check "ayactl dnssec add as nobody" add_key
check "the new key is nobody's" test "$(find "$N/state/dnssec" -name '*.private' -user nobody |
	wc -l)" -eq 2

# The control socket: 0660, group staff.
check "control socket is 0660 nobody:staff" \
	test "$(stat -c '%a %U %G' "$N/run/ayad.sock")" = "660 nobody staff"
as_member() { setpriv --reuid="$OTHER" --regid="$OTHER" --groups="$STAFF" "$@"; }
as_other() { setpriv --reuid="$OTHER" --regid="$OTHER" --clear-groups "$@"; }
check "a member of control.group may use ayactl" \
	as_member "$AYACTL" -s "$N/run/ayad.sock" status >/dev/null
out=$(as_other "$AYACTL" -s "$N/run/ayad.sock" status 2>&1)
rc=$?
echo "# other user: rc $rc: $out"
check "another user is refused (exit 3)" test "$rc" -eq 3
check "... with a hint about control.group" \
	grep -q "members of the socket's group (control.group)" <<<"$out"

# A reload binds a privileged port as nobody: http on port 80.
sed -i "s|^  listen: \[\]|  listen: [\"$ADDR:80\"]|" "$N/aya.yaml"
check "ayactl reload" "$AYACTL" -s "$N/run/ayad.sock" reload >/dev/null
metrics() { curl -sf "http://$ADDR:80/metrics" | grep -q "^aya_build_info"; }
check "after the reload, /metrics on $ADDR:80 (a privileged port)" wait_for 5 metrics
# user: cannot change without a restart, and the reload says so.
sed -i "s|^user: nobody|user: root|" "$N/aya.yaml"
out=$("$AYACTL" -s "$N/run/ayad.sock" reload 2>&1)
check "a changed user: needs a restart, says the reload" \
	grep -q "user changed; restart ayad to apply it" <<<"$out"
sed -i "s|^user: root|user: nobody|" "$N/aya.yaml"

# SIGUSR2 as nobody: the new process (same user, CAP_NET_BIND_SERVICE kept
# across exec as an ambient capability) binds port 53 beside the old one.
kill -USR2 "$PID"
check "SIGUSR2 as nobody: the new process takes over" \
	wait_for 15 grep -q "took over from pid $PID" "$N/ayad.log"
NEW=$(sed -n 's/.*upgrade: SIGUSR2, started .* (pid \([0-9]*\)) beside.*/\1/p' "$N/ayad.log" | tail -n1)
echo "$NEW" >"$N/ayad-new.pid"
PIDS+=("$N/ayad-new.pid")
wait "$PID"
check "... the old one exited 0" test $? -eq 0
check "... the new one answers on port 53" wait_for 5 answers
check "... as nobody, with CAP_NET_BIND_SERVICE only" \
	test "$(awk '$1 == "Uid:" {print $2} $1 == "CapEff:" {print $2}' "/proc/$NEW/status" | xargs)" = \
	"65534 0000000000000400"
kill -TERM "$NEW"
gone() { ! kill -0 "$NEW" 2>/dev/null; }
check "... and stops on SIGTERM" wait_for 15 gone
if grep -q "ERROR: AddressSanitizer\|ERROR: LeakSanitizer\|runtime error:" "$N/ayad.log"; then
	not_ok "no sanitizer report"
fi

# Started as nobody with CAP_NET_BIND_SERVICE (systemd User= + AmbientCapabilities=).
sed -i "s|^  listen: \[\"$ADDR:80\"\]|  listen: []|" "$N/aya.yaml"
# SupplementaryGroups=staff: control.group needs ayad to be a member.
setpriv --reuid=65534 --regid=65534 --groups="65534,$STAFF" --inh-caps=+net_bind_service \
	--ambient-caps=+net_bind_service "$AYAD" -c "$N/aya.yaml" 2>>"$N/ayad2.log" &
echo $! >"$N/ayad.pid"
check "started as nobody with the capability: answers on port 53" wait_for 10 answers
check "... and has started" wait_for 10 grep -q " up, control socket" "$N/ayad2.log"
check "... as nobody" \
	test "$(awk '$1 == "Uid:" {print $2}' "/proc/$(cat "$N/ayad.pid")/status")" = 65534
check "... no switch logged" test "$(grep -c "running as user" "$N/ayad2.log")" -eq 0
cp "$N/ayad2.log" "$N/ayad.log"
stop_ayad "$N"

# Started as another unprivileged user: a clear refusal, exit 1.
out=$(setpriv --reuid="$OTHER" --regid="$OTHER" --clear-groups "$AYAD" -c "$N/aya.yaml" 2>&1)
rc=$?
echo "# as uid $OTHER: rc $rc: $(echo "$out" | tail -n1)"
check "another user cannot switch: exit 1" test "$rc" -eq 1
check "... and says how to start it" \
	grep -q "cannot switch to nobody (uid 65534): start it as root or as nobody" <<<"$out"
finish
