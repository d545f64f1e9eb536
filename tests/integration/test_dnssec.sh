#!/usr/bin/env bash
# DNSSEC online signing end to end, checked by real validators: unbound (a
# validating resolver with a stub-zone to the signer, the zone's SEP key as
# its trust anchor, and the subnetcache module so that the ECS of a client
# query reaches the signer) and delv (bind9-dnsutils). Static answers (A, MX,
# TXT, a wildcard, a CNAME, DS at a signed delegation, no DS at an unsigned
# one), the geo service for clients in three continents, NODATA, NXDOMAIN
# (compact denial), DNSKEY, a TC answer then the same over TCP, an ed25519
# zone. That the validators really validate: a wrong trust anchor makes both
# fail, and an address rewritten on the way (tamper_proxy.py) is bogus. dig
# +dnssec directly: RRSIGs only with DO, the black-lies shapes. Then a key
# rollover with ayactl dnssec add/activate/remove, validated before, during
# and after by an unbound that keeps its cache (TTLs capped at 5 s, the
# stand-in for the DNSKEY TTL the test waits between steps); skipped while
# `ayactl dnssec status` does not work.
#
# DNSSEC_TARGET=knot checks the harness itself against knotd with its
# onlinesign module (black lies too) serving the same zones (www static, so
# no geo checks); keymgr and knotc reload stand in for ayactl in the
# rollover. Every other check is the same and must pass there as well.
. "$(dirname "$0")/lib.sh"

TARGET=${DNSSEC_TARGET:-ayad}
case "$TARGET" in ayad | knot) ;; *)
	echo "not ok - DNSSEC_TARGET must be ayad or knot (got '$TARGET')"
	exit 1
	;;
esac
for tool in unbound delv dig; do
	if ! command -v "$tool" >/dev/null; then
		echo "not ok - $tool installed (scripts/deps.sh test)"
		exit 1
	fi
done
if [ "$TARGET" = knot ] && ! command -v knotd >/dev/null; then
	echo "not ok - knotd installed (scripts/deps.sh test)"
	exit 1
fi

GEO_DB=$ROOT/../shared/geo/dbip-country-lite.mmdb
GEO=1
if [ "$TARGET" = knot ]; then
	GEO=0
elif [ ! -e "$GEO_DB" ]; then
	echo "# geo database $GEO_DB absent: the geo checks are skipped"
	GEO=0
else
	GEO_DB=$(cd "$(dirname "$GEO_DB")" && pwd)/$(basename "$GEO_DB")
fi
EU=81.2.69.0/24  # GB -> eu-west 192.0.2.10
US=8.8.8.0/24    # US -> us-east 198.51.100.10
IN=14.139.1.0/24 # IN -> ap-south 203.0.113.10
ED=ed.example.org

PORT=$(free_port)  # the signer
UPORT=$(free_port) # unbound with the right anchor
D=$T/srv
mkdir -p "$D/zones" "$T/unbound"

# ---- the zones ----
cp "$ZONE_SRC" "$D/zones/$ZONE.zone"
cat >>"$D/zones/$ZONE.zone" <<'EOF'
; test_dnssec.sh: a CNAME into the service, a delegation with a DS
alias       IN CNAME www
secure      IN NS   ns1.secure
            IN DS   12345 13 2 0123456789ABCDEF0123456789ABCDEF0123456789ABCDEF0123456789ABCDEF
ns1.secure  IN A    192.0.2.154
EOF
# Knot has no service: www is a static name there.
[ "$TARGET" = knot ] && echo "www         IN A    192.0.2.10" >>"$D/zones/$ZONE.zone"
cat >"$D/zones/$ED.zone" <<'EOF'
$ORIGIN ed.example.org.
$TTL 3600
@     IN SOA ns1 hostmaster 1 7200 3600 1209600 300
      IN NS  ns1
      IN A   192.0.2.200
ns1   IN A   192.0.2.201
host  IN A   192.0.2.202
EOF

# ---- the signer ----
start_knot() {
	mkdir -p "$D/db"
	cat >"$D/knot.conf" <<EOF
server:
    rundir: "$D"
    listen: 127.0.0.1@$PORT
log:
  - target: stderr
    any: warning
database:
    storage: "$D/db"
control:
    listen: "$D/knot.sock"
policy:
  - id: p13
    algorithm: ecdsap256sha256
    single-type-signing: on
    manual: on
  - id: p15
    algorithm: ed25519
    single-type-signing: on
    manual: on
mod-onlinesign:
  - id: os13
    policy: p13
  - id: os15
    policy: p15
template:
  - id: default
    storage: "$D/zones"
    file: "%s.zone"
    zonefile-sync: -1
    journal-content: none
zone:
  - domain: $ZONE
    module: mod-onlinesign/os13
  - domain: $ED
    module: mod-onlinesign/os15
EOF
	# Manual key management: one CSK each now; the rollover adds more (knot_ctl).
	keymgr -c "$D/knot.conf" "$ZONE." generate algorithm=ecdsap256sha256 ksk=yes zsk=yes >/dev/null &&
		keymgr -c "$D/knot.conf" "$ED." generate algorithm=ed25519 ksk=yes zsk=yes >/dev/null || return 1
	knotd -c "$D/knot.conf" 2>>"$D/knot.log" &
	echo $! >"$D/knot.pid"
	PIDS+=("$D/knot.pid")
	local i
	for i in $(seq 1 100); do
		kill -0 "$(cat "$D/knot.pid")" 2>/dev/null || break
		if dig @127.0.0.1 -p "$PORT" +norec +dnssec +time=1 +tries=1 DNSKEY "$ED" 2>/dev/null |
			grep -q "RRSIG"; then
			return 0
		fi
		sleep 0.1
	done
	sed 's/^/#   /' "$D/knot.log" >&2
	return 1
}

# A zone signed elsewhere (ldns-signzone), served as is by ayad (no dnssec:).
PRE=""
if [ "$TARGET" != knot ]; then
	PRE=pre.example.net
	mkdir -p "$T/pre"
	cat >"$T/pre/$PRE.zone" <<'EOF'
$ORIGIN pre.example.net.
$TTL 300
@       IN SOA ns1 hostmaster 1 7200 3600 1209600 300
        IN NS  ns1
ns1     IN A   192.0.2.31
www     IN A   192.0.2.32
a.b.c   IN A   192.0.2.33
*.wild  IN TXT "presigned wildcard"
sub     IN NS  ns.sub
ns.sub  IN A   192.0.2.34
EOF
	(cd "$T/pre" && ldns-keygen -a ECDSAP256SHA256 -k "$PRE" >key.name 2>/dev/null &&
		ldns-signzone -o "$PRE" -f "$D/zones/$PRE.zone" "$PRE.zone" "$(cat key.name)") ||
		{ not_ok "ldns-signzone signs the pre-signed zone"; finish; }
fi

start_aya() {
	local geo="" svc=""
	if [ "$GEO" = 1 ]; then
		geo="geo:
  database: $GEO_DB
regions:
  - { name: eu-west, location: [53.35, -6.26] }
  - { name: us-east, location: [39.04, -77.49] }
  - { name: ap-south, location: [19.08, 72.88] }"
		svc="    services:
      - name: www
        ttl: 30
        pools:
          - region: eu-west
            endpoints: [ { address: 192.0.2.10 }, { address: \"2001:db8::10\" } ]
          - region: us-east
            endpoints: [ { address: 198.51.100.10 } ]
          - region: ap-south
            endpoints: [ { address: 203.0.113.10 } ]
        policy: [healthy, drain, geo, { first_n: 1 }]"
	else
		echo "www         IN A    192.0.2.10" >>"$D/zones/$ZONE.zone"
	fi
	cat >"$D/aya.yaml" <<EOF
node:
  name: it-node-1
  region: eu-west
dns:
  listen: ["127.0.0.1:$PORT"]
  threads: 2
$geo
zones:
  - name: $ZONE
    file: zones/$ZONE.zone
    dnssec:
      algorithm: ecdsap256sha256
$svc
  - name: $ED
    file: zones/$ED.zone
    dnssec:
      algorithm: ed25519
  - name: $PRE
    file: zones/$PRE.zone
control:
  socket: $D/ayad.sock
state_dir: $D/state
EOF
	start_ayad "$D"
}

if [ "$TARGET" = knot ]; then
	start_knot
else
	start_aya
fi || {
	not_ok "$TARGET starts with the signed zones"
	finish
}
ok "$TARGET starts with the signed zones"

# ---- dig +dnssec directly at the signer ----
has() { grep -qE "$2" <<<"$1"; }
hasnt() { ! grep -qE "$2" <<<"$1"; }
d() { dig @127.0.0.1 -p "$PORT" +norec +time=2 +tries=1 "$@" 2>&1; }
# rrsig_field OUT TYPE N: field N (1-based, of the RDATA) of the RRSIG covering TYPE.
rrsig_field() {
	awk -v t="$2" -v n="$3" '$4 == "RRSIG" && $5 == t { print $(4 + n); exit }' <<<"$1"
}

out=$(d A mail.$ZONE)
check "no DO: an answer without RRSIG" bash -c 'grep -qE "IN[[:space:]]+A[[:space:]]+192.0.2.25" <<<"$1" && ! grep -q RRSIG <<<"$1"' _ "$out"
out=$(d +dnssec A mail.$ZONE)
check "DO: the A RRset and its RRSIG" has "$out" "^mail\.$ZONE\.[[:space:]]+[0-9]+[[:space:]]+IN[[:space:]]+RRSIG[[:space:]]+A 13 4 "
check "DO: the reply's OPT has DO" has "$out" "EDNS: version: 0, flags: do;"
out=$(d +dnssec DNSKEY $ZONE)
check "DNSKEY: a SEP key (257) of algorithm 13, signed" \
	bash -c 'grep -qE "DNSKEY[[:space:]]+257 3 13 " <<<"$1" && grep -qE "RRSIG[[:space:]]+DNSKEY 13 " <<<"$1"' _ "$out"
out=$(d +dnssec DNSKEY $ED)
check "ed25519 zone: DNSKEY 257 of algorithm 15, signed" \
	bash -c 'grep -qE "DNSKEY[[:space:]]+257 3 15 " <<<"$1" && grep -qE "RRSIG[[:space:]]+DNSKEY 15 " <<<"$1"' _ "$out"
out=$(d +dnssec A nope.$ZONE)
check "NXDOMAIN (compact denial): NOERROR, no answer" \
	bash -c 'grep -q "status: NOERROR" <<<"$1" && grep -q "ANSWER: 0," <<<"$1"' _ "$out"
check "NXDOMAIN: NSEC at the qname, next \\000.qname" \
	has "$out" "^nope\.$ZONE\.[[:space:]]+[0-9]+[[:space:]]+IN[[:space:]]+NSEC[[:space:]]+\\\\000\.nope\.$ZONE\. "
check "NXDOMAIN: the NSEC is signed" has "$out" "RRSIG[[:space:]]+NSEC 13 4 "
if [ "$TARGET" = ayad ]; then
	# NXNAME (RFC 9824, type 128): dig 9.18 prints it as TYPE128.
	check "NXDOMAIN: the NSEC bitmap is RRSIG NSEC NXNAME" \
		has "$out" "NSEC[[:space:]]+\\\\000\.nope\.$ZONE\. RRSIG NSEC (NXNAME|TYPE128)$"
fi
out=$(d +dnssec TXT mail.$ZONE)
check "NODATA: NOERROR, no answer, NSEC at the qname with A AAAA, no TXT" \
	bash -c 'grep -q "status: NOERROR" <<<"$1" && grep -q "ANSWER: 0," <<<"$1" &&
		grep -qE "^mail\.[^ ]+[[:space:]].*NSEC[[:space:]].* A .*AAAA" <<<"$1" &&
		! grep -qE "NSEC[[:space:]].* TXT" <<<"$1"' _ "$out"
out=$(d +dnssec A x.y.wild.$ZONE)
check "wildcard: the answer is signed as if the name existed (labels 6)" \
	test "$(rrsig_field "$out" A 3)" = 6
out=$(d +dnssec +bufsize=1232 +ignore TXT big.$ZONE)
check "big TXT with DO over UDP: TC" has "$out" "^;; flags:[a-z ]* tc[ ;]"
out=$(d +dnssec +tcp TXT big.$ZONE)
check "big TXT with DO over TCP: 20 TXT and the RRSIG" \
	bash -c '[ "$(grep -cE "IN[[:space:]]+TXT[[:space:]]+\"big-" <<<"$1")" = 20 ] && grep -qE "RRSIG[[:space:]]+TXT 13 " <<<"$1"' _ "$out"

# ---- trust anchors from the SEP keys ----
# sep_keys ZONE: "owner flags proto alg key" of every 257 key, one a line.
sep_keys() {
	dig @127.0.0.1 -p "$PORT" +norec +time=2 +tries=1 +noall +answer +nomulti DNSKEY "$1" |
		awk '$4 == "DNSKEY" && $5 == 257 { k = ""; for (i = 8; i <= NF; i++) k = k $i; print $1, $5, $6, $7, k }'
}
# write_anchors UNBOUND_FILE DELV_FILE [KEYLINES...]: anchors for both validators.
write_anchors() {
	local uf=$1 df=$2 l
	shift 2
	: >"$uf"
	echo "trust-anchors {" >"$df"
	for l in "$@"; do
		read -r owner flags proto alg key <<<"$l"
		echo "$owner 3600 IN DNSKEY $flags $proto $alg $key" >>"$uf"
		echo "  $owner static-key $flags $proto $alg \"$key\";" >>"$df"
	done
	echo "};" >>"$df"
}
mapfile -t KEYS < <(sep_keys $ZONE; sep_keys $ED; [ -z "$PRE" ] || sep_keys $PRE)
check "SEP keys for both zones (got ${#KEYS[@]})" test "${#KEYS[@]}" -ge 2
write_anchors "$T/anchors.unbound" "$T/anchors.delv" "${KEYS[@]}"
# A wrong anchor: the right one with its key bytes changed (still a valid P-256 /
# ed25519 encoding is not needed: a key that matches nothing is enough).
BAD=()
for l in "${KEYS[@]}"; do
	read -r owner flags proto alg key <<<"$l"
	BAD+=("$owner $flags $proto $alg $(python3 -c '
import base64, sys
k = bytearray(base64.b64decode(sys.argv[1]))
k[5] ^= 0x55
print(base64.b64encode(bytes(k)).decode())' "$key")")
done
write_anchors "$T/bad.unbound" "$T/bad.delv" "${BAD[@]}"

# ---- unbound ----
# start_unbound NAME PORT ANCHORS [EXTRA]: a validating resolver on 127.0.0.1:PORT.
start_unbound() {
	local name=$1 port=$2 anchors=$3 extra=${4:-} dir=$T/$1 pre_stub=""
	mkdir -p "$dir"
	[ -z "$PRE" ] || pre_stub="stub-zone:
    name: \"$PRE\"
    stub-addr: 127.0.0.1@${STUB_PORT:-$PORT}"
	cat >"$dir/unbound.conf" <<EOF
server:
    interface: 127.0.0.1
    port: $port
    do-ip6: no
    do-daemonize: no
    use-syslog: no
    logfile: ""
    chroot: ""
    username: ""
    directory: "$dir"
    pidfile: ""
    verbosity: 1
    val-log-level: 2
    access-control: 127.0.0.0/8 allow
    do-not-query-localhost: no
    qname-minimisation: no
    aggressive-nsec: no
    module-config: "subnetcache validator iterator"
    send-client-subnet: 127.0.0.1
    max-client-subnet-ipv4: 24
    trust-anchor-file: "$anchors"
$extra
stub-zone:
    name: "$ZONE"
    stub-addr: 127.0.0.1@${STUB_PORT:-$PORT}
stub-zone:
    name: "$ED"
    stub-addr: 127.0.0.1@${STUB_PORT:-$PORT}
$pre_stub
EOF
	if ! unbound-checkconf "$dir/unbound.conf" >"$dir/checkconf.out" 2>&1; then
		sed 's/^/#   /' "$dir/checkconf.out" >&2
		return 1
	fi
	unbound -d -c "$dir/unbound.conf" >>"$dir/unbound.log" 2>&1 &
	echo $! >"$dir/unbound.pid"
	PIDS+=("$dir/unbound.pid")
	local i
	for i in $(seq 1 100); do
		kill -0 "$(cat "$dir/unbound.pid")" 2>/dev/null || break
		# Any reply (even SERVFAIL) means it listens.
		dig @127.0.0.1 -p "$port" +time=1 +tries=1 SOA "$ZONE" 2>/dev/null | grep -q "status:" && return 0
		sleep 0.1
	done
	sed 's/^/#   /' "$dir/unbound.log" >&2
	return 1
}
# u ARGS...: a query through unbound (port $UP, default the main one).
u() { dig @127.0.0.1 -p "${UP:-$UPORT}" +time=3 +tries=1 "$@" 2>&1; }
ad() { grep -qE "^;; flags: [a-z ]* ad[ ;]" <<<"$1"; }
status_is() { grep -q "status: $2," <<<"$1"; }
# validated NAME OUT [PATTERN]: NOERROR, AD, and PATTERN in the answer.
validated() {
	local name=$1 out=$2 pat=${3:-}
	if status_is "$out" NOERROR && ad "$out" && { [ -z "$pat" ] || grep -qE "$pat" <<<"$out"; }; then
		ok "$name"
	else
		not_ok "$name"
		sed 's/^/#   /' <<<"$out" | grep -E "status|flags|IN" | head -n 12
	fi
}

start_unbound unbound "$UPORT" "$T/anchors.unbound" || {
	not_ok "unbound starts with the zone's SEP keys as trust anchors"
	finish
}
ok "unbound starts with the zone's SEP keys as trust anchors"

validated "unbound: DNSKEY validated" "$(u +dnssec DNSKEY $ZONE)" "DNSKEY[[:space:]]+257 "
validated "unbound: static A validated" "$(u A mail.$ZONE)" "IN[[:space:]]+A[[:space:]]+192\.0\.2\.25"
validated "unbound: MX validated" "$(u MX $ZONE)" "IN[[:space:]]+MX[[:space:]]+10 mail\.$ZONE\."
validated "unbound: TXT validated" "$(u TXT $ZONE)" "v=spf1 mx -all"
validated "unbound: CNAME to a static name validated" "$(u A docs.$ZONE)" \
	"CNAME[[:space:]]+api\.$ZONE\..*"
validated "unbound: CNAME ... and its target" "$(u A docs.$ZONE)" "IN[[:space:]]+A[[:space:]]+192\.0\.2\.80"
validated "unbound: wildcard validated" "$(u A x.y.wild.$ZONE)" "^x\.y\.wild\.$ZONE\..*IN[[:space:]]+A[[:space:]]+192\.0\.2\.99"
validated "unbound: wildcard TXT validated" "$(u TXT other.wild.$ZONE)" "\"wildcard\""
out=$(u TXT mail.$ZONE)
validated "unbound: NODATA validated" "$out" "ANSWER: 0,"
out=$(u A nope.$ZONE)
check "unbound: NXDOMAIN validated (NOERROR/NXDOMAIN, no answer, AD)" \
	bash -c '(grep -q "status: NOERROR," <<<"$1" || grep -q "status: NXDOMAIN," <<<"$1") &&
		grep -q "ANSWER: 0," <<<"$1" && grep -qE "^;; flags: [a-z ]* ad[ ;]" <<<"$1"' _ "$out"
validated "unbound: name under an empty non-terminal validated" "$(u A a.b.c.$ZONE)" "192\.0\.2\.77"
validated "unbound: empty non-terminal: NODATA validated" "$(u A b.c.$ZONE)" "ANSWER: 0,"
validated "unbound: DS at a signed delegation validated" "$(u DS secure.$ZONE)" \
	"IN[[:space:]]+DS[[:space:]]+12345 13 2 "
validated "unbound: no DS at an unsigned delegation: NODATA validated" "$(u DS sub.$ZONE)" "ANSWER: 0,"
validated "unbound: big TXT (TC, then TCP) validated" "$(u TXT big.$ZONE)" "ANSWER: 20,"
validated "unbound: ed25519 zone A validated" "$(u A host.$ED)" "192\.0\.2\.202"
validated "unbound: ed25519 zone NXDOMAIN validated" "$(u A nope.$ED)" "ANSWER: 0,"

# ---- a pre-signed zone file, served as is ----
if [ -n "$PRE" ]; then
	validated "pre-signed: A validated" "$(u A www.$PRE)" "192\.0\.2\.32"
	validated "pre-signed: NODATA validated" "$(u MX www.$PRE)" "ANSWER: 0,"
	validated "pre-signed: empty non-terminal NODATA validated" "$(u A b.c.$PRE)" "ANSWER: 0,"
	validated "pre-signed: wildcard validated" "$(u TXT x.wild.$PRE)" "presigned wildcard"
	validated "pre-signed: no DS at the delegation validated" "$(u DS sub.$PRE)" "ANSWER: 0,"
	out=$(u A nope.$PRE)
	check "pre-signed: NXDOMAIN (its NSEC chain) validated" \
		bash -c 'grep -q "status: NXDOMAIN," <<<"$1" && grep -qE "^;; flags: [a-z ]* ad[ ;]" <<<"$1"' _ "$out"
	out=$(d +dnssec A nope.$PRE)
	check "pre-signed: NXDOMAIN carries two NSECs (name and wildcard)" \
		test "$(grep -cE "IN[[:space:]]+NSEC[[:space:]]" <<<"$out")" -eq 2
	check "pre-signed: no RRSIG without DO" bash -c '! grep -q RRSIG <<<"$1"' _ "$(d A www.$PRE)"
fi

# ---- the geo service through unbound: ECS per client ----
if [ "$GEO" = 1 ]; then
	ga() { u +subnet="$1" A "${2:-www.$ZONE}"; }
	out=$(ga $EU)
	validated "unbound: www for Europe ($EU) is eu-west, validated" "$out" \
		"^www\.$ZONE\..*IN[[:space:]]+A[[:space:]]+192\.0\.2\.10$"
	out=$(ga $US)
	validated "unbound: www for the US ($US) is us-east, validated" "$out" \
		"^www\.$ZONE\..*IN[[:space:]]+A[[:space:]]+198\.51\.100\.10$"
	out=$(ga $IN)
	validated "unbound: www for India ($IN) is ap-south, validated" "$out" \
		"^www\.$ZONE\..*IN[[:space:]]+A[[:space:]]+203\.0\.113\.10$"
	out=$(ga $US alias.$ZONE)
	validated "unbound: CNAME into the service for the US: the CNAME, validated" "$out" \
		"^alias\.$ZONE\..*CNAME[[:space:]]+www\.$ZONE\."
	validated "unbound: ... and the us-east A" "$out" "^www\.$ZONE\..*IN[[:space:]]+A[[:space:]]+198\.51\.100\.10$"
	out=$(ga $EU alias.$ZONE)
	validated "unbound: CNAME into the service for Europe: eu-west, validated" "$out" \
		"^www\.$ZONE\..*IN[[:space:]]+A[[:space:]]+192\.0\.2\.10$"
	out=$(u +subnet=$EU AAAA www.$ZONE)
	validated "unbound: www AAAA for Europe validated" "$out" "IN[[:space:]]+AAAA[[:space:]]+2001:db8::10$"
	# us-east has no IPv6 endpoint: the nearest pool with one answers.
	out=$(u +subnet=$US AAAA www.$ZONE)
	validated "unbound: www AAAA for the US (from another region) validated" "$out" "IN[[:space:]]+AAAA[[:space:]]+2001:db8::10$"
	# Directly: each region's answer, with its own RRSIG.
	a1=$(d +dnssec +subnet=$EU A www.$ZONE)
	a2=$(d +dnssec +subnet=$US A www.$ZONE)
	check "geo answers signed directly: RRSIG A over each region's answer" \
		bash -c 'grep -qE "RRSIG[[:space:]]+A 13 4 30 " <<<"$1" && grep -qE "RRSIG[[:space:]]+A 13 4 30 " <<<"$2" &&
			grep -q "192.0.2.10" <<<"$1" && grep -q "198.51.100.10" <<<"$2"' _ "$a1" "$a2"
fi

# ---- delv ----
dv() { delv @127.0.0.1 -p "$PORT" -a "${ANCH:-$T/anchors.delv}" +root="${ROOTZ:-$ZONE}" "$@" 2>&1; }
fully() {
	local name=$1 out=$2 pat=${3:-}
	if grep -q "fully validated" <<<"$out" && { [ -z "$pat" ] || grep -qE "$pat" <<<"$out"; }; then
		ok "$name"
	else
		not_ok "$name"
		sed 's/^/#   /' <<<"$out" | head -n 8
	fi
}
fully "delv: static A fully validated" "$(dv A mail.$ZONE)" "192\.0\.2\.25"
fully "delv: MX fully validated" "$(dv MX $ZONE)" "MX[[:space:]]+10 mail"
fully "delv: TXT fully validated" "$(dv TXT $ZONE)" "v=spf1"
fully "delv: wildcard fully validated" "$(dv A x.wild.$ZONE)" "192\.0\.2\.99"
fully "delv: DNSKEY fully validated" "$(dv DNSKEY $ZONE)" "DNSKEY[[:space:]]+257 "
fully "delv: NXDOMAIN fully validated" "$(dv A nope.$ZONE)"
fully "delv: NODATA fully validated" "$(dv TXT mail.$ZONE)"
fully "delv: the service www fully validated" "$(dv A www.$ZONE)" "IN[[:space:]]+A[[:space:]]+"
fully "delv: CNAME into the service fully validated" "$(dv A alias.$ZONE)" "CNAME[[:space:]]+www\."
fully "delv: ed25519 zone fully validated" "$(ROOTZ=$ED dv A host.$ED)" "192\.0\.2\.202"

# ---- a wrong trust anchor: both validators must fail ----
BPORT=$(free_port)
if start_unbound unbound-bad "$BPORT" "$T/bad.unbound"; then
	out=$(UP=$BPORT u A mail.$ZONE)
	check "wrong anchor: unbound answers SERVFAIL (bogus)" status_is "$out" SERVFAIL
	out=$(UP=$BPORT u +cd A mail.$ZONE)
	check "wrong anchor: with CD the data is there, not AD" \
		bash -c 'grep -q "192.0.2.25" <<<"$1" && ! grep -qE "^;; flags: [a-z ]* ad[ ;]" <<<"$1"' _ "$out"
	out=$(UP=$BPORT u A host.$ED)
	check "wrong anchor: ed25519 zone SERVFAIL too" status_is "$out" SERVFAIL
else
	not_ok "unbound starts with a wrong anchor"
fi
# ---- tampered data: a proxy rewrites 192.0.2.25 to 192.0.2.26 in replies ----
XPORT=$(free_port)
TPORT=$(free_port)
python3 "$ROOT/tests/integration/tamper_proxy.py" "$XPORT" "$PORT" 192.0.2.25 192.0.2.26 600 \
	2>>"$T/tamper.log" &
echo $! >"$T/tamper.pid"
PIDS+=("$T/tamper.pid")
if STUB_PORT=$XPORT start_unbound unbound-tamper "$TPORT" "$T/anchors.unbound"; then
	validated "tampered path: untouched answers still validate" "$(UP=$TPORT u A api.$ZONE)" "192\.0\.2\.80"
	out=$(UP=$TPORT u A mail.$ZONE)
	check "tampered path: the rewritten A is bogus: SERVFAIL" status_is "$out" SERVFAIL
	out=$(UP=$TPORT u +cd A mail.$ZONE)
	check "tampered path: with CD the rewritten data shows, not AD" \
		bash -c 'grep -q "192.0.2.26" <<<"$1" && ! grep -qE "^;; flags: [a-z ]* ad[ ;]" <<<"$1"' _ "$out"
else
	not_ok "unbound starts behind the tampering proxy"
fi

out=$(ANCH=$T/bad.delv dv A mail.$ZONE)
check "wrong anchor: delv does not validate" \
	bash -c '! grep -q "fully validated" <<<"$1" && grep -qE "resolution failed|validation failed|broken trust chain|no valid" <<<"$1"' _ "$out"

# ---- key rollover with ayactl (unbound's cache kept) ----
ctl() { "$AYACTL" -s "$D/ayad.sock" "$@"; }
# With knot: ayactl dnssec status/add/activate/remove done with keymgr, then
# a knotc reload (the onlinesign module reads the keys when it loads).
knot_ctl() {
	local k=(keymgr -c "$D/knot.conf") z=$3 id tag rc=0
	[ "$1" = dnssec ] || return 2
	case "$2" in
	status) "${k[@]}" "$z." list ;;
	add)
		id=$("${k[@]}" "$z." generate algorithm=ecdsap256sha256 ksk=yes zsk=yes active=+1y) || return 1
		tag=$("${k[@]}" "$z." list | awk -v id="$id" '$1 == id { print $2 }')
		knotc -c "$D/knot.conf" reload >/dev/null || return 1
		echo "added key tag $tag (published, not active)"
		;;
	activate)
		# The new key signs, every other active key retires (stays published).
		for id in $("${k[@]}" "$z." list | awk -v t="$4" '$2 != t && $0 !~ /retire=[1-9]/ { print $1 }'); do
			"${k[@]}" "$z." set "$id" retire=+0 >/dev/null || rc=1
		done
		"${k[@]}" "$z." set "$4" active=+0 >/dev/null || rc=1
		knotc -c "$D/knot.conf" reload >/dev/null || rc=1
		return $rc
		;;
	remove)
		"${k[@]}" "$z." delete "$4" >/dev/null && knotc -c "$D/knot.conf" reload >/dev/null ;;
	*) return 2 ;;
	esac
}
[ "$TARGET" = knot ] && ctl() { knot_ctl "$@"; }
# tags ZONE: the key tags in the DNSKEY RRset, from dig's +multi comments.
tags() { d +multi DNSKEY "$1" | sed -n 's/.*; key id = \([0-9]*\)$/\1/p' | sort -n | xargs; }
# signer_tag NAME: the key tag of the RRSIG over NAME's A RRset, directly.
signer_tag() { rrsig_field "$(d +dnssec A "$1")" A 7; }
rollover() {
	local old new out i rc n=0 pre_tags
	fresh() { n=$((n + 1)); echo "roll$n-$1.wild.$ZONE"; } # uncached names
	old=$(signer_tag mail.$ZONE)
	pre_tags=$(tags $ZONE)
	validated "rollover before: validated (signer $old, keys $pre_tags)" "$(u A "$(fresh pre)")" "192\.0\.2\.99"
	out=$(ctl dnssec add $ZONE 2>&1)
	new=$(sed -n 's/.*[Tt]ag[^0-9]*\([0-9]\{1,5\}\).*/\1/p' <<<"$out" | head -n 1)
	[ -z "$new" ] && new=$(grep -oE '\b[0-9]{1,5}\b' <<<"$out" | head -n 1)
	if [ -z "$new" ]; then
		not_ok "ayactl dnssec add $ZONE prints the new tag (got: $out)"
		return
	fi
	sed 's/^/#   /' <<<"$out"
	ok "ayactl dnssec add $ZONE: new key $new"
	check "add: the new key is published in DNSKEY" wait_for 5 bash -c "grep -qw $new <<<\"\$(dig @127.0.0.1 -p $PORT +norec +multi DNSKEY $ZONE)\""
	check "add: the old key still signs" test "$(signer_tag mail.$ZONE)" = "$old"
	validated "rollover add: main unbound (cache kept) still validates" "$(u A "$(fresh add)")" "192\.0\.2\.99"
	# As a parent would during the roll: DS (here anchors) for both SEP keys.
	mapfile -t RK < <(sep_keys $ZONE)
	write_anchors "$T/roll.unbound" "$T/roll.delv" "${RK[@]}"
	RPORT=$(free_port)
	# The cache holds nothing longer than 5 s: waiting 6 s stands for the DNSKEY TTL.
	start_unbound unbound-roll "$RPORT" "$T/roll.unbound" "    cache-max-ttl: 5" || {
		not_ok "rollover: a second unbound with the anchors of both keys starts"
		return
	}
	validated "rollover unbound: validated before activate" "$(UP=$RPORT u A "$(fresh r0)")" "192\.0\.2\.99"
	sleep 6 # the DNSKEY TTL (as capped): every cache has the RRset with the new key
	validated "rollover unbound: DNSKEY with both keys validated" "$(UP=$RPORT u DNSKEY $ZONE)" "DNSKEY"
	out=$(ctl dnssec activate $ZONE "$new" 2>&1)
	rc=$?
	sed 's/^/#   /' <<<"$out"
	check "ayactl dnssec activate $ZONE $new" test $rc -eq 0
	check "activate: the new key signs" wait_for 5 bash -c "[ \"\$(dig @127.0.0.1 -p $PORT +norec +dnssec A mail.$ZONE | awk '\$4 == \"RRSIG\" && \$5 == \"A\" {print \$11}')\" = $new ]"
	for i in 1 2 3; do
		validated "rollover activate ($i): rollover unbound (cache kept) validates new signatures" \
			"$(UP=$RPORT u A "$(fresh act)")" "192\.0\.2\.99"
	done
	# The main unbound cached the DNSKEY RRset before add for its full TTL: a
	# validator that did not wait for it. Shown, not asserted.
	out=$(u A "$(fresh act)")
	echo "# main unbound right after activate (DNSKEY cached before add): $(grep -o 'status: [A-Z]*' <<<"$out"), $(grep -o '^;; flags: [a-z ]*' <<<"$out")"
	fully "rollover activate: delv with both anchors" "$(ANCH=$T/roll.delv dv A mail.$ZONE)" "192\.0\.2\.25"
	out=$(ctl dnssec remove $ZONE "$old" 2>&1)
	rc=$?
	sed 's/^/#   /' <<<"$out"
	check "ayactl dnssec remove $ZONE $old" test $rc -eq 0
	check "remove: the old key left DNSKEY" wait_for 5 bash -c "! grep -qw $old <<<\"\$(dig @127.0.0.1 -p $PORT +norec +multi DNSKEY $ZONE)\""
	validated "rollover remove: rollover unbound (cache kept) validates" "$(UP=$RPORT u A "$(fresh rm)")" "192\.0\.2\.99"
	sleep 6
	validated "rollover after: DNSKEY (only the new key) validated" "$(UP=$RPORT u DNSKEY $ZONE)" "DNSKEY"
	validated "rollover after: static A validated" "$(UP=$RPORT u A mail.$ZONE)" "192\.0\.2\.25"
	validated "rollover after: fresh wildcard validated" "$(UP=$RPORT u A "$(fresh after)")" "192\.0\.2\.99"
	validated "rollover after: NXDOMAIN validated" "$(UP=$RPORT u A nope-after.$ZONE)" "ANSWER: 0,"
	if [ "$GEO" = 1 ]; then
		validated "rollover after: geo www for the US validated" \
			"$(UP=$RPORT u +subnet=$US A www.$ZONE)" "198\.51\.100\.10$"
	fi
	fully "rollover after: delv with the new key's anchor" "$(ANCH=$T/roll.delv dv A mail.$ZONE)" "192\.0\.2\.25"
	out=$(ctl dnssec status $ZONE 2>&1)
	check "ayactl dnssec status lists the new key, not the old" \
		bash -c 'grep -qw "$1" <<<"$3" && ! grep -qw "$2" <<<"$3"' _ "$new" "$old" "$out"
}
if ! ctl dnssec status $ZONE >"$T/status.out" 2>&1; then
	echo "# SKIP rollover: ayactl dnssec not available ($(head -n 1 "$T/status.out"))"
else
	rollover
fi

# ---- clean exits ----
if [ "$TARGET" = ayad ]; then
	stop_ayad "$D"
fi
finish
