/*
 * ayad's HTTP listener (config `http.listen`, served by control/http.c):
 * which pages there are (/metrics: daemon/metrics.c; the status page and its
 * JSON: daemon/status.c) and where they listen, at start and on reload.
 */
#include "daemon/ayad.h"

#include "common/log.h"

static const ctl_http_page_t pages[] = {
        {"/metrics", ayad_page_metrics},
        {"/", ayad_page_status_html},
        {"/status.json", ayad_page_status_json},
};

int ayad_http_apply(ayad_t *d, const cfg_t *cfg, const cfg_t *old, char *err, size_t errlen)
{
	err[0] = '\0';
	if (ctl_http_listens_on(d->http, cfg->http.listen, cfg->http.n_listen)) {
		return 0;
	}
	/* The old listeners go first: a reload that keeps one of the addresses binds it again. */
	ctl_http_free(d->http);
	d->http = NULL;
	if (cfg->http.n_listen == 0) {
		log_info("http: no http.listen, no HTTP listener");
		return 0;
	}
	int rc = ctl_http_new(d->base, cfg->http.listen, cfg->http.n_listen, pages,
	                      AYA_ARRAY_LEN(pages), d, &d->http, err, errlen);
	if (rc < 0) {
		log_err("%s", err);
		char ignored[256];
		if (old != NULL && old->http.n_listen > 0 &&
		    ctl_http_new(d->base, old->http.listen, old->http.n_listen, pages,
		                 AYA_ARRAY_LEN(pages), d, &d->http, ignored,
		                 sizeof(ignored)) == 0) {
			log_warn("http: kept the previous listen addresses");
		}
	}
	return rc;
}

void ayad_http_stop(ayad_t *d)
{
	ctl_http_free(d->http);
	d->http = NULL;
}
