/*
 * A zone's DNSSEC keys as loaded (keys.c), shared with the signer
 * (dnssec.c) and the snapshot compiler (snap.c). Internal to dnsd (tests may
 * include it).
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <openssl/evp.h>

#include "common/dname.h"
#include "dnsd/dnsd.h"

#define DNSD_DNSKEY_RDATA_MAX (4 + 64) /* flags, protocol, algorithm, P-256 public key */
#define DNSD_SIG_MAX 64                /* ECDSA P-256 r||s, Ed25519 */

typedef struct dnsd_key {
	dnsd_key_info_t info;                 /* info.file points into `file` */
	EVP_PKEY *pkey;                       /* the private key */
	uint8_t rdata[DNSD_DNSKEY_RDATA_MAX]; /* DNSKEY RDATA */
	uint16_t rdlen;
	char *file; /* the .private file's path (malloc) */
} dnsd_key_t;

struct dnsd_keyset {
	uint8_t apex[AYA_DNAME_MAX]; /* the zone's, wire, lower-case */
	uint8_t algorithm;
	dnsd_key_t *keys; /* sorted by tag */
	size_t n;
};

/* RFC 4034 appendix B key tag of a DNSKEY RDATA. */
uint16_t dnsd_key_tag(const uint8_t *rdata, size_t len) AYA_NONNULL(1);
