/*
 * Shared by the geo and policy unit tests: writes a small MaxMind DB with
 * tests/geo/mkfixture.pl into a fresh temporary directory, and the regions
 * the tests route to. Header-only because each test is one .c file.
 */
#pragma once

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config/config.h"

/* Dublin, Virginia, Mumbai, Sydney. */
enum { R_EU_WEST, R_US_EAST, R_AP_SOUTH, R_AP_SOUTHEAST, R_COUNT };
static const cfg_region_t fx_regions[R_COUNT] = {
        {.name = "eu-west", .lat = 53.35, .lon = -6.26, .cost = 1},
        {.name = "us-east", .lat = 38.90, .lon = -77.00, .cost = 1},
        {.name = "ap-south", .lat = 19.07, .lon = 72.88, .cost = 1},
        {.name = "ap-southeast", .lat = -33.87, .lon = 151.21, .cost = 2, .burst = true},
};

/* Networks of the fixture: NETWORK=CC,CONTINENT[,LAT,LON]. */
static const char *const fx_networks[] = {
        "192.0.2.0/24=DE,EU,50.11,8.68",
        "198.51.100.0/24=US,NA,40.71,-74.0",
        "203.0.113.0/25=IN,AS,19.07,72.88",
        "203.0.113.128/25=IN,AS,19.07,72.88",
        "100.64.0.0/28=FR,EU,48.85,2.35",
        "100.64.0.16/28=US,NA,40.71,-74.0",
        "10.1.0.0/16=BR,SA",
        "172.16.0.0/16=CH,EU,47.37,8.54",
        "172.17.0.0/16=PT,EU,38.72,-9.14",
        "2001:db8::/32=JP,AS,35.68,139.69",
        "2001:db8:1::/48=AU,OC,-33.87,151.21",
};

/* Country fallback for records without a location: only BR is known. */
static inline bool fx_country_point(void *ctx, const char *cc, const char *cont, double *lat,
                                    double *lon)
{
	(void)cont;
	if (ctx != NULL) {
		(*(unsigned *)ctx)++;
	}
	if (strcmp(cc, "BR") == 0) {
		*lat = -23.55;
		*lon = -46.63;
		return true;
	}
	return false;
}

/* Path of the helper script, from the source tree root or via __FILE__. */
static inline const char *fx_script(void)
{
	static const char *const candidates[] = {"tests/geo/mkfixture.pl",
	                                         "../../../tests/geo/mkfixture.pl"};
	for (size_t i = 0; i < sizeof(candidates) / sizeof(candidates[0]); i++) {
		if (access(candidates[i], R_OK) == 0) {
			return candidates[i];
		}
	}
	return NULL;
}

/* Write the fixture into dir (mkdtemp'd, caller's buffer); path gets the .mmdb. 0 or -1. */
static inline int fx_make(char *dir, size_t dirlen, char *path, size_t pathlen)
{
	const char *script = fx_script();
	if (script == NULL || snprintf(dir, dirlen, "/tmp/aya-geo-XXXXXX") >= (int)dirlen ||
	    mkdtemp(dir) == NULL) {
		return -1;
	}
	snprintf(path, pathlen, "%s/fixture.mmdb", dir);
	char cmd[4096];
	size_t n = (size_t)snprintf(cmd, sizeof(cmd), "perl %s %s", script, path);
	for (size_t i = 0; i < sizeof(fx_networks) / sizeof(fx_networks[0]); i++) {
		n += (size_t)snprintf(cmd + n, sizeof(cmd) - n, " %s", fx_networks[i]);
	}
	if (n >= sizeof(cmd)) {
		return -1;
	}
	return system(cmd) == 0 ? 0 : -1;
}

static inline void fx_remove(const char *dir, const char *path)
{
	unlink(path);
	rmdir(dir);
}
