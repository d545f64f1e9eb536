/*
 * ayactl: talk to a running ayad over its control socket.
 *
 *   ayactl [-s SOCKET] [--json] status|reload|services
 *   ayactl [-s SOCKET] [--json] drain SERVICE [REGION|ADDRESS] [--reason TEXT] [--for DURATION]
 *   ayactl [-s SOCKET] [--json] undrain SERVICE [REGION|ADDRESS]
 *   ayactl [-s SOCKET] [--json] explain NAME CLIENT_IP [--subnet N] [--type A|AAAA]
 *   ayactl [-s SOCKET] [--json] cost [REGION VALUE|reset]
 *   ayactl [-s SOCKET] [--json] backends [SERVICE]
 *   ayactl [-s SOCKET] [--json] members
 *   ayactl [-s SOCKET] [--json] keyring list|install KEY|use KEY_ID|remove KEY_ID [--force]
 *   ayactl [-s SOCKET] [--json] log-level [debug|info|warning|error]
 *   ayactl [-s SOCKET] [--json] top [--interval S] [--count N]
 *   ayactl [-s SOCKET] [--json] dnssec status [ZONE] | ds ZONE | add ZONE [--ksk|--zsk]
 *                               | activate ZONE TAG | remove ZONE TAG
 *
 * The socket comes from -s, else $AYA_SOCKET, else CTL_DEFAULT_SOCKET.
 * Exit codes: 0 ok, 1 the command failed (message printed), 2 usage,
 * 3 cannot reach ayad. A failure prints its message on stderr; with --json
 * instead one object on stdout, {"ok": false, "command", "error", "exit"},
 * and nothing on stderr, so that a script reading stdout (or both) always
 * gets JSON. A usage error is one line and a hint, not the whole help.
 */
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "control/control.h"

enum { EXIT_OK = 0, EXIT_FAILED = 1, EXIT_USAGE = 2, EXIT_CONNECT = 3 };

/* A reload loads every zone file: give it longer than a status. */
#define RELOAD_TIMEOUT_MS 120000
/* A keyring op waits for every member: up to two phases of ~5 s. */
#define KEYRING_TIMEOUT_MS 20000

static void usage(FILE *f)
{
	fprintf(f,
	        "usage: ayactl [-s SOCKET] [--json] COMMAND [ARGS]\n"
	        "\n"
	        "commands:\n"
	        "  status                          node, zones, services, geo, counters\n"
	        "  reload                          reload the configuration and zones\n"
	        "                                  (exit 1 if rejected)\n"
	        "  services                        services, pools, endpoints, drains\n"
	        "  drain SERVICE [REGION|ADDRESS]  stop answering with a service, one of\n"
	        "                                  its regions or one endpoint (persistent)\n"
	        "    [--reason TEXT] [--for DURATION] why (shown by services), and an end:\n"
	        "                                  --for 90s|15m|2h|1d undrains by itself\n"
	        "  undrain SERVICE [REGION|ADDRESS]\n"
	        "  explain NAME CLIENT_IP          why NAME answers what it does for a client\n"
	        "  cost                            every region's config and effective cost\n"
	        "  cost REGION VALUE               set a region's cost at runtime (0..1000000;\n"
	        "                                  cluster-wide, persistent)\n"
	        "  cost REGION reset               back to the config's cost\n"
	        "  backends [SERVICE]              monitored endpoints: state, since, error,\n"
	        "                                  RTT, load, observers, the policy's view\n"
	        "  members                         gossip members: region, address, state,\n"
	        "                                  incarnation, last heard, config drift\n"
	        "  keyring list                    gossip keys by id: on how many live members\n"
	        "                                  each is installed and the primary\n"
	        "  keyring install KEY             a base64 AES-256 key, on every live member\n"
	        "  keyring use KEY_ID              every live member sends with it (refused\n"
	        "                                  unless all have it installed)\n"
	        "  keyring remove KEY_ID [--force] every live member stops accepting it (refused\n"
	        "                                  while a member sends with it)\n"
	        "                                  keyring changes reach every live member and\n"
	        "                                  are saved in each one's state_dir; exit 1\n"
	        "                                  unless every member applied it\n"
	        "  log-level [LEVEL]               show or set the log level: debug, info,\n"
	        "                                  warning, error (until the next reload,\n"
	        "                                  which applies the config's log.level)\n"
	        "  top [--interval S] [--count N]  live view: queries/s, answers/s and each\n"
	        "                                  pool's share per service, health flips\n"
	        "  dnssec status [ZONE]            signed zones: keys, signatures' expiry\n"
	        "  dnssec ds ZONE                  the DS records for the parent zone\n"
	        "  dnssec add ZONE [--ksk|--zsk]   a new key, published, not signing yet\n"
	        "  dnssec activate ZONE TAG        the key signs; the key it replaces retires\n"
	        "  dnssec remove ZONE TAG          delete a key that no longer signs\n"
	        "\n"
	        "options:\n"
	        "  -s, --socket PATH  control socket (default $AYA_SOCKET or %s)\n"
	        "  -j, --json         JSON output\n"
	        "      --subnet N     explain: the client sent EDNS Client Subnet /N\n"
	        "      --type T       explain: A (default) or AAAA\n"
	        "      --force        keyring remove: even if a member may still use the key\n"
	        "      --interval S   top: seconds between refreshes (default 1)\n"
	        "      --count N      top: stop after N refreshes (default: until interrupted)\n"
	        "      --reason TEXT  drain: why, stored with the drain\n"
	        "      --for DURATION drain: it ends by itself after 90s, 15m, 2h, 1d, ...\n"
	        "      --ksk, --zsk   dnssec add: a key-signing or zone-signing key (default:\n"
	        "                     a combined key, in a zone without dnssec.split)\n"
	        "  -h, --help         this text\n",
	        CTL_DEFAULT_SOCKET);
}

/* With --json, failures are a JSON object on stdout (ctl_error_json), not text. */
static bool json_out;

/* The failure's line on stderr, or its JSON object on stdout; returns ex. */
static int fail(int ex, const char *cmd, const char *fmt, ...) AYA_PRINTF(3, 4);
static int fail(int ex, const char *cmd, const char *fmt, ...)
{
	char msg[1024];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (json_out) {
		char *s = ctl_error_json(cmd, msg, ex);
		printf("%s\n", s != NULL ? s : "{\"ok\": false}");
		free(s);
		return ex;
	}
	fprintf(stderr, "ayactl: %s\n", msg);
	if (ex == EXIT_USAGE) {
		fprintf(stderr, "run 'ayactl --help' for the commands\n");
	}
	return ex;
}

/* r, the reply to cmd: the exit code. */
static int print_reply(const ctl_reply_t *r, ctl_cmd_t cmd, bool json)
{
	if (json && !r->ok) {
		char *s = ctl_error_json(ctl_cmd_name(cmd), r->error, EXIT_FAILED);
		printf("%s\n", s != NULL ? s : "{\"ok\": false}");
		free(s);
		return EXIT_FAILED;
	}
	if (json) {
		char *s = ctl_reply_to_json(r);
		if (s == NULL) {
			return fail(EXIT_FAILED, ctl_cmd_name(r->cmd), "out of memory");
		}
		printf("%s\n", s);
		free(s);
	} else {
		ctl_reply_write_text(r->ok ? stdout : stderr, r);
	}
	/* A keyring op that did not reach every member is a failure too. */
	bool done = r->ok && (r->cmd != CTL_CMD_KEYRING || r->keyring.complete);
	return done ? EXIT_OK : EXIT_FAILED;
}

/* "24", "/24" or "192.0.2.0/24" to 24; -1 when not a number in 0..128. */
static int parse_subnet(const char *s)
{
	const char *slash = strrchr(s, '/');
	const char *p = slash != NULL ? slash + 1 : s;
	char *end = NULL;
	errno = 0;
	long v = strtol(p, &end, 10);
	if (*p == '\0' || *end != '\0' || errno != 0 || v < 0 || v > 128) {
		return -1;
	}
	return (int)v;
}

static int parse_type(const char *s, uint16_t *out)
{
	if (strcasecmp(s, "A") == 0) {
		*out = 1;
	} else if (strcasecmp(s, "AAAA") == 0) {
		*out = 28;
	} else {
		return -1;
	}
	return 0;
}

/* dnssec OP [ZONE [TAG]]: the arity each op takes (a bad tag is a usage error later). */
static bool take_dnssec(ctl_request_t *req, char **args, int n)
{
	if (n < 1) {
		return false;
	}
	const char *op = args[0];
	req->dnssec_op = op;
	req->zone = n >= 2 ? args[1] : NULL;
	if (strcmp(op, "status") == 0) {
		return n <= 2;
	}
	if (strcmp(op, "ds") == 0 || strcmp(op, "add") == 0) {
		return n == 2;
	}
	if (strcmp(op, "activate") == 0 || strcmp(op, "remove") == 0) {
		return n == 3;
	}
	return false;
}

/*
 * cost REGION VALUE|reset: VALUE must be a whole finite number ("10",
 * "2.5", "1e3"); the range is ayad's to check. false with a message.
 */
static bool take_cost(ctl_request_t *req, const char *value)
{
	if (strcasecmp(value, "reset") == 0) {
		req->cost_reset = true;
		return true;
	}
	char *end = NULL;
	errno = 0;
	double v = strtod(value, &end);
	if (value[0] == '\0' || *end != '\0' || errno == ERANGE || !isfinite(v)) {
		fail(EXIT_USAGE, "cost", "cost: '%s' is not a number (or 'reset')", value);
		return false;
	}
	req->cost = v;
	return true;
}

/* Positional arguments of cmd into req; false when their count is wrong. */
static bool take_args(ctl_request_t *req, char **args, int n)
{
	switch (req->cmd) {
	case CTL_CMD_DRAIN:
	case CTL_CMD_UNDRAIN:
		if (n < 1 || n > 2) {
			return false;
		}
		req->service = args[0];
		req->target = n == 2 ? args[1] : NULL;
		return true;
	case CTL_CMD_BACKENDS:
		if (n > 1) {
			return false;
		}
		req->service = n == 1 ? args[0] : NULL;
		return true;
	case CTL_CMD_EXPLAIN:
		if (n != 2) {
			return false;
		}
		req->name = args[0];
		req->client = args[1];
		return true;
	case CTL_CMD_COST:
		req->region = n == 2 ? args[0] : NULL;
		return n == 0 || n == 2; /* the value: take_cost() */
	case CTL_CMD_KEYRING:
		if (n < 1 || n > 2) {
			return false;
		}
		req->keyring_op = args[0];
		req->key = n == 2 ? args[1] : NULL;
		/* list takes no key; the others need one. */
		return strcmp(args[0], "list") == 0 ? n == 1 : n == 2;
	case CTL_CMD_LOG_LEVEL:
		req->level = n == 1 ? args[0] : NULL;
		return n <= 1;
	case CTL_CMD_DNSSEC:
		return take_dnssec(req, args, n);
	default:
		return n == 0;
	}
}

/* A key tag: 0..65535. */
static bool parse_tag(const char *s, uint32_t *out)
{
	char *end = NULL;
	errno = 0;
	long v = strtol(s, &end, 10);
	if (s[0] < '0' || s[0] > '9' || *end != '\0' || errno != 0 || v > 65535) {
		return false;
	}
	*out = (uint32_t)v;
	return true;
}

/* --json anywhere before "--": known before getopt, for its own errors. */
static bool want_json(int argc, char **argv)
{
	for (int i = 1; i < argc && strcmp(argv[i], "--") != 0; i++) {
		if (strcmp(argv[i], "--json") == 0 || strcmp(argv[i], "-j") == 0) {
			return true;
		}
	}
	return false;
}

/* Where the socket path came from, for the error when it does not answer. */
static const char *path_from = "the default";

/* What to do about a socket that does not answer. */
static const char *connect_hint(int err)
{
	switch (err) {
	case ENOENT:
	case ECONNREFUSED:
		return "is ayad running? Give its control.socket with -s PATH or $AYA_SOCKET";
	case EACCES:
	case EPERM:
		return "only ayad's user and the members of the socket's group (control.group) "
		       "may use it";
	default:
		return "give ayad's control.socket with -s PATH or $AYA_SOCKET";
	}
}

/* One request on a new connection: 0, or the exit code (message printed). */
static int call(const char *path, const ctl_request_t *req, int timeout_ms, ctl_reply_t **r)
{
	const char *name = ctl_cmd_name(req->cmd);
	int fd = ctl_connect(path);
	if (fd < 0) {
		return fail(EXIT_CONNECT, name, "cannot connect to ayad at %s (%s): %s; %s", path,
		            path_from, strerror(-fd), connect_hint(-fd));
	}
	int rc = ctl_call(fd, req, timeout_ms, r);
	close(fd);
	if (rc < 0) {
		return fail(EXIT_CONNECT, name, "%s: no valid reply from %s: %s", name, path,
		            strerror(-rc));
	}
	return EXIT_OK;
}

typedef struct top_opts {
	double interval_s; /* 0: not given */
	long count;        /* 0: until interrupted */
} top_opts_t;

static void sleep_s(double s)
{
	struct timespec ts = {.tv_sec = (time_t)s,
	                      .tv_nsec = (long)((s - (double)(time_t)s) * 1e9)};
	while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
	}
}

/* One sample of `top`: 0, or the exit code (message printed). */
static int top_sample(const char *path, ctl_reply_t **r)
{
	ctl_request_t req = {.cmd = CTL_CMD_TOP};
	int ex = call(path, &req, CTL_TIMEOUT_MS, r);
	if (ex == EXIT_OK && !(*r)->ok) {
		ex = print_reply(*r, CTL_CMD_TOP, json_out);
		ctl_reply_free(*r);
		*r = NULL;
	}
	return ex;
}

/*
 * top: a sample, then every interval another and the rates between the
 * last two; the screen is cleared (ANSI) only when stdout is a terminal.
 */
static int run_top(const char *path, const top_opts_t *o)
{
	double interval = o->interval_s > 0.0 ? o->interval_s : 1.0;
	bool tty = !json_out && isatty(STDOUT_FILENO);
	ctl_reply_t *prev = NULL, *cur = NULL;
	int ex = top_sample(path, &prev);
	for (long i = 0; ex == EXIT_OK && (o->count == 0 || i < o->count); i++) {
		sleep_s(interval);
		ex = top_sample(path, &cur);
		if (ex != EXIT_OK) {
			break;
		}
		if (json_out) {
			char *s = ctl_top_to_json(&prev->top, &cur->top);
			if (s == NULL) {
				ex = fail(EXIT_FAILED, "top", "out of memory");
				break;
			}
			printf("%s\n", s);
			free(s);
		} else {
			if (tty) {
				fputs("\033[H\033[2J", stdout);
			}
			ctl_top_write_text(stdout, &prev->top, &cur->top);
			if (!tty) {
				putchar('\n');
			}
		}
		fflush(stdout);
		ctl_reply_free(prev);
		prev = cur;
		cur = NULL;
	}
	ctl_reply_free(prev);
	return ex;
}

/* A positive number of seconds up to an hour; -1 otherwise. */
static double parse_interval(const char *s)
{
	char *end = NULL;
	errno = 0;
	double v = strtod(s, &end);
	if (s[0] == '\0' || *end != '\0' || errno != 0 || !(v >= 0.05 && v <= 3600.0)) {
		return -1.0;
	}
	return v;
}

static long parse_count(const char *s)
{
	char *end = NULL;
	errno = 0;
	long v = strtol(s, &end, 10);
	if (s[0] == '\0' || *end != '\0' || errno != 0 || v < 1) {
		return -1;
	}
	return v;
}

int main(int argc, char **argv)
{
	enum {
		OPT_SUBNET = 256,
		OPT_TYPE,
		OPT_FORCE,
		OPT_INTERVAL,
		OPT_COUNT,
		OPT_REASON,
		OPT_FOR,
		OPT_KSK,
		OPT_ZSK
	};
	static const struct option opts[] = {
	        {"socket", required_argument, NULL, 's'},
	        {"json", no_argument, NULL, 'j'},
	        {"help", no_argument, NULL, 'h'},
	        {"subnet", required_argument, NULL, OPT_SUBNET},
	        {"type", required_argument, NULL, OPT_TYPE},
	        {"force", no_argument, NULL, OPT_FORCE},
	        {"interval", required_argument, NULL, OPT_INTERVAL},
	        {"count", required_argument, NULL, OPT_COUNT},
	        {"reason", required_argument, NULL, OPT_REASON},
	        {"for", required_argument, NULL, OPT_FOR},
	        {"ksk", no_argument, NULL, OPT_KSK},
	        {"zsk", no_argument, NULL, OPT_ZSK},
	        {NULL, 0, NULL, 0},
	};
	const char *path = getenv("AYA_SOCKET");
	if (path != NULL && path[0] != '\0') {
		path_from = "$AYA_SOCKET";
	}
	ctl_request_t req = {.cmd = CTL_CMD_COUNT, .qtype = 1};
	top_opts_t top = {0};
	int c;
	json_out = want_json(argc, argv);
	opterr = 0; /* our own one-line messages */
	while ((c = getopt_long(argc, argv, ":s:jh", opts, NULL)) != -1) {
		switch (c) {
		case 's':
			path = optarg;
			path_from = "-s";
			break;
		case 'j':
			json_out = true;
			break;
		case OPT_SUBNET: {
			int v = parse_subnet(optarg);
			if (v < 0) {
				return fail(EXIT_USAGE, NULL, "--subnet %s: not a prefix length",
				            optarg);
			}
			req.has_subnet = true;
			req.subnet = (unsigned)v;
			break;
		}
		case OPT_TYPE:
			if (parse_type(optarg, &req.qtype) != 0) {
				return fail(EXIT_USAGE, NULL, "--type %s: A or AAAA", optarg);
			}
			break;
		case OPT_FORCE:
			req.force = true;
			break;
		case OPT_INTERVAL:
			top.interval_s = parse_interval(optarg);
			if (top.interval_s < 0) {
				return fail(EXIT_USAGE, NULL,
				            "--interval %s: seconds, from 0.05 to 3600", optarg);
			}
			break;
		case OPT_COUNT:
			top.count = parse_count(optarg);
			if (top.count < 0) {
				return fail(EXIT_USAGE, NULL,
				            "--count %s: a whole number, 1 or more", optarg);
			}
			break;
		case OPT_REASON:
			req.reason = optarg;
			break;
		case OPT_FOR:
			if (ctl_duration_parse(optarg, &req.for_s) != 0) {
				return fail(EXIT_USAGE, NULL,
				            "--for %s: a duration like 90s, 15m, 2h, 1d", optarg);
			}
			break;
		case OPT_KSK:
		case OPT_ZSK:
			if (req.role != NULL) {
				return fail(EXIT_USAGE, NULL, "give one of --ksk and --zsk");
			}
			req.role = c == OPT_KSK ? "ksk" : "zsk";
			break;
		case 'h':
			usage(stdout);
			return EXIT_OK;
		case ':':
			return fail(EXIT_USAGE, NULL, "%s: needs a value", argv[optind - 1]);
		default:
			return fail(EXIT_USAGE, NULL, "unknown option '%s'", argv[optind - 1]);
		}
	}
	if (path == NULL || path[0] == '\0') {
		path = CTL_DEFAULT_SOCKET;
	}
	if (optind >= argc) {
		return fail(EXIT_USAGE, NULL, "no command given");
	}
	if (ctl_cmd_parse(argv[optind], &req.cmd) != 0) {
		return fail(EXIT_USAGE, NULL, "unknown command '%s'", argv[optind]);
	}
	ctl_cmd_t cmd = req.cmd;
	const char *name = ctl_cmd_name(cmd);
	if (!take_args(&req, argv + optind + 1, argc - optind - 1)) {
		return fail(EXIT_USAGE, name, "%s: wrong number of arguments", name);
	}
	if (cmd == CTL_CMD_COST && req.region != NULL && !take_cost(&req, argv[argc - 1])) {
		return EXIT_USAGE;
	}
	if (cmd == CTL_CMD_DNSSEC &&
	    (strcmp(req.dnssec_op, "activate") == 0 || strcmp(req.dnssec_op, "remove") == 0) &&
	    !parse_tag(argv[argc - 1], &req.tag)) {
		return fail(EXIT_USAGE, name, "dnssec %s: '%s' is not a key tag (0..65535)",
		            req.dnssec_op, argv[argc - 1]);
	}
	if (req.role != NULL && (cmd != CTL_CMD_DNSSEC || strcmp(req.dnssec_op, "add") != 0)) {
		return fail(EXIT_USAGE, name, "--ksk and --zsk go with dnssec add");
	}
	if ((req.reason != NULL || req.for_s > 0) && cmd != CTL_CMD_DRAIN) {
		return fail(EXIT_USAGE, name, "--reason and --for go with drain");
	}
	int level;
	if (cmd == CTL_CMD_LOG_LEVEL && req.level != NULL &&
	    ctl_log_level_parse(req.level, &level) != 0) {
		return fail(EXIT_USAGE, name,
		            "log-level: '%s' is not debug, info, warning or error", req.level);
	}
	if (cmd != CTL_CMD_TOP && (top.interval_s > 0.0 || top.count > 0)) {
		return fail(EXIT_USAGE, name, "--interval and --count are options of top");
	}
	if (cmd == CTL_CMD_TOP) {
		return run_top(path, &top);
	}
	ctl_reply_t *r = NULL;
	/* A changed key re-signs every signed zone: as long as a reload. */
	bool resign = cmd == CTL_CMD_DNSSEC && strcmp(req.dnssec_op, "status") != 0 &&
	              strcmp(req.dnssec_op, "ds") != 0;
	int timeout_ms = cmd == CTL_CMD_RELOAD || resign ? RELOAD_TIMEOUT_MS
	                 : cmd == CTL_CMD_KEYRING        ? KEYRING_TIMEOUT_MS
	                                                 : CTL_TIMEOUT_MS;
	int ex = call(path, &req, timeout_ms, &r);
	if (ex != EXIT_OK) {
		return ex;
	}
	ex = print_reply(r, cmd, json_out);
	ctl_reply_free(r);
	return ex;
}
