/* Image files: framing, checksums, and the table of image kinds. See crl/image.h. */
#include <fcntl.h>
#include <stdarg.h>
#include <string.h>
#include <sys/stat.h>

#include "core.pb-c.h"
#include "fdinfo.pb-c.h"
#include "files.pb-c.h"
#include "inventory.pb-c.h"
#include "mm.pb-c.h"
#include "pagemap.pb-c.h"
#include "pstree.pb-c.h"
#include "shmem.pb-c.h"

#include "crl/crc32c.h"
#include "crl/util.h"
#include "crl/image.h"
#include "image-validate.h"

/* The magic of a kind is "CRL" followed by a per-kind byte; the bytes are
 * fixed forever, so the table may be reordered but never renumbered. */
#define MAGIC(c) (0x43524c00u | (c))

static const struct crl_img_kind_desc kinds[CRL_IMG_NR_KINDS] = {
	[CRL_IMG_INVENTORY] = { "inventory", "inventory.img", MAGIC(0x01), &inventory_entry__descriptor,
				crl_validate_inventory, 64 << 10 },
	[CRL_IMG_PSTREE] = { "pstree", "pstree.img", MAGIC(0x02), &pstree_entry__descriptor,
			     crl_validate_pstree, 1 << 20 },
	[CRL_IMG_CORE] = { "core", "core-%u.img", MAGIC(0x03), &core_entry__descriptor, crl_validate_core,
			   2 << 20 },
	/* vm.max_map_count allows 65530 VMAs: about 8 MiB at most. */
	[CRL_IMG_MM] = { "mm", "mm-%u.img", MAGIC(0x04), &mm_entry__descriptor, crl_validate_mm, 16 << 20 },
	[CRL_IMG_PAGEMAP] = { "pagemap", "pagemap-%u.img", MAGIC(0x05), &pagemap_entry__descriptor,
			      crl_validate_pagemap, 256 },
	[CRL_IMG_PAGES] = { "pages", "pages-%u.img", MAGIC(0x06), NULL, NULL, 0 },
	[CRL_IMG_FILES] = { "files", "files.img", MAGIC(0x07), &file_entry__descriptor, crl_validate_file,
			    16 << 10 },
	[CRL_IMG_SHMEM] = { "shmem", "shmem.img", MAGIC(0x08), &shmem_entry__descriptor, crl_validate_shmem,
			    4 << 20 },
	[CRL_IMG_SHMEM_PAGEMAP] = { "shmem-pagemap", "shmem-pagemap-%u.img", MAGIC(0x09),
				    &pagemap_entry__descriptor, crl_validate_pagemap, 256 },
	[CRL_IMG_SHMEM_PAGES] = { "shmem-pages", "shmem-pages-%u.img", MAGIC(0x0a), NULL, NULL, 0 },
	[CRL_IMG_FILEDESC] = { "filedesc", "filedesc.img", MAGIC(0x0b), &file_desc_entry__descriptor,
			       crl_validate_filedesc, 64 << 10 }, /* with up to CRL_MAX_LOCKS locks */
	[CRL_IMG_FDINFO] = { "fdinfo", "fdinfo-%u.img", MAGIC(0x0c), &fd_entry__descriptor, crl_validate_fd,
			     32 << 10 },
	/* Pipe data and socket queues: what the kernel holds for them. */
	[CRL_IMG_PIPES] = { "pipes", "pipes.img", MAGIC(0x0d), &pipe_entry__descriptor, crl_validate_pipe, 0 },
	[CRL_IMG_UNIXSK] = { "unixsk", "unixsk.img", MAGIC(0x0e), &unix_sk_entry__descriptor,
			     crl_validate_unixsk, 0 },
};

static uint32_t max_record(enum crl_img_kind kind)
{
	return kinds[kind].max_record ? kinds[kind].max_record : CRL_IMG_MAX_RECORD;
}

struct crl_img {
	FILE *f;
	enum crl_img_kind kind;
	enum crl_img_mode mode;
	unsigned nr_records;
	uint64_t offset;  /* bytes consumed so far (reader) */
	uint64_t size;    /* file size, UINT64_MAX when unknown (reader) */
	char name[64];
	char error[256];
};

const struct crl_img_kind_desc *crl_img_kind_desc(enum crl_img_kind kind)
{
	if ((unsigned)kind >= CRL_IMG_NR_KINDS)
		return NULL;
	return &kinds[kind];
}

bool crl_img_kind_per_id(enum crl_img_kind kind)
{
	return (unsigned)kind < CRL_IMG_NR_KINDS && strstr(kinds[kind].pattern, "%u") != NULL;
}

void crl_img_filename(enum crl_img_kind kind, uint32_t id, char *buf, size_t len)
{
	if ((unsigned)kind >= CRL_IMG_NR_KINDS)
		snprintf(buf, len, "(unknown image kind %u)", kind);
	else if (crl_img_kind_per_id(kind))
		snprintf(buf, len, kinds[kind].pattern, id);
	else
		snprintf(buf, len, "%s", kinds[kind].pattern);
}

int crl_img_kind_from_name(const char *name, enum crl_img_kind *ret_kind, uint32_t *ret_id)
{
	for (unsigned k = 0; k < CRL_IMG_NR_KINDS; k++) {
		const char *pat = kinds[k].pattern, *pct = strstr(pat, "%u");
		size_t plen, slen, nlen = strlen(name);
		uint64_t id;
		char digits[16];

		if (!pct) {
			if (!strcmp(name, pat)) {
				*ret_kind = k;
				if (ret_id)
					*ret_id = 0;
				return 0;
			}
			continue;
		}
		plen = pct - pat;
		slen = strlen(pct + 2);
		if (nlen <= plen + slen || strncmp(name, pat, plen) || strcmp(name + nlen - slen, pct + 2))
			continue;
		if (nlen - plen - slen >= sizeof(digits))
			continue;
		memcpy(digits, name + plen, nlen - plen - slen);
		digits[nlen - plen - slen] = '\0';
		/* Only the canonical spelling crl_img_filename() writes: no
		 * sign, no leading zero, so one file has one name. */
		if (strspn(digits, "0123456789") != strlen(digits) || (digits[0] == '0' && digits[1]) ||
		    crl_parse_u64(digits, 10, &id) < 0 || id > UINT32_MAX)
			continue;
		/* "shmem-pagemap-1.img" also matches no other pattern thanks
		 * to the digit check, so the first match is the only one. */
		*ret_kind = k;
		if (ret_id)
			*ret_id = id;
		return 0;
	}
	return -ENOENT;
}

static int img_fail(struct crl_img *img, int err, const char *fmt, ...) _printf_(3, 4);
static int img_fail(struct crl_img *img, int err, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(img->error, sizeof(img->error), fmt, ap);
	va_end(ap);
	return err;
}

const char *crl_img_name(const struct crl_img *img) { return img->name; }
const char *crl_img_error(const struct crl_img *img) { return img->error[0] ? img->error : "no error"; }
unsigned crl_img_nr_records(const struct crl_img *img) { return img->nr_records; }

static int img_new(FILE *f, enum crl_img_kind kind, enum crl_img_mode mode, const char *name,
		   struct crl_img **ret)
{
	struct crl_img *img = calloc(1, sizeof(*img));

	if (!img)
		return -ENOMEM;
	img->f = f;
	img->kind = kind;
	img->mode = mode;
	img->size = UINT64_MAX;
	snprintf(img->name, sizeof(img->name), "%s", name);
	*ret = img;
	return 0;
}

static int read_header(struct crl_img *img)
{
	uint32_t hdr[2];

	if (fread(hdr, 1, sizeof(hdr), img->f) != sizeof(hdr))
		return img_fail(img, -EBADMSG, "too short for an image header");
	img->offset = sizeof(hdr);
	if (hdr[0] != kinds[img->kind].magic)
		return img_fail(img, -EBADMSG, "not a criu-lite %s image (magic %#x, expected %#x)",
				kinds[img->kind].name, hdr[0], kinds[img->kind].magic);
	if (hdr[1] != CRL_IMG_FORMAT_VERSION)
		return img_fail(img, -EPROTONOSUPPORT, "image format version %u, this criu-lite reads %u",
				hdr[1], CRL_IMG_FORMAT_VERSION);
	return 0;
}

int crl_img_open_stream(FILE *f, enum crl_img_kind kind, const char *name, struct crl_img **ret)
{
	struct crl_img *img;
	int r;

	if (!kinds[kind].desc) {
		fclose(f);
		return -EINVAL;
	}
	r = img_new(f, kind, CRL_IMG_READ, name, &img);
	if (r < 0) {
		fclose(f);
		return r;
	}
	/* A seekable stream tells its size, so a record announcing more
	 * than is left is refused before anything is allocated for it. */
	if (fseeko(f, 0, SEEK_END) == 0) {
		off_t end = ftello(f);

		if (end >= 0)
			img->size = end;
		fseeko(f, 0, SEEK_SET);
	}
	*ret = img;
	return read_header(img);
}

int crl_img_open(int dirfd, enum crl_img_kind kind, uint32_t id, enum crl_img_mode mode,
		 struct crl_img **ret)
{
	char name[64];
	struct crl_img *img;
	struct stat st;
	FILE *f;
	int fd, r;

	if ((unsigned)kind >= CRL_IMG_NR_KINDS || !kinds[kind].desc)
		return -EINVAL;
	crl_img_filename(kind, id, name, sizeof(name));

	if (mode == CRL_IMG_WRITE)
		fd = openat(dirfd, name, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
	else
		/* O_NONBLOCK: a FIFO named like an image must not hang the
		 * reader; it is refused below as not a regular file. */
		fd = openat(dirfd, name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
	if (fd < 0)
		return negative_errno();
	f = fdopen(fd, mode == CRL_IMG_WRITE ? "w" : "r");
	if (!f) {
		r = negative_errno();
		close(fd);
		return r;
	}
	setvbuf(f, NULL, _IOFBF, 64 << 10);
	r = img_new(f, kind, mode, name, &img);
	if (r < 0) {
		fclose(f);
		return r;
	}
	*ret = img;

	if (mode == CRL_IMG_WRITE) {
		uint32_t hdr[2] = { kinds[kind].magic, CRL_IMG_FORMAT_VERSION };

		if (fwrite(hdr, 1, sizeof(hdr), f) != sizeof(hdr))
			return img_fail(img, negative_errno(), "cannot write the header: %m");
		return 0;
	}
	if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode))
		img->size = st.st_size;
	else
		return img_fail(img, -EINVAL, "not a regular file");
	return read_header(img);
}

int crl_img_write(struct crl_img *img, const ProtobufCMessage *msg)
{
	uint32_t hdr[2];
	uint8_t stackbuf[512], *buf = stackbuf;
	size_t len;
	int r = 0;

	if (img->mode != CRL_IMG_WRITE || msg->descriptor != kinds[img->kind].desc)
		return -EINVAL;
	len = protobuf_c_message_get_packed_size(msg);
	if (len > max_record(img->kind))
		return img_fail(img, -EFBIG, "record %u: %zu bytes, over the %u limit of a %s image",
				img->nr_records, len, max_record(img->kind), kinds[img->kind].name);
	if (len > sizeof(stackbuf)) {
		buf = malloc(len);
		if (!buf)
			return -ENOMEM;
	}
	protobuf_c_message_pack(msg, buf);
	hdr[0] = len;
	hdr[1] = crl_crc32c(crl_crc32c(0, &hdr[0], 4), buf, len);
	if (fwrite(hdr, 1, sizeof(hdr), img->f) != sizeof(hdr) || fwrite(buf, 1, len, img->f) != len)
		r = img_fail(img, negative_errno(), "record %u: write failed: %m", img->nr_records);
	else
		img->nr_records++;
	if (buf != stackbuf)
		free(buf);
	return r;
}

int crl_img_read(struct crl_img *img, ProtobufCMessage **ret)
{
	const struct crl_img_kind_desc *k = &kinds[img->kind];
	unsigned idx = img->nr_records;
	ProtobufCMessage *msg;
	uint32_t hdr[2];
	uint8_t *buf;
	size_t n;
	char why[160];

	if (img->mode != CRL_IMG_READ)
		return -EINVAL;
	n = fread(hdr, 1, sizeof(hdr), img->f);
	if (n == 0 && feof(img->f))
		return 0;
	if (n != sizeof(hdr))
		return img_fail(img, -EBADMSG, "record %u: truncated header at offset %llu", idx,
				(unsigned long long)img->offset);
	/* Bound the length before allocating anything: against the format's
	 * limit and against what is left in the file. */
	if (hdr[0] > max_record(img->kind))
		return img_fail(img, -EFBIG, "record %u: length %u exceeds the %u limit of a %s image", idx,
				hdr[0], max_record(img->kind), k->name);
	if (img->size != UINT64_MAX && hdr[0] > img->size - img->offset - sizeof(hdr))
		return img_fail(img, -EBADMSG, "record %u: truncated (%u bytes announced, %llu left)", idx,
				hdr[0], (unsigned long long)(img->size - img->offset - sizeof(hdr)));
	buf = malloc(hdr[0] ? hdr[0] : 1);
	if (!buf)
		return img_fail(img, -ENOMEM, "record %u: out of memory for %u bytes", idx, hdr[0]);
	if (fread(buf, 1, hdr[0], img->f) != hdr[0]) {
		free(buf);
		return img_fail(img, -EBADMSG, "record %u: truncated payload", idx);
	}
	img->offset += sizeof(hdr) + hdr[0];
	if (crl_crc32c(crl_crc32c(0, &hdr[0], 4), buf, hdr[0]) != hdr[1]) {
		free(buf);
		return img_fail(img, -EBADMSG, "record %u: checksum mismatch", idx);
	}
	msg = protobuf_c_message_unpack(k->desc, NULL, hdr[0], buf);
	free(buf);
	if (!msg)
		return img_fail(img, -EBADMSG, "record %u: cannot be decoded as %s", idx, k->desc->name);
	if (k->validate && k->validate(msg, why, sizeof(why)) < 0) {
		protobuf_c_message_free_unpacked(msg, NULL);
		return img_fail(img, -EBADMSG, "record %u: %s", idx, why);
	}
	img->nr_records++;
	*ret = msg;
	return 1;
}

int crl_img_close(struct crl_img *img)
{
	int r = 0;

	if (!img)
		return 0;
	if (img->f) {
		if (img->mode == CRL_IMG_WRITE && (fflush(img->f) != 0 || ferror(img->f)))
			r = negative_errno();
		if (fclose(img->f) != 0 && r == 0 && img->mode == CRL_IMG_WRITE)
			r = negative_errno();
	}
	free(img);
	return r;
}

int crl_img_read_single(int dirfd, enum crl_img_kind kind, uint32_t id, ProtobufCMessage **ret,
			const char **reason)
{
	static char why[400];
	_cleanup_img_ struct crl_img *img = NULL;
	ProtobufCMessage *msg = NULL, *extra = NULL;
	char name[64];
	int r;

	crl_img_filename(kind, id, name, sizeof(name));
	r = crl_img_open(dirfd, kind, id, CRL_IMG_READ, &img);
	if (r < 0) {
		if (img)
			snprintf(why, sizeof(why), "%s: %s", name, crl_img_error(img));
		else
			snprintf(why, sizeof(why), "%s: %s", name, strerror(-r));
		goto fail;
	}
	r = crl_img_read(img, &msg);
	if (r == 0) {
		r = -EBADMSG;
		snprintf(why, sizeof(why), "%s: holds no record", name);
		goto fail;
	}
	if (r < 0) {
		snprintf(why, sizeof(why), "%s: %s", name, crl_img_error(img));
		goto fail;
	}
	r = crl_img_read(img, &extra);
	if (r != 0) {
		if (r > 0)
			protobuf_c_message_free_unpacked(extra, NULL);
		protobuf_c_message_free_unpacked(msg, NULL);
		snprintf(why, sizeof(why), "%s: %s", name,
			 r > 0 ? "holds more than the one record expected" : crl_img_error(img));
		r = -EBADMSG;
		goto fail;
	}
	*ret = msg;
	return 0;
fail:
	if (reason)
		*reason = why;
	return r;
}

int crl_img_write_single(int dirfd, enum crl_img_kind kind, uint32_t id,
			 const ProtobufCMessage *msg)
{
	struct crl_img *img = NULL;
	int r;

	r = crl_img_open(dirfd, kind, id, CRL_IMG_WRITE, &img);
	if (r >= 0)
		r = crl_img_write(img, msg);
	if (img) {
		int q = crl_img_close(img);

		if (r >= 0)
			r = q;
	}
	return r;
}

int crl_img_raw_create(int dirfd, enum crl_img_kind kind, uint32_t id, int *ret_fd)
{
	uint32_t hdr[CRL_PAGE_SIZE / 4] = { kinds[kind].magic, CRL_IMG_FORMAT_VERSION };
	char name[64];
	int fd, r;

	if ((unsigned)kind >= CRL_IMG_NR_KINDS || kinds[kind].desc)
		return -EINVAL;
	crl_img_filename(kind, id, name, sizeof(name));
	fd = openat(dirfd, name, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0)
		return negative_errno();
	r = crl_write_all(fd, hdr, sizeof(hdr));
	if (r < 0) {
		close(fd);
		return r;
	}
	*ret_fd = fd;
	return 0;
}

int crl_img_raw_open(int dirfd, enum crl_img_kind kind, uint32_t id, int *ret_fd,
		     uint64_t *ret_size, char *err, size_t errlen)
{
	uint32_t hdr[2];
	struct stat st;
	char name[64];
	int fd, r;

	if ((unsigned)kind >= CRL_IMG_NR_KINDS || kinds[kind].desc)
		return -EINVAL;
	crl_img_filename(kind, id, name, sizeof(name));
	fd = openat(dirfd, name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
	if (fd < 0) {
		r = negative_errno();
		snprintf(err, errlen, "%s: %s", name, strerror(-r));
		return r;
	}
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || st.st_size < (off_t)CRL_PAGE_SIZE ||
	    !PAGE_ALIGNED((uint64_t)st.st_size)) {
		snprintf(err, errlen, "%s: not a page-aligned file with a header page", name);
		close(fd);
		return -EBADMSG;
	}
	r = crl_pread_all(fd, hdr, sizeof(hdr), 0);
	if (r < 0 || hdr[0] != kinds[kind].magic || hdr[1] != CRL_IMG_FORMAT_VERSION) {
		snprintf(err, errlen, "%s: not a criu-lite %s image of format version %u", name,
			 kinds[kind].name, CRL_IMG_FORMAT_VERSION);
		close(fd);
		return -EBADMSG;
	}
	*ret_fd = fd;
	*ret_size = st.st_size;
	return 0;
}
