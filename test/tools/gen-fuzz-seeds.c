/*
 * gen-fuzz-seeds DIR: write the seed corpus of the fuzz-image target.
 *
 * For every record kind, one valid image holding the sample records of
 * test/unit/sample-images.h, written through the library's own writer, is
 * stored twice as a fuzz input (see test/fuzz/fuzz-image.c for the layout):
 *   DIR/KIND        first byte = kind | 0x80 (the harness fixes checksums)
 *   DIR/KIND-crc    first byte = kind (checksums as they are)
 * plus DIR/empty-mm, an mm image with a header and no record.
 *
 * gen-fuzz-seeds --from-dump DUMPDIR DIR: add every record image of a real
 * dump the same way, as DIR/real-NAME (checksums fixed by the harness) and
 * DIR/real-NAME-crc (as they are).
 *
 * The committed corpus (test/fuzz/corpus/fuzz-image/) was made with
 *   gen-fuzz-seeds test/fuzz/corpus/fuzz-image
 * and, from real dumps into scratch directories, the real-* seeds renamed
 * memtree-* (the mem-tree victim: its root's images and the tree-wide ones)
 * and socks-pairs-* / socks-listen-* (the fd-socks victim's socket, pipe and
 * description images). Make it again after a change of the samples or of
 * the format.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "crl/image.h"
#include "crl/util.h"
#include "../unit/sample-images.h"

#define FIX_CRC 0x80

/* Write DIR/name = prefix byte + the bytes of image file img in tmpfd. */
static int write_seed(int outfd, const char *name, uint8_t prefix, int tmpfd, const char *img)
{
	_cleanup_free_ char *buf = NULL;
	_cleanup_close_ int fd = -1;
	size_t len;
	int r;

	r = crl_read_fileat(tmpfd, img, &buf, &len);
	if (r < 0)
		return r;
	fd = openat(outfd, name, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0)
		return negative_errno();
	r = crl_write_all(fd, &prefix, 1);
	if (r >= 0)
		r = crl_write_all(fd, buf, len);
	return r;
}

static int write_image(int tmpfd, enum crl_img_kind kind, const ProtobufCMessage **msgs, unsigned n)
{
	struct crl_img *img = NULL;
	int r;

	r = crl_img_open(tmpfd, kind, 1, CRL_IMG_WRITE, &img);
	for (unsigned i = 0; r >= 0 && i < n; i++)
		r = crl_img_write(img, msgs[i]);
	if (img) {
		int q = crl_img_close(img);

		if (r >= 0)
			r = q;
	}
	return r;
}

/* Every record image of a real dump, as two seeds each. */
static int from_dump(const char *dump, const char *out)
{
	_cleanup_close_ int dumpfd = open(dump, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	_cleanup_close_ int outfd = open(out, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	struct dirent *de;
	DIR *d;
	int r = 0;

	if (dumpfd < 0 || outfd < 0) {
		fprintf(stderr, "%s: %m\n", dumpfd < 0 ? dump : out);
		return 1;
	}
	d = fdopendir(dup(dumpfd));
	while (d && (de = readdir(d)) && r >= 0) {
		enum crl_img_kind kind;
		char name[300];

		if (crl_img_kind_from_name(de->d_name, &kind, NULL) < 0 || !crl_img_kind_desc(kind)->desc)
			continue;
		snprintf(name, sizeof(name), "real-%s", de->d_name);
		r = write_seed(outfd, name, kind | FIX_CRC, dumpfd, de->d_name);
		snprintf(name, sizeof(name), "real-%s-crc", de->d_name);
		if (r >= 0)
			r = write_seed(outfd, name, kind, dumpfd, de->d_name);
	}
	if (d)
		closedir(d);
	if (r < 0)
		fprintf(stderr, "%s: %s\n", dump, strerror(-r));
	return r < 0;
}

int main(int argc, char **argv)
{
	char tmpdir[] = "/tmp/crl-fuzz-seeds-XXXXXX";
	_cleanup_close_ int outfd = -1, tmpfd = -1;
	struct samples s;
	int r = 0;

	if (argc == 4 && !strcmp(argv[1], "--from-dump"))
		return from_dump(argv[2], argv[3]);
	if (argc != 2) {
		fprintf(stderr, "usage: %s DIR | --from-dump DUMPDIR DIR\n", argv[0]);
		return 2;
	}
	if (mkdir(argv[1], 0755) < 0 && errno != EEXIST) {
		fprintf(stderr, "%s: %m\n", argv[1]);
		return 1;
	}
	outfd = open(argv[1], O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (outfd < 0 || !mkdtemp(tmpdir)) {
		fprintf(stderr, "%s: %m\n", outfd < 0 ? argv[1] : tmpdir);
		return 1;
	}
	tmpfd = open(tmpdir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

	samples_init(&s);
	for (unsigned k = 0; r >= 0 && k < CRL_IMG_NR_KINDS; k++) {
		const struct crl_img_kind_desc *d = crl_img_kind_desc(k);
		const ProtobufCMessage *msgs[SAMPLE_MAX_RECORDS];
		unsigned n = samples_of_kind(&s, k, msgs);
		char img[64], name[64];

		if (!d->desc)
			continue;
		crl_img_filename(k, 1, img, sizeof(img));
		r = write_image(tmpfd, k, msgs, n);
		if (r >= 0)
			r = write_seed(outfd, d->name, k | FIX_CRC, tmpfd, img);
		snprintf(name, sizeof(name), "%s-crc", d->name);
		if (r >= 0)
			r = write_seed(outfd, name, k, tmpfd, img);
		unlinkat(tmpfd, img, 0);
	}
	if (r >= 0) {
		r = write_image(tmpfd, CRL_IMG_MM, NULL, 0);
		if (r >= 0)
			r = write_seed(outfd, "empty-mm", CRL_IMG_MM | FIX_CRC, tmpfd, "mm-1.img");
		unlinkat(tmpfd, "mm-1.img", 0);
	}
	rmdir(tmpdir);
	if (r < 0) {
		fprintf(stderr, "cannot write the seeds: %s\n", strerror(-r));
		return 1;
	}
	return 0;
}
