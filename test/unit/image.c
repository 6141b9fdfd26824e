/*
 * Unit tests of the image format (lib/image.c, lib/image-validate.c):
 * framing, checksums, bounds, headers, validators, file names, raw images.
 *
 * Every test works in one temporary directory made by the group setup and
 * removed by the group teardown.
 */
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <dirent.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include "crl/image.h"
#include "crl/limits.h"
#include "crl/util.h"
#include "sample-images.h"

/*
 * Allocation tracking. The program replaces malloc & co. (glibc allows it)
 * and forwards to glibc's own allocator, noting the largest request while
 * track_alloc is set: that is how a test proves a reader refused an absurd
 * record length *before* allocating a buffer for it.
 */
extern void *__libc_malloc(size_t n);
extern void *__libc_calloc(size_t n, size_t size);
extern void *__libc_realloc(void *p, size_t n);
extern void __libc_free(void *p);

static bool track_alloc;
static size_t largest_alloc;

static void note_alloc(size_t n)
{
	if (track_alloc && n > largest_alloc)
		largest_alloc = n;
}

void *malloc(size_t n)
{
	note_alloc(n);
	return __libc_malloc(n);
}

void *calloc(size_t n, size_t size)
{
	size_t total;

	if (!__builtin_mul_overflow(n, size, &total))
		note_alloc(total);
	return __libc_calloc(n, size);
}

void *realloc(void *p, size_t n)
{
	note_alloc(n);
	return __libc_realloc(p, n);
}

void free(void *p)
{
	__libc_free(p);
}

/* --- helpers -------------------------------------------------------------- */

static char tmpdir[] = "/tmp/crl-unit-image-XXXXXX";
static int dfd = -1;

static int group_setup(void **state)
{
	if (!mkdtemp(tmpdir))
		return -1;
	dfd = open(tmpdir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	return dfd < 0 ? -1 : 0;
}

static int group_teardown(void **state)
{
	DIR *d = fdopendir(dup(dfd));
	struct dirent *de;

	if (d) {
		while ((de = readdir(d)))
			if (strcmp(de->d_name, ".") && strcmp(de->d_name, ".."))
				unlinkat(dfd, de->d_name, 0);
		closedir(d);
	}
	close(dfd);
	return rmdir(tmpdir);
}

/* Write msgs as an image of kind/id; every step must succeed. */
static void write_image(enum crl_img_kind kind, uint32_t id, const ProtobufCMessage *const *msgs,
			unsigned n)
{
	struct crl_img *img = NULL;

	assert_int_equal(crl_img_open(dfd, kind, id, CRL_IMG_WRITE, &img), 0);
	for (unsigned i = 0; i < n; i++)
		assert_int_equal(crl_img_write(img, msgs[i]), 0);
	assert_int_equal(crl_img_nr_records(img), n);
	assert_int_equal(crl_img_close(img), 0);
}

static void write_one(enum crl_img_kind kind, uint32_t id, const ProtobufCMessage *msg)
{
	write_image(kind, id, &msg, 1);
}

/* The bytes of a file in the test directory (malloc'd). */
static uint8_t *file_get(const char *name, size_t *len)
{
	char *buf = NULL;

	assert_int_equal(crl_read_fileat(dfd, name, &buf, len), 0);
	return (uint8_t *)buf;
}

static void file_put(const char *name, const void *buf, size_t len)
{
	int fd = openat(dfd, name, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);

	assert_true(fd >= 0);
	assert_int_equal(crl_write_all(fd, buf, len), 0);
	close(fd);
}

static void image_name(enum crl_img_kind kind, uint32_t id, char *buf, size_t len)
{
	crl_img_filename(kind, id, buf, len);
}

/*
 * Read an image to its end. Returns 0 when every record was read, else the
 * first error (from open or read), with crl_img_error() copied into why and
 * the number of good records in *nr_good.
 */
static int read_image(enum crl_img_kind kind, uint32_t id, char *why, size_t whylen, unsigned *nr_good)
{
	struct crl_img *img = NULL;
	ProtobufCMessage *msg;
	int r;

	why[0] = '\0';
	*nr_good = 0;
	r = crl_img_open(dfd, kind, id, CRL_IMG_READ, &img);
	while (r >= 0) {
		r = crl_img_read(img, &msg);
		if (r <= 0)
			break;
		protobuf_c_message_free_unpacked(msg, NULL);
		(*nr_good)++;
	}
	if (r < 0 && img)
		snprintf(why, whylen, "%s", crl_img_error(img));
	crl_img_close(img);
	return r;
}

/* Both messages serialize to the same bytes. */
static void assert_msg_equal(const ProtobufCMessage *a, const ProtobufCMessage *b)
{
	size_t la = protobuf_c_message_get_packed_size(a), lb = protobuf_c_message_get_packed_size(b);
	uint8_t *pa = malloc(la + 1), *pb = malloc(lb + 1);

	assert_ptr_equal(a->descriptor, b->descriptor);
	assert_int_equal(la, lb);
	protobuf_c_message_pack(a, pa);
	protobuf_c_message_pack(b, pb);
	assert_memory_equal(pa, pb, la);
	free(pa);
	free(pb);
}

/* Offset of record idx in an image file (follows the length fields). */
static size_t record_offset(const uint8_t *buf, size_t len, unsigned idx)
{
	size_t off = 8;

	for (unsigned i = 0; i < idx; i++) {
		uint32_t l;

		assert_true(off + 8 <= len);
		memcpy(&l, buf + off, 4);
		off += 8 + l;
	}
	assert_true(off + 8 <= len);
	return off;
}

/* The validator of kind must refuse msg, with a message containing what. */
static void expect_refused(enum crl_img_kind kind, const ProtobufCMessage *msg, const char *what)
{
	char why[300];
	unsigned good;

	write_one(kind, 9, msg);
	assert_int_equal(read_image(kind, 9, why, sizeof(why), &good), -EBADMSG);
	assert_int_equal(good, 0);
	if (!strstr(why, "record 0: ") || !strstr(why, what))
		fail_msg("refusal message '%s' lacks 'record 0: ' or '%s'", why, what);
}

/* The validator of kind must accept msg. */
static void expect_valid(enum crl_img_kind kind, const ProtobufCMessage *msg)
{
	char why[300] = "";
	unsigned good;
	int r;

	write_one(kind, 9, msg);
	r = read_image(kind, 9, why, sizeof(why), &good);
	if (r < 0)
		fail_msg("a valid record refused: %s", why);
	assert_int_equal(good, 1);
}

/* --- round trips ------------------------------------------------------------ */

/* Every record kind: what is written is read back identical, in order, and
 * the reader then reports a clean end of file (0), more than once. */
static void test_roundtrip_every_kind(void **state)
{
	struct samples s;

	samples_init(&s);
	for (unsigned k = 0; k < CRL_IMG_NR_KINDS; k++) {
		const ProtobufCMessage *msgs[SAMPLE_MAX_RECORDS];
		unsigned n = samples_of_kind(&s, k, msgs);
		struct crl_img *img = NULL;
		ProtobufCMessage *got;

		if (!crl_img_kind_desc(k)->desc) {
			assert_int_equal(n, 0);
			continue;
		}
		assert_true(n > 0);
		write_image(k, 1, msgs, n);

		assert_int_equal(crl_img_open(dfd, k, 1, CRL_IMG_READ, &img), 0);
		for (unsigned i = 0; i < n; i++) {
			assert_int_equal(crl_img_read(img, &got), 1);
			assert_msg_equal(msgs[i], got);
			protobuf_c_message_free_unpacked(got, NULL);
		}
		assert_int_equal(crl_img_read(img, &got), 0);
		assert_int_equal(crl_img_read(img, &got), 0);
		assert_int_equal(crl_img_nr_records(img), n);
		assert_int_equal(crl_img_close(img), 0);
	}
}

/* A few decoded fields checked by hand, so the round trip does not rest on
 * the packer alone: nested messages, repeated fields, bytes, strings. */
static void test_roundtrip_fields(void **state)
{
	struct samples s;
	ProtobufCMessage *m;
	const char *why = NULL;
	CoreEntry *c;
	MmEntry *mm;

	samples_init(&s);
	write_one(CRL_IMG_CORE, 2, &s.core.base);
	assert_int_equal(crl_img_read_single(dfd, CRL_IMG_CORE, 2, &m, &why), 0);
	c = (CoreEntry *)m;
	assert_int_equal(c->pid, 100);
	assert_int_equal(c->regs->ip, 0x401000);
	assert_int_equal(c->n_sigactions, 2);
	assert_int_equal(c->sigactions[1]->sig, SIGTERM);
	assert_int_equal(c->creds->n_groups, 2);
	assert_int_equal(c->creds->groups[1], 24);
	assert_true(c->has_fpregs);
	assert_int_equal(c->fpregs.len, 512);
	assert_int_equal(c->fpregs.data[25], 0x1f);
	assert_int_equal(c->n_pending_shared, 1);
	assert_int_equal(c->pending_shared[0].data[127], 127);
	assert_string_equal(c->cwd, "/");
	protobuf_c_message_free_unpacked(m, NULL);

	write_one(CRL_IMG_MM, 2, &s.mm.base);
	assert_int_equal(crl_img_read_single(dfd, CRL_IMG_MM, 2, &m, &why), 0);
	mm = (MmEntry *)m;
	assert_int_equal(mm->n_vmas, SAMPLE_NR_VMAS);
	assert_int_equal(mm->vmas[2]->kind, VMA_KIND__VMA_SHARED_ANON);
	assert_string_equal(mm->vmas[2]->name, "/dev/zero (deleted)");
	assert_int_equal(mm->vmas[4]->start, 0xffffffffff600000ULL);
	assert_int_equal(mm->auxv[3], 0x7ffd00020e00);
	protobuf_c_message_free_unpacked(m, NULL);
}

/* An image with a header and no record reads as empty; read_single calls
 * that an error, as it does a missing file (-ENOENT, naming it). */
static void test_empty_and_missing(void **state)
{
	ProtobufCMessage *m = NULL;
	const char *why = NULL;
	char why2[300];
	unsigned good;

	write_image(CRL_IMG_FILES, 0, NULL, 0);
	assert_int_equal(read_image(CRL_IMG_FILES, 0, why2, sizeof(why2), &good), 0);
	assert_int_equal(good, 0);
	assert_int_equal(crl_img_read_single(dfd, CRL_IMG_FILES, 0, &m, &why), -EBADMSG);
	assert_non_null(strstr(why, "files.img"));
	assert_non_null(strstr(why, "no record"));

	assert_int_equal(crl_img_read_single(dfd, CRL_IMG_CORE, 4242, &m, &why), -ENOENT);
	assert_non_null(strstr(why, "core-4242.img"));
}

/* read_single wants exactly one record: two are refused, and both decoded
 * messages are freed (no leak to see here, but no crash either). */
static void test_read_single_two_records(void **state)
{
	struct samples s;
	const ProtobufCMessage *two[2];
	ProtobufCMessage *m = NULL;
	const char *why = NULL;

	samples_init(&s);
	two[0] = &s.core.base;
	two[1] = &s.core.base;
	write_image(CRL_IMG_CORE, 3, two, 2);
	assert_int_equal(crl_img_read_single(dfd, CRL_IMG_CORE, 3, &m, &why), -EBADMSG);
	assert_null(m);
	assert_non_null(strstr(why, "core-3.img"));
	assert_non_null(strstr(why, "more than"));

	write_image(CRL_IMG_CORE, 3, two, 1);
	assert_int_equal(crl_img_read_single(dfd, CRL_IMG_CORE, 3, &m, &why), 0);
	assert_non_null(m);
	protobuf_c_message_free_unpacked(m, NULL);
}

/* The writer refuses a message of another kind's type. */
static void test_write_wrong_type(void **state)
{
	struct samples s;
	struct crl_img *img = NULL;

	samples_init(&s);
	assert_int_equal(crl_img_open(dfd, CRL_IMG_MM, 5, CRL_IMG_WRITE, &img), 0);
	assert_int_equal(crl_img_write(img, &s.core.base), -EINVAL);
	assert_int_equal(crl_img_nr_records(img), 0);
	assert_int_equal(crl_img_close(img), 0);
}

/* --- damage ----------------------------------------------------------------- */

/* One flipped bit anywhere in the payload of record 1 is caught by the
 * checksum: -EBADMSG, and the error names record 1. Record 0 still reads. */
static void test_flipped_payload_byte(void **state)
{
	struct samples s;
	const ProtobufCMessage *msgs[SAMPLE_MAX_RECORDS];
	unsigned n, good;
	uint8_t *orig, *buf;
	size_t len, off;
	uint32_t reclen;
	char name[64], why[300];

	samples_init(&s);
	n = samples_of_kind(&s, CRL_IMG_SHMEM, msgs);
	write_image(CRL_IMG_SHMEM, 0, msgs, n);
	image_name(CRL_IMG_SHMEM, 0, name, sizeof(name));
	orig = file_get(name, &len);
	off = record_offset(orig, len, 1);
	memcpy(&reclen, orig + off, 4);
	assert_true(reclen > 0);
	buf = malloc(len);

	for (uint32_t i = 0; i < reclen; i++) {
		memcpy(buf, orig, len);
		buf[off + 8 + i] ^= 1u << (i % 8);
		file_put(name, buf, len);
		assert_int_equal(read_image(CRL_IMG_SHMEM, 0, why, sizeof(why), &good), -EBADMSG);
		assert_int_equal(good, 1);
		if (!strstr(why, "record 1: checksum mismatch"))
			fail_msg("byte %u: unexpected error '%s'", i, why);
	}
	/* The checksum field itself. */
	memcpy(buf, orig, len);
	buf[off + 5] ^= 0x10;
	file_put(name, buf, len);
	assert_int_equal(read_image(CRL_IMG_SHMEM, 0, why, sizeof(why), &good), -EBADMSG);
	assert_non_null(strstr(why, "record 1: checksum mismatch"));
	free(buf);
	free(orig);
}

/* A damaged length: one bit less or more still frames a wrong record and is
 * refused (the checksum covers the length, or the file is too short); a bit
 * set high makes it absurd: -EFBIG. */
static void test_flipped_length(void **state)
{
	struct samples s;
	const ProtobufCMessage *msgs[SAMPLE_MAX_RECORDS];
	unsigned n, good;
	uint8_t *orig;
	size_t len, off;
	char name[64], why[300];

	samples_init(&s);
	n = samples_of_kind(&s, CRL_IMG_FILES, msgs);
	write_image(CRL_IMG_FILES, 0, msgs, n);
	image_name(CRL_IMG_FILES, 0, name, sizeof(name));
	orig = file_get(name, &len);
	off = record_offset(orig, len, 0);

	for (unsigned bit = 0; bit < 8; bit++) {
		orig[off] ^= 1u << bit;
		file_put(name, orig, len);
		assert_int_equal(read_image(CRL_IMG_FILES, 0, why, sizeof(why), &good), -EBADMSG);
		assert_int_equal(good, 0);
		assert_non_null(strstr(why, "record 0: "));
		orig[off] ^= 1u << bit;
	}
	orig[off + 3] ^= 0x80;
	file_put(name, orig, len);
	assert_int_equal(read_image(CRL_IMG_FILES, 0, why, sizeof(why), &good), -EFBIG);
	assert_non_null(strstr(why, "record 0: "));
	free(orig);
}

/* Truncations: the file header cut short, a record header cut short, a
 * record header with no payload, half a payload. All -EBADMSG with the
 * record number; the whole record before the cut still reads. */
static void test_truncated(void **state)
{
	struct samples s;
	const ProtobufCMessage *msgs[SAMPLE_MAX_RECORDS];
	unsigned n, good;
	uint8_t *orig;
	size_t len, off;
	uint32_t reclen;
	char name[64], why[300];
	struct crl_img *img = NULL;

	samples_init(&s);
	n = samples_of_kind(&s, CRL_IMG_PSTREE, msgs);
	write_image(CRL_IMG_PSTREE, 0, msgs, n);
	image_name(CRL_IMG_PSTREE, 0, name, sizeof(name));
	orig = file_get(name, &len);
	off = record_offset(orig, len, 1);
	memcpy(&reclen, orig + off, 4);

	/* Cut inside the file header: the open fails, and says why. */
	file_put(name, orig, 5);
	assert_int_equal(crl_img_open(dfd, CRL_IMG_PSTREE, 0, CRL_IMG_READ, &img), -EBADMSG);
	assert_non_null(img);
	assert_non_null(strstr(crl_img_error(img), "too short"));
	crl_img_close(img);

	/* Half a record header. */
	file_put(name, orig, off + 4);
	assert_int_equal(read_image(CRL_IMG_PSTREE, 0, why, sizeof(why), &good), -EBADMSG);
	assert_int_equal(good, 1);
	assert_non_null(strstr(why, "record 1: truncated"));

	/* The record header only. */
	file_put(name, orig, off + 8);
	assert_int_equal(read_image(CRL_IMG_PSTREE, 0, why, sizeof(why), &good), -EBADMSG);
	assert_int_equal(good, 1);
	assert_non_null(strstr(why, "record 1: truncated"));

	/* Half the payload. */
	file_put(name, orig, off + 8 + reclen / 2);
	assert_int_equal(read_image(CRL_IMG_PSTREE, 0, why, sizeof(why), &good), -EBADMSG);
	assert_int_equal(good, 1);
	assert_non_null(strstr(why, "record 1: truncated"));

	/* One byte short. */
	file_put(name, orig, len - 1);
	assert_int_equal(read_image(CRL_IMG_PSTREE, 0, why, sizeof(why), &good), -EBADMSG);
	assert_int_equal(good, 1);

	/* And whole again: no error. */
	file_put(name, orig, len);
	assert_int_equal(read_image(CRL_IMG_PSTREE, 0, why, sizeof(why), &good), 0);
	assert_int_equal(good, 2);
	free(orig);
}

/* A record length of 0xFFFFFFF0 is refused with -EFBIG before any buffer
 * is allocated: in a file, and in a stream whose size is unknown. A length
 * under the limit but past the end of the file is refused the same way,
 * without allocating it. */
static void test_absurd_length(void **state)
{
	uint32_t img[4] = { crl_img_kind_desc(CRL_IMG_MM)->magic, CRL_IMG_FORMAT_VERSION, 0xFFFFFFF0u, 0 };
	struct crl_img *h = NULL;
	ProtobufCMessage *m = NULL;
	char why[300];
	unsigned good;
	FILE *f;

	file_put("mm-77.img", img, sizeof(img));
	largest_alloc = 0;
	track_alloc = true;
	assert_int_equal(read_image(CRL_IMG_MM, 77, why, sizeof(why), &good), -EFBIG);
	track_alloc = false;
	assert_true(largest_alloc < (1u << 20));
	assert_non_null(strstr(why, "record 0: "));

	f = fmemopen(img, sizeof(img), "r");
	assert_non_null(f);
	assert_int_equal(crl_img_open_stream(f, CRL_IMG_MM, "stream", &h), 0);
	largest_alloc = 0;
	track_alloc = true;
	assert_int_equal(crl_img_read(h, &m), -EFBIG);
	track_alloc = false;
	assert_true(largest_alloc < (1u << 20));
	assert_null(m);
	crl_img_close(h);

	/* 8 MiB announced (within an mm record's limit), 4 bytes there. */
	img[2] = 8u << 20;
	file_put("mm-77.img", img, sizeof(img));
	largest_alloc = 0;
	track_alloc = true;
	assert_int_equal(read_image(CRL_IMG_MM, 77, why, sizeof(why), &good), -EBADMSG);
	track_alloc = false;
	assert_true(largest_alloc < (1u << 20));
	assert_non_null(strstr(why, "record 0: truncated"));
}

/* An mm image renamed to a core image is refused by its magic, and the
 * message says which kind was expected. */
static void test_wrong_magic(void **state)
{
	struct samples s;
	char why[300];
	unsigned good;

	samples_init(&s);
	write_one(CRL_IMG_MM, 11, &s.mm.base);
	assert_int_equal(renameat(dfd, "mm-11.img", dfd, "core-11.img"), 0);
	assert_int_equal(read_image(CRL_IMG_CORE, 11, why, sizeof(why), &good), -EBADMSG);
	assert_non_null(strstr(why, "not a criu-lite core image"));
}

/* An image of another format version is refused: -EPROTONOSUPPORT, with
 * both versions in the message. */
static void test_wrong_version(void **state)
{
	struct samples s;
	uint8_t *buf;
	size_t len;
	uint32_t v = CRL_IMG_FORMAT_VERSION + 1;
	char why[300], expect[64];
	unsigned good;

	samples_init(&s);
	write_one(CRL_IMG_INVENTORY, 0, &s.inventory.base);
	buf = file_get("inventory.img", &len);
	memcpy(buf + 4, &v, 4);
	file_put("inventory.img", buf, len);
	assert_int_equal(read_image(CRL_IMG_INVENTORY, 0, why, sizeof(why), &good), -EPROTONOSUPPORT);
	snprintf(expect, sizeof(expect), "version %u", v);
	assert_non_null(strstr(why, expect));
	free(buf);
}

/* --- validators ------------------------------------------------------------- */

/* The unmodified samples pass every validator (the control for the tests
 * below, which each break one field). */
static void test_samples_are_valid(void **state)
{
	struct samples s;

	samples_init(&s);
	for (unsigned k = 0; k < CRL_IMG_NR_KINDS; k++) {
		const struct crl_img_kind_desc *d = crl_img_kind_desc(k);
		const ProtobufCMessage *msgs[SAMPLE_MAX_RECORDS];
		unsigned n = samples_of_kind(&s, k, msgs);
		char err[200];

		for (unsigned i = 0; i < n; i++)
			if (d->validate(msgs[i], err, sizeof(err)) < 0)
				fail_msg("%s record %u refused: %s", d->name, i, err);
	}
}

/* VMAs: empty, reversed, unaligned, overlapping, unknown kind. */
static void test_validate_vma(void **state)
{
	struct samples s;

	samples_init(&s);
	s.vma[1].end = s.vma[1].start;
	expect_refused(CRL_IMG_MM, &s.mm.base, "empty or unaligned");

	samples_init(&s);
	s.vma[1].end = s.vma[1].start - 4096;
	expect_refused(CRL_IMG_MM, &s.mm.base, "empty or unaligned");

	samples_init(&s);
	s.vma[1].start += 8;
	expect_refused(CRL_IMG_MM, &s.mm.base, "empty or unaligned");

	samples_init(&s);
	s.vma[1].end += 1;
	expect_refused(CRL_IMG_MM, &s.mm.base, "empty or unaligned");

	samples_init(&s);
	s.vma[1].start = s.vma[0].end - 4096;
	expect_refused(CRL_IMG_MM, &s.mm.base, "overlaps");

	samples_init(&s);
	s.vma[1].kind = 42;
	expect_refused(CRL_IMG_MM, &s.mm.base, "unknown kind 42");

	samples_init(&s);
	s.vma[1].kind = 0;
	expect_refused(CRL_IMG_MM, &s.mm.base, "unknown kind 0");
}

/* Other mm checks: auxv without AT_NULL, a VMA above the user address
 * space, a shared VMA that names no object. */
static void test_validate_mm_other(void **state)
{
	struct samples s;

	samples_init(&s);
	s.auxv[4] = 7;
	expect_refused(CRL_IMG_MM, &s.mm.base, "AT_NULL");

	samples_init(&s);
	s.mm.n_auxv = 0;
	expect_refused(CRL_IMG_MM, &s.mm.base, "auxv");

	samples_init(&s);
	s.vma[3].start = 0x0100000000000000ULL; /* above the 5-level paging limit */
	s.vma[3].end = s.vma[3].start + 4096;
	expect_refused(CRL_IMG_MM, &s.mm.base, "outside the user address space");

	samples_init(&s);
	s.vma[2].has_object_id = 0;
	s.vma[2].object_id = 0;
	expect_refused(CRL_IMG_MM, &s.mm.base, "names none");
}

/* Pagemap runs: 0 pages, 0xFFFFFFFF pages, unaligned, data in the header. */
static void test_validate_pagemap(void **state)
{
	struct samples s;

	samples_init(&s);
	s.pagemap[0].nr_pages = 0;
	expect_refused(CRL_IMG_PAGEMAP, &s.pagemap[0].base, "run of 0 pages");

	samples_init(&s);
	s.pagemap[0].nr_pages = 0xFFFFFFFFu;
	expect_refused(CRL_IMG_PAGEMAP, &s.pagemap[0].base, "run of 4294967295 pages");

	samples_init(&s);
	s.pagemap[0].vaddr += 1;
	expect_refused(CRL_IMG_SHMEM_PAGEMAP, &s.pagemap[0].base, "not page aligned");

	samples_init(&s);
	s.pagemap[0].offset = 0;
	expect_refused(CRL_IMG_PAGEMAP, &s.pagemap[0].base, "not page aligned");

	samples_init(&s);
	s.pagemap[0].vaddr = 0x00fffffffff00000ULL;
	s.pagemap[0].nr_pages = 0x1000;
	expect_refused(CRL_IMG_PAGEMAP, &s.pagemap[0].base, "outside the address space");
}

/* Core: sigactions for SIGKILL and SIGSTOP, a signal twice, signal 65. */
static void test_validate_core(void **state)
{
	struct samples s;

	samples_init(&s);
	s.sa[0].sig = SIGKILL;
	expect_refused(CRL_IMG_CORE, &s.core.base, "sigaction for signal 9");

	samples_init(&s);
	s.sa[1].sig = SIGSTOP;
	expect_refused(CRL_IMG_CORE, &s.core.base, "sigaction for signal 19");

	samples_init(&s);
	s.sa[1].sig = s.sa[0].sig;
	expect_refused(CRL_IMG_CORE, &s.core.base, "two sigactions");

	samples_init(&s);
	s.sa[1].sig = 65;
	expect_refused(CRL_IMG_CORE, &s.core.base, "sigaction for signal 65");

	samples_init(&s);
	s.pending[0].len = 64;
	expect_refused(CRL_IMG_CORE, &s.core.base, "pending siginfo");

	samples_init(&s);
	s.core.cwd = "relative";
	expect_refused(CRL_IMG_CORE, &s.core.base, "cwd");

	samples_init(&s);
	s.core.has_oom_score_adj = true;
	s.core.oom_score_adj = -1001;
	expect_refused(CRL_IMG_CORE, &s.core.base, "oom_score_adj -1001");

	samples_init(&s);
	s.core.has_ioprio = true;
	s.core.ioprio = 4 << 13;
	expect_refused(CRL_IMG_CORE, &s.core.base, "I/O priority");
}

/* Pstree: pid 0, a pid over PID_MAX_LIMIT, no threads, leader not first. */
static void test_validate_pstree(void **state)
{
	struct samples s;

	samples_init(&s);
	s.pstree[0].pid = 0;
	expect_refused(CRL_IMG_PSTREE, &s.pstree[0].base, "pid 0 out of range");

	samples_init(&s);
	s.pstree[1].pid = 1u << 22;
	expect_refused(CRL_IMG_PSTREE, &s.pstree[1].base, "out of range");

	samples_init(&s);
	s.pstree[1].n_threads = 0;
	expect_refused(CRL_IMG_PSTREE, &s.pstree[1].base, "thread count 0");

	samples_init(&s);
	s.threads0[0] = 102;
	s.threads0[1] = 100;
	expect_refused(CRL_IMG_PSTREE, &s.pstree[0].base, "not the leader");
}

/* Inventory: another format version, another page size, another arch. */
static void test_validate_inventory(void **state)
{
	struct samples s;

	samples_init(&s);
	s.inventory.format_version = 7;
	expect_refused(CRL_IMG_INVENTORY, &s.inventory.base, "format version 7");

	samples_init(&s);
	s.inventory.page_size = 16384;
	expect_refused(CRL_IMG_INVENTORY, &s.inventory.base, "page size 16384");

	samples_init(&s);
	s.inventory.arch = "aarch64";
	expect_refused(CRL_IMG_INVENTORY, &s.inventory.base, "aarch64");
}

/* Files and shared objects: id 0, relative path, unknown kind, a memfd
 * without a name, a mode that is not a regular file's, an owner without a
 * group, the owner -1 (fchown's "leave it"). */
static void test_validate_files_shmem(void **state)
{
	struct samples s;

	samples_init(&s);
	s.file[0].id = 0;
	expect_refused(CRL_IMG_FILES, &s.file[0].base, "file id 0");

	samples_init(&s);
	s.file[1].path = "etc/passwd";
	expect_refused(CRL_IMG_FILES, &s.file[1].base, "not absolute");

	samples_init(&s);
	s.shmem[0].kind = 99;
	expect_refused(CRL_IMG_SHMEM, &s.shmem[0].base, "unknown kind 99");

	samples_init(&s);
	s.shmem[1].name = NULL;
	expect_refused(CRL_IMG_SHMEM, &s.shmem[1].base, "memfd name");

	samples_init(&s);
	s.shmem[1].mode = 040755;
	expect_refused(CRL_IMG_SHMEM, &s.shmem[1].base, "not a regular file");

	samples_init(&s);
	s.shmem[1].has_gid = 0;
	expect_refused(CRL_IMG_SHMEM, &s.shmem[1].base, "owner without a group");

	samples_init(&s);
	s.shmem[1].uid = UINT32_MAX;
	expect_refused(CRL_IMG_SHMEM, &s.shmem[1].base, "owner 4294967295:1234");
}

/* File descriptors: a description of unknown kind, a pipe description
 * without its pipe, access mode 3, an fd past NR_OPEN, more pipe data than
 * the pipe holds, a socket of an unknown type. */
static void test_validate_fds(void **state)
{
	static uint8_t big[4097];
	struct samples s;

	samples_init(&s);
	s.filedesc[0].kind = 77;
	expect_refused(CRL_IMG_FILEDESC, &s.filedesc[0].base, "unknown kind 77");

	samples_init(&s);
	s.filedesc[1].has_pipe_id = 0;
	expect_refused(CRL_IMG_FILEDESC, &s.filedesc[1].base, "names no pipe");

	samples_init(&s);
	s.filedesc[0].flags = 3;
	expect_refused(CRL_IMG_FILEDESC, &s.filedesc[0].base, "access mode 3");

	samples_init(&s);
	s.fd[1].fd = 1u << 20;
	expect_refused(CRL_IMG_FDINFO, &s.fd[1].base, "out of range");

	samples_init(&s);
	s.pipe.size = 4;
	expect_refused(CRL_IMG_PIPES, &s.pipe.base, "size 4");

	samples_init(&s);
	s.pipe.size = 4096;
	s.pipe.data.len = 4097;
	s.pipe.data.data = big;
	expect_refused(CRL_IMG_PIPES, &s.pipe.base, "4097 bytes of data");

	samples_init(&s);
	s.unixsk[0].type = SOCK_RAW;
	expect_refused(CRL_IMG_UNIXSK, &s.unixsk[0].base, "type 3");

	samples_init(&s);
	s.unixsk[0].has_conn_reset = s.unixsk[0].conn_reset = true;
	s.unixsk[0].peer_closed = false;
	expect_refused(CRL_IMG_UNIXSK, &s.unixsk[0].base, "pending reset");

	{
		UnixSkCred c = UNIX_SK_CRED__INIT, *cs[2] = { &c, &c };

		samples_init(&s);
		s.unixsk[1].n_queue_cred = 1;
		s.unixsk[1].queue_cred = cs;
		s.unixsk[1].has_passcred = s.unixsk[1].passcred = true;
		expect_refused(CRL_IMG_UNIXSK, &s.unixsk[1].base, "credentials for 1 of 2");
		samples_init(&s);
		s.unixsk[1].n_queue_cred = 2;
		s.unixsk[1].queue_cred = cs;
		expect_refused(CRL_IMG_UNIXSK, &s.unixsk[1].base, "SO_PASSCRED off");
		s.unixsk[1].has_passcred = s.unixsk[1].passcred = true;
		c.uid = (uint32_t)-1;
		expect_refused(CRL_IMG_UNIXSK, &s.unixsk[1].base, "uid 4294967295");
	}

	samples_init(&s);
	s.unixsk[0].has_timestamp = true;
	s.unixsk[0].timestamp = 30;
	expect_refused(CRL_IMG_UNIXSK, &s.unixsk[0].base, "timestamp option 30");
	samples_init(&s);
	s.unixsk[0].has_rcvlowat = true;
	s.unixsk[0].rcvlowat = 0;
	expect_refused(CRL_IMG_UNIXSK, &s.unixsk[0].base, "SO_RCVLOWAT 0");
	samples_init(&s);
	s.unixsk[0].has_rcvtimeo_us = true;
	s.unixsk[0].rcvtimeo_us = UINT64_MAX;
	expect_refused(CRL_IMG_UNIXSK, &s.unixsk[0].base, "timeouts of");
	samples_init(&s);
	s.unixsk[0].has_detached = s.unixsk[0].detached = true;
	s.unixsk[0].has_vfs_mode = true;
	expect_refused(CRL_IMG_UNIXSK, &s.unixsk[0].base, "detached without a path name");
	samples_init(&s);
	s.unixsk[0].has_vfs_uid = true;
	s.unixsk[0].vfs_uid = (uint32_t)-1;
	expect_refused(CRL_IMG_UNIXSK, &s.unixsk[0].base, "socket file owner -1");
}

/* Fields whose validators came with locks, signal owners, packet pipes and
 * socket credentials: what a damaged image may say there. */
static void test_validate_fds_more(void **state)
{
	static const uint32_t open_time[] = { O_CREAT, O_EXCL, O_NOCTTY, O_TRUNC, O_TMPFILE };
	ProtobufCBinaryData pkt = { 3, (uint8_t *)"abc" }, from[2] = { { 0, NULL }, { 109, NULL } };
	static uint8_t longname[109];
	struct samples s;

	for (size_t i = 0; i < ARRAY_SIZE(open_time); i++) {
		samples_init(&s);
		s.filedesc[0].flags = O_RDWR | open_time[i];
		expect_refused(CRL_IMG_FILEDESC, &s.filedesc[0].base, "open-time flags");
	}
	samples_init(&s);
	s.filedesc[0].flags = O_RDWR | O_APPEND | O_NONBLOCK | O_LARGEFILE | O_ASYNC | O_NOATIME;
	expect_valid(CRL_IMG_FILEDESC, &s.filedesc[0].base);
	s.filedesc[0].kind = FD_KIND__FD_DIR;
	s.filedesc[0].flags = O_RDONLY | O_DIRECTORY | O_LARGEFILE; /* a directory's */
	expect_valid(CRL_IMG_FILEDESC, &s.filedesc[0].base);

	samples_init(&s);
	s.filedesc[0].has_owner_pid = true;
	s.filedesc[0].owner_pid = 42;
	expect_refused(CRL_IMG_FILEDESC, &s.filedesc[0].base, "a signal owner without its type");
	s.filedesc[0].has_owner_type = true;
	s.filedesc[0].owner_pid = CRL_PID_MAX;
	expect_refused(CRL_IMG_FILEDESC, &s.filedesc[0].base, "owner 4194304");
	s.filedesc[0].owner_pid = 42;
	expect_valid(CRL_IMG_FILEDESC, &s.filedesc[0].base);

	/* A packet-mode pipe holds packets, not bytes beside them. */
	samples_init(&s);
	s.pipe.has_packets = s.pipe.packets = true;
	s.pipe.n_packet = 1;
	s.pipe.packet = &pkt;
	expect_refused(CRL_IMG_PIPES, &s.pipe.base, "data in a pipe in packet mode");
	s.pipe.has_data = false;
	expect_valid(CRL_IMG_PIPES, &s.pipe.base);

	{
		UnixSkCred c = UNIX_SK_CRED__INIT, *cs[2] = { &c, &c };

		samples_init(&s);
		s.unixsk[1].n_queue_cred = 2;
		s.unixsk[1].queue_cred = cs;
		s.unixsk[1].has_passcred = s.unixsk[1].passcred = true;
		/* pid 0: a message that came with no credentials. */
		c.pid = 0;
		c.uid = c.gid = 65534;
		expect_valid(CRL_IMG_UNIXSK, &s.unixsk[1].base);
		c.uid = c.gid = 0;
		c.pid = CRL_PID_MAX;
		expect_refused(CRL_IMG_UNIXSK, &s.unixsk[1].base, "credentials pid 4194304");
		c.pid = 42;
		expect_valid(CRL_IMG_UNIXSK, &s.unixsk[1].base);
	}

	/* Senders: none, or one per message, of datagram or seqpacket
	 * messages, each an address of at most 108 bytes. */
	samples_init(&s);
	s.unixsk[1].n_queue_from = 1;
	s.unixsk[1].queue_from = from;
	s.unixsk[1].type = SOCK_DGRAM;
	expect_refused(CRL_IMG_UNIXSK, &s.unixsk[1].base, "senders for 1 of 2");
	s.unixsk[1].n_queue_from = 2;
	from[1].data = longname;
	expect_refused(CRL_IMG_UNIXSK, &s.unixsk[1].base, "sender address of 109 bytes");
	from[1].len = 108;
	expect_valid(CRL_IMG_UNIXSK, &s.unixsk[1].base);
	s.unixsk[1].type = SOCK_STREAM;
	expect_refused(CRL_IMG_UNIXSK, &s.unixsk[1].base, "senders for 2 of 2");

	samples_init(&s);
	s.unixsk[0].has_peer_closed = s.unixsk[0].peer_closed = true;
	expect_refused(CRL_IMG_UNIXSK, &s.unixsk[0].base, "its peer was closed, yet it names a peer");
	samples_init(&s);
	s.unixsk[0].state = 10; /* TCP_LISTEN */
	expect_refused(CRL_IMG_UNIXSK, &s.unixsk[0].base, "listening, but");
	s.unixsk[0].has_peer_id = false;
	s.unixsk[0].peer_id = 0;
	expect_valid(CRL_IMG_UNIXSK, &s.unixsk[0].base);
	s.unixsk[0].type = SOCK_DGRAM;
	expect_refused(CRL_IMG_UNIXSK, &s.unixsk[0].base, "listening, but");
	samples_init(&s);
	s.unixsk[0].has_peek_off = true;
	s.unixsk[0].peek_off = -2;
	expect_refused(CRL_IMG_UNIXSK, &s.unixsk[0].base, "SO_PEEK_OFF -2");
}

/* --- names ------------------------------------------------------------------ */

/* Image names map back to their kind and id; other names, and other
 * spellings of a number (sign, blanks, leading zeros), are refused. */
static void test_kind_from_name(void **state)
{
	static const struct {
		const char *name;
		enum crl_img_kind kind;
		uint32_t id;
	} good[] = {
		{ "inventory.img", CRL_IMG_INVENTORY, 0 },
		{ "pstree.img", CRL_IMG_PSTREE, 0 },
		{ "core-1.img", CRL_IMG_CORE, 1 },
		{ "mm-123.img", CRL_IMG_MM, 123 },
		{ "pagemap-42.img", CRL_IMG_PAGEMAP, 42 },
		{ "pages-5.img", CRL_IMG_PAGES, 5 },
		{ "files.img", CRL_IMG_FILES, 0 },
		{ "shmem.img", CRL_IMG_SHMEM, 0 },
		{ "shmem-pagemap-7.img", CRL_IMG_SHMEM_PAGEMAP, 7 },
		{ "shmem-pages-7.img", CRL_IMG_SHMEM_PAGES, 7 },
		{ "filedesc.img", CRL_IMG_FILEDESC, 0 },
		{ "fdinfo-3.img", CRL_IMG_FDINFO, 3 },
		{ "pipes.img", CRL_IMG_PIPES, 0 },
		{ "unixsk.img", CRL_IMG_UNIXSK, 0 },
		{ "mm-0.img", CRL_IMG_MM, 0 },
		{ "mm-4294967295.img", CRL_IMG_MM, 4294967295u },
	};
	static const char *const bad[] = {
		"", "img", ".img", "mm.img", "mm-.img", "mm-x.img", "mm-12x.img", "mm-0x10.img",
		"mm--1.img", "mm-+1.img", "mm-007.img", "mm-00.img", "mm- 1.img", "mm-\t1.img", "mm-1 .img",
		"mm-4294967296.img", "mm-99999999999999999999.img", "mm-123.img.bak", "mm-123.im",
		"xmm-1.img", "inventory.img~", "inventory", "INVENTORY.IMG", "shmem-pagemap-.img",
		"shmem-1.img", "pstree-1.img", "pages.img", "fdinfo.img", "pipes-1.img",
	};

	for (size_t i = 0; i < ARRAY_SIZE(good); i++) {
		enum crl_img_kind k = CRL_IMG_NR_KINDS;
		uint32_t id = 0xdead;

		if (crl_img_kind_from_name(good[i].name, &k, &id) != 0)
			fail_msg("'%s' not recognized", good[i].name);
		assert_int_equal(k, good[i].kind);
		assert_int_equal(id, good[i].id);
	}
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		enum crl_img_kind k;
		uint32_t id;

		if (crl_img_kind_from_name(bad[i], &k, &id) != -ENOENT)
			fail_msg("'%s' taken for an image name (kind %d, id %u)", bad[i], k, id);
	}
}

/* crl_img_filename and crl_img_kind_from_name agree for every kind, and the
 * id is kept only for per-task kinds. */
static void test_filename_roundtrip(void **state)
{
	for (unsigned k = 0; k < CRL_IMG_NR_KINDS; k++) {
		enum crl_img_kind got;
		uint32_t id;
		char name[64];

		crl_img_filename(k, 4321, name, sizeof(name));
		assert_int_equal(crl_img_kind_from_name(name, &got, &id), 0);
		assert_int_equal(got, k);
		assert_int_equal(id, crl_img_kind_per_id(k) ? 4321 : 0);
		assert_int_equal(crl_img_kind_per_id(k), strstr(name, "4321") != NULL);
	}
	assert_null(crl_img_kind_desc(CRL_IMG_NR_KINDS));
}

/* --- raw images ------------------------------------------------------------- */

/* A raw image starts with a header page; data follows page-aligned, and
 * raw_open gives back the fd and the size. Record and raw kinds do not mix. */
static void test_raw_roundtrip(void **state)
{
	uint8_t page[4096], back[4096];
	uint64_t size = 0;
	char err[200];
	struct crl_img *img = NULL;
	int fd = -1;

	assert_int_equal(crl_img_raw_create(dfd, CRL_IMG_PAGES, 5, &fd), 0);
	assert_int_equal(lseek(fd, 0, SEEK_CUR), 4096);
	memset(page, 0xa5, sizeof(page));
	assert_int_equal(crl_write_all(fd, page, sizeof(page)), 0);
	close(fd);

	fd = -1;
	assert_int_equal(crl_img_raw_open(dfd, CRL_IMG_PAGES, 5, &fd, &size, err, sizeof(err)), 0);
	assert_true(fd >= 0);
	assert_int_equal(size, 8192);
	assert_int_equal(crl_pread_all(fd, back, sizeof(back), 4096), 0);
	assert_memory_equal(page, back, sizeof(page));
	close(fd);

	assert_int_equal(crl_img_raw_create(dfd, CRL_IMG_MM, 5, &fd), -EINVAL);
	assert_int_equal(crl_img_raw_open(dfd, CRL_IMG_PAGEMAP, 5, &fd, &size, err, sizeof(err)),
			 -EINVAL);
	assert_int_equal(crl_img_open(dfd, CRL_IMG_PAGES, 5, CRL_IMG_READ, &img), -EINVAL);
	assert_int_equal(crl_img_open(dfd, CRL_IMG_SHMEM_PAGES, 5, CRL_IMG_WRITE, &img), -EINVAL);
}

/* raw_open refuses a bad magic, another kind's magic, another version, a
 * size that is not a multiple of the page size, a file shorter than the
 * header page, and a missing file; each time naming the file. */
static void test_raw_header_checks(void **state)
{
	uint8_t *orig, *buf;
	size_t len;
	uint64_t size;
	char err[200];
	int fd = -1;

	assert_int_equal(crl_img_raw_create(dfd, CRL_IMG_SHMEM_PAGES, 6, &fd), 0);
	close(fd);
	orig = file_get("shmem-pages-6.img", &len);
	assert_int_equal(len, 4096);
	buf = malloc(len + 1);

#define EXPECT_RAW_REFUSED(what)                                                                   \
	do {                                                                                       \
		fd = -1;                                                                           \
		err[0] = '\0';                                                                     \
		assert_int_equal(crl_img_raw_open(dfd, CRL_IMG_SHMEM_PAGES, 6, &fd, &size, err,  \
						  sizeof(err)),                                    \
				 -EBADMSG);                                                        \
		assert_int_equal(fd, -1);                                                          \
		if (!strstr(err, "shmem-pages-6.img") || !strstr(err, what))                      \
			fail_msg("message '%s' lacks '%s'", err, what);                            \
	} while (0)

	memcpy(buf, orig, len);
	buf[0] ^= 0xff;
	file_put("shmem-pages-6.img", buf, len);
	EXPECT_RAW_REFUSED("not a criu-lite shmem-pages image");

	memcpy(buf, orig, len);
	memcpy(buf, &crl_img_kind_desc(CRL_IMG_PAGES)->magic, 4);
	file_put("shmem-pages-6.img", buf, len);
	EXPECT_RAW_REFUSED("not a criu-lite shmem-pages image");

	memcpy(buf, orig, len);
	buf[4] += 1;
	file_put("shmem-pages-6.img", buf, len);
	EXPECT_RAW_REFUSED("format version");

	memcpy(buf, orig, len);
	buf[len] = 0;
	file_put("shmem-pages-6.img", buf, len + 1);
	EXPECT_RAW_REFUSED("page-aligned");

	file_put("shmem-pages-6.img", orig, 8);
	EXPECT_RAW_REFUSED("header page");
#undef EXPECT_RAW_REFUSED

	file_put("shmem-pages-6.img", orig, len);
	assert_int_equal(crl_img_raw_open(dfd, CRL_IMG_SHMEM_PAGES, 6, &fd, &size, err, sizeof(err)), 0);
	assert_int_equal(size, 4096);
	close(fd);

	assert_int_equal(crl_img_raw_open(dfd, CRL_IMG_SHMEM_PAGES, 66, &fd, &size, err, sizeof(err)),
			 -ENOENT);
	assert_non_null(strstr(err, "shmem-pages-66.img"));
	free(buf);
	free(orig);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_roundtrip_every_kind),
		cmocka_unit_test(test_roundtrip_fields),
		cmocka_unit_test(test_empty_and_missing),
		cmocka_unit_test(test_read_single_two_records),
		cmocka_unit_test(test_write_wrong_type),
		cmocka_unit_test(test_flipped_payload_byte),
		cmocka_unit_test(test_flipped_length),
		cmocka_unit_test(test_truncated),
		cmocka_unit_test(test_absurd_length),
		cmocka_unit_test(test_wrong_magic),
		cmocka_unit_test(test_wrong_version),
		cmocka_unit_test(test_samples_are_valid),
		cmocka_unit_test(test_validate_vma),
		cmocka_unit_test(test_validate_mm_other),
		cmocka_unit_test(test_validate_pagemap),
		cmocka_unit_test(test_validate_core),
		cmocka_unit_test(test_validate_pstree),
		cmocka_unit_test(test_validate_inventory),
		cmocka_unit_test(test_validate_files_shmem),
		cmocka_unit_test(test_validate_fds),
		cmocka_unit_test(test_validate_fds_more),
		cmocka_unit_test(test_kind_from_name),
		cmocka_unit_test(test_filename_roundtrip),
		cmocka_unit_test(test_raw_roundtrip),
		cmocka_unit_test(test_raw_header_checks),
	};

	return cmocka_run_group_tests_name("image", tests, group_setup, group_teardown);
}
