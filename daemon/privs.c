/*
 * Least privilege: config `user:`/`group:`. Started as root, ayad makes
 * state_dir the user's, switches to that user and group (with the control
 * socket's group among its supplementary groups) and keeps one capability,
 * CAP_NET_BIND_SERVICE, so that a reload can still bind port 53. This runs
 * before anything else (no thread, no socket, no file of the store open yet),
 * so every file ayad creates afterwards is the user's and every thread
 * inherits the reduced credentials (capabilities are per thread in Linux).
 *
 * Started as that user already (systemd's User= with AmbientCapabilities=),
 * there is nothing to do. Started as root, signed zones' key directories
 * (dnssec) become the user's too, with their files: ayad makes and rolls
 * keys there. Started as another non-root user,
 * it cannot switch: an error, rather than running with credentials the operator did not ask for.
 */
#include "daemon/ayad.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <string.h>
#include <sys/capability.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/log.h"

/* gid of a group name, or of the user's primary group when name is NULL. */
static int group_id(const char *name, gid_t dflt, gid_t *out, char *err, size_t n)
{
	if (name == NULL) {
		*out = dflt;
		return 0;
	}
	const struct group *g = getgrnam(name);
	if (g == NULL) {
		snprintf(err, n, "no such group '%s'", name);
		return -ENOENT;
	}
	*out = g->gr_gid;
	return 0;
}

/* The entries of the directory dfd (closed here) become uid:gid, links not followed. */
static int own_entries(int dfd, const char *what, const char *dir, uid_t uid, gid_t gid, char *err,
                       size_t n)
{
	DIR *dp = fdopendir(dfd);
	if (dp == NULL) {
		int rc = -errno;
		close(dfd);
		snprintf(err, n, "%s %s: %s", what, dir, strerror(-rc));
		return rc;
	}
	const struct dirent *e;
	while ((e = readdir(dp)) != NULL) {
		if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0) {
			continue;
		}
		/* Never follow a link out of the directory. */
		if (fchownat(dirfd(dp), e->d_name, uid, gid, AT_SYMLINK_NOFOLLOW) != 0) {
			int rc = -errno;
			snprintf(err, n, "%s %s/%s: chown: %s", what, dir, e->d_name,
			         strerror(-rc));
			closedir(dp);
			return rc;
		}
	}
	closedir(dp);
	return 0;
}

/* state_dir and the files directly in it become uid:gid; the directory 0750. */
static int own_state_dir(const char *dir, uid_t uid, gid_t gid, char *err, size_t n)
{
	int rc = state_dir_create(dir);
	int dfd = rc < 0 ? -1 : open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0) {
		rc = rc < 0 ? rc : -errno;
		snprintf(err, n, "state_dir %s: %s", dir, strerror(-rc));
		return rc;
	}
	if (fchown(dfd, uid, gid) != 0 || fchmod(dfd, 0750) != 0) {
		rc = -errno;
		snprintf(err, n, "state_dir %s: chown: %s", dir, strerror(-rc));
		close(dfd);
		return rc;
	}
	return own_entries(dfd, "state_dir", dir, uid, gid, err, n);
}

/*
 * A signed zone's key directory (default <state_dir>/dnssec, which the loop
 * above made the user's, but not its files): made 0700 when missing, it and
 * its files become uid:gid, so that ayad can make and roll keys as the user.
 */
static int own_key_dir(const char *dir, uid_t uid, gid_t gid, char *err, size_t n)
{
	int rc = 0;
	if (mkdir(dir, 0700) != 0 && errno != EEXIST) {
		rc = -errno;
	}
	int dfd = rc < 0 ? -1 : open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (dfd < 0) {
		rc = rc < 0 ? rc : -errno;
		snprintf(err, n, "dnssec key_directory %s: %s", dir, strerror(-rc));
		return rc;
	}
	if (fchown(dfd, uid, gid) != 0 || fchmod(dfd, 0700) != 0) {
		rc = -errno;
		snprintf(err, n, "dnssec key_directory %s: chown: %s", dir, strerror(-rc));
		close(dfd);
		return rc;
	}
	return own_entries(dfd, "dnssec key_directory", dir, uid, gid, err, n);
}

/* The user's groups plus the control socket's. */
static int set_groups(const struct passwd *pw, gid_t gid, const cfg_t *cfg, char *err, size_t n)
{
	gid_t groups[256];
	int ng = (int)AYA_ARRAY_LEN(groups) - 1;
	if (getgrouplist(pw->pw_name, gid, groups, &ng) < 0) {
		snprintf(err, n, "user %s is in more than %zu groups", pw->pw_name,
		         AYA_ARRAY_LEN(groups) - 1);
		return -E2BIG;
	}
	gid_t cg;
	int rc = group_id(cfg->control_group, gid, &cg, err, n);
	if (rc < 0) {
		return rc;
	}
	bool have = false;
	for (int i = 0; i < ng; i++) {
		have = have || groups[i] == cg;
	}
	if (!have) {
		groups[ng++] = cg;
	}
	if (setgroups((size_t)ng, groups) != 0) {
		rc = -errno;
		snprintf(err, n, "setgroups: %s", strerror(-rc));
		return rc;
	}
	return 0;
}

/*
 * CAP_NET_BIND_SERVICE, nothing else: permitted and effective for us,
 * inheritable and ambient for the binary a SIGUSR2 upgrade starts (it must
 * bind port 53 beside us, as the same user).
 */
static int keep_bind_cap(char *err, size_t n)
{
	cap_t caps = cap_init();
	cap_value_t v[] = {CAP_NET_BIND_SERVICE};
	int rc = 0;
	if (caps == NULL || cap_set_flag(caps, CAP_PERMITTED, 1, v, CAP_SET) != 0 ||
	    cap_set_flag(caps, CAP_EFFECTIVE, 1, v, CAP_SET) != 0 ||
	    cap_set_flag(caps, CAP_INHERITABLE, 1, v, CAP_SET) != 0 || cap_set_proc(caps) != 0 ||
	    cap_set_ambient(CAP_NET_BIND_SERVICE, CAP_SET) != 0) {
		rc = errno != 0 ? -errno : -EPERM;
		snprintf(err, n, "keeping CAP_NET_BIND_SERVICE: %s", strerror(-rc));
	}
	if (caps != NULL) {
		cap_free(caps);
	}
	return rc;
}

static int drop(const cfg_t *cfg, char *err, size_t n)
{
	const struct passwd *pw = getpwnam(cfg->user);
	if (pw == NULL) {
		snprintf(err, n, "user: no such user '%s'", cfg->user);
		return -ENOENT;
	}
	uid_t uid = pw->pw_uid;
	gid_t gid;
	int rc = group_id(cfg->group, pw->pw_gid, &gid, err, n);
	if (rc < 0) {
		return rc;
	}
	if (geteuid() == uid) {
		if (getegid() != gid && setgid(gid) != 0) {
			rc = -errno;
			snprintf(err, n, "group: running as user %s, cannot switch to gid %u: %s",
			         cfg->user, (unsigned)gid, strerror(-rc));
			return rc;
		}
		return 0; /* started as that user (systemd User=): nothing to drop */
	}
	if (geteuid() != 0) {
		snprintf(err, n,
		         "user: ayad runs as uid %u and cannot switch to %s (uid %u): start it as "
		         "root or as %s",
		         (unsigned)geteuid(), cfg->user, (unsigned)uid, cfg->user);
		return -EPERM;
	}
	if ((rc = own_state_dir(cfg->state_dir, uid, gid, err, n)) < 0) {
		return rc;
	}
	for (size_t i = 0; i < cfg->n_zones; i++) {
		char buf[4096];
		if (cfg->zones[i].dnssec.enabled &&
		    (rc = own_key_dir(ayad_dnssec_dir(cfg, &cfg->zones[i], buf, sizeof(buf)), uid,
		                      gid, err, n)) < 0) {
			return rc;
		}
	}
	if ((rc = set_groups(pw, gid, cfg, err, n)) < 0) {
		return rc;
	}
	/* Keep the permitted set across setuid(), then reduce it to one capability. */
	if (prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0) != 0 || setgid(gid) != 0 || setuid(uid) != 0) {
		rc = -errno;
		snprintf(err, n, "switching to %s: %s", cfg->user, strerror(-rc));
		return rc;
	}
	if ((rc = keep_bind_cap(err, n)) < 0) {
		return rc;
	}
	(void)prctl(PR_SET_KEEPCAPS, 0, 0, 0, 0);
	(void)prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0);
	/* Belt and braces: root must be out of reach now. */
	if (setuid(0) == 0 || seteuid(0) == 0) {
		snprintf(err, n, "still able to become root after the switch");
		return -EPERM;
	}
	log_info("ayad: running as user %s (uid %u, gid %u) with CAP_NET_BIND_SERVICE only",
	         cfg->user, (unsigned)uid, (unsigned)gid);
	return 0;
}

int ayad_privs_drop(const cfg_t *cfg)
{
	if (cfg->user == NULL) {
		return 0; /* group: without user: is a warning of the config loader */
	}
	char err[400] = "";
	int rc = drop(cfg, err, sizeof(err));
	if (rc < 0) {
		log_err("ayad: %s: %s", cfg->path, err);
	}
	return rc;
}

int ayad_control_gid(const cfg_t *cfg, gid_t *out)
{
	if (cfg->control_group == NULL) {
		*out = (gid_t)-1;
		return 0;
	}
	char err[200];
	int rc = group_id(cfg->control_group, (gid_t)-1, out, err, sizeof(err));
	if (rc < 0) {
		log_err("ayad: %s: control.group: %s", cfg->path, err);
	}
	return rc;
}
