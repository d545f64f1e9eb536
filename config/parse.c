/*
 * Scalar parsers shared by the YAML loader and the rest of Aya (durations,
 * socket addresses, prefixes) and the diagnostics buffer. Pure functions:
 * no allocation except the diagnostics text, which grows on demand.
 */
#include "config/config.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void cfg_diag_fini(cfg_diag_t *d)
{
	free(d->text);
	d->text = NULL;
	d->len = 0;
	d->cap = 0;
}

/* Append `n` bytes; on allocation failure the line is dropped (counts stay right). */
static void diag_put(cfg_diag_t *d, const char *s, size_t n)
{
	if (d->len + n + 1 > d->cap) {
		size_t cap = d->cap ? d->cap : 256;
		while (cap < d->len + n + 1) {
			cap *= 2;
		}
		char *t = realloc(d->text, cap);
		if (t == NULL) {
			return;
		}
		d->text = t;
		d->cap = cap;
	}
	memcpy(d->text + d->len, s, n);
	d->len += n;
	d->text[d->len] = '\0';
}

void cfg_diag_add(cfg_diag_t *d, const char *file, unsigned line, unsigned col,
                  const char *severity, const char *fmt, ...)
{
	char head[512];
	char body[1024];
	va_list ap;

	if (file == NULL) {
		file = "-";
	}
	/* line 0: the whole file; col 0: zone files, which report lines only. */
	int n;
	if (line == 0) {
		n = snprintf(head, sizeof(head), "%s: %s: ", file, severity);
	} else if (col == 0) {
		n = snprintf(head, sizeof(head), "%s:%u: %s: ", file, line, severity);
	} else {
		n = snprintf(head, sizeof(head), "%s:%u:%u: %s: ", file, line, col, severity);
	}
	va_start(ap, fmt);
	int m = vsnprintf(body, sizeof(body), fmt, ap);
	va_end(ap);
	diag_put(d, head, n < 0 ? 0 : ((size_t)n < sizeof(head) ? (size_t)n : sizeof(head) - 1));
	diag_put(d, body, m < 0 ? 0 : ((size_t)m < sizeof(body) ? (size_t)m : sizeof(body) - 1));
	diag_put(d, "\n", 1);
	if (strcmp(severity, "error") == 0) {
		d->errors++;
	} else {
		d->warnings++;
	}
}

/* Decimal digits to uint64 with overflow check; *end after the digits. */
static int parse_u64(const char *s, uint64_t *v, const char **end)
{
	uint64_t x = 0;
	const char *p = s;
	if (!isdigit((unsigned char)*p)) {
		return -EINVAL;
	}
	while (isdigit((unsigned char)*p)) {
		unsigned dgt = (unsigned)(*p - '0');
		if (x > (UINT64_MAX - dgt) / 10) {
			return -ERANGE;
		}
		x = x * 10 + dgt;
		p++;
	}
	*v = x;
	*end = p;
	return 0;
}

int cfg_parse_duration_ms(const char *s, uint64_t *ms)
{
	static const struct {
		const char *suffix;
		uint64_t mult;
	} units[] = {{"", 1000},   {"ms", 1},      {"s", 1000},
	             {"m", 60000}, {"h", 3600000}, {"d", 86400000}};
	uint64_t v;
	const char *end;
	int rc = parse_u64(s, &v, &end);
	if (rc != 0) {
		return -EINVAL;
	}
	for (size_t i = 0; i < AYA_ARRAY_LEN(units); i++) {
		if (strcmp(end, units[i].suffix) == 0) {
			if (v > UINT64_MAX / units[i].mult) {
				return -EINVAL;
			}
			*ms = v * units[i].mult;
			return 0;
		}
	}
	return -EINVAL;
}

/* Fill out->ss from an address literal and a port; family from the text. */
static int make_sockaddr(const char *addr, uint16_t port, cfg_sockaddr_t *out)
{
	memset(out, 0, sizeof(*out));
	struct sockaddr_in *sin = (struct sockaddr_in *)&out->ss;
	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&out->ss;
	char buf[INET6_ADDRSTRLEN];

	if (inet_pton(AF_INET, addr, &sin->sin_addr) == 1) {
		sin->sin_family = AF_INET;
		sin->sin_port = htons(port);
		out->len = sizeof(*sin);
		inet_ntop(AF_INET, &sin->sin_addr, buf, sizeof(buf));
		snprintf(out->text, sizeof(out->text), "%s:%u", buf, port);
		return 0;
	}
	memset(out, 0, sizeof(*out));
	if (inet_pton(AF_INET6, addr, &sin6->sin6_addr) == 1) {
		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons(port);
		out->len = sizeof(*sin6);
		inet_ntop(AF_INET6, &sin6->sin6_addr, buf, sizeof(buf));
		snprintf(out->text, sizeof(out->text), "[%s]:%u", buf, port);
		return 0;
	}
	return -EINVAL;
}

static int parse_port(const char *s, uint16_t *port)
{
	uint64_t v;
	const char *end;
	if (parse_u64(s, &v, &end) != 0 || *end != '\0' || v == 0 || v > 65535) {
		return -EINVAL;
	}
	*port = (uint16_t)v;
	return 0;
}

int cfg_parse_sockaddr(const char *s, uint16_t default_port, cfg_sockaddr_t *out)
{
	char addr[INET6_ADDRSTRLEN + 1];
	uint16_t port = default_port;
	const char *colon = strrchr(s, ':');

	if (s[0] == '[') {
		/* "[v6]" or "[v6]:port" */
		const char *close = strchr(s, ']');
		if (close == NULL || (size_t)(close - s - 1) >= sizeof(addr)) {
			return -EINVAL;
		}
		memcpy(addr, s + 1, (size_t)(close - s - 1));
		addr[close - s - 1] = '\0';
		if (close[1] == ':') {
			if (parse_port(close + 2, &port) != 0) {
				return -EINVAL;
			}
		} else if (close[1] != '\0') {
			return -EINVAL;
		}
		if (strchr(addr, ':') == NULL) {
			return -EINVAL; /* brackets are for IPv6 only */
		}
	} else if (colon != NULL && strchr(s, ':') == colon) {
		/* exactly one colon: "v4:port" */
		if ((size_t)(colon - s) >= sizeof(addr)) {
			return -EINVAL;
		}
		memcpy(addr, s, (size_t)(colon - s));
		addr[colon - s] = '\0';
		if (parse_port(colon + 1, &port) != 0) {
			return -EINVAL;
		}
	} else {
		/* a bare address; several colons mean IPv6 without a port */
		if (strlen(s) >= sizeof(addr)) {
			return -EINVAL;
		}
		strcpy(addr, s);
	}
	if (port == 0) {
		return -EINVAL;
	}
	return make_sockaddr(addr, port, out);
}

int cfg_parse_prefix(const char *s, cfg_prefix_t *out)
{
	char addr[INET6_ADDRSTRLEN + 1];
	const char *slash = strchr(s, '/');
	size_t alen = slash != NULL ? (size_t)(slash - s) : strlen(s);
	unsigned maxlen;

	if (alen == 0 || alen >= sizeof(addr)) {
		return -EINVAL;
	}
	memcpy(addr, s, alen);
	addr[alen] = '\0';
	memset(out, 0, sizeof(*out));
	if (inet_pton(AF_INET, addr, out->addr) == 1) {
		out->family = AF_INET;
		maxlen = 32;
	} else if (inet_pton(AF_INET6, addr, out->addr) == 1) {
		out->family = AF_INET6;
		maxlen = 128;
	} else {
		return -EINVAL;
	}
	unsigned len = maxlen;
	if (slash != NULL) {
		uint64_t v;
		const char *end;
		if (parse_u64(slash + 1, &v, &end) != 0 || *end != '\0' || v > maxlen) {
			return -EINVAL;
		}
		len = (unsigned)v;
	}
	/* Host bits must be zero: "192.0.2.1/24" is almost always a typo. */
	for (unsigned bit = len; bit < maxlen; bit++) {
		if (out->addr[bit / 8] & (0x80u >> (bit % 8))) {
			return -EINVAL;
		}
	}
	out->len = (uint8_t)len;
	return 0;
}
