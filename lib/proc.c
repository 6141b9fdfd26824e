/* Parsers for /proc text files; see crl/proc.h. */
#include <ctype.h>
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>

#include "crl/log.h"
#include "crl/proc.h"

static const char vmflag_names[CRL_VMF_NR_BITS][3] = {
	[CRL_VMF_RD] = "rd", [CRL_VMF_WR] = "wr", [CRL_VMF_EX] = "ex", [CRL_VMF_SH] = "sh",
	[CRL_VMF_MR] = "mr", [CRL_VMF_MW] = "mw", [CRL_VMF_ME] = "me", [CRL_VMF_MS] = "ms",
	[CRL_VMF_GD] = "gd", [CRL_VMF_PF] = "pf", [CRL_VMF_LO] = "lo", [CRL_VMF_IO] = "io",
	[CRL_VMF_SR] = "sr", [CRL_VMF_RR] = "rr", [CRL_VMF_DC] = "dc", [CRL_VMF_DE] = "de",
	[CRL_VMF_AC] = "ac", [CRL_VMF_NR] = "nr", [CRL_VMF_HT] = "ht", [CRL_VMF_SF] = "sf",
	[CRL_VMF_AR] = "ar", [CRL_VMF_WF] = "wf", [CRL_VMF_DD] = "dd", [CRL_VMF_BT] = "bt",
	[CRL_VMF_MT] = "mt", [CRL_VMF_SD] = "sd", [CRL_VMF_MM] = "mm", [CRL_VMF_HG] = "hg",
	[CRL_VMF_NH] = "nh", [CRL_VMF_MG] = "mg", [CRL_VMF_UM] = "um", [CRL_VMF_UW] = "uw",
	[CRL_VMF_UI] = "ui", [CRL_VMF_SS] = "ss", [CRL_VMF_SL] = "sl", [CRL_VMF_LF] = "lf",
	[CRL_VMF_UNKNOWN] = "??",
};

uint64_t crl_vmflags_parse(const char *s)
{
	uint64_t flags = 0;

	while (*s) {
		const char *w;
		size_t n;
		unsigned b;

		while (*s == ' ' || *s == '\t')
			s++;
		w = s;
		while (*s && *s != ' ' && *s != '\t' && *s != '\n')
			s++;
		n = s - w;
		if (*s == '\n')
			s++;
		if (!n)
			continue;
		for (b = 0; b < CRL_VMF_UNKNOWN; b++)
			if (n == 2 && !memcmp(w, vmflag_names[b], 2))
				break;
		flags |= 1ULL << b;
	}
	return flags;
}

void crl_vmflags_format(uint64_t flags, char *buf, size_t len)
{
	size_t off = 0;

	buf[0] = '\0';
	for (unsigned b = 0; b < CRL_VMF_NR_BITS && off + 4 < len; b++) {
		if (!(flags & (1ULL << b)))
			continue;
		off += snprintf(buf + off, len - off, "%s%s", off ? " " : "", vmflag_names[b]);
	}
}

void crl_vma_list_free(struct crl_vma_list *l)
{
	for (size_t i = 0; i < l->nr; i++)
		free(l->v[i].name);
	free(l->v);
	l->v = NULL;
	l->nr = l->cap = 0;
}

const struct crl_vma *crl_vma_list_find(const struct crl_vma_list *l, uint64_t addr)
{
	size_t lo = 0, hi = l->nr;

	while (lo < hi) {
		size_t mid = (lo + hi) / 2;

		if (addr < l->v[mid].start)
			hi = mid;
		else if (addr >= l->v[mid].end)
			lo = mid + 1;
		else
			return &l->v[mid];
	}
	return NULL;
}

static int vma_list_push(struct crl_vma_list *l, const struct crl_vma *v)
{
	if (GROW(l->v, l->cap, l->nr + 1) < 0)
		return -ENOMEM;
	l->v[l->nr++] = *v;
	return 0;
}

int crl_maps_parse_line(const char *line, struct crl_vma *ret)
{
	unsigned long long start, end, off, ino;
	unsigned maj, min;
	char perms[5];
	int n = 0;
	const char *p, *e;

	if (!isxdigit((unsigned char)line[0]))
		return 0;
	for (p = line; isxdigit((unsigned char)*p); p++)
		;
	if (*p != '-')
		return 0;
	if (sscanf(line, "%llx-%llx %4s %llx %x:%x %llu%n", &start, &end, perms, &off, &maj, &min, &ino,
		   &n) != 7 ||
	    strlen(perms) != 4 || start >= end || (perms[3] != 's' && perms[3] != 'p'))
		return -EINVAL;
	memset(ret, 0, sizeof(*ret));
	ret->start = start;
	ret->end = end;
	ret->offset = off;
	ret->dev_major = maj;
	ret->dev_minor = min;
	ret->ino = ino;
	ret->prot = (perms[0] == 'r' ? PROT_READ : 0) | (perms[1] == 'w' ? PROT_WRITE : 0) |
		    (perms[2] == 'x' ? PROT_EXEC : 0);
	ret->shared = perms[3] == 's';
	p = line + n;
	while (*p == ' ')
		p++;
	e = strchrnul(p, '\n');
	if (e > p) {
		ret->name = strndup(p, e - p);
		if (!ret->name)
			return -ENOMEM;
	}
	return 1;
}

int crl_smaps_parse(const char *text, struct crl_vma_list *ret)
{
	struct crl_vma_list l = { 0 };
	const char *line = text;
	int r;

	while (*line) {
		const char *next = strchrnul(line, '\n');
		struct crl_vma v;

		r = crl_maps_parse_line(line, &v);
		if (r < 0) {
			crl_vma_list_free(&l);
			return r;
		}
		if (r > 0) {
			if (l.nr && v.start < l.v[l.nr - 1].end) {
				free(v.name);
				crl_vma_list_free(&l);
				return -EINVAL;
			}
			r = vma_list_push(&l, &v);
			if (r < 0) {
				free(v.name);
				crl_vma_list_free(&l);
				return r;
			}
		} else if (!strncmp(line, "VmFlags:", 8) && l.nr) {
			_cleanup_free_ char *flags = strndup(line + 8, next - line - 8);

			if (!flags) {
				crl_vma_list_free(&l);
				return -ENOMEM;
			}
			l.v[l.nr - 1].vmflags = crl_vmflags_parse(flags);
			l.v[l.nr - 1].has_vmflags = true;
		}
		line = *next ? next + 1 : next;
	}
	*ret = l;
	return 0;
}

/* PROCMAP_QUERY (Linux 6.11); the installed headers predate it. */
struct crl_procmap_query {
	uint64_t size;
	uint64_t query_flags;
	uint64_t query_addr;
	uint64_t vma_start;
	uint64_t vma_end;
	uint64_t vma_flags;
	uint64_t vma_page_size;
	uint64_t vma_offset;
	uint64_t inode;
	uint32_t dev_major;
	uint32_t dev_minor;
	uint32_t vma_name_size;
	uint32_t build_id_size;
	uint64_t vma_name_addr;
	uint64_t build_id_addr;
};
#define CRL_PROCMAP_QUERY _IOWR('f', 17, struct crl_procmap_query)
#define PMQ_READABLE 0x01
#define PMQ_WRITABLE 0x02
#define PMQ_EXECUTABLE 0x04
#define PMQ_SHARED 0x08
#define PMQ_COVERING_OR_NEXT 0x10

static bool pmq_works;

bool crl_procmap_query_works(void) { return pmq_works; }

/* Walk the VMAs with PROCMAP_QUERY. -ENOTTY/-EINVAL: the kernel lacks it. */
static int vmas_query(pid_t pid, struct crl_vma_list *ret)
{
	struct crl_vma_list l = { 0 };
	char path[64], name[PATH_MAX + 64];
	_cleanup_close_ int fd = -1;
	uint64_t addr = 0;

	snprintf(path, sizeof(path), "/proc/%d/maps", pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return negative_errno();
	for (;;) {
		struct crl_procmap_query q = {
			.size = sizeof(q),
			.query_flags = PMQ_COVERING_OR_NEXT,
			.query_addr = addr,
			.vma_name_addr = (uintptr_t)name,
			.vma_name_size = sizeof(name),
		};
		struct crl_vma v = { 0 };

		if (ioctl(fd, CRL_PROCMAP_QUERY, &q) < 0) {
			int r = negative_errno();

			if (r == -ENOENT) /* no VMA at or after addr */
				break;
			crl_vma_list_free(&l);
			return r;
		}
		v.start = q.vma_start;
		v.end = q.vma_end;
		v.offset = q.vma_offset;
		v.prot = (q.vma_flags & PMQ_READABLE ? PROT_READ : 0) |
			 (q.vma_flags & PMQ_WRITABLE ? PROT_WRITE : 0) |
			 (q.vma_flags & PMQ_EXECUTABLE ? PROT_EXEC : 0);
		v.shared = q.vma_flags & PMQ_SHARED;
		v.dev_major = q.dev_major;
		v.dev_minor = q.dev_minor;
		v.ino = q.inode;
		if (q.vma_name_size > 1) {
			v.name = strndup(name, q.vma_name_size - 1);
			if (!v.name) {
				crl_vma_list_free(&l);
				return -ENOMEM;
			}
		}
		if (vma_list_push(&l, &v) < 0) {
			free(v.name);
			crl_vma_list_free(&l);
			return -ENOMEM;
		}
		addr = q.vma_end;
	}
	*ret = l;
	return 0;
}

int crl_vmas_read(pid_t pid, struct crl_vma_list *ret)
{
	_cleanup_free_ char *text = NULL;
	struct crl_vma_list smaps = { 0 }, q = { 0 };
	char path[64];
	size_t i, j;
	int r;

	snprintf(path, sizeof(path), "/proc/%d/smaps", pid);
	r = crl_read_file(path, &text, NULL);
	if (r < 0)
		return r;
	r = crl_smaps_parse(text, &smaps);
	if (r < 0)
		return r;

	r = vmas_query(pid, &q);
	if (r == -ENOTTY || r == -EINVAL) {
		/* Kernel before 6.11: smaps says everything we need. */
		log_debug("PROCMAP_QUERY unavailable (%d), using smaps for pid %d", r, pid);
		pmq_works = false;
		goto use_smaps;
	}
	if (r < 0) {
		crl_vma_list_free(&smaps);
		return r;
	}
	pmq_works = true;

	/* VmFlags come only from smaps: pair the two walks by range. The
	 * caller froze the task, so they agree; smaps also lists
	 * [vsyscall], which is not a VMA of the mm and has no query answer. */
	for (i = 0, j = 0; i < q.nr; i++) {
		while (j < smaps.nr && smaps.v[j].start < q.v[i].start)
			j++;
		if (j == smaps.nr || smaps.v[j].start != q.v[i].start || smaps.v[j].end != q.v[i].end) {
			log_debug("pid %d: smaps and PROCMAP_QUERY disagree at %#llx", pid,
				  (unsigned long long)q.v[i].start);
			crl_vma_list_free(&q);
			crl_vma_list_free(&smaps);
			return -ESTALE;
		}
		q.v[i].vmflags = smaps.v[j].vmflags;
		q.v[i].has_vmflags = smaps.v[j].has_vmflags;
	}
	/* smaps ends with the gate area ([vsyscall]), which is not a VMA of
	 * the mm and which PROCMAP_QUERY does not return; /proc/PID/maps
	 * lists it, so the list does too. */
	for (; j < smaps.nr; j++) {
		if (smaps.v[j].start < (q.nr ? q.v[q.nr - 1].end : 0))
			continue;
		r = vma_list_push(&q, &smaps.v[j]);
		if (r < 0) {
			crl_vma_list_free(&q);
			crl_vma_list_free(&smaps);
			return r;
		}
		smaps.v[j].name = NULL; /* moved */
	}
	crl_vma_list_free(&smaps);
	*ret = q;
	return 0;

use_smaps:
	*ret = smaps;
	return 0;
}

int crl_proc_stat_parse(const char *text, struct crl_proc_stat *ret)
{
	struct crl_proc_stat st = { 0 };
	const char *open = strchr(text, '('), *close = strrchr(text, ')');
	unsigned long long f[60];
	const char *p;
	int n = 0;

	if (!open || !close || close < open || sscanf(text, "%d", &st.pid) != 1)
		return -EINVAL;
	snprintf(st.comm, sizeof(st.comm), "%.*s", (int)MIN((size_t)(close - open - 1), sizeof(st.comm) - 1),
		 open + 1);
	p = close + 1;
	while (*p == ' ')
		p++;
	if (!*p)
		return -EINVAL;
	st.state = *p++;
	/* f[k] is field k+4 (1-based, as proc(5) numbers them). Fields may be
	 * negative (nice, priority); parse as signed where that matters. */
	while (*p && n < (int)ARRAY_SIZE(f)) {
		char *end;

		while (*p == ' ')
			p++;
		if (!*p || *p == '\n')
			break;
		if (*p == '-')
			f[n] = (unsigned long long)strtoll(p, &end, 10);
		else
			f[n] = strtoull(p, &end, 10);
		if (end == p)
			return -EINVAL;
		p = end;
		n++;
	}
#define F(k) f[(k) - 4]
	if (n < 52 - 3)
		return -EINVAL;
	st.ppid = F(4);
	st.pgid = F(5);
	st.sid = F(6);
	st.flags = F(9);
	st.nice = (long)F(19);
	st.num_threads = F(20);
	st.start_code = F(26);
	st.end_code = F(27);
	st.start_stack = F(28);
	st.exit_signal = F(38);
	st.start_data = F(45);
	st.end_data = F(46);
	st.start_brk = F(47);
	st.arg_start = F(48);
	st.arg_end = F(49);
	st.env_start = F(50);
	st.env_end = F(51);
	st.exit_code = F(52);
#undef F
	*ret = st;
	return 0;
}

int crl_proc_stat_read(pid_t pid, struct crl_proc_stat *ret)
{
	_cleanup_free_ char *text = NULL;
	char path[64];
	int r;

	snprintf(path, sizeof(path), "/proc/%d/stat", pid);
	r = crl_read_file(path, &text, NULL);
	if (r < 0)
		return r;
	return crl_proc_stat_parse(text, ret);
}

static int parse_u32_list(const char *s, uint32_t *out, unsigned max, unsigned *ret_n)
{
	unsigned n = 0;

	for (;;) {
		char *end;
		unsigned long v;

		while (*s == ' ' || *s == '\t')
			s++;
		if (!*s || *s == '\n')
			break;
		v = strtoul(s, &end, 10);
		if (end == s)
			return -EINVAL;
		if (n == max)
			return -E2BIG;
		out[n++] = v;
		s = end;
	}
	*ret_n = n;
	return 0;
}

int crl_proc_status_parse(const char *text, struct crl_proc_status *ret)
{
	struct crl_proc_status st = { 0 };
	const char *line = text;
	unsigned seen = 0;

	while (*line) {
		const char *next = strchrnul(line, '\n');
		const char *colon = memchr(line, ':', next - line);
		char key[32], val[1024];
		unsigned n;
		int r;

		if (colon && (size_t)(colon - line) < sizeof(key)) {
			const char *v = colon + 1;

			memcpy(key, line, colon - line);
			key[colon - line] = '\0';
			while (*v == ' ' || *v == '\t')
				v++;
			snprintf(val, sizeof(val), "%.*s", (int)(next - v), v);

#define HEX(k, field, bit) else if (!strcmp(key, k)) { st.field = strtoull(val, NULL, 16); seen |= (bit); }
			if (!strcmp(key, "Uid")) {
				if (parse_u32_list(val, st.uid, 4, &n) < 0 || n != 4)
					goto bad;
				seen |= 1u << 0;
			} else if (!strcmp(key, "Gid")) {
				if (parse_u32_list(val, st.gid, 4, &n) < 0 || n != 4)
					goto bad;
				seen |= 1u << 1;
			} else if (!strcmp(key, "Groups")) {
				/* As many as the line holds (up to NGROUPS_MAX),
				 * read from the text itself: val is cut at
				 * 1023 bytes, about 200 groups. */
				unsigned cap = 1;

				for (const char *c = v; c < next; c++)
					cap += *c == ' ' || *c == '\t';
				free(st.groups);
				st.groups = malloc(cap * sizeof(*st.groups));
				if (!st.groups)
					return -ENOMEM;
				r = parse_u32_list(v, st.groups, cap, &st.nr_groups);
				if (r < 0) {
					free(st.groups);
					return r;
				}
			}
			HEX("CapInh", cap_inh, 1u << 2)
			HEX("CapPrm", cap_prm, 1u << 3)
			HEX("CapEff", cap_eff, 1u << 4)
			HEX("CapBnd", cap_bnd, 1u << 5)
			HEX("CapAmb", cap_amb, 1u << 6)
			HEX("SigBlk", sig_blk, 0)
			HEX("SigIgn", sig_ign, 0)
			HEX("SigCgt", sig_cgt, 0)
			HEX("SigPnd", sig_pnd, 0)
			HEX("ShdPnd", shd_pnd, 0)
			else if (!strcmp(key, "Umask")) st.umask = strtoul(val, NULL, 8);
			else if (!strcmp(key, "Seccomp")) st.seccomp = atoi(val);
			else if (!strcmp(key, "NoNewPrivs")) st.no_new_privs = atoi(val) != 0;
			else if (!strcmp(key, "Threads")) st.threads = strtoul(val, NULL, 10);
			else if (!strcmp(key, "State")) st.state = val[0];
			else if (!strcmp(key, "NSpid")) {
				uint32_t ids[32];

				if (parse_u32_list(val, ids, ARRAY_SIZE(ids), &st.nspid_depth) < 0)
					goto bad;
			}
#undef HEX
		}
		line = *next ? next + 1 : next;
	}
	/* Uid, Gid and the five capability sets must all be there (one bit
	 * each: counting lines let the signal masks stand in for them). */
	if (seen != 0x7f)
		goto bad;
	*ret = st;
	return 0;
bad:
	free(st.groups);
	return -EINVAL;
}

void crl_proc_status_release(struct crl_proc_status *st)
{
	free(st->groups);
	st->groups = NULL;
	st->nr_groups = 0;
}

int crl_proc_status_read(pid_t pid, struct crl_proc_status *ret)
{
	_cleanup_free_ char *text = NULL;
	char path[64];
	int r;

	snprintf(path, sizeof(path), "/proc/%d/status", pid);
	r = crl_read_file(path, &text, NULL);
	if (r < 0)
		return r;
	return crl_proc_status_parse(text, ret);
}

static int cmp_pid(const void *a, const void *b)
{
	pid_t x = *(const pid_t *)a, y = *(const pid_t *)b;

	return x < y ? -1 : x > y;
}

int crl_proc_list_ids(const char *dir, int **ret, size_t *ret_nr)
{
	_cleanup_free_ int *ids = NULL;
	size_t nr = 0, cap = 0;
	struct dirent *de;
	DIR *d;

	d = opendir(dir);
	if (!d)
		return negative_errno();
	while ((de = readdir(d))) {
		uint64_t id;

		if (crl_parse_u64(de->d_name, 10, &id) < 0 || id > INT32_MAX)
			continue;
		if (GROW(ids, cap, nr + 1) < 0) {
			closedir(d);
			return -ENOMEM;
		}
		ids[nr++] = id;
	}
	closedir(d);
	qsort(ids, nr, sizeof(*ids), cmp_pid);
	*ret = TAKE_PTR(ids);
	*ret_nr = nr;
	return 0;
}

int crl_smaps_vmflags(pid_t pid, uint64_t addr, uint64_t *ret)
{
	_cleanup_free_ char *line = NULL;
	char path[64];
	size_t cap = 0;
	bool inside = false;
	FILE *f;
	int r = -ENOENT;

	snprintf(path, sizeof(path), "/proc/%d/smaps", pid);
	f = fopen(path, "re");
	if (!f)
		return negative_errno();
	while (getline(&line, &cap, f) > 0) {
		unsigned long long start, end;

		if (sscanf(line, "%llx-%llx ", &start, &end) == 2 && strchr(line, ' ') > strchr(line, '-')) {
			inside = start <= addr && addr < end;
		} else if (inside && !strncmp(line, "VmFlags:", 8)) {
			*ret = crl_vmflags_parse(line + 8);
			r = 0;
			break;
		}
	}
	fclose(f);
	return r;
}

int crl_fdinfo_parse_locks(const char *text, struct crl_lock **ret, size_t *ret_nr, const char **ret_what)
{
	_cleanup_free_ struct crl_lock *locks = NULL;
	size_t nr = 0, cap = 0;
	const char *p = text;

	*ret_what = NULL;
	while ((p = strstr(p, "lock:\t"))) {
		char kind[16], adv[16], type[16], end[32];
		unsigned long long start;
		struct crl_lock l = { 0 };
		int id, n = 0;

		p += 6;
		/* "N: KIND ADVISORY TYPE PID MAJ:MIN:INO START END"; a task
		 * waiting for a lock shows its request as "N: -> ..." (the
		 * call is made again when it runs). */
		if (sscanf(p, "%d: %15s%n", &id, kind, &n) != 2)
			return -EINVAL;
		if (!strcmp(kind, "->"))
			continue;
		if (sscanf(p + n, " %15s %15s %*d %*x:%*x:%*u %llu %31s", adv, type, &start, end) != 4)
			return -EINVAL;
		if (!strcmp(kind, "FLOCK"))
			l.kind = CRL_LOCK_FLOCK;
		else if (!strcmp(kind, "POSIX"))
			l.kind = CRL_LOCK_POSIX;
		else if (!strcmp(kind, "OFDLCK"))
			l.kind = CRL_LOCK_OFD;
		if (!l.kind || strcmp(adv, "ADVISORY") || (strcmp(type, "WRITE") && strcmp(type, "READ"))) {
			*ret_what = !strcmp(kind, "LEASE") ? "a lease" :
				    !strcmp(kind, "DELEG") ? "a delegation" : "a lock of a kind criu-lite does not know";
			return -EOPNOTSUPP;
		}
		l.write = !strcmp(type, "WRITE");
		l.start = start;
		if (strcmp(end, "EOF")) {
			uint64_t last;

			if (crl_parse_u64(end, 10, &last) < 0 || last < start)
				return -EINVAL;
			l.len = last - start + 1;
		}
		if (GROW(locks, cap, nr + 1) < 0)
			return -ENOMEM;
		locks[nr++] = l;
	}
	*ret = TAKE_PTR(locks);
	*ret_nr = nr;
	return 0;
}

int crl_proc_each_fd(int (*fn)(pid_t pid, int fd, const char *link, void *arg), void *arg)
{
	_cleanup_free_ int *pids = NULL;
	size_t nr = 0;
	int r;

	r = crl_proc_list_ids("/proc", &pids, &nr);
	if (r < 0)
		return r;
	for (size_t i = 0; i < nr; i++) {
		_cleanup_free_ int *fds = NULL;
		size_t nfd = 0;
		char path[64];

		snprintf(path, sizeof(path), "/proc/%d/fd", pids[i]);
		if (crl_proc_list_ids(path, &fds, &nfd) < 0)
			continue; /* gone, or a kernel thread */
		for (size_t k = 0; k < nfd; k++) {
			char link[PATH_MAX];
			ssize_t n;

			snprintf(path, sizeof(path), "/proc/%d/fd/%d", pids[i], fds[k]);
			n = readlink(path, link, sizeof(link) - 1);
			if (n < 0)
				continue; /* closed meanwhile */
			link[n] = '\0';
			r = fn(pids[i], fds[k], link, arg);
			if (r != 0)
				return r;
		}
	}
	return 0;
}

int crl_proc_threads(pid_t pid, pid_t **ret, size_t *ret_nr)
{
	char path[64];
	int r;

	snprintf(path, sizeof(path), "/proc/%d/task", pid);
	r = crl_proc_list_ids(path, ret, ret_nr);
	if (r == 0 && *ret_nr == 0) {
		free(*ret);
		return -ESRCH;
	}
	return r;
}

int crl_proc_children_parse(const char *text, pid_t **ret, size_t *ret_nr)
{
	_cleanup_free_ pid_t *pids = NULL;
	size_t nr = 0, cap = 0;
	const char *p = text;

	for (;;) {
		char *end;
		long v;

		while (*p == ' ' || *p == '\n')
			p++;
		if (!*p)
			break;
		if (!isdigit((unsigned char)*p))
			return -EINVAL;
		v = strtol(p, &end, 10);
		if (v <= 0 || v > INT32_MAX || (*end && *end != ' ' && *end != '\n'))
			return -EINVAL;
		if (GROW(pids, cap, nr + 1) < 0)
			return -ENOMEM;
		pids[nr++] = v;
		p = end;
	}
	*ret = TAKE_PTR(pids);
	*ret_nr = nr;
	return 0;
}

int crl_proc_children(pid_t pid, pid_t tid, pid_t **ret, size_t *ret_nr)
{
	_cleanup_free_ char *text = NULL;
	char path[96];
	int r;

	snprintf(path, sizeof(path), "/proc/%d/task/%d/children", pid, tid);
	r = crl_read_file(path, &text, NULL);
	if (r < 0)
		return r;
	return crl_proc_children_parse(text, ret, ret_nr);
}

int crl_proc_auxv(pid_t pid, uint64_t **ret, size_t *ret_nr)
{
	_cleanup_free_ char *buf = NULL;
	char path[64];
	size_t len, n;
	uint64_t *v;
	int r;

	snprintf(path, sizeof(path), "/proc/%d/auxv", pid);
	r = crl_read_file(path, &buf, &len);
	if (r < 0)
		return r;
	if (len % 16)
		return -EINVAL;
	n = len / 8;
	v = malloc(MAX(len, 16));
	if (!v)
		return -ENOMEM;
	memcpy(v, buf, len);
	/* Keep the pairs up to and including AT_NULL. */
	for (size_t i = 0; i + 1 < n; i += 2)
		if (v[i] == 0) {
			n = i + 2;
			break;
		}
	*ret = v;
	*ret_nr = n;
	return 0;
}
