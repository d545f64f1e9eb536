# Shared helpers for the integration tests (sourced, bash).
#
# Each test starts its own ayad on a free loopback port (127.0.0.1 and ::1)
# in a temp dir, keeps its PID in a PID file, and stops it by that PID in an
# EXIT trap. Checks print "ok - NAME" / "not ok - NAME"; `finish` exits 1 if
# any failed. Env: B = build dir (default build/rel).
set -u

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
B=${B:-build/rel}
case "$B" in
/*) BDIR=$B ;;
*) BDIR=$ROOT/$B ;;
esac
AYAD=$BDIR/ayad
AYACTL=$BDIR/ayactl
ZONE_SRC=$ROOT/examples/zones/svc.example.com.zone
ZONE=svc.example.com
FAILS=0
T=$(mktemp -d /tmp/aya-it.XXXXXX)
PIDS=() # PID files of every process we started

ok() { echo "ok - $1"; }
not_ok() {
	echo "not ok - $1"
	FAILS=$((FAILS + 1))
}

# check NAME CMD...: ok when CMD succeeds.
check() {
	local name=$1
	shift
	if "$@"; then ok "$name"; else not_ok "$name"; fi
}

# A port free for UDP and TCP on 127.0.0.1 and ::1.
free_port() {
	python3 - <<'EOF'
import random, socket
for _ in range(50):
    port = random.randint(20000, 60000)
    socks = []
    try:
        for fam, addr in ((socket.AF_INET, "127.0.0.1"), (socket.AF_INET6, "::1")):
            for typ in (socket.SOCK_DGRAM, socket.SOCK_STREAM):
                s = socket.socket(fam, typ)
                socks.append(s)
                s.bind((addr, port))
        print(port)
        break
    except OSError:
        pass
    finally:
        for s in socks:
            s.close()
EOF
}

# write_config DIR PORT [EXTRA_DNS_YAML]: DIR/aya.yaml serving DIR/zones/ZONE.zone.
write_config() {
	local dir=$1 port=$2 extra=${3:-}
	mkdir -p "$dir/zones"
	[ -e "$dir/zones/$ZONE.zone" ] || cp "$ZONE_SRC" "$dir/zones/$ZONE.zone"
	cat >"$dir/aya.yaml" <<EOF
node:
  name: it-node-1
  region: test-region
dns:
  listen: ["127.0.0.1:$port", "[::1]:$port"]
  threads: 2
$extra
zones:
  - name: $ZONE
    file: zones/$ZONE.zone
control:
  socket: $dir/ayad.sock
state_dir: $dir/state
EOF
}

# The www service of the drain tests (cluster, upgrade): eu-west (192.0.2.10)
# first, us-east (198.51.100.10) next; the two regions (top level) and the
# zone's services: block (indented by four), for a test's own aya.yaml.
# shellcheck disable=SC2034 # used by the tests that source this file
WWW_REGIONS_YAML="regions:
  - { name: eu-west, location: [53.35, -6.26] }
  - { name: us-east, location: [39.04, -77.49] }"
# shellcheck disable=SC2034
WWW_SERVICES_YAML="    services:
      - name: www
        ttl: 5
        pools:
          - region: eu-west
            endpoints: [ { address: 192.0.2.10 } ]
          - region: us-east
            endpoints: [ { address: 198.51.100.10 } ]
        policy: [healthy, drain, { first_n: 1 }]"

# set_serial DIR SERIAL: rewrite the zone's SOA serial.
set_serial() {
	sed -i -E "s/^( +)[0-9]+( ; serial)/\1$2\2/" "$1/zones/$ZONE.zone"
}

# q ARGS...: dig against the node, no recursion, short timeouts.
q() {
	dig @"${SERVER:-127.0.0.1}" -p "$PORT" +norec +time=2 +tries=1 "$@"
}

# serial: the SOA serial the node serves now.
serial() {
	q +short SOA "$ZONE" | awk '{print $3}'
}

# start_ayad DIR [ADDR]: start ayad -c DIR/aya.yaml, wait until it answers
# SOA on ADDR (default 127.0.0.1) port $PORT (10 s).
start_ayad() {
	local dir=$1 addr=${2:-127.0.0.1}
	"$AYAD" -c "$dir/aya.yaml" 2>>"$dir/ayad.log" &
	echo $! >"$dir/ayad.pid"
	PIDS+=("$dir/ayad.pid")
	local i
	for i in $(seq 1 100); do
		if ! kill -0 "$(cat "$dir/ayad.pid")" 2>/dev/null; then
			echo "# ayad exited at start-up:" >&2
			sed 's/^/#   /' "$dir/ayad.log" >&2
			return 1
		fi
		if [ -S "$dir/ayad.sock" ] && [ -n "$(dig @"$addr" -p "$PORT" +norec +time=1 \
			+tries=1 +short SOA "$ZONE" 2>/dev/null)" ]; then
			return 0
		fi
		sleep 0.1
	done
	echo "# ayad did not answer within 10 s" >&2
	return 1
}

# node_start I: start the node of $T/nI, listening on 127.0.0.I port ${DNSPORT[I]}.
node_start() {
	PORT=${DNSPORT[$1]} start_ayad "$T/n$1" "127.0.0.$1"
}

# ctl I ARGS...: ayactl against the node of $T/nI.
ctl() {
	local i=$1
	shift
	"$AYACTL" -s "$T/n$i/ayad.sock" "$@"
}

# wait_for SECONDS CMD...: poll CMD every 0.1 s until it succeeds; prints the time taken.
wait_for() {
	local limit=$1 start now
	shift
	start=$(date +%s%N)
	while :; do
		if "$@"; then
			now=$(date +%s%N)
			echo "# took $(((now - start) / 1000000)) ms: $*"
			return 0
		fi
		now=$(date +%s%N)
		[ $(((now - start) / 1000000000)) -ge "$limit" ] && return 1
		sleep 0.1
	done
}

# logged FILE PATTERN: FILE has a line matching PATTERN (grep).
logged() { grep -q "$2" "$1"; }

# stop_pidfile FILE: SIGTERM, wait up to 15 s, then SIGKILL. Returns the exit status.
stop_pidfile() {
	local f=$1 pid rc=0 i
	[ -s "$f" ] || return 0
	pid=$(cat "$f")
	if kill -0 "$pid" 2>/dev/null; then
		kill -TERM "$pid" 2>/dev/null
		for i in $(seq 1 150); do
			kill -0 "$pid" 2>/dev/null || break
			sleep 0.1
		done
		if kill -0 "$pid" 2>/dev/null; then
			kill -KILL "$pid" 2>/dev/null
			rc=137
		fi
	fi
	wait "$pid" 2>/dev/null || rc=$?
	rm -f "$f"
	return $rc
}

# stop_ayad DIR: stop it and check a clean exit (and no sanitizer report).
stop_ayad() {
	local dir=$1 rc=0
	stop_pidfile "$dir/ayad.pid" || rc=$?
	if [ "$rc" -ne 0 ] || grep -q "ERROR: AddressSanitizer\|ERROR: LeakSanitizer\|runtime error:" \
		"$dir/ayad.log"; then
		not_ok "ayad exits cleanly on SIGTERM (rc=$rc)"
		sed 's/^/#   /' "$dir/ayad.log" | tail -n 40
	else
		ok "ayad exits cleanly on SIGTERM"
	fi
	[ -e "$dir/ayad.sock" ] && not_ok "control socket removed at exit"
	return 0
}

cleanup() {
	local f
	for f in "${PIDS[@]}"; do
		[ -e "$f" ] && stop_pidfile "$f"
	done
	rm -rf "$T"
}
trap cleanup EXIT

# finish: exit status for the runner.
finish() {
	[ "$FAILS" -eq 0 ]
	exit $?
}

if [ ! -x "$AYAD" ] || [ ! -x "$AYACTL" ]; then
	echo "not ok - binaries present ($AYAD, $AYACTL)"
	exit 1
fi
