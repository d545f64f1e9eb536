/*
 * The agent's pure decisions: rise/fall thresholds, probe scheduling with
 * jitter, the RTT EWMA and the slow start ramp. No I/O, no clock: the
 * callers pass times and random numbers, so tests drive them with tables.
 */
#include "agent/agent.h"

#include <math.h>

bool agent_hs_step(agent_hs_t *hs, bool ok, uint32_t rise, uint32_t fall)
{
	state_status_t before = hs->status;
	if (ok) {
		hs->fall = 0;
		if (hs->rise < UINT32_MAX) {
			hs->rise++;
		}
		if (hs->rise >= rise) {
			hs->status = STATE_ST_UP;
		}
	} else {
		hs->rise = 0;
		if (hs->fall < UINT32_MAX) {
			hs->fall++;
		}
		if (hs->fall >= fall) {
			hs->status = STATE_ST_DOWN;
		}
	}
	return hs->status != before;
}

/* The top 53 bits of rnd as a double in [0, 1). */
static double unit(uint64_t rnd)
{
	return (double)(rnd >> 11) * (1.0 / 9007199254740992.0);
}

uint32_t agent_first_delay_ms(uint32_t interval_ms, uint64_t rnd)
{
	return (uint32_t)(unit(rnd) * interval_ms);
}

uint32_t agent_next_delay_ms(uint32_t interval_ms, double jitter, uint64_t rnd)
{
	if (!(jitter > 0.0)) {
		return interval_ms;
	}
	double u = 2.0 * unit(rnd) - 1.0; /* [-1, 1) */
	double d = (double)interval_ms * (1.0 + jitter * u);
	return d < 1.0 ? 1 : (uint32_t)d;
}

uint32_t agent_rtt_ewma(uint32_t old_us, uint32_t sample_us)
{
	if (old_us == 0) {
		return sample_us > 0 ? sample_us : 1;
	}
	double v = AGENT_RTT_ALPHA * sample_us + (1.0 - AGENT_RTT_ALPHA) * old_us;
	return v < 1.0 ? 1 : (uint32_t)(v + 0.5);
}

double agent_slow_start_factor(uint64_t up_since_ms, uint64_t now_ms, uint32_t slow_start_ms)
{
	if (up_since_ms == 0 || slow_start_ms == 0 || now_ms >= up_since_ms + slow_start_ms) {
		return 1.0;
	}
	double f = now_ms <= up_since_ms ? 0.0 : (double)(now_ms - up_since_ms) / slow_start_ms;
	return f < AGENT_SLOW_START_FLOOR ? AGENT_SLOW_START_FLOOR : f;
}
