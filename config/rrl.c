/*
 * dns.rrl: response rate limiting. The schema rows are in schema.c (ranges:
 * responses_per_second 1..1000000, slip 0..10, window 1..3600 s, prefixes
 * 0..32 and 0..128); here the section itself (absent or null: off) and the
 * exempt list. What the settings mean is dnsd/rrl.c's comment.
 */
#include "config/config_int.h"

CFG_FN(cfg_fn_rrl)
{
	(void)it;
	cfg_rrl_t *r = &((cfg_dns_t *)base)->rrl;
	if (val == NULL) {
		return; /* off */
	}
	r->loc = cfg_y_loc(ld, val);
	if (cfg_y_is_null(val)) {
		cfg_y_err(
		        ld, val,
		        "dns.rrl: expected a mapping with responses_per_second (omit rrl: to turn "
		        "rate limiting off)");
		return;
	}
	if (cfg_parse_map(ld, val, &cfg_sec_rrl, r)) {
		r->enabled = true;
	}
}

CFG_FN(cfg_fn_rrl_exempt)
{
	(void)it;
	cfg_rrl_t *r = base;
	long n = 0;
	cfg_prefix_t *out = cfg_y_seq_alloc(ld, val, "dns.rrl.exempt", sizeof(*out), &n);
	if (out == NULL) {
		return;
	}
	size_t k = 0;
	for (long i = 0; i < n; i++) {
		yaml_node_t *item = cfg_y_seq_item(ld, val, i);
		const char *s = item != NULL ? cfg_y_scalar(ld, item, "dns.rrl.exempt") : NULL;
		if (s == NULL) {
			continue;
		}
		if (cfg_parse_prefix(s, &out[k]) != 0) {
			cfg_y_err(ld, item, "dns.rrl.exempt: bad prefix '%s'", s);
			continue;
		}
		k++;
	}
	r->exempt = out;
	r->n_exempt = k;
}
