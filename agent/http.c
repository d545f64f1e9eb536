/*
 * The HTTP/1.x response parser of the http and https probes. It runs on the
 * bytes received so far (at most the agent's response cap) and is called
 * again as more arrive, so it keeps no state: each call re-reads the buffer
 * (cheap: health responses are small and capped). It also says where the
 * response ends and whether the connection may carry the next request
 * (keep-alive probes). Everything comes from the network: lengths are
 * checked before every read, nothing is trusted.
 */
#include "agent/agent_int.h"

#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define STATUS_LINE_MAX 1024

/* Offset just past the first "\n" at or after `from`, or 0. */
static size_t line_end(const char *buf, size_t len, size_t from)
{
	const char *nl = from < len ? memchr(buf + from, '\n', len - from) : NULL;
	return nl != NULL ? (size_t)(nl - buf) + 1 : 0;
}

/* "HTTP/1.x DDD" followed by a space or the end of the line. */
static int status_line(const char *buf, size_t len, bool complete)
{
	static const char proto[] = "HTTP/1.";
	size_t n = len < sizeof(proto) - 1 ? len : sizeof(proto) - 1;
	if (memcmp(buf, proto, n) != 0) {
		return -EBADMSG;
	}
	if (len < 12) {
		return complete ? -EBADMSG : 0;
	}
	if (!isdigit((unsigned char)buf[7]) || buf[8] != ' ' || !isdigit((unsigned char)buf[9]) ||
	    !isdigit((unsigned char)buf[10]) || !isdigit((unsigned char)buf[11])) {
		return -EBADMSG;
	}
	if (len > 12 && buf[12] != ' ' && buf[12] != '\r' && buf[12] != '\n') {
		return -EBADMSG;
	}
	int st = (buf[9] - '0') * 100 + (buf[10] - '0') * 10 + (buf[11] - '0');
	return st >= 100 && st <= 599 ? st : -EBADMSG;
}

/* Value of header `name` in the header block, trimmed; false when absent. */
static bool header_value(const char *h, size_t len, const char *name, const char **v, size_t *vlen)
{
	size_t nlen = strlen(name);
	for (size_t pos = 0; pos < len;) {
		size_t end = line_end(h, len, pos);
		if (end == 0) {
			end = len;
		}
		const char *line = h + pos;
		size_t ll = end - pos;
		if (ll > nlen && strncasecmp(line, name, nlen) == 0 && line[nlen] == ':') {
			size_t a = nlen + 1, b = ll;
			while (a < b && (line[a] == ' ' || line[a] == '\t')) {
				a++;
			}
			while (b > a && isspace((unsigned char)line[b - 1])) {
				b--;
			}
			*v = line + a;
			*vlen = b - a;
			return true;
		}
		pos = end;
	}
	return false;
}

int agent_load_header(const char *headers, size_t len, const char *name, double *out)
{
	const char *v;
	size_t vlen;
	if (!header_value(headers, len, name, &v, &vlen)) {
		return -ENOENT;
	}
	char tmp[64];
	if (vlen == 0 || vlen >= sizeof(tmp)) {
		return -EBADMSG;
	}
	memcpy(tmp, v, vlen);
	tmp[vlen] = '\0';
	bool pct = tmp[vlen - 1] == '%';
	if (pct) {
		tmp[--vlen] = '\0';
	}
	char *end;
	double d = strtod(tmp, &end);
	if (vlen == 0 || end != tmp + vlen || isspace((unsigned char)tmp[0])) {
		return -EBADMSG;
	}
	*out = pct ? d / 100.0 : d;
	return 0;
}

/*
 * Decode a chunked body starting at p into out; *used: the raw bytes it took,
 * trailers and the final empty line included. 1 complete, 2 the last chunk
 * came but the trailers did not end (complete only at EOF), 0 more, -EBADMSG.
 */
static int dechunk(const char *p, size_t len, char *out, size_t *outlen, size_t *used)
{
	size_t pos = 0, o = 0;
	for (;;) {
		size_t end = line_end(p, len, pos);
		if (end == 0) {
			return len - pos > 32 ? -EBADMSG : 0;
		}
		char *stop;
		unsigned long n = strtoul(p + pos, &stop, 16);
		if (stop == p + pos || !isxdigit((unsigned char)p[pos]) || n > len) {
			return -EBADMSG;
		}
		pos = end;
		if (n == 0) {
			break;
		}
		if (len - pos < n + 2) {
			return 0;
		}
		memcpy(out + o, p + pos, n);
		o += n;
		pos += n;
		if (p[pos] == '\r') {
			pos++;
		}
		if (p[pos] != '\n') {
			return -EBADMSG;
		}
		pos++;
	}
	*outlen = o;
	/* Trailer lines up to an empty one: skipped, but consumed. */
	for (;;) {
		size_t end = line_end(p, len, pos);
		if (end == 0) {
			*used = len;
			return 2;
		}
		size_t ll = end - pos;
		pos = end;
		if (ll == 1 || (ll == 2 && p[end - 2] == '\r')) {
			*used = pos;
			return 1;
		}
	}
}

/* Does the Connection header list `close`? */
static bool conn_close(const agent_http_resp_t *r)
{
	const char *v;
	size_t vlen;
	if (!header_value(r->headers, r->headers_len, "connection", &v, &vlen)) {
		return false;
	}
	for (size_t i = 0; i + 5 <= vlen; i++) {
		if (strncasecmp(v + i, "close", 5) == 0) {
			return true;
		}
	}
	return false;
}

static int body(const char *buf, size_t len, bool eof, agent_http_resp_t *r, const char **why)
{
	const char *p = buf + r->header_len;
	size_t avail = len - r->header_len, blen = avail, used = avail;
	const char *v;
	size_t vlen;
	bool chunked = header_value(r->headers, r->headers_len, "transfer-encoding", &v, &vlen) &&
	               vlen >= 7 && strncasecmp(v + vlen - 7, "chunked", 7) == 0;
	bool framed = true; /* the end is known without the peer closing */
	char *out = NULL;
	int rc = AGENT_HTTP_COMPLETE;
	if (r->status < 200 || r->status == 204 || r->status == 304) {
		blen = used = 0;
	} else if (chunked) {
		if ((out = malloc(avail + 1)) == NULL) {
			return -ENOMEM;
		}
		int c = dechunk(p, avail, out, &blen, &used);
		rc = c < 0 ? -EBADMSG
		           : (c == 0 || (c == 2 && !eof) ? AGENT_HTTP_STATUS : AGENT_HTTP_COMPLETE);
		*why = c < 0 ? "bad chunked body" : *why;
		framed = c == 1;
		p = out;
	} else if (header_value(r->headers, r->headers_len, "content-length", &v, &vlen)) {
		char *stop;
		unsigned long long cl = strtoull(v, &stop, 10);
		if (vlen == 0 || !isdigit((unsigned char)v[0]) || stop != v + vlen) {
			*why = "bad content-length";
			rc = -EBADMSG;
		} else if (avail < cl) {
			rc = AGENT_HTTP_STATUS;
		} else {
			blen = used = (size_t)cl;
		}
	} else {
		framed = false;
		if (!eof) {
			rc = AGENT_HTTP_STATUS; /* the body ends when the peer closes */
		}
	}
	if (rc == AGENT_HTTP_STATUS && eof) {
		*why = "truncated body";
		rc = -EBADMSG;
	}
	if (rc == AGENT_HTTP_COMPLETE && out == NULL && (out = malloc(blen + 1)) == NULL) {
		return -ENOMEM;
	}
	if (rc != AGENT_HTTP_COMPLETE) {
		free(out);
		return rc;
	}
	memmove(out, p, blen);
	out[blen] = '\0';
	r->body = out;
	r->body_len = blen;
	r->msg_len = r->header_len + used;
	/* HTTP/1.1 keeps the connection unless told otherwise; 1.0 closes it. */
	r->keep_alive = framed && buf[7] == '1' && !conn_close(r);
	return rc;
}

int agent_http_parse(const char *buf, size_t len, bool eof, agent_http_resp_t *r, const char **why)
{
	*r = (agent_http_resp_t){0};
	*why = "bad status line";
	size_t sl = line_end(buf, len, 0);
	int st = status_line(buf, sl ? sl : len, sl != 0 || eof);
	if (st < 0 || (sl == 0 && len > STATUS_LINE_MAX)) {
		return -EBADMSG;
	}
	if (sl == 0 || st == 0) {
		return eof ? -EBADMSG : AGENT_HTTP_MORE;
	}
	r->status = st;
	/* Headers end at an empty line ("\r\n" or "\n"). */
	size_t pos = sl;
	for (;;) {
		size_t end = line_end(buf, len, pos);
		if (end == 0) {
			*why = "truncated headers";
			return eof ? -EBADMSG : AGENT_HTTP_MORE;
		}
		size_t ll = end - pos;
		if (ll == 1 || (ll == 2 && buf[pos] == '\r')) {
			r->headers = buf + sl;
			r->headers_len = pos - sl;
			r->header_len = end;
			break;
		}
		pos = end;
	}
	return body(buf, len, eof, r, why);
}
