#!/usr/bin/env bash
# Aya demo: nodes on loopback serving examples/demo/, a service in three
# regions answered from the real DB-IP country database (../shared/geo).
# Prints working dig and ayactl commands, runs them once so the output shows
# Europe, the US and India getting different regions, then stays in the
# foreground until Ctrl-C (or DEMO_SECONDS, for tests). Stops only what it
# started, by PID.
# The "app" service is health-checked: three python3 HTTP backends on
# 127.0.0.41-43:18080 (/health) run for the demo; kill one and watch dig and
# `ayactl backends` change.
# Env: B (build dir, default build/rel), DEMO_PORT (default 5300), DEMO_SECONDS.
#
# Extending to a cluster: add a line to NODES (config file, port) and a
# config in examples/demo/; start_node handles the rest.
set -u
ROOT=$(cd "$(dirname "$0")/.." && pwd)
B=${B:-build/rel}
case "$B" in /*) BDIR=$B ;; *) BDIR=$ROOT/$B ;; esac
PORT=${DEMO_PORT:-5300}
RUN=$(mktemp -d /tmp/aya-demo.XXXXXX)
DEMO=$ROOT/examples/demo
NODES=("$DEMO/aya.yaml $PORT")
PIDFILES=()
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
	rm -rf "$RUN"
}
trap stop EXIT
trap 'echo; echo "demo: stopping"; exit 0' INT TERM

for b in ayad ayactl; do
	[ -x "$BDIR/$b" ] || { echo "demo: $BDIR/$b missing: run make first" >&2; exit 1; }
done
if ! grep -q "database:" "$DEMO/aya.yaml" ||
	[ ! -e "$ROOT/../shared/geo/dbip-country-lite.mmdb" ]; then
	echo "demo: $ROOT/../shared/geo/dbip-country-lite.mmdb missing (see README)" >&2
	exit 1
fi

# node_config SRC PORT DIR: SRC with the port, socket and state_dir moved
# into DIR and relative paths (geo database, zone files) made absolute, so
# the copy works from DIR.
node_config() {
	local src=$1 port=$2 dir=$3 base
	base=$(cd "$(dirname "$src")" && pwd)
	sed -E -e "s#127\.0\.0\.1:[0-9]+#127.0.0.1:$port#; s#\[::1\]:[0-9]+#[::1]:$port#" \
		-e "s#^(  socket: ).*#\1$dir/ayad.sock#; s#^state_dir: .*#state_dir: $dir/state#" \
		-e "s#^( *(database|file): )([^/ \"][^ ]*)#\1$base/\3#" \
		"$src" >"$dir/aya.yaml"
}

# start_node SRC PORT: start one ayad, wait for its control socket. Prints its dir.
start_node() {
	local src=$1 port=$2 name dir
	name=$(basename "$src" .yaml)-$port
	dir=$RUN/$name
	mkdir -p "$dir"
	node_config "$src" "$port" "$dir"
	"$BDIR/ayad" --check -c "$dir/aya.yaml" >/dev/null || return 1
	# Not our stdout: start_node runs in $(...), which waits for it to close.
	"$BDIR/ayad" -c "$dir/aya.yaml" </dev/null >"$dir/ayad.log" 2>&1 &
	echo $! >"$dir/ayad.pid"
	for _ in $(seq 1 100); do
		kill -0 "$(cat "$dir/ayad.pid")" 2>/dev/null || break
		if [ -S "$dir/ayad.sock" ]; then
			echo "$dir"
			return 0
		fi
		sleep 0.1
	done
	echo "demo: ayad ($src) did not start:" >&2
	cat "$dir/ayad.log" >&2
	return 1
}

# Demo backends of the "app" service (examples/demo/aya.yaml, monitor "web").
BACKEND=$ROOT/tests/integration/health_backend.py
HPORT=18080
start_backend() { # N: 127.0.0.N:HPORT, PID file in RUN
	python3 "$BACKEND" "127.0.0.$1:$HPORT" 2>>"$RUN/backend-$1.log" &
	echo $! >"$RUN/backend-$1.pid"
	PIDFILES+=("$RUN/backend-$1.pid")
}
for n in 41 42 43; do
	start_backend "$n"
done

DIRS=()
for n in "${NODES[@]}"; do
	set -- $n
	dir=$(start_node "$1" "$2") || exit 1
	# The PID file list lives in this shell: start_node ran in a subshell.
	PIDFILES+=("$dir/ayad.pid")
	DIRS+=("$dir")
done
D=${DIRS[0]}
CTL="$BDIR/ayactl -s $D/ayad.sock"
DIG="dig @127.0.0.1 -p $PORT +norec"

# run CMD...: show a command, then its output, indented.
run() {
	echo "\$ $*"
	"$@" 2>&1 | sed 's/^/    /'
}

cat <<EOT
Aya demo node "demo-1" is serving svc.example.com on 127.0.0.1:$PORT and
[::1]:$PORT (pid $(cat "$D/ayad.pid"), log $D/ayad.log). The service
www.svc.example.com has pools in eu-west, us-east and ap-south; clients get the
nearest one, by the EDNS Client Subnet they send, located with the DB-IP
country database.

Try:
  $DIG www.svc.example.com +subnet=$EU +short     # Europe (GB) -> eu-west
  $DIG www.svc.example.com +subnet=$US +short      # US -> us-east
  $DIG www.svc.example.com +subnet=$IN +short    # India -> ap-south
  $DIG www.svc.example.com +subnet=$EU            # see CLIENT-SUBNET: the scope
  $CTL services
  $CTL explain www.svc.example.com 81.2.69.160
  $CTL drain www eu-west       # Europe moves to the next region
  $CTL undrain www eu-west
  $CTL status

Health checks (service app: 127.0.0.41, .42 in eu-west, .43 in us-east):
  $DIG app.svc.example.com +subnet=$EU +short    # .41 and .42
  $CTL backends app                               # state, RTT, observers, policy
  kill \$(cat $RUN/backend-41.pid)                # crash a backend, then dig again:
                                                  # .41 leaves within about 1 s
  python3 $BACKEND 127.0.0.41:$HPORT &            # bring it back: slow start
  $CTL backends app                               # shows slow-start NN%

Once, to show it works:
EOT
for net in $EU $US $IN; do
	run $DIG www.svc.example.com +subnet="$net" +short
done
echo "\$ $DIG www.svc.example.com +subnet=$EU     (the answer and its ECS scope)"
$DIG www.svc.example.com +subnet=$EU | grep -E "CLIENT-SUBNET|IN[[:space:]]+A" | sed 's/^/    /'
run $CTL explain www.svc.example.com 81.2.69.160
run $CTL drain www eu-west
run $DIG www.svc.example.com +subnet=$EU +short
run $CTL undrain www eu-west
run $DIG www.svc.example.com +subnet=$EU +short

# Health: wait (bounded) until the probes marked the backends up, kill one.
app() { $DIG app.svc.example.com +subnet=$EU +short | sort | tr '\n' ' '; }
for _ in $(seq 1 50); do
	[ "$($CTL backends app | grep -c ' up ')" = 3 ] && break
	sleep 0.1
done
run $CTL backends app
echo "\$ kill \$(cat $RUN/backend-41.pid)     # crash 127.0.0.41"
pid=$(cat "$RUN/backend-41.pid")
{
	kill -KILL "$pid"
	wait "$pid"
} 2>/dev/null
t0=$(date +%s%3N)
for _ in $(seq 1 60); do
	case "$(app)" in *127.0.0.41*) sleep 0.05 ;; *) break ;; esac
done
echo "    (127.0.0.41 left the answers after $(($(date +%s%3N) - t0)) ms)"
run $DIG app.svc.example.com +subnet=$EU +short
run $CTL backends app
echo "\$ python3 $BACKEND 127.0.0.41:$HPORT &     # bring it back"
start_backend 41
for _ in $(seq 1 60); do
	case "$(app)" in *127.0.0.41*) break ;; *) sleep 0.05 ;; esac
done
run $DIG app.svc.example.com +subnet=$EU +short
run $CTL backends app
echo
echo "Ctrl-C stops the demo."

if [ -n "${DEMO_SECONDS:-}" ]; then
	end=$((SECONDS + DEMO_SECONDS))
	while [ "$SECONDS" -lt "$end" ] && kill -0 "$(cat "$D/ayad.pid")" 2>/dev/null; do
		sleep 1
	done
else
	while kill -0 "$(cat "$D/ayad.pid")" 2>/dev/null; do
		sleep 1
	done
	echo "demo: ayad exited" >&2
	exit 1
fi
