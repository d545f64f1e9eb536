#!/bin/bash
# scripts/bench.sh: ayad against NSD, Knot and gdnsd on loopback (make bench),
# then ayad's geo service answer with ECS against gdnsd's geoip plugin and
# PowerDNS LUA records (pickclosest), next to static answers.
#
# Every server serves the same zone from its own temp config and run dir on
# its own 127.0.0.1 port, pinned to one CPU; aya-loadgen runs pinned to
# another. Rounds are interleaved (A B C D, A B C D, ...) so drift hits every
# server alike; the table shows medians over rounds and ayad's per-round q/s
# ratio to each other server. A server that fails to start is reported and
# skipped. Everything is bounded in time and stopped by PID on exit.
#
# The geo part runs separate instances (ayad-geo, gdnsd-geo, pdns-geo) that
# serve the same zone plus the service www.svc.example.com: one address in
# each of three regions, nearest first, from the same .mmdb. Its query set is
# tests/bench/data/geo-clients.txt (www A with the ECS option of 500 client
# /24s); "geo-static" is the same with ns1 (a static name) instead of www.
# Before the rounds every client is asked once of each geo server to compare
# ECS scopes, regions and answer shapes.
#
# The dnssec part runs signed instances of the geo zone: ayad-dnssec (online
# signing, aya-dnssec.yaml.in), knot-dnssec (automatic signing at load, an
# NSEC chain), knot-onlinesign (Knot's onlinesign module, black lies like
# ayad) and pdns-dnssec (gsqlite3 + LUA record www, pdnsutil secure-zone).
# Every query has the DO bit (aya-loadgen -D): "dnssec-static" is ns1 A,
# "dnssec-geo" the geo client set (www A with ECS; ayad-dnssec, pdns-dnssec).
# ayad-geo (unsigned, same config but for dnssec:) and knot (unsigned) get
# the same DO queries as the references. Before the rounds, a signed server
# whose DO answers carry no RRSIG is reported and left out.
#
# Environment:
#   B                 build dir with aya-loadgen and ayad (default build/rel)
#   BENCH_ROUNDS      rounds (default 5)
#   BENCH_SECONDS     seconds per run (default 5)
#   BENCH_QUICK=1     2 rounds x 2 s, a smoke test
#   BENCH_RATE        fixed rate for the latency runs, q/s (default 50000)
#   BENCH_WINDOW      queries in flight at saturation (default 100)
#   BENCH_SERVERS     subset and order (default "ayad nsd knot gdnsd")
#   BENCH_GEO_SERVERS subset and order of the geo part (default
#                     "ayad-geo gdnsd-geo pdns-geo"; "" skips it)
#   BENCH_DNSSEC_SERVERS subset and order of the dnssec part (default
#                     "ayad-dnssec knot-dnssec knot-onlinesign pdns-dnssec";
#                     "" skips it)
#   BENCH_GEODB       the .mmdb (default ../shared/geo/dbip-country-lite.mmdb)
#   BENCH_PDNS_RATE   fixed rate for pdns-geo and pdns-dnssec, which answer
#                     ~2k q/s with LUA records (default 1000)
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
SERVERS=${BENCH_SERVERS-ayad nsd knot gdnsd}
GEO_SERVERS=${BENCH_GEO_SERVERS-ayad-geo gdnsd-geo pdns-geo}
DNSSEC_SERVERS=${BENCH_DNSSEC_SERVERS-ayad-dnssec knot-dnssec knot-onlinesign pdns-dnssec}
PDNS_RATE=${BENCH_PDNS_RATE:-1000}
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
GEOQ=$TOP/tests/bench/data/geo-clients.txt
GEODB=${BENCH_GEODB:-$TOP/../shared/geo/dbip-country-lite.mmdb}
GEONAME=www.svc.example.com
case "$B" in /*) BDIR=$B ;; *) BDIR=$TOP/$B ;; esac
LOADGEN=${BENCH_LOADGEN:-$BDIR/aya-loadgen}
ZONE=$TOP/examples/zones/svc.example.com.zone
[ -f "$ZONE" ] || ZONE=$TOP/tests/bench/data/svc.example.com.zone
HZ=$(getconf CLK_TCK)

die() {
	echo "bench: $*" >&2
	exit 1
}
[ -x "$LOADGEN" ] || die "$LOADGEN not built (make $B/aya-loadgen)"
case "$ROUNDS$SECS$RATE$WINDOW$NOISY$RETRIES$PDNS_RATE" in *[!0-9]*) die "BENCH_* numbers must be non-negative integers" ;; esac
if [ "$ROUNDS" -lt 1 ] || [ "$SECS" -lt 1 ]; then
	die "BENCH_ROUNDS and BENCH_SECONDS must be >= 1"
fi
if [ -n "$GEO_SERVERS" ] && [ ! -r "$GEODB" ]; then
	echo "bench: $GEODB not readable; geo part skipped (set BENCH_GEODB)" >&2
	GEO_SERVERS=""
fi
if [ -n "$DNSSEC_SERVERS" ] && [ ! -r "$GEODB" ]; then
	echo "bench: $GEODB not readable; dnssec part without ayad-dnssec and pdns-dnssec" >&2
	DNSSEC_SERVERS=$(echo " $DNSSEC_SERVERS " | sed -e 's/ ayad-dnssec / /' -e 's/ pdns-dnssec / /')
	DNSSEC_SERVERS=$(echo $DNSSEC_SERVERS)
fi

TMP=$(mktemp -d /tmp/aya-bench.XXXXXX) || die "mktemp failed"
mkdir -p "$OUT" || die "cannot create $OUT"
RES=$OUT/results.txt
: >"$RES"
UP=""    # servers that started and answer
GUP=""   # geo servers that started and answer
DUP=""   # signed servers that started and sign
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
	for s in ayad nsd knot gdnsd ayad-geo gdnsd-geo pdns-geo ayad-dnssec knot-dnssec \
		knot-onlinesign pdns-dnssec; do
		[ "$s" = "$1" ] && { echo $((PORT_BASE + i)); return; }
		i=$((i + 1))
	done
}

fill() { # template dir port > output
	sed -e "s|@DIR@|$2|g" -e "s|@PORT@|$3|g" -e "s|@GEODB@|$GEODB|g" "$CONF/$1"
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
	[ -x "$BDIR/ayad" ] || { echo "$B/ayad not built" >"$1/ayad.out"; return 1; }
	mkdir -p "$1/state"
	fill aya.yaml.in "$1" "$2" >"$1/aya.yaml"
	cp "$ZONE" "$1/svc.example.com.zone"
	launch ayad "$1" "$BDIR/ayad" -c "$1/aya.yaml"
}

# The geo instances: the bench zone plus the service www in three regions.
start_ayad_geo() {
	[ -x "$BDIR/ayad" ] || { echo "$B/ayad not built" >"$1/ayad-geo.out"; return 1; }
	mkdir -p "$1/state"
	fill aya-geo.yaml.in "$1" "$2" >"$1/aya.yaml"
	cp "$ZONE" "$1/svc.example.com.zone"
	launch ayad-geo "$1" "$BDIR/ayad" -c "$1/aya.yaml"
}

start_gdnsd_geo() {
	mkdir -p "$1/zones"
	fill gdnsd-geo.config.in "$1" "$2" >"$1/config"
	{ cat "$ZONE"; echo "www 30 DYNA geoip!www"; } >"$1/zones/svc.example.com"
	launch gdnsd-geo "$1" gdnsd -c "$1" start
}

start_pdns_geo() {
	command -v pdns_server >/dev/null || { echo "pdns_server not installed" >"$1/pdns-geo.out"; return 1; }
	fill pdns-geo.conf.in "$1" "$2" >"$1/pdns.conf"
	{
		cat "$ZONE"
		echo "www 30 IN LUA A \"pickclosest({'192.0.2.10','198.51.100.10','203.0.113.10'})\""
	} >"$1/svc.example.com.zone"
	printf 'options { directory "%s"; };\nzone "svc.example.com" { type master; file "%s"; };\n' \
		"$1" "$1/svc.example.com.zone" >"$1/named.conf"
	echo "domains: []" >"$1/geo-zones.yaml"
	launch pdns-geo "$1" pdns_server --config-dir="$1"
}

# The signed instances (the dnssec part): the geo zone, signed.
start_ayad_dnssec() {
	[ -x "$BDIR/ayad" ] || { echo "$B/ayad not built" >"$1/ayad-dnssec.out"; return 1; }
	mkdir -p "$1/state"
	fill aya-dnssec.yaml.in "$1" "$2" >"$1/aya.yaml"
	cp "$ZONE" "$1/svc.example.com.zone"
	launch ayad-dnssec "$1" "$BDIR/ayad" -c "$1/aya.yaml"
}

start_knot_dnssec() { # knot-dnssec and knot-onlinesign: their template, a KASP db
	local name=${3:-knot-dnssec}
	fill "$name.conf.in" "$1" "$2" >"$1/knot.conf"
	cp "$ZONE" "$1/svc.example.com.zone"
	mkdir -p "$1/db"
	launch "$name" "$1" knotd -c "$1/knot.conf"
}

start_knot_onlinesign() { start_knot_dnssec "$1" "$2" knot-onlinesign; }

start_pdns_dnssec() {
	local u="pdnsutil --config-dir=$1"
	command -v pdns_server >/dev/null || { echo "pdns_server not installed" >"$1/pdns-dnssec.out"; return 1; }
	[ -r /usr/share/doc/pdns-backend-sqlite3/schema.sqlite3.sql ] && command -v sqlite3 >/dev/null || {
		echo "pdns-backend-sqlite3 or sqlite3 not installed" >"$1/pdns-dnssec.out"
		return 1
	}
	fill pdns-dnssec.conf.in "$1" "$2" >"$1/pdns.conf"
	echo "domains: []" >"$1/geo-zones.yaml"
	{
		cat "$ZONE"
		echo "www 30 IN LUA A \"pickclosest({'192.0.2.10','198.51.100.10','203.0.113.10'})\""
	} >"$1/svc.example.com.zone"
	# shellcheck disable=SC2086 # $u is a command and its option
	if ! sqlite3 "$1/pdns.sqlite3" </usr/share/doc/pdns-backend-sqlite3/schema.sqlite3.sql ||
		! timeout 60 $u load-zone svc.example.com "$1/svc.example.com.zone" ||
		! timeout 60 $u secure-zone svc.example.com || ! timeout 60 $u rectify-zone svc.example.com; then
		echo "pdnsutil failed to make the signed zone" >>"$1/pdns-dnssec.out"
		return 1
	fi >>"$1/pdnsutil.out" 2>&1
	launch pdns-dnssec "$1" pdns_server --config-dir="$1"
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
	dnssec-static) QARGS=(-n "$QNAME" -t "$QTYPE" -D) ;;
	dnssec-geo) QARGS=(-q "$GEOQ" -D) ;;
	mixed) QARGS=(-q "$MIXED") ;;
	geo) QARGS=(-q "$GEOQ") ;;
	geo-static) QARGS=(-q "$TMP/geo-static.txt") ;;
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
	elif [ "$s" = pdns-geo ] || [ "$s" = pdns-dnssec ]; then
		args=(-r "$PDNS_RATE" -c 1000)
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

# ---- geo: one answer per client from each geo server ----

# Regions of the geo service, as in tests/bench/conf/*-geo.*.in:
# name:latitude:longitude:address.
REGIONS="eu-west:53.35:-6.26:192.0.2.10 us-east:39.04:-77.49:198.51.100.10 ap-south:19.08:72.88:203.0.113.10"

# Ask a geo server for www A once per client subnet (one dig process, batch
# mode) and print one line per client: subnet rcode [flags] counts scope
# shape rdata, where scope is the reply's ECS scope prefix-length ("none"
# without ECS) and shape the answer records' name/TTL/type.
ask_clients() { # server
	awk -v p="$(port_of "$1")" -v n="$GEONAME" '!/^#/ && NF >= 3 {
		print "-p " p " @127.0.0.1 +norec +nocookie +bufsize=1232 +time=2 +tries=1 +subnet=" $3 " " n " A"
	}' "$GEOQ" >"$TMP/$1.batch"
	timeout 300 dig -f "$TMP/$1.batch" 2>/dev/null | awk '
		function flush() {
			if (subnet != "") printf "%s %s [%s] %s %s %s %s\n", subnet, rc, fl, cnt, scope, shape, rdata
		}
		/^; <<>> DiG/ {
			flush()
			subnet = "-"
			for (i = 1; i <= NF; i++) if ($i ~ /^\+subnet=/) subnet = substr($i, 9)
			rc = "TIMEOUT"; fl = ""; cnt = "-"; scope = "none"; shape = "-"; rdata = "-"; ans = 0
			next
		}
		/status:/ { r = $0; sub(/.*status: /, "", r); sub(/,.*/, "", r); rc = r }
		/^;; flags:/ {
			f = $0; sub(/^;; flags: /, "", f); sub(/;.*/, "", f); gsub(/ /, ",", f); fl = f
			c = $0; sub(/.*; QUERY: /, "", c); gsub(/[A-Z]+: /, "", c); gsub(/, /, "/", c); cnt = c
		}
		/^; CLIENT-SUBNET:/ { k = split($3, a, "/"); scope = a[k] }
		/^;; ANSWER SECTION:/ { ans = 1; next }
		/^$/ { ans = 0 }
		ans && !/^;/ {
			shape = (shape == "-" ? "" : shape ",") $1 "/" $2 "/" $4
			rdata = (rdata == "-" ? "" : rdata ",") $5
		}
		END { flush() }'
}

# Compare the geo servers client by client: ECS scopes, region picked (and
# whether it is the nearest by great-circle distance from the database's
# location of the client), answer shapes. Markdown on stdout.
geo_compare() {
	local s ref=""
	for s in $GUP; do
		ask_clients "$s" >"$TMP/$s.answers"
	done
	case " $GUP " in *" gdnsd-geo "*) ref=gdnsd-geo ;; esac
	echo "### Geo answers client by client: $GEONAME A, once per client /24 of tests/bench/data/geo-clients.txt"
	echo
	echo "| server | answered | ECS scope min / median / max | nearest region (great circle) | same region as gdnsd-geo | same shape as gdnsd-geo |"
	echo "|---|---:|---:|---:|---:|---:|"
	for s in $GUP; do
		awk -v s="$s" -v ref="$ref" -v regions="$REGIONS" -v reffile="$TMP/$ref.answers" "$GEO_AWK" \
			"$GEOQ" "$TMP/$s.answers"
	done
	echo
	case " $GUP " in *" ayad-geo "*) ;; *) return ;; esac
	[ -n "$ref" ] || return
	awk -v regions="$REGIONS" -v reffile="$TMP/$ref.answers" -v detail=1 "$GEO_AWK" \
		"$GEOQ" "$TMP/ayad-geo.answers"
	echo
}

# The awk program of geo_compare. Inputs: the query file (client -> country,
# continent, latitude, longitude), then one server's answers; reffile holds
# gdnsd-geo's answers. With detail=1 it prints the scope and region
# comparison of ayad-geo against gdnsd-geo instead of a table row.
# shellcheck disable=SC2016 # an awk program, expanded by awk
GEO_AWK='
function rad(d) { return d * 3.14159265358979 / 180 }
function km(la1, lo1, la2, lo2,   a) {
	a = sin(rad(la2 - la1) / 2) ^ 2 + cos(rad(la1)) * cos(rad(la2)) * sin(rad(lo2 - lo1) / 2) ^ 2
	return 2 * 6371 * atan2(sqrt(a), sqrt(1 - a))
}
BEGIN {
	nr = split(regions, rl, " ")
	for (i = 1; i <= nr; i++) {
		split(rl[i], f, ":"); rname[i] = f[1]; rlat[i] = f[2]; rlon[i] = f[3]; region_of[f[4]] = f[1]
	}
	if (reffile != "")
		while ((getline line < reffile) > 0) {
			split(line, f, " "); ref_rc[f[1]] = f[2] " " f[3] " " f[4] " " (f[5] == "none" ? "noecs" : "ecs") " " f[6]
			ref_scope[f[1]] = f[5]; ref_region[f[1]] = (f[7] in region_of) ? region_of[f[7]] : f[7]
		}
}
FNR == NR {
	if ($0 ~ /^#/ || NF < 3) next
	client[$3] = 1; nclients++
	cc[$3] = $5; lat[$3] = $7; lon[$3] = $8
	best = ""; bestd = 1e9; second = 1e9
	for (i = 1; i <= nr; i++) {
		d = km($7, $8, rlat[i], rlon[i]); dist[$3, rname[i]] = d
		if (d < bestd) { second = bestd; bestd = d; best = rname[i] } else if (d < second) second = d
	}
	nearest[$3] = best; margin[$3] = second - bestd
	next
}
$1 in client {
	c = $1; n++
	if ($2 == "NOERROR" && $7 != "-") ok++
	region = ($7 in region_of) ? region_of[$7] : $7; mine[c] = region
	if (region == nearest[c]) near++
	if (reffile != "" && c in ref_region) {
		if (region == ref_region[c]) same++
		else diff[++ndiff] = c
		shp = $2 " " $3 " " $4 " " ($5 == "none" ? "noecs" : "ecs") " " $6
		if (shp == ref_rc[c]) sameshape++
		else if (!shown++) first_shape = c ": " shp " vs " ref_rc[c]
		if ($5 != "none" && ref_scope[c] != "none") {
			if ($5 + 0 < ref_scope[c] + 0) shorter++
			else if ($5 + 0 == ref_scope[c] + 0) equal++
			else { longer++; longer_ex = longer_ex " " c "(" $5 ">" ref_scope[c] ")" }
		} else noscope++
	}
	if ($5 != "none") scopes[++ns] = $5 + 0
}
END {
	if (detail) {
		printf "ECS scope of ayad-geo against gdnsd-geo for the same client: %d shorter (wider, better for caches), %d equal, %d longer", shorter, equal, longer
		if (noscope) printf ", %d without a scope on one side", noscope
		printf ".\n"
		if (longer) printf "Longer:%s\n", substr(longer_ex, 1, 400)
		if (first_shape != "") printf "First answer-shape difference: %s\n", first_shape
		if (ndiff) {
			printf "\nClients where ayad-geo and gdnsd-geo picked different regions (%d):\n\n", ndiff
			printf "| client | country | location | ayad-geo | gdnsd-geo | great-circle km to each | nearest margin km |\n|---|---|---|---|---|---|---:|\n"
			for (i = 1; i <= ndiff && i <= 20; i++) {
				c = diff[i]; ds = ""
				for (j = 1; j <= nr; j++) ds = ds sprintf("%s%s %.0f", (j > 1 ? ", " : ""), rname[j], dist[c, rname[j]])
				printf "| %s | %s | %s, %s | %s | %s | %s | %.0f |\n", c, cc[c], lat[c], lon[c], mine[c], ref_region[c], ds, margin[c]
			}
			if (ndiff > 20) printf "\n(%d more in the raw answers)\n", ndiff - 20
		}
		exit
	}
	m = ns ? ns : 1
	# median of the scopes
	for (i = 2; i <= ns; i++) { v = scopes[i]; for (j = i - 1; j >= 1 && scopes[j] > v; j--) scopes[j + 1] = scopes[j]; scopes[j + 1] = v }
	med = ns ? ((ns % 2) ? scopes[(ns + 1) / 2] : (scopes[ns / 2] + scopes[ns / 2 + 1]) / 2) : "-"
	printf "| %s | %d / %d | %s | %d (%.1f%%) | %s | %s |\n", s, ok, nclients,
		ns ? sprintf("%d / %s / %d (%d with ECS)", scopes[1], med, scopes[ns], ns) : "no ECS",
		near, 100 * near / (nclients ? nclients : 1),
		(reffile != "" && n) ? sprintf("%d (%.1f%%)", same, 100 * same / n) : "-",
		(reffile != "" && n) ? sprintf("%d", sameshape) : "-"
}'
# ---- dnssec: every signed server must sign its DO answers ----

# One markdown row per signed server: RRSIG over ns1 A and (geo servers) over
# www A for a US client, the form of an NXDOMAIN, the DNSKEY RRset; then the
# line "signed servers: ..." with those whose ns1 A (and www A) are signed.
dnssec_check() {
	local s port out st geo nx keys good=""
	echo "### DNSSEC answers with DO (dig +dnssec, before the rounds)"
	echo
	echo "| server | ns1 A signed | www A (ECS) signed | nope A | DNSKEY (flags alg tag) |"
	echo "|---|---|---|---|---|"
	for s in $DUP; do
		port=$(port_of "$s")
		d() { dig +norec +dnssec +time=2 +tries=1 -p "$port" @127.0.0.1 "$@" 2>/dev/null; }
		out=$(d "$QNAME" A)
		st=no
		grep -qE "IN[[:space:]]+RRSIG[[:space:]]+A 13 " <<<"$out" && st=yes
		geo="-"
		case "$s" in ayad-dnssec | pdns-dnssec)
			out=$(d +subnet=8.8.8.0/24 "$GEONAME" A)
			geo=no
			grep -qE "IN[[:space:]]+RRSIG[[:space:]]+A 13 " <<<"$out" && geo=yes
			;;
		esac
		out=$(d nope.svc.example.com A)
		nx="$(sed -n 's/.*status: \([A-Z]*\),.*/\1/p' <<<"$out")"
		if grep -qE "NSEC[[:space:]]+\\\\000\.nope\." <<<"$out"; then
			nx="$nx, black lies"
		elif grep -qE "IN[[:space:]]+NSEC[[:space:]]" <<<"$out"; then
			nx="$nx, NSEC chain"
		elif grep -qE "IN[[:space:]]+NSEC3[[:space:]]" <<<"$out"; then
			nx="$nx, NSEC3"
		fi
		keys=$(dig +norec +time=2 +tries=1 +multi -p "$port" @127.0.0.1 svc.example.com DNSKEY 2>/dev/null |
			awk '/IN[[:space:]]+DNSKEY/ { f = $5; a = $7 } /key id = / { printf "%s%s %s %s", sep, f, a, $NF; sep = ", " }')
		printf '| %s | %s | %s | %s | %s |\n' "$s" "$st" "$geo" "$nx" "${keys:--}"
		if [ "$st" = yes ] && [ "$geo" != no ]; then
			good="$good $s"
		else
			echo "bench: warning: $s does not sign its DO answers; left out of the dnssec part" >&2
		fi
	done
	echo
	echo "signed servers:$good"
}

# ---- start the servers ----
m0=$(machine_ticks)
sleep 1
load=$((($(machine_ticks) - m0) * 100 / HZ))
if [ "$load" -gt 10 ]; then
	echo "bench: warning: other work used ${load}% of a CPU before start;" \
		"it will distort the results (see the 'other' column)" >&2
fi
for s in $SERVERS $GEO_SERVERS $DNSSEC_SERVERS; do
	port=$(port_of "$s")
	[ -n "$port" ] || die "unknown server '$s'"
	mkdir -p "$TMP/$s"
	if ! "start_${s//-/_}" "$TMP/$s" "$port" || ! wait_ready "$s" "$port"; then
		echo "bench: $s failed to start on port $port; skipped. Its output:" >&2
		sed 's/^/  /' "$TMP/$s/$s.out" 2>/dev/null | tail -5 >&2
		pid=$(cat "$TMP/$s/$s.pid" 2>/dev/null) && kill -TERM "$pid" 2>/dev/null
		continue
	fi
	case "$s" in *-geo) GUP="$GUP $s" ;; *-dnssec | knot-onlinesign) DUP="$DUP $s" ;; *) UP="$UP $s" ;; esac
done
UP=${UP# } GUP=${GUP# } DUP=${DUP# }
[ -n "$UP$GUP$DUP" ] || die "no server started"
echo "servers: ${UP:-none}; geo: ${GUP:-none}; dnssec: ${DUP:-none}" \
	"(on CPU $SRV_CPU; aya-loadgen on CPU $LG_CPU)"
[ -n "$UP" ] && check_shapes
if [ -n "$GUP" ]; then
	sed 's/^www\.svc\.example\.com /ns1.svc.example.com /' "$GEOQ" >"$TMP/geo-static.txt"
	geo_compare >"$TMP/geo-compare.md"
	grep -E '^(ECS scope|\| (ayad|gdnsd|pdns))' "$TMP/geo-compare.md"
fi
if [ -n "$DUP" ]; then
	dnssec_check >"$TMP/dnssec-check.md"
	cat "$TMP/dnssec-check.md"
	DUP=$(sed -n 's/^signed servers: //p' "$TMP/dnssec-check.md")
fi
# The dnssec sets and who runs them: the signed servers and the unsigned
# references (ayad-geo: the same ayad config without dnssec:; knot).
DSTATIC="" DGEO=""
for s in $DUP ayad-geo knot; do
	case " $UP $GUP $DUP " in *" $s "*) ;; *) continue ;; esac
	[ -n "$DUP" ] || continue
	DSTATIC="$DSTATIC $s"
	case "$s" in ayad-dnssec | pdns-dnssec | ayad-geo) DGEO="$DGEO $s" ;; esac
done

# ---- warm up, then interleaved rounds ----
for s in $UP $GUP $DUP; do
	qargs static
	case "$s" in pdns-*) QARGS+=(-r "$PDNS_RATE") ;; esac
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
	# The geo part: every geo server with the geo set, then ayad-geo and
	# gdnsd-geo with the same clients asking for a static name.
	for mode in sat rate; do
		for s in $GUP; do
			measure_clean "$s" geo "$mode" "$r"
		done
		for s in $GUP; do
			[ "$s" = pdns-geo ] || measure_clean "$s" geo-static "$mode" "$r"
		done
	done
	# The dnssec part: DO queries to the signed servers and the references.
	for mode in sat rate; do
		for s in $DSTATIC; do
			measure_clean "$s" dnssec-static "$mode" "$r"
		done
		for s in $DGEO; do
			measure_clean "$s" dnssec-geo "$mode" "$r"
		done
	done
	echo "round $r/$ROUNDS done" >&2
done

# ---- report ----
# One table row per "server:set" (label: server, or "server set" with -l).
report_rows() { # [-l] server:set...
	local row s set label=0 sat best lat_avg lat_p99 lost_sat lost_rate rss usr sys busy other name rate
	[ "$1" = -l ] && { label=1; shift; }
	echo "| server | q/s | best q/s | server busy | other | avg µs @rate | p99 µs @rate | lost (sat / rate) | RSS MB | user µs/q | sys µs/q |"
	echo "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
	for row in "$@"; do
		s=${row%%:*} set=${row#*:}
		sat=$(vals "$s" "$set" sat qps | median)
		[ "$sat" = - ] && continue
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
		rate=$RATE
		case "$s" in pdns-*) rate=$PDNS_RATE ;; esac
		name=$s
		[ "$label" = 1 ] && name="$s $set"
		[ "$rate" != "$RATE" ] && name="$name (rate $rate)"
		printf '| %s | %.0f | %.0f | %s%% | %s%% | %.1f | %.1f | %s / %s | %.1f | %.2f | %.2f |\n' \
			"$name" "$sat" "$best" "$busy" "$other" "$lat_avg" "$lat_p99" "$lost_sat" "$lost_rate" \
			"$(echo "$rss" | awk '{ print $1 / 1024 }')" "$usr" "$sys"
	done
}

noisy_note() { # set...
	awk -v sets=" $* " -v lim="$NOISY" 'index(sets, " " $2 " ") { n++; if (match($0, / other=[0-9]+/) &&
		substr($0, RSTART + 7, RLENGTH - 7) + 0 > lim) k++ }
		END { if (k) printf "\n%d of %d runs had other work above %d%% of a CPU.\n", k, n, lim }' "$RES"
}

# Median over rounds of the per-round q/s ratio a / b.
ratio() { # server:set server:set
	paste <(vals "${1%%:*}" "${1#*:}" sat qps) <(vals "${2%%:*}" "${2#*:}" sat qps) |
		awk 'NF == 2 && $2 > 0 { print $1 / $2 }' | median |
		awk '{ if ($1 == "-") print "-"; else printf "%.2f", $1 }'
}

report() {
	local o
	echo "### Query set: $set ($([ "$set" = static ] && echo "$QNAME $QTYPE" ||
		echo "tests/bench/data/queries-mixed.txt")); medians over $ROUNDS rounds of ${SECS} s"
	echo
	# shellcheck disable=SC2046 # one word per row on purpose
	report_rows $(for o in $UP; do echo "$o:$set"; done)
	noisy_note "$set"
	case " $UP " in *" ayad "*) ;; *) echo; return ;; esac
	echo
	for o in $UP; do
		[ "$o" = ayad ] && continue
		echo "ayad / $o q/s (median of per-round ratios): $(ratio "ayad:$set" "$o:$set")x"
	done
	echo
}

# The second table: geo answers with ECS, next to static answers of the same
# instances to the same clients, then the geo goals (README "Benchmark").
report_geo() {
	local r a g au gu
	echo "### Geo service with ECS: $GEONAME A from $(grep -c '^www' "$GEOQ") client /24s" \
		"(tests/bench/data/geo-clients.txt); medians over $ROUNDS rounds of ${SECS} s"
	echo
	echo "\"geo\" is the service answer; \"geo-static\" the same clients (same ECS options)" \
		"asking for ns1.svc.example.com A, a static name, of the same instance."
	echo
	# shellcheck disable=SC2046 # one word per row on purpose
	report_rows -l $(for s in $GUP; do echo "$s:geo"; done) \
		$(for s in $GUP; do [ "$s" = pdns-geo ] || echo "$s:geo-static"; done)
	noisy_note geo geo-static
	echo
	for r in "ayad-geo:geo gdnsd-geo:geo" "ayad-geo:geo ayad-geo:geo-static" \
		"gdnsd-geo:geo gdnsd-geo:geo-static" "ayad-geo:geo pdns-geo:geo" \
		"gdnsd-geo:geo pdns-geo:geo"; do
		a=${r% *} g=${r#* }
		case " $GUP " in *" ${a%%:*} "*) ;; *) continue ;; esac
		case " $GUP " in *" ${g%%:*} "*) ;; *) continue ;; esac
		echo "${a%%:*} ${a#*:} / ${g%%:*} ${g#*:} q/s (median of per-round ratios): $(ratio "$a" "$g")x"
	done
	case " $GUP " in *" ayad-geo "*) ;; *) echo; return ;; esac
	case " $GUP " in *" gdnsd-geo "*) ;; *) echo; return ;; esac
	a=$(ratio ayad-geo:geo gdnsd-geo:geo)
	au=$(vals ayad-geo geo rate usr_us | median)
	gu=$(vals gdnsd-geo geo rate usr_us | median)
	echo
	echo "Goals:"
	echo "- ayad geo+ECS q/s >= 0.95x gdnsd geoip: ${a}x," \
		"$(awk -v a="$a" 'BEGIN { print (a != "-" && a + 0 >= 0.95) ? "met" : "NOT met" }')"
	# Compared as shown (0.01 µs); CPU time comes in ticks of 1/HZ s, so
	# short runs cannot tell closer values apart.
	awk -v a="$au" -v g="$gu" 'BEGIN {
		a = sprintf("%.2f", a); g = sprintf("%.2f", g)
		printf "- less user CPU per query than gdnsd geoip: ayad %s µs, gdnsd %s µs, %s\n", a, g,
			(a + 0 < g + 0) ? "met" : (a + 0 == g + 0) ? "NOT met (equal as measured)" : "NOT met"
	}'
	echo "- ECS scope never longer than gdnsd's: $(grep -o '[0-9]* longer' "$TMP/geo-compare.md" |
		awk '{ print ($1 == 0) ? "met (0 longer)" : "NOT met (" $1 " longer)" }')"
	echo
}
# The dnssec table: DO answers of the signed servers and of the unsigned
# references, then ayad's goal (signed >= 0.9x unsigned) and the ratios.
report_dnssec() {
	local r a g v
	echo "### DNSSEC: DO queries; medians over $ROUNDS rounds of ${SECS} s"
	echo
	echo "\"dnssec-static\" is $QNAME $QTYPE with DO; \"dnssec-geo\" $GEONAME A with DO and the ECS" \
		"of the $(grep -c '^www' "$GEOQ") client /24s of tests/bench/data/geo-clients.txt." \
		"ayad-geo and knot are unsigned: the same DO queries, answers without signatures."
	echo
	# shellcheck disable=SC2046 # one word per row on purpose
	report_rows -l $(for s in $DSTATIC; do echo "$s:dnssec-static"; done) \
		$(for s in $DGEO; do echo "$s:dnssec-geo"; done)
	noisy_note dnssec-static dnssec-geo
	echo
	for r in "ayad-dnssec:dnssec-static ayad-geo:dnssec-static" "ayad-dnssec:dnssec-geo ayad-geo:dnssec-geo" \
		"ayad-dnssec:dnssec-static knot-dnssec:dnssec-static" \
		"ayad-dnssec:dnssec-static knot-onlinesign:dnssec-static" \
		"ayad-dnssec:dnssec-static pdns-dnssec:dnssec-static" "ayad-dnssec:dnssec-geo pdns-dnssec:dnssec-geo" \
		"knot-dnssec:dnssec-static knot:dnssec-static" "knot-onlinesign:dnssec-static knot:dnssec-static"; do
		a=${r% *} g=${r#* }
		case " $DSTATIC " in *" ${a%%:*} "*) ;; *) continue ;; esac
		case " $DSTATIC " in *" ${g%%:*} "*) ;; *) continue ;; esac
		echo "${a%%:*} ${a#*:} / ${g%%:*} ${g#*:} q/s (median of per-round ratios): $(ratio "$a" "$g")x"
	done
	if [ -n "${DSTATIC##*ayad-dnssec*}" ] || [ -n "${DSTATIC##*ayad-geo*}" ]; then
		echo
		grep -v '^signed servers:' "$TMP/dnssec-check.md"
		return
	fi
	echo
	echo "Goals:"
	for v in static geo; do
		a=$(ratio "ayad-dnssec:dnssec-$v" "ayad-geo:dnssec-$v")
		echo "- ayad signed $v answers q/s >= 0.9x unsigned: ${a}x," \
			"$(awk -v a="$a" 'BEGIN { print (a != "-" && a + 0 >= 0.9) ? "met" : "NOT met" }')"
	done
	echo
	grep -v '^signed servers:' "$TMP/dnssec-check.md"
}
{
	echo "## Results"
	echo
	for set in static mixed; do
		[ -n "$UP" ] && report
	done
	if [ -n "$GUP" ]; then
		report_geo
		cat "$TMP/geo-compare.md"
	fi
	[ -n "$DUP" ] && report_dnssec
	echo "Machine: $(nproc) CPUs, $(awk -F': ' '/model name/ { print $2; exit }' /proc/cpuinfo)," \
		"Linux $(uname -r)"
	echo "Versions: $(nsd -v 2>&1 | head -1); $(knotd --version 2>&1 | head -1);" \
		"$(gdnsd -V 2>&1 | awk '/version/ { print $1 " " $3; exit }');" \
		"$(pdns_server --version 2>&1 | awk '/PowerDNS Authoritative/ { print "PowerDNS " $(NF - 4); exit }')"
	echo "Command: B=$B BENCH_ROUNDS=$ROUNDS BENCH_SECONDS=$SECS BENCH_RATE=$RATE" \
		"BENCH_WINDOW=$WINDOW BENCH_PDNS_RATE=$PDNS_RATE scripts/bench.sh"
	echo "Loadgen: taskset -c $LG_CPU aya-loadgen -p PORT (-n $QNAME -t $QTYPE | -q" \
		"queries-mixed.txt | -q geo-clients.txt) [-D] (-r 0 -c $WINDOW | -r $RATE -c 1000) -d $SECS"
	[ -n "$GUP" ] && echo "Geo database: $GEODB ($(stat -c %s "$GEODB") bytes)." \
		"IP geolocation by DB-IP (https://db-ip.com), CC BY 4.0."
} | tee "$OUT/results.md"
echo "raw results: $RES" >&2
