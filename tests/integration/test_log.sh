#!/usr/bin/env bash
# ayad's log lines: under systemd (stderr is the journal's stream, named by
# JOURNAL_STREAM) each line starts with its syslog priority <N> for journald
# and has no timestamp of its own; elsewhere "TIME ayad[PID]: level: text".
# A JOURNAL_STREAM that does not name stderr (inherited by a child whose
# stderr was redirected) keeps the plain format.
. "$(dirname "$0")/lib.sh"

PORT=$(free_port)
D=$T/node
write_config "$D" "$PORT"
touch "$D/ayad.log"
# start_ayad appends stderr to $D/ayad.log: name that file as the journal stream.
JOURNAL_STREAM=$(stat -c '%d:%i' "$D/ayad.log") start_ayad "$D" || {
	not_ok "ayad starts"
	finish
}
"$AYACTL" -s "$D/ayad.sock" reload >/dev/null
stop_ayad "$D"
check "journal: info lines carry <6>" grep -q '^<6>info: ' "$D/ayad.log"
check "journal: no timestamp or ident in the line" \
	bash -c "! grep -Eq '^[0-9]{4}-|ayad\\[' '$D/ayad.log'"
check "journal: every line has a priority" bash -c "! grep -vq '^<[3467]>' '$D/ayad.log'"

D2=$T/node2
PORT=$(free_port)
write_config "$D2" "$PORT"
JOURNAL_STREAM=1:1 start_ayad "$D2" || not_ok "ayad starts (2)"
stop_ayad "$D2"
check "a JOURNAL_STREAM that is not stderr: plain lines with time and ident" \
	grep -Eq '^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:.]+Z ayad\[[0-9]+\]: info: ' "$D2/ayad.log"
check "... and no priority prefix" bash -c "! grep -q '^<' '$D2/ayad.log'"
finish
