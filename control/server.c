/*
 * Control server: a unix stream socket on the control thread's libevent
 * base. Each connection sends one framed Request and gets one framed Reply,
 * then the server closes it once the reply is flushed. Oversized frames
 * close the connection; undecodable ones get an error reply. Handlers run
 * synchronously on the event base thread. A failed accept() (EMFILE: out of
 * descriptors) pauses the listener with a back-off (common/listen.h).
 */
#include "control/control.h"

#include <errno.h>
#include <limits.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/listener.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "common/listen.h"
#include "common/log.h"

typedef struct ctl_conn ctl_conn_t;
struct ctl_conn {
	ctl_server_t *srv;
	struct bufferevent *bev;
	bool replied;
	ctl_deferred_t *dfr; /* the handler deferred its reply */
	ctl_conn_t *prev, *next;
};

struct ctl_deferred {
	ctl_conn_t *conn; /* NULL once the connection is gone */
	ctl_cmd_t cmd;
};

struct ctl_server {
	struct evconnlistener *listener;
	aya_listen_guard_t *guard; /* pauses the listener after a failed accept */
	char *path;
	/* The file we bound: at exit only it is removed, never a successor's. */
	dev_t dev;
	ino_t ino;
	ctl_handler_fn handlers[CTL_CMD_COUNT];
	void *arg;
	ctl_conn_t *conns;
};

static void conn_free(ctl_conn_t *c)
{
	if (c->dfr != NULL) {
		c->dfr->conn = NULL; /* the answer, when it comes, goes nowhere */
	}
	if (c->prev != NULL) {
		c->prev->next = c->next;
	} else {
		c->srv->conns = c->next;
	}
	if (c->next != NULL) {
		c->next->prev = c->prev;
	}
	bufferevent_free(c->bev);
	free(c);
}

/* Frame the reply and queue it on c; 0 or -ENOMEM. */
static int send_reply(ctl_conn_t *c, const ctl_reply_t *reply)
{
	uint8_t *frame = NULL;
	size_t flen = 0;
	int rc = ctl_reply_frame(reply, &frame, &flen);
	if (rc == 0) {
		rc = bufferevent_write(c->bev, frame, flen) == 0 ? 0 : -ENOMEM;
		free(frame);
	}
	return rc;
}

ctl_deferred_t *ctl_defer(ctl_reply_t *reply)
{
	ctl_conn_t *c = reply->conn;
	ctl_deferred_t *d = c != NULL ? calloc(1, sizeof(*d)) : NULL;
	if (d == NULL) {
		return NULL;
	}
	d->conn = c;
	d->cmd = reply->cmd;
	c->dfr = d;
	return d;
}

void ctl_defer_cancel(ctl_deferred_t *d)
{
	if (d->conn != NULL) {
		d->conn->dfr = NULL;
	}
	free(d);
}

void ctl_deferred_reply(ctl_deferred_t *d, const ctl_reply_t *reply)
{
	ctl_conn_t *c = d->conn;
	if (c != NULL) {
		c->dfr = NULL;
		ctl_reply_t r = *reply;
		r.cmd = d->cmd;
		r.version = CTL_VERSION;
		if (send_reply(c, &r) < 0) {
			conn_free(c);
		}
	}
	free(d);
}

/* Run the handler for one decoded request (or build the error) and queue the reply. */
static int respond(ctl_conn_t *c, const uint8_t *body, size_t len)
{
	ctl_reply_t reply = {.cmd = CTL_CMD_COUNT, .version = CTL_VERSION, .ok = false};
	ctl_request_t req;
	aya_arena_t *scratch = aya_arena_new();
	if (scratch == NULL) {
		return -ENOMEM;
	}
	int rc = ctl_request_decode(body, len, scratch, &req);
	if (rc == -EBADMSG) {
		reply.error = "malformed request";
	} else if (rc == -ENOMEM) {
		reply.error = "out of memory";
	} else if (rc < 0 || c->srv->handlers[req.cmd] == NULL) {
		reply.error = "unsupported command";
	} else {
		reply.cmd = req.cmd;
		reply.ok = true;
		reply.conn = c;
		c->srv->handlers[req.cmd](c->srv->arg, &req, &reply, scratch);
		log_debug("control: %s request, %s", ctl_cmd_name(req.cmd),
		          c->dfr != NULL ? "deferred"
		          : reply.ok     ? "ok"
		                         : "failed");
	}
	/* Deferred: ctl_deferred_reply() answers; the request is consumed all the same. */
	rc = c->dfr != NULL ? 0 : send_reply(c, &reply);
	aya_arena_free(scratch);
	return rc;
}

static void on_read(struct bufferevent *bev, void *arg)
{
	ctl_conn_t *c = arg;
	struct evbuffer *in = bufferevent_get_input(bev);
	size_t have = evbuffer_get_length(in);
	uint8_t hdr[CTL_FRAME_HDR];
	size_t body_len = 0;
	if (c->replied || evbuffer_copyout(in, hdr, sizeof(hdr)) != (ev_ssize_t)sizeof(hdr)) {
		return;
	}
	int rc = ctl_frame_check(hdr, sizeof(hdr), CTL_FRAME_MAX, &body_len);
	if (rc < 0) {
		log_warn("control: request of %zu bytes over the %d limit, closed", body_len,
		         CTL_FRAME_MAX);
		conn_free(c);
		return;
	}
	if (have < CTL_FRAME_HDR + body_len) {
		/* Wait for the rest; the read timeout bounds a stalled peer. */
		return;
	}
	uint8_t *body = evbuffer_pullup(in, (ev_ssize_t)(CTL_FRAME_HDR + body_len));
	if (body == NULL || respond(c, body + CTL_FRAME_HDR, body_len) < 0) {
		conn_free(c);
		return;
	}
	evbuffer_drain(in, CTL_FRAME_HDR + body_len);
	c->replied = true;
	bufferevent_disable(bev, EV_READ);
}

static void on_write(struct bufferevent *bev, void *arg)
{
	ctl_conn_t *c = arg;
	if (c->replied && evbuffer_get_length(bufferevent_get_output(bev)) == 0) {
		conn_free(c);
	}
}

static void on_event(struct bufferevent *bev, short what, void *arg)
{
	(void)bev;
	(void)what;
	conn_free(arg);
}

static void on_accept(struct evconnlistener *l, evutil_socket_t fd, struct sockaddr *sa, int salen,
                      void *arg)
{
	(void)l;
	(void)sa;
	(void)salen;
	ctl_server_t *srv = arg;
	struct event_base *base = evconnlistener_get_base(srv->listener);
	aya_listen_guard_ok(srv->guard);
	ctl_conn_t *c = calloc(1, sizeof(*c));
	struct bufferevent *bev =
	        c == NULL ? NULL : bufferevent_socket_new(base, fd, BEV_OPT_CLOSE_ON_FREE);
	if (bev == NULL) {
		log_warn("control: out of memory, connection closed");
		free(c);
		evutil_closesocket(fd);
		return;
	}
	c->srv = srv;
	c->bev = bev;
	c->next = srv->conns;
	if (srv->conns != NULL) {
		srv->conns->prev = c;
	}
	srv->conns = c;
	struct timeval tv = {.tv_sec = CTL_TIMEOUT_MS / 1000, .tv_usec = 0};
	bufferevent_set_timeouts(bev, &tv, &tv);
	bufferevent_setcb(bev, on_read, on_write, on_event, c);
	bufferevent_enable(bev, EV_READ | EV_WRITE);
}

/* The queued connection stays queued: pause rather than be woken for it at once. */
static void on_accept_error(struct evconnlistener *l, void *arg)
{
	(void)l;
	ctl_server_t *srv = arg;
	aya_listen_guard_fail(srv->guard);
}

/* Remove a socket file no live server answers on; -EADDRINUSE when one does. */
static int remove_stale(const char *path)
{
	struct stat st;
	if (lstat(path, &st) != 0) {
		return errno == ENOENT ? 0 : -errno;
	}
	if (!S_ISSOCK(st.st_mode)) {
		return -EEXIST;
	}
	int fd = ctl_connect(path);
	if (fd >= 0) {
		close(fd);
		return -EADDRINUSE;
	}
	return unlink(path) == 0 ? 0 : -errno;
}

static int listen_unix(const char *path)
{
	struct sockaddr_un sun = {.sun_family = AF_UNIX};
	if (strlen(path) >= sizeof(sun.sun_path)) {
		return -ENAMETOOLONG;
	}
	memcpy(sun.sun_path, path, strlen(path) + 1);
	int rc = remove_stale(path);
	if (rc < 0) {
		return rc;
	}
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0) {
		return -errno;
	}
	/* Only the owner may talk to ayad; listen() comes after the chmod. */
	if (bind(fd, (struct sockaddr *)&sun, sizeof(sun)) != 0 || chmod(path, 0600) != 0) {
		rc = -errno;
		close(fd);
		return rc;
	}
	return fd;
}

int ctl_server_new(struct event_base *base, const char *path,
                   const ctl_handler_fn handlers[CTL_CMD_COUNT], void *arg, ctl_server_t **out)
{
	*out = NULL;
	int rc = -ENOMEM, fd = -1;
	ctl_server_t *srv = calloc(1, sizeof(*srv));
	if (srv == NULL || (srv->path = strdup(path)) == NULL ||
	    (srv->guard = aya_listen_guard_new(base, "control")) == NULL) {
		goto fail;
	}
	memcpy(srv->handlers, handlers, sizeof(srv->handlers));
	srv->arg = arg;
	fd = listen_unix(path);
	if (fd < 0) {
		log_err("control: %s: %s", path, strerror(-fd));
		rc = fd;
		goto fail;
	}
	srv->listener = evconnlistener_new(base, on_accept, srv,
	                                   LEV_OPT_CLOSE_ON_FREE | LEV_OPT_CLOSE_ON_EXEC, 16, fd);
	if (srv->listener == NULL) {
		rc = errno ? -errno : -ENOMEM;
		log_err("control: %s: listen: %s", path, strerror(-rc));
		close(fd);
		unlink(path);
		goto fail;
	}
	evconnlistener_set_error_cb(srv->listener, on_accept_error);
	struct stat st;
	if (lstat(path, &st) == 0) {
		srv->dev = st.st_dev;
		srv->ino = st.st_ino;
	}
	if ((rc = aya_listen_guard_add(srv->guard, srv->listener)) < 0) {
		evconnlistener_free(srv->listener);
		unlink(path);
		goto fail;
	}
	*out = srv;
	return 0;
fail:
	if (srv != NULL) {
		aya_listen_guard_free(srv->guard);
		free(srv->path);
		free(srv);
	}
	return rc;
}

/* Can members of gid pass through every directory above path? */
static void check_reach(const char *path, gid_t gid)
{
	char dir[PATH_MAX];
	snprintf(dir, sizeof(dir), "%s", path);
	for (char *slash = strrchr(dir, '/'); slash != NULL && slash != dir;
	     slash = strrchr(dir, '/')) {
		*slash = '\0';
		struct stat st;
		if (stat(dir, &st) != 0) {
			return;
		}
		bool through = (st.st_mode & S_IXOTH) != 0 ||
		               (st.st_gid == gid && (st.st_mode & S_IXGRP) != 0);
		if (!through) {
			log_warn("control: %s: group %u cannot reach the socket: %s is mode %04o, "
			         "group %u (chgrp and chmod g+x it, or set control.socket "
			         "elsewhere)",
			         path, (unsigned)gid, dir, (unsigned)(st.st_mode & 07777),
			         (unsigned)st.st_gid);
			return;
		}
	}
}

int ctl_server_set_group(ctl_server_t *srv, gid_t gid)
{
	/* Only a group the operator named is worth a warning about reaching the socket. */
	bool named = gid != (gid_t)-1;
	if (!named) {
		gid = getegid();
	}
	if (chown(srv->path, (uid_t)-1, gid) != 0 || chmod(srv->path, 0660) != 0) {
		int rc = -errno;
		log_err("control: %s: group %u: %s%s", srv->path, (unsigned)gid, strerror(-rc),
		        rc == -EPERM ? " (ayad must be a member of control.group: with user: it "
		                       "is made one, under systemd add SupplementaryGroups=)"
		                     : "");
		return rc;
	}
	if (named) {
		check_reach(srv->path, gid);
	}
	return 0;
}

void ctl_server_free(ctl_server_t *srv)
{
	if (srv == NULL) {
		return;
	}
	while (srv->conns != NULL) {
		conn_free(srv->conns);
	}
	evconnlistener_free(srv->listener);
	aya_listen_guard_free(srv->guard);
	/*
	 * An upgrade's new ayad may have bound the path since (it replaces a
	 * file no server answers on): remove the file only while it is ours.
	 * A check-then-unlink race remains only against a bind in between,
	 * which needs our listener gone: it is, but the successor binds after
	 * our state lock is released, later than this.
	 */
	struct stat st;
	if (lstat(srv->path, &st) == 0 && st.st_dev == srv->dev && st.st_ino == srv->ino) {
		unlink(srv->path);
	}
	free(srv->path);
	free(srv);
}
