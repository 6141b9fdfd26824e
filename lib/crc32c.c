/*
 * CRC32C (Castagnoli polynomial 0x1EDC6F41, reflected 0x82F63B78).
 * x86_64 CPUs since Nehalem compute it in hardware (SSE4.2 crc32); the table
 * version covers the others and checks the hardware one in the unit tests.
 */
#include <cpuid.h>
#include <string.h>

#include "crl/crc32c.h"

static uint32_t table[8][256];
static int have_sse42 = -1;

static void table_init(void)
{
	for (unsigned i = 0; i < 256; i++) {
		uint32_t c = i;

		for (int k = 0; k < 8; k++)
			c = (c & 1) ? (c >> 1) ^ 0x82F63B78u : c >> 1;
		table[0][i] = c;
	}
	for (unsigned i = 0; i < 256; i++)
		for (int t = 1; t < 8; t++)
			table[t][i] = (table[t - 1][i] >> 8) ^ table[0][table[t - 1][i] & 0xff];
}

static uint32_t crc_sw(uint32_t crc, const unsigned char *p, size_t len)
{
	/* slicing-by-8 */
	while (len >= 8) {
		uint64_t v;

		memcpy(&v, p, 8);
		v ^= crc;
		crc = table[7][v & 0xff] ^ table[6][(v >> 8) & 0xff] ^ table[5][(v >> 16) & 0xff] ^
		      table[4][(v >> 24) & 0xff] ^ table[3][(v >> 32) & 0xff] ^
		      table[2][(v >> 40) & 0xff] ^ table[1][(v >> 48) & 0xff] ^ table[0][v >> 56];
		p += 8;
		len -= 8;
	}
	while (len--)
		crc = (crc >> 8) ^ table[0][(crc ^ *p++) & 0xff];
	return crc;
}

__attribute__((target("sse4.2"))) static uint32_t crc_hw(uint32_t crc, const unsigned char *p,
							    size_t len)
{
	uint64_t c = crc;

	while (len >= 8) {
		uint64_t v;

		memcpy(&v, p, 8);
		c = __builtin_ia32_crc32di(c, v);
		p += 8;
		len -= 8;
	}
	crc = (uint32_t)c;
	while (len--)
		crc = __builtin_ia32_crc32qi(crc, *p++);
	return crc;
}

uint32_t crl_crc32c_sw(uint32_t crc, const void *buf, size_t len);
uint32_t crl_crc32c_sw(uint32_t crc, const void *buf, size_t len)
{
	if (!table[0][1])
		table_init();
	return ~crc_sw(~crc, buf, len);
}

uint32_t crl_crc32c(uint32_t crc, const void *buf, size_t len)
{
	if (have_sse42 < 0) {
		unsigned a, b, c, d;

		have_sse42 = __get_cpuid(1, &a, &b, &c, &d) && (c & bit_SSE4_2);
		if (!have_sse42)
			table_init();
	}
	if (have_sse42)
		return ~crc_hw(~crc, buf, len);
	return ~crc_sw(~crc, buf, len);
}
