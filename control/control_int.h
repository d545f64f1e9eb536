/*
 * control/ internals shared by its .c files: protobuf-c messages
 * built in a scratch arena and converted back into ctl_* values. Not for
 * other modules (protobuf-c objects never leave control/).
 */
#pragma once

#include <stdbool.h>

#include "common/arena.h"
#include "control/control.h"
#include "proto/ctl.pb-c.h"

/* s, or "" for NULL, as protobuf-c's char *. */
char *ctl_pstr(const char *s);
/* A copy of s ("" for NULL) in a; sets *oom and returns NULL when out of memory. */
const char *ctl_dup(aya_arena_t *a, const char *s, bool *oom) AYA_NONNULL(1, 3);

/* printf into the arena (at most 1 KiB); NULL when out of memory. */
const char *ctl_afmt(aya_arena_t *a, const char *fmt, ...) AYA_PRINTF(2, 3) AYA_NONNULL(1, 2);

/* Reply bodies to messages in the arena; NULL when out of memory. */
Aya__Ctl__ServicesReply *ctl_services_to_pb(aya_arena_t *a, const ctl_services_t *s)
        AYA_NONNULL(1, 2);
Aya__Ctl__DrainReply *ctl_drain_to_pb(aya_arena_t *a, const ctl_drain_t *d) AYA_NONNULL(1, 2);
Aya__Ctl__ExplainReply *ctl_explain_to_pb(aya_arena_t *a, const ctl_explain_t *e) AYA_NONNULL(1, 2);

/* Messages from a peer to values in the arena; *oom set when out of memory. */
void ctl_services_from_pb(aya_arena_t *a, const Aya__Ctl__ServicesReply *p, ctl_services_t *s,
                          bool *oom) AYA_NONNULL(1, 2, 3, 4);
void ctl_drain_from_pb(aya_arena_t *a, const Aya__Ctl__DrainReply *p, ctl_drain_t *d, bool *oom)
        AYA_NONNULL(1, 2, 3, 4);
void ctl_explain_from_pb(aya_arena_t *a, const Aya__Ctl__ExplainReply *p, ctl_explain_t *e,
                         bool *oom) AYA_NONNULL(1, 2, 3, 4);

/* ---- rendering of the service commands (render_svc.c) ---- */

struct json_t;
void ctl_services_write_text(FILE *f, const ctl_services_t *s) AYA_NONNULL(1, 2);
void ctl_drain_write_text(FILE *f, ctl_cmd_t cmd, const ctl_drain_t *d) AYA_NONNULL(1, 3);
void ctl_explain_write_text(FILE *f, const ctl_explain_t *e) AYA_NONNULL(1, 2);
/* Add the body's keys to o; 0 or -1 (out of memory). */
int ctl_services_json(struct json_t *o, const ctl_services_t *s) AYA_NONNULL(1, 2);
int ctl_drain_json(struct json_t *o, const ctl_drain_t *d) AYA_NONNULL(1, 2);
int ctl_explain_json(struct json_t *o, const ctl_explain_t *e) AYA_NONNULL(1, 2);

/* ---- backends (codec_backends.c, render_backends.c) ---- */

Aya__Ctl__BackendsReply *ctl_backends_to_pb(aya_arena_t *a, const ctl_backends_t *b)
        AYA_NONNULL(1, 2);
void ctl_backends_from_pb(aya_arena_t *a, const Aya__Ctl__BackendsReply *p, ctl_backends_t *b,
                          bool *oom) AYA_NONNULL(1, 2, 3, 4);
void ctl_backends_write_text(FILE *f, const ctl_backends_t *b) AYA_NONNULL(1, 2);
int ctl_backends_json(struct json_t *o, const ctl_backends_t *b) AYA_NONNULL(1, 2);

/* ---- gossip: members, keyring, the cluster part of status (codec_gossip.c, render_gossip.c) ----
 */

Aya__Ctl__GossipStatus *ctl_gossip_status_to_pb(aya_arena_t *a, const ctl_gossip_status_t *g)
        AYA_NONNULL(1, 2);
void ctl_gossip_status_from_pb(aya_arena_t *a, const Aya__Ctl__GossipStatus *p,
                               ctl_gossip_status_t *g, bool *oom) AYA_NONNULL(1, 2, 3, 4);
Aya__Ctl__MembersReply *ctl_members_to_pb(aya_arena_t *a, const ctl_members_t *m) AYA_NONNULL(1, 2);
void ctl_members_from_pb(aya_arena_t *a, const Aya__Ctl__MembersReply *p, ctl_members_t *m,
                         bool *oom) AYA_NONNULL(1, 2, 3, 4);
Aya__Ctl__KeyringReply *ctl_keyring_to_pb(aya_arena_t *a, const ctl_keyring_t *k) AYA_NONNULL(1, 2);
void ctl_keyring_from_pb(aya_arena_t *a, const Aya__Ctl__KeyringReply *p, ctl_keyring_t *k,
                         bool *oom) AYA_NONNULL(1, 2, 3, 4);
void ctl_gossip_status_write_text(FILE *f, const ctl_gossip_status_t *g) AYA_NONNULL(1, 2);
void ctl_members_write_text(FILE *f, const ctl_members_t *m) AYA_NONNULL(1, 2);
void ctl_keyring_write_text(FILE *f, const ctl_keyring_t *k) AYA_NONNULL(1, 2);
int ctl_gossip_status_json(struct json_t *o, const ctl_gossip_status_t *g) AYA_NONNULL(1, 2);
int ctl_members_json(struct json_t *o, const ctl_members_t *m) AYA_NONNULL(1, 2);
int ctl_keyring_json(struct json_t *o, const ctl_keyring_t *k) AYA_NONNULL(1, 2);

/* ---- cost (codec_cost.c, render_cost.c) ---- */

Aya__Ctl__CostReply *ctl_cost_to_pb(aya_arena_t *a, const ctl_cost_t *c) AYA_NONNULL(1, 2);
void ctl_cost_from_pb(aya_arena_t *a, const Aya__Ctl__CostReply *p, ctl_cost_t *c, bool *oom)
        AYA_NONNULL(1, 2, 3, 4);
void ctl_cost_write_text(FILE *f, const ctl_cost_t *c) AYA_NONNULL(1, 2);
int ctl_cost_json(struct json_t *o, const ctl_cost_t *c) AYA_NONNULL(1, 2);

/* ---- log-level and top (codec_top.c, render_top.c) ---- */

Aya__Ctl__LogLevelReply *ctl_log_level_to_pb(aya_arena_t *a, const ctl_log_level_t *l)
        AYA_NONNULL(1, 2);
void ctl_log_level_from_pb(aya_arena_t *a, const Aya__Ctl__LogLevelReply *p, ctl_log_level_t *l,
                           bool *oom) AYA_NONNULL(1, 2, 3, 4);
Aya__Ctl__TopReply *ctl_top_to_pb(aya_arena_t *a, const ctl_top_t *t) AYA_NONNULL(1, 2);
void ctl_top_from_pb(aya_arena_t *a, const Aya__Ctl__TopReply *p, ctl_top_t *t, bool *oom)
        AYA_NONNULL(1, 2, 3, 4);
void ctl_log_level_write_text(FILE *f, const ctl_log_level_t *l) AYA_NONNULL(1, 2);
int ctl_log_level_json(struct json_t *o, const ctl_log_level_t *l) AYA_NONNULL(1, 2);
/* One sample alone (ayactl --json of the raw command): cumulative figures. */
void ctl_top_sample_write_text(FILE *f, const ctl_top_t *t) AYA_NONNULL(1, 2);
int ctl_top_json(struct json_t *o, const ctl_top_t *t) AYA_NONNULL(1, 2);

/* ---- dnssec (codec_dnssec.c, render_dnssec.c) ---- */

Aya__Ctl__DnssecReply *ctl_dnssec_to_pb(aya_arena_t *a, const ctl_dnssec_t *d) AYA_NONNULL(1, 2);
void ctl_dnssec_from_pb(aya_arena_t *a, const Aya__Ctl__DnssecReply *p, ctl_dnssec_t *d, bool *oom)
        AYA_NONNULL(1, 2, 3, 4);
void ctl_dnssec_write_text(FILE *f, const ctl_dnssec_t *d) AYA_NONNULL(1, 2);
int ctl_dnssec_json(struct json_t *o, const ctl_dnssec_t *d) AYA_NONNULL(1, 2);
