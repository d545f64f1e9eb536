/*
 * The DNS TCP connection table (dnsd/tcp_table.c), kept apart from the
 * sockets so its rules are unit-tested without them (tests/dnsd/test_tcp_table.c):
 *  - clients are counted by prefix, not by address: one /24 (IPv4) or /56
 *    (IPv6) by default, so one host with many addresses is one client;
 *  - a connection is idle (no query arriving, no reply leaving) or busy;
 *    idle ones are kept in the order they became idle;
 *  - a new connection is refused when its prefix is at its limit; when the
 *    table is full it evicts the connection idle the longest, and is refused
 *    only when every connection is busy.
 * Busy connections cannot sit on the table: tcp.c closes one whose query or
 * reply is not through within dns.tcp_message_timeout.
 *
 * One thread (the TCP thread); no allocation after dnsd_tcp_table_init.
 * Not for use outside dnsd/ and its tests.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

/* A client: the address family and its address masked to the client prefix. */
typedef struct dnsd_tcp_key {
	uint8_t family; /* AF_INET or AF_INET6; 0 for anything else (one client) */
	uint8_t addr[16];
} dnsd_tcp_key_t;

/*
 * The client of sa: IPv4 (and IPv4-mapped IPv6) masked to v4_bits, IPv6
 * to v6_bits. Pure.
 */
void dnsd_tcp_key(const struct sockaddr *sa, unsigned v4_bits, unsigned v6_bits,
                  dnsd_tcp_key_t *out);
bool dnsd_tcp_key_equal(const dnsd_tcp_key_t *a, const dnsd_tcp_key_t *b);

/* One connection's entry, embedded in the connection. */
typedef struct dnsd_tcp_slot dnsd_tcp_slot_t;
struct dnsd_tcp_slot {
	dnsd_tcp_key_t key;
	uint64_t idle_since_ms; /* when it last became idle (or was accepted) */
	bool busy;
	dnsd_tcp_slot_t *prev, *next; /* the idle list (oldest first) or the busy list */
	dnsd_tcp_slot_t *hnext;       /* the chain of its hash bucket */
};

typedef struct dnsd_tcp_table {
	unsigned max_total;  /* 0: no limit */
	unsigned max_client; /* per key; 0: no limit */
	unsigned n;
	dnsd_tcp_slot_t *idle_head, *idle_tail; /* idle_head: idle the longest */
	dnsd_tcp_slot_t *busy_head;
	dnsd_tcp_slot_t **buckets;
	size_t n_buckets; /* a power of two */
	uint64_t seed;    /* random: bucket order cannot be chosen from outside */
} dnsd_tcp_table_t;

/* 0 or -ENOMEM. */
int dnsd_tcp_table_init(dnsd_tcp_table_t *t, unsigned max_total, unsigned max_client,
                        uint64_t seed);
/* Frees the buckets only: the slots belong to their connections. */
void dnsd_tcp_table_fini(dnsd_tcp_table_t *t);

typedef enum dnsd_tcp_verdict {
	DNSD_TCP_ADMIT,         /* room for it */
	DNSD_TCP_EVICT,         /* full: close *victim (idle the longest), then admit */
	DNSD_TCP_REFUSE_CLIENT, /* its prefix holds max_client connections */
	DNSD_TCP_REFUSE_FULL,   /* full and every connection busy */
} dnsd_tcp_verdict_t;

/* What to do with a new connection from key; *victim is set for DNSD_TCP_EVICT only. */
dnsd_tcp_verdict_t dnsd_tcp_table_admit(const dnsd_tcp_table_t *t, const dnsd_tcp_key_t *key,
                                        dnsd_tcp_slot_t **victim);
/* Open connections of key's client. */
unsigned dnsd_tcp_table_count(const dnsd_tcp_table_t *t, const dnsd_tcp_key_t *key);

/* s->key set by the caller; s enters idle (since now). */
void dnsd_tcp_table_add(dnsd_tcp_table_t *t, dnsd_tcp_slot_t *s, uint64_t now_ms);
void dnsd_tcp_table_remove(dnsd_tcp_table_t *t, dnsd_tcp_slot_t *s);
/* A query started arriving or a reply is leaving. No-op when already busy. */
void dnsd_tcp_table_busy(dnsd_tcp_table_t *t, dnsd_tcp_slot_t *s);
/* Nothing in or out any more: idle since now, the newest idle. No-op when already idle. */
void dnsd_tcp_table_idle(dnsd_tcp_table_t *t, dnsd_tcp_slot_t *s, uint64_t now_ms);
