/*
 * NOTIFY sender (RFC 1996): after a reload that changed a zone's SOA
 * serial, each of the zone's `notify` secondaries gets a NOTIFY over UDP
 * (signed with notify_key when set), resent every AYAD_NOTIFY_INTERVAL_MS
 * until it answers, AYAD_NOTIFY_TRIES times at most. One job per
 * (zone, secondary): a newer serial replaces a pending job. Jobs copy what
 * they need (the cfg may be freed by the next reload) and run on the
 * control thread's event loop; nothing is sent at start-up.
 */
#include "daemon/ayad.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>
#include <openssl/crypto.h>

#include "common/log.h"

#define AYAD_NOTIFY_TRIES 5
#define AYAD_NOTIFY_INTERVAL_MS 2000

struct ayad_notify {
	struct ayad_notify *next;
	ayad_t *d;
	struct event *ev; /* readable socket, or the retry timeout */
	int fd;
	uint16_t id;
	unsigned tries;
	uint32_t serial;
	char zone[AYA_DNAME_STR_MAX];
	char target[64];
	size_t len;
	uint8_t msg[512];
	/* notify_key, copied (checks the answer's TSIG); its secret is wiped at free. */
	bool has_key;
	cfg_key_t key;
	uint8_t secret[128];
};

static void job_free(ayad_notify_t *j)
{
	ayad_notify_t **p = &j->d->notify;
	while (*p != NULL && *p != j) {
		p = &(*p)->next;
	}
	if (*p == j) {
		*p = j->next;
	}
	if (j->ev != NULL) {
		event_free(j->ev);
	}
	if (j->fd >= 0) {
		close(j->fd);
	}
	OPENSSL_cleanse(j->secret, sizeof(j->secret));
	free(j);
}

static void job_send(ayad_notify_t *j)
{
	static const struct timeval every = {AYAD_NOTIFY_INTERVAL_MS / 1000,
	                                     AYAD_NOTIFY_INTERVAL_MS % 1000 * 1000};
	j->tries++;
	if (send(j->fd, j->msg, j->len, 0) < 0) {
		log_debug("notify: zone %s to %s: send: %s", j->zone, j->target, strerror(errno));
	}
	event_add(j->ev, &every);
}

static void on_event(evutil_socket_t fd, short what, void *arg)
{
	ayad_notify_t *j = arg;
	if (what & EV_READ) {
		uint8_t buf[4096];
		ssize_t n = recv(fd, buf, sizeof(buf), 0);
		int rc =
		        n > 0 ? dnsd_notify_reply(j->msg, j->len, buf, (size_t)n,
		                                  j->has_key ? &j->key : NULL, (uint64_t)time(NULL))
		              : -EBADMSG;
		if (rc == 0) {
			log_info("notify: zone %s serial %u: %s acknowledged", j->zone,
			         (unsigned)j->serial, j->target);
			job_free(j);
			return;
		}
		if (rc > 0) {
			log_warn("notify: zone %s serial %u: %s answered rcode %d", j->zone,
			         (unsigned)j->serial, j->target, rc);
			job_free(j);
			return;
		}
		if (rc == -EACCES) {
			log_debug("notify: zone %s: %s answered without a valid TSIG, ignored",
			          j->zone, j->target);
		}
		return; /* not our answer (or ICMP refused): the timeout stays armed */
	}
	if (j->tries >= AYAD_NOTIFY_TRIES) {
		log_warn("notify: zone %s serial %u: %s did not answer %u NOTIFYs", j->zone,
		         (unsigned)j->serial, j->target, j->tries);
		job_free(j);
		return;
	}
	job_send(j);
}

/* One NOTIFY job for zone z to target t; 0 or a negative errno (logged). */
static int job_start(ayad_t *d, const cfg_t *cfg, const cfg_zone_t *z, const cfg_sockaddr_t *t)
{
	for (ayad_notify_t *j = d->notify; j != NULL; j = j->next) {
		if (strcmp(j->zone, z->name) == 0 && strcmp(j->target, t->text) == 0) {
			job_free(j); /* the older serial is moot */
			break;
		}
	}
	ayad_notify_t *j = calloc(1, sizeof(*j));
	if (j == NULL) {
		return -ENOMEM;
	}
	j->d = d;
	j->fd = -1;
	j->serial = z->serial;
	snprintf(j->zone, sizeof(j->zone), "%s", z->name);
	snprintf(j->target, sizeof(j->target), "%s", t->text);
	if (getrandom(&j->id, sizeof(j->id), GRND_NONBLOCK) != (ssize_t)sizeof(j->id)) {
		j->id = (uint16_t)(time(NULL) ^ (uintptr_t)j);
	}
	const cfg_key_t *key = z->notify_key != CFG_NO_KEY ? &cfg->keys[z->notify_key] : NULL;
	int rc = -EINVAL;
	if (key != NULL) {
		if (key->secret_len > sizeof(j->secret)) {
			goto fail;
		}
		j->has_key = true;
		j->key = *key;
		j->key.name = NULL; /* borrowed from cfg: not kept */
		memcpy(j->secret, key->secret, key->secret_len);
		j->key.secret = j->secret;
	}
	j->len = dnsd_notify_build(z->apex, key, j->id, (uint64_t)time(NULL), j->msg,
	                           sizeof(j->msg));
	if (j->len == 0) {
		goto fail;
	}
	j->fd = socket(t->ss.ss_family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (j->fd < 0 || connect(j->fd, (const struct sockaddr *)&t->ss, t->len) != 0) {
		rc = -errno;
		goto fail;
	}
	j->ev = event_new(d->base, j->fd, EV_READ | EV_PERSIST, on_event, j);
	if (j->ev == NULL) {
		rc = -ENOMEM;
		goto fail;
	}
	j->next = d->notify;
	d->notify = j;
	job_send(j);
	return 0;
fail:
	log_warn("notify: zone %s to %s: %s", z->name, t->text, strerror(-rc));
	if (j->fd >= 0) {
		close(j->fd);
	}
	OPENSSL_cleanse(j->secret, sizeof(j->secret));
	free(j);
	return rc;
}

void ayad_notify_changed(ayad_t *d, const cfg_t *old, const cfg_t *cfg)
{
	for (size_t i = 0; i < cfg->n_zones; i++) {
		const cfg_zone_t *z = &cfg->zones[i];
		const cfg_zone_t *o = z->n_notify > 0 ? cfg_zone_find(old, z->name) : NULL;
		if (o == NULL || o->serial == z->serial) {
			continue;
		}
		log_info("notify: zone %s serial %u -> %u, notifying %zu secondar%s", z->name,
		         (unsigned)o->serial, (unsigned)z->serial, z->n_notify,
		         z->n_notify == 1 ? "y" : "ies");
		for (size_t k = 0; k < z->n_notify; k++) {
			(void)job_start(d, cfg, z, &z->notify[k]);
		}
	}
}

void ayad_notify_stop(ayad_t *d)
{
	while (d->notify != NULL) {
		job_free(d->notify);
	}
}
