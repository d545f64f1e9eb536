/*
 * Helpers shared by the control tests: a reply through the wire and back,
 * its text and JSON renderings, one line of the text. Header-only (static
 * inline) because every test binary is one .c file.
 */
#pragma once

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "control/control.h"

/* Frame, check and decode a reply, as ayactl receives it. Caller frees with ctl_reply_free. */
static inline ctl_reply_t *roundtrip(const ctl_reply_t *in)
{
	uint8_t *f = NULL;
	size_t len = 0;
	assert_int_equal(ctl_reply_frame(in, &f, &len), 0);
	size_t body = 0;
	assert_int_equal(ctl_frame_check(f, len, CTL_FRAME_MAX, &body), 1);
	ctl_reply_t *out = NULL;
	assert_int_equal(ctl_reply_decode(f + CTL_FRAME_HDR, body, &out), 0);
	free(f);
	return out;
}

/* The human text of a reply (heap, caller frees). */
static inline char *text_of(const ctl_reply_t *r)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	assert_non_null(f);
	ctl_reply_write_text(f, r);
	fclose(f);
	/* A plain heap copy: gcc 12 loses track of memstream buffers (-Wdangling-pointer). */
	char *copy = strdup(buf);
	free(buf);
	assert_non_null(copy);
	return copy;
}

/* The line of text that contains needle, into buf; fails the test when absent. */
static inline const char *line_with(const char *text, const char *needle, char *buf, size_t len)
{
	const char *p = strstr(text, needle);
	if (p == NULL) {
		fail_msg("'%s' not in:\n%s", needle, text);
	}
	while (p > text && p[-1] != '\n') {
		p--;
	}
	const char *e = strchr(p, '\n');
	size_t n = e != NULL ? (size_t)(e - p) : strlen(p);
	assert_true(n < len);
	memcpy(buf, p, n);
	buf[n] = '\0';
	return buf;
}

/* The reply's JSON, parsed back (caller json_decref); fails the test on invalid JSON. */
static inline json_t *json_of(const ctl_reply_t *r)
{
	char *s = ctl_reply_to_json(r);
	assert_non_null(s);
	json_error_t err;
	json_t *o = json_loads(s, 0, &err);
	if (o == NULL) {
		fail_msg("bad JSON (%s): %s", err.text, s);
	}
	free(s);
	return o;
}
