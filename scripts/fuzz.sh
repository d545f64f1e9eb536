#!/bin/sh
# Build the libFuzzer targets (tests/fuzz/fuzz_<target>.c) with clang, ASan
# and UBSan, and run each for $FUZZ_SECONDS on a copy of its seed corpus
# (tests/fuzz/corpus/<target>/). Targets, by default all of them:
#   query     a DNS query, answered over UDP and TCP (dnsd/, policy/, geo/)
#   gossip    gossip datagrams and push/pull frames after the envelope (gossip/)
#   pushpull  the state blob of a push/pull exchange (state/wire.c)
#   state     one state record: store codecs, gossip records (state/)
#   control   control request and reply bodies, rendered (control/)
#   http      HTTP probe responses and the load read from them (agent/)
#   load      the load parsers alone: header, JSON path, Prometheus (agent/load.c)
#   config    the YAML config loader (config/)
#   zone      zone files, through a fixed config (config/zone.c, ldns)
# The module archives are built first by make, instrumented, in $B/fuzz/build/.
# New crashes land in $B/fuzz/crashes/<target>/; fix them and copy the input
# into tests/fuzz/corpus/<target>/ so `make test` replays it
# ($B/fuzz/replay_<target>, the same target built with the normal compiler).
# A target's seeds come from `$B/fuzz/replay_<target> --write-seeds DIR`
# (query: tests/fuzz/gen_query_corpus.py).
#
#   FUZZ_CC=clang FUZZ_SECONDS=60 B=build/rel scripts/fuzz.sh [target...]
set -eu

FUZZ_CC=${FUZZ_CC:-clang}
FUZZ_SECONDS=${FUZZ_SECONDS:-60}
FUZZ_JOBS=${FUZZ_JOBS:-2}
B=${B:-build/rel}
OUT="$B/fuzz"
LIBB="$OUT/build"
SAN="address,undefined -fno-sanitize-recover=undefined"

echo "fuzz: building the instrumented modules in $LIBB"
make -s -j"$FUZZ_JOBS" B="$LIBB" CC="$FUZZ_CC" \
	CFLAGS="-g -O1 -fsanitize=fuzzer-no-link,$SAN" fuzz-env
# shellcheck disable=SC1091
. "$LIBB/fuzz.env"

# shellcheck disable=SC2086
[ $# -eq 0 ] && set -- $FUZZ_TARGETS
mkdir -p "$OUT"
for t in "$@"; do
	eval "srcs=\${srcs_$t:-}"
	if [ -z "$srcs" ]; then
		echo "fuzz: unknown target $t (targets: $FUZZ_TARGETS)" >&2
		exit 2
	fi
	bin="$OUT/fuzz_$t"
	echo "fuzz: building $bin"
	# shellcheck disable=SC2086
	$FUZZ_CC -std=c11 -D_GNU_SOURCE -g -O1 -fsanitize=fuzzer,$SAN $FUZZ_CFLAGS \
		-o "$bin" $srcs $FUZZ_LIBS -pthread
	work="$OUT/corpus/$t"
	crashes="$OUT/crashes/$t"
	mkdir -p "$work" "$crashes"
	cp tests/fuzz/corpus/"$t"/* "$work"/ 2>/dev/null || true
	echo "fuzz: running $t for ${FUZZ_SECONDS}s"
	"$bin" -max_total_time="$FUZZ_SECONDS" -max_len=4096 -timeout=10 \
		-artifact_prefix="$crashes/" -print_final_stats=1 "$work" \
		>"$OUT/$t.log" 2>&1 || {
		echo "fuzz: $t failed, see $OUT/$t.log and $crashes/" >&2
		tail -40 "$OUT/$t.log" >&2
		exit 1
	}
	grep -E '^#[0-9]+.*(DONE|pulse|NEW|REDUCE)' "$OUT/$t.log" | tail -1 || true
	grep -E 'stat::number_of_executed_units|stat::average_exec_per_sec|stat::peak_rss' \
		"$OUT/$t.log" || true
done
