#!/usr/bin/env bash
# Aya demo: one node on loopback serving examples/zones/svc.example.com.zone.
# Prints working dig and ayactl commands and stays in the foreground until
# Ctrl-C (or DEMO_SECONDS, for tests). Stops only what it started, by PID.
# Env: B (build dir, default build/rel), DEMO_PORT (default 5300), DEMO_SECONDS.
set -u
ROOT=$(cd "$(dirname "$0")/.." && pwd)
B=${B:-build/rel}
case "$B" in /*) BDIR=$B ;; *) BDIR=$ROOT/$B ;; esac
PORT=${DEMO_PORT:-5300}
RUN=$(mktemp -d /tmp/aya-demo.XXXXXX)
PIDFILE=$RUN/ayad.pid

stop() {
	if [ -s "$PIDFILE" ]; then
		pid=$(cat "$PIDFILE")
		kill -TERM "$pid" 2>/dev/null
		for _ in $(seq 1 100); do
			kill -0 "$pid" 2>/dev/null || break
			sleep 0.1
		done
		kill -0 "$pid" 2>/dev/null && kill -KILL "$pid"
		wait "$pid" 2>/dev/null
		rm -f "$PIDFILE"
	fi
	rm -rf "$RUN"
}
trap stop EXIT
trap 'echo; echo "demo: stopping"; exit 0' INT TERM

for b in ayad ayactl; do
	[ -x "$BDIR/$b" ] || { echo "demo: $BDIR/$b missing: run make first" >&2; exit 1; }
done

# Copy the example into the run dir so relative paths resolve and nothing
# under /tmp/aya-ams-1 (examples/aya.yaml's state dir) is shared.
mkdir -p "$RUN/zones"
cp "$ROOT/examples/zones/svc.example.com.zone" "$RUN/zones/"
sed -e "s#127.0.0.1:5300#127.0.0.1:$PORT#; s#\[::1\]:5300#[::1]:$PORT#" \
	-e "s#/tmp/aya-ams-1/ayad.sock#$RUN/ayad.sock#; s#^state_dir: .*#state_dir: $RUN/state#" \
	"$ROOT/examples/aya.yaml" >"$RUN/aya.yaml"

"$BDIR/ayad" --check -c "$RUN/aya.yaml" || exit 1
"$BDIR/ayad" -c "$RUN/aya.yaml" 2>"$RUN/ayad.log" &
echo $! >"$PIDFILE"
up=0
for _ in $(seq 1 100); do
	kill -0 "$(cat "$PIDFILE")" 2>/dev/null || break
	if [ -S "$RUN/ayad.sock" ]; then up=1; break; fi
	sleep 0.1
done
if [ "$up" -ne 1 ]; then
	echo "demo: ayad did not start:" >&2
	cat "$RUN/ayad.log" >&2
	exit 1
fi

cat <<EOT
Aya demo node "ams-1" (region eu-west) is serving svc.example.com
on 127.0.0.1:$PORT and [::1]:$PORT (pid $(cat "$PIDFILE"), log $RUN/ayad.log).

Try:
  dig @127.0.0.1 -p $PORT api.svc.example.com A
  dig @::1 -p $PORT svc.example.com SOA +nsid
  dig @127.0.0.1 -p $PORT nope.svc.example.com A           # NXDOMAIN
  dig @127.0.0.1 -p $PORT big.svc.example.com TXT +ignore   # TC over UDP
  dig @127.0.0.1 -p $PORT big.svc.example.com TXT +tcp
  dig @127.0.0.1 -p $PORT id.server CH TXT
  $BDIR/ayactl -s $RUN/ayad.sock status
  $BDIR/ayactl -s $RUN/ayad.sock --json status
  $BDIR/ayactl -s $RUN/ayad.sock reload     # after editing $RUN/zones/svc.example.com.zone

Ctrl-C stops the node.
EOT
if [ -n "${DEMO_SECONDS:-}" ]; then
	end=$((SECONDS + DEMO_SECONDS))
	while [ "$SECONDS" -lt "$end" ] && kill -0 "$(cat "$PIDFILE")" 2>/dev/null; do
		sleep 1
	done
else
	while kill -0 "$(cat "$PIDFILE")" 2>/dev/null; do
		sleep 1
	done
	echo "demo: ayad exited" >&2
	exit 1
fi
