/*
 * criu-lite show: the images of a dump, for people and for tests.
 *
 *   criu-lite show DIR          every image of DIR as one JSON object
 *   criu-lite show FILE         the records of one image as a JSON array
 *   criu-lite show --maps DIR   the address spaces, like /proc/PID/maps
 *
 * Plain show has no code per image kind: it walks the table of image kinds
 * (lib/image.c) to recognise file names and prints every record through its
 * protobuf-c descriptor, so a kind or a field added later shows up without
 * touching this file. Field values become JSON as follows: nested messages
 * are objects, repeated fields arrays, enums the name of their value (the
 * number when the value is unknown), bytes a lowercase hex string, 64-bit
 * integers numbers (unsigned ones as JSON unsigned). Optional fields that
 * are absent are left out; fields this criu-lite does not know (from a newer
 * writer) are listed under "_unknown" as {"tag": N, "wire_type": W, "data":
 * "hex"}, data being the wire encoding that followed the tag.
 *
 * For DIR the keys are the image file names, sorted; files whose names are
 * not image names are ignored. A raw page image is {"raw": true, "size": N}
 * (N: file size in bytes, header page included). A damaged image is
 * {"error": "record N: why", "records": [the records before the damage]},
 * the error is also logged, and the command fails. For FILE the kind comes
 * from the file name, or from the magic number when the file was renamed
 * (a fuzzer's crash file, a copy).
 *
 * show --maps prints, for every task of pstree.img in its order:
 *
 *   pid PID ppid PPID pgid PGID sid SID comm COMM
 *   START-END PERMS OFFSET MAJ:MIN INODE KIND OBJ NAME     (one line per VMA)
 *   pages N
 *   <blank line>
 *
 * START-END, PERMS, OFFSET, MAJ:MIN and INODE are formatted as the kernel
 * formats /proc/PID/maps (PERMS: rwx, then 's' for MAP_SHARED or 'p');
 * MAJ:MIN and INODE are those of the mapped object as map_files told the
 * dumper (00:00 and 0 when the VMA maps none). KIND is the VmaKind without
 * its VMA_ prefix, lowercase, '-' for '_' (anon, heap, stack, file-private,
 * file-shared, shared-anon, memfd, unlinked, sysv-shm, vdso, vvar,
 * vvar-vclock, vsyscall). OBJ is the files.img or shmem.img id, '-' for
 * none. NAME is the name as maps showed it, possibly with spaces, and is
 * left out when the VMA has none. N is the number of private pages dumped
 * for the task (the sum over pagemap-PID.img). Then one line per shared
 * object of shmem.img and per file of files.img:
 *
 *   shmem id ID kind KIND dev MAJ:MIN ino INO size BYTES users PID,PID|- name NAME|-
 *   file id ID dev MAJ:MIN ino INO size BYTES path PATH
 *
 * Names and paths come last because they may hold spaces. A missing
 * shmem.img or files.img prints no such lines.
 */
#include <dirent.h>
#include <fcntl.h>
#include <json-c/json.h>
#include <libgen.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

#include "core.pb-c.h"
#include "files.pb-c.h"
#include "mm.pb-c.h"
#include "pagemap.pb-c.h"
#include "pstree.pb-c.h"
#include "shmem.pb-c.h"

#include "crl/image.h"
#include "crl/log.h"
#include "crl/util.h"
#include "tool.h"

static void json_putp(json_object **j)
{
	json_object_put(*j);
}
#define _cleanup_json_ _cleanup_(json_putp)

static void msg_freep(ProtobufCMessage **m)
{
	if (*m)
		protobuf_c_message_free_unpacked(*m, NULL);
}
#define _cleanup_msg_ _cleanup_(msg_freep)

/* --- protobuf-c message -> JSON, through the descriptor -------------------- */

/* Hand a new json object out through *ret; json-c returns NULL only when it
 * ran out of memory. */
#define RETURN_JSON(expr)                     \
	do {                                  \
		json_object *_j = (expr);     \
		if (!_j)                      \
			return -ENOMEM;       \
		*ret = _j;                    \
		return 0;                     \
	} while (0)

/* Add val to an object or an array; takes val in every case. */
static int obj_add(json_object *obj, const char *key, json_object *val)
{
	if (json_object_object_add(obj, key, val) < 0) {
		json_object_put(val);
		return -ENOMEM;
	}
	return 0;
}

static int arr_add(json_object *arr, json_object *val)
{
	if (json_object_array_add(arr, val) < 0) {
		json_object_put(val);
		return -ENOMEM;
	}
	return 0;
}

static int hex_to_json(const uint8_t *data, size_t len, json_object **ret)
{
	static const char digits[] = "0123456789abcdef";
	_cleanup_free_ char *s = NULL;

	if (len > (INT32_MAX - 1) / 2)
		return -EFBIG;
	s = malloc(2 * len + 1);
	if (!s)
		return -ENOMEM;
	for (size_t i = 0; i < len; i++) {
		s[2 * i] = digits[data[i] >> 4];
		s[2 * i + 1] = digits[data[i] & 15];
	}
	RETURN_JSON(json_object_new_string_len(s, 2 * len));
}

static int message_to_json(const ProtobufCMessage *m, json_object **ret);

/* One value of field f stored at p (a member, or an element of a repeated
 * member's array). */
static int value_to_json(const ProtobufCFieldDescriptor *f, const void *p, json_object **ret)
{
	switch (f->type) {
	case PROTOBUF_C_TYPE_INT32:
	case PROTOBUF_C_TYPE_SINT32:
	case PROTOBUF_C_TYPE_SFIXED32:
		RETURN_JSON(json_object_new_int(*(const int32_t *)p));
	case PROTOBUF_C_TYPE_UINT32:
	case PROTOBUF_C_TYPE_FIXED32:
		RETURN_JSON(json_object_new_int64(*(const uint32_t *)p));
	case PROTOBUF_C_TYPE_INT64:
	case PROTOBUF_C_TYPE_SINT64:
	case PROTOBUF_C_TYPE_SFIXED64:
		RETURN_JSON(json_object_new_int64(*(const int64_t *)p));
	case PROTOBUF_C_TYPE_UINT64:
	case PROTOBUF_C_TYPE_FIXED64:
		RETURN_JSON(json_object_new_uint64(*(const uint64_t *)p));
	case PROTOBUF_C_TYPE_FLOAT:
		RETURN_JSON(json_object_new_double(*(const float *)p));
	case PROTOBUF_C_TYPE_DOUBLE:
		RETURN_JSON(json_object_new_double(*(const double *)p));
	case PROTOBUF_C_TYPE_BOOL:
		RETURN_JSON(json_object_new_boolean(*(const protobuf_c_boolean *)p));
	case PROTOBUF_C_TYPE_ENUM: {
		int v = *(const int *)p;
		const ProtobufCEnumValue *ev = protobuf_c_enum_descriptor_get_value(f->descriptor, v);

		/* An unknown value (a newer writer) still shows, as its number. */
		if (!ev)
			RETURN_JSON(json_object_new_int(v));
		RETURN_JSON(json_object_new_string(ev->name));
	}
	case PROTOBUF_C_TYPE_STRING: {
		const char *s = *(char *const *)p;

		RETURN_JSON(json_object_new_string(s ? s : ""));
	}
	case PROTOBUF_C_TYPE_BYTES: {
		const ProtobufCBinaryData *b = p;

		return hex_to_json(b->data, b->len, ret);
	}
	case PROTOBUF_C_TYPE_MESSAGE:
		return message_to_json(*(ProtobufCMessage *const *)p, ret);
	}
	RETURN_JSON(json_object_new_string("?"));
}

/* Bytes one element of a repeated field of this type takes in its array;
 * protobuf-c lays repeated scalars out packed, like C arrays. */
static size_t element_size(ProtobufCType type)
{
	switch (type) {
	case PROTOBUF_C_TYPE_INT32:
	case PROTOBUF_C_TYPE_SINT32:
	case PROTOBUF_C_TYPE_SFIXED32:
	case PROTOBUF_C_TYPE_UINT32:
	case PROTOBUF_C_TYPE_FIXED32:
	case PROTOBUF_C_TYPE_FLOAT:
	case PROTOBUF_C_TYPE_ENUM:
		return 4;
	case PROTOBUF_C_TYPE_INT64:
	case PROTOBUF_C_TYPE_SINT64:
	case PROTOBUF_C_TYPE_SFIXED64:
	case PROTOBUF_C_TYPE_UINT64:
	case PROTOBUF_C_TYPE_FIXED64:
	case PROTOBUF_C_TYPE_DOUBLE:
		return 8;
	case PROTOBUF_C_TYPE_BOOL:
		return sizeof(protobuf_c_boolean);
	case PROTOBUF_C_TYPE_BYTES:
		return sizeof(ProtobufCBinaryData);
	case PROTOBUF_C_TYPE_STRING:
	case PROTOBUF_C_TYPE_MESSAGE:
		return sizeof(void *);
	}
	return 0;
}

/* Whether a singular field holds a value, by protobuf-c's rules: a member
 * of a oneof when the case says so; an optional string or message when the
 * pointer is set (and is not the default); another optional scalar when its
 * has_ flag is set. */
static bool field_present(const ProtobufCMessage *m, const ProtobufCFieldDescriptor *f)
{
	const char *base = (const char *)m;
	const void *member = base + f->offset;

	if (f->flags & PROTOBUF_C_FIELD_FLAG_ONEOF)
		return *(const uint32_t *)(base + f->quantifier_offset) == f->id;
	if (f->type == PROTOBUF_C_TYPE_MESSAGE)
		return *(void *const *)member != NULL;
	if (f->label != PROTOBUF_C_LABEL_OPTIONAL)
		return true;
	if (f->type == PROTOBUF_C_TYPE_STRING) {
		const void *s = *(void *const *)member;

		return s && s != f->default_value;
	}
	return *(const protobuf_c_boolean *)(base + f->quantifier_offset);
}

static int repeated_to_json(const ProtobufCMessage *m, const ProtobufCFieldDescriptor *f,
			    json_object **ret)
{
	const char *base = (const char *)m;
	size_t n = *(const size_t *)(base + f->quantifier_offset);
	const char *elems = *(char *const *)(base + f->offset);
	size_t size = element_size(f->type);
	_cleanup_json_ json_object *arr = json_object_new_array_ext(n);
	int r;

	if (!arr)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++) {
		json_object *v;

		r = value_to_json(f, elems + i * size, &v);
		if (r < 0)
			return r;
		r = arr_add(arr, v);
		if (r < 0)
			return r;
	}
	*ret = TAKE_PTR(arr);
	return 0;
}

/* Fields protobuf-c kept but this criu-lite's schema does not name. */
static int unknown_to_json(const ProtobufCMessage *m, json_object **ret)
{
	_cleanup_json_ json_object *arr = json_object_new_array();
	int r;

	if (!arr)
		return -ENOMEM;
	for (unsigned i = 0; i < m->n_unknown_fields; i++) {
		const ProtobufCMessageUnknownField *u = &m->unknown_fields[i];
		json_object *o = json_object_new_object(), *tag, *wire, *data;

		if (!o)
			return -ENOMEM;
		r = arr_add(arr, o);
		if (r < 0)
			return r;
		tag = json_object_new_int64(u->tag);
		if (!tag)
			return -ENOMEM;
		r = obj_add(o, "tag", tag);
		if (r < 0)
			return r;
		wire = json_object_new_int(u->wire_type);
		if (!wire)
			return -ENOMEM;
		r = obj_add(o, "wire_type", wire);
		if (r < 0)
			return r;
		r = hex_to_json(u->data, u->len, &data);
		if (r < 0)
			return r;
		r = obj_add(o, "data", data);
		if (r < 0)
			return r;
	}
	*ret = TAKE_PTR(arr);
	return 0;
}

/* Any message, field by field, in the order of its descriptor. */
static int message_to_json(const ProtobufCMessage *m, json_object **ret)
{
	const ProtobufCMessageDescriptor *d = m->descriptor;
	_cleanup_json_ json_object *obj = json_object_new_object();
	int r;

	if (!obj)
		return -ENOMEM;
	for (unsigned i = 0; i < d->n_fields; i++) {
		const ProtobufCFieldDescriptor *f = &d->fields[i];
		json_object *v;

		if (f->label == PROTOBUF_C_LABEL_REPEATED)
			r = repeated_to_json(m, f, &v);
		else if (field_present(m, f))
			r = value_to_json(f, (const char *)m + f->offset, &v);
		else
			continue;
		if (r < 0)
			return r;
		r = obj_add(obj, f->name, v);
		if (r < 0)
			return r;
	}
	if (m->n_unknown_fields) {
		json_object *v;

		r = unknown_to_json(m, &v);
		if (r < 0)
			return r;
		r = obj_add(obj, "_unknown", v);
		if (r < 0)
			return r;
	}
	*ret = TAKE_PTR(obj);
	return 0;
}

/* --- finding and opening images by file name ------------------------------ */

/* Whether name is exactly the file name criu-lite gives this kind and id.
 * crl_img_kind_from_name() also accepts "mm-007.img", which crl_img_open()
 * would look for as "mm-7.img". */
static bool name_is_canonical(const char *name, enum crl_img_kind kind, uint32_t id)
{
	char canon[64];

	crl_img_filename(kind, id, canon, sizeof(canon));
	return !strcmp(canon, name);
}

/* The kind of a file whose name says nothing, from its magic number. */
static int kind_from_magic(int dirfd, const char *name, enum crl_img_kind *ret)
{
	_cleanup_close_ int fd = openat(dirfd, name, O_RDONLY | O_CLOEXEC);
	uint32_t magic;
	int r;

	if (fd < 0)
		return negative_errno();
	r = crl_pread_all(fd, &magic, sizeof(magic), 0);
	if (r < 0)
		return r == -EIO ? -EBADMSG : r;
	for (unsigned k = 0; k < CRL_IMG_NR_KINDS; k++)
		if (crl_img_kind_desc(k)->magic == magic) {
			*ret = k;
			return 0;
		}
	return -EBADMSG;
}

/*
 * Open a record image by its file name. A name criu-lite writes goes
 * through crl_img_open() (which also bounds record lengths by the file
 * size); any other name (show FILE of a renamed copy) through a stream.
 * Returns 0 or -errno; on a bad header *ret is set and says why.
 */
static int open_records(int dirfd, const char *name, enum crl_img_kind kind, uint32_t id,
			struct crl_img **ret)
{
	struct stat st;
	FILE *f;
	int fd;

	if (name_is_canonical(name, kind, id))
		return crl_img_open(dirfd, kind, id, CRL_IMG_READ, ret);
	fd = openat(dirfd, name, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return negative_errno();
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		close(fd);
		return -EINVAL;
	}
	f = fdopen(fd, "r");
	if (!f) {
		int r = negative_errno();

		close(fd);
		return r;
	}
	return crl_img_open_stream(f, kind, name, ret);
}

/* The size of a raw page image after checking its header; err gets why it
 * is refused. */
static int raw_image_size(int dirfd, const char *name, enum crl_img_kind kind, uint32_t id,
			  uint64_t *ret_size, char *err, size_t errlen)
{
	_cleanup_close_ int fd = -1;
	uint32_t hdr[2];
	struct stat st;
	int r;

	if (name_is_canonical(name, kind, id))
		return crl_img_raw_open(dirfd, kind, id, &fd, ret_size, err, errlen);

	/* A renamed raw image: the same checks crl_img_raw_open() makes. */
	fd = openat(dirfd, name, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		r = negative_errno();
		snprintf(err, errlen, "%s: %s", name, strerror(-r));
		return r;
	}
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || st.st_size < (off_t)CRL_PAGE_SIZE ||
	    !PAGE_ALIGNED((uint64_t)st.st_size) || crl_pread_all(fd, hdr, sizeof(hdr), 0) < 0 ||
	    hdr[0] != crl_img_kind_desc(kind)->magic || hdr[1] != CRL_IMG_FORMAT_VERSION) {
		snprintf(err, errlen, "%s: not a page-aligned criu-lite %s image of format version %u",
			 name, crl_img_kind_desc(kind)->name, CRL_IMG_FORMAT_VERSION);
		return -EBADMSG;
	}
	*ret_size = st.st_size;
	return 0;
}

/* Why a reader failed, for a message that also names the file. */
static const char *img_why(const struct crl_img *img, int r)
{
	/* The library leaves the reason empty for an allocation failure. */
	if (r == -ENOMEM || !img)
		return strerror(-r);
	return crl_img_error(img);
}

/* {"error": why, "records": records} for a damaged image. */
static int error_json(const char *why, json_object *records, json_object **ret)
{
	_cleanup_json_ json_object *obj = json_object_new_object();
	json_object *s = json_object_new_string(why);
	int r;

	if (!obj || !s) {
		json_object_put(s);
		json_object_put(records);
		return -ENOMEM;
	}
	r = obj_add(obj, "error", s);
	if (r < 0) {
		json_object_put(records);
		return r;
	}
	if (records) {
		r = obj_add(obj, "records", records);
		if (r < 0)
			return r;
	}
	*ret = TAKE_PTR(obj);
	return 0;
}

/* {"raw": true, "size": N} for a raw page image. */
static int raw_to_json(uint64_t size, json_object **ret)
{
	_cleanup_json_ json_object *obj = json_object_new_object();
	json_object *t = json_object_new_boolean(1), *n = json_object_new_uint64(size);

	if (!obj || !t || !n) {
		json_object_put(t);
		json_object_put(n);
		return -ENOMEM;
	}
	if (obj_add(obj, "raw", t) < 0) {
		json_object_put(n);
		return -ENOMEM;
	}
	if (obj_add(obj, "size", n) < 0)
		return -ENOMEM;
	*ret = TAKE_PTR(obj);
	return 0;
}

/*
 * One image as JSON: the array of its records, or {"raw": true, "size": N}.
 * Returns 0 with *ret set; or a negative errno: with *ret set to the error
 * object when the image cannot be read (logged here, naming the file and
 * the record), with *ret NULL when memory ran out (not logged).
 */
static int image_to_json(int dirfd, const char *name, enum crl_img_kind kind, uint32_t id,
			 json_object **ret)
{
	_cleanup_img_ struct crl_img *img = NULL;
	_cleanup_json_ json_object *records = NULL;
	char why[512];
	int r, q;

	*ret = NULL;
	if (!crl_img_kind_desc(kind)->desc) {
		uint64_t size;
		const char *colon;

		r = raw_image_size(dirfd, name, kind, id, &size, why, sizeof(why));
		if (r >= 0)
			return raw_to_json(size, ret);
		log_error("%s", why);
		/* why starts with the file name, which the key already says */
		colon = strstr(why, ": ");
		q = error_json(colon ? colon + 2 : why, NULL, ret);
		return q < 0 ? q : r;
	}

	records = json_object_new_array();
	if (!records)
		return -ENOMEM;
	r = open_records(dirfd, name, kind, id, &img);
	for (;;) {
		_cleanup_msg_ ProtobufCMessage *msg = NULL;
		json_object *v;

		if (r >= 0)
			r = crl_img_read(img, &msg);
		if (r == 0)
			break;
		if (r == -ENOMEM)
			return r;
		if (r < 0) {
			snprintf(why, sizeof(why), "%s", img_why(img, r));
			log_error("%s: %s", name, why);
			q = error_json(why, TAKE_PTR(records), ret);
			return q < 0 ? q : r;
		}
		r = message_to_json(msg, &v);
		if (r >= 0)
			r = arr_add(records, v);
		if (r < 0)
			return r;
	}
	*ret = TAKE_PTR(records);
	return 0;
}

static int print_json(json_object *j)
{
	const char *s = json_object_to_json_string_ext(j, JSON_C_TO_STRING_PRETTY |
							       JSON_C_TO_STRING_NOSLASHESCAPE);

	if (!s)
		return log_error_errno(-ENOMEM, "cannot format the JSON output: %m");
	if (puts(s) == EOF || fflush(stdout) == EOF)
		return log_error_errno(negative_errno(), "cannot write to standard output: %m");
	return 0;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

struct name_list {
	char **v;
	size_t nr, cap;
};

static void name_list_free(struct name_list *l)
{
	for (size_t i = 0; i < l->nr; i++)
		free(l->v[i]);
	free(l->v);
}

/* The image file names of a directory, sorted bytewise (not by locale, so
 * the output is the same everywhere). */
static int list_images(int dirfd, struct name_list *ret)
{
	struct name_list l = { 0 };
	DIR *d = crl_opendirat(dirfd, ".");
	struct dirent *de;

	if (!d)
		return negative_errno();
	while ((errno = 0, de = readdir(d))) {
		enum crl_img_kind kind;
		uint32_t id;
		char *s;

		if (crl_img_kind_from_name(de->d_name, &kind, &id) < 0 ||
		    !name_is_canonical(de->d_name, kind, id))
			continue;
		if (GROW(l.v, l.cap, l.nr + 1) < 0 || !(s = strdup(de->d_name))) {
			name_list_free(&l);
			closedir(d);
			return -ENOMEM;
		}
		l.v[l.nr++] = s;
	}
	if (errno) {
		int r = negative_errno();

		name_list_free(&l);
		closedir(d);
		return r;
	}
	closedir(d);
	if (l.nr)
		qsort(l.v, l.nr, sizeof(*l.v), cmp_str);
	*ret = l;
	return 0;
}

static int show_dir(int dirfd, const char *path)
{
	_cleanup_json_ json_object *root = json_object_new_object();
	_cleanup_(name_list_free) struct name_list names = { 0 };
	int r, failed = 0;

	if (!root)
		return log_error_errno(-ENOMEM, "%m");
	r = list_images(dirfd, &names);
	if (r < 0)
		return log_error_errno(r, "%s: cannot list: %m", path);
	for (size_t i = 0; i < names.nr; i++) {
		enum crl_img_kind kind;
		uint32_t id;
		json_object *v;

		(void)crl_img_kind_from_name(names.v[i], &kind, &id);
		r = image_to_json(dirfd, names.v[i], kind, id, &v);
		if (!v)
			return log_error_errno(r, "%s: %m", names.v[i]);
		if (r < 0)
			failed = r;
		r = obj_add(root, names.v[i], v);
		if (r < 0)
			return log_error_errno(r, "%m");
	}
	r = print_json(root);
	if (failed < 0) {
		log_error("%s: damaged images, see above", path);
		return failed;
	}
	return r;
}

static int show_file(const char *path)
{
	_cleanup_free_ char *dcopy = strdup(path), *bcopy = strdup(path);
	_cleanup_close_ int dirfd = -1;
	_cleanup_json_ json_object *v = NULL;
	enum crl_img_kind kind;
	const char *name;
	uint32_t id = 0;
	int r;

	if (!dcopy || !bcopy)
		return log_error_errno(-ENOMEM, "%m");
	name = basename(bcopy);
	dirfd = open(dirname(dcopy), O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (dirfd < 0)
		return log_error_errno(negative_errno(), "%s: %m", path);
	if (crl_img_kind_from_name(name, &kind, &id) < 0) {
		r = kind_from_magic(dirfd, name, &kind);
		if (r == -EBADMSG)
			return log_error_errno(r, "%s: neither the name nor the magic number of a criu-lite image",
					       path);
		if (r < 0)
			return log_error_errno(r, "%s: %m", path);
	}
	r = image_to_json(dirfd, name, kind, id, &v);
	if (!v)
		return log_error_errno(r, "%s: %m", path);
	/* A damaged file still shows what could be read before the damage. */
	if (print_json(v) < 0 && r >= 0)
		r = -EIO;
	return r;
}

/* --- show --maps ------------------------------------------------------------ */

/* "VMA_FILE_PRIVATE" -> "file-private": the value name without the prefix
 * every value of the enum carries, lowercase, '-' for '_'. */
static void enum_short_name(const ProtobufCEnumDescriptor *d, int value, char *buf, size_t len)
{
	const ProtobufCEnumValue *ev = protobuf_c_enum_descriptor_get_value(d, value);
	const char *s;
	size_t i;

	if (!ev) {
		snprintf(buf, len, "kind-%d", value);
		return;
	}
	s = strchr(ev->name, '_');
	s = s ? s + 1 : ev->name;
	for (i = 0; s[i] && i + 1 < len; i++)
		buf[i] = s[i] == '_' ? '-' : (s[i] >= 'A' && s[i] <= 'Z' ? s[i] - 'A' + 'a' : s[i]);
	buf[i] = '\0';
}

static void print_vma(const VmaEntry *v)
{
	uint64_t dev = v->has_dev ? v->dev : 0;
	char kind[32];

	enum_short_name(&vma_kind__descriptor, v->kind, kind, sizeof(kind));
	printf("%08llx-%08llx %c%c%c%c %08llx %02x:%02x %llu %s ", (unsigned long long)v->start,
	       (unsigned long long)v->end, v->prot & PROT_READ ? 'r' : '-',
	       v->prot & PROT_WRITE ? 'w' : '-', v->prot & PROT_EXEC ? 'x' : '-',
	       v->flags & MAP_SHARED ? 's' : 'p', (unsigned long long)v->pgoff * CRL_PAGE_SIZE,
	       major(dev), minor(dev), (unsigned long long)(v->has_ino ? v->ino : 0), kind);
	if (v->has_object_id && v->object_id)
		printf("%u", v->object_id);
	else
		putchar('-');
	if (v->name)
		printf(" %s", v->name);
	putchar('\n');
}

/* Open a record image of the dump for --maps. Logs the failure. */
static int open_dump_image(int dirfd, enum crl_img_kind kind, uint32_t id, struct crl_img **ret)
{
	char name[64];
	int r;

	*ret = NULL;
	r = crl_img_open(dirfd, kind, id, CRL_IMG_READ, ret);
	if (r < 0) {
		crl_img_filename(kind, id, name, sizeof(name));
		return log_error_errno(r, "%s: %s", name, img_why(*ret, r));
	}
	return 0;
}

/* The number of pages pagemap-PID.img describes. */
static int count_pages(int dirfd, uint32_t pid, uint64_t *ret)
{
	_cleanup_img_ struct crl_img *img = NULL;
	uint64_t n = 0;
	int r;

	r = open_dump_image(dirfd, CRL_IMG_PAGEMAP, pid, &img);
	if (r < 0)
		return r;
	for (;;) {
		_cleanup_msg_ ProtobufCMessage *msg = NULL;

		r = crl_img_read(img, &msg);
		if (r == 0)
			break;
		if (r < 0)
			return log_error_errno(r, "%s: %s", crl_img_name(img), img_why(img, r));
		n += ((PagemapEntry *)msg)->nr_pages;
	}
	*ret = n;
	return 0;
}

static int show_task_maps(int dirfd, const PstreeEntry *t)
{
	_cleanup_msg_ ProtobufCMessage *mm_msg = NULL, *core_msg = NULL;
	const char *why;
	const MmEntry *mm;
	const CoreEntry *core;
	uint64_t pages = 0;
	int r;

	if (t->state == TASK_STATE__TASK_ZOMBIE) {
		/* Exited before the dump: no memory, no core image. */
		printf("pid %u ppid %u pgid %u sid %u comm %s\nzombie exit-status %#x\n\n", t->pid, t->ppid,
		       t->pgid, t->sid, t->comm ? t->comm : "", t->has_exit_status ? t->exit_status : 0);
		return 0;
	}
	r = crl_img_read_single(dirfd, CRL_IMG_CORE, t->pid, &core_msg, &why);
	if (r < 0)
		return log_error_errno(r, "%s", why);
	r = crl_img_read_single(dirfd, CRL_IMG_MM, t->pid, &mm_msg, &why);
	if (r < 0)
		return log_error_errno(r, "%s", why);
	r = count_pages(dirfd, t->pid, &pages);
	if (r < 0)
		return r;
	core = (const CoreEntry *)core_msg;
	mm = (const MmEntry *)mm_msg;

	printf("pid %u ppid %u pgid %u sid %u comm %s\n", t->pid, t->ppid, t->pgid, t->sid, core->comm);
	for (size_t i = 0; i < mm->n_vmas; i++)
		print_vma(mm->vmas[i]);
	printf("pages %llu\n\n", (unsigned long long)pages);
	return 0;
}

/* Open an image that a dump may lack: *ret stays NULL when it is absent. */
static int open_optional(int dirfd, enum crl_img_kind kind, struct crl_img **ret)
{
	char name[64];
	int r;

	*ret = NULL;
	r = crl_img_open(dirfd, kind, 0, CRL_IMG_READ, ret);
	if (r == -ENOENT)
		return 0;
	if (r < 0) {
		crl_img_filename(kind, 0, name, sizeof(name));
		return log_error_errno(r, "%s: %s", name, img_why(*ret, r));
	}
	return 1;
}

static void print_shmem(const ShmemEntry *s)
{
	char kind[32];

	enum_short_name(&shmem_kind__descriptor, s->kind, kind, sizeof(kind));
	printf("shmem id %u kind %s dev %02x:%02x ino %llu size %llu users ", s->id, kind,
	       major(s->dev), minor(s->dev), (unsigned long long)s->ino, (unsigned long long)s->size);
	for (size_t i = 0; i < s->n_users; i++)
		printf("%s%u", i ? "," : "", s->users[i]);
	printf("%s name %s\n", s->n_users ? "" : "-", s->name ? s->name : "-");
}

static void print_file(const FileEntry *f)
{
	printf("file id %u dev %02x:%02x ino %llu size %llu path %s\n", f->id, major(f->dev),
	       minor(f->dev), (unsigned long long)f->ino, (unsigned long long)f->size, f->path);
}

/* Every record of shmem.img or files.img through print. */
static int show_objects(int dirfd, enum crl_img_kind kind, void (*print)(const void *msg))
{
	_cleanup_img_ struct crl_img *img = NULL;
	int r;

	r = open_optional(dirfd, kind, &img);
	if (r <= 0)
		return r;
	for (;;) {
		_cleanup_msg_ ProtobufCMessage *msg = NULL;

		r = crl_img_read(img, &msg);
		if (r == 0)
			return 0;
		if (r < 0)
			return log_error_errno(r, "%s: %s", crl_img_name(img), img_why(img, r));
		print(msg);
	}
}

static void print_shmem_msg(const void *m) { print_shmem(m); }
static void print_file_msg(const void *m) { print_file(m); }

static int show_maps(int dirfd)
{
	_cleanup_img_ struct crl_img *pstree = NULL;
	int r;

	r = open_dump_image(dirfd, CRL_IMG_PSTREE, 0, &pstree);
	if (r < 0)
		return r;
	for (;;) {
		_cleanup_msg_ ProtobufCMessage *msg = NULL;

		r = crl_img_read(pstree, &msg);
		if (r == 0)
			break;
		if (r < 0)
			return log_error_errno(r, "%s: %s", crl_img_name(pstree), img_why(pstree, r));
		r = show_task_maps(dirfd, (const PstreeEntry *)msg);
		if (r < 0)
			return r;
	}
	r = show_objects(dirfd, CRL_IMG_SHMEM, print_shmem_msg);
	if (r < 0)
		return r;
	r = show_objects(dirfd, CRL_IMG_FILES, print_file_msg);
	if (r < 0)
		return r;
	if (fflush(stdout) == EOF || ferror(stdout))
		return log_error_errno(-EIO, "cannot write to standard output: %m");
	return 0;
}

/**
 * cmd_show() - print the images of a dump.
 * @o: o->args[0] is the image directory or one image file; o->maps selects
 *     the /proc/PID/maps-like view of a directory.
 *
 * Return: 0, or a negative errno after logging why (an unreadable or damaged
 * image is named with its record).
 */
int cmd_show(const struct crl_opts *o)
{
	_cleanup_close_ int fd = -1;
	const char *path;
	struct stat st;

	if (o->nr_args != 1) {
		fprintf(stderr, "usage: criu-lite show [--maps] DIR|FILE\n");
		return -EINVAL;
	}
	path = o->args[0];
	/* stat first: opening a FIFO given by mistake would block. */
	if (stat(path, &st) < 0)
		return log_error_errno(negative_errno(), "%s: %m", path);
	if (!S_ISDIR(st.st_mode)) {
		if (o->maps)
			return log_error_errno(-ENOTDIR, "show --maps needs an image directory, %s is not one",
					       path);
		if (!S_ISREG(st.st_mode))
			return log_error_errno(-EINVAL, "%s: not a regular file", path);
		return show_file(path);
	}
	fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return log_error_errno(negative_errno(), "%s: %m", path);
	return o->maps ? show_maps(fd) : show_dir(fd, path);
}
