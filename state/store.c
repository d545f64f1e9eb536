/*
 * The LMDB environment: open (with the corrupt-file recovery), load, flush,
 * close, status. Invariant: while a state_t is open, st->env is a valid
 * environment whose three tables exist and whose format is STATE_FORMAT, and
 * every observation on disk is also in the hot map (the map may be ahead of
 * the disk by the dirty records only).
 */
#include "state/state.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "common/log.h"
#include "state/state_int.h"
#include "common/time.h"

#define DATA_FILE "state.lmdb"
#define LOCK_FILE "state.lock"
#define MAX_DBS 8
/* LMDB's free-page table, handle 0 (FREE_DBI inside mdb.c); readable in read-only txns. */
#define FREE_TABLE ((MDB_dbi)0) /* meta, overrides, observations, members, room */

int state_mdb_err(int rc)
{
	switch (rc) {
	case MDB_SUCCESS:
		return 0;
	case MDB_NOTFOUND:
		return -ENOENT;
	case MDB_MAP_FULL:
	case MDB_DBS_FULL:
		return -ENOSPC;
	case MDB_INVALID:
	case MDB_CORRUPTED:
	case MDB_PAGE_NOTFOUND:
	case MDB_VERSION_MISMATCH:
	case MDB_INCOMPATIBLE:
		return -EBADMSG;
	case MDB_READERS_FULL:
		return -EAGAIN;
	case MDB_TXN_FULL:
		return -E2BIG;
	default:
		return rc > 0 ? -rc : -EIO;
	}
}

int state_mdb_walk(const state_t *st, MDB_dbi dbi, state_mdb_fn fn, void *ctx)
{
	MDB_txn *txn = NULL;
	MDB_cursor *cur = NULL;
	MDB_val k, v;
	int ret = 0;
	int rc = mdb_txn_begin(st->env, NULL, MDB_RDONLY, &txn);
	if (rc == 0) {
		rc = mdb_cursor_open(txn, dbi, &cur);
	}
	for (int op = MDB_FIRST; rc == 0 && ret == 0; op = MDB_NEXT) {
		if ((rc = mdb_cursor_get(cur, &k, &v, (MDB_cursor_op)op)) == 0) {
			ret = fn(&k, &v, ctx);
		}
	}
	if (cur != NULL) {
		mdb_cursor_close(cur);
	}
	if (txn != NULL) {
		mdb_txn_abort(txn);
	}
	if (ret != 0) {
		return ret;
	}
	return rc == 0 || rc == MDB_NOTFOUND ? 0 : state_mdb_err(rc);
}

uint64_t state_now_ms(const state_t *st)
{
	if (st->opts.clock_ms != NULL) {
		return st->opts.clock_ms(st->opts.clock_ctx);
	}
	return aya_wall_ms();
}

int state_check_name(const char *s, size_t max)
{
	size_t n = strnlen(s, max + 1);
	if (n == 0) {
		return -EINVAL;
	}
	if (n > max) {
		return -ENAMETOOLONG;
	}
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c < 0x20 || c == 0x7f) {
			return -EINVAL;
		}
	}
	return 0;
}

static int path_in(const state_t *st, const char *name, char *out, size_t outlen)
{
	int n = snprintf(out, outlen, "%s/%s", st->dir, name);
	return n < 0 || (size_t)n >= outlen ? -ENAMETOOLONG : 0;
}

static int take_lock(state_t *st)
{
	char path[PATH_MAX];
	int rc = path_in(st, LOCK_FILE, path, sizeof(path));
	if (rc < 0) {
		return rc;
	}
	st->lock_fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (st->lock_fd < 0) {
		return -errno;
	}
	if (flock(st->lock_fd, LOCK_EX | LOCK_NB) != 0) {
		return errno == EWOULDBLOCK ? -EBUSY : -errno;
	}
	/* Our pid, for the message of a second daemon (state_lock_pid); best effort. */
	char pid[24];
	int n = snprintf(pid, sizeof(pid), "%ld\n", (long)getpid());
	if (ftruncate(st->lock_fd, 0) != 0 || pwrite(st->lock_fd, pid, (size_t)n, 0) != n) {
		log_warn("state: %s: cannot write our pid: %s", path, strerror(errno));
	}
	return 0;
}

int state_lock_pid(const char *dir, long *pid)
{
	char path[PATH_MAX], buf[24];
	int n = snprintf(path, sizeof(path), "%s/%s", dir, LOCK_FILE);
	if (n < 0 || (size_t)n >= sizeof(path)) {
		return -ENAMETOOLONG;
	}
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		return -errno;
	}
	ssize_t len = pread(fd, buf, sizeof(buf) - 1, 0);
	close(fd);
	if (len <= 0) {
		return len < 0 ? -EIO : -ENOENT;
	}
	buf[len] = '\0';
	char *end = NULL;
	errno = 0;
	long v = strtol(buf, &end, 10);
	if (errno != 0 || end == buf || v <= 0 || (*end != '\n' && *end != '\0')) {
		return -EBADMSG;
	}
	*pid = v;
	return 0;
}

bool state_lock_free(const char *dir)
{
	char path[PATH_MAX];
	int n = snprintf(path, sizeof(path), "%s/%s", dir, LOCK_FILE);
	if (n < 0 || (size_t)n >= sizeof(path)) {
		return false;
	}
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		return errno == ENOENT;
	}
	/* A lock of ours on another open file: released with the close. */
	bool free_now = flock(fd, LOCK_EX | LOCK_NB) == 0;
	close(fd);
	return free_now;
}

/*
 * LMDB trusts its meta page for the file's extent and would fault (SIGBUS)
 * on a page past the end of a truncated file: check the size first.
 */
static int check_extent(state_t *st)
{
	MDB_envinfo info;
	MDB_stat ms;
	int fd;
	struct stat sb;
	if (mdb_env_info(st->env, &info) != 0 || mdb_env_stat(st->env, &ms) != 0 ||
	    mdb_env_get_fd(st->env, &fd) != 0 || fstat(fd, &sb) != 0) {
		return -EIO;
	}
	uint64_t need = ((uint64_t)info.me_last_pgno + 1) * ms.ms_psize;
	if ((uint64_t)sb.st_size < need) {
		log_err("state: %s/%s: file is %lld bytes, its meta page needs %llu", st->dir,
		        DATA_FILE, (long long)sb.st_size, (unsigned long long)need);
		return -EBADMSG;
	}
	return 0;
}

static int open_tables(state_t *st)
{
	MDB_txn *txn;
	MDB_val k = {6, (void *)"format"}, v;
	/* Read-only: the tables are the writer's (a read-only commit keeps the handles). */
	bool ro = (st->opts.flags & STATE_OPEN_READONLY) != 0;
	unsigned create = ro ? 0 : MDB_CREATE;
	int rc = mdb_txn_begin(st->env, NULL, ro ? MDB_RDONLY : 0, &txn);
	if (rc != 0) {
		return state_mdb_err(rc);
	}
	if ((rc = mdb_dbi_open(txn, "meta", create, &st->dbi_meta)) != 0 ||
	    (rc = mdb_dbi_open(txn, "overrides", create, &st->dbi_ovr)) != 0 ||
	    (rc = mdb_dbi_open(txn, "observations", create, &st->dbi_obs)) != 0 ||
	    (rc = mdb_dbi_open(txn, "members", create, &st->dbi_members)) != 0) {
		goto fail;
	}
	rc = mdb_get(txn, st->dbi_meta, &k, &v);
	if (rc == MDB_NOTFOUND && !ro) {
		uint8_t fmt[4] = {0, 0, 0, STATE_FORMAT};
		v = (MDB_val){sizeof(fmt), fmt};
		rc = mdb_put(txn, st->dbi_meta, &k, &v, 0);
	} else if (rc == 0) {
		const uint8_t *p = v.mv_data;
		if (v.mv_size != 4) {
			rc = MDB_CORRUPTED;
			goto fail;
		}
		uint32_t fmt =
		        (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
		if (fmt != STATE_FORMAT) {
			log_err("state: %s/%s: format %u, this build reads %u", st->dir, DATA_FILE,
			        fmt, STATE_FORMAT);
			mdb_txn_abort(txn);
			return fmt > STATE_FORMAT ? -EPROTONOSUPPORT : -EBADMSG;
		}
	}
	if (rc != 0) {
		goto fail;
	}
	return state_mdb_err(mdb_txn_commit(txn));
fail:
	mdb_txn_abort(txn);
	return state_mdb_err(rc);
}

/* Every observation into the hot map; the highest version seen anywhere. */
static int load(state_t *st)
{
	MDB_txn *txn;
	MDB_cursor *cur = NULL;
	MDB_val k, v;
	char observer[STATE_NODE_MAX + 1], endpoint[STATE_NAME_MAX + 1];
	int rc = mdb_txn_begin(st->env, NULL, MDB_RDONLY, &txn);
	if (rc != 0) {
		return state_mdb_err(rc);
	}
	if ((rc = mdb_cursor_open(txn, st->dbi_obs, &cur)) != 0) {
		goto out;
	}
	for (rc = mdb_cursor_get(cur, &k, &v, MDB_FIRST); rc == 0;
	     rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
		state_obs_t obs;
		char error[STATE_ERROR_MAX + 1];
		if (state_obs_key_decode(k.mv_data, k.mv_size, observer, endpoint) < 0 ||
		    state_obs_value_decode_ext(v.mv_data, v.mv_size, &obs, error) < 0) {
			st->bad_records++;
			continue;
		}
		obs.observer = observer;
		obs.endpoint = endpoint;
		int mrc = state_obs_map_load(st, &obs);
		if (mrc < 0) {
			mdb_cursor_close(cur);
			mdb_txn_abort(txn);
			return mrc;
		}
		if (obs.version > st->last_version) {
			st->last_version = obs.version;
		}
	}
	mdb_cursor_close(cur);
	/* Drains are few; their versions also bound state_next_version(). */
	if (rc == MDB_NOTFOUND && (rc = mdb_cursor_open(txn, st->dbi_ovr, &cur)) == 0) {
		for (rc = mdb_cursor_get(cur, &k, &v, MDB_FIRST); rc == 0;
		     rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
			state_drain_t d;
			char origin[STATE_NODE_MAX + 1], note[STATE_NOTE_MAX + 1];
			if (state_ovr_value_decode(v.mv_data, v.mv_size, &d, origin, note) < 0) {
				st->bad_records++;
			} else if (d.version > st->last_version) {
				st->last_version = d.version;
			}
		}
		mdb_cursor_close(cur);
	}
out:
	mdb_txn_abort(txn);
	if (st->bad_records > 0) {
		log_warn("state: %s/%s: %llu undecodable records skipped", st->dir, DATA_FILE,
		         (unsigned long long)st->bad_records);
	}
	return rc == MDB_NOTFOUND ? 0 : state_mdb_err(rc);
}

/* Read every key and value of one table; MDB_NOTFOUND at the end is success. */
static int walk(MDB_txn *txn, MDB_dbi dbi, unsigned *sum)
{
	MDB_cursor *cur;
	MDB_val k, v;
	int rc = mdb_cursor_open(txn, dbi, &cur);
	if (rc != 0) {
		return rc;
	}
	for (int op = MDB_FIRST; rc == 0; op = MDB_NEXT) {
		rc = mdb_cursor_get(cur, &k, &v, (MDB_cursor_op)op);
		for (size_t i = 0; rc == 0 && i < v.mv_size; i++) {
			*sum += ((const unsigned char *)v.mv_data)[i];
		}
	}
	mdb_cursor_close(cur);
	return rc == MDB_NOTFOUND ? 0 : rc;
}

/* Child side of verify_file(): 0 readable, 1 corrupt, 2 other failure. */
static int verify_child(const char *path, size_t map_size)
{
	MDB_env *env;
	MDB_txn *txn;
	MDB_dbi main_dbi, dbi;
	MDB_cursor *cur;
	MDB_val k, v;
	volatile unsigned sum = 0;
	unsigned s = 0;
	if (mdb_env_create(&env) != 0 || mdb_env_set_mapsize(env, map_size) != 0 ||
	    mdb_env_set_maxdbs(env, MAX_DBS) != 0) {
		return 2;
	}
	int rc = mdb_env_open(env, path, MDB_NOSUBDIR | MDB_RDONLY | MDB_NOLOCK, 0600);
	if (rc == 0) {
		rc = mdb_txn_begin(env, NULL, MDB_RDONLY, &txn);
	}
	if (rc == 0 && (rc = walk(txn, FREE_TABLE, &s)) == 0 &&
	    (rc = mdb_dbi_open(txn, NULL, 0, &main_dbi)) == 0 &&
	    (rc = mdb_cursor_open(txn, main_dbi, &cur)) == 0) {
		/* The main table lists the named tables: walk each. */
		for (int op = MDB_FIRST; rc == 0; op = MDB_NEXT) {
			char name[64];
			if ((rc = mdb_cursor_get(cur, &k, &v, (MDB_cursor_op)op)) != 0) {
				break;
			}
			if (k.mv_size == 0 || k.mv_size >= sizeof(name)) {
				rc = MDB_CORRUPTED;
				break;
			}
			memcpy(name, k.mv_data, k.mv_size);
			name[k.mv_size] = '\0';
			if ((rc = mdb_dbi_open(txn, name, 0, &dbi)) == 0) {
				rc = walk(txn, dbi, &s);
			}
		}
		rc = rc == MDB_NOTFOUND ? 0 : rc;
	}
	sum = s;
	(void)sum;
	return state_mdb_err(rc) == -EBADMSG ? 1 : rc != 0 ? 2 : 0;
}

/*
 * LMDB trusts the page pointers it reads, and a damaged page can make it
 * fault (SIGBUS past the end of the file, SIGSEGV) instead of returning
 * MDB_CORRUPTED. So before the real open, a forked child reads every page
 * reachable from the meta page; its death by signal marks the file corrupt.
 * One fork and one read of the file at start-up, before any thread exists.
 */
static int verify_file(const char *path, size_t map_size)
{
	struct stat sb;
	if (stat(path, &sb) != 0 || sb.st_size == 0) {
		return 0; /* nothing yet: LMDB creates it */
	}
	pid_t pid = fork();
	if (pid < 0) {
		return -errno;
	}
	if (pid == 0) {
		/* A fault must kill the child, whatever handlers the parent set. */
		signal(SIGBUS, SIG_DFL);
		signal(SIGSEGV, SIG_DFL);
		_exit(verify_child(path, map_size));
	}
	int status;
	while (waitpid(pid, &status, 0) < 0) {
		if (errno != EINTR) {
			return -errno;
		}
	}
	if (WIFSIGNALED(status)) {
		log_err("state: %s: reading it crashed a check process (signal %d), corrupt", path,
		        WTERMSIG(status));
		return -EBADMSG;
	}
	int code = WIFEXITED(status) ? WEXITSTATUS(status) : 2;
	if (code == 1) {
		log_err("state: %s: corrupt pages", path);
	}
	return code == 0 ? 0 : code == 1 ? -EBADMSG : -EIO;
}

static void env_close(state_t *st)
{
	if (st->env != NULL) {
		mdb_env_close(st->env);
		st->env = NULL;
	}
	state_obs_map_free(st);
}

/*
 * A read-only store is a reader of another process's environment, through
 * LMDB's own lock file (its reader table), so it sees that writer's commits.
 */
static unsigned env_flags(const state_t *st)
{
	return (st->opts.flags & STATE_OPEN_READONLY) != 0 ? MDB_RDONLY : 0;
}

static int env_open(state_t *st)
{
	char path[PATH_MAX];
	int rc = path_in(st, DATA_FILE, path, sizeof(path));
	if (rc < 0) {
		return rc;
	}
	if ((st->opts.flags & STATE_OPEN_NOCHECK) == 0 &&
	    (rc = verify_file(path, st->opts.map_size)) < 0) {
		return rc;
	}
	if ((rc = mdb_env_create(&st->env)) != 0) {
		st->env = NULL;
		return state_mdb_err(rc);
	}
	if ((rc = mdb_env_set_mapsize(st->env, st->opts.map_size)) != 0 ||
	    (rc = mdb_env_set_maxdbs(st->env, MAX_DBS)) != 0 ||
	    (rc = mdb_env_open(st->env, path, MDB_NOSUBDIR | MDB_NOMETASYNC | env_flags(st),
	                       0600)) != 0) {
		log_err("state: %s: %s", path, mdb_strerror(rc));
		rc = state_mdb_err(rc);
		goto fail;
	}
	int dead = 0;
	if ((rc = check_extent(st)) < 0) {
		goto fail;
	}
	if ((rc = state_mdb_err(mdb_reader_check(st->env, &dead))) < 0 ||
	    (rc = open_tables(st)) < 0 || (rc = load(st)) < 0) {
		log_err("state: %s: unreadable: %s", path, strerror(-rc));
		goto fail;
	}
	return 0;
fail:
	env_close(st);
	return rc;
}

/* Rename the data file to state.lmdb.corrupt-<unix s>[-N] and drop LMDB's lock file. */
static int move_aside(state_t *st)
{
	char from[PATH_MAX], to[PATH_MAX], lock[PATH_MAX];
	long long now_s = (long long)(state_now_ms(st) / 1000u);
	int rc = path_in(st, DATA_FILE, from, sizeof(from));
	if (rc == 0) {
		rc = path_in(st, DATA_FILE "-lock", lock, sizeof(lock));
	}
	for (int i = 0; rc == 0 && i < 100; i++) {
		int n = i == 0 ? snprintf(to, sizeof(to), "%s.corrupt-%lld", from, now_s)
		               : snprintf(to, sizeof(to), "%s.corrupt-%lld-%d", from, now_s, i);
		if (n < 0 || (size_t)n >= sizeof(to)) {
			return -ENAMETOOLONG;
		}
		if (access(to, F_OK) != 0 && errno == ENOENT) {
			if (rename(from, to) != 0) {
				return -errno;
			}
			(void)unlink(lock);
			log_warn("state: %s: corrupt, moved aside to %s, starting empty", from, to);
			st->recovered = true;
			return 0;
		}
	}
	return rc < 0 ? rc : -EEXIST;
}

static void set_opts(state_t *st, const state_opts_t *opts)
{
	if (opts != NULL) {
		st->opts = *opts;
	}
	if (st->opts.map_size == 0) {
		st->opts.map_size = STATE_MAP_SIZE_DEFAULT;
	}
	if (st->opts.flush_interval_ms == 0) {
		st->opts.flush_interval_ms = STATE_FLUSH_INTERVAL_MS_DEFAULT;
	}
	st->opts.node = NULL; /* copied into st->node */
}

int state_open(const char *dir, const state_opts_t *opts, state_t **out)
{
	*out = NULL;
	if (opts != NULL && opts->node != NULL && opts->node[0] != '\0') {
		int nrc = state_check_name(opts->node, STATE_NODE_MAX);
		if (nrc < 0) {
			return nrc;
		}
	}
	state_t *st = calloc(1, sizeof(*st));
	if (st == NULL) {
		return -ENOMEM;
	}
	st->lock_fd = -1;
	set_opts(st, opts);
	if (opts != NULL && opts->node != NULL) {
		memcpy(st->node, opts->node, strlen(opts->node) + 1);
	}
	int rc = -ENOMEM;
	if ((st->dir = strdup(dir)) == NULL) {
		goto fail;
	}
	bool ro = (st->opts.flags & STATE_OPEN_READONLY) != 0;
	if ((rc = state_dir_create(dir)) < 0 || (!ro && (rc = take_lock(st)) < 0)) {
		/* -EBUSY: the caller says what it does about it. */
		if (rc != -EBUSY) {
			log_err("state: %s: %s", dir, strerror(-rc));
		}
		goto fail;
	}
	rc = env_open(st);
	/* Never move aside a file that another process writes. */
	if (rc == -EBADMSG && !ro && (st->opts.flags & STATE_OPEN_RECOVER) != 0) {
		st->bad_records = 0;
		if ((rc = move_aside(st)) == 0) {
			rc = env_open(st);
		}
	}
	if (rc < 0) {
		goto fail;
	}
	st->last_flush_ms = state_now_ms(st);
	*out = st;
	return 0;
fail:
	if (st->lock_fd >= 0) {
		close(st->lock_fd);
	}
	free(st->dir);
	free(st);
	return rc;
}

void state_close(state_t *st)
{
	if (st == NULL) {
		return;
	}
	int rc = state_flush(st);
	if (rc < 0) {
		log_err("state: %s: final flush failed, %zu observations lost: %s", st->dir,
		        st->n_dirty, strerror(-rc));
	}
	env_close(st);
	state_steer_free(st);
	free(st->dirty);
	if (st->lock_fd >= 0) {
		close(st->lock_fd);
	}
	free(st->dir);
	free(st);
}

int state_flush(state_t *st)
{
	if (st->n_dirty == 0) {
		return 0;
	}
	MDB_txn *txn = NULL;
	int rc = mdb_txn_begin(st->env, NULL, 0, &txn);
	for (size_t i = 0; rc == 0 && i < st->n_dirty; i++) {
		const struct obs_entry *e = st->dirty[i];
		uint8_t kb[OBS_KEY_MAX], vb[OBS_VALUE_MAX];
		MDB_val k = {state_obs_key_encode(kb, e->obs.observer, e->obs.endpoint), kb};
		MDB_val v = {state_obs_value_encode(vb, &e->obs), vb};
		rc = mdb_put(txn, st->dbi_obs, &k, &v, 0);
	}
	if (rc == 0) {
		rc = mdb_txn_commit(txn);
	} else if (txn != NULL) {
		mdb_txn_abort(txn);
	}
	if (rc != 0) {
		st->flush_errors++;
		log_ratelimited(AYA_LOG_ERR, "state: %s: flush of %zu observations failed: %s",
		                st->dir, st->n_dirty, mdb_strerror(rc));
		return state_mdb_err(rc);
	}
	for (size_t i = 0; i < st->n_dirty; i++) {
		st->dirty[i]->dirty = false;
	}
	st->n_dirty = 0;
	st->flushes++;
	st->last_flush_ms = state_now_ms(st);
	return 0;
}

bool state_flush_due(const state_t *st, uint64_t now_ms)
{
	return st->n_dirty > 0 && now_ms >= st->last_flush_ms + st->opts.flush_interval_ms;
}

uint64_t state_next_version(state_t *st)
{
	uint64_t now = state_now_ms(st);
	st->last_version = now > st->last_version ? now : st->last_version + 1;
	return st->last_version;
}

void state_stats_get(const state_t *st, state_stats_t *out)
{
	MDB_envinfo info;
	MDB_stat ms;
	memset(out, 0, sizeof(*out));
	out->n_obs = st->n_obs;
	out->n_dirty = st->n_dirty;
	out->generation = st->generation;
	out->flushes = st->flushes;
	out->flush_errors = st->flush_errors;
	out->bad_records = st->bad_records;
	out->last_flush_ms = st->last_flush_ms;
	out->recovered = st->recovered;
	if (mdb_env_info(st->env, &info) == 0 && mdb_env_stat(st->env, &ms) == 0) {
		out->map_size = info.me_mapsize;
		out->map_used = ((size_t)info.me_last_pgno + 1) * ms.ms_psize;
	}
}
