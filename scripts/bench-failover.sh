#!/usr/bin/env bash
# Single-node failover benchmark, called by `make bench`:
#   - failover time with the DEFAULT monitor settings (interval 500 ms,
#     timeout 300 ms, fall 2): from SIGKILL of a backend to the first DNS
#     answer without it, polled with a UDP query every 10 ms; median and max
#     over RUNS runs; and the time until a restarted backend is answered again;
#   - ayad's CPU and RSS while probing ENDPOINTS endpoints every second, with
#     kept-alive probe connections (the default) and with keepalive: false.
# Loopback only; every process is stopped by PID. Method and results:
# docs/dev/failover.md.
# Env: B (build dir, default build/rel), RUNS (10), ENDPOINTS (1000),
# MEASURE_S (20), OUT (Markdown table file, optional).
set -eu
ROOT=$(cd "$(dirname "$0")/.." && pwd)
B=${B:-build/rel}
case "$B" in
/*) BDIR=$B ;;
*) BDIR=$ROOT/$B ;;
esac
for p in ayad ayactl; do
	[ -x "$BDIR/$p" ] || { echo "bench-failover: $BDIR/$p missing (make first)" >&2; exit 1; }
done
DIR=$(mktemp -d /tmp/aya-failover.XXXXXX)
trap 'rm -rf "$DIR"' EXIT
echo "== single-node failover (scripts/bench-failover.sh)"
python3 "$ROOT/tests/bench/failover/failover.py" --ayad "$BDIR/ayad" --ayactl "$BDIR/ayactl" \
	--backend "$ROOT/tests/bench/failover/ka_backend.py" --dir "$DIR" \
	--runs "${RUNS:-10}" --endpoints "${ENDPOINTS:-1000}" --measure-s "${MEASURE_S:-20}" \
	${OUT:+--markdown "$OUT"}
