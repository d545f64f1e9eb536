/*
 * The config hash each node gossips, so that drift between nodes shows in
 * `ayactl members`. Nodes of one cluster run from per-node files that
 * necessarily differ in what is the node's own (its name, listen and gossip
 * addresses, sockets, paths, log level); the hash leaves those top-level
 * sections out and covers everything shared: zones, services, regions, geo,
 * monitors, and the zone files' bytes. Pure functions, any thread.
 */
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "config/config.h"

/* FNV-1a 64 over the YAML text without the per-node top-level sections. */
uint64_t ayad_confhash_text(uint64_t h, const char *text, size_t len) AYA_NONNULL(2);
/* The config file (as above) and every zone file it names. */
uint64_t ayad_config_hash(const cfg_t *cfg) AYA_NONNULL(1);
