/*
 * Unit tests for the state directory and its secret files (state/secret.c):
 * created with the right modes, read back unchanged, refused when the file
 * has another size or a file stands where the directory should be.
 */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include "state/state.h"
#include "tests/state/helpers.h"

static void test_dir_create(void **state)
{
	(void)state;
	char *root = tmpdir_new();
	assert_non_null(root);
	char dir[256], parent[256], file[256];
	snprintf(parent, sizeof(parent), "%s/a", root);
	snprintf(dir, sizeof(dir), "%s/a/b", root);
	assert_int_equal(state_dir_create(dir), 0);
	assert_int_equal(state_dir_create(dir), 0); /* exists: fine */
	struct stat sb;
	assert_int_equal(stat(dir, &sb), 0);
	assert_int_equal(sb.st_mode & 0777, 0750);
	assert_int_equal(stat(parent, &sb), 0);
	assert_true(S_ISDIR(sb.st_mode));
	assert_int_equal(sb.st_mode & 0700, 0700);
	/* A file in the way. */
	snprintf(file, sizeof(file), "%s/f", root);
	int fd = open(file, O_WRONLY | O_CREAT, 0600);
	assert_true(fd >= 0);
	close(fd);
	assert_int_equal(state_dir_create(file), -ENOTDIR);
	assert_int_equal(state_dir_create(""), -EINVAL);
	tmpdir_free(root);
}

static void test_secret(void **state)
{
	(void)state;
	char *dir = tmpdir_new();
	assert_non_null(dir);
	uint8_t a[16], b[16];
	bool created = false;
	assert_int_equal(state_secret_load(dir, "cookie.secret", a, sizeof(a), &created), 0);
	assert_true(created);
	char path[256];
	snprintf(path, sizeof(path), "%s/cookie.secret", dir);
	struct stat sb;
	assert_int_equal(stat(path, &sb), 0);
	assert_int_equal(sb.st_mode & 0777, 0600);
	assert_int_equal(sb.st_size, 16);
	/* The second load reads the same bytes and creates nothing. */
	assert_int_equal(state_secret_load(dir, "cookie.secret", b, sizeof(b), &created), 0);
	assert_false(created);
	assert_memory_equal(a, b, sizeof(a));
	/* Another size is refused, both shorter and longer. */
	uint8_t c[8], d[32];
	assert_int_equal(state_secret_load(dir, "cookie.secret", c, sizeof(c), &created), -EBADMSG);
	assert_int_equal(state_secret_load(dir, "cookie.secret", d, sizeof(d), &created), -EBADMSG);
	assert_int_equal(state_secret_load(dir, "x", d, 0, &created), -EINVAL);
	tmpdir_free(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_dir_create),
	        cmocka_unit_test(test_secret),
	};
	return cmocka_run_group_tests_name("state_secret", tests, NULL, NULL);
}
