/*
 * dnsd_server_check(), the systemd watchdog's view of the DNS threads: a
 * worker waiting for queries is alive, one stuck on a batch or gone is not.
 * The workers' liveness fields are set by hand on a bare server struct.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "dnsd/dnsd.h"
#include "dnsd/server_int.h"

static void test_liveness(void **state)
{
	(void)state;
	dnsd_udp_worker_t w[2];
	memset(w, 0, sizeof(w));
	snprintf(w[0].addr_text, sizeof(w[0].addr_text), "127.0.0.1:53");
	snprintf(w[1].addr_text, sizeof(w[1].addr_text), "[::1]:53");
	dnsd_server_t srv;
	memset(&srv, 0, sizeof(srv));
	srv.udp = w;
	srv.n_udp = 2;
	char why[200] = "";

	/* Both waiting in recvmmsg. */
	assert_int_equal(dnsd_server_check(&srv, 2000, why, sizeof(why)), 0);

	/* Busy for 100 ms: answering, alive. */
	uint64_t now = dnsd_coarse_ms();
	atomic_store(&w[1].busy_since_ms, now - 100);
	assert_int_equal(dnsd_server_check(&srv, 2000, why, sizeof(why)), 0);

	/* Busy for 5 s on one batch: wedged, and the reason names it. */
	atomic_store(&w[1].busy_since_ms, now - 5000);
	assert_int_equal(dnsd_server_check(&srv, 2000, why, sizeof(why)), -1);
	assert_non_null(strstr(why, "udp worker 1 ([::1]:53) has been answering one batch"));

	/* Back to waiting: alive again. */
	atomic_store(&w[1].busy_since_ms, 0);
	assert_int_equal(dnsd_server_check(&srv, 2000, why, sizeof(why)), 0);

	/* A thread that ended. */
	atomic_store(&w[0].exited, true);
	assert_int_equal(dnsd_server_check(&srv, 2000, why, sizeof(why)), -1);
	assert_non_null(strstr(why, "udp worker 0 (127.0.0.1:53) has exited"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_liveness),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
