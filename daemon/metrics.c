/*
 * /metrics in the Prometheus text format (served on `http.listen` by
 * daemon/http.c). Everything is read on the control
 * thread at scrape time: the counter registry's tables (dnsd's per-worker
 * counters summed, the agent's, gossip's, the rebuilds', the load loop's),
 * then the families that have one sample per service, pool, endpoint or
 * member, read from the published policy snapshot and the gossip node. The
 * query path pays nothing for a scrape.
 *
 * Answers per (service, region) come from dnsd's per-worker pool counters,
 * whose slots follow the policy snapshot's pool order: a reload that changes
 * the pools renumbers them. So the counters are folded into totals kept by
 * name here, at each scrape and just before a reload publishes
 * (ayad_metrics_fold): aya_service_answers_total stays monotonic across
 * reloads, and a pool that leaves the config keeps its total until restart.
 */
#include "daemon/ayad.h"

#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include <event2/buffer.h>

#include "common/log.h"
#include "common/time.h"

typedef struct answers_row {
	char *service, *region;
	uint64_t total;
} answers_row_t;

struct ayad_metrics {
	uint64_t last[DNSD_POOL_SLOTS]; /* slot counters at the last fold */
	uint64_t now[DNSD_POOL_SLOTS];
	answers_row_t *rows;
	size_t n_rows, cap_rows;
};

static answers_row_t *answers_row(ayad_metrics_t *m, const char *service, const char *region)
{
	for (size_t i = 0; i < m->n_rows; i++) {
		if (strcmp(m->rows[i].service, service) == 0 &&
		    strcmp(m->rows[i].region, region) == 0) {
			return &m->rows[i];
		}
	}
	if (m->n_rows == m->cap_rows) {
		size_t cap = m->cap_rows ? 2 * m->cap_rows : 16;
		answers_row_t *v = realloc(m->rows, cap * sizeof(*v));
		if (v == NULL) {
			return NULL;
		}
		m->rows = v;
		m->cap_rows = cap;
	}
	answers_row_t *r = &m->rows[m->n_rows];
	*r = (answers_row_t){.service = strdup(service), .region = strdup(region)};
	if (r->service == NULL || r->region == NULL) {
		free(r->service);
		free(r->region);
		return NULL;
	}
	m->n_rows++;
	return r;
}

int ayad_metrics_start(ayad_t *d)
{
	d->metrics = calloc(1, sizeof(*d->metrics));
	return d->metrics != NULL ? 0 : -ENOMEM;
}

void ayad_metrics_stop(ayad_t *d)
{
	ayad_metrics_t *m = d->metrics;
	if (m == NULL) {
		return;
	}
	for (size_t i = 0; i < m->n_rows; i++) {
		free(m->rows[i].service);
		free(m->rows[i].region);
	}
	free(m->rows);
	free(m);
	d->metrics = NULL;
}

void ayad_metrics_fold(ayad_t *d)
{
	ayad_metrics_t *m = d->metrics;
	if (m == NULL || d->srv == NULL) {
		return;
	}
	dnsd_server_pool_answers(d->srv, m->now, DNSD_POOL_SLOTS);
	const pol_snap_t *pol = d->pol;
	size_t slot = 0;
	for (size_t s = 0; pol != NULL && s < pol_service_count(pol); s++) {
		const pol_service_t *svc = pol_service_get(pol, s);
		for (size_t p = 0; p < svc->n_pools && slot < DNSD_POOL_SLOTS; p++, slot++) {
			uint64_t delta =
			        m->now[slot] >= m->last[slot] ? m->now[slot] - m->last[slot] : 0;
			answers_row_t *r = answers_row(m, svc->name, svc->pools[p].region);
			if (r != NULL) {
				r->total += delta;
			}
		}
	}
	memcpy(m->last, m->now, sizeof(m->last));
}

uint64_t ayad_metrics_region_answers(const ayad_t *d, const char *region)
{
	const ayad_metrics_t *m = d->metrics;
	uint64_t n = 0;
	for (size_t i = 0; m != NULL && i < m->n_rows; i++) {
		if (strcmp(m->rows[i].region, region) == 0) {
			n += m->rows[i].total;
		}
	}
	return n;
}

uint64_t ayad_metrics_answers(const ayad_t *d, const char *service, const char *region)
{
	const ayad_metrics_t *m = d->metrics;
	for (size_t i = 0; m != NULL && i < m->n_rows; i++) {
		if (strcmp(m->rows[i].service, service) == 0 &&
		    strcmp(m->rows[i].region, region) == 0) {
			return m->rows[i].total;
		}
	}
	return 0;
}

/* ---------------------------------------------------------------- process */

static void process_metrics(FILE *f, const ayad_t *d)
{
	struct rusage ru;
	if (getrusage(RUSAGE_SELF, &ru) == 0) {
		aya_prom_head(f, "process_cpu_seconds_total",
		              "User and system CPU time spent, seconds", "counter");
		aya_prom_sample(f, "process_cpu_seconds_total", NULL, 0,
		                (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
		                        (double)ru.ru_stime.tv_sec +
		                        (double)ru.ru_stime.tv_usec / 1e6);
	}
	FILE *sm = fopen("/proc/self/statm", "r");
	unsigned long long vsz = 0, rss = 0;
	if (sm != NULL) {
		if (fscanf(sm, "%llu %llu", &vsz, &rss) == 2) {
			double page = (double)sysconf(_SC_PAGESIZE);
			aya_prom_head(f, "process_virtual_memory_bytes",
			              "Virtual memory size, bytes", "gauge");
			aya_prom_sample(f, "process_virtual_memory_bytes", NULL, 0,
			                (double)vsz * page);
			aya_prom_head(f, "process_resident_memory_bytes",
			              "Resident memory size, bytes", "gauge");
			aya_prom_sample(f, "process_resident_memory_bytes", NULL, 0,
			                (double)rss * page);
		}
		fclose(sm);
	}
	DIR *fd = opendir("/proc/self/fd");
	if (fd != NULL) {
		size_t n = 0;
		for (struct dirent *e; (e = readdir(fd)) != NULL;) {
			n += e->d_name[0] != '.';
		}
		closedir(fd);
		aya_prom_head(f, "process_open_fds", "Open file descriptors", "gauge");
		aya_prom_sample(f, "process_open_fds", NULL, 0, (double)(n > 0 ? n - 1 : 0));
	}
	struct rlimit rl;
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0) {
		aya_prom_head(f, "process_max_fds", "Limit of open file descriptors", "gauge");
		aya_prom_sample(f, "process_max_fds", NULL, 0,
		                rl.rlim_cur == RLIM_INFINITY ? INFINITY : (double)rl.rlim_cur);
	}
	aya_prom_head(f, "process_start_time_seconds", "Start time of the process, unix seconds",
	              "gauge");
	aya_prom_sample(f, "process_start_time_seconds", NULL, 0, (double)d->started);
}

/* ---------------------------------------------------------------- families */

static void info_metrics(FILE *f, const ayad_t *d)
{
	const char *kv[] = {"version",         AYA_VERSION, "node",
	                    d->cfg->node.name, "region",    d->cfg->node.region};
	aya_prom_head(f, "aya_build_info", "Aya's version, this node's name and region (always 1)",
	              "gauge");
	aya_prom_sample(f, "aya_build_info", kv, 3, 1);
	aya_prom_head(
	        f, "aya_config_last_reload_successful",
	        "1 when the last reload was applied (or none was asked), 0 when it was rejected",
	        "gauge");
	aya_prom_sample(f, "aya_config_last_reload_successful", NULL, 0,
	                d->last_reload == 0 || d->last_reload_ok ? 1 : 0);
	aya_prom_head(f, "aya_config_last_reload_seconds",
	              "When the last reload was asked, unix seconds (0: never)", "gauge");
	aya_prom_sample(f, "aya_config_last_reload_seconds", NULL, 0, (double)d->last_reload);
}

static void query_duration(FILE *f, const ayad_t *d)
{
	aya_hist_t udp, tcp;
	dnsd_server_qdur(d->srv, &udp, &tcp);
	/* One query in DNSD_QDUR_SAMPLE is timed: scale to estimate every query. */
	for (aya_hist_t *h = &udp; h != NULL; h = h == &udp ? &tcp : NULL) {
		for (size_t i = 0; i <= DNSD_QDUR_BOUNDS; i++) {
			h->bucket[i] *= DNSD_QDUR_SAMPLE;
		}
		h->count *= DNSD_QDUR_SAMPLE;
		h->sum *= DNSD_QDUR_SAMPLE;
	}
	aya_prom_head(
	        f, "aya_dns_query_duration_seconds",
	        "Time to answer a query (parse, lookup, policy, write), sampled one in 64 and "
	        "scaled",
	        "histogram");
	const char *ku[] = {"transport", "udp"}, *kt[] = {"transport", "tcp"};
	aya_prom_hist(f, "aya_dns_query_duration_seconds", ku, 1, dnsd_qdur_bounds,
	              DNSD_QDUR_BOUNDS, &udp);
	aya_prom_hist(f, "aya_dns_query_duration_seconds", kt, 1, dnsd_qdur_bounds,
	              DNSD_QDUR_BOUNDS, &tcp);
}

static void answer_metrics(FILE *f, ayad_t *d)
{
	ayad_metrics_fold(d);
	const ayad_metrics_t *m = d->metrics;
	aya_prom_head(f, "aya_service_answers_total",
	              "Address answers of a service, by the region of the first address's pool",
	              "counter");
	for (size_t i = 0; m != NULL && i < m->n_rows; i++) {
		const char *kv[] = {"service", m->rows[i].service, "region", m->rows[i].region};
		aya_prom_sample(f, "aya_service_answers_total", kv, 2, (double)m->rows[i].total);
	}
}

/* Per pool and per endpoint, from the published snapshot. */
static void policy_metrics(FILE *f, const ayad_t *d)
{
	const pol_snap_t *pol = d->pol;
	size_t n_svc = pol != NULL ? pol_service_count(pol) : 0;
	static const struct {
		const char *family, *help;
		int what;
	} pool_fams[] = {
	        {"aya_pool_admit",
	         "Share of the queries reaching a pool that it keeps (load steering)", 0},
	        {"aya_pool_closed",
	         "1 when a pool is over its utilization limit and takes no new answers", 1},
	        {"aya_pool_utilization",
	         "A pool's utilization, capacity-weighted over its endpoints (absent: unknown)", 2},
	        {"aya_pool_healthy_endpoints",
	         "Endpoints of a pool that answers may use (healthy, not drained)", 3},
	};
	for (size_t k = 0; k < AYA_ARRAY_LEN(pool_fams); k++) {
		aya_prom_head(f, pool_fams[k].family, pool_fams[k].help, "gauge");
		for (size_t s = 0; s < n_svc; s++) {
			const pol_service_t *svc = pol_service_get(pol, s);
			for (size_t p = 0; p < svc->n_pools; p++) {
				const pol_pool_t *pp = &svc->pools[p];
				const char *kv[] = {"service", svc->name, "region", pp->region};
				double v = 0;
				switch (pool_fams[k].what) {
				case 0:
					v = pp->admit;
					break;
				case 1:
					v = pp->closed ? 1 : 0;
					break;
				case 2:
					v = pp->utilization;
					break;
				default:
					for (size_t e = pp->first;
					     e < (size_t)pp->first + pp->count; e++) {
						v += svc->endpoints[e].healthy &&
						     !svc->endpoints[e].drained;
					}
					break;
				}
				if (!isnan(v)) {
					aya_prom_sample(f, pool_fams[k].family, kv, 2, v);
				}
			}
		}
	}
	static const struct {
		const char *family, *help;
		int what;
	} ep_fams[] = {
	        {"aya_endpoint_healthy", "1 when the cluster's verdict on an endpoint is healthy",
	         0},
	        {"aya_endpoint_drained", "1 when an endpoint (or its pool) is drained", 1},
	        {"aya_endpoint_utilization",
	         "An endpoint's reported utilization, 0..1 (absent: unknown)", 2},
	};
	for (size_t k = 0; k < AYA_ARRAY_LEN(ep_fams); k++) {
		aya_prom_head(f, ep_fams[k].family, ep_fams[k].help, "gauge");
		for (size_t s = 0; s < n_svc; s++) {
			const pol_service_t *svc = pol_service_get(pol, s);
			for (size_t e = 0; e < svc->n_endpoints; e++) {
				const pol_endpoint_t *ep = &svc->endpoints[e];
				const char *kv[] = {"service", svc->name,
				                    "region",  svc->pools[ep->pool].region,
				                    "address", ep->text};
				double v = ep_fams[k].what == 0   ? ep->healthy
				           : ep_fams[k].what == 1 ? ep->drained
				                                  : ep->utilization;
				if (ep_fams[k].what != 2 || v >= 0) {
					aya_prom_sample(f, ep_fams[k].family, kv, 3, v);
				}
			}
		}
	}
}

static void gossip_metrics(FILE *f, const ayad_t *d)
{
	static const gsp_state_t states[] = {GSP_ST_ALIVE, GSP_ST_SUSPECT, GSP_ST_DEAD,
	                                     GSP_ST_LEFT};
	double count[AYA_ARRAY_LEN(states)] = {0};
	const gsp_t *g = ayad_gossip_node(d);
	if (g == NULL) {
		count[0] = 1; /* a node without gossip is its own cluster */
	} else {
		for (size_t i = 0; i < gsp_member_count(g); i++) {
			const gsp_member_t *m = gsp_member_get(g, i);
			for (size_t k = 0; k < AYA_ARRAY_LEN(states); k++) {
				count[k] += m->state == states[k];
			}
		}
	}
	aya_prom_head(f, "aya_gossip_members",
	              "Cluster members as this node sees them (itself included), by state",
	              "gauge");
	for (size_t k = 0; k < AYA_ARRAY_LEN(states); k++) {
		const char *kv[] = {"state", gsp_state_name(states[k])};
		aya_prom_sample(f, "aya_gossip_members", kv, 1, count[k]);
	}
}

static void rebuild_metrics(FILE *f, const ayad_t *d)
{
	aya_hist_t build, delay;
	ayad_rebuild_hists(d, &build, &delay);
	aya_prom_head(f, "aya_snapshot_build_duration_seconds",
	              "Time to compile a policy snapshot after a health or state change",
	              "histogram");
	aya_prom_hist(f, "aya_snapshot_build_duration_seconds", NULL, 0, ayad_rebuild_bounds,
	              AYAD_REBUILD_BOUNDS, &build);
	aya_prom_head(f, "aya_snapshot_publish_delay_seconds",
	              "Time from the first change of a batch (debounced) to its snapshot's publish",
	              "histogram");
	aya_prom_hist(f, "aya_snapshot_publish_delay_seconds", NULL, 0, ayad_rebuild_bounds,
	              AYAD_REBUILD_BOUNDS, &delay);
}

/* The whole exposition into f. */
static int write_metrics(ayad_t *d, FILE *f)
{
	dnsd_stats_t udp, tcp;
	dnsd_server_stats_by_transport(d->srv, &udp, &tcp);
	agent_stats_t ag;
	ayad_probes_stats(d, &ag);
	ayad_rebuild_stats_t rb;
	ayad_rebuild_stats(d, &rb);
	ayad_steer_stats_t sr;
	ayad_steer_stats(d, &sr);
	gsp_stats_t gs = {0};
	gsp_repl_stats_t rs = {0};
	const gsp_t *g = ayad_gossip_node(d);
	if (g != NULL) {
		gs = gsp_stats(g);
		ayad_gossip_stats(d, &rs);
	}
	const aya_stat_source_t src[] = {
	        {&dnsd_stats_table, &udp, "transport=\"udp\""},
	        {&dnsd_stats_table, &tcp, "transport=\"tcp\""},
	        {&agent_stats_table, &ag, NULL},
	        {&ayad_rebuild_stats_table, &rb, NULL},
	        {&ayad_steer_stats_table, &sr, NULL},
	        {&gsp_stats_table, &gs, NULL},
	        {&gsp_repl_stats_table, &rs, NULL},
	};
	info_metrics(f, d);
	if (aya_stats_write_prom(f, src, AYA_ARRAY_LEN(src)) < 0) {
		return -EIO;
	}
	query_duration(f, d);
	answer_metrics(f, d);
	policy_metrics(f, d);
	gossip_metrics(f, d);
	rebuild_metrics(f, d);
	process_metrics(f, d);
	return ferror(f) ? -EIO : 0;
}

int ayad_page_metrics(void *arg, struct evbuffer *out, const char **type)
{
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);
	if (f == NULL) {
		return -ENOMEM;
	}
	int rc = write_metrics(arg, f);
	if (fclose(f) != 0 && rc == 0) {
		rc = -ENOMEM;
	}
	if (rc == 0 && evbuffer_add(out, text, len) != 0) {
		rc = -ENOMEM;
	}
	free(text);
	*type = "text/plain; version=0.0.4; charset=utf-8";
	return rc;
}
