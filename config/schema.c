/*
 * The configuration schema: one row per key with its type, range, default
 * and a line of documentation (model: Knot conf/schema.c). cfg_parse_map()
 * walks these tables; a key that is not in its table is an error. A new
 * option is a new row here, a paragraph in docs/config.md, an example and a
 * test.
 */
#include "config/internal.h"

#include <stddef.h>

/* Enum-typed fields are stored as int. */
_Static_assert(sizeof(cfg_all_down_t) == sizeof(int), "enum storage");

#define SIZE_OF(S, f) sizeof(((S *)0)->f)
#define SEC(var, nm, arr) const section_t var = {nm, arr, AYA_ARRAY_LEN(arr), false}

static const char *const log_levels[] = {"error", "warning", "info", "debug", NULL};
static const char *const all_down_names[] = {"answer_all", "empty", NULL};
static const char *const observers_names[] = {"k", "all", NULL};

/* ---- node ---- */
static const item_t node_items[] = {
        {.name = "name",
         .type = IT_NAME,
         .offset = offsetof(cfg_node_t, name),
         .required = true,
         .doc = "this node's name, unique in the cluster"},
        {.name = "region",
         .type = IT_FUNC,
         .fn = cfg_fn_node_region,
         .required = true,
         .doc = "the region this node is in"},
};
SEC(cfg_sec_node, "node", node_items);

/* ---- dns ---- */
#define D(f) .offset = offsetof(cfg_dns_t, f), .size = SIZE_OF(cfg_dns_t, f)
static const item_t dns_items[] = {
        {.name = "listen",
         .type = IT_FUNC,
         .fn = cfg_fn_listen,
         .dflt = "[0.0.0.0:53, \"[::]:53\"]",
         .doc = "addresses to serve DNS on (UDP and TCP); port 53 when omitted"},
        {.name = "threads",
         .type = IT_UINT,
         D(threads),
         .min = 0,
         .max = 1024,
         .dflt = "0",
         .doc = "UDP worker threads; 0 = one per core"},
        {.name = "tcp_idle_timeout",
         .type = IT_DURATION,
         D(tcp_idle_timeout_ms),
         .min = 100,
         .max = 3600000,
         .dflt = "10s",
         .doc = "idle TCP connections are closed after this"},
        {.name = "tcp_max_connections",
         .type = IT_UINT,
         D(tcp_max_connections),
         .min = 1,
         .max = 1000000,
         .dflt = "1000",
         .doc = "open TCP connections, all clients"},
        {.name = "tcp_max_per_client",
         .type = IT_UINT,
         D(tcp_max_per_client),
         .min = 1,
         .max = 1000000,
         .dflt = "50",
         .doc = "open TCP connections from one address"},
        {.name = "max_udp_payload",
         .type = IT_UINT,
         D(max_udp_payload),
         .min = 512,
         .max = 4096,
         .dflt = "1232",
         .doc = "largest UDP response"},
        {.name = "nsid",
         .type = IT_FUNC,
         .fn = cfg_fn_nsid,
         .doc = "NSID and id.server text; default node.name; \"\" disables"},
        {.name = "cookies",
         .type = IT_BOOL,
         D(cookies),
         .dflt = "true",
         .doc = "DNS cookies (RFC 7873, RFC 9018)"},
        {.name = "cookie_secret",
         .type = IT_FUNC,
         .fn = cfg_fn_cookie_secret,
         .doc = "32 hex digits shared by the nodes behind one address"},
};
#undef D
SEC(cfg_sec_dns, "dns", dns_items);

/* ---- zones[] ---- */
static const item_t zone_items[] = {
        {.name = "name",
         .type = IT_FUNC,
         .fn = cfg_fn_zone_name,
         .required = true,
         .doc = "the zone apex"},
        {.name = "file",
         .type = IT_PATH,
         .offset = offsetof(cfg_zone_t, file),
         .required = true,
         .doc = "RFC 1035 master file, relative to the config file"},
        {.name = "allow_transfer",
         .type = IT_FUNC,
         .fn = cfg_fn_allow_transfer,
         .doc = "prefixes allowed AXFR/IXFR; default none"},
        {.name = "services",
         .type = IT_FUNC,
         .fn = cfg_fn_services,
         .doc = "names answered from pools of endpoints"},
};
SEC(cfg_sec_zone, "zone", zone_items);

/* ---- control, log: stored in cfg_t itself ---- */
static const item_t control_items[] = {
        {.name = "socket",
         .type = IT_PATH,
         .offset = offsetof(cfg_t, control_socket),
         .doc = "unix socket for ayactl; default <state_dir>/ayad.sock"},
};
SEC(cfg_sec_control, "control", control_items);

static const item_t log_items[] = {
        {.name = "level",
         .type = IT_ENUM,
         .offset = offsetof(cfg_t, log_level),
         .names = log_levels,
         .dflt = "info",
         .doc = "error, warning, info or debug"},
};
SEC(cfg_sec_log, "log", log_items);

/* ---- regions[] ---- */
#define R(f) .offset = offsetof(cfg_region_t, f), .size = SIZE_OF(cfg_region_t, f)
static const item_t region_items[] = {
        {.name = "name", .type = IT_NAME, R(name), .required = true, .doc = "region name"},
        {.name = "location",
         .type = IT_FUNC,
         .fn = cfg_fn_region_location,
         .required = true,
         .doc = "[latitude, longitude] in degrees"},
        {.name = "cost",
         .type = IT_DOUBLE,
         R(cost),
         .min = 0,
         .max = 1000000,
         .dflt = "1",
         .doc = "relative cost; cheaper regions are preferred"},
        {.name = "burst",
         .type = IT_BOOL,
         R(burst),
         .dflt = "false",
         .doc = "used only for overflow"},
};
#undef R
SEC(cfg_sec_region, "region", region_items);

/* ---- geo ---- */
static const item_t geo_items[] = {
        {.name = "database",
         .type = IT_PATH,
         .offset = offsetof(cfg_geo_t, database),
         .doc = "MaxMind DB (.mmdb) file, relative to the config file"},
        {.name = "maps",
         .type = IT_FUNC,
         .fn = cfg_fn_geo_maps,
         .doc = "country or continent -> ordered region list"},
        {.name = "default",
         .type = IT_FUNC,
         .fn = cfg_fn_geo_default,
         .doc = "region order for clients the database does not know"},
};
SEC(cfg_sec_geo, "geo", geo_items);

static const item_t geo_map_items[] = {
        {.name = "country",
         .type = IT_FUNC,
         .fn = cfg_fn_map_country,
         .doc = "ISO 3166-1 alpha-2 code"},
        {.name = "continent",
         .type = IT_FUNC,
         .fn = cfg_fn_map_continent,
         .doc = "AF AN AS EU NA OC SA"},
        {.name = "regions",
         .type = IT_FUNC,
         .fn = cfg_fn_map_regions,
         .required = true,
         .doc = "regions in order of preference"},
};
SEC(cfg_sec_geo_map, "geo map", geo_map_items);

/* ---- monitors[] (monitors.c checks what spans keys: port, timeout < interval, load) ---- */
_Static_assert(sizeof(cfg_monitor_type_t) == sizeof(int), "enum storage");
static const char *const monitor_types[] = {"tcp", "http", "https", NULL};
#define M(f) .offset = offsetof(cfg_monitor_t, f), .size = SIZE_OF(cfg_monitor_t, f)
static const item_t monitor_items[] = {
        {.name = "name", .type = IT_NAME, M(name), .required = true, .doc = "monitor name"},
        {.name = "type",
         .type = IT_ENUM,
         M(type),
         .names = monitor_types,
         .dflt = "http",
         .doc = "tcp (connect), http or https"},
        {.name = "port",
         .type = IT_UINT,
         M(port),
         .min = 1,
         .max = 65535,
         .doc = "port probed on every endpoint address; default 80 (http), 443 (https), "
                "required for tcp"},
        {.name = "path", .type = IT_NAME, M(path), .dflt = "/", .doc = "HTTP request path"},
        {.name = "host",
         .type = IT_NAME,
         M(host),
         .doc = "Host header; default the endpoint address"},
        {.name = "expect",
         .type = IT_FUNC,
         .fn = cfg_fn_monitor_expect,
         .dflt = "[200]",
         .doc = "accepted HTTP status codes"},
        {.name = "body",
         .type = IT_NAME,
         M(body),
         .doc = "substring the response body must contain; default any body"},
        {.name = "interval",
         .type = IT_DURATION,
         M(interval_ms),
         .min = 50,
         .max = 3600000,
         .dflt = "500ms",
         .doc = "time between two probes of one endpoint"},
        {.name = "timeout",
         .type = IT_DURATION,
         M(timeout_ms),
         .min = 10,
         .max = 3600000,
         .dflt = "300ms",
         .doc = "a probe not done by then fails; must be below interval"},
        {.name = "rise",
         .type = IT_UINT,
         M(rise),
         .min = 1,
         .max = 100,
         .dflt = "2",
         .doc = "consecutive successes that mark an endpoint up"},
        {.name = "fall",
         .type = IT_UINT,
         M(fall),
         .min = 1,
         .max = 100,
         .dflt = "2",
         .doc = "consecutive failures that mark an endpoint down"},
        {.name = "jitter",
         .type = IT_DOUBLE,
         M(jitter),
         .min = 0,
         .max = 0.5,
         .dflt = "0.1",
         .doc = "random spread of each interval, as a fraction of it"},
        {.name = "tls_verify",
         .type = IT_BOOL,
         M(tls_verify),
         .dflt = "false",
         .doc = "https: verify the certificate chain and name"},
        {.name = "sni",
         .type = IT_NAME,
         M(sni),
         .doc = "https: TLS server name; default host (none for an address)"},
        {.name = "load",
         .type = IT_FUNC,
         .fn = cfg_fn_monitor_load,
         .doc = "where the backend reports its load: {header: X}, {json: a.b} or "
                "{prometheus: metric}"},
        {.name = "slow_start",
         .type = IT_DURATION,
         M(slow_start_ms),
         .min = 0,
         .max = 3600000,
         .dflt = "10s",
         .doc = "a recovered endpoint's weight ramps up over this"},
        {.name = "keepalive",
         .type = IT_BOOL,
         M(keepalive),
         .dflt = "true",
         .doc = "http/https: send the probes of an endpoint over one kept-alive connection"},
};
#undef M
SEC(cfg_sec_monitor, "monitor", monitor_items);

#define L(f) .offset = offsetof(cfg_load_keys_t, f), .size = SIZE_OF(cfg_load_keys_t, f)
static const item_t load_items[] = {
        {.name = "header", .type = IT_NAME, L(header), .doc = "utilization from a header"},
        {.name = "json", .type = IT_NAME, L(json), .doc = "utilization from a JSON path"},
        {.name = "prometheus",
         .type = IT_NAME,
         L(prometheus),
         .doc = "utilization from a Prometheus metric"},
        {.name = "capacity_header",
         .type = IT_NAME,
         L(cap_header),
         .doc = "capacity from a header"},
        {.name = "capacity_json", .type = IT_NAME, L(cap_json), .doc = "capacity from a JSON path"},
        {.name = "capacity_prometheus",
         .type = IT_NAME,
         L(cap_prometheus),
         .doc = "capacity from a Prometheus metric"},
};
#undef L
SEC(cfg_sec_load, "monitor.load", load_items);

/* ---- zones[].services[] ---- */
#define S(f) .offset = offsetof(cfg_service_t, f), .size = SIZE_OF(cfg_service_t, f)
static const item_t service_items[] = {
        {.name = "name",
         .type = IT_NAME,
         S(name),
         .required = true,
         .doc = "relative (\"www\", \"@\") or absolute (\"www.example.com.\") owner"},
        {.name = "ttl",
         .type = IT_UINT,
         S(ttl_s),
         .min = 0,
         .max = 2147483647,
         .dflt = "30",
         .doc = "TTL of the answers, seconds"},
        {.name = "pools",
         .type = IT_FUNC,
         .fn = cfg_fn_pools,
         .required = true,
         .doc = "pools of endpoints, one per region"},
        {.name = "policy",
         .type = IT_FUNC,
         .fn = cfg_fn_policy,
         .dflt = "[healthy, drain, geo, weighted, {first_n: 1}]",
         .doc = "the filter chain"},
        {.name = "when_all_down",
         .type = IT_ENUM,
         S(all_down),
         .names = all_down_names,
         .dflt = "answer_all",
         .doc = "answer_all (fail open) or empty"},
};
#undef S
SEC(cfg_sec_service, "service", service_items);

static const item_t pool_items[] = {
        {.name = "region",
         .type = IT_FUNC,
         .fn = cfg_fn_pool_region,
         .required = true,
         .doc = "a region of regions:"},
        {.name = "endpoints",
         .type = IT_FUNC,
         .fn = cfg_fn_endpoints,
         .required = true,
         .doc = "at least one endpoint"},
        {.name = "monitor",
         .type = IT_FUNC,
         .fn = cfg_fn_pool_monitor,
         .doc = "name of a monitor of monitors:"},
        {.name = "observers",
         .type = IT_ENUM,
         .offset = offsetof(cfg_pool_t, observers),
         .size = SIZE_OF(cfg_pool_t, observers),
         .names = observers_names,
         .dflt = "k",
         .doc = "k: the 3 gossip members picked per endpoint probe it; all: every node"},
};
SEC(cfg_sec_pool, "pool", pool_items);

#define E(f) .offset = offsetof(cfg_endpoint_t, f), .size = SIZE_OF(cfg_endpoint_t, f)
static const item_t endpoint_items[] = {
        {.name = "address",
         .type = IT_FUNC,
         .fn = cfg_fn_endpoint_address,
         .required = true,
         .doc = "IPv4 or IPv6 address"},
        {.name = "weight",
         .type = IT_UINT,
         E(weight),
         .min = 1,
         .max = 65535,
         .dflt = "1",
         .doc = "relative share of the answers"},
        {.name = "capacity",
         .type = IT_UINT,
         E(capacity),
         .min = 0,
         .max = 4294967295.0,
         .dflt = "0",
         .doc = "load the endpoint can take; 0 = unknown"},
};
#undef E
SEC(cfg_sec_endpoint, "endpoint", endpoint_items);

/* ---- gossip (issue 5; config/gossip.c loads the keyring and checks the mode) ---- */
#define G(f) .offset = offsetof(cfg_gossip_t, f), .size = SIZE_OF(cfg_gossip_t, f)
static const item_t gossip_items[] = {
        {.name = "bind",
         .type = IT_FUNC,
         .fn = cfg_fn_gossip_bind,
         .required = true,
         .doc = "address for gossip, UDP and TCP; port 7946 when omitted"},
        {.name = "seeds",
         .type = IT_FUNC,
         .fn = cfg_fn_gossip_seeds,
         .doc = "members to join through, tried until one answers"},
        {.name = "keyring",
         .type = IT_PATH,
         G(keyring),
         .doc = "file of base64 AES-256 keys, one a line, the first is primary"},
        {.name = "insecure",
         .type = IT_BOOL,
         G(insecure),
         .dflt = "false",
         .doc = "no encryption; only with a loopback bind address (demos)"},
        {.name = "probe_interval",
         .type = IT_DURATION,
         G(probe_interval_ms),
         .min = 50,
         .max = 60000,
         .dflt = "500ms",
         .doc = "one member is probed per interval"},
        {.name = "probe_timeout",
         .type = IT_DURATION,
         G(probe_timeout_ms),
         .min = 10,
         .max = 60000,
         .dflt = "250ms",
         .doc = "wait for an ack before asking others to probe; at most probe_interval"},
        {.name = "indirect_checks",
         .type = IT_UINT,
         G(indirect_checks),
         .min = 0,
         .max = 16,
         .dflt = "3",
         .doc = "members asked to probe indirectly (k)"},
        {.name = "suspicion_mult",
         .type = IT_UINT,
         G(suspicion_mult),
         .min = 1,
         .max = 100,
         .dflt = "3",
         .doc = "min suspicion timeout = this x log10(members) x probe_interval"},
        {.name = "suspicion_max_mult",
         .type = IT_UINT,
         G(suspicion_max_mult),
         .min = 1,
         .max = 100,
         .dflt = "6",
         .doc = "max suspicion timeout = this x the min (no confirmations)"},
        {.name = "retransmit_mult",
         .type = IT_UINT,
         G(retransmit_mult),
         .min = 1,
         .max = 16,
         .dflt = "4",
         .doc = "each update is sent this x ceil(log10(members + 1)) times"},
        {.name = "gossip_interval",
         .type = IT_DURATION,
         G(gossip_interval_ms),
         .min = 10,
         .max = 60000,
         .dflt = "100ms",
         .doc = "pending updates go to gossip_fanout members this often"},
        {.name = "gossip_fanout",
         .type = IT_UINT,
         G(gossip_fanout),
         .min = 1,
         .max = 32,
         .dflt = "3",
         .doc = "members per gossip round"},
        {.name = "pushpull_interval",
         .type = IT_DURATION,
         G(pushpull_interval_ms),
         .min = 0,
         .max = 86400000,
         .dflt = "30s",
         .doc = "full state exchange over TCP with a random member; 0 = off"},
        {.name = "reap",
         .type = IT_DURATION,
         G(reap_ms),
         .min = 1000,
         .max = 2592000000.0,
         .dflt = "1h",
         .doc = "dead members are forgotten after this"},
        {.name = "mtu",
         .type = IT_UINT,
         G(mtu),
         .min = 512,
         .max = 65507,
         .dflt = "1400",
         .doc = "largest gossip datagram, bytes"},
};
#undef G
SEC(cfg_sec_gossip, "gossip", gossip_items);

/* ---- top level ---- */
static const item_t top_items[] = {
        {.name = "node",
         .type = IT_SECTION,
         .offset = offsetof(cfg_t, node),
         .sub = &cfg_sec_node,
         .required = true,
         .doc = "this node"},
        {.name = "dns",
         .type = IT_SECTION,
         .offset = offsetof(cfg_t, dns),
         .sub = &cfg_sec_dns,
         .doc = "the DNS server"},
        {.name = "zones", .type = IT_FUNC, .fn = cfg_fn_zones, .doc = "authoritative zones"},
        {.name = "control",
         .type = IT_SECTION,
         .offset = 0,
         .sub = &cfg_sec_control,
         .doc = "the ayactl socket"},
        {.name = "state_dir",
         .type = IT_PATH,
         .offset = offsetof(cfg_t, state_dir),
         .dflt = "/var/lib/aya",
         .doc = "persistent state (LMDB, cookie secret)"},
        {.name = "log", .type = IT_SECTION, .offset = 0, .sub = &cfg_sec_log, .doc = "logging"},
        {.name = "geo",
         .type = IT_SECTION,
         .offset = offsetof(cfg_t, geo),
         .sub = &cfg_sec_geo,
         .doc = "client geolocation"},
        {.name = "regions", .type = IT_FUNC, .fn = cfg_fn_regions, .doc = "regions of the cluster"},
        {.name = "monitors", .type = IT_FUNC, .fn = cfg_fn_monitors, .doc = "health monitors"},
        {.name = "gossip",
         .type = IT_FUNC,
         .fn = cfg_fn_gossip,
         .doc = "cluster membership and state sharing; absent = single node"},
};
SEC(cfg_sec_top, "config", top_items);
