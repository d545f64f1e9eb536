#!/usr/bin/env bash
# Aya demo: a three-node cluster on loopback serving examples/demo/aya.yaml.
#   demo-1  eu-west   DNS 127.0.0.1:PORT (and [::1]:PORT)  gossip 127.0.0.1:GPORT
#   demo-2  us-east   DNS 127.0.0.2:PORT                   gossip 127.0.0.2:GPORT+1
#   demo-3  ap-south  DNS 127.0.0.3:PORT                   gossip 127.0.0.3:GPORT+2
# The nodes gossip over a keyring generated for this run. The "www" service
# has pools in the three regions, answered by the EDNS Client Subnet located
# with the real DB-IP country database (../shared/geo). The "app" service is
# health-checked: python3 HTTP backends on 127.0.0.41-44:18080 (/health),
# probed by every node. The "shop" service is load-steered: a cheap eu-west
# pool (127.0.0.51, 500 requests/s) and a costly burst pool (cloud-burst,
# 127.0.0.52); tests/integration/load_backend.py reports each one's
# utilization (X-Load) from the traffic sent to it, and `make demo-load`
# (scripts/demo-load.sh) drives eu-west past its capacity and back.
# Prints working dig and ayactl commands and runs once: the members list,
# the same geo answers from every node, a backend kill that leaves every
# node's answers (timed), its return, and a drain on node 1 seen on node 3.
# Then stays in the foreground until Ctrl-C (or DEMO_SECONDS, for tests).
# Stops only what it started, by PID.
# Each node serves its status page and /metrics on 127.0.0.I:HTTP_PORT.
# Env: B (build dir, default build/rel), DEMO_PORT (DNS, default 5300),
# DEMO_GOSSIP_PORT (default 7946), DEMO_HTTP_PORT (default 8053), DEMO_SECONDS.
set -u
ROOT=$(cd "$(dirname "$0")/.." && pwd)
B=${B:-build/rel}
case "$B" in /*) BDIR=$B ;; *) BDIR=$ROOT/$B ;; esac
PORT=${DEMO_PORT:-5300}
GPORT=${DEMO_GOSSIP_PORT:-7946}
HTTP_PORT=${DEMO_HTTP_PORT:-8053}
RUN=$(mktemp -d /tmp/aya-demo.XXXXXX)
DEMO=$ROOT/examples/demo
SRC=$DEMO/aya.yaml
NODES=(1 2 3)
REGION=([1]=eu-west [2]=us-east [3]=ap-south)
PIDFILES=()
FAILED=0
EU=81.2.69.0/24  # GB
US=8.8.8.0/24    # US
IN=14.139.1.0/24 # IN

stop() {
	local f pid
	for f in "${PIDFILES[@]}"; do
		[ -s "$f" ] || continue
		pid=$(cat "$f")
		kill -TERM "$pid" 2>/dev/null
		for _ in $(seq 1 100); do
			kill -0 "$pid" 2>/dev/null || break
			sleep 0.1
		done
		kill -0 "$pid" 2>/dev/null && kill -KILL "$pid"
		wait "$pid" 2>/dev/null
		rm -f "$f"
	done
	# A sanitizer build (B=build/san) reports into the logs: show it, fail.
	if grep -l "ERROR: AddressSanitizer\|ERROR: LeakSanitizer\|runtime error:" \
		"$RUN"/demo-*/ayad.log >/dev/null 2>&1; then
		echo "demo: sanitizer reports:" >&2
		grep -h -A20 "ERROR: AddressSanitizer\|ERROR: LeakSanitizer\|runtime error:" \
			"$RUN"/demo-*/ayad.log >&2
		rm -rf "$RUN"
		exit 1
	fi
	rm -rf "$RUN"
}
trap stop EXIT
trap 'echo; echo "demo: stopping"; exit 0' INT TERM

for b in ayad ayactl; do
	[ -x "$BDIR/$b" ] || { echo "demo: $BDIR/$b missing: run make first" >&2; exit 1; }
done
if [ ! -e "$ROOT/../shared/geo/dbip-country-lite.mmdb" ]; then
	echo "demo: $ROOT/../shared/geo/dbip-country-lite.mmdb missing (see README)" >&2
	exit 1
fi

# The cluster's keyring: one AES-256 key, base64, for this run only.
head -c32 /dev/urandom | base64 >"$RUN/keys.txt"
chmod 600 "$RUN/keys.txt"

gport() { echo $((GPORT + $1 - 1)); }

# node_config I DIR: SRC for node I (name, region, listen, gossip bind and
# seeds, keyring), with the socket and state_dir moved into DIR and relative
# paths (geo database, zone files) made absolute, so the copy works from DIR.
node_config() {
	local i=$1 dir=$2 base listen seeds="" j
	base=$(cd "$(dirname "$SRC")" && pwd)
	listen="\"127.0.0.$i:$PORT\""
	[ "$i" = 1 ] && listen="$listen, \"[::1]:$PORT\""
	for j in "${NODES[@]}"; do
		[ "$j" = "$i" ] || seeds="$seeds${seeds:+, }\"127.0.0.$j:$(gport "$j")\""
	done
	sed -E -e "s#^  name: demo-1\$#  name: demo-$i#; s#^  region: .*#  region: ${REGION[$i]}#" \
		-e "s#^  listen: \\[\"127.0.0.1:8053\"\\]#  listen: [\"127.0.0.$i:$HTTP_PORT\"]#" \
		-e "s#^  listen: \\[\"127.0.0.1:5300.*#  listen: [$listen]#" \
		-e "s#^  bind: .*#  bind: 127.0.0.$i:$(gport "$i")#; s#^  seeds: .*#  seeds: [$seeds]#" \
		-e "s#^  keyring: .*#  keyring: $RUN/keys.txt#" \
		-e "s#^(  socket: ).*#\1$dir/ayad.sock#; s#^state_dir: .*#state_dir: $dir/state#" \
		-e "s#^( *(database|file): )([^/ \"][^ ]*)#\1$base/\3#" \
		"$SRC" >"$dir/aya.yaml"
}

# start_node I: start node I, wait (bounded) for its control socket.
start_node() {
	local i=$1 dir=$RUN/demo-$1
	mkdir -p "$dir"
	node_config "$i" "$dir"
	"$BDIR/ayad" --check -c "$dir/aya.yaml" >/dev/null || return 1
	"$BDIR/ayad" -c "$dir/aya.yaml" </dev/null >"$dir/ayad.log" 2>&1 &
	echo $! >"$dir/ayad.pid"
	PIDFILES+=("$dir/ayad.pid")
	for _ in $(seq 1 100); do
		kill -0 "$(cat "$dir/ayad.pid")" 2>/dev/null || break
		[ -S "$dir/ayad.sock" ] && return 0
		sleep 0.1
	done
	echo "demo: node demo-$i did not start:" >&2
	cat "$dir/ayad.log" >&2
	return 1
}

# Demo backends of the "app" service (monitor "web").
BACKEND=$ROOT/tests/integration/health_backend.py
HPORT=18080
start_backend() { # N: 127.0.0.N:HPORT, PID file in RUN
	python3 "$BACKEND" "127.0.0.$1:$HPORT" 2>>"$RUN/backend-$1.log" &
	echo $! >"$RUN/backend-$1.pid"
	PIDFILES+=("$RUN/backend-$1.pid")
}
for n in 41 42 43 44; do
	start_backend "$n"
done
# Load-reporting backends of the "shop" service (monitor "load"): health with
# X-Load on LPORT, traffic (UDP datagrams from scripts/demo-load.sh) on LPORT+1.
LOADB=$ROOT/tests/integration/load_backend.py
LPORT=18090
SHOP_CAP=500
python3 "$LOADB" --window 0.5 --http-port $LPORT --udp-port $((LPORT + 1)) --pidfile "$RUN/load-backends.pid" \
	127.0.0.51=$SHOP_CAP 127.0.0.52=$((SHOP_CAP * 10)) 2>>"$RUN/load-backends.log" &
echo $! >"$RUN/load-backends.pid"
PIDFILES+=("$RUN/load-backends.pid")
T0=$(date +%s%3N)
for i in "${NODES[@]}"; do
	start_node "$i" || exit 1
done
since_start() { echo $(($(date +%s%3N) - T0)); }

ctl() { # ctl I ARGS...: ayactl on node I
	local i=$1
	shift
	"$BDIR/ayactl" -s "$RUN/demo-$i/ayad.sock" "$@"
}
dig_at() { # dig_at I ARGS...: dig node I
	local i=$1
	shift
	dig @127.0.0.$i -p "$PORT" +norec +time=1 +tries=1 "$@"
}
CTL1="$BDIR/ayactl -s $RUN/demo-1/ayad.sock"
CTL3="$BDIR/ayactl -s $RUN/demo-3/ayad.sock"
DIG1="dig @127.0.0.1 -p $PORT +norec"
DIG3="dig @127.0.0.3 -p $PORT +norec"

# wait_ms MAX_MS CMD...: poll CMD every 50 ms until it succeeds; prints the
# milliseconds it took, fails after MAX_MS.
wait_ms() {
	local max=$1 t0 now
	shift
	t0=$(date +%s%3N)
	while :; do
		now=$(date +%s%3N)
		if "$@"; then
			echo $((now - t0))
			return 0
		fi
		[ $((now - t0)) -ge "$max" ] && return 1
		sleep 0.05
	done
}
alive_count() { ctl "$1" members 2>/dev/null | grep -c ' alive '; }
all_alive() {
	local i
	for i in "${NODES[@]}"; do [ "$(alive_count "$i")" = 3 ] || return 1; done
}
# app_at I: node I's answer for app with a European client, sorted, one line.
app_at() { dig_at "$1" app.svc.example.com +subnet=$EU +short | sort | tr '\n' ' '; }
app_everywhere() { # app_everywhere (has|lacks) ADDR
	local i a
	for i in "${NODES[@]}"; do
		a=$(app_at "$i")
		case "$1:$a" in
		has:*"$2 "*) ;;
		lacks:*"$2 "* | lacks:) return 1 ;; # "" is a failed query, not a miss
		lacks:*) ;;
		*) return 1 ;;
		esac
	done
}
www_at() { dig_at "$1" www.svc.example.com +subnet="$2" +short | tr '\n' ' '; }
region_of() { # the region of www's answer (examples/demo/aya.yaml)
	case "$1" in
	192.0.2.*) echo eu-west ;;
	198.51.100.*) echo us-east ;;
	203.0.113.*) echo ap-south ;;
	*) echo "none" ;;
	esac
}
fail() {
	echo "demo: $*" >&2
	FAILED=1
}

cat <<EOT
Aya demo: a three-node cluster on loopback (run dir $RUN)
  demo-1  eu-west   DNS 127.0.0.1:$PORT, [::1]:$PORT  gossip 127.0.0.1:$(gport 1)  pid $(cat "$RUN/demo-1/ayad.pid")
  demo-2  us-east   DNS 127.0.0.2:$PORT               gossip 127.0.0.2:$(gport 2)  pid $(cat "$RUN/demo-2/ayad.pid")
  demo-3  ap-south  DNS 127.0.0.3:$PORT               gossip 127.0.0.3:$(gport 3)  pid $(cat "$RUN/demo-3/ayad.pid")
Gossip is sealed with the key in $RUN/keys.txt. Every node serves
svc.example.com: www has pools in eu-west, us-east and ap-south, and clients
get the nearest one by the EDNS Client Subnet they send (DB-IP country data).
The app service has health-checked backends 127.0.0.41, .42 (eu-west), .43
(us-east) and .44 (ap-south) on port $HPORT, probed by every node.
The shop service bursts into the cloud: eu-west (127.0.0.51, $SHOP_CAP requests/s)
takes everything up to 80 % utilization, the rest spills into cloud-burst
(127.0.0.52, burst: true, cost 5). The backends report their load (X-Load).

Status pages (a world map of the regions, members, pools, recent health changes):
  http://127.0.0.1:$HTTP_PORT/   http://127.0.0.2:$HTTP_PORT/   http://127.0.0.3:$HTTP_PORT/
Prometheus metrics: curl -s http://127.0.0.1:$HTTP_PORT/metrics

Try (any node answers the same; change 127.0.0.1 to .2 or .3):
  $DIG1 www.svc.example.com +subnet=$EU +short     # Europe (GB) -> eu-west
  $DIG1 www.svc.example.com +subnet=$US +short      # US -> us-east
  $DIG1 www.svc.example.com +subnet=$IN +short    # India -> ap-south
  $CTL1 members
  $CTL1 status                 # the cluster block
  $CTL1 keyring list
  $CTL1 backends app           # state, RTT, what each node observed
  $CTL1 explain www.svc.example.com 81.2.69.160
  $CTL1 drain www eu-west      # every node moves Europe to the next region
  $CTL3 undrain www eu-west    # from any node
  kill \$(cat $RUN/backend-41.pid)   # a backend crashes: every node drops .41
  python3 $BACKEND 127.0.0.41:$HPORT &   # and comes back (slow start)
  $DIG1 shop.svc.example.com +subnet=86.128.7.0/24 +short   # GB -> eu-west (.51)
  $CTL1 backends shop          # LOAD: what each backend reports
  make demo-load               # another terminal: eu-west past capacity and back

Once, to show it works:
EOT

# run CMD...: show a command, then its output, indented.
run() {
	echo "\$ $*"
	"$@" 2>&1 | sed 's/^/    /'
}

# 1. Membership.
if wait_ms 10000 all_alive >/dev/null; then
	echo "# every node lists all three members alive ($(since_start) ms after the first started)"
else
	fail "the nodes did not all see each other alive within 10 s"
fi
run $CTL1 members
echo "# (the config hash leaves out each node's own sections: same shared config, no DRIFT)"

# 2. Same geo answers from every node.
echo
echo "# www from Europe, the US and India, asked of every node (eu-west picks"
echo "# .10 or .11 by weight, so the address may differ; the region may not):"
for net in $EU $US $IN; do
	regions=""
	for i in "${NODES[@]}"; do
		a=$(www_at "$i" "$net")
		r=$(region_of "$a")
		regions="$regions $r"
		printf '$ dig @127.0.0.%s -p %s www.svc.example.com +subnet=%-14s +short  ->  %-15s %s\n' \
			"$i" "$PORT" "$net" "$a" "($r)"
	done
	set -- $regions
	[ "$1" = "$2" ] && [ "$1" = "$3" ] && [ "$1" != none ] ||
		fail "nodes disagree on www for $net:$regions"
done

# What dig shows, and why the node answered it.
echo
run $DIG1 www.svc.example.com +subnet=$EU
run $CTL1 explain www.svc.example.com 81.2.69.160

# 3. A backend crash reaches every node's answers.
echo
# backends_up: every node has seen the four app backends up.
backends_up() {
	local i
	for i in "${NODES[@]}"; do
		[ "$(ctl "$i" backends app 2>/dev/null | grep -c '/web  *up ')" = 4 ] || return 1
	done
	app_everywhere has 127.0.0.41
}
if wait_ms 10000 backends_up >/dev/null; then
	echo "# app from Europe: every node saw the 4 backends up ($(since_start) ms after the first"
	echo "# node started) and answers .41 and .42"
else
	fail "the app backends were not all up on every node within 10 s"
fi
run $DIG1 app.svc.example.com +subnet=$EU +short
run $CTL1 backends app
echo "\$ kill \$(cat $RUN/backend-41.pid)     # crash 127.0.0.41"
pid=$(cat "$RUN/backend-41.pid")
{
	kill -KILL "$pid"
	wait "$pid"
} 2>/dev/null
if ms=$(wait_ms 10000 app_everywhere lacks 127.0.0.41); then
	echo "    127.0.0.41 left the answers of all three nodes after $ms ms"
else
	fail "127.0.0.41 was still answered by some node 10 s after it died"
fi
for i in "${NODES[@]}"; do
	printf '$ dig @127.0.0.%s -p %s app.svc.example.com +subnet=%s +short  ->  %s\n' \
		"$i" "$PORT" "$EU" "$(app_at "$i")"
done
run $CTL3 backends app
echo "\$ python3 $BACKEND 127.0.0.41:$HPORT &     # bring it back"
start_backend 41
if ms=$(wait_ms 10000 app_everywhere has 127.0.0.41); then
	echo "    127.0.0.41 is back in the answers of all three nodes after $ms ms"
else
	fail "127.0.0.41 did not come back within 10 s"
fi

# 4. shop: the cheap region answers while it has room.
shop_cheap() {
	local i
	for i in "${NODES[@]}"; do
		[ "$(ctl "$i" backends shop 2>/dev/null | grep -c '/load  *up ')" = 2 ] || return 1
		[ "$(dig_at "$i" shop.svc.example.com +subnet=86.128.7.0/24 +short)" = 127.0.0.51 ] ||
			return 1
	done
}
echo
if wait_ms 10000 shop_cheap >/dev/null; then
	echo "# shop from Great Britain: every node answers eu-west's 127.0.0.51 (cheap,"
	echo "# idle); cloud-burst (127.0.0.52) is ordered last, for overflow only"
else
	fail "shop was not answered from eu-west (127.0.0.51) by every node within 10 s"
fi
run $CTL1 backends shop

# 5. A drain on node 1 is seen by node 3.
echo
eu_region_at() { region_of "$(www_at "$1" $EU)"; }
eu_moved() { [ "$(eu_region_at 3)" = us-east ]; }
eu_back() { [ "$(eu_region_at 1)" = eu-west ]; }
run $CTL1 drain www eu-west
if ms=$(wait_ms 5000 eu_moved); then
	echo "    node 3 follows the drain after $ms ms:"
else
	fail "node 3 did not follow the drain within 5 s"
fi
run $DIG3 www.svc.example.com +subnet=$EU +short
run $CTL3 undrain www eu-west
if ms=$(wait_ms 5000 eu_back); then
	echo "    node 1 follows the undrain made on node 3 after $ms ms:"
else
	fail "node 1 did not follow the undrain within 5 s"
fi
run $DIG1 www.svc.example.com +subnet=$EU +short
echo
echo "\$ curl -s http://127.0.0.3:$HTTP_PORT/metrics | grep -E '^aya_(service_answers_total|gossip_members)'"
curl -s --max-time 5 "http://127.0.0.3:$HTTP_PORT/metrics" |
	grep -E '^aya_(service_answers_total|gossip_members)' | sed 's/^/    /' ||
	fail "node 3 did not serve /metrics on 127.0.0.3:$HTTP_PORT"
echo
echo "\$ $CTL3 status     (its cluster block)"
ctl 3 status | sed -n '/^cluster/,/^queries/p' | sed '$d; s/^/    /'
echo
if [ "$FAILED" != 0 ]; then
	echo "demo: some steps failed (logs: $RUN/demo-*/ayad.log)" >&2
	trap - EXIT
	stop
	exit 1
fi
cat <<EOT
Cloud bursting: in another terminal, run

  make demo-load      # or: scripts/demo-load.sh $RUN

200 simulated caching resolvers in Great Britain ask node 1 for shop and send
their clients' requests to the answer: 250/s, 1,000/s (2x eu-west's capacity)
from 20 s to 65 s, then 250/s. It prints every second the share of the traffic
each region gets and the utilization each backend reports. Meanwhile:

  $CTL1 services       # shop's pools
  $CTL1 explain shop.svc.example.com 86.128.7.1 --subnet 24   # the load step
  $CTL1 backends shop  # the load each node reads

Ctrl-C stops the demo.
EOT

nodes_up() {
	local f
	for f in "$RUN"/demo-*/ayad.pid; do kill -0 "$(cat "$f")" 2>/dev/null || return 1; done
}
end=$((SECONDS + ${DEMO_SECONDS:-1000000000}))
while [ "$SECONDS" -lt "$end" ]; do
	if ! nodes_up; then
		echo "demo: a node exited" >&2
		exit 1
	fi
	sleep 1
done
