/*
 * Domain names in uncompressed wire form (RFC 1035 3.1): length-prefixed
 * labels ending with the root label, at most AYA_DNAME_MAX bytes. Functions
 * here take names that are already known to be valid (built by
 * aya_dname_from_str() or checked by a parser); they never read past the
 * terminating root label. Pure functions, any thread.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/compiler.h"

#define AYA_DNAME_MAX 255
#define AYA_LABEL_MAX 63
/* Longest presentation form: every byte escaped as \DDD plus dots. */
#define AYA_DNAME_STR_MAX (AYA_DNAME_MAX * 4 + 1)

/*
 * Text ("www.example.com", trailing dot optional, "." for the root, \. and
 * \DDD escapes) to wire form in out[AYA_DNAME_MAX]. Returns the wire length,
 * or -EINVAL for an empty label, a label over 63 bytes or a name over 255.
 */
int aya_dname_from_str(const char *s, uint8_t *out) AYA_NONNULL(1, 2) AYA_WUR;

/* Wire to text with a trailing dot; escapes as in RFC 1035 5.1. Returns strlen. */
size_t aya_dname_to_str(const uint8_t *d, char *out, size_t outlen) AYA_NONNULL(1, 2);

/* Wire length including the root label. */
size_t aya_dname_len(const uint8_t *d) AYA_NONNULL(1);
/* Number of labels, not counting the root ("." has 0). */
unsigned aya_dname_labels(const uint8_t *d) AYA_NONNULL(1);
/* ASCII lower-case in place (DNS names compare case-insensitively). */
void aya_dname_lower(uint8_t *d) AYA_NONNULL(1);
/* Case-insensitive equality. */
bool aya_dname_equal(const uint8_t *a, const uint8_t *b) AYA_NONNULL(1, 2);
/* True when name equals parent or lies below it (case-insensitive). */
bool aya_dname_is_sub(const uint8_t *name, const uint8_t *parent) AYA_NONNULL(1, 2);
/* Pointer to the suffix of d with `skip` leading labels removed. */
const uint8_t *aya_dname_skip(const uint8_t *d, unsigned skip) AYA_NONNULL(1);
