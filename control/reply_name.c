/*
 * `explain` for any name (not only a service): the query is answered by
 * dnsd_answer() itself on the published snapshots, exactly as a client
 * would be answered, and the response is read back: REFUSED (in no zone of
 * this node), NXDOMAIN, NODATA, a referral, static records of the zone, or
 * a CNAME chain, followed into the service explain when it ends at a
 * service. The service's own step-by-step trace is ctl_explain_fill()'s.
 *
 * The response comes from our own code but is still read through a bounded
 * cursor: a short or odd message is an error for the operator, not a crash.
 */
#include "control/control_int.h"

#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <string.h>

#include "common/dname.h"
#include "config/config.h"
#include "dnsd/dnsd.h"
#include "policy/policy.h"

#define T_A 1
#define T_NS 2
#define T_CNAME 5
#define T_SOA 6
#define T_PTR 12
#define T_MX 15
#define T_TXT 16
#define T_AAAA 28
#define T_SRV 33
#define T_OPT 41
#define MSG_MAX 65535u
#define CHAIN_MAX 16u

/* A read cursor over the response with a sticky error. */
struct rd {
	const uint8_t *m;
	size_t len, off;
	bool err;
};

static uint32_t rd_uint(struct rd *r, size_t n)
{
	uint32_t v = 0;
	if (r->err || r->off + n > r->len) {
		r->err = true;
		return 0;
	}
	for (size_t i = 0; i < n; i++) {
		v = v << 8 | r->m[r->off++];
	}
	return v;
}

/* A possibly compressed name at r->off into out (wire, uncompressed); r moves past it. */
static void rd_name(struct rd *r, uint8_t out[AYA_DNAME_MAX])
{
	size_t p = r->off, o = 0;
	bool jumped = false;
	for (unsigned hops = 0; !r->err; hops++) {
		if (p >= r->len || hops > 64) {
			r->err = true;
			break;
		}
		uint8_t l = r->m[p];
		if ((l & 0xc0) == 0xc0) {
			if (p + 1 >= r->len) {
				r->err = true;
				break;
			}
			if (!jumped) {
				r->off = p + 2;
			}
			jumped = true;
			p = (size_t)(l & 0x3f) << 8 | r->m[p + 1];
			continue;
		}
		if (l > 63 || p + 1 + l > r->len || o + 1 + l >= AYA_DNAME_MAX) {
			r->err = true;
			break;
		}
		memcpy(out + o, r->m + p, 1u + l);
		o += 1u + l;
		p += 1u + l;
		if (l == 0) {
			if (!jumped) {
				r->off = p;
			}
			return;
		}
	}
	out[0] = 0;
}

/* A name as text without the trailing dot, like service names ("." stays). */
static void dname_text(const uint8_t *wire, char *buf, size_t len)
{
	size_t n = aya_dname_to_str(wire, buf, len);
	if (n > 1 && n < len && buf[n - 1] == '.') {
		buf[n - 1] = '\0';
	}
}

static const char *name_text(aya_arena_t *a, const uint8_t *wire)
{
	char buf[AYA_DNAME_MAX * 4 + 2];
	dname_text(wire, buf, sizeof(buf));
	return aya_arena_strdup(a, buf);
}

/* One record's data in presentation form (RFC 3597 \# for types we do not spell out). */
static const char *rdata_text(aya_arena_t *a, struct rd *r, uint16_t type, size_t rdlen)
{
	size_t end = r->off + rdlen;
	char buf[2 * (AYA_DNAME_MAX * 4 + 2) + 64] = "";
	uint8_t n1[AYA_DNAME_MAX], n2[AYA_DNAME_MAX];
	if (type == T_A && rdlen == 4) {
		inet_ntop(AF_INET, r->m + r->off, buf, sizeof(buf));
	} else if (type == T_AAAA && rdlen == 16) {
		inet_ntop(AF_INET6, r->m + r->off, buf, sizeof(buf));
	} else if (type == T_CNAME || type == T_NS || type == T_PTR) {
		rd_name(r, n1);
		dname_text(n1, buf, sizeof(buf));
	} else if (type == T_MX) {
		uint32_t pref = rd_uint(r, 2);
		rd_name(r, n1);
		snprintf(buf, sizeof(buf), "%" PRIu32 " %s", pref, r->err ? "?" : name_text(a, n1));
	} else if (type == T_SRV) {
		uint32_t pr = rd_uint(r, 2), w = rd_uint(r, 2), port = rd_uint(r, 2);
		rd_name(r, n1);
		snprintf(buf, sizeof(buf), "%" PRIu32 " %" PRIu32 " %" PRIu32 " %s", pr, w, port,
		         r->err ? "?" : name_text(a, n1));
	} else if (type == T_SOA) {
		rd_name(r, n1);
		rd_name(r, n2);
		uint32_t v[5];
		for (int i = 0; i < 5; i++) {
			v[i] = rd_uint(r, 4);
		}
		char m[AYA_DNAME_MAX * 4 + 2], h[AYA_DNAME_MAX * 4 + 2];
		aya_dname_to_str(n1, m, sizeof(m));
		aya_dname_to_str(n2, h, sizeof(h));
		snprintf(buf, sizeof(buf),
		         "%s %s %" PRIu32 " %" PRIu32 " %" PRIu32 " %" PRIu32 " %" PRIu32, m, h,
		         v[0], v[1], v[2], v[3], v[4]);
	} else if (type == T_TXT) {
		size_t o = 0;
		for (size_t p = r->off; p < end && o + 4 < sizeof(buf);) {
			size_t l = r->m[p++];
			l = p + l <= end ? l : end - p;
			int n = snprintf(buf + o, sizeof(buf) - o, "%s\"%.*s\"", o > 0 ? " " : "",
			                 (int)l, (const char *)r->m + p);
			o += n > 0 ? (size_t)n : 0;
			p += l;
		}
	} else {
		size_t o = (size_t)snprintf(buf, sizeof(buf), "\\# %zu ", rdlen);
		for (size_t i = 0; i < rdlen && o + 3 < sizeof(buf); i++) {
			o += (size_t)snprintf(buf + o, sizeof(buf) - o, "%02x", r->m[r->off + i]);
		}
	}
	r->off = end;
	return aya_arena_strdup(a, buf);
}

/* The query: NAME TYPE IN, with an ECS option (RFC 7871 6) when the client sent one. */
static size_t query_build(const uint8_t *qname, uint16_t qtype, const pol_client_t *c, uint8_t *q)
{
	size_t nl = aya_dname_len(qname), o = 12;
	memset(q, 0, 12);
	q[5] = 1; /* QDCOUNT */
	memcpy(q + o, qname, nl);
	o += nl;
	q[o++] = (uint8_t)(qtype >> 8);
	q[o++] = (uint8_t)qtype;
	q[o++] = 0;
	q[o++] = 1;
	if (!c->ecs) {
		return o;
	}
	q[11] = 1; /* ARCOUNT: the OPT record */
	size_t al = (c->source_prefix + 7u) / 8u;
	static const uint8_t opt[] = {0, 0, T_OPT, 0x10, 0, 0, 0, 0, 0};
	memcpy(q + o, opt, sizeof(opt));
	o += sizeof(opt);
	q[o++] = 0; /* RDLEN */
	q[o++] = (uint8_t)(8 + al);
	q[o++] = 0;
	q[o++] = 8; /* OPTION-CODE ECS */
	q[o++] = 0;
	q[o++] = (uint8_t)(4 + al);
	q[o++] = 0;
	q[o++] = c->family == AF_INET ? 1 : 2;
	q[o++] = c->source_prefix;
	q[o++] = 0;
	memcpy(q + o, c->addr, al);
	return o + al;
}

/* The zone of name in cfg (longest apex); NULL when none. */
static const cfg_zone_t *zone_find(const cfg_t *cfg, const uint8_t *name)
{
	const cfg_zone_t *best = NULL;
	for (size_t z = 0; z < cfg->n_zones; z++) {
		const cfg_zone_t *cz = &cfg->zones[z];
		if (aya_dname_is_sub(name, cz->apex) &&
		    (best == NULL || aya_dname_labels(cz->apex) > aya_dname_labels(best->apex))) {
			best = cz;
		}
	}
	return best;
}

/* Its apex as text, "" when in no zone. */
static const char *zone_of(const cfg_t *cfg, const uint8_t *name, aya_arena_t *a)
{
	const cfg_zone_t *z = zone_find(cfg, name);
	return z != NULL ? name_text(a, z->apex) : "";
}

/* What the response said, read back. */
struct parsed {
	unsigned rcode;
	bool aa;
	const char *chain[CHAIN_MAX]; /* "a CNAME b" */
	size_t n_chain;
	uint8_t final[AYA_DNAME_MAX]; /* the name the last CNAME points to, or the qname */
	const char **records;         /* the final name's records of the asked type */
	size_t n_records;
	uint32_t ttl_s;
	bool referral; /* NS in authority, not authoritative */
	const char *cut;
};

static int response_read(const uint8_t *m, size_t len, const uint8_t *qname, uint16_t qtype,
                         aya_arena_t *a, struct parsed *p)
{
	struct rd r = {m, len, 0, false};
	(void)rd_uint(&r, 2);
	uint32_t flags = rd_uint(&r, 2), qd = rd_uint(&r, 2), an = rd_uint(&r, 2);
	uint32_t ns = rd_uint(&r, 2);
	(void)rd_uint(&r, 2);
	p->rcode = flags & 0xf;
	p->aa = (flags & 0x0400) != 0;
	memcpy(p->final, qname, aya_dname_len(qname));
	uint8_t owner[AYA_DNAME_MAX];
	for (uint32_t i = 0; i < qd && !r.err; i++) {
		rd_name(&r, owner);
		(void)rd_uint(&r, 4);
	}
	p->records = aya_arena_alloc(a, (an + 1u) * sizeof(*p->records));
	if (p->records == NULL) {
		return -ENOMEM;
	}
	for (uint32_t i = 0; i < an + ns && !r.err; i++) {
		rd_name(&r, owner);
		uint16_t type = (uint16_t)rd_uint(&r, 2);
		(void)rd_uint(&r, 2);
		uint32_t ttl = rd_uint(&r, 4);
		size_t rdlen = rd_uint(&r, 2);
		if (r.err || r.off + rdlen > len) {
			r.err = true;
			break;
		}
		if (i >= an) {
			if (type == T_NS && !p->referral) {
				p->referral = !p->aa;
				p->cut = name_text(a, owner);
			}
			r.off += rdlen;
			continue;
		}
		if (type == T_CNAME && qtype != T_CNAME && p->n_chain < CHAIN_MAX) {
			size_t at = r.off;
			const char *t = rdata_text(a, &r, type, rdlen);
			struct rd tr = {m, len, at, false};
			rd_name(&tr, p->final);
			p->chain[p->n_chain++] = ctl_afmt(a, "%s CNAME %s", name_text(a, owner),
			                                  t != NULL ? t : "?");
			continue;
		}
		p->ttl_s = ttl;
		p->records[p->n_records++] = rdata_text(a, &r, type, rdlen);
	}
	return r.err ? -EBADMSG : 0;
}

/* The CNAMEs followed, one "cname: a CNAME b" line each. */
static size_t put_chain(const struct parsed *p, char *t, size_t need)
{
	size_t o = 0;
	for (size_t i = 0; i < p->n_chain; i++) {
		o += (size_t)snprintf(t + o, need - o, "cname: %s\n", p->chain[i]);
	}
	return o;
}

/* The text of a name that is no service: what kind of answer, and its records. */
static const char *name_explain_text(aya_arena_t *a, const struct parsed *p, const char *qtype,
                                     const char *zone, const char *kind)
{
	size_t need = 256 + AYA_DNAME_MAX * 4 + strlen(zone);
	for (size_t i = 0; i < p->n_chain; i++) {
		need += strlen(p->chain[i]) + 16;
	}
	for (size_t i = 0; i < p->n_records; i++) {
		need += strlen(p->records[i]) + AYA_DNAME_MAX * 4 + 32;
	}
	char *t = aya_arena_alloc(a, need);
	const char *fin = name_text(a, p->final);
	if (t == NULL || fin == NULL) {
		return NULL;
	}
	size_t o = put_chain(p, t, need);
	if (strcmp(kind, "refused") == 0) {
		snprintf(t + o, need - o, "refused: %s is in no zone of this node%s\n", fin,
		         p->n_chain > 0 ? " (the resolver follows the chain elsewhere)" : "");
	} else if (strcmp(kind, "nxdomain") == 0) {
		snprintf(t + o, need - o, "nxdomain: %s does not exist in zone %s\n", fin, zone);
	} else if (strcmp(kind, "nodata") == 0) {
		snprintf(t + o, need - o, "nodata: %s has no %s record in zone %s\n", fin, qtype,
		         zone);
	} else if (strcmp(kind, "referral") == 0) {
		snprintf(t + o, need - o, "referral: %s is below the zone cut %s (delegated)\n",
		         fin, p->cut != NULL ? p->cut : "?");
	} else {
		o += (size_t)snprintf(t + o, need - o, "static: %s %s answered from zone %s:\n",
		                      fin, qtype, zone);
		for (size_t i = 0; i < p->n_records; i++) {
			o += (size_t)snprintf(t + o, need - o, "  %s %" PRIu32 " IN %s %s\n", fin,
			                      p->ttl_s, qtype, p->records[i]);
		}
	}
	return t;
}

static const char *kind_of(const struct parsed *p, const cfg_t *cfg)
{
	if (p->rcode == 5 && p->n_chain == 0) {
		return "refused";
	}
	if (p->rcode == 3) {
		return "nxdomain";
	}
	if (p->referral) {
		return "referral";
	}
	if (p->n_records > 0) {
		return "static";
	}
	/* A chain out of our zones ends with the CNAME: nothing more from us. */
	return p->n_chain > 0 && zone_find(cfg, p->final) == NULL ? "refused" : "nodata";
}

int ctl_explain_any(const dnsd_snap_t *snap, const pol_snap_t *pol, const cfg_t *cfg,
                    const ctl_request_t *req, const char *geo_notice, aya_arena_t *a,
                    ctl_explain_t *out, const char **err)
{
	/* A service by its full or zone-relative name: the service explain, as before. */
	const char *ignored = NULL;
	if (pol != NULL && ctl_service_resolve(pol, cfg, req->name, a, &ignored) != NULL) {
		int rc = ctl_explain_fill(pol, cfg, req, geo_notice, a, out, err);
		out->kind = "service";
		out->name = out->service;
		out->zone = "";
		uint8_t w[AYA_DNAME_MAX];
		if (rc == 0 && aya_dname_from_str(out->service, w) >= 0) {
			out->zone = zone_of(cfg, w, a);
		}
		return rc;
	}
	/*
	 * A relative name ("docs", no trailing dot) in no zone as it stands: the
	 * one zone where NAME.ZONE exists, else the name as absolute.
	 */
	uint8_t w[AYA_DNAME_MAX];
	size_t len = req->name != NULL ? strlen(req->name) : 0;
	if (len > 0 && req->name[len - 1] != '.' && aya_dname_from_str(req->name, w) >= 0 &&
	    zone_find(cfg, w) == NULL) {
		size_t hits = 0;
		for (size_t z = 0; z < cfg->n_zones && hits < 2; z++) {
			ctl_request_t rel = *req;
			ctl_explain_t e;
			const char *e_err = NULL;
			rel.name = ctl_afmt(a, "%s.%s", req->name, cfg->zones[z].name);
			if (rel.name != NULL &&
			    ctl_explain_name(snap, pol, cfg, &rel, geo_notice, a, &e, &e_err) ==
			            0 &&
			    strcmp(e.kind, "nxdomain") != 0 && strcmp(e.kind, "refused") != 0) {
				*out = e;
				hits++;
			}
		}
		if (hits == 1) {
			return 0;
		}
	}
	return ctl_explain_name(snap, pol, cfg, req, geo_notice, a, out, err);
}

int ctl_explain_name(const dnsd_snap_t *snap, const pol_snap_t *pol, const cfg_t *cfg,
                     const ctl_request_t *req, const char *geo_notice, aya_arena_t *a,
                     ctl_explain_t *out, const char **err)
{
	uint8_t qname[AYA_DNAME_MAX];
	pol_client_t client;
	if (req->name == NULL || aya_dname_from_str(req->name, qname) < 0) {
		*err = ctl_afmt(a, "'%s' is not a domain name", req->name != NULL ? req->name : "");
		return -EINVAL;
	}
	aya_dname_lower(qname);
	if (ctl_explain_client(req->client, req->has_subnet, req->subnet, a, &client, err) < 0) {
		return -EINVAL;
	}
	uint16_t qtype = req->qtype == T_AAAA ? T_AAAA : T_A;
	struct sockaddr_storage ss = {0};
	if (client.family == AF_INET) {
		struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;
		s4->sin_family = AF_INET;
		memcpy(&s4->sin_addr, client.addr, 4);
	} else {
		struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;
		s6->sin6_family = AF_INET6;
		memcpy(&s6->sin6_addr, client.addr, 16);
	}
	uint8_t *q = aya_arena_alloc(a, 512), *resp = aya_arena_alloc(a, MSG_MAX);
	struct parsed *p = aya_arena_alloc(a, sizeof(*p));
	dnsd_ctx_t *ctx = dnsd_ctx_new();
	*err = NULL;
	if (q == NULL || resp == NULL || p == NULL || ctx == NULL) {
		dnsd_ctx_free(ctx);
		return -ENOMEM;
	}
	memset(p, 0, sizeof(*p));
	size_t qlen = query_build(qname, qtype, &client, q);
	/* TCP: no truncation and no rate limiting; the answer is the one a client gets. */
	size_t n = dnsd_answer(ctx, snap, pol, q, qlen, resp, MSG_MAX, (struct sockaddr *)&ss,
	                       DNSD_TCP);
	dnsd_ctx_free(ctx);
	int rc = n > 0 ? response_read(resp, n, qname, qtype, a, p) : -EBADMSG;
	if (rc < 0) {
		*err = rc == -ENOMEM ? NULL : "explain: no readable answer to the query";
		return rc;
	}
	if (p->rcode != 0 && p->rcode != 3 && p->rcode != 5) {
		*err = ctl_afmt(a, "explain: the query was answered with rcode %u", p->rcode);
		return -EINVAL;
	}
	const char *qt = qtype == T_AAAA ? "AAAA" : "A";
	/* A service at the end of the chain: its own explain, after the chain. */
	const pol_service_t *svc = pol != NULL ? pol_service_find(pol, p->final) : NULL;
	if (svc != NULL && p->rcode == 0) {
		ctl_request_t sreq = *req;
		sreq.name = svc->name;
		if ((rc = ctl_explain_fill(pol, cfg, &sreq, geo_notice, a, out, err)) < 0) {
			return rc;
		}
		size_t need = 1;
		for (size_t i = 0; i < p->n_chain; i++) {
			need += strlen(p->chain[i]) + 8;
		}
		char *chain = aya_arena_alloc(a, need);
		if (chain == NULL) {
			return -ENOMEM;
		}
		chain[0] = '\0';
		put_chain(p, chain, need);
		out->text = ctl_afmt(a, "%s%s", chain, out->text);
		out->kind = "service";
	} else {
		const char *kind = kind_of(p, cfg);
		const char *zone = zone_of(cfg, p->final, a);
		*out = (ctl_explain_t){.service = "",
		                       .qtype = qt,
		                       .client = req->client,
		                       .kind = kind,
		                       .text = name_explain_text(a, p, qt, zone, kind),
		                       .result = kind,
		                       .answer = p->records,
		                       .n_answer = p->n_records,
		                       .ttl_s = p->ttl_s,
		                       .rule = "",
		                       .country = "",
		                       .continent = "",
		                       .attribution = "",
		                       .load_draw = 0.0};
	}
	out->name = name_text(a, qname);
	out->zone = zone_of(cfg, qname, a);
	out->chain = p->chain;
	out->n_chain = p->n_chain;
	return out->text != NULL && out->name != NULL && out->zone != NULL ? 0 : -ENOMEM;
}
