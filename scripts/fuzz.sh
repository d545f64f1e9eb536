#!/bin/sh
# Build the libFuzzer targets with clang (ASan + UBSan) and run each for
# $FUZZ_SECONDS on a copy of its seed corpus. New crashes land in
# $B/fuzz/crashes/<target>/; copy them into tests/fuzz/corpus/<target>/ with
# the fix so `make test` replays them (build/<dir>/fuzz/replay_<target>).
#
#   FUZZ_CC=clang FUZZ_SECONDS=60 B=build/rel scripts/fuzz.sh [target...]
set -eu

FUZZ_CC=${FUZZ_CC:-clang}
FUZZ_SECONDS=${FUZZ_SECONDS:-60}
B=${B:-build/rel}
OUT="$B/fuzz"
SAN="-fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined"
CFLAGS="-std=c11 -D_GNU_SOURCE -g -O1 -I. $(pkg-config --cflags ldns openssl libmaxminddb)"
LIBS="$(pkg-config --libs ldns openssl libmaxminddb) -lm"

# Library sources each target needs (no archives: everything instrumented).
COMMON="common/log.c common/arena.c common/dname.c"
srcs_query="tests/fuzz/fuzz_query.c tests/dnsd/fixture.c dnsd/snap.c dnsd/answer.c
	dnsd/edns.c dnsd/cookie.c dnsd/counters.c policy/*.c geo/*.c $COMMON"

[ $# -eq 0 ] && set -- query
mkdir -p "$OUT"
for t in "$@"; do
	eval "srcs=\$srcs_$t"
	bin="$OUT/fuzz_$t"
	echo "fuzz: building $bin"
	# shellcheck disable=SC2086
	$FUZZ_CC $CFLAGS $SAN -o "$bin" $srcs $LIBS -pthread
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
	tail -12 "$OUT/$t.log" | grep -E 'stat::|Done' || true
done
