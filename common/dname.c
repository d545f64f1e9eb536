/*
 * Wire-form domain name helpers. Inputs are trusted to be well formed
 * (see dname.h); the parsers in dnsd/ and config/ validate before calling.
 */
#include "common/dname.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

static inline uint8_t lower(uint8_t c)
{
	return (c >= 'A' && c <= 'Z') ? (uint8_t)(c + 32) : c;
}

int aya_dname_from_str(const char *s, uint8_t *out)
{
	size_t pos = 0;
	if (s[0] == '.' && s[1] == '\0') {
		out[0] = 0;
		return 1;
	}
	if (s[0] == '\0') {
		return -EINVAL;
	}
	while (*s != '\0') {
		size_t lenpos = pos++;
		size_t llen = 0;
		while (*s != '\0' && *s != '.') {
			unsigned c = (unsigned char)*s++;
			if (c == '\\') {
				if (isdigit((unsigned char)s[0]) && isdigit((unsigned char)s[1]) &&
				    isdigit((unsigned char)s[2])) {
					c = (unsigned)((s[0] - '0') * 100 + (s[1] - '0') * 10 +
					               (s[2] - '0'));
					if (c > 255) {
						return -EINVAL;
					}
					s += 3;
				} else if (*s != '\0') {
					c = (unsigned char)*s++;
				} else {
					return -EINVAL;
				}
			}
			if (llen >= AYA_LABEL_MAX || pos >= AYA_DNAME_MAX - 1) {
				return -EINVAL;
			}
			out[pos++] = (uint8_t)c;
			llen++;
		}
		if (llen == 0) {
			return -EINVAL; /* empty label: "a..b" or leading dot */
		}
		out[lenpos] = (uint8_t)llen;
		if (*s == '.') {
			s++;
		}
	}
	out[pos++] = 0;
	return (int)pos;
}

size_t aya_dname_to_str(const uint8_t *d, char *out, size_t outlen)
{
	size_t n = 0;
	if (outlen == 0) {
		return 0;
	}
#define PUT(ch)                                                                                    \
	do {                                                                                       \
		if (n + 1 < outlen) {                                                              \
			out[n++] = (ch);                                                           \
		}                                                                                  \
	} while (0)
	if (*d == 0) {
		PUT('.');
	}
	while (*d != 0) {
		uint8_t l = *d++;
		for (uint8_t i = 0; i < l; i++, d++) {
			uint8_t c = *d;
			if (c == '.' || c == '\\' || c == '"' || c == '(' || c == ')' || c == ';' ||
			    c == '@' || c == '$') {
				PUT('\\');
				PUT((char)c);
			} else if (c <= 0x20 || c >= 0x7f) {
				char esc[5];
				snprintf(esc, sizeof(esc), "\\%03u", c);
				for (int k = 0; k < 4; k++) {
					PUT(esc[k]);
				}
			} else {
				PUT((char)c);
			}
		}
		PUT('.');
	}
#undef PUT
	out[n] = '\0';
	return n;
}

size_t aya_dname_len(const uint8_t *d)
{
	const uint8_t *p = d;
	while (*p != 0) {
		p += *p + 1;
	}
	return (size_t)(p - d) + 1;
}

unsigned aya_dname_labels(const uint8_t *d)
{
	unsigned n = 0;
	while (*d != 0) {
		d += *d + 1;
		n++;
	}
	return n;
}

void aya_dname_lower(uint8_t *d)
{
	while (*d != 0) {
		uint8_t l = *d++;
		for (uint8_t i = 0; i < l; i++, d++) {
			*d = lower(*d);
		}
	}
}

bool aya_dname_equal(const uint8_t *a, const uint8_t *b)
{
	for (;;) {
		if (*a != *b) {
			return false;
		}
		uint8_t l = *a;
		if (l == 0) {
			return true;
		}
		a++;
		b++;
		for (uint8_t i = 0; i < l; i++) {
			if (lower(a[i]) != lower(b[i])) {
				return false;
			}
		}
		a += l;
		b += l;
	}
}

const uint8_t *aya_dname_skip(const uint8_t *d, unsigned skip)
{
	while (skip-- > 0 && *d != 0) {
		d += *d + 1;
	}
	return d;
}

bool aya_dname_is_sub(const uint8_t *name, const uint8_t *parent)
{
	unsigned nl = aya_dname_labels(name);
	unsigned pl = aya_dname_labels(parent);
	if (nl < pl) {
		return false;
	}
	return aya_dname_equal(aya_dname_skip(name, nl - pl), parent);
}
