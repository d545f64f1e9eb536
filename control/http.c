/*
 * The read-only HTTP listener (config `http.listen`): libevent's evhttp on
 * the control thread's event base, serving the pages the daemon registers
 * (/metrics, the status page and its JSON). GET and HEAD only; a request's
 * headers are bounded (8 KiB) and a body refused; a connection idle for
 * HTTP_TIMEOUT_S is closed. Like every listener of ayad, a failed accept()
 * (out of descriptors) pauses the listeners with a back-off
 * (common/listen.h) instead of spinning and logging per try: evhttp sets no
 * error callback of its own, so one is set here on each bound listener.
 */
#include "control/control.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <event2/listener.h>

#include "common/listen.h"
#include "common/log.h"
#include "config/config.h"

#define HTTP_TIMEOUT_S 10
#define HTTP_MAX_HEADERS 8192
#define HTTP_BACKLOG 64

struct ctl_http {
	struct evhttp *http;
	aya_listen_guard_t *guard;
	const ctl_http_page_t *pages;
	size_t n_pages;
	void *arg;
	char **addrs; /* the listen addresses, as configured */
	size_t n_addrs;
	struct evconnlistener **ls; /* their listeners (owned by http) */
	size_t n_ls;
	ctl_http_t *next; /* in `all`, for the listeners' error callback */
};

/* Every live server of this process (control thread only): evhttp owns the listeners' context. */
static ctl_http_t *all;

static ctl_http_t *owner_of(const struct evconnlistener *l)
{
	for (ctl_http_t *h = all; h != NULL; h = h->next) {
		for (size_t i = 0; i < h->n_ls; i++) {
			if (h->ls[i] == l) {
				return h;
			}
		}
	}
	return NULL;
}

static void on_accept_error(struct evconnlistener *l, void *ctx)
{
	(void)ctx;
	ctl_http_t *h = owner_of(l);
	if (h != NULL) {
		aya_listen_guard_fail(h->guard);
	}
}

static void send_text(struct evhttp_request *req, int code, const char *reason, const char *text)
{
	struct evbuffer *b = evbuffer_new();
	if (b == NULL) {
		evhttp_send_error(req, HTTP_INTERNAL, NULL);
		return;
	}
	evbuffer_add_printf(b, "%s\n", text);
	evhttp_add_header(evhttp_request_get_output_headers(req), "Content-Type",
	                  "text/plain; charset=utf-8");
	evhttp_send_reply(req, code, reason, b);
	evbuffer_free(b);
}

static void on_request(struct evhttp_request *req, void *arg)
{
	ctl_http_t *h = arg;
	aya_listen_guard_ok(h->guard);
	enum evhttp_cmd_type cmd = evhttp_request_get_command(req);
	if (cmd != EVHTTP_REQ_GET && cmd != EVHTTP_REQ_HEAD) {
		evhttp_add_header(evhttp_request_get_output_headers(req), "Allow", "GET, HEAD");
		send_text(req, 405, "Method Not Allowed", "only GET and HEAD");
		return;
	}
	const struct evhttp_uri *uri = evhttp_request_get_evhttp_uri(req);
	const char *path = uri != NULL ? evhttp_uri_get_path(uri) : NULL;
	if (path == NULL || path[0] == '\0') {
		path = "/";
	}
	const ctl_http_page_t *page = NULL;
	for (size_t i = 0; i < h->n_pages; i++) {
		if (strcmp(h->pages[i].path, path) == 0) {
			page = &h->pages[i];
			break;
		}
	}
	if (page == NULL) {
		send_text(req, HTTP_NOTFOUND, "Not Found", "not found");
		return;
	}
	struct evbuffer *out = evbuffer_new();
	if (out == NULL) {
		send_text(req, HTTP_INTERNAL, "Internal Server Error", "out of memory");
		return;
	}
	const char *type = "text/plain; charset=utf-8";
	int rc = page->fn(h->arg, out, &type);
	if (rc < 0) {
		evbuffer_free(out);
		send_text(req, HTTP_INTERNAL, "Internal Server Error", strerror(-rc));
		return;
	}
	struct evkeyvalq *hd = evhttp_request_get_output_headers(req);
	evhttp_add_header(hd, "Content-Type", type);
	evhttp_add_header(hd, "Cache-Control", "no-store");
	evhttp_add_header(hd, "X-Content-Type-Options", "nosniff");
	evhttp_send_reply(req, HTTP_OK, "OK", out);
	evbuffer_free(out);
}

static int bind_one(ctl_http_t *h, struct event_base *base, const cfg_sockaddr_t *a, char *err,
                    size_t errlen)
{
	struct evconnlistener *l = evconnlistener_new_bind(
	        base, NULL, NULL, LEV_OPT_CLOSE_ON_FREE | LEV_OPT_CLOSE_ON_EXEC | LEV_OPT_REUSEABLE,
	        HTTP_BACKLOG, (const struct sockaddr *)&a->ss, (int)a->len);
	if (l == NULL) {
		snprintf(err, errlen, "http: cannot listen on %s: %s", a->text, strerror(errno));
		return errno != 0 ? -errno : -EADDRNOTAVAIL;
	}
	if (evhttp_bind_listener(h->http, l) == NULL) {
		evconnlistener_free(l);
		snprintf(err, errlen, "http: cannot serve on %s", a->text);
		return -ENOMEM;
	}
	evconnlistener_set_error_cb(l, on_accept_error);
	h->ls[h->n_ls++] = l;
	return aya_listen_guard_add(h->guard, l);
}

int ctl_http_new(struct event_base *base, const cfg_sockaddr_t *listen, size_t n,
                 const ctl_http_page_t *pages, size_t n_pages, void *arg, ctl_http_t **out,
                 char *err, size_t errlen)
{
	*out = NULL;
	err[0] = '\0';
	ctl_http_t *h = calloc(1, sizeof(*h));
	if (h == NULL || (h->http = evhttp_new(base)) == NULL ||
	    (h->guard = aya_listen_guard_new(base, "http")) == NULL ||
	    (h->addrs = calloc(n + 1, sizeof(*h->addrs))) == NULL ||
	    (h->ls = calloc(n + 1, sizeof(*h->ls))) == NULL) {
		snprintf(err, errlen, "http: out of memory");
		ctl_http_free(h);
		return -ENOMEM;
	}
	h->pages = pages;
	h->n_pages = n_pages;
	h->arg = arg;
	evhttp_set_allowed_methods(h->http, EVHTTP_REQ_GET | EVHTTP_REQ_HEAD | EVHTTP_REQ_POST |
	                                            EVHTTP_REQ_PUT | EVHTTP_REQ_DELETE |
	                                            EVHTTP_REQ_OPTIONS);
	evhttp_set_max_headers_size(h->http, HTTP_MAX_HEADERS);
	evhttp_set_max_body_size(h->http, 0);
	evhttp_set_timeout(h->http, HTTP_TIMEOUT_S);
	evhttp_set_gencb(h->http, on_request, h);
	h->next = all;
	all = h;
	for (size_t i = 0; i < n; i++) {
		int rc = bind_one(h, base, &listen[i], err, errlen);
		if (rc == 0 && (h->addrs[i] = strdup(listen[i].text)) == NULL) {
			rc = -ENOMEM;
		}
		if (rc < 0) {
			if (err[0] == '\0') {
				snprintf(err, errlen, "http: %s: %s", listen[i].text,
				         strerror(-rc));
			}
			ctl_http_free(h);
			return rc;
		}
		h->n_addrs = i + 1;
		log_info("http: serving on %s", listen[i].text);
	}
	*out = h;
	return 0;
}

bool ctl_http_listens_on(const ctl_http_t *h, const cfg_sockaddr_t *listen, size_t n)
{
	size_t have = h != NULL ? h->n_addrs : 0;
	if (have != n) {
		return false;
	}
	for (size_t i = 0; i < n; i++) {
		if (strcmp(h->addrs[i], listen[i].text) != 0) {
			return false;
		}
	}
	return true;
}

void ctl_http_free(ctl_http_t *h)
{
	if (h == NULL) {
		return;
	}
	for (ctl_http_t **p = &all; *p != NULL; p = &(*p)->next) {
		if (*p == h) {
			*p = h->next;
			break;
		}
	}
	aya_listen_guard_free(h->guard);
	if (h->http != NULL) {
		evhttp_free(h->http); /* closes the bound listeners and the connections */
	}
	for (size_t i = 0; h->addrs != NULL && i <= h->n_addrs; i++) {
		free(h->addrs[i]);
	}
	free(h->addrs);
	free(h->ls);
	free(h);
}
