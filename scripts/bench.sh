#!/bin/bash
# scripts/bench.sh: ayad against NSD, Knot and gdnsd on loopback (make bench).
#
# Every server serves the same zone from its own temp config and run dir on
# its own 127.0.0.1 port, pinned to one CPU; aya-loadgen runs pinned to
# another. Rounds are interleaved (A B C D, A B C D, ...) so drift hits every
# server alike; the table shows medians over rounds and ayad's per-round q/s
# ratio to each other server. A server that fails to start is reported and
# skipped. Everything is bounded in time and stopped by PID on exit.
#
# Environment:
#   B                 build dir with aya-loadgen and ayad (default build/rel)
#   BENCH_ROUNDS      rounds (default 5)
#   BENCH_SECONDS     seconds per run (default 5)
#   BENCH_QUICK=1     2 rounds x 2 s, a smoke test
#   BENCH_RATE        fixed rate for the latency runs, q/s (default 50000)
#   BENCH_WINDOW      queries in flight at saturation (default 100)
#   BENCH_SERVERS     subset and order (default "ayad nsd knot gdnsd")
#   BENCH_PORT_BASE   first port (default 5301)
#   BENCH_SERVER_CPU, BENCH_LOADGEN_CPU   CPUs to pin to (default 0 and 1)
#   BENCH_OUT         where results go (default $B/bench)
#   BENCH_NOISY       repeat a run once if other work took more than this % of
#                     a CPU during it (default 20), at most BENCH_RETRIES
#                     times in all (default 10)
#   BENCH_KEEP=1      keep the temp dir with configs and logs
#   BENCH_LOADGEN     the aya-loadgen binary (default $B/aya-loadgen)
set -u

B=${B:-build/rel}
ROUNDS=${BENCH_ROUNDS:-5}
SECS=${BENCH_SECONDS:-5}
if [ "${BENCH_QUICK:-0}" = 1 ]; then
	ROUNDS=${BENCH_ROUNDS:-2}
	SECS=${BENCH_SECONDS:-2}
fi
RATE=${BENCH_RATE:-50000}
WINDOW=${BENCH_WINDOW:-100}
SERVERS=${BENCH_SERVERS:-ayad nsd knot gdnsd}
PORT_BASE=${BENCH_PORT_BASE:-5301}
SRV_CPU=${BENCH_SERVER_CPU:-0}
LG_CPU=${BENCH_LOADGEN_CPU:-1}
OUT=${BENCH_OUT:-$B/bench}
NOISY=${BENCH_NOISY:-20}
RETRIES=${BENCH_RETRIES:-10}
QNAME=ns1.svc.example.com
QTYPE=A
TOP=$(cd "$(dirname "$0")/.." && pwd)
CONF=$TOP/tests/bench/conf
MIXED=$TOP/tests/bench/data/queries-mixed.txt
LOADGEN=${BENCH_LOADGEN:-$TOP/$B/aya-loadgen}
ZONE=$TOP/examples/zones/svc.example.com.zone
[ -f "$ZONE" ] || ZONE=$TOP/tests/bench/data/svc.example.com.zone
HZ=$(getconf CLK_TCK)

die() {
	echo "bench: $*" >&2
	exit 1
}
[ -x "$LOADGEN" ] || die "$LOADGEN not built (make $B/aya-loadgen)"
case "$ROUNDS$SECS$RATE$WINDOW$NOISY$RETRIES" in *[!0-9]*) die "BENCH_* numbers must be non-negative integers" ;; esac
if [ "$ROUNDS" -lt 1 ] || [ "$SECS" -lt 1 ]; then
	die "BENCH_ROUNDS and BENCH_SECONDS must be >= 1"
fi

TMP=$(mktemp -d /tmp/aya-bench.XXXXXX) || die "mktemp failed"
mkdir -p "$OUT" || die "cannot create $OUT"
RES=$OUT/results.txt
: >"$RES"
UP=""    # servers that started and answer
PIDS=""  # every server PID we started

cleanup() {
	for pid in $PIDS; do
		kill -TERM "$pid" 2>/dev/null
	done
	for pid in $PIDS; do
		for _ in $(seq 50); do
			kill -0 "$pid" 2>/dev/null || break
			sleep 0.1
		done
		kill -KILL "$pid" 2>/dev/null
		wait "$pid" 2>/dev/null
	done
	PIDS=""
	if [ "${BENCH_KEEP:-0}" = 1 ]; then
		echo "bench: kept $TMP" >&2
	else
		rm -rf "$TMP"
	fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

port_of() {
	local i=0 s
	for s in ayad nsd knot gdnsd; do
		[ "$s" = "$1" ] && { echo $((PORT_BASE + i)); return; }
		i=$((i + 1))
	done
}

fill() { # template dir port > output
	sed -e "s|@DIR@|$2|g" -e "s|@PORT@|$3|g" "$CONF/$1"
}

# Start one server in the foreground of a background job, pinned; the job's
# PID (taskset execs the server) is the server's. Prints the PID.
launch() { # name dir cmd...
	local name=$1 dir=$2
	shift 2
	taskset -c "$SRV_CPU" "$@" >"$dir/$name.out" 2>&1 </dev/null &
	echo $! >"$dir/$name.pid"
	PIDS="$PIDS $!"
}

start_nsd() { # dir port
	fill nsd.conf.in "$1" "$2" >"$1/nsd.conf"
	cp "$ZONE" "$1/svc.example.com.zone"
	launch nsd "$1" nsd -d -c "$1/nsd.conf"
}

start_knot() {
	fill knot.conf.in "$1" "$2" >"$1/knot.conf"
	cp "$ZONE" "$1/svc.example.com.zone"
	mkdir -p "$1/db"
	launch knot "$1" knotd -c "$1/knot.conf"
}

start_gdnsd() {
	mkdir -p "$1/zones"
	fill gdnsd.config.in "$1" "$2" >"$1/config"
	cp "$ZONE" "$1/zones/svc.example.com"
	launch gdnsd "$1" gdnsd -c "$1" start
}

start_ayad() {
	[ -x "$TOP/$B/ayad" ] || { echo "$B/ayad not built" >"$1/ayad.out"; return 1; }
	mkdir -p "$1/state"
	fill aya.yaml.in "$1" "$2" >"$1/aya.yaml"
	cp "$ZONE" "$1/svc.example.com.zone"
	launch ayad "$1" "$TOP/$B/ayad" -c "$1/aya.yaml"
}

# Poll until the server answers NOERROR, for at most 10 s.
wait_ready() { # name port
	local pid
	pid=$(cat "$TMP/$1/$1.pid" 2>/dev/null) || return 1
	for _ in $(seq 40); do
		kill -0 "$pid" 2>/dev/null || return 1
		if dig +norec +time=1 +tries=1 -p "$2" @127.0.0.1 "$QNAME" "$QTYPE" 2>/dev/null |
			grep -q 'status: NOERROR'; then
			return 0
		fi
		sleep 0.25
	done
	return 1
}

# Every PID in the server's process tree (NSD forks server and xfrd children).
tree_pids() { # pid
	ps -e -o pid=,ppid= | awk -v root="$1" '
		{ parent[$1] = $2; pids[NR] = $1 }
		END {
			in_tree[root] = 1; print root
			for (changed = 1; changed; ) {
				changed = 0
				for (i in pids) {
					p = pids[i]
					if (!(p in in_tree) && (parent[p] in in_tree)) {
						in_tree[p] = 1; print p; changed = 1
					}
				}
			}
		}'
}

# "utime stime" in clock ticks, summed over the tree. Fields 14 and 15 of
# /proc/PID/stat, counted after the ")" that ends the command name.
cpu_ticks() { # pid
	local p u=0 s=0 line
	for p in $(tree_pids "$1"); do
		line=$(sed 's/.*) //' "/proc/$p/stat" 2>/dev/null) || continue
		# shellcheck disable=SC2086 # split the fields on purpose
		set -- $line
		u=$((u + ${12})) s=$((s + ${13}))
	done
	echo "$u $s"
}

rss_kb() { # pid: VmRSS summed over the tree
	local p total=0 v
	for p in $(tree_pids "$1"); do
		v=$(awk '/^VmRSS:/ { print $2 }' "/proc/$p/status" 2>/dev/null)
		total=$((total + ${v:-0}))
	done
	echo "$total"
}

# Query arguments for a query set, into the array QARGS.
qargs() {
	case "$1" in
	static) QARGS=(-n "$QNAME" -t "$QTYPE") ;;
	mixed) QARGS=(-q "$MIXED") ;;
	esac
}

# Busy ticks of the whole machine from /proc/stat: user, nice, system, and
# steal (time the hypervisor gave our vCPUs to someone else).
machine_ticks() {
	awk '$1 == "cpu" { print $2 + $3 + $4 + $9; exit }' /proc/stat
}

# One measured run: loadgen output plus server CPU, busy share and RSS.
measure() { # server set mode round
	local s=$1 set=$2 mode=$3 round=$4 pid port c0 c1 m0 m1 t0 t1 line args
	pid=$(cat "$TMP/$s/$s.pid")
	port=$(port_of "$s")
	if [ "$mode" = sat ]; then
		args=(-r 0 -c "$WINDOW")
	else
		args=(-r "$RATE" -c 1000)
	fi
	qargs "$set"
	c0=$(cpu_ticks "$pid")
	m0=$(machine_ticks)
	t0=$(date +%s%N)
	line=$(timeout $((SECS + 10)) taskset -c "$LG_CPU" "$LOADGEN" -s 127.0.0.1 -p "$port" \
		"${QARGS[@]}" "${args[@]}" -d "$SECS")
	t1=$(date +%s%N)
	m1=$(machine_ticks)
	c1=$(cpu_ticks "$pid")
	[ -n "$line" ] || line="sent=0 received=0 lost=0 wrong=0 qps=0 avg_us=0 p50_us=0 p99_us=0 max_us=0"
	echo "$line" | awk -v s="$s" -v set="$set" -v mode="$mode" -v round="$round" \
		-v c0="$c0" -v c1="$c1" -v m0="$m0" -v m1="$m1" -v hz="$HZ" -v wall_ns=$((t1 - t0)) -v rss="$(rss_kb "$pid")" '{
		split(c0, a, " "); split(c1, b, " ")
		for (i = 1; i <= NF; i++) { split($i, kv, "="); v[kv[1]] = kv[2] }
		n = v["received"] > 0 ? v["received"] : 1
		usr = (b[1] - a[1]) * 1e6 / hz / n; sys = (b[2] - a[2]) * 1e6 / hz / n
		srv_s = ((b[1] - a[1]) + (b[2] - a[2])) / hz
		busy = srv_s / (wall_ns / 1e9) * 100
		# CPU time of everything but the server and the loadgen, in % of one CPU.
		other = ((m1 - m0) / hz - srv_s - v["cpu_ms"] / 1000) / (wall_ns / 1e9) * 100
		if (other < 0) other = 0
		printf "%s %s %s %s %s usr_us=%.3f sys_us=%.3f busy=%.0f other=%.0f rss_kb=%d\n",
			s, set, mode, round, $0, usr, sys, busy, other, rss
	}' >"$TMP/last"
}

# A run during which other work took more than NOISY% of a CPU is repeated,
# up to RETRIES times in the whole bench; the last try is kept either way.
measure_clean() { # server set mode round
	local other
	measure "$@"
	other=$(sed -n 's/.* other=\([0-9]*\).*/\1/p' "$TMP/last")
	if [ "${other:-0}" -gt "$NOISY" ] && [ "$RETRIES" -gt 0 ]; then
		RETRIES=$((RETRIES - 1))
		echo "bench: $1 $2 $3 round $4: other work took ${other}% of a CPU; again" >&2
		measure "$@"
	fi
	cat "$TMP/last" >>"$RES"
}

# Values of one key over the rounds.
vals() { # server set mode key
	awk -v s="$1" -v set="$2" -v mode="$3" -v key="$4" '
		$1 == s && $2 == set && $3 == mode {
			for (i = 5; i <= NF; i++) { split($i, kv, "="); if (kv[1] == key) print kv[2] }
		}' "$RES"
}

median() {
	sort -g | awk '{ a[NR] = $1 } END {
		if (NR == 0) { print "-"; exit }
		print (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2 }'
}

sum() {
	awk '{ t += $1 } END { print t + 0 }'
}

# A server's answer shape for one query: rcode, flags, section counts, and
# the answer records sorted (gdnsd rotates RRsets).
shape() { # port name type
	local out
	out=$(dig +norec +time=2 +tries=1 -p "$1" @127.0.0.1 "$2" "$3" 2>/dev/null)
	echo "$out" | awk '
		/status:/ { sub(/.*status: /, ""); sub(/,.*/, ""); rc = $0 }
		/^;; flags:/ {
			f = $0; sub(/^;; flags: /, "", f); sub(/;.*/, "", f)
			c = $0; sub(/.*; QUERY/, "QUERY", c)
		}
		END { printf "%s [%s] %s", rc, f, c }'
	echo "$out" | awk '/^;; ANSWER SECTION:/ { a = 1; next } /^$/ { a = 0 }
		a { print " | " $1 " " $2 " " $4 " " $5 " " $6 }' | sort | tr -d '\n'
}

check_shapes() {
	local ref="" s q name type out warned=0
	for q in "$QNAME $QTYPE" $(awk '!/^#/ && NF >= 2 { print $1 "/" $2 }' "$MIXED" | sort -u); do
		name=${q%[ /]*}
		type=${q##*[ /]}
		ref=""
		for s in $UP; do
			out=$(shape "$(port_of "$s")" "$name" "$type")
			if [ -z "$ref" ]; then
				ref=$out refs=$s
			elif [ "$out" != "$ref" ]; then
				echo "bench: warning: $name $type: $s answers '$out'," \
					"$refs answers '$ref'" >&2
				warned=1
			fi
		done
	done
	[ "$warned" = 0 ] && echo "answer shapes: identical on every server for every bench query"
}

# ---- start the servers ----
m0=$(machine_ticks)
sleep 1
load=$((($(machine_ticks) - m0) * 100 / HZ))
if [ "$load" -gt 10 ]; then
	echo "bench: warning: other work used ${load}% of a CPU before start;" \
		"it will distort the results (see the 'other' column)" >&2
fi
for s in $SERVERS; do
	port=$(port_of "$s")
	[ -n "$port" ] || die "unknown server '$s'"
	mkdir -p "$TMP/$s"
	if ! "start_$s" "$TMP/$s" "$port" || ! wait_ready "$s" "$port"; then
		echo "bench: $s failed to start on port $port; skipped. Its output:" >&2
		sed 's/^/  /' "$TMP/$s/$s.out" 2>/dev/null | tail -5 >&2
		pid=$(cat "$TMP/$s/$s.pid" 2>/dev/null) && kill -TERM "$pid" 2>/dev/null
		continue
	fi
	UP="$UP $s"
done
UP=${UP# }
[ -n "$UP" ] || die "no server started"
echo "servers: $UP (on CPU $SRV_CPU; aya-loadgen on CPU $LG_CPU)"
check_shapes

# ---- warm up, then interleaved rounds ----
for s in $UP; do
	qargs static
	timeout 15 taskset -c "$LG_CPU" "$LOADGEN" -p "$(port_of "$s")" "${QARGS[@]}" -d 1 >/dev/null
done
for r in $(seq "$ROUNDS"); do
	for set in static mixed; do
		for mode in sat rate; do
			for s in $UP; do
				measure_clean "$s" "$set" "$mode" "$r"
			done
		done
	done
	echo "round $r/$ROUNDS done" >&2
done

# ---- report ----
report() {
	local s sat best lat_avg lat_p99 lost_sat lost_rate rss usr sys busy other o
	echo "Query set: $set ($([ "$set" = static ] && echo "$QNAME $QTYPE" ||
		echo "tests/bench/data/queries-mixed.txt")); medians over $ROUNDS rounds of ${SECS} s"
	echo
	echo "| server | q/s | best q/s | server busy | other | avg µs @$RATE | p99 µs @$RATE | lost (sat / rate) | RSS MB | user µs/q | sys µs/q |"
	echo "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
	for s in $UP; do
		sat=$(vals "$s" "$set" sat qps | median)
		best=$(vals "$s" "$set" sat qps | sort -g | tail -1)
		busy=$(vals "$s" "$set" sat busy | median)
		other=$(vals "$s" "$set" sat other | median)
		lat_avg=$(vals "$s" "$set" rate avg_us | median)
		lat_p99=$(vals "$s" "$set" rate p99_us | median)
		lost_sat=$(vals "$s" "$set" sat lost | sum)
		lost_rate=$(vals "$s" "$set" rate lost | sum)
		rss=$(vals "$s" "$set" sat rss_kb | median)
		usr=$(vals "$s" "$set" rate usr_us | median)
		sys=$(vals "$s" "$set" rate sys_us | median)
		printf '| %s | %.0f | %.0f | %s%% | %s%% | %.1f | %.1f | %s / %s | %.1f | %.2f | %.2f |\n' \
			"$s" "$sat" "$best" "$busy" "$other" "$lat_avg" "$lat_p99" "$lost_sat" "$lost_rate" \
			"$(echo "$rss" | awk '{ print $1 / 1024 }')" "$usr" "$sys"
	done
	awk -v set="$set" -v lim="$NOISY" '$2 == set { n++; if (match($0, / other=[0-9]+/) &&
		substr($0, RSTART + 7, RLENGTH - 7) + 0 > lim) k++ }
		END { if (k) printf "\n%d of %d runs had other work above %d%% of a CPU.\n", k, n, lim }' "$RES"
	case " $UP " in *" ayad "*) ;; *) echo; return ;; esac
	echo
	for o in $UP; do
		[ "$o" = ayad ] && continue
		paste <(vals ayad "$set" sat qps) <(vals "$o" "$set" sat qps) |
			awk '$2 > 0 { print $1 / $2 }' | median |
			awk -v o="$o" '{ printf "ayad / %s q/s (median of per-round ratios): %sx\n", o, ($1 == "-") ? "-" : sprintf("%.2f", $1) }'
	done
	echo
}
{
	echo "## Results"
	echo
	for set in static mixed; do
		report
	done
	echo "Machine: $(nproc) CPUs, $(awk -F': ' '/model name/ { print $2; exit }' /proc/cpuinfo)," \
		"Linux $(uname -r)"
	echo "Versions: $(nsd -v 2>&1 | head -1); $(knotd --version 2>&1 | head -1);" \
		"$(gdnsd -V 2>&1 | awk '/version/ { print $1 " " $3; exit }')"
	echo "Command: B=$B BENCH_ROUNDS=$ROUNDS BENCH_SECONDS=$SECS BENCH_RATE=$RATE" \
		"BENCH_WINDOW=$WINDOW scripts/bench.sh"
	echo "Loadgen: taskset -c $LG_CPU aya-loadgen -p PORT (-n $QNAME -t $QTYPE | -q" \
		"queries-mixed.txt) (-r 0 -c $WINDOW | -r $RATE -c 1000) -d $SECS"
} | tee "$OUT/results.md"
echo "raw results: $RES" >&2
