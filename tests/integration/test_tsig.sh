#!/usr/bin/env bash
# TSIG (RFC 8945) and NOTIFY (RFC 1996) against a real ayad: kdig -y
# verifies a signed AXFR; an unsigned AXFR is refused when allow_transfer
# wants the key; an unknown key gets BADKEY, a wrong secret BADSIG; then
# Knot, a secondary with the same key, pulls the zone, and after a reload
# with a higher serial gets ayad's signed NOTIFY and transfers the new serial.
. "$(dirname "$0")/lib.sh"

PORT=$(free_port)
KPORT=$(free_port)
D=$T/node
SECRET=$(head -c 32 /dev/urandom | base64)
WRONG=$(head -c 32 /dev/urandom | base64)
mkdir -p "$D/zones"
cp "$ZONE_SRC" "$D/zones/$ZONE.zone"
cat >"$D/aya.yaml" <<EOF
node:
  name: it-node-1
  region: test-region
dns:
  listen: ["127.0.0.1:$PORT"]
  threads: 1
keys:
  - {name: xfr-key., algorithm: hmac-sha256, secret: "$SECRET"}
zones:
  - name: $ZONE
    file: zones/$ZONE.zone
    allow_transfer: [{key: xfr-key.}]
    notify: ["127.0.0.1:$KPORT"]
    notify_key: xfr-key.
control:
  socket: $D/ayad.sock
state_dir: $D/state
EOF
start_ayad "$D" || {
	not_ok "ayad starts"
	finish
}
ok "ayad starts"

has() { grep -qE "$2" <<<"$1"; }
k() { kdig @127.0.0.1 -p "$PORT" +time=2 +retry=0 "$@" 2>&1; }

out=$(k -y "hmac-sha256:xfr-key.:$SECRET" AXFR "$ZONE")
check "signed AXFR: transfer received" has "$out" "^;; Received [0-9]+ B \(1 messages, [0-9]+ records\)"
check "signed AXFR: reply verified by kdig" bash -c '! grep -qE "^;; (WARNING|ERROR)" <<<"$1"' _ "$out"
check "signed AXFR: TSIG RR in the reply" has "$out" "^xfr-key\.[[:space:]]+0[[:space:]]+ANY[[:space:]]+TSIG[[:space:]]+hmac-sha256\..* NOERROR"

out=$(dig @127.0.0.1 -p "$PORT" +time=2 +tries=1 -y "hmac-sha256:xfr-key.:$SECRET" AXFR "$ZONE")
check "dig -y AXFR: transfer received" has "$out" "^;; XFR size: [0-9]+ records"
check "dig -y AXFR: no TSIG failure" bash -c '! grep -qE "TSIG could not|tsig verify failure|Transfer failed" <<<"$1"' _ "$out"

out=$(k AXFR "$ZONE")
check "unsigned AXFR: refused" has "$out" "REFUSED"

out=$(k -y "hmac-sha256:nokey.:$SECRET" SOA "$ZONE")
check "unknown key: BADKEY" has "$out" "status: BADKEY"
check "unknown key: TSIG RR without MAC" has "$out" "TSIG[[:space:]]+hmac-sha256\. [0-9]+ 300 0 [0-9]+ BADKEY"
out=$(dig @127.0.0.1 -p "$PORT" +time=2 +tries=1 -y "hmac-sha256:nokey.:$SECRET" SOA "$ZONE")
check "unknown key: rcode NOTAUTH" has "$out" "status: NOTAUTH"

out=$(k -y "hmac-sha256:xfr-key.:$WRONG" SOA "$ZONE")
check "wrong secret: BADSIG" has "$out" "status: BADSIG"
out=$(k -y "hmac-sha512:xfr-key.:$SECRET" SOA "$ZONE")
check "wrong algorithm: BADKEY" has "$out" "status: BADKEY"

out=$(k -y "hmac-sha256:xfr-key.:$SECRET" SOA "$ZONE")
check "signed SOA query: answered and verified" bash -c 'grep -q "status: NOERROR" <<<"$1" && ! grep -qE "^;; (WARNING|ERROR)" <<<"$1"' _ "$out"

# The DNS well-known key (genreport dnswkk): a signed, verified reply; no transfer rights.
WKK=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=
out=$(dig @127.0.0.1 -p "$PORT" +time=2 +tries=1 +noedns +norec -y "hmac-sha256:.:$WKK" SOA "$ZONE")
check "well-known key: answered NOERROR" has "$out" "status: NOERROR"
check "well-known key: the reply is signed and dig verified it" \
	bash -c 'grep -qE "^\.[[:space:]]+0[[:space:]]+ANY[[:space:]]+TSIG[[:space:]]+hmac-sha256\..* NOERROR" <<<"$1" && ! grep -qE "tsig verify failure|TSIG could not" <<<"$1"' _ "$out"
out=$(k -y "hmac-sha256:.:$WKK" AXFR "$ZONE")
check "well-known key: grants no transfer" has "$out" "REFUSED"

out=$("$AYACTL" -s "$D/ayad.sock" status)
check "status: tsig counters" has "$out" "tsig_ok +[1-9]"
check "status: tsig_badkey counted" has "$out" "tsig_badkey +[1-9]"
check "status: tsig_badsig counted" has "$out" "tsig_badsig +[1-9]"

# Knot as a secondary, foreground child on a loopback port (scripts/deps.sh test installs it).
if ! command -v knotd >/dev/null; then
	not_ok "knotd installed (scripts/deps.sh test)"
	stop_ayad "$D"
	finish
fi
KD=$T/knot
mkdir -p "$KD/db" "$KD/zones" "$KD/run"
cat >"$KD/knot.conf" <<EOF
server:
    listen: 127.0.0.1@$KPORT
    rundir: "$KD/run"
log:
  - target: stderr
    any: info
database:
    storage: "$KD/db"
key:
  - id: xfr-key.
    algorithm: hmac-sha256
    secret: $SECRET
remote:
  - id: aya
    address: 127.0.0.1@$PORT
    key: xfr-key.
acl:
  - id: notify-from-aya
    address: 127.0.0.1
    key: xfr-key.
    action: notify
template:
  - id: default
    storage: "$KD/zones"
zone:
  - domain: $ZONE
    master: aya
    acl: notify-from-aya
EOF
knotd -c "$KD/knot.conf" 2>"$KD/knotd.log" &
echo $! >"$KD/knotd.pid"
PIDS+=("$KD/knotd.pid")
kserial() { dig @127.0.0.1 -p "$KPORT" +norec +time=1 +tries=1 +short SOA "$ZONE" | awk '{print $3}'; }
old=$(serial)
kserial_is() { [ "$(kserial)" = "$1" ]; }
check "knot: zone transferred from ayad with TSIG" wait_for 15 kserial_is "$old"
[ "$(kserial)" = "$old" ] || sed 's/^/#   /' "$KD/knotd.log" | tail -n 20

new=$((old + 1))
set_serial "$D" "$new"
"$AYACTL" -s "$D/ayad.sock" reload >/dev/null
check "reload: new serial served" test "$(serial)" = "$new"
check "notify: knot transfers the new serial" wait_for 10 kserial_is "$new"
check "notify: ayad logs the acknowledgement" wait_for 5 grep -q "notify: zone $ZONE serial $new: 127.0.0.1:$KPORT acknowledged" "$D/ayad.log"
if ! grep -q "acknowledged" "$D/ayad.log"; then
	sed 's/^/#   /' "$D/ayad.log" | tail -n 10
	sed 's/^/#   /' "$KD/knotd.log" | tail -n 20
fi
check "knot: got a NOTIFY" grep -qi "notify" "$KD/knotd.log"

stop_pidfile "$KD/knotd.pid"
stop_ayad "$D"
finish
