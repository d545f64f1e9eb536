/*
 * ayactl: talk to a running ayad over its control socket.
 *
 *   ayactl [-s SOCKET] [--json] status|reload
 *
 * The socket comes from -s, else $AYA_SOCKET, else CTL_DEFAULT_SOCKET.
 * Exit codes: 0 ok, 1 the command failed (message printed), 2 usage,
 * 3 cannot reach ayad.
 */
#include <errno.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "control/control.h"

enum { EXIT_OK = 0, EXIT_FAILED = 1, EXIT_USAGE = 2, EXIT_CONNECT = 3 };

/* A reload loads every zone file: give it longer than a status. */
#define RELOAD_TIMEOUT_MS 120000

static void usage(FILE *f)
{
	fprintf(f,
	        "usage: ayactl [-s SOCKET] [--json] COMMAND\n"
	        "\n"
	        "commands:\n"
	        "  status   node, zones, counters, last reload\n"
	        "  reload   reload the configuration and zones (exit 1 if rejected)\n"
	        "\n"
	        "options:\n"
	        "  -s, --socket PATH  control socket (default $AYA_SOCKET or %s)\n"
	        "  -j, --json         JSON output\n"
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
	return r->ok ? EXIT_OK : EXIT_FAILED;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
	        {"socket", required_argument, NULL, 's'},
	        {"json", no_argument, NULL, 'j'},
	        {"help", no_argument, NULL, 'h'},
	        {NULL, 0, NULL, 0},
	};
	const char *path = getenv("AYA_SOCKET");
	bool json = false;
	int c;
	while ((c = getopt_long(argc, argv, "s:jh", opts, NULL)) != -1) {
		switch (c) {
		case 's':
			path = optarg;
			break;
		case 'j':
			json = true;
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
	ctl_cmd_t cmd;
	if (optind + 1 != argc || ctl_cmd_parse(argv[optind], &cmd) != 0) {
		if (optind < argc) {
			fprintf(stderr, "ayactl: unknown command '%s'\n", argv[optind]);
		}
		usage(stderr);
		return EXIT_USAGE;
	}
	int fd = ctl_connect(path);
	if (fd < 0) {
		fprintf(stderr, "ayactl: cannot connect to ayad at %s: %s\n", path, strerror(-fd));
		return EXIT_CONNECT;
	}
	ctl_reply_t *r = NULL;
	int rc = ctl_call(fd, cmd, cmd == CTL_CMD_RELOAD ? RELOAD_TIMEOUT_MS : CTL_TIMEOUT_MS, &r);
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
