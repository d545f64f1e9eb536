#!/usr/bin/env bash
# Cloud bursting, against a running `make demo`: simulated caching resolvers
# (tests/integration/resolver_sim.py) in Great Britain ask demo node 1 for
# shop.svc.example.com, cache the answer for its TTL (5 s) and send their
# clients' requests (UDP datagrams) to the address they hold. The backends the
# demo started (tests/integration/load_backend.py on 127.0.0.51-52) report
# that traffic as their utilization, the monitors read it, and the load loop
# moves the answers: eu-west (500 requests/s) up to its target, the rest into
# cloud-burst, and back when the demand falls.
#
#   scripts/demo-load.sh [RUN_DIR]      (make demo-load)
#
# RUN_DIR is the demo's /tmp/aya-demo.XXXXXX (make demo prints it); default:
# the newest one whose node 1 is running. Prints a line a second; bounded by
# DEMO_LOAD_SECONDS (default 95). Env: DEMO_LOAD_SCHEDULE (default
# "0:250,20:1000,65:250", seconds:requests/s), DEMO_LOAD_RESOLVERS (200),
# DEMO_PORT (5300). While it runs, `echo 1500 > RUN_DIR/demo-load.rate` sets
# the demand (remove the file to go back to the schedule).
set -u
ROOT=$(cd "$(dirname "$0")/.." && pwd)
B=${B:-build/rel}
case "$B" in /*) BDIR=$B ;; *) BDIR=$ROOT/$B ;; esac
PORT=${DEMO_PORT:-5300}
SECONDS_MAX=${DEMO_LOAD_SECONDS:-95}
SCHEDULE=${DEMO_LOAD_SCHEDULE:-0:250,20:1000,65:250}
RESOLVERS=${DEMO_LOAD_RESOLVERS:-200}
SVC=shop.svc.example.com
CLIENT=86.128.7.1 # one of the resolvers' clients (86.128.0.0/13 is GB in DB-IP)

RUN=${1:-}
if [ -z "$RUN" ]; then
	# shellcheck disable=SC2045 # newest first; mktemp names have no spaces
	for d in $(ls -dt /tmp/aya-demo.* 2>/dev/null); do
		if [ -s "$d/demo-1/ayad.pid" ] && kill -0 "$(cat "$d/demo-1/ayad.pid")" 2>/dev/null; then
			RUN=$d
			break
		fi
	done
fi
if [ -z "$RUN" ] || [ ! -S "$RUN/demo-1/ayad.sock" ]; then
	echo "demo-load: no running demo found (start one with 'make demo', or give its run dir)" >&2
	exit 1
fi
CTL="$BDIR/ayactl -s $RUN/demo-1/ayad.sock"
if ! $CTL services 2>/dev/null | grep -q "^$SVC "; then
	echo "demo-load: the demo in $RUN has no $SVC service (an older demo? restart it)" >&2
	exit 1
fi
RATE_FILE=$RUN/demo-load.rate
PEEK_PID=

stop() {
	[ -n "$PEEK_PID" ] && kill "$PEEK_PID" 2>/dev/null
	rm -f "$RATE_FILE"
}
trap stop EXIT
trap 'echo; echo "demo-load: stopped"; exit 0' INT TERM

cat <<EOT
demo-load: $RESOLVERS caching resolvers (client /24s in 86.128.0.0/13, GB) ask
127.0.0.1:$PORT for $SVC and send their clients' requests to the answer.
Demand (s:requests/s): $SCHEDULE; eu-west takes 500/s (target 80 % = 400/s).
Each second: the share of the requests each region got, the utilization each
backend reports (X-Load), the DNS queries the resolvers sent, unanswered ones.
In another terminal, watch the answers move:

  $CTL services
  $CTL explain $SVC $CLIENT --subnet 24
  $CTL backends shop
  watch -n1 "$CTL services | sed -n '/^$SVC/,/^\$/p'"
  echo 1500 > $RATE_FILE     # change the demand now (rm it: back to the schedule)

EOT

# Halfway through the peak: what ayactl shows (the steering is at work).
peak_s=$(python3 -c "
s = [tuple(map(float, x.split(':'))) for x in '$SCHEDULE'.split(',')]
hi = max(s, key=lambda x: x[1]); nxt = [t for t, _ in s if t > hi[0]]
end = min(nxt[0] if nxt else $SECONDS_MAX, $SECONDS_MAX)
print(int((hi[0] + end) / 2))")
(
	sleep "$peak_s"
	{
		echo
		echo "---- t=${peak_s}s, at the peak: \$ ayactl services   (shop)"
		$CTL services | sed -n "/^$SVC/,/^\$/p" | sed 's/^/    /'
		echo "---- \$ ayactl explain $SVC $CLIENT --subnet 24   (the load step and the answer)"
		$CTL explain "$SVC" "$CLIENT" --subnet 24 | sed -n '/^pool order/p; /load:/,/weighted:/p; /^answer/p' |
			sed '/weighted:/d; s/^/    /'
		echo
	} 2>&1
) &
PEEK_PID=$!

python3 "$ROOT/tests/integration/resolver_sim.py" --server "127.0.0.1:$PORT" --name "$SVC" \
	--backend 127.0.0.51=eu-west --backend 127.0.0.52=cloud-burst \
	--resolvers "$RESOLVERS" --subnets 86.128.0.0/13 --schedule "$SCHEDULE" \
	--control "$RATE_FILE" --duration "$SECONDS_MAX" --udp-port 18091 --http-port 18090
rc=$?
echo
echo "Now: $CTL services   (shop back on eu-west)"
exit $rc
