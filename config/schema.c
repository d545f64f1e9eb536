/*
 * The configuration schema: one row per key with its type, range and default,
 * and a comment saying what it is for (model: Knot conf/schema.c). cfg_parse_map()
 * walks these tables; a key that is not in its table is an error. A new
 * option is a new row here, a paragraph in docs/config.md, an example and a
 * test.
 */
#include "config/config_int.h"

#include <stddef.h>

/* Enum-typed fields are stored as int. */
_Static_assert(sizeof(cfg_all_down_t) == sizeof(int), "enum storage");
_Static_assert(sizeof(cfg_dnssec_alg_t) == sizeof(int), "enum storage");

#define SIZE_OF(S, f) sizeof(((S *)0)->f)
#define SEC(var, nm, arr) const section_t var = {nm, arr, AYA_ARRAY_LEN(arr), false}

static const char *const log_levels[] = {"error", "warning", "info", "debug", NULL};
static const char *const all_down_names[] = {"answer_all", "empty", NULL};
static const char *const observers_names[] = {"k", "all", NULL};
static const char *const quorum_names[] = {"majority", "any", "all", NULL};
static const char *const unobserved_names[] = {"up", "down", NULL};

/* ---- node ---- */
static const item_t node_items[] = {
        /* this node's name, unique in the cluster */
        {.name = "name", .type = IT_NAME, .offset = offsetof(cfg_node_t, name), .required = true},
        /* the region this node is in */
        {.name = "region", .type = IT_FUNC, .fn = cfg_fn_node_region, .required = true},
};
SEC(cfg_sec_node, "node", node_items);

/* ---- dns ---- */
#define D(f) .offset = offsetof(cfg_dns_t, f), .size = SIZE_OF(cfg_dns_t, f)
static const item_t dns_items[] = {
        /* addresses to serve DNS on (UDP and TCP); port 53 when omitted */
        {.name = "listen",
         .type = IT_FUNC,
         .fn = cfg_fn_listen,
         .dflt = "[0.0.0.0:53, \"[::]:53\"]"},
        /* UDP worker threads; 0 = one per core */
        {.name = "threads", .type = IT_UINT, D(threads), .min = 0, .max = 1024, .dflt = "0"},
        /* idle TCP connections are closed after this */
        {.name = "tcp_idle_timeout",
         .type = IT_DURATION,
         D(tcp_idle_timeout_ms),
         .min = 100,
         .max = 3600000,
         .dflt = "10s"},
        /* open TCP connections, all clients */
        {.name = "tcp_max_connections",
         .type = IT_UINT,
         D(tcp_max_connections),
         .min = 1,
         .max = 1000000,
         .dflt = "1000"},
        /* open TCP connections from one client prefix (tcp_client_ipv4/6_prefix) */
        {.name = "tcp_max_per_client",
         .type = IT_UINT,
         D(tcp_max_per_client),
         .min = 1,
         .max = 1000000,
         .dflt = "50"},
        /* a query must arrive whole, and a reply be taken, within this */
        {.name = "tcp_message_timeout",
         .type = IT_DURATION,
         D(tcp_message_timeout_ms),
         .min = 100,
         .max = 600000,
         .dflt = "2s"},
        /* the IPv4 prefix length tcp_max_per_client counts by */
        {.name = "tcp_client_ipv4_prefix",
         .type = IT_UINT,
         D(tcp_client_ipv4_prefix),
         .min = 0,
         .max = 32,
         .dflt = "24"},
        /* the IPv6 prefix length tcp_max_per_client counts by */
        {.name = "tcp_client_ipv6_prefix",
         .type = IT_UINT,
         D(tcp_client_ipv6_prefix),
         .min = 0,
         .max = 128,
         .dflt = "56"},
        /* largest UDP response */
        {.name = "max_udp_payload",
         .type = IT_UINT,
         D(max_udp_payload),
         .min = 512,
         .max = 4096,
         .dflt = "1232"},
        /* NSID and id.server text; default node.name; "" disables */
        {.name = "nsid", .type = IT_FUNC, .fn = cfg_fn_nsid},
        /* DNS cookies (RFC 7873, RFC 9018) */
        {.name = "cookies", .type = IT_BOOL, D(cookies), .dflt = "true"},
        /* 32 hex digits shared by the nodes behind one address */
        {.name = "cookie_secret", .type = IT_FUNC, .fn = cfg_fn_cookie_secret},
        /* response rate limiting over UDP; absent = off */
        {.name = "rrl", .type = IT_FUNC, .fn = cfg_fn_rrl},
};
#undef D
SEC(cfg_sec_dns, "dns", dns_items);

/* ---- dns.rrl (config/rrl.c) ---- */
#define RL(f) .offset = offsetof(cfg_rrl_t, f), .size = SIZE_OF(cfg_rrl_t, f)
static const item_t rrl_items[] = {
        /* responses per second to one key (client prefix, response kind, name) */
        {.name = "responses_per_second",
         .type = IT_UINT,
         RL(responses_per_second),
         .min = 1,
         .max = 1000000,
         .required = true},
        /* every slip-th limited response is sent truncated (TC=1); 0 = drop all, 1 = none dropped
         */
        {.name = "slip", .type = IT_UINT, RL(slip), .min = 0, .max = 10, .dflt = "2"},
        /* seconds over which a key's rate is averaged: its debt is capped at this many seconds */
        {.name = "window", .type = IT_UINT, RL(window_s), .min = 1, .max = 3600, .dflt = "15"},
        /* IPv4 prefix length of a key's client */
        {.name = "ipv4_prefix",
         .type = IT_UINT,
         RL(ipv4_prefix),
         .min = 0,
         .max = 32,
         .dflt = "24"},
        /* IPv6 prefix length of a key's client */
        {.name = "ipv6_prefix",
         .type = IT_UINT,
         RL(ipv6_prefix),
         .min = 0,
         .max = 128,
         .dflt = "56"},
        /* prefixes never limited */
        {.name = "exempt", .type = IT_FUNC, .fn = cfg_fn_rrl_exempt},
};
#undef RL
SEC(cfg_sec_rrl, "dns.rrl", rrl_items);

/* ---- zones[] ---- */
static const item_t zone_items[] = {
        /* the zone apex */
        {.name = "name", .type = IT_FUNC, .fn = cfg_fn_zone_name, .required = true},
        /* RFC 1035 master file, relative to the config file */
        {.name = "file", .type = IT_PATH, .offset = offsetof(cfg_zone_t, file), .required = true},
        /* prefixes and/or TSIG keys allowed AXFR/IXFR; default none */
        {.name = "allow_transfer", .type = IT_FUNC, .fn = cfg_fn_allow_transfer},
        /* secondaries sent a NOTIFY when the SOA serial changes */
        {.name = "notify", .type = IT_FUNC, .fn = cfg_fn_notify},
        /* TSIG key signing those NOTIFYs; default unsigned */
        {.name = "notify_key", .type = IT_FUNC, .fn = cfg_fn_notify_key, .dflt = "none"},
        /* names answered from pools of endpoints */
        {.name = "services", .type = IT_FUNC, .fn = cfg_fn_services},
        /* online DNSSEC signing (config/dnssec.c); absent = unsigned */
        {.name = "dnssec", .type = IT_FUNC, .fn = cfg_fn_dnssec},
};
SEC(cfg_sec_zone, "zone", zone_items);

/* ---- zones[].dnssec (config/dnssec.c) ---- */
static const char *const dnssec_alg_names[] = {"ecdsap256sha256", "ed25519", NULL};
#define DS(f) .offset = offsetof(cfg_dnssec_t, f), .size = SIZE_OF(cfg_dnssec_t, f)
static const item_t dnssec_items[] = {
        /* signing algorithm: ecdsap256sha256 (13) or ed25519 (15) */
        {.name = "algorithm",
         .type = IT_ENUM,
         DS(algorithm),
         .names = dnssec_alg_names,
         .dflt = "ecdsap256sha256"},
        /* a KSK and a ZSK; false = one combined signing key (CSK) */
        {.name = "split", .type = IT_BOOL, DS(split), .dflt = "false"},
        /* where the key files are, relative to the config file; default <state_dir>/dnssec */
        {.name = "key_directory", .type = IT_PATH, DS(key_directory)},
        /* RRSIG expiration - inception */
        {.name = "signature_lifetime",
         .type = IT_DURATION_S,
         DS(signature_lifetime_s),
         .min = 600,
         .max = 366 * 86400,
         .dflt = "14d"},
        /* TTL of the DNSKEY RRset */
        {.name = "dnskey_ttl",
         .type = IT_DURATION_S,
         DS(dnskey_ttl_s),
         .min = 0,
         .max = 7 * 86400,
         .dflt = "1h"},
};
#undef DS
SEC(cfg_sec_dnssec, "zone.dnssec", dnssec_items);

/* ---- control, log: stored in cfg_t itself ---- */
static const item_t control_items[] = {
        /* unix socket for ayactl; default <state_dir>/ayad.sock */
        {.name = "socket", .type = IT_PATH, .offset = offsetof(cfg_t, control_socket)},
        /* group that may use ayactl (socket mode 0660); default ayad's group */
        {.name = "group", .type = IT_NAME, .offset = offsetof(cfg_t, control_group)},
};
SEC(cfg_sec_control, "control", control_items);

static const item_t log_items[] = {
        /* error, warning, info or debug */
        {.name = "level",
         .type = IT_ENUM,
         .offset = offsetof(cfg_t, log_level),
         .names = log_levels,
         .dflt = "info"},
};
SEC(cfg_sec_log, "log", log_items);

/* ---- regions[] ---- */
#define R(f) .offset = offsetof(cfg_region_t, f), .size = SIZE_OF(cfg_region_t, f)
static const item_t region_items[] = {
        /* region name */
        {.name = "name", .type = IT_NAME, R(name), .required = true},
        /* [latitude, longitude] in degrees */
        {.name = "location", .type = IT_FUNC, .fn = cfg_fn_region_location, .required = true},
        /* relative cost; cheaper regions are preferred */
        {.name = "cost", .type = IT_DOUBLE, R(cost), .min = 0, .max = 1000000, .dflt = "1"},
        /* used only for overflow */
        {.name = "burst", .type = IT_BOOL, R(burst), .dflt = "false"},
};
#undef R
SEC(cfg_sec_region, "region", region_items);

/* ---- geo ---- */
static const item_t geo_items[] = {
        /* MaxMind DB (.mmdb) file, relative to the config file */
        {.name = "database", .type = IT_PATH, .offset = offsetof(cfg_geo_t, database)},
        /* country or continent -> ordered region list */
        {.name = "maps", .type = IT_FUNC, .fn = cfg_fn_geo_maps},
        /* region order for clients the database does not know */
        {.name = "default", .type = IT_FUNC, .fn = cfg_fn_geo_default},
};
SEC(cfg_sec_geo, "geo", geo_items);

static const item_t geo_map_items[] = {
        /* ISO 3166-1 alpha-2 code */
        {.name = "country", .type = IT_FUNC, .fn = cfg_fn_map_country},
        /* AF AN AS EU NA OC SA */
        {.name = "continent", .type = IT_FUNC, .fn = cfg_fn_map_continent},
        /* regions in order of preference */
        {.name = "regions", .type = IT_FUNC, .fn = cfg_fn_map_regions, .required = true},
};
SEC(cfg_sec_geo_map, "geo map", geo_map_items);

/* ---- monitors[] (monitors.c checks what spans keys: port, timeout < interval, load) ---- */
_Static_assert(sizeof(cfg_monitor_type_t) == sizeof(int), "enum storage");
static const char *const monitor_types[] = {"tcp", "http", "https", NULL};
#define M(f) .offset = offsetof(cfg_monitor_t, f), .size = SIZE_OF(cfg_monitor_t, f)
static const item_t monitor_items[] = {
        /* monitor name */
        {.name = "name", .type = IT_NAME, M(name), .required = true},
        /* tcp (connect), http or https */
        {.name = "type", .type = IT_ENUM, M(type), .names = monitor_types, .dflt = "http"},
        /* port probed on every endpoint address; default 80 (http), 443 (https), required for tcp
         */
        {.name = "port", .type = IT_UINT, M(port), .min = 1, .max = 65535},
        /* HTTP request path */
        {.name = "path", .type = IT_NAME, M(path), .dflt = "/"},
        /* Host header; default the endpoint address */
        {.name = "host", .type = IT_NAME, M(host)},
        /* accepted HTTP status codes */
        {.name = "expect", .type = IT_FUNC, .fn = cfg_fn_monitor_expect, .dflt = "[200]"},
        /* substring the response body must contain; default any body */
        {.name = "body", .type = IT_NAME, M(body)},
        /* time between two probes of one endpoint */
        {.name = "interval",
         .type = IT_DURATION,
         M(interval_ms),
         .min = 50,
         .max = 3600000,
         .dflt = "500ms"},
        /* a probe not done by then fails; must be below interval */
        {.name = "timeout",
         .type = IT_DURATION,
         M(timeout_ms),
         .min = 10,
         .max = 3600000,
         .dflt = "300ms"},
        /* consecutive successes that mark an endpoint up */
        {.name = "rise", .type = IT_UINT, M(rise), .min = 1, .max = 100, .dflt = "2"},
        /* consecutive failures that mark an endpoint down */
        {.name = "fall", .type = IT_UINT, M(fall), .min = 1, .max = 100, .dflt = "2"},
        /* random spread of each interval, as a fraction of it */
        {.name = "jitter", .type = IT_DOUBLE, M(jitter), .min = 0, .max = 0.5, .dflt = "0.1"},
        /* https: verify the certificate chain and name */
        {.name = "tls_verify", .type = IT_BOOL, M(tls_verify), .dflt = "false"},
        /* https: TLS server name; default host (none for an address) */
        {.name = "sni", .type = IT_NAME, M(sni)},
        /* where the backend reports its load: {header: X}, {json: a.b} or {prometheus: metric} */
        {.name = "load", .type = IT_FUNC, .fn = cfg_fn_monitor_load},
        /* a recovered endpoint's weight ramps up over this */
        {.name = "slow_start",
         .type = IT_DURATION,
         M(slow_start_ms),
         .min = 0,
         .max = 3600000,
         .dflt = "10s"},
        /* http/https: send the probes of an endpoint over one kept-alive connection */
        {.name = "keepalive", .type = IT_BOOL, M(keepalive), .dflt = "true"},
};
#undef M
SEC(cfg_sec_monitor, "monitor", monitor_items);

#define L(f) .offset = offsetof(cfg_load_keys_t, f), .size = SIZE_OF(cfg_load_keys_t, f)
static const item_t load_items[] = {
        /* utilization from a header */
        {.name = "header", .type = IT_NAME, L(header)},
        /* utilization from a JSON path */
        {.name = "json", .type = IT_NAME, L(json)},
        /* utilization from a Prometheus metric */
        {.name = "prometheus", .type = IT_NAME, L(prometheus)},
        /* capacity from a header */
        {.name = "capacity_header", .type = IT_NAME, L(cap_header)},
        /* capacity from a JSON path */
        {.name = "capacity_json", .type = IT_NAME, L(cap_json)},
        /* capacity from a Prometheus metric */
        {.name = "capacity_prometheus", .type = IT_NAME, L(cap_prometheus)},
};
#undef L
SEC(cfg_sec_load, "monitor.load", load_items);

/* ---- zones[].services[] ---- */
#define S(f) .offset = offsetof(cfg_service_t, f), .size = SIZE_OF(cfg_service_t, f)
static const item_t service_items[] = {
        /* relative ("www", "@") or absolute ("www.example.com.") owner */
        {.name = "name", .type = IT_NAME, S(name), .required = true},
        /* TTL of the answers, seconds */
        {.name = "ttl", .type = IT_UINT, S(ttl_s), .min = 0, .max = 2147483647, .dflt = "30"},
        /* pools of endpoints, one per region */
        {.name = "pools", .type = IT_FUNC, .fn = cfg_fn_pools, .required = true},
        /* the filter chain */
        {.name = "policy",
         .type = IT_FUNC,
         .fn = cfg_fn_policy,
         .dflt = "[healthy, drain, geo, load, weighted, {first_n: 1}]"},
        /* answer_all (fail open) or empty */
        {.name = "when_all_down",
         .type = IT_ENUM,
         S(all_down),
         .names = all_down_names,
         .dflt = "answer_all"},
        /* regions this near (km) to the client's nearest one are taken cheapest first */
        {.name = "cost_tolerance_km",
         .type = IT_DOUBLE,
         S(cost_tolerance_km),
         .min = 0,
         .max = 20038,
         .dflt = "1000"},
};
#undef S
SEC(cfg_sec_service, "service", service_items);

static const item_t pool_items[] = {
        /* a region of regions: */
        {.name = "region", .type = IT_FUNC, .fn = cfg_fn_pool_region, .required = true},
        /* at least one endpoint */
        {.name = "endpoints", .type = IT_FUNC, .fn = cfg_fn_endpoints, .required = true},
        /* name of a monitor of monitors: */
        {.name = "monitor", .type = IT_FUNC, .fn = cfg_fn_pool_monitor},
        /* k: the 3 gossip members picked per endpoint probe it; all: every node */
        {.name = "observers",
         .type = IT_ENUM,
         .offset = offsetof(cfg_pool_t, observers),
         .size = SIZE_OF(cfg_pool_t, observers),
         .names = observers_names,
         .dflt = "k"},
        /* healthy when a strict majority, any or all of the fresh observers say so */
        {.name = "quorum",
         .type = IT_ENUM,
         .offset = offsetof(cfg_pool_t, quorum),
         .size = SIZE_OF(cfg_pool_t, quorum),
         .names = quorum_names,
         .dflt = "majority"},
        /* no fresh observation of an endpoint: up (fail open) or down (fail closed) */
        {.name = "when_unobserved",
         .type = IT_ENUM,
         .offset = offsetof(cfg_pool_t, unobserved),
         .size = SIZE_OF(cfg_pool_t, unobserved),
         .names = unobserved_names,
         .dflt = "up"},
        /* utilization (0..1) the load filter steers the pool to */
        {.name = "target",
         .type = IT_DOUBLE,
         .offset = offsetof(cfg_pool_t, target),
         .size = SIZE_OF(cfg_pool_t, target),
         .min = 0.05,
         .max = 1,
         .dflt = "0.8"},
        /* utilization over which the pool takes no new answers; above target */
        {.name = "limit",
         .type = IT_DOUBLE,
         .offset = offsetof(cfg_pool_t, limit),
         .size = SIZE_OF(cfg_pool_t, limit),
         .min = 0.05,
         .max = 1,
         .dflt = "0.95"},
};
SEC(cfg_sec_pool, "pool", pool_items);

#define E(f) .offset = offsetof(cfg_endpoint_t, f), .size = SIZE_OF(cfg_endpoint_t, f)
static const item_t endpoint_items[] = {
        /* IPv4 or IPv6 address */
        {.name = "address", .type = IT_FUNC, .fn = cfg_fn_endpoint_address, .required = true},
        /* relative share of the answers */
        {.name = "weight", .type = IT_UINT, E(weight), .min = 1, .max = 65535, .dflt = "1"},
        /* load the endpoint can take; 0 = unknown */
        {.name = "capacity",
         .type = IT_UINT,
         E(capacity),
         .min = 0,
         .max = 4294967295.0,
         .dflt = "0"},
};
#undef E
SEC(cfg_sec_endpoint, "endpoint", endpoint_items);

/* ---- gossip (config/gossip.c loads the keyring and checks the mode) ---- */
#define G(f) .offset = offsetof(cfg_gossip_t, f), .size = SIZE_OF(cfg_gossip_t, f)
static const item_t gossip_items[] = {
        /* address for gossip, UDP and TCP; port 7946 when omitted */
        {.name = "bind", .type = IT_FUNC, .fn = cfg_fn_gossip_bind, .required = true},
        /* members to join through, tried until one answers */
        {.name = "seeds", .type = IT_FUNC, .fn = cfg_fn_gossip_seeds},
        /* file of base64 AES-256 keys, one a line, the first is primary */
        {.name = "keyring", .type = IT_PATH, G(keyring)},
        /* no encryption; only with a loopback bind address (demos) */
        {.name = "insecure", .type = IT_BOOL, G(insecure), .dflt = "false"},
        /* one member is probed per interval */
        {.name = "probe_interval",
         .type = IT_DURATION,
         G(probe_interval_ms),
         .min = 50,
         .max = 60000,
         .dflt = "500ms"},
        /* wait for an ack before asking others to probe; at most probe_interval */
        {.name = "probe_timeout",
         .type = IT_DURATION,
         G(probe_timeout_ms),
         .min = 10,
         .max = 60000,
         .dflt = "250ms"},
        /* members asked to probe indirectly (k) */
        {.name = "indirect_checks",
         .type = IT_UINT,
         G(indirect_checks),
         .min = 0,
         .max = 16,
         .dflt = "3"},
        /* min suspicion timeout = this x log10(members) x probe_interval */
        {.name = "suspicion_mult",
         .type = IT_UINT,
         G(suspicion_mult),
         .min = 1,
         .max = 100,
         .dflt = "3"},
        /* max suspicion timeout = this x the min (no confirmations) */
        {.name = "suspicion_max_mult",
         .type = IT_UINT,
         G(suspicion_max_mult),
         .min = 1,
         .max = 100,
         .dflt = "6"},
        /* each update is sent this x ceil(log10(members + 1)) times */
        {.name = "retransmit_mult",
         .type = IT_UINT,
         G(retransmit_mult),
         .min = 1,
         .max = 16,
         .dflt = "4"},
        /* pending updates go to gossip_fanout members this often */
        {.name = "gossip_interval",
         .type = IT_DURATION,
         G(gossip_interval_ms),
         .min = 10,
         .max = 60000,
         .dflt = "100ms"},
        /* members per gossip round */
        {.name = "gossip_fanout",
         .type = IT_UINT,
         G(gossip_fanout),
         .min = 1,
         .max = 32,
         .dflt = "3"},
        /* full state exchange over TCP with a random member; 0 = off */
        {.name = "pushpull_interval",
         .type = IT_DURATION,
         G(pushpull_interval_ms),
         .min = 0,
         .max = 86400000,
         .dflt = "30s"},
        /* dead members are forgotten after this */
        {.name = "reap",
         .type = IT_DURATION,
         G(reap_ms),
         .min = 1000,
         .max = 2592000000.0,
         .dflt = "1h"},
        /* largest gossip datagram, bytes */
        {.name = "mtu", .type = IT_UINT, G(mtu), .min = 512, .max = 65507, .dflt = "1400"},
};
#undef G
SEC(cfg_sec_gossip, "gossip", gossip_items);

/* ---- http ---- */
static const item_t http_items[] = {
        /* addresses of the HTTP listener (/metrics, the status page); port 8053 when omitted */
        {.name = "listen", .type = IT_FUNC, .fn = cfg_fn_http_listen},
};
SEC(cfg_sec_http, "http", http_items);

/* ---- top level ---- */
static const item_t top_items[] = {
        /* this node */
        {.name = "node",
         .type = IT_SECTION,
         .offset = offsetof(cfg_t, node),
         .sub = &cfg_sec_node,
         .required = true},
        /* run as this user after start (ayad started as root); absent = as started */
        {.name = "user", .type = IT_NAME, .offset = offsetof(cfg_t, user)},
        /* and this group; default the user's primary group */
        {.name = "group", .type = IT_NAME, .offset = offsetof(cfg_t, group)},
        /* the DNS server */
        {.name = "dns", .type = IT_SECTION, .offset = offsetof(cfg_t, dns), .sub = &cfg_sec_dns},
        /* TSIG keys (RFC 8945) for allow_transfer and notify_key */
        {.name = "keys", .type = IT_FUNC, .fn = cfg_fn_keys},
        /* authoritative zones */
        {.name = "zones", .type = IT_FUNC, .fn = cfg_fn_zones},
        /* the ayactl socket */
        {.name = "control", .type = IT_SECTION, .offset = 0, .sub = &cfg_sec_control},
        /* persistent state (LMDB, cookie secret) */
        {.name = "state_dir",
         .type = IT_PATH,
         .offset = offsetof(cfg_t, state_dir),
         .dflt = "/var/lib/aya"},
        /* logging */
        {.name = "log", .type = IT_SECTION, .offset = 0, .sub = &cfg_sec_log},
        /* client geolocation */
        {.name = "geo", .type = IT_SECTION, .offset = offsetof(cfg_t, geo), .sub = &cfg_sec_geo},
        /* regions of the cluster */
        {.name = "regions", .type = IT_FUNC, .fn = cfg_fn_regions},
        /* health monitors */
        {.name = "monitors", .type = IT_FUNC, .fn = cfg_fn_monitors},
        /* cluster membership and state sharing; absent = single node */
        {.name = "gossip", .type = IT_FUNC, .fn = cfg_fn_gossip},
        /* read-only HTTP: /metrics, the status page; absent = no listener */
        {.name = "http", .type = IT_SECTION, .offset = offsetof(cfg_t, http), .sub = &cfg_sec_http},
};
SEC(cfg_sec_top, "config", top_items);
