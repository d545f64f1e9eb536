#!/usr/bin/env bash
# DNSSEC keys end to end (ayactl dnssec). A zone with dnssec: {} and a short
# signature lifetime: ayad --check says it would make a key and makes none;
# the first start makes one active CSK in <state_dir>/dnssec (0700, .private
# 0600) and logs the cluster warning; `dnssec status` and `ds` show it (the
# DS digest is checked against ldns-key2ds when present); a CSK rollover
# (add: published; activate: the old one retires; remove) changes the
# files and the status; wrong steps are refused with exit 1; a restart keeps
# the same keys; a key from ldns-keygen in key_directory is taken as it is.
# Processes are stopped by PID file; every wait is bounded.
. "$(dirname "$0")/lib.sh"

PORT=$(free_port)
D=$T/n0
write_config "$D" "$PORT"
# The zone's dnssec: block, after its file: line.
sed -i "s|^    file: zones/$ZONE.zone|&\n    dnssec: { signature_lifetime: 1h, dnskey_ttl: 60 }|" "$D/aya.yaml"
KD=$D/state/dnssec
c() { "$AYACTL" -s "$D/ayad.sock" "$@"; }
# keys_in DIR: the .private files of the zone.
keys_in() { find "$1" -maxdepth 1 -name "K$ZONE.+013+*.private" 2>/dev/null | sort; }
# tags OUT STATE: the tags in a status table with that state.
tags() { awk -v s="$2" '$3 == s && $1 ~ /^[0-9]+$/ {print $1}' <<<"$1"; }

# ---- --check makes nothing ----
out=$("$AYAD" --check -c "$D/aya.yaml" 2>&1)
check "--check ok without keys" test $? -eq 0
check "--check says it would make a key" grep -q "would make a new key (a CSK)" <<<"$out"
check "--check made no key" test -z "$(keys_in "$KD")"

# ---- first start: one active CSK ----
check "ayad starts" start_ayad "$D"
check "one key made" test "$(keys_in "$KD" | wc -l)" -eq 1
check "key directory 0700" test "$(stat -c %a "$KD")" = 700
check ".private is 0600" test "$(stat -c %a "$(keys_in "$KD")")" = 600
check "made key logged" logged "$D/ayad.log" "dnssec: zone $ZONE: made 1 new key"
check "cluster warning logged" logged "$D/ayad.log" "every node must sign with the same keys"

st=$(c dnssec status)
check "status exit 0" test $? -eq 0
echo "$st" | sed 's/^/#   /'
check "status names the zone" grep -q "^zone $ZONE: ECDSAP256SHA256 (13), combined key (CSK)" <<<"$st"
check "status names the directory" grep -q "keys in $KD" <<<"$st"
OLD=$(tags "$st" active)
check "status: one active csk" test "$(grep -c ' csk  *active ' <<<"$st")" -eq 1
check "status: its file" grep -q "K$ZONE.+013+$(printf %05d "$OLD").private" <<<"$st"
check "status: counters line" grep -q "^counters: " <<<"$st"
check "status ZONE" c dnssec status "$ZONE"
js=$(c --json dnssec status)
check "status --json" python3 -c 'import json,sys; d=json.load(sys.stdin); assert d["zones"][0]["keys"][0]["role"]=="csk"' <<<"$js"

ds=$(c dnssec ds "$ZONE")
check "ds exit 0" test $? -eq 0
check "ds is one DS line" grep -Eq "^$ZONE\. IN DS $OLD 13 2 [0-9A-F]{64}$" <<<"$ds"
check "ds: only that line" test "$(wc -l <<<"$ds")" -eq 1
if command -v ldns-key2ds >/dev/null; then
	k=$(keys_in "$KD")
	want=$(cd "$T" && ldns-key2ds -n -2 "${k%.private}.key" | awk '{print toupper($NF)}')
	check "ds digest matches ldns-key2ds" test "${ds##* }" = "$want"
fi

# ---- errors ----
out=$(c dnssec ds nosuch.example 2>&1)
check "ds: unknown zone exit 1" test $? -eq 1
check "ds: unknown zone message" grep -q "unknown zone 'nosuch.example'" <<<"$out"
out=$(c dnssec activate "$ZONE" 1 2>&1)
check "activate unknown tag exit 1" test $? -eq 1
check "activate unknown tag message" grep -q "has no key 1" <<<"$out"
out=$(c dnssec activate "$ZONE" "$OLD" 2>&1)
check "activate active key refused" test $? -eq 1
check "activate active key message" grep -q "already active" <<<"$out"
out=$(c dnssec remove "$ZONE" "$OLD" 2>&1)
check "remove active key refused" test $? -eq 1
check "remove active key message" grep -q "is active" <<<"$out"
c dnssec activate "$ZONE" notatag >/dev/null 2>&1
check "bad tag is a usage error" test $? -eq 2
c dnssec add "$ZONE" --ksk --zsk >/dev/null 2>&1
check "--ksk with --zsk is a usage error" test $? -eq 2

# ---- CSK rollover ----
out=$(c dnssec add "$ZONE")
check "add exit 0" test $? -eq 0
echo "$out" | sed 's/^/#   /'
NEW=$(sed -nE "s/^zone $ZONE: added csk ([0-9]+) .*/\1/p" <<<"$out")
check "add says what it made" test -n "$NEW"
check "add hints activate" grep -q "^next: .*ayactl dnssec activate $ZONE $NEW" <<<"$out"
check "two keys on disk" test "$(keys_in "$KD" | wc -l)" -eq 2
st=$(c dnssec status)
check "new key published" test "$(tags "$st" published)" = "$NEW"
check "old key still active" test "$(tags "$st" active)" = "$OLD"
ds=$(c dnssec ds "$ZONE")
check "ds lists both during the roll" test "$(wc -l <<<"$ds")" -eq 2

out=$(c dnssec activate "$ZONE" "$NEW")
check "activate exit 0" test $? -eq 0
check "activate hints remove" grep -q "ayactl dnssec remove $ZONE" <<<"$out"
st=$(c dnssec status)
check "new key active" test "$(tags "$st" active)" = "$NEW"
check "old key retired" test "$(tags "$st" retired)" = "$OLD"
ds=$(c dnssec ds "$ZONE")
check "ds: only the active key now" test "$ds" = "$(grep " $NEW 13 2 " <<<"$ds")"

out=$(c dnssec remove "$ZONE" "$OLD")
check "remove exit 0" test $? -eq 0
check "one key on disk" test "$(keys_in "$KD" | wc -l)" -eq 1
check "old files gone" test -z "$(find "$KD" -name "*+$(printf %05d "$OLD").*")"
check "rollover logged" logged "$D/ayad.log" "dnssec: zone $ZONE: activated csk $NEW"

# ---- restart: the same key ----
stop_ayad "$D"
check "ayad starts again" start_ayad "$D"
st=$(c dnssec status)
check "same key after restart" test "$(tags "$st" active)" = "$NEW"
check "no key made at restart" test "$(grep -c "made 1 new key" "$D/ayad.log")" -eq 1
stop_ayad "$D"

# ---- an ldns-keygen key in key_directory ----
if command -v ldns-keygen >/dev/null; then
	KD2=$D/keys
	mkdir -m 700 "$KD2"
	(cd "$KD2" && ldns-keygen -a ECDSAP256SHA256 -k "$ZONE" >/dev/null && rm -f ./*.ds)
	sed -i "s|dnssec: { signature_lifetime: 1h, dnskey_ttl: 60 }|dnssec: { key_directory: keys }|" \
		"$D/aya.yaml"
	tag=$(find "$KD2" -name '*.private' | sed -E 's/.*\+0*([0-9]+)\.private/\1/')
	check "ayad starts with an ldns key" start_ayad "$D"
	st=$(c dnssec status)
	check "ldns key active" test "$(tags "$st" active)" = "$tag"
	check "no key made for it" test "$(find "$KD2" -name '*.private' | wc -l)" -eq 1
	stop_ayad "$D"
fi

finish
