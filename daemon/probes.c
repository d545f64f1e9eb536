/*
 * ayad's agent: the probes of the monitored endpoints, run on the control
 * loop and writing their observations into the state store (agent/).
 *
 * This file only starts, retargets and stops it. What a changed result
 * causes (gossip it, rebuild the policy) is the on_change callback that
 * main.c passes in: the agent knows neither. With gossip, the probed set is
 * the endpoints this node is an observer of (d->probe_filter, which main.c
 * points at ayad_gossip_filter_targets); daemon/gossip.c asks for it again
 * when the live members change.
 */
#include "daemon/ayad.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "agent/agent.h"
#include "common/log.h"

void ayad_probes_set_targets(ayad_t *d, const cfg_t *cfg)
{
	if (d->agent == NULL) {
		return;
	}
	agent_target_t *t = NULL;
	size_t n = 0;
	int rc = agent_targets_from_cfg(cfg, &t, &n);
	if (rc == 0) {
		/* With gossip, only the endpoints this node is an observer of. */
		n = d->probe_filter != NULL ? d->probe_filter(d, t, n) : n;
		rc = agent_set_targets(d->agent, t, n);
	}
	free(t);
	if (rc < 0) {
		log_err("health: cannot set the probe targets: %s; probing the previous set",
		        strerror(-rc));
		return;
	}
	log_info("health: probing %zu endpoint(s)", n);
}

int ayad_probes_start(ayad_t *d, agent_change_fn on_change)
{
	agent_opts_t o = {.base = d->base,
	                  .state = d->state,
	                  .node = d->cfg->node.name,
	                  .on_change = on_change,
	                  .ctx = d};
	int rc = agent_new(&o, &d->agent);
	if (rc < 0) {
		log_err("health: cannot start the agent: %s", strerror(-rc));
		return rc;
	}
	ayad_probes_set_targets(d, d->cfg);
	return 0;
}

void ayad_probes_stop(ayad_t *d)
{
	agent_free(d->agent);
	d->agent = NULL;
}

void ayad_probes_stats(const ayad_t *d, agent_stats_t *out)
{
	*out = (agent_stats_t){0};
	if (d->agent != NULL) {
		agent_stats_get(d->agent, out);
	}
}
