#!/usr/bin/env bash
# DNS behaviour of a real ayad over UDP and TCP, IPv4 and IPv6: flags,
# NXDOMAIN/NODATA/REFUSED, truncation, NSID, CHAOS id.server, EDNS BADVERS,
# NOTIMP for other opcodes, cookies.
. "$(dirname "$0")/lib.sh"

PORT=$(free_port)
D=$T/node
write_config "$D" "$PORT"
start_ayad "$D" || {
	not_ok "ayad starts"
	finish
}
ok "ayad starts"

# has OUTPUT REGEX: grep -E on a dig output held in a variable.
has() { grep -qE "$2" <<<"$1"; }
hasnt() { ! grep -qE "$2" <<<"$1"; }

for transport in udp tcp; do
	for server in 127.0.0.1 ::1; do
		topt=+notcp
		[ "$transport" = tcp ] && topt=+tcp
		tag="$transport $server"
		out=$(SERVER=$server q "$topt" api.$ZONE A)
		check "$tag: A answered" has "$out" "^api\.$ZONE\.[[:space:]].*IN[[:space:]]+A[[:space:]]+192\.0\.2\.80"
		check "$tag: AA set" has "$out" "^;; flags: qr aa[ ;]"
		check "$tag: RA clear" hasnt "$out" "^;; flags:.* ra[ ;]"
		check "$tag: transport used" has "$out" "^;; SERVER: .*\(${transport^^}\)"

		out=$(SERVER=$server q "$topt" nope.$ZONE A)
		check "$tag: NXDOMAIN" has "$out" "status: NXDOMAIN"
		check "$tag: NXDOMAIN carries the SOA" has "$out" "^$ZONE\.[[:space:]].*SOA"

		out=$(SERVER=$server q "$topt" api.$ZONE MX)
		check "$tag: NODATA is NOERROR" has "$out" "status: NOERROR.*"
		check "$tag: NODATA has no answer" has "$out" "ANSWER: 0,"
		check "$tag: NODATA carries the SOA" has "$out" "AUTHORITY: 1,"

		out=$(SERVER=$server q "$topt" www.example.org A)
		check "$tag: out of zone REFUSED" has "$out" "status: REFUSED"
	done
done

out=$(q +notcp +ignore +bufsize=1232 big.$ZONE TXT)
check "udp: big TXT truncated (TC)" has "$out" "^;; flags: qr tc aa|^;; flags: qr aa tc"
out=$(q +tcp big.$ZONE TXT)
check "tcp: big TXT complete (20 records)" has "$out" "ANSWER: 20,"
out=$(q +notcp big.$ZONE TXT)
check "udp: dig retries over TCP after TC" has "$out" "ANSWER: 20,"

out=$(q +nsid SOA $ZONE)
check "NSID returned" has "$out" 'NSID: .*\("it-node-1"\)'
out=$(q CH TXT id.server +short)
check "CHAOS id.server" has "$out" '^"it-node-1"$'
out=$(q +tcp CH TXT id.server +short)
check "CHAOS id.server over TCP" has "$out" '^"it-node-1"$'

out=$(q +edns=1 +noednsnegotiation SOA $ZONE)
check "EDNS version 1 gets BADVERS" has "$out" "status: BADVERS"
check "BADVERS answers with EDNS version 0" has "$out" "EDNS: version: 0"

# RD and CD are QUERY's flags: another opcode's NOTIMP does not echo them (genreport opcodeflg).
for op in 15 5; do
	out=$(q +opcode=$op +rec +cdflag +noedns SOA $ZONE)
	check "opcode $op: NOTIMP" has "$out" "status: NOTIMP"
	check "opcode $op: only QR set (no rd, cd)" has "$out" "^;; flags: qr;"
done
out=$(q +rec +cdflag SOA $ZONE)
check "QUERY: RD and CD echoed" has "$out" "^;; flags: qr aa rd cd;"

out=$(q +cookie SOA $ZONE)
check "cookie: server cookie returned" has "$out" "COOKIE: [0-9a-f]{48}"
client=$(sed -nE 's/^; COOKIE: ([0-9a-f]{16})[0-9a-f]*.*/\1/p' <<<"$out")
cookie=$(sed -nE 's/^; COOKIE: ([0-9a-f]{48}).*/\1/p' <<<"$out")
out=$(q +cookie="$cookie" SOA $ZONE)
check "cookie: our server cookie is accepted" has "$out" "status: NOERROR"
check "cookie: client part echoed" has "$out" "COOKIE: $client"

out=$("$AYACTL" -s "$D/ayad.sock" status)
check "counters: udp and tcp queries counted" has "$out" "^  tcp +[1-9]"

stop_ayad "$D"
finish
