/*
 * Image files.
 *
 * A record image is:  u32 magic | u32 format version | record*
 * and a record is:    u32 length | u32 crc32c | protobuf payload[length]
 * The checksum covers the length and the payload. Every record of one file
 * is the same message type, given by the kind's table entry. A raw image
 * (page contents) starts with one header page (magic, version, zeroes) and
 * then holds page data at page-aligned offsets described by a pagemap image.
 *
 * Images are untrusted input: readers check the magic, the version, every
 * length against a limit and against the bytes left, the checksum, that the
 * payload decodes, and the kind's validator (ranges, sizes, counts) before a
 * message is handed out. A failure is reported with the file name and the
 * record number through crl_img_error().
 *
 * Ownership: crl_img_read() hands out a message the caller frees with
 * protobuf_c_message_free_unpacked(msg, NULL).
 */
#ifndef CRL_IMAGE_H
#define CRL_IMAGE_H

#include <protobuf-c/protobuf-c.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#define CRL_IMG_FORMAT_VERSION 1
#define CRL_IMG_MAX_RECORD (64u << 20)

enum crl_img_kind {
	CRL_IMG_INVENTORY,
	CRL_IMG_PSTREE,
	CRL_IMG_CORE,
	CRL_IMG_MM,
	CRL_IMG_PAGEMAP,
	CRL_IMG_PAGES,
	CRL_IMG_FILES,
	CRL_IMG_SHMEM,
	CRL_IMG_SHMEM_PAGEMAP,
	CRL_IMG_SHMEM_PAGES,
	CRL_IMG_FILEDESC,
	CRL_IMG_FDINFO,
	CRL_IMG_PIPES,
	CRL_IMG_UNIXSK,
	CRL_IMG_NR_KINDS
};

struct crl_img_kind_desc {
	const char *name;      /* "mm" */
	const char *pattern;   /* "mm-%u.img": one file per task/object when it has %u */
	uint32_t magic;
	/* Message type of every record; NULL for a raw (pages) image. */
	const ProtobufCMessageDescriptor *desc;
	/* Checks one decoded record; writes why it is refused into err. */
	int (*validate)(const ProtobufCMessage *msg, char *err, size_t errlen);
	/* The largest record of the kind: a decoder expands a record into
	 * many small allocations, so each kind is bounded to what it can
	 * need (0: CRL_IMG_MAX_RECORD). */
	uint32_t max_record;
};

const struct crl_img_kind_desc *crl_img_kind_desc(enum crl_img_kind kind);
bool crl_img_kind_per_id(enum crl_img_kind kind);

/* Which kind (and id, for per-task kinds) a file name is. Returns 0, or
 * -ENOENT when the name is not an image name. */
int crl_img_kind_from_name(const char *name, enum crl_img_kind *ret_kind, uint32_t *ret_id);

/* The file name of an image; id is ignored for kinds without %u. */
void crl_img_filename(enum crl_img_kind kind, uint32_t id, char *buf, size_t len);

struct crl_img;

enum crl_img_mode { CRL_IMG_READ, CRL_IMG_WRITE };

/*
 * Open a record image in the directory dirfd. Writing creates the file with
 * mode 0600 (replacing an older one) and writes the header; reading checks
 * the header. Returns 0, -ENOENT when a read image does not exist, or
 * another -errno; on a bad header *ret is still set so crl_img_error() can
 * say why, and must be closed.
 */
int crl_img_open(int dirfd, enum crl_img_kind kind, uint32_t id, enum crl_img_mode mode,
		 struct crl_img **ret);

/* Read records of the given kind from an open stream (for show, fuzzing and
 * tests). The stream is owned by the image afterwards. */
int crl_img_open_stream(FILE *f, enum crl_img_kind kind, const char *name, struct crl_img **ret);

/* Append one record. Returns 0 or -errno. */
int crl_img_write(struct crl_img *img, const ProtobufCMessage *msg);

/*
 * Read the next record. Returns 1 and the message in *ret, 0 at a clean end
 * of file, or -EBADMSG (damaged), -EFBIG (absurd length), -EIO... with the
 * reason in crl_img_error().
 */
int crl_img_read(struct crl_img *img, ProtobufCMessage **ret);

/* Flush and close; for a written image, reports a failed write. NULL is a
 * no-op. */
int crl_img_close(struct crl_img *img);
static inline void crl_img_closep(struct crl_img **img) { crl_img_close(*img); }
#define _cleanup_img_ __attribute__((cleanup(crl_img_closep)))

const char *crl_img_name(const struct crl_img *img);
/* Why the last operation failed: "record 3: checksum mismatch". */
const char *crl_img_error(const struct crl_img *img);
/* Number of records read or written so far. */
unsigned crl_img_nr_records(const struct crl_img *img);

/*
 * Convenience: open, read exactly one record, close. Logs nothing; on error
 * *reason (if not NULL) gets "FILE: why" in a static buffer.
 */
int crl_img_read_single(int dirfd, enum crl_img_kind kind, uint32_t id, ProtobufCMessage **ret,
			const char **reason);
/* Open, write one record, close. */
int crl_img_write_single(int dirfd, enum crl_img_kind kind, uint32_t id,
			 const ProtobufCMessage *msg);

/* Raw page images. create: writes the header page, returns the fd
 * positioned at the first data offset (CRL_PAGE_SIZE). open: checks the
 * header and returns the fd and the file size. */
int crl_img_raw_create(int dirfd, enum crl_img_kind kind, uint32_t id, int *ret_fd);
int crl_img_raw_open(int dirfd, enum crl_img_kind kind, uint32_t id, int *ret_fd,
		     uint64_t *ret_size, char *err, size_t errlen);

#endif
