#!/bin/bash
# scripts/bench-rrl.sh: the cost of response rate limiting (make bench
# BENCH_PARTS=rrl). ayad, NSD and Knot serve the bench zone (the same
# templates as scripts/bench.sh), each in four variants on its own port:
#
#   off    no rate limiting
#   pass   RRL on with a limit the bench never reaches: every query pays
#          the key hash and the bucket update, none is limited (60,000/s per
#          key: Knot 3.2 keeps tokens in 16 bits, so 65,535 is its ceiling;
#          the query set spreads the load over 50 names, so one key gets a
#          50th of it)
#   slip   RRL on, 10/s and slip 1: after the first 10, every reply is a
#          truncated TC=1 (the limited path that still answers)
#   drop   RRL on, 10/s and slip 0: every reply after the first 10 dropped
#
# The load generator comes from one source (127.0.0.1) asking for h1..h50
# A, 50 names added to the bench zone: 50 keys for each of the servers. off, pass and slip are measured at
# saturation (q/s, server CPU per reply); drop cannot be (nothing comes
# back), so off and drop are also run at a fixed rate and compared by the
# server's CPU time per query received. Servers pinned to one CPU, the load
# generator to another; rounds interleaved; medians. Bounded in time, every
# server stopped by PID.
#
# Environment: B (build dir, default build/rel), BENCH_ROUNDS (3),
# BENCH_SECONDS (4), BENCH_QUICK=1 (2 rounds x 2 s), BENCH_RATE (fixed rate,
# default 50000), BENCH_WINDOW (in flight at saturation, 100),
# BENCH_RRL_SERVERS (default "ayad nsd knot"), BENCH_RRL_PORT_BASE (5421),
# BENCH_SERVER_CPU / BENCH_LOADGEN_CPU (0 / 1), BENCH_OUT (default $B/bench).
set -u

B=${B:-build/rel}
ROUNDS=${BENCH_ROUNDS:-3}
SECS=${BENCH_SECONDS:-4}
if [ "${BENCH_QUICK:-0}" = 1 ]; then
	ROUNDS=${BENCH_ROUNDS:-2}
	SECS=${BENCH_SECONDS:-2}
fi
RATE=${BENCH_RATE:-50000}
WINDOW=${BENCH_WINDOW:-100}
SERVERS=${BENCH_RRL_SERVERS-ayad nsd knot}
PORT_BASE=${BENCH_RRL_PORT_BASE:-5421}
SRV_CPU=${BENCH_SERVER_CPU:-0}
LG_CPU=${BENCH_LOADGEN_CPU:-1}
OUT=${BENCH_OUT:-$B/bench}
VARIANTS="off pass slip drop"
NAMES=50
TOP=$(cd "$(dirname "$0")/.." && pwd)
CONF=$TOP/tests/bench/conf
case "$B" in /*) BDIR=$B ;; *) BDIR=$TOP/$B ;; esac
LOADGEN=$BDIR/aya-loadgen
ZONE=$TOP/examples/zones/svc.example.com.zone
HZ=$(getconf CLK_TCK)

die() {
	echo "bench-rrl: $*" >&2
	exit 1
}
[ -x "$LOADGEN" ] || die "$LOADGEN not built"
case "$ROUNDS$SECS$RATE$WINDOW" in *[!0-9]*) die "BENCH_* numbers must be integers" ;; esac

TMP=$(mktemp -d /tmp/aya-bench-rrl.XXXXXX) || die "mktemp failed"
mkdir -p "$OUT" || die "cannot create $OUT"
RES=$TMP/results.txt
: >"$RES"
PIDS=""
UP=""
seq "$NAMES" | awk '{ print "h" $1 ".svc.example.com A" }' >"$TMP/queries.txt"
{
	cat "$ZONE"
	seq "$NAMES" | awk '{ print "h" $1 " IN A 192.0.2." $1 }'
} >"$TMP/zone"
cleanup() {
	local pid
	for pid in $PIDS; do kill -TERM "$pid" 2>/dev/null; done
	for pid in $PIDS; do
		for _ in $(seq 50); do
			kill -0 "$pid" 2>/dev/null || break
			sleep 0.1
		done
		kill -KILL "$pid" 2>/dev/null
		wait "$pid" 2>/dev/null
	done
	rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

port_of() { # server variant
	local i=0 s v
	for s in ayad nsd knot; do
		for v in $VARIANTS; do
			[ "$s-$v" = "$1-$2" ] && { echo $((PORT_BASE + i)); return; }
			i=$((i + 1))
		done
	done
}

fill() { # template dir port
	sed -e "s|@DIR@|$2|g" -e "s|@PORT@|$3|g" "$CONF/$1"
}

# rate slip of a variant ("" for off).
limits() {
	case "$1" in
	pass) echo "60000 2" ;;
	slip) echo "10 1" ;;
	drop) echo "10 0" ;;
	esac
}

launch() { # dir cmd...
	local dir=$1
	shift
	taskset -c "$SRV_CPU" "$@" >"$dir/out" 2>&1 </dev/null &
	echo $! >"$dir/pid"
	PIDS="$PIDS $!"
}

start() { # server variant dir port
	local s=$1 v=$2 d=$3 port=$4 rate slip
	read -r rate slip <<<"$(limits "$v")"
	cp "$TMP/zone" "$d/svc.example.com.zone"
	case "$s" in
	ayad)
		mkdir -p "$d/state"
		fill aya.yaml.in "$d" "$port" >"$d/aya.yaml"
		if [ -n "${rate:-}" ]; then
			sed -i "s|^  threads: 1$|  threads: 1\n  rrl: { responses_per_second: $rate, slip: $slip }|" "$d/aya.yaml"
		fi
		launch "$d" "$BDIR/ayad" -c "$d/aya.yaml"
		;;
	nsd)
		fill nsd.conf.in "$d" "$port" >"$d/nsd.conf"
		if [ -n "${rate:-}" ]; then
			sed -i "s|^	rrl-ratelimit: 0$|	rrl-ratelimit: $rate\n	rrl-slip: $slip|" "$d/nsd.conf"
		fi
		launch "$d" nsd -d -c "$d/nsd.conf"
		;;
	knot)
		mkdir -p "$d/db"
		fill knot.conf.in "$d" "$port" >"$d/knot.conf"
		if [ -n "${rate:-}" ]; then
			# The module is defined before the template that loads it.
			sed -i -e "s|^template:$|mod-rrl:\n  - id: default\n    rate-limit: $rate\n    slip: $slip\n\ntemplate:|" \
				-e "s|^    journal-content: none$|    journal-content: none\n    global-module: mod-rrl/default|" "$d/knot.conf"
		fi
		launch "$d" knotd -c "$d/knot.conf"
		;;
	esac
}

# Until the server answers (10 s). Its SOA queries are another name than the
# bench's, so they do not use up the bench key's first 10.
wait_ready() { # dir port
	local pid
	pid=$(cat "$1/pid") || return 1
	for _ in $(seq 40); do
		kill -0 "$pid" 2>/dev/null || return 1
		dig +norec +time=1 +tries=1 -p "$2" @127.0.0.1 svc.example.com SOA 2>/dev/null |
			grep -q 'status: NOERROR' && return 0
		sleep 0.25
	done
	return 1
}

tree_pids() {
	ps -e -o pid=,ppid= | awk -v root="$1" '{ parent[$1] = $2; pids[NR] = $1 }
		END { in_tree[root] = 1; print root
			for (changed = 1; changed; ) { changed = 0
				for (i in pids) { p = pids[i]
					if (!(p in in_tree) && (parent[p] in in_tree)) { in_tree[p] = 1; print p; changed = 1 } } } }'
}

cpu_ticks() { # pid: utime + stime over the tree
	local p t=0 line
	for p in $(tree_pids "$1"); do
		line=$(sed 's/.*) //' "/proc/$p/stat" 2>/dev/null) || continue
		# shellcheck disable=SC2086 # split the fields on purpose
		set -- $line
		t=$((t + ${12} + ${13}))
	done
	echo "$t"
}

measure() { # server variant mode round
	local s=$1 v=$2 mode=$3 r=$4 d=$TMP/$1-$2 pid c0 c1 line args
	pid=$(cat "$d/pid")
	if [ "$mode" = sat ]; then args=(-r 0 -c "$WINDOW"); else args=(-r "$RATE" -c 1000 -T 200); fi
	c0=$(cpu_ticks "$pid")
	line=$(timeout $((SECS + 10)) taskset -c "$LG_CPU" "$LOADGEN" -s 127.0.0.1 \
		-p "$(port_of "$s" "$v")" -q "$TMP/queries.txt" --expect-answers 1 "${args[@]}" -d "$SECS")
	c1=$(cpu_ticks "$pid")
	[ -n "$line" ] || line="sent=0 received=0 lost=0 wrong=0 qps=0"
	echo "$line" | awk -v s="$s" -v v="$v" -v mode="$mode" -v r="$r" -v c0="$c0" -v c1="$c1" -v hz="$HZ" '{
		for (i = 1; i <= NF; i++) { split($i, kv, "="); x[kv[1]] = kv[2] }
		sent = x["sent"] > 0 ? x["sent"] : 1; recv = x["received"] > 0 ? x["received"] : 1
		cpu = (c1 - c0) * 1e6 / hz
		printf "%s %s %s %s qps=%s sent=%s received=%s wrong=%s us_per_sent=%.3f us_per_reply=%.3f\n",
			s, v, mode, r, x["qps"], x["sent"], x["received"], x["wrong"], cpu / sent, cpu / recv
	}' >>"$RES"
}

vals() { # server variant mode key
	awk -v s="$1" -v v="$2" -v m="$3" -v k="$4" '$1 == s && $2 == v && $3 == m {
		for (i = 5; i <= NF; i++) { split($i, kv, "="); if (kv[1] == k) print kv[2] } }' "$RES"
}
median() {
	sort -g | awk '{ a[NR] = $1 } END { if (NR == 0) { print "-"; exit }
		print (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2 }'
}
# Median of per-round ratios a / b of one key.
ratio() { # server variant mode key variant mode
	paste <(vals "$1" "$2" "$3" "$4") <(vals "$1" "$5" "$6" "$4") |
		awk 'NF == 2 && $2 > 0 { print $1 / $2 }' | median | awk '{ if ($1 == "-") print "-"; else printf "%.2f", $1 }'
}

for s in $SERVERS; do
	for v in $VARIANTS; do
		d=$TMP/$s-$v
		port=$(port_of "$s" "$v")
		[ -n "$port" ] || die "unknown server '$s'"
		mkdir -p "$d"
		start "$s" "$v" "$d" "$port"
		if ! wait_ready "$d" "$port"; then
			echo "bench-rrl: $s ($v) did not start on port $port; $s skipped:" >&2
			tail -5 "$d/out" | sed 's/^/  /' >&2
			continue 2
		fi
	done
	UP="$UP $s"
done
UP=${UP# }
[ -n "$UP" ] || die "no server started"
echo "== response rate limiting (scripts/bench-rrl.sh): ${UP} x (${VARIANTS}), CPU $SRV_CPU; loadgen CPU $LG_CPU"

for r in $(seq "$ROUNDS"); do
	for s in $UP; do
		for v in off pass slip; do measure "$s" "$v" sat "$r"; done
		for v in off drop; do measure "$s" "$v" rate "$r"; done
	done
	echo "round $r/$ROUNDS done" >&2
done

{
	echo "### Response rate limiting: one source, $NAMES names (h1..h$NAMES.svc.example.com A); medians over $ROUNDS rounds of $SECS s"
	echo
	echo "| server | RRL off q/s | RRL on, not limited q/s (vs off; share limited) | limited, slip 1: all TC q/s (vs off) | TC share | CPU µs/reply off · on · slip | CPU µs/query at $RATE q/s: off · drop (vs off) | dropped share |"
	echo "|---|---:|---:|---:|---:|---|---|---:|"
	for s in $UP; do
		off=$(vals "$s" off sat qps | median)
		pass=$(vals "$s" pass sat qps | median)
		slip=$(vals "$s" slip sat qps | median)
		plim=$(paste <(vals "$s" pass sat wrong) <(vals "$s" pass sat received) <(vals "$s" pass sat sent) |
			awk 'NF == 3 && $3 > 0 { print ($1 + $3 - $2) / $3 }' | median)
		tcs=$(paste <(vals "$s" slip sat wrong) <(vals "$s" slip sat received) |
			awk 'NF == 2 && $2 > 0 { print $1 / $2 }' | median)
		lost=$(paste <(vals "$s" drop rate received) <(vals "$s" drop rate sent) |
			awk 'NF == 2 && $2 > 0 { print 1 - $1 / $2 }' | median)
		printf '| %s | %.0f | %.0f (%sx; %.2f%%) | %.0f (%sx) | %.1f%% | %.2f · %.2f · %.2f | %.2f · %.2f (%sx) | %.1f%% |\n' \
			"$s" "$off" "$pass" "$(ratio "$s" pass sat qps off sat)" "$(awk -v x="$plim" 'BEGIN { print 100 * x }')" "$slip" \
			"$(ratio "$s" slip sat qps off sat)" "$(awk -v x="$tcs" 'BEGIN { print 100 * x }')" \
			"$(vals "$s" off sat us_per_reply | median)" "$(vals "$s" pass sat us_per_reply | median)" \
			"$(vals "$s" slip sat us_per_reply | median)" \
			"$(vals "$s" off rate us_per_sent | median)" "$(vals "$s" drop rate us_per_sent | median)" \
			"$(ratio "$s" drop rate us_per_sent off rate)" "$(awk -v x="$lost" 'BEGIN { print 100 * x }')"
	done
	echo
	case " $UP " in *" ayad "*)
		for s in $UP; do
			[ "$s" = ayad ] && continue
			echo "ayad / $s, RRL on not limited: $(paste <(vals ayad pass sat qps) <(vals "$s" pass sat qps) |
				awk 'NF == 2 && $2 > 0 { print $1 / $2 }' | median | awk '{ printf "%.2f", $1 }')x;" \
				"limited with slip 1: $(paste <(vals ayad slip sat qps) <(vals "$s" slip sat qps) |
					awk 'NF == 2 && $2 > 0 { print $1 / $2 }' | median | awk '{ printf "%.2f", $1 }')x"
		done
		echo
		;;
	esac
	echo "ayad: dns.rrl { responses_per_second: 60000 | 10, slip: 2 | 1 | 0 }; NSD: rrl-ratelimit, rrl-slip;" \
		"Knot: mod-rrl rate-limit, slip (global-module). TC share: replies with TC=1 and no answer" \
		"(--expect-answers 1 counts them wrong). CPU from /proc ticks (1/$HZ s) over the run."
	echo "Versions: $(nsd -v 2>&1 | head -1); $(knotd --version 2>&1 | head -1)"
} | tee "$OUT/rrl.md"
