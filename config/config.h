/*
 * config/: the YAML configuration and the zone files it names, loaded into an
 * immutable cfg_t. Validation reports every error as "file:line:col: error:
 * text" (STYLE.md, "Config errors") and keeps going, so an operator sees all
 * problems at once. ldns and libyaml objects never leave this module: zone
 * records come out as plain wire-form cfg_rr_t values.
 *
 * Threads: cfg_load() runs on the control thread (start-up and reload); a
 * loaded cfg_t is read-only and may be read from any thread until
 * cfg_free().
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "common/compiler.h"
#include "common/dname.h"

/* Where an object was defined, so later checks can cite it. */
typedef struct cfg_loc {
	const char *file; /* borrowed from the cfg_t */
	unsigned line;    /* 1-based, 0 when unknown */
	unsigned col;
} cfg_loc_t;

/* A socket address parsed from "1.2.3.4:53", "[::1]:53" or "::1" (with default port). */
typedef struct cfg_sockaddr {
	struct sockaddr_storage ss;
	socklen_t len;
	char text[64]; /* as written, normalized: "127.0.0.1:5300", "[::1]:5300" */
} cfg_sockaddr_t;

/* An address prefix, e.g. for allow-transfer lists: 192.0.2.0/24, 2001:db8::/32. */
typedef struct cfg_prefix {
	int family; /* AF_INET or AF_INET6 */
	uint8_t addr[16];
	uint8_t len; /* prefix length in bits */
} cfg_prefix_t;

/*
 * One resource record from a zone file, in wire form. RDATA is uncompressed,
 * domain names inside it keep the case of the zone file; the owner is
 * lower-cased. Type and class are host order.
 */
typedef struct cfg_rr {
	const uint8_t *owner; /* wire, lower-case */
	uint16_t type;
	uint16_t rclass;
	uint32_t ttl;
	uint16_t rdlen;
	const uint8_t *rdata;
	unsigned line; /* line in the zone file, 0 when unknown */
} cfg_rr_t;

/* ---- services: regions, pools of endpoints, a policy chain ---- */

typedef struct cfg_region {
	const char *name;
	double lat, lon; /* degrees, from location: [lat, lon] */
	double cost;     /* relative cost, default 1 */
	bool burst;      /* a costly pool used only for overflow */
	cfg_loc_t loc;
} cfg_region_t;

typedef struct cfg_endpoint {
	int family;        /* AF_INET or AF_INET6 */
	uint8_t addr[16];  /* network order, 4 or 16 bytes used */
	char text[48];     /* as written */
	unsigned weight;   /* default 1 */
	unsigned capacity; /* 0 = unknown */
	cfg_loc_t loc;
} cfg_endpoint_t;

#define CFG_POOL_TARGET_DEFAULT 0.8 /* pools[].target (the schema's default text too) */
#define CFG_POOL_LIMIT_DEFAULT 0.95 /* pools[].limit */

typedef struct cfg_pool {
	const char *region; /* name, resolved to region_idx at load */
	size_t region_idx;  /* index into cfg_t.regions */
	const cfg_endpoint_t *endpoints;
	size_t n_endpoints;
	const char *monitor; /* name of a monitor, or NULL */
	cfg_loc_t loc;
	size_t monitor_idx; /* index into cfg_t.monitors when monitor != NULL */
	int observers;      /* cfg_observers_t: who probes it; default CFG_OBSERVERS_K */
	int quorum;         /* cfg_quorum_t: how the fresh observers' verdicts combine */
	int unobserved;     /* cfg_unobserved_t: an endpoint no fresh observer reports on */
	double target;      /* utilization the load loop steers to, 0..1, CFG_POOL_TARGET_DEFAULT */
	double limit;       /* utilization over which the pool takes no new answers, default 0.95 */
} cfg_pool_t;

/* pool.observers: the K gossip members chosen per endpoint, or every node. */
typedef enum cfg_observers {
	CFG_OBSERVERS_K = 0,
	CFG_OBSERVERS_ALL = 1,
} cfg_observers_t;

/* pool.quorum: healthy when a strict majority / any / all of the fresh observers say so. */
typedef enum cfg_quorum {
	CFG_QUORUM_MAJORITY = 0,
	CFG_QUORUM_ANY = 1,
	CFG_QUORUM_ALL = 2,
} cfg_quorum_t;

/* pool.when_unobserved: no fresh observation (every observer unreachable, or none yet). */
typedef enum cfg_unobserved {
	CFG_UNOBSERVED_UP = 0,   /* fail open (default) */
	CFG_UNOBSERVED_DOWN = 1, /* fail closed */
} cfg_unobserved_t;

/* ---- monitors: how the agent probes a pool's endpoints ---- */

typedef enum cfg_monitor_type {
	CFG_MON_TCP = 0,   /* connect() succeeds */
	CFG_MON_HTTP = 1,  /* HTTP/1.1 GET, status and optional body check */
	CFG_MON_HTTPS = 2, /* the same over TLS */
} cfg_monitor_type_t;

/* Where a backend reports its load or capacity in the probe response. */
typedef enum cfg_load_kind {
	CFG_LOAD_NONE = 0,
	CFG_LOAD_HEADER = 1,     /* a response header: "X-Load: 0.73" */
	CFG_LOAD_JSON = 2,       /* a dotted path into a JSON body: "stats.load" */
	CFG_LOAD_PROMETHEUS = 3, /* a metric line of a Prometheus text body */
} cfg_load_kind_t;

typedef struct cfg_load_src {
	cfg_load_kind_t kind;
	const char *key; /* header name, JSON path or metric name; NULL with NONE */
} cfg_load_src_t;

typedef struct cfg_monitor {
	const char *name;
	cfg_monitor_type_t type; /* default http */
	uint16_t port;           /* default 80 (http), 443 (https); required for tcp */
	const char *path;        /* request path, default "/" */
	const char *host;        /* Host header; NULL = the endpoint address */
	const uint16_t *expect;  /* accepted status codes, default {200} */
	size_t n_expect;
	const char *body;     /* substring the body must contain; NULL = any */
	uint32_t interval_ms; /* default 500 */
	uint32_t timeout_ms;  /* default 300, < interval_ms */
	uint32_t rise, fall;  /* consecutive results to flip, default 2 and 2 */
	double jitter;        /* 0..0.5 of interval_ms, default 0.1 */
	bool tls_verify;      /* https: verify the certificate chain and name; default false */
	const char *sni;      /* TLS server name; NULL = host, or none for an address */
	cfg_load_src_t load;  /* utilization 0..1 */
	cfg_load_src_t capacity;
	uint32_t slow_start_ms; /* weight ramp after recovery, default 10000; 0 = off */
	cfg_loc_t loc;
	bool keepalive; /* http/https: reuse one connection per endpoint, default true */
} cfg_monitor_t;

/* ---- policy filters ---- */

/*
 * The policy filters, declared once; the enum and cfg_filter_info[] below
 * are built from this list.
 *
 * CFG_FILTERS(X) calls X(ID, name, ARG, DFLT, FLAGS) for every filter, in
 * the order of cfg_filter_kind_t:
 *  - ID: the enum value CFG_FILTER_<ID>;
 *  - name: the bare word in the YAML policy list and in every text
 *    (explain, ayactl); policy/answer.c binds it to its step function
 *    step_<name>(), so a filter without one does not compile;
 *  - ARG: CFG_FILTER_ARG_NONE, or CFG_FILTER_ARG_COUNT (written
 *    "{ name: N }", N = 1..65535, or bare "name" for DFLT);
 *  - FLAGS: CFG_FILTER_F_* below. They are promises the fast path relies
 *    on: a STATIC filter must not read the client (other than its geo order
 *    with GEO_ORDER) nor draw; a filter that draws must say DRAWS.
 *    tests/policy checks the fast path against the whole chain for every
 *    combination of filters, so a filter wrongly flagged STATIC fails there.
 *
 * Adding a filter: one X() line here, one STEP_FN(name) in policy/answer.c,
 * its drop reasons in policy/trace.c if it drops, and the docs (README.md
 * "Services", docs/config.md); tests/config and tests/policy walk the table.
 */
/* A filter's argument. */
typedef enum cfg_filter_arg {
	CFG_FILTER_ARG_NONE = 0,  /* "name" only; "{ name: x }" is an error */
	CFG_FILTER_ARG_COUNT = 1, /* "{ name: N }", N = 1..65535, or "name" for the default */
} cfg_filter_arg_t;

#define CFG_FILTER_COUNT_MAX 65535u

/* latency's argument: probe RTTs this many milliseconds apart count as equal. */
#define CFG_LATENCY_TOLERANCE_MS 20u

/* What a filter does and what its result depends on. */
enum cfg_filter_flag {
	/* Depends on the snapshot only (health, drains, weights), or with GEO_ORDER also on
	 * the client's geo order: a leading run of these is precomputed per order. */
	CFG_FILTER_F_STATIC = 1u << 0,
	/* Reads the client's geo order (the fast path keeps one prefix per order). */
	CFG_FILTER_F_GEO_ORDER = 1u << 1,
	/* Draws from the query's random numbers: ordering before a first-N cut may stop
	 * at N only when no later filter draws. */
	CFG_FILTER_F_DRAWS = 1u << 2,
	/* Reorders the candidates (inside their tiers, or into tiers). */
	CFG_FILTER_F_ORDERS = 1u << 3,
	/* Drops candidates. */
	CFG_FILTER_F_DROPS = 1u << 4,
	/* Keeps the first N candidates, N its argument: an ordering filter just before it
	 * only needs to order the first N. */
	CFG_FILTER_F_FIRST_N = 1u << 5,
};

/* clang-format off */
#define CFG_FILTERS(X)                                                                            \
	X(HEALTHY,  healthy,  CFG_FILTER_ARG_NONE,  0, CFG_FILTER_F_STATIC | CFG_FILTER_F_DROPS)  \
	X(DRAIN,    drain,    CFG_FILTER_ARG_NONE,  0, CFG_FILTER_F_STATIC | CFG_FILTER_F_DROPS)  \
	X(GEO,      geo,      CFG_FILTER_ARG_NONE,  0,                                            \
	  CFG_FILTER_F_STATIC | CFG_FILTER_F_GEO_ORDER | CFG_FILTER_F_ORDERS)                     \
	X(WEIGHTED, weighted, CFG_FILTER_ARG_NONE,  0, CFG_FILTER_F_DRAWS | CFG_FILTER_F_ORDERS)  \
	X(HASH,     hash,     CFG_FILTER_ARG_NONE,  0, CFG_FILTER_F_ORDERS)                       \
	X(FIRST_N,  first_n,  CFG_FILTER_ARG_COUNT, 1, CFG_FILTER_F_DROPS | CFG_FILTER_F_FIRST_N)  \
	X(LOAD,     load,     CFG_FILTER_ARG_NONE,  0,                                            \
	  CFG_FILTER_F_DRAWS | CFG_FILTER_F_ORDERS | CFG_FILTER_F_DROPS)                         \
	X(LATENCY,  latency,  CFG_FILTER_ARG_COUNT, CFG_LATENCY_TOLERANCE_MS,                     \
	  CFG_FILTER_F_STATIC | CFG_FILTER_F_ORDERS)
/* clang-format on */

#define CFG_FILTER_ENUM_(ID, name, arg, dflt, flags) CFG_FILTER_##ID,
typedef enum cfg_filter_kind { CFG_FILTERS(CFG_FILTER_ENUM_) } cfg_filter_kind_t;
#undef CFG_FILTER_ENUM_

/* How many filters there are (not a kind, so switches over kinds stay complete). */
#define CFG_FILTER_ONE_(ID, name, arg, dflt, flags) +1
enum { CFG_FILTER_COUNT = 0 CFG_FILTERS(CFG_FILTER_ONE_) };
#undef CFG_FILTER_ONE_

typedef struct cfg_filter_info {
	cfg_filter_kind_t kind;
	const char *name;
	cfg_filter_arg_t arg;
	unsigned arg_dflt; /* the argument when the config gives none */
	unsigned flags;    /* enum cfg_filter_flag */
} cfg_filter_info_t;

/* Indexed by cfg_filter_kind_t. */
extern const cfg_filter_info_t cfg_filter_info[CFG_FILTER_COUNT];

/* One filter of a service's chain. */
typedef struct cfg_filter {
	cfg_filter_kind_t kind;
	unsigned n; /* the argument (first_n's N, latency's ms); 0 = the filter's default */
	cfg_loc_t loc;
} cfg_filter_t;

/*
 * The chain of a service without `policy:` (healthy, drain, geo, load,
 * weighted, first_n 1): the loader's default, and the policy compiler's for a
 * cfg_service_t without a chain. Static storage.
 */
extern const cfg_filter_t cfg_default_chain[];
extern const size_t cfg_default_chain_len;

/* The filter called `name`; NULL = no such filter. */
const cfg_filter_info_t *cfg_filter_find(const char *name) AYA_NONNULL(1);
/* Its name; "?" for a kind outside the table. */
const char *cfg_filter_name(cfg_filter_kind_t k);
/* Does filter k have flag (CFG_FILTER_F_*)? False for a kind outside the table. */
static inline bool cfg_filter_has(cfg_filter_kind_t k, unsigned flag)
{
	return (unsigned)k < CFG_FILTER_COUNT && (cfg_filter_info[k].flags & flag) != 0;
}
/* Does filter k take an argument? False for a kind outside the table. */
static inline bool cfg_filter_has_arg(cfg_filter_kind_t k)
{
	return (unsigned)k < CFG_FILTER_COUNT && cfg_filter_info[k].arg != CFG_FILTER_ARG_NONE;
}
/* f's argument: f->n, or the filter's default. f->kind must be in the table. */
static inline unsigned cfg_filter_arg(const cfg_filter_t *f)
{
	return f->n != 0 ? f->n : cfg_filter_info[f->kind].arg_dflt;
}
/* f as text: its name, then its argument if it takes one ("first_n 3"). snprintf style. */
size_t cfg_filter_text(const cfg_filter_t *f, char *buf, size_t len) AYA_NONNULL(1);

typedef enum cfg_all_down {
	CFG_ALL_DOWN_ANSWER_ALL = 0, /* fail open: answer every endpoint (default) */
	CFG_ALL_DOWN_EMPTY = 1,      /* NOERROR with no records */
} cfg_all_down_t;

typedef struct cfg_service {
	const char *name;             /* relative to the zone, e.g. "www"; "@" is the apex */
	uint8_t owner[AYA_DNAME_MAX]; /* wire, lower-case, absolute */
	uint32_t ttl_s;               /* default 30 */
	const cfg_pool_t *pools;
	size_t n_pools;
	const cfg_filter_t *policy; /* default: healthy, drain, geo, load, weighted, first_n 1 */
	size_t n_policy;
	cfg_all_down_t all_down;
	double cost_tolerance_km; /* regions this near the nearest one are ordered by cost */
	cfg_loc_t loc;
} cfg_service_t;

typedef enum cfg_geo_map_kind {
	CFG_GEO_MAP_COUNTRY,
	CFG_GEO_MAP_CONTINENT,
} cfg_geo_map_kind_t;

/* "country/continent -> ordered region list" overrides of distance order. */
typedef struct cfg_geo_map {
	cfg_geo_map_kind_t kind;
	char code[3];          /* "DE", "EU" */
	const size_t *regions; /* indexes into cfg_t.regions, in order */
	size_t n_regions;
	cfg_loc_t loc;
} cfg_geo_map_t;

typedef struct cfg_geo {
	const char *database; /* resolved path of the .mmdb, NULL = no geo */
	const cfg_geo_map_t *maps;
	size_t n_maps;
	const size_t
	        *default_order; /* for clients the database does not know; default: config order */
	size_t n_default_order;
	cfg_loc_t loc;
} cfg_geo_t;

/*
 * TSIG (RFC 8945) HMAC algorithms, in the order of cfg_tsig_alg_names[] and
 * of the algorithm names on the wire (dnsd/tsig.c).
 */
typedef enum cfg_tsig_alg {
	CFG_TSIG_HMAC_SHA256 = 0, /* the default */
	CFG_TSIG_HMAC_SHA1,
	CFG_TSIG_HMAC_SHA224,
	CFG_TSIG_HMAC_SHA384,
	CFG_TSIG_HMAC_SHA512,
	CFG_TSIG_HMAC_MD5,
	CFG_TSIG_N_ALGS,
} cfg_tsig_alg_t;
/* "hmac-sha256", ... (config spelling; CFG_TSIG_N_ALGS entries then NULL). */
extern const char *const cfg_tsig_alg_names[];

/* keys[]: a TSIG key. Names unique (compared as domain names). */
typedef struct cfg_key {
	const char *name;             /* presentation, lower-case, with the trailing dot */
	uint8_t owner[AYA_DNAME_MAX]; /* wire, lower-case */
	cfg_tsig_alg_t alg;
	const uint8_t *secret; /* decoded base64, 1..128 bytes */
	size_t secret_len;
	cfg_loc_t loc;
} cfg_key_t;

#define CFG_NO_KEY ((size_t)-1)

/*
 * allow_transfer entry that is a mapping: {key: NAME} (any address with that
 * key), {prefix: P, key: NAME} (both), {prefix: P} (the same as the plain
 * string). Plain prefix strings go to cfg_zone_t.xfr_allow.
 */
typedef struct cfg_xfr_acl {
	size_t key; /* index into cfg_t.keys; CFG_NO_KEY = no key required */
	bool any_addr;
	cfg_prefix_t prefix; /* when !any_addr */
	cfg_loc_t loc;
} cfg_xfr_acl_t;

/*
 * zones[].dnssec: online signing (dnsd/dnssec.c). Absent: enabled false and
 * the zone is served unsigned. Keys live in key_directory as BIND-format
 * K<zone>.+<alg>.+<tag>.key/.private files, with an Aya .state file beside each
 * (dnsd/keys.c); ayad makes them on first start when the directory has none.
 */
typedef enum cfg_dnssec_alg {
	CFG_DNSSEC_ECDSAP256SHA256 = 13, /* the default */
	CFG_DNSSEC_ED25519 = 15,
} cfg_dnssec_alg_t;

typedef struct cfg_dnssec {
	bool enabled;
	cfg_dnssec_alg_t algorithm;
	bool split;                /* a KSK and a ZSK; false (default): one combined key (CSK) */
	const char *key_directory; /* resolved; NULL: <state_dir>/dnssec */
	uint32_t signature_lifetime_s; /* RRSIG expiration - inception, default 14 days */
	uint32_t dnskey_ttl_s;         /* TTL of the DNSKEY RRset, default 3600 */
	cfg_loc_t loc;
} cfg_dnssec_t;

typedef struct cfg_zone {
	const char *name;            /* presentation, lower-case, no trailing dot */
	uint8_t apex[AYA_DNAME_MAX]; /* wire, lower-case */
	const char *file;            /* as resolved (relative to the config file) */
	const cfg_rr_t *rrs;         /* every record, SOA first */
	size_t n_rrs;
	uint32_t serial;               /* from the SOA */
	const cfg_prefix_t *xfr_allow; /* AXFR/IXFR allowed from these; none = refused */
	size_t n_xfr_allow;
	const cfg_xfr_acl_t *xfr_acl; /* mapping entries of allow_transfer (keys) */
	size_t n_xfr_acl;
	const cfg_sockaddr_t *notify; /* secondaries to NOTIFY when the serial changes */
	size_t n_notify;
	size_t notify_key; /* index into cfg_t.keys; CFG_NO_KEY = unsigned NOTIFY */
	const cfg_service_t *services;
	size_t n_services;
	cfg_dnssec_t dnssec; /* signing; dnssec.enabled false: unsigned */
	cfg_loc_t loc;
} cfg_zone_t;

/*
 * dns.rrl: response rate limiting (dnsd/rrl.c). Absent: enabled == false and
 * nothing is limited.
 */
typedef struct cfg_rrl {
	bool enabled;
	unsigned responses_per_second; /* per key (client prefix, kind, name), 1..1000000 */
	unsigned slip;                 /* every slip-th limited reply goes out TC=1; 0 = none */
	unsigned window_s;             /* debt is kept for at most this, default 15 */
	unsigned ipv4_prefix;          /* client prefix of a key, default 24 */
	unsigned ipv6_prefix;          /* default 56 */
	const cfg_prefix_t *exempt;    /* never limited */
	size_t n_exempt;
	cfg_loc_t loc;
} cfg_rrl_t;

typedef struct cfg_dns {
	const cfg_sockaddr_t *listen; /* default 0.0.0.0:53 and [::]:53 */
	size_t n_listen;
	unsigned threads;             /* UDP workers per listen address; 0 in YAML = one per core */
	unsigned tcp_idle_timeout_ms; /* RFC 7766 idle timeout, default 10000 */
	unsigned tcp_max_connections; /* default 1000 */
	unsigned tcp_max_per_client;  /* per client prefix (below), default 50 */
	unsigned tcp_message_timeout_ms; /* whole query in / reply out, default 2000 */
	unsigned tcp_client_ipv4_prefix; /* client prefix of tcp_max_per_client, default 24 */
	unsigned tcp_client_ipv6_prefix; /* default 56 */
	uint16_t max_udp_payload;  /* largest UDP reply, default 1232 (RFC 9715 / flag day 2020) */
	const char *nsid;          /* NSID and id.server; default node name; "" disables NSID */
	bool cookies;              /* RFC 7873/9018 cookies, default true */
	bool cookie_secret_set;    /* false: ayad uses state_dir/cookie.secret */
	uint8_t cookie_secret[16]; /* SipHash-2-4 key shared by nodes behind one anycast name */
	cfg_rrl_t rrl;             /* response rate limiting; off unless dns.rrl is present */
} cfg_dns_t;

typedef struct cfg_node {
	const char *name;   /* required */
	const char *region; /* required */
} cfg_node_t;

/*
 * gossip:. Absent: a single node, no gossip (enabled == false).
 * keys[] come from the keyring file (base64 AES-256 keys, one a line, the
 * first is the primary); insecure == true means no keys (loopback only).
 */
typedef struct cfg_gossip {
	bool enabled;
	cfg_sockaddr_t bind; /* UDP and TCP, default port 7946 */
	const cfg_sockaddr_t *seeds;
	size_t n_seeds;
	const char *keyring; /* resolved path, NULL when insecure */
	const uint8_t (*keys)[32];
	size_t n_keys;
	bool insecure;
	uint32_t probe_interval_ms;    /* default 500ms */
	uint32_t probe_timeout_ms;     /* default 250ms */
	uint32_t indirect_checks;      /* default 3 */
	uint32_t suspicion_mult;       /* default 3 */
	uint32_t suspicion_max_mult;   /* default 6 */
	uint32_t retransmit_mult;      /* default 4 */
	uint32_t gossip_interval_ms;   /* default 100ms */
	uint32_t gossip_fanout;        /* default 3 */
	uint32_t pushpull_interval_ms; /* default 30s; 0 = off */
	uint32_t reap_ms;              /* default 1h */
	uint32_t mtu;                  /* default 1400 */
	cfg_loc_t loc;
} cfg_gossip_t;

/* The HTTP listener (/metrics, the status page); no address = none. */
typedef struct cfg_http {
	const cfg_sockaddr_t *listen; /* port 8053 when omitted */
	size_t n_listen;
} cfg_http_t;

typedef struct cfg {
	const char *path; /* the config file as given */
	const char *dir;  /* its directory, for relative paths */
	cfg_node_t node;
	cfg_dns_t dns;
	const cfg_zone_t *zones;
	size_t n_zones;
	const cfg_key_t *keys; /* TSIG keys (keys:), names unique */
	size_t n_keys;
	const cfg_region_t *regions;
	size_t n_regions;
	cfg_geo_t geo;
	const cfg_monitor_t *monitors; /* names unique */
	size_t n_monitors;
	const char *control_socket; /* default <state_dir>/ayad.sock */
	const char *control_group;  /* NULL: ayad's own group; the socket is 0660 */
	const char *user;           /* NULL: keep the user ayad was started as */
	const char *group;          /* NULL: the user's primary group */
	const char *state_dir;      /* default /var/lib/aya */
	int log_level;              /* AYA_LOG_*; default info */
	cfg_gossip_t gossip;
	cfg_http_t http;
	struct cfg_priv *priv; /* storage owned by the cfg_t */
} cfg_t;

/*
 * Diagnostics collected while loading: newline-separated lines of the form
 * "file:line:col: error: text" or "...: warning: text". Caller's storage;
 * zero-initialize, then cfg_diag_fini().
 */
typedef struct cfg_diag {
	char *text;
	size_t len;
	size_t cap;
	unsigned errors;
	unsigned warnings;
} cfg_diag_t;

void cfg_diag_fini(cfg_diag_t *d) AYA_NONNULL(1);
/* Append one formatted line (a newline is added). */
void cfg_diag_add(cfg_diag_t *d, const char *file, unsigned line, unsigned col,
                  const char *severity, const char *fmt, ...) AYA_NONNULL(1, 5, 6) AYA_PRINTF(6, 7);

/*
 * Load and validate the config at `path` and every zone file it names.
 * Returns 0 and sets *out, or -EINVAL (d->errors > 0, details in d), or
 * -ENOENT/-EACCES/-ENOMEM for the config file itself. Warnings may be present
 * on success.
 */
int cfg_load(const char *path, cfg_t **out, cfg_diag_t *d) AYA_NONNULL(1, 2, 3) AYA_WUR;
/* NULL is a no-op. */
void cfg_free(cfg_t *cfg);
/* Endpoints of the pools that have a monitor, over every service: what the agent may probe. */
size_t cfg_monitored_endpoints(const cfg_t *cfg) AYA_NONNULL(1);

/*
 * The config hash gossiped for drift detection (config/hash.c): FNV-1a 64
 * over the parsed config that every node of a cluster shares (regions, geo
 * maps, monitors, zones with their records and services), leaving out what
 * is each node's own (node, dns, control, state_dir, log, gossip). Comments,
 * formatting and key order do not change it. Pure, any thread.
 */
uint64_t cfg_hash(const cfg_t *cfg) AYA_NONNULL(1);
/*
 * The zones of cfg whose records differ from the same zone in old while the
 * SOA serial is the same: a secondary would never transfer the change.
 * Returns how many (the first max into out). Pure, any thread.
 */
size_t cfg_zones_unbumped(const cfg_t *old, const cfg_t *cfg, const cfg_zone_t **out, size_t max)
        AYA_NONNULL(1, 2);

/*
 * The gossip: keys whose values differ between a and b (config/gossip.c),
 * by their YAML names ("bind", "seeds", "keyring", "probe_interval", ...)
 * in schema order, into keys[0..cap); returns how many differ (may exceed
 * cap). "keyring" compares the keys, not the file's path. A section present
 * in one and absent in the other is the single name "gossip". For reload.
 */
size_t cfg_gossip_diff(const cfg_gossip_t *a, const cfg_gossip_t *b, const char **keys, size_t cap)
        AYA_NONNULL(1, 2);

/* Find a zone by name (case-insensitive, trailing dot optional); NULL = absent. */
const cfg_zone_t *cfg_zone_find(const cfg_t *cfg, const char *name) AYA_NONNULL(1, 2);

/* "500ms", "2s", "1m", or a bare number of seconds, to milliseconds. -EINVAL on junk. */
int cfg_parse_duration_ms(const char *s, uint64_t *ms) AYA_NONNULL(1, 2) AYA_WUR;
/* "1.2.3.4:53", "[::1]:53", or an address alone with default_port. */
int cfg_parse_sockaddr(const char *s, uint16_t default_port, cfg_sockaddr_t *out)
        AYA_NONNULL(1, 3) AYA_WUR;
int cfg_parse_prefix(const char *s, cfg_prefix_t *out) AYA_NONNULL(1, 2) AYA_WUR;

/*
 * Country table (ISO 3166-1 alpha-2 plus XK) built into the binary from
 * countries.csv of the geo data (DB-IP, GeoNames; CC BY 4.0): continent code
 * and the centre of the country's IPv4 addresses. Pure, any thread.
 */
bool cfg_country_known(const char *cc) AYA_NONNULL(1);
/* 0 and the continent ("EU"), latitude and longitude, or -ENOENT. */
int cfg_country_find(const char *cc, char continent[3], double *lat, double *lon)
        AYA_NONNULL(1, 2, 3, 4);
/* The table's size, and its i-th country: code, or NULL past the end (the status page's map). */
size_t cfg_country_count(void);
const char *cfg_country_at(size_t i, double *lat, double *lon) AYA_NONNULL(2, 3);
/* True for AF AN AS EU NA OC SA. */
bool cfg_continent_known(const char *code) AYA_NONNULL(1);
