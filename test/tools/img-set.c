/*
 * img-set DIR FILE RECORD FIELD VALUE
 *
 * Rewrites one scalar field of one record of a record image, keeping the
 * framing valid (fresh header, lengths and checksums), so a test can hand
 * the restorer an image that is well formed but says something else: a
 * vDSO of another kernel, an out-of-range value the validators must catch.
 *
 *   DIR     the image directory
 *   FILE    an image file name in it (inventory.img, core-42.img...)
 *   RECORD  the index of the record to change, from 0
 *   FIELD   the name of a field of that record (as in the .proto); a field
 *           of a message inside it by a dotted path, an element of a
 *           repeated message by its index from 0: locks.0.start,
 *           queue_cred.1.pid, creds.uid
 *   VALUE   a number (decimal or 0x hex) for integer and enum fields,
 *           true/false for bool, the text for string fields, first:N for
 *           bytes fields (keep the first N bytes: an XSAVE area of another
 *           size); for a repeated field, count:N keeps its first N
 *           elements (a count that disagrees with another field's)
 *
 * Exits 0 when the field was set, 2 on any error (named on stderr).
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "crl/image.h"

static int die(const char *fmt, const char *a, const char *b)
{
	fprintf(stderr, "img-set: ");
	fprintf(stderr, fmt, a, b);
	fputc('\n', stderr);
	exit(2);
}

static uint64_t parse_number(const char *value)
{
	char *end;
	uint64_t v;

	errno = 0;
	v = strtoull(value, &end, 0);
	if (errno || !*value || *end)
		die("'%s' is not a number%s", value, "");
	return v;
}

static void set_field(ProtobufCMessage *m, char *name, const char *value)
{
	const ProtobufCFieldDescriptor *f;
	char *dot = strchr(name, '.'), *p;

	if (dot)
		*dot = '\0';
	f = protobuf_c_message_descriptor_get_field_by_name(m->descriptor, name);
	if (!f)
		die("%s has no field '%s'", m->descriptor->name, name);
	p = (char *)m + f->offset;
	if (dot) {
		/* A message inside: by name, or an element of a repeated one
		 * by its index. */
		ProtobufCMessage *sub, **subs;
		char *rest = dot + 1;

		if (f->type != PROTOBUF_C_TYPE_MESSAGE)
			die("field '%s' holds no message%s", name, "");
		memcpy(&subs, p, sizeof(subs));
		if (f->label == PROTOBUF_C_LABEL_REPEATED) {
			char *next = strchr(rest, '.');
			size_t n, i;

			if (!next)
				die("'%s': an element of a repeated field takes an index and a field%s", rest, "");
			*next = '\0';
			i = (size_t)parse_number(rest);
			memcpy(&n, (char *)m + f->quantifier_offset, sizeof(n));
			if (i >= n)
				die("field '%s' has fewer elements than that%s", name, "");
			sub = subs[i];
			rest = next + 1;
		} else {
			sub = (ProtobufCMessage *)subs;
			if (!sub)
				die("field '%s' is absent%s", name, "");
		}
		set_field(sub, rest, value);
		return;
	}
	if (f->label == PROTOBUF_C_LABEL_REPEATED) {
		size_t n, want;

		if (strncmp(value, "count:", 6))
			die("field '%s' is repeated: it takes count:N%s", name, "");
		want = (size_t)parse_number(value + 6);
		memcpy(&n, (char *)m + f->quantifier_offset, sizeof(n));
		if (want > n)
			die("'%s': count:N keeps at most the elements there are%s", value, "");
		memcpy((char *)m + f->quantifier_offset, &want, sizeof(want));
		return;
	}
	switch (f->type) {
	case PROTOBUF_C_TYPE_UINT32:
	case PROTOBUF_C_TYPE_INT32:
	case PROTOBUF_C_TYPE_SINT32:
	case PROTOBUF_C_TYPE_FIXED32:
	case PROTOBUF_C_TYPE_SFIXED32:
	case PROTOBUF_C_TYPE_ENUM: {
		uint32_t v = (uint32_t)parse_number(value);

		memcpy(p, &v, sizeof(v));
		break;
	}
	case PROTOBUF_C_TYPE_UINT64:
	case PROTOBUF_C_TYPE_INT64:
	case PROTOBUF_C_TYPE_SINT64:
	case PROTOBUF_C_TYPE_FIXED64:
	case PROTOBUF_C_TYPE_SFIXED64: {
		uint64_t v = parse_number(value);

		memcpy(p, &v, sizeof(v));
		break;
	}
	case PROTOBUF_C_TYPE_BOOL: {
		protobuf_c_boolean v = !strcmp(value, "true");

		if (!v && strcmp(value, "false"))
			die("'%s' is neither true nor false%s", value, "");
		memcpy(p, &v, sizeof(v));
		break;
	}
	case PROTOBUF_C_TYPE_STRING: {
		char *old, *s = strdup(value);

		if (!s)
			die("out of memory%s%s", "", "");
		memcpy(&old, p, sizeof(old));
		free(old);
		memcpy(p, &s, sizeof(s));
		break;
	}
	case PROTOBUF_C_TYPE_BYTES: {
		ProtobufCBinaryData b;

		memcpy(&b, p, sizeof(b));
		if (strncmp(value, "first:", 6) || parse_number(value + 6) > b.len)
			die("'%s': bytes fields take first:N, N at most their length%s", value, "");
		b.len = (size_t)parse_number(value + 6);
		memcpy(p, &b, sizeof(b));
		break;
	}
	default:
		die("field '%s' is not a scalar this tool sets%s", name, "");
	}
	/* An optional scalar says it is present through its has_ member. */
	if (f->label == PROTOBUF_C_LABEL_OPTIONAL && f->quantifier_offset && f->type != PROTOBUF_C_TYPE_STRING &&
	    f->type != PROTOBUF_C_TYPE_BYTES) {
		protobuf_c_boolean has = 1;

		memcpy((char *)m + f->quantifier_offset, &has, sizeof(has));
	}
}

int main(int argc, char **argv)
{
	ProtobufCMessage **recs = NULL, *m;
	enum crl_img_kind kind;
	struct crl_img *img;
	size_t nr = 0, index;
	uint32_t id;
	int dirfd, r;

	if (argc != 6)
		die("usage: img-set DIR FILE RECORD FIELD VALUE%s%s", "", "");
	dirfd = open(argv[1], O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dirfd < 0)
		die("cannot open %s: %s", argv[1], strerror(errno));
	if (crl_img_kind_from_name(argv[2], &kind, &id) < 0)
		die("%s is not an image name%s", argv[2], "");
	index = (size_t)parse_number(argv[3]);

	r = crl_img_open(dirfd, kind, id, CRL_IMG_READ, &img);
	if (r < 0)
		die("cannot read %s: %s", argv[2], img ? crl_img_error(img) : strerror(-r));
	while ((r = crl_img_read(img, &m)) > 0) {
		recs = realloc(recs, (nr + 1) * sizeof(*recs));
		if (!recs)
			die("out of memory%s%s", "", "");
		recs[nr++] = m;
	}
	if (r < 0)
		die("cannot read %s: %s", argv[2], crl_img_error(img));
	crl_img_close(img);
	if (index >= nr)
		die("%s has fewer records than that%s", argv[2], "");

	set_field(recs[index], argv[4], argv[5]);

	r = crl_img_open(dirfd, kind, id, CRL_IMG_WRITE, &img);
	if (r < 0)
		die("cannot rewrite %s: %s", argv[2], strerror(-r));
	for (size_t i = 0; i < nr; i++) {
		if (crl_img_write(img, recs[i]) < 0)
			die("cannot write %s: %s", argv[2], crl_img_error(img));
		protobuf_c_message_free_unpacked(recs[i], NULL);
	}
	if (crl_img_close(img) < 0)
		die("cannot write %s: %s", argv[2], strerror(errno));
	free(recs);
	return 0;
}
