#!/usr/bin/env bash
# Test runner for `make test`: every cmocka binary given on the command line,
# every tests/integration/test_*.sh, and a replay of the fuzz corpora. Prints
# each suite's result and ends with one line "N passed, N failed, N skipped".
# Env: B (build dir, e.g. build/rel), SANITIZE (0/1), TESTS_FILTER (regex on
# suite names, optional), TEST_TIMEOUT (seconds per suite, default 600).
set -u
B=${B:-build/rel}
export B
timeout_s=${TEST_TIMEOUT:-600}
filter=${TESTS_FILTER:-}
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0:strict_string_checks=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}

passed=0
failed=0
skipped=0
failed_names=()
logdir=$(mktemp -d /tmp/aya-tests.XXXXXX)

count_suite() { # name rc logfile kind
	local name=$1 rc=$2 log=$3 kind=$4 p=0 f=0 k=0
	if [ "$kind" = cmocka ]; then
		k=$(sed -n 's/.*\[  SKIPPED \] \([0-9]*\) test(s), listed below:.*/\1/p' "$log" | tail -n1)
		k=${k:-0}
		p=$(sed -n 's/.*\[  PASSED  \] \([0-9]*\) test(s)\..*/\1/p' "$log" | tail -n1)
		f=$(sed -n 's/.*\[  FAILED  \] \([0-9]*\) test(s), listed below:.*/\1/p' "$log" | tail -n1)
		p=${p:-0}
		f=${f:-0}
	elif [ "$kind" = exit ]; then
		[ "$rc" -eq 0 ] && p=1
	else
		p=$(grep -c '^ok - ' "$log")
		f=$(grep -c '^not ok - ' "$log")
	fi
	# A crash, a sanitizer report or a non-zero exit fails the suite even if
	# every case it printed passed.
	if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then
		f=1
	fi
	if [ "$p" -eq 0 ] && [ "$f" -eq 0 ] && [ "$k" -eq 0 ]; then
		f=1 # a suite that ran nothing is a failure
	fi
	passed=$((passed + p))
	skipped=$((skipped + k))
	failed=$((failed + f))
	if [ "$f" -gt 0 ]; then
		failed_names+=("$name")
		printf 'FAIL  %-40s %d passed, %d failed (log: %s)\n' "$name" "$p" "$f" "$log"
		tail -n 30 "$log" | sed 's/^/    | /'
	else
		printf 'PASS  %-40s %d passed%s\n' "$name" "$p" "$([ "$k" -gt 0 ] && echo ", $k skipped")"
	fi
}

run_suite() { # name kind cmd...
	local name=$1 kind=$2
	shift 2
	if [ -n "$filter" ] && ! [[ $name =~ $filter ]]; then
		return
	fi
	local log="$logdir/$(echo "$name" | tr '/' '_').log"
	timeout --kill-after=10 "$timeout_s" "$@" >"$log" 2>&1
	count_suite "$name" $? "$log" "$kind"
}

for bin in "$@"; do
	run_suite "${bin#"$B"/}" cmocka "$bin"
done

for t in tests/integration/test_*.sh; do
	[ -e "$t" ] || continue
	run_suite "$t" tap bash "$t"
done

# Fuzz corpora: every target's seeds and past crashes replayed (built with
# the normal compiler, so the sanitizers of this build apply).
for r in "$B"/fuzz/replay_*; do
	[ -x "$r" ] || continue
	corpus=tests/fuzz/corpus/${r##*/replay_}
	[ -d "$corpus" ] || continue
	run_suite "fuzz/${r##*/}" exit "$r" "$corpus"
done

echo
if [ "$failed" -gt 0 ]; then
	echo "failed suites: ${failed_names[*]}"
fi
echo "$passed passed, $failed failed, $skipped skipped"
if [ "$failed" -eq 0 ]; then
	rm -rf "$logdir" # logs are kept only when something failed
	exit 0
fi
exit 1
