/*
 * Fuzz target: the load parsers of agent/load.c on their own. The input is
 * "KEY\nTEXT": KEY is the operator's header name, JSON path or metric name
 * (monitors.load.key), TEXT the backend's header block or body, passed as
 * exactly its bytes (no terminator) so a read past the end is caught.
 */
#include "tests/fuzz/fuzz.h"

#include <stdlib.h>
#include <string.h>

#include "agent/agent_int.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const uint8_t *nl = memchr(data, '\n', size);
	size_t klen = nl != NULL ? (size_t)(nl - data) : 0;
	if (nl == NULL || klen > 255 || memchr(data, '\0', klen) != NULL) {
		return 0;
	}
	char key[256];
	memcpy(key, data, klen);
	key[klen] = '\0';
	size_t len = size - klen - 1;
	char *text = malloc(len > 0 ? len : 1);
	if (text == NULL) {
		abort();
	}
	memcpy(text, nl + 1, len);
	double v;
	(void)agent_load_header(text, len, key, &v);
	(void)agent_load_json(text, len, key, &v);
	(void)agent_load_prometheus(text, len, key, &v);
	free(text);
	return 0;
}

int fuzz_write_seeds(const char *dir)
{
	static const char *const seeds[][2] = {
	        {"header", "X-Load\nContent-Type: text/plain\r\nX-Load: 0.42\r\n"},
	        {"header-percent", "x-load\nX-Load:  73% \r\nServer: a\r\n"},
	        {"json", "stats.load\n{\"stats\": {\"load\": 0.5, \"capacity\": 100}}"},
	        {"json-list", "pools.1.load\n{\"pools\": [{\"load\": 0.1}, {\"load\": 0.9}]}"},
	        {"json-string", "load\n{\"load\": \"0.3\"}"},
	        {"prometheus", "app_load\n# HELP app_load Load.\n# TYPE app_load gauge\n"
	                       "app_load{pool=\"a\",zone=\"b\"} 0.7 1700000000000\n"},
	        {"prometheus-prefix", "app_load\napp_load_total 5\napp_load 0.25\n"},
	        {"prometheus-nan", "up\nup NaN\nup +Inf\n"},
	        {"empty-key", "\n{\"\": 1}"},
	};
	for (size_t i = 0; i < sizeof(seeds) / sizeof(*seeds); i++) {
		if (!fuzz_seed(dir, seeds[i][0], seeds[i][1], strlen(seeds[i][1]))) {
			return -1;
		}
	}
	return 0;
}
