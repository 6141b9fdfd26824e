/*
 * Unit tests of CRC32C (lib/crc32c.c): published check values, and the
 * hardware path (SSE4.2 crc32) against the table path.
 */
#include <cpuid.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "crl/crc32c.h"
#include "crl/util.h"

/* The table (slicing-by-8) path; lib/crc32c.c exports it for this test. */
uint32_t crl_crc32c_sw(uint32_t crc, const void *buf, size_t len);

typedef uint32_t (*crc_fn)(uint32_t, const void *, size_t);

static const struct {
	const char *name;
	crc_fn fn;
} impls[] = {
	{ "crl_crc32c", crl_crc32c },
	{ "crl_crc32c_sw", crl_crc32c_sw },
};

static void check(size_t impl, const void *buf, size_t len, uint32_t want)
{
	uint32_t got = impls[impl].fn(0, buf, len);

	if (got != want)
		fail_msg("%s over %zu bytes: %#x, expected %#x", impls[impl].name, len, got, want);
}

/* Check values: "123456789" (the standard one), and the 32-byte vectors of
 * RFC 3720 (iSCSI) B.4. Both paths give them. */
static void test_known_vectors(void **state)
{
	uint8_t zeros[32], ones[32], inc[32], dec[32];

	memset(zeros, 0, sizeof(zeros));
	memset(ones, 0xff, sizeof(ones));
	for (int i = 0; i < 32; i++) {
		inc[i] = i;
		dec[i] = 31 - i;
	}
	for (size_t i = 0; i < ARRAY_SIZE(impls); i++) {
		check(i, "123456789", 9, 0xE3069283u);
		check(i, zeros, 32, 0x8A9136AAu);
		check(i, ones, 32, 0x62A8AB43u);
		check(i, inc, 32, 0x46DD794Eu);
		check(i, dec, 32, 0x113FDB5Cu);
		check(i, "", 0, 0);
		check(i, "a", 1, 0xC1D04330u);
	}
}

/* A CRC can be continued: crc(crc(0, a), b) == crc(0, a b), for every
 * split point, on both paths. */
static void test_continuation(void **state)
{
	const char *s = "The quick brown fox jumps over the lazy dog";
	size_t len = strlen(s);

	for (size_t i = 0; i < ARRAY_SIZE(impls); i++) {
		crc_fn f = impls[i].fn;
		uint32_t whole = f(0, s, len);

		assert_int_equal(whole, 0x22620404u);
		for (size_t k = 0; k <= len; k++)
			assert_int_equal(f(f(0, s, k), s + k, len - k), whole);
	}
}

static uint64_t rng_state = 0x9E3779B97F4A7C15ULL;

static uint64_t rng(void)
{
	/* xorshift64: reproducible, so a failure can be replayed. */
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return rng_state;
}

/* The hardware path equals the table path for random data, lengths 0..4099
 * (so the 8-byte loop and the byte tail both run), every alignment 0..15,
 * and random starting values. Skipped where the CPU lacks SSE4.2: then both
 * names run the table path and the comparison would prove nothing. */
static void test_hw_equals_sw(void **state)
{
	static uint8_t buf[4096 + 16 + 8];
	unsigned a, b, c, d;

	if (!__get_cpuid(1, &a, &b, &c, &d) || !(c & bit_SSE4_2))
		skip();
	for (size_t i = 0; i < sizeof(buf); i++)
		buf[i] = (uint8_t)rng();
	for (unsigned iter = 0; iter < 20000; iter++) {
		size_t len = iter < 64 ? iter : rng() % 4100;
		size_t align = rng() % 16;
		uint32_t seed = iter & 1 ? (uint32_t)rng() : 0;
		uint32_t hw = crl_crc32c(seed, buf + align, len);
		uint32_t sw = crl_crc32c_sw(seed, buf + align, len);

		if (hw != sw)
			fail_msg("len %zu align %zu seed %#x: hw %#x sw %#x", len, align, seed, hw, sw);
	}
}

/* A single flipped bit anywhere in a 1 KiB buffer changes the CRC (what the
 * image reader relies on to find damage). */
static void test_single_bit_changes(void **state)
{
	static uint8_t buf[1024];
	uint32_t ref;

	for (size_t i = 0; i < sizeof(buf); i++)
		buf[i] = (uint8_t)rng();
	ref = crl_crc32c(0, buf, sizeof(buf));
	for (size_t bit = 0; bit < sizeof(buf) * 8; bit++) {
		buf[bit / 8] ^= 1u << (bit % 8);
		assert_int_not_equal(crl_crc32c(0, buf, sizeof(buf)), ref);
		buf[bit / 8] ^= 1u << (bit % 8);
	}
	assert_int_equal(crl_crc32c(0, buf, sizeof(buf)), ref);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_known_vectors),
		cmocka_unit_test(test_continuation),
		cmocka_unit_test(test_hw_equals_sw),
		cmocka_unit_test(test_single_bit_changes),
	};

	return cmocka_run_group_tests_name("crc32c", tests, NULL, NULL);
}
