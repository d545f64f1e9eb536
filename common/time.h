/*
 * Clocks, read once per use. Wall-clock milliseconds are what observations,
 * drains and members carry (they cross nodes); monotonic time measures
 * delays inside one process. Any thread.
 */
#pragma once

#include <stdint.h>
#include <time.h>

/* CLOCK_REALTIME in ms since the epoch. */
static inline uint64_t aya_wall_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/* CLOCK_MONOTONIC in microseconds. */
static inline uint64_t aya_mono_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

/* CLOCK_MONOTONIC in milliseconds. */
static inline uint64_t aya_mono_ms(void)
{
	return aya_mono_us() / 1000u;
}
