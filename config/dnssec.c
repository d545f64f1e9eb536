/*
 * zones[].dnssec: online signing. The schema rows are in schema.c (ranges:
 * signature_lifetime 10m..366d, dnskey_ttl 0..7d); here the section itself
 * (absent: unsigned; present, even empty: signed) and the algorithm, which
 * the table stores as an index into its names and which becomes its DNSSEC
 * number here. The keys themselves are dnsd/keys.c's.
 */
#include "config/config_int.h"

CFG_FN(cfg_fn_dnssec)
{
	(void)it;
	cfg_dnssec_t *s = &((cfg_zone_t *)base)->dnssec;
	if (val == NULL) {
		return; /* unsigned */
	}
	s->loc = cfg_y_loc(ld, val);
	if (cfg_y_is_null(val)) {
		cfg_y_err(ld, val,
		          "zone.dnssec: expected a mapping (dnssec: {} signs with the defaults; "
		          "omit dnssec: for an unsigned zone)");
		return;
	}
	if (!cfg_parse_map(ld, val, &cfg_sec_dnssec, s)) {
		return;
	}
	/* The table's index (names in schema.c's order) to the algorithm number. */
	s->algorithm = (int)s->algorithm == 1 ? CFG_DNSSEC_ED25519 : CFG_DNSSEC_ECDSAP256SHA256;
	s->enabled = true;
}
