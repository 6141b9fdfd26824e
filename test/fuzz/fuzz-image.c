/*
 * libFuzzer target: the record image readers (crl_img_open_stream +
 * crl_img_read, with each kind's validator) on untrusted bytes.
 *
 * Input layout:
 *   byte 0     bits 0-6: the image kind (modulo the number of kinds; raw
 *              page kinds have no record reader and are skipped);
 *              bit 7: fix the record checksums up before reading
 *   bytes 1..  the image file: magic, version, records
 *
 * Why bit 7: a random mutation of a payload almost never comes with a
 * matching CRC32C, so without help nearly every input would stop at the
 * checksum and the protobuf decoder and the validators behind it would go
 * untested. With bit 7 the harness recomputes the checksum of every record
 * whose length fits in the input, as a writer would have; without it the
 * bytes go in untouched, so the checksum and framing checks are fuzzed too.
 *
 * Seeds: test/fuzz/corpus/fuzz-image/, written by test/tools/gen-fuzz-seeds.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crl/crc32c.h"
#include "crl/image.h"

#define FIX_CRC 0x80

/* Recompute the checksum of every complete record of the image in buf. */
static void fix_checksums(uint8_t *buf, size_t size)
{
	size_t off = 8; /* magic, version */

	while (off + 8 <= size) {
		uint32_t len, crc;

		memcpy(&len, buf + off, 4);
		if (len > size - off - 8)
			break;
		crc = crl_crc32c(crl_crc32c(0, &len, 4), buf + off + 8, len);
		memcpy(buf + off + 4, &crc, 4);
		off += 8 + len;
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const struct crl_img_kind_desc *desc;
	enum crl_img_kind kind;
	struct crl_img *img = NULL;
	ProtobufCMessage *msg;
	uint8_t *copy;
	FILE *f;
	int r;

	if (size < 2)
		return 0;
	kind = (enum crl_img_kind)((data[0] & ~FIX_CRC) % CRL_IMG_NR_KINDS);
	desc = crl_img_kind_desc(kind);
	if (!desc->desc)
		return 0; /* a raw kind: no record reader */

	/* fmemopen wants a writable buffer; it also lets the checksums be
	 * fixed without touching libFuzzer's own copy. */
	copy = malloc(size - 1);
	if (!copy)
		return 0;
	memcpy(copy, data + 1, size - 1);
	if (data[0] & FIX_CRC)
		fix_checksums(copy, size - 1);
	f = fmemopen(copy, size - 1, "r");
	if (!f) {
		free(copy);
		return 0;
	}

	/* The stream belongs to the image from here on, even on failure. */
	r = crl_img_open_stream(f, kind, desc->name, &img);
	while (r >= 0) {
		r = crl_img_read(img, &msg);
		if (r <= 0)
			break;
		/* Touch the message the way a consumer would: its size. */
		(void)protobuf_c_message_get_packed_size(msg);
		protobuf_c_message_free_unpacked(msg, NULL);
	}
	if (img) {
		/* The error text must be a proper string whatever happened. */
		(void)strlen(crl_img_error(img));
		crl_img_close(img);
	}
	free(copy);
	return 0;
}
