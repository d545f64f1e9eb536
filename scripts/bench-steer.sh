#!/usr/bin/env bash
# scripts/bench-steer.sh: the load-steering scenarios (make bench, BENCH_PARTS
# steer). Runs the simulation of caching resolvers in front of the real policy
# compiler and load loop (tests/policy/test_steer.c, steer_sim.c) and prints,
# per scenario, Aya's loop, the same loop without its forecast, least-loaded
# and static weights side by side: convergence in TTLs, overshoot above the
# limit, oscillation (stddev), burst traffic against the least possible, the
# share served away from the nearest region. docs/dev/steering.md explains every
# column. The clock is simulated: the whole table takes a few seconds.
#
# Environment: B (build dir, default build/rel), SEED (default 42).
set -euo pipefail
cd "$(dirname "$0")/.."
B=${B:-build/rel}
make -s B="$B" "$B/tests/policy/test_steer" >/dev/null
echo "== load steering: simulated scenarios (seed ${SEED:-42}; docs/dev/steering.md)"
out=$(SEED=${SEED:-42} timeout 300 "$B/tests/policy/test_steer" 2>&1) || {
	echo "$out" >&2
	echo "bench-steer: the simulation failed" >&2
	exit 1
}
printf '%s\n' "$out" | grep -E '^\||^goals'
