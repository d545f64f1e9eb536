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
 *
 * The socket comes from -s, else $AYA_SOCKET, else CTL_DEFAULT_SOCKET.
 * Exit codes: 0 ok, 1 the command failed (message printed), 2 usage,
 * 3 cannot reach ayad.
 */
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
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
	        "\n"
	        "options:\n"
	        "  -s, --socket PATH  control socket (default $AYA_SOCKET or %s)\n"
	        "  -j, --json         JSON output\n"
	        "      --subnet N     explain: the client sent EDNS Client Subnet /N\n"
	        "      --type T       explain: A (default) or AAAA\n"
	        "      --force        keyring remove: even if a member may still use the key\n"
	        "      --reason TEXT  drain: why, stored with the drain\n"
	        "      --for DURATION drain: it ends by itself after 90s, 15m, 2h, 1d, ...\n"
	        "  -h, --help         this text\n",
	        CTL_DEFAULT_SOCKET);
}

static int print_reply(const ctl_reply_t *r, bool json)
{
	if (json) {
		char *s = ctl_reply_to_json(r);
		if (s == NULL) {
			fprintf(stderr, "ayactl: out of memory\n");
			return EXIT_FAILED;
		}
		fprintf(r->ok ? stdout : stderr, "%s\n", s);
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
		fprintf(stderr, "ayactl: cost: '%s' is not a number (or 'reset')\n", value);
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
	default:
		return n == 0;
	}
}

int main(int argc, char **argv)
{
	enum { OPT_SUBNET = 256, OPT_TYPE, OPT_FORCE, OPT_REASON, OPT_FOR };
	static const struct option opts[] = {
	        {"socket", required_argument, NULL, 's'},
	        {"json", no_argument, NULL, 'j'},
	        {"help", no_argument, NULL, 'h'},
	        {"subnet", required_argument, NULL, OPT_SUBNET},
	        {"type", required_argument, NULL, OPT_TYPE},
	        {"force", no_argument, NULL, OPT_FORCE},
	        {"reason", required_argument, NULL, OPT_REASON},
	        {"for", required_argument, NULL, OPT_FOR},
	        {NULL, 0, NULL, 0},
	};
	const char *path = getenv("AYA_SOCKET");
	bool json = false;
	ctl_request_t req = {.cmd = CTL_CMD_COUNT, .qtype = 1};
	int c;
	while ((c = getopt_long(argc, argv, "s:jh", opts, NULL)) != -1) {
		switch (c) {
		case 's':
			path = optarg;
			break;
		case 'j':
			json = true;
			break;
		case OPT_SUBNET: {
			int v = parse_subnet(optarg);
			if (v < 0) {
				fprintf(stderr, "ayactl: --subnet %s: not a prefix length\n",
				        optarg);
				return EXIT_USAGE;
			}
			req.has_subnet = true;
			req.subnet = (unsigned)v;
			break;
		}
		case OPT_TYPE:
			if (parse_type(optarg, &req.qtype) != 0) {
				fprintf(stderr, "ayactl: --type %s: A or AAAA\n", optarg);
				return EXIT_USAGE;
			}
			break;
		case OPT_FORCE:
			req.force = true;
			break;
		case OPT_REASON:
			req.reason = optarg;
			break;
		case OPT_FOR:
			if (ctl_duration_parse(optarg, &req.for_s) != 0) {
				fprintf(stderr,
				        "ayactl: --for %s: a duration like 90s, 15m, 2h, 1d\n",
				        optarg);
				return EXIT_USAGE;
			}
			break;
		case 'h':
			usage(stdout);
			return EXIT_OK;
		default:
			usage(stderr);
			return EXIT_USAGE;
		}
	}
	if (path == NULL || path[0] == '\0') {
		path = CTL_DEFAULT_SOCKET;
	}
	if (optind >= argc || ctl_cmd_parse(argv[optind], &req.cmd) != 0) {
		if (optind < argc) {
			fprintf(stderr, "ayactl: unknown command '%s'\n", argv[optind]);
		}
		usage(stderr);
		return EXIT_USAGE;
	}
	ctl_cmd_t cmd = req.cmd;
	if (!take_args(&req, argv + optind + 1, argc - optind - 1)) {
		fprintf(stderr, "ayactl: %s: wrong number of arguments\n", ctl_cmd_name(cmd));
		usage(stderr);
		return EXIT_USAGE;
	}
	if (cmd == CTL_CMD_COST && req.region != NULL && !take_cost(&req, argv[argc - 1])) {
		return EXIT_USAGE;
	}
	if ((req.reason != NULL || req.for_s > 0) && cmd != CTL_CMD_DRAIN) {
		fprintf(stderr, "ayactl: --reason and --for go with drain\n");
		return EXIT_USAGE;
	}
	int fd = ctl_connect(path);
	if (fd < 0) {
		fprintf(stderr, "ayactl: cannot connect to ayad at %s: %s\n", path, strerror(-fd));
		return EXIT_CONNECT;
	}
	ctl_reply_t *r = NULL;
	int timeout_ms = cmd == CTL_CMD_RELOAD    ? RELOAD_TIMEOUT_MS
	                 : cmd == CTL_CMD_KEYRING ? KEYRING_TIMEOUT_MS
	                                          : CTL_TIMEOUT_MS;
	int rc = ctl_call(fd, &req, timeout_ms, &r);
	close(fd);
	if (rc < 0) {
		fprintf(stderr, "ayactl: %s: no valid reply from %s: %s\n", ctl_cmd_name(cmd), path,
		        strerror(-rc));
		return EXIT_CONNECT;
	}
	int ex = print_reply(r, json);
	ctl_reply_free(r);
	return ex;
}
