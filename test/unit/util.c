/*
 * Unit tests of the small helpers: number parsing, array growth, reading
 * whole files (lib/util.c).
 */
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/user.h>
#include <unistd.h>
#include <cmocka.h>

#include "crl/ptrace.h"
#include "crl/util.h"

/* The kernel's restart codes (include/linux/errno.h, not exported). */
#define ERESTARTSYS 512
#define ERESTARTNOINTR 513
#define ERESTARTNOHAND 514
#define ERESTART_RESTARTBLOCK 516

/* --- crl_parse_u64 ---------------------------------------------------------- */

/* Decimal and hexadecimal numbers over the whole u64 range. */
static void test_parse_u64_good(void **state)
{
	static const struct {
		const char *s;
		int base;
		uint64_t v;
	} t[] = {
		{ "0", 10, 0 },
		{ "7", 10, 7 },
		{ "4194304", 10, 4194304 },
		{ "007", 10, 7 },
		{ "18446744073709551615", 10, UINT64_MAX },
		{ "ff", 16, 0xff },
		{ "FF", 16, 0xff },
		{ "7f0000001000", 16, 0x7f0000001000ULL },
		{ "ffffffffffffffff", 16, UINT64_MAX },
		{ "0", 16, 0 },
	};

	for (size_t i = 0; i < ARRAY_SIZE(t); i++) {
		uint64_t v = 42;

		if (crl_parse_u64(t[i].s, t[i].base, &v) != 0 || v != t[i].v)
			fail_msg("'%s' (base %d): got %llu", t[i].s, t[i].base, (unsigned long long)v);
	}
}

/* Refused: empty, NULL, trailing junk, leading blanks or signs (strtoull
 * would take "-1" as 2^64-1), digits of another base, overflow (-ERANGE).
 * The output is left untouched every time. */
static void test_parse_u64_bad(void **state)
{
	static const struct {
		const char *s;
		int base, err;
	} t[] = {
		{ "", 10, -EINVAL },
		{ NULL, 10, -EINVAL },
		{ "12x", 10, -EINVAL },
		{ "12 ", 10, -EINVAL },
		{ "1.5", 10, -EINVAL },
		{ "-1", 10, -EINVAL },
		{ "-0", 10, -EINVAL },
		{ "+1", 10, -EINVAL },
		{ " 1", 10, -EINVAL },
		{ "\t1", 10, -EINVAL },
		{ "\n-1", 10, -EINVAL },
		{ "\t-1", 16, -EINVAL },
		{ "ff", 10, -EINVAL },
		{ "fg", 16, -EINVAL },
		{ "", 16, -EINVAL },
		{ "18446744073709551616", 10, -ERANGE },
		{ "99999999999999999999999", 10, -ERANGE },
		{ "10000000000000000", 16, -ERANGE },
	};

	for (size_t i = 0; i < ARRAY_SIZE(t); i++) {
		uint64_t v = 42;
		int r = crl_parse_u64(t[i].s, t[i].base, &v);

		if (r != t[i].err || v != 42)
			fail_msg("'%s' (base %d): returned %d, value %llu; expected %d", t[i].s ? t[i].s : "(null)",
				 t[i].base, r, (unsigned long long)v, t[i].err);
	}
}

/* --- crl_grow ----------------------------------------------------------------- */

/* Growing keeps the contents, gives at least what is asked (starting at 16,
 * doubling), does nothing when there is room, and refuses a size that would
 * overflow without touching the array. */
static void test_grow(void **state)
{
	uint64_t *a = NULL, *before;
	size_t cap = 0;

	assert_int_equal(GROW(a, cap, 1), 0);
	assert_non_null(a);
	assert_int_equal(cap, 16);
	for (size_t i = 0; i < cap; i++)
		a[i] = i * 3;

	before = a;
	assert_int_equal(GROW(a, cap, 16), 0);
	assert_ptr_equal(a, before);
	assert_int_equal(cap, 16);

	assert_int_equal(GROW(a, cap, 17), 0);
	assert_int_equal(cap, 32);
	assert_int_equal(GROW(a, cap, 1000), 0);
	assert_int_equal(cap, 1024);
	for (size_t i = 0; i < 16; i++)
		assert_int_equal(a[i], i * 3);
	a[1023] = 7;

	before = a;
	assert_int_equal(GROW(a, cap, SIZE_MAX / 4), -ENOMEM);
	assert_int_equal(GROW(a, cap, SIZE_MAX), -ENOMEM);
	assert_ptr_equal(a, before);
	assert_int_equal(cap, 1024);
	assert_int_equal(a[1023], 7);
	free(a);
}

/* --- crl_read_file ------------------------------------------------------------ */

static char tmpdir[] = "/tmp/crl-unit-util-XXXXXX";

static int group_setup(void **state)
{
	return mkdtemp(tmpdir) ? 0 : -1;
}

static int group_teardown(void **state)
{
	char path[128];

	snprintf(path, sizeof(path), "%s/empty", tmpdir);
	unlink(path);
	snprintf(path, sizeof(path), "%s/big", tmpdir);
	unlink(path);
	return rmdir(tmpdir);
}

/* A file larger than the first buffer, with NUL bytes inside, comes back
 * whole: the right size, the right bytes, and a NUL after them. An empty
 * file is an empty string. A missing file is -ENOENT. */
static void test_read_file(void **state)
{
	const size_t len = 20000;
	char path[128], *buf = NULL;
	uint8_t *data = malloc(len);
	size_t size = 1;
	int fd;

	for (size_t i = 0; i < len; i++)
		data[i] = (uint8_t)(i * 13);
	snprintf(path, sizeof(path), "%s/big", tmpdir);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	assert_true(fd >= 0);
	assert_int_equal(crl_write_all(fd, data, len), 0);
	close(fd);

	assert_int_equal(crl_read_file(path, &buf, &size), 0);
	assert_int_equal(size, len);
	assert_memory_equal(buf, data, len);
	assert_int_equal(buf[len], '\0');
	free(buf);

	buf = NULL;
	assert_int_equal(crl_read_file(path, &buf, NULL), 0);
	assert_non_null(buf);
	free(buf);

	snprintf(path, sizeof(path), "%s/empty", tmpdir);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	assert_true(fd >= 0);
	close(fd);
	buf = NULL;
	assert_int_equal(crl_read_file(path, &buf, &size), 0);
	assert_int_equal(size, 0);
	assert_non_null(buf);
	assert_string_equal(buf, "");
	free(buf);

	snprintf(path, sizeof(path), "%s/missing", tmpdir);
	buf = NULL;
	assert_int_equal(crl_read_file(path, &buf, &size), -ENOENT);
	assert_null(buf);
	free(data);
}

/* A /proc file, which reports size 0, is read to its end. */
static void test_read_file_proc(void **state)
{
	char *buf = NULL;
	size_t size = 0;

	assert_int_equal(crl_read_file("/proc/self/stat", &buf, &size), 0);
	assert_true(size > 50);
	assert_int_equal(strlen(buf), size);
	assert_int_equal(atoi(buf), getpid());
	free(buf);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_u64_good),
		cmocka_unit_test(test_parse_u64_bad),
		cmocka_unit_test(test_grow),
		cmocka_unit_test(test_read_file),
		cmocka_unit_test(test_read_file_proc),
	};

	return cmocka_run_group_tests_name("util", tests, group_setup, group_teardown);
}
