/*
 * Unit tests of the /proc text parsers (lib/proc.c), fed with files captured
 * on a real machine (test/unit/fixtures: the -cat, -shared, -nested and
 * -odd-comm files) and hand-written edge cases (the -handmade files and the
 * strings below).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <cmocka.h>

#include "crl/proc.h"
#include "crl/util.h"

/* The text of a fixture file (malloc'd). */
static char *fixture(const char *name)
{
	char path[256], *text = NULL;
	int r;

	snprintf(path, sizeof(path), "%s/%s", FIXTURES, name);
	r = crl_read_file(path, &text, NULL);
	if (r < 0)
		fail_msg("cannot read %s: %s (run from the top of the repository)", path, strerror(-r));
	return text;
}

/* Parse one maps line that must parse; the caller frees v->name. */
static void parse_line_ok(const char *line, struct crl_vma *v)
{
	int r = crl_maps_parse_line(line, v);

	if (r != 1)
		fail_msg("'%s': returned %d, expected 1", line, r);
}

static void assert_name(const struct crl_vma *v, const char *name)
{
	if (!name) {
		assert_null(v->name);
		return;
	}
	assert_non_null(v->name);
	assert_string_equal(v->name, name);
}

/* --- maps lines ------------------------------------------------------------- */

/* Every field of a header line: range, offset, hex device numbers, inode,
 * protection, shared/private, and the name. */
static void test_maps_line_fields(void **state)
{
	struct crl_vma v;

	parse_line_ok("7f0000001000-7f0000003000 r-xs 0001a000 fe:0b 1234567   /usr/lib/x86_64-linux-gnu/libc.so.6\n", &v);
	assert_int_equal(v.start, 0x7f0000001000ULL);
	assert_int_equal(v.end, 0x7f0000003000ULL);
	assert_int_equal(v.offset, 0x1a000);
	assert_int_equal(v.dev_major, 0xfe);
	assert_int_equal(v.dev_minor, 0x0b);
	assert_int_equal(v.ino, 1234567);
	assert_int_equal(v.prot, PROT_READ | PROT_EXEC);
	assert_true(v.shared);
	assert_false(v.has_vmflags);
	assert_name(&v, "/usr/lib/x86_64-linux-gnu/libc.so.6");
	free(v.name);

	parse_line_ok("00400000-00401000 -w-p 00000000 00:00 0", &v);
	assert_int_equal(v.prot, PROT_WRITE);
	assert_false(v.shared);
	assert_name(&v, NULL);

	parse_line_ok("00400000-00401000 ---p 00000000 00:00 0", &v);
	assert_int_equal(v.prot, 0);
}

/* Names: anonymous (with the kernel's trailing space) has none; names with
 * spaces and parentheses are kept whole; [vsyscall] parses although its
 * address is above the user address space. */
static void test_maps_line_names(void **state)
{
	struct crl_vma v;

	parse_line_ok("7f63807e6000-7f638080b000 rw-p 00000000 00:00 0 \n", &v);
	assert_name(&v, NULL);

	parse_line_ok("7f623fd7e000-7f623fd80000 rw-s 00000000 00:01 1026                       /memfd:hello world (deleted)\n", &v);
	assert_name(&v, "/memfd:hello world (deleted)");
	assert_int_equal(v.dev_minor, 1);
	assert_true(v.shared);
	free(v.name);

	parse_line_ok("7f0000001000-7f0000003000 rw-p 00000000 00:00 0   [anon:my buffer]", &v);
	assert_name(&v, "[anon:my buffer]");
	free(v.name);

	parse_line_ok("ffffffffff600000-ffffffffff601000 --xp 00000000 00:00 0                  [vsyscall]\n", &v);
	assert_int_equal(v.start, 0xffffffffff600000ULL);
	assert_int_equal(v.end, 0xffffffffff601000ULL);
	assert_int_equal(v.prot, PROT_EXEC);
	assert_name(&v, "[vsyscall]");
	free(v.name);
}

/* Lines of smaps that are not VMA headers are told apart (0), including
 * keys that start with a hex digit ("AnonHugePages", "FilePmdMapped"). */
static void test_maps_line_not_header(void **state)
{
	static const char *const lines[] = {
		"", "\n", "Size:                  4 kB", "VmFlags: rd wr mr mw me ac",
		"AnonHugePages:         0 kB", "FilePmdMapped:         0 kB", "Dirty: 1",
		"THPeligible:           0", " 00400000-00401000 r--p 00000000 00:00 0",
	};
	struct crl_vma v;

	for (size_t i = 0; i < ARRAY_SIZE(lines); i++) {
		int r = crl_maps_parse_line(lines[i], &v);

		if (r != 0)
			fail_msg("'%s': returned %d, expected 0", lines[i], r);
	}
}

/* Header lines that are malformed are refused with -EINVAL. */
static void test_maps_line_malformed(void **state)
{
	static const char *const lines[] = {
		"00400000-00401000",                         /* nothing after the range */
		"00400000-00401000 r--p",                    /* no offset */
		"00400000-00401000 r--p 00000000 00:00",     /* no inode */
		"00400000-00401000 r--p 00000000 0000 0",    /* device without ':' */
		"00400000-00401000 r--p zz 00:00 0",         /* offset not hex */
		"00401000-00400000 r--p 00000000 00:00 0",   /* start > end */
		"00400000-00400000 r--p 00000000 00:00 0",   /* empty */
		"00400000-00401000 r--x 00000000 00:00 0",   /* neither s nor p */
		"00400000-00401000 rw 00000000 00:00 0",     /* short perms */
		"00400000-00401000 rw-pp 00000000 00:00 0",  /* long perms */
		"00400000-zz401000 r--p 00000000 00:00 0",   /* end not hex */
	};
	struct crl_vma v;

	for (size_t i = 0; i < ARRAY_SIZE(lines); i++) {
		int r = crl_maps_parse_line(lines[i], &v);

		if (r != -EINVAL)
			fail_msg("'%s': returned %d, expected -EINVAL", lines[i], r);
	}
}

/* --- smaps ------------------------------------------------------------------ */

/* A real smaps (cat /proc/self/smaps): 24 VMAs from the binary to
 * [vsyscall], sorted, each with its VmFlags. */
static void test_smaps_captured(void **state)
{
	_cleanup_free_ char *text = fixture("smaps-cat.txt");
	struct crl_vma_list l = { 0 };
	const struct crl_vma *v;

	assert_int_equal(crl_smaps_parse(text, &l), 0);
	assert_int_equal(l.nr, 24);
	for (size_t i = 0; i < l.nr; i++) {
		assert_true(l.v[i].has_vmflags);
		assert_true(l.v[i].vmflags & VMF(MR) || i == l.nr - 1 /* [vsyscall] */);
		if (i)
			assert_true(l.v[i].start >= l.v[i - 1].end);
	}

	v = &l.v[0];
	assert_int_equal(v->start, 0x56383119c000ULL);
	assert_int_equal(v->end, 0x56383119e000ULL);
	assert_int_equal(v->prot, PROT_READ);
	assert_int_equal(v->dev_major, 0xfe);
	assert_int_equal(v->ino, 247134);
	assert_name(v, "/usr/bin/cat");
	assert_int_equal(v->vmflags, VMF(RD) | VMF(MR) | VMF(MW) | VMF(ME));

	v = &l.v[1];
	assert_int_equal(v->offset, 0x2000);
	assert_int_equal(v->prot, PROT_READ | PROT_EXEC);
	assert_int_equal(v->vmflags, VMF(RD) | VMF(EX) | VMF(MR) | VMF(MW) | VMF(ME));

	assert_name(&l.v[5], "[heap]");
	assert_int_equal(l.v[5].vmflags, VMF(RD) | VMF(WR) | VMF(MR) | VMF(MW) | VMF(ME) | VMF(AC));
	assert_name(&l.v[6], NULL);
	assert_int_equal(l.v[6].ino, 0);

	assert_name(&l.v[14], "[vvar]");
	assert_int_equal(l.v[14].vmflags, VMF(RD) | VMF(MR) | VMF(PF) | VMF(IO) | VMF(DE) | VMF(DD));
	assert_name(&l.v[15], "[vvar_vclock]");
	assert_name(&l.v[16], "[vdso]");
	assert_int_equal(l.v[16].prot, PROT_READ | PROT_EXEC);

	assert_name(&l.v[22], "[stack]");
	assert_true(l.v[22].vmflags & VMF(GD));
	assert_name(&l.v[23], "[vsyscall]");
	assert_int_equal(l.v[23].start, 0xffffffffff600000ULL);
	assert_int_equal(l.v[23].vmflags, VMF(EX));

	/* Lookups by address: inside, at the first byte, at the end (outside),
	 * and in a gap. */
	assert_ptr_equal(crl_vma_list_find(&l, 0x563845b4d000ULL), &l.v[5]);
	assert_ptr_equal(crl_vma_list_find(&l, 0x563845b6dfffULL), &l.v[5]);
	assert_null(crl_vma_list_find(&l, 0x563845b6e000ULL));
	assert_null(crl_vma_list_find(&l, 0x1000));
	assert_ptr_equal(crl_vma_list_find(&l, 0xffffffffff600800ULL), &l.v[23]);

	crl_vma_list_free(&l);
	assert_null(l.v);
	assert_int_equal(l.nr, 0);
}

/* A real smaps of a process with shared memory: shared anonymous memory
 * (/dev/zero (deleted), device 0:1), a memfd whose name has a space, an
 * unlinked file, a private memfd. */
static void test_smaps_shared_objects(void **state)
{
	_cleanup_free_ char *text = fixture("smaps-shared.txt");
	struct crl_vma_list l = { 0 };

	assert_int_equal(crl_smaps_parse(text, &l), 0);
	assert_int_equal(l.nr, 7);

	assert_name(&l.v[0], "/dev/zero (deleted)");
	assert_true(l.v[0].shared);
	assert_int_equal(l.v[0].dev_major, 0);
	assert_int_equal(l.v[0].dev_minor, 1);
	assert_int_equal(l.v[0].ino, 1028);
	assert_int_equal(l.v[0].end - l.v[0].start, 4 * 4096);
	assert_int_equal(l.v[0].vmflags, VMF(RD) | VMF(WR) | VMF(SH) | VMF(MR) | VMF(MW) | VMF(ME) | VMF(MS));

	assert_name(&l.v[1], "/tmp/scratch (deleted)");
	assert_int_equal(l.v[1].prot, PROT_READ);
	assert_true(l.v[1].shared);

	assert_name(&l.v[2], "/memfd:hello world (deleted)");
	assert_true(l.v[2].shared);
	assert_int_equal(l.v[2].ino, 1026);

	assert_name(&l.v[3], "/memfd:gone (deleted)");
	assert_false(l.v[3].shared);

	assert_name(&l.v[6], "[vsyscall]");
	crl_vma_list_free(&l);
}

/* Hand-written smaps: a VmFlags line before any VMA is ignored; unknown
 * mnemonics set CRL_VMF_UNKNOWN beside the known ones; a VMA without a
 * VmFlags line (maps format) says so; tabs separate flags too. */
static void test_smaps_handmade(void **state)
{
	_cleanup_free_ char *text = fixture("smaps-handmade.txt");
	struct crl_vma_list l = { 0 };

	assert_int_equal(crl_smaps_parse(text, &l), 0);
	assert_int_equal(l.nr, 7);

	assert_name(&l.v[0], "/usr/bin/my tool (deleted)");
	assert_int_equal(l.v[0].dev_major, 8);
	assert_int_equal(l.v[0].dev_minor, 2);
	assert_true(l.v[0].has_vmflags);
	assert_int_equal(l.v[0].vmflags, VMF(RD) | VMF(EX) | VMF(MR) | VMF(MW) | VMF(ME) | VMF(SD) |
						 VMF(UNKNOWN));

	assert_false(l.v[1].has_vmflags);
	assert_int_equal(l.v[1].vmflags, 0);
	assert_int_equal(l.v[1].offset, 0x51000);

	assert_name(&l.v[2], "/memfd:hello world (deleted)");
	assert_name(&l.v[3], "[anon:my buffer]");
	assert_int_equal(l.v[3].vmflags, VMF(RD) | VMF(WR) | VMF(MR) | VMF(MW) | VMF(ME) | VMF(AC) |
						 VMF(WF) | VMF(DD) | VMF(HG));
	assert_name(&l.v[4], NULL);
	assert_int_equal(l.v[4].prot, 0);
	assert_int_equal(l.v[4].vmflags, VMF(MR) | VMF(MW) | VMF(ME) | VMF(NR));
	assert_int_equal(l.v[5].vmflags, VMF(RD) | VMF(WR) | VMF(MR) | VMF(MW) | VMF(ME) | VMF(GD) | VMF(AC));
	assert_name(&l.v[6], "[vsyscall]");
	crl_vma_list_free(&l);
}

/* Whole texts that are refused: a malformed header line among good ones,
 * overlapping VMAs, VMAs out of order. The output is left untouched. */
static void test_smaps_refused(void **state)
{
	static const char *const texts[] = {
		"00400000-00401000 r--p 00000000 00:00 0\n"
		"VmFlags: rd\n"
		"00401000-00402000 r--p 0000000 00:00\n"
		"VmFlags: rd\n",

		"00400000-00402000 r--p 00000000 00:00 0\n"
		"00401000-00403000 r--p 00000000 00:00 0\n",

		"00500000-00501000 r--p 00000000 00:00 0   [b]\n"
		"00400000-00401000 r--p 00000000 00:00 0   [a]\n",
	};

	for (size_t i = 0; i < ARRAY_SIZE(texts); i++) {
		struct crl_vma_list l = { .nr = 12345 };

		if (crl_smaps_parse(texts[i], &l) != -EINVAL)
			fail_msg("text %zu was not refused", i);
		assert_int_equal(l.nr, 12345);
	}
}

/* An empty text is an empty list. */
static void test_smaps_empty(void **state)
{
	struct crl_vma_list l = { .nr = 7 };

	assert_int_equal(crl_smaps_parse("", &l), 0);
	assert_int_equal(l.nr, 0);
	crl_vma_list_free(&l);
}

/* --- VmFlags ----------------------------------------------------------------- */

/* Every single bit formats to one mnemonic that parses back to that bit;
 * all bits together do too. */
static void test_vmflags_roundtrip(void **state)
{
	char buf[256];
	uint64_t all = 0;

	for (unsigned b = 0; b < CRL_VMF_NR_BITS; b++) {
		crl_vmflags_format(1ULL << b, buf, sizeof(buf));
		assert_int_equal(strlen(buf), 2);
		assert_int_equal(crl_vmflags_parse(buf), 1ULL << b);
		all |= 1ULL << b;
	}
	crl_vmflags_format(all, buf, sizeof(buf));
	assert_int_equal(strlen(buf), CRL_VMF_NR_BITS * 3 - 1);
	assert_int_equal(crl_vmflags_parse(buf), all);

	crl_vmflags_format(0, buf, sizeof(buf));
	assert_string_equal(buf, "");
	assert_int_equal(crl_vmflags_parse(""), 0);
	assert_int_equal(crl_vmflags_parse("   \n"), 0);
}

/* Every VmFlags line of the captured smaps formats back to the same text:
 * the bit order is the kernel's order. */
static void test_vmflags_captured_lines(void **state)
{
	_cleanup_free_ char *text = fixture("smaps-cat.txt");
	unsigned lines = 0;

	for (char *line = text, *next; *line; line = next) {
		char buf[256], want[256];
		size_t n;

		next = strchrnul(line, '\n');
		n = next - line;
		if (*next)
			*next++ = '\0';
		if (strncmp(line, "VmFlags: ", 9))
			continue;
		snprintf(want, sizeof(want), "%.*s", (int)(n - 9), line + 9);
		while (strlen(want) && want[strlen(want) - 1] == ' ')
			want[strlen(want) - 1] = '\0';
		crl_vmflags_format(crl_vmflags_parse(line + 9), buf, sizeof(buf));
		assert_string_equal(buf, want);
		lines++;
	}
	assert_int_equal(lines, 24);
}

/* Unknown mnemonics, including one-letter and three-letter words, set
 * CRL_VMF_UNKNOWN and nothing else for themselves; separators may be
 * spaces, tabs or a newline. */
static void test_vmflags_unknown(void **state)
{
	assert_int_equal(crl_vmflags_parse("rd zz wr"), VMF(RD) | VMF(WR) | VMF(UNKNOWN));
	assert_int_equal(crl_vmflags_parse("r"), VMF(UNKNOWN));
	assert_int_equal(crl_vmflags_parse("rdx"), VMF(UNKNOWN));
	assert_int_equal(crl_vmflags_parse("RD"), VMF(UNKNOWN));
	assert_int_equal(crl_vmflags_parse("\trd\twr\n"), VMF(RD) | VMF(WR));
	assert_int_equal(crl_vmflags_parse("lf"), VMF(LF));
}

/* Formatting into a small buffer truncates at a word and stays
 * NUL-terminated; the bytes past len are not touched. */
static void test_vmflags_format_small_buffer(void **state)
{
	char buf[16];

	memset(buf, 'X', sizeof(buf));
	crl_vmflags_format(VMF(RD) | VMF(WR) | VMF(EX) | VMF(SH) | VMF(MR) | VMF(MW), buf, 8);
	assert_true(strlen(buf) < 8);
	assert_true(strlen(buf) > 0);
	assert_int_equal(strlen(buf) % 3, 2);
	for (size_t i = 8; i < sizeof(buf); i++)
		assert_int_equal(buf[i], 'X');
}

/* --- stat ------------------------------------------------------------------- */

/* A real /proc/PID/stat: every field criu-lite uses. */
static void test_stat_captured(void **state)
{
	_cleanup_free_ char *text = fixture("stat-cat.txt");
	struct crl_proc_stat st;

	assert_int_equal(crl_proc_stat_parse(text, &st), 0);
	assert_int_equal(st.pid, 5015);
	assert_string_equal(st.comm, "cat");
	assert_int_equal(st.state, 'R');
	assert_int_equal(st.ppid, 5011);
	assert_int_equal(st.pgid, 5011);
	assert_int_equal(st.sid, 3097);
	assert_int_equal(st.flags, 4194304);
	assert_int_equal(st.nice, 0);
	assert_int_equal(st.num_threads, 1);
	assert_int_equal(st.start_code, 94195396452352ULL);
	assert_int_equal(st.end_code, 94195396472233ULL);
	assert_int_equal(st.start_stack, 140727849199200ULL);
	assert_int_equal(st.exit_signal, 17);
	assert_int_equal(st.start_data, 94195396488240ULL);
	assert_int_equal(st.end_data, 94195396489856ULL);
	assert_int_equal(st.start_brk, 94196202811392ULL);
	assert_int_equal(st.arg_start, 140727849200063ULL);
	assert_int_equal(st.arg_end, 140727849200083ULL);
	assert_int_equal(st.env_start, 140727849200083ULL);
	assert_int_equal(st.env_end, 140727849201643ULL);
	assert_int_equal(st.exit_code, 0);
}

/* A real stat of a program named "we ird) (x": the comm ends at the last
 * ')', and the fields after it are not shifted. */
static void test_stat_odd_comm_captured(void **state)
{
	_cleanup_free_ char *text = fixture("stat-odd-comm.txt");
	struct crl_proc_stat st;

	assert_int_equal(crl_proc_stat_parse(text, &st), 0);
	assert_int_equal(st.pid, 5039);
	assert_string_equal(st.comm, "we ird) (x");
	assert_int_equal(st.state, 'R');
	assert_int_equal(st.ppid, 5033);
	assert_int_equal(st.start_code, 94424475058176ULL);
	assert_int_equal(st.exit_signal, 17);
	assert_int_equal(st.env_end, 140721388220395ULL);
}

/* Hand-written stat: a comm of ") (x) 1 2 3 (" (numbers and parentheses
 * that a naive parser would take for fields), a negative nice, pgid and sid
 * different from the pid, exit_signal 10, a non-zero exit code. */
static void test_stat_handmade(void **state)
{
	_cleanup_free_ char *text = fixture("stat-handmade.txt");
	struct crl_proc_stat st;

	assert_int_equal(crl_proc_stat_parse(text, &st), 0);
	assert_int_equal(st.pid, 4242);
	assert_string_equal(st.comm, ") (x) 1 2 3 (");
	assert_int_equal(st.state, 'S');
	assert_int_equal(st.ppid, 1);
	assert_int_equal(st.pgid, 4200);
	assert_int_equal(st.sid, 4100);
	assert_int_equal(st.flags, 4194560);
	assert_int_equal(st.nice, -5);
	assert_int_equal(st.num_threads, 3);
	assert_int_equal(st.start_code, 4194304);
	assert_int_equal(st.end_code, 4198400);
	assert_int_equal(st.start_stack, 140737488351232ULL);
	assert_int_equal(st.exit_signal, 10);
	assert_int_equal(st.start_data, 6299648);
	assert_int_equal(st.end_data, 6303744);
	assert_int_equal(st.start_brk, 6324224);
	assert_int_equal(st.arg_start, 140737488355000ULL);
	assert_int_equal(st.arg_end, 140737488355100ULL);
	assert_int_equal(st.env_start, 140737488355100ULL);
	assert_int_equal(st.env_end, 140737488355200ULL);
	assert_int_equal(st.exit_code, 256);
}

/* Malformed stat texts are refused: no parentheses, no pid, nothing after
 * the comm, too few fields (the last one cut), a field that is not a
 * number. The output is left untouched. */
static void test_stat_refused(void **state)
{
	_cleanup_free_ char *good = fixture("stat-handmade.txt");
	char buf[512], *p;
	struct crl_proc_stat st = { .pid = -7 };

	assert_int_equal(crl_proc_stat_parse("", &st), -EINVAL);
	assert_int_equal(crl_proc_stat_parse("4242 cat S 1 2 3", &st), -EINVAL);
	assert_int_equal(crl_proc_stat_parse("(cat) S 1 2 3", &st), -EINVAL);
	assert_int_equal(crl_proc_stat_parse("4242 (cat)", &st), -EINVAL);
	assert_int_equal(crl_proc_stat_parse("4242 (cat)   ", &st), -EINVAL);

	/* Drop the last field (exit_code). */
	snprintf(buf, sizeof(buf), "%s", good);
	p = strrchr(buf, ' ');
	*p = '\0';
	assert_int_equal(crl_proc_stat_parse(buf, &st), -EINVAL);

	/* A letter in the middle of the numbers. */
	snprintf(buf, sizeof(buf), "%s", good);
	p = strstr(buf, " 4194304 ");
	p[1] = 'x';
	assert_int_equal(crl_proc_stat_parse(buf, &st), -EINVAL);
	assert_int_equal(st.pid, -7);
}

/* --- status ----------------------------------------------------------------- */

/* A real status of a root process: ids, no groups, capabilities, signals,
 * umask, and one pid namespace level. */
static void test_status_captured_root(void **state)
{
	_cleanup_free_ char *text = fixture("status-cat.txt");
	struct crl_proc_status st;

	assert_int_equal(crl_proc_status_parse(text, &st), 0);
	for (int i = 0; i < 4; i++) {
		assert_int_equal(st.uid[i], 0);
		assert_int_equal(st.gid[i], 0);
	}
	assert_int_equal(st.nr_groups, 0);
	assert_int_equal(st.cap_inh, 0);
	assert_int_equal(st.cap_prm, 0x000001fffeffffffULL);
	assert_int_equal(st.cap_eff, 0x000001fffeffffffULL);
	assert_int_equal(st.cap_bnd, 0x000001fffeffffffULL);
	assert_int_equal(st.cap_amb, 0);
	assert_int_equal(st.sig_blk | st.sig_ign | st.sig_cgt | st.sig_pnd | st.shd_pnd, 0);
	assert_int_equal(st.umask, 022);
	assert_int_equal(st.seccomp, 0);
	assert_false(st.no_new_privs);
	assert_int_equal(st.threads, 1);
	assert_int_equal(st.nspid_depth, 1);
	assert_int_equal(st.state, 'R');
	crl_proc_status_release(&st);
}

/* A real status of a process in a nested pid namespace with distinct real
 * and effective ids, supplementary groups, blocked and ignored signals and
 * umask 077. */
static void test_status_captured_nested(void **state)
{
	_cleanup_free_ char *text = fixture("status-nested.txt");
	struct crl_proc_status st;

	assert_int_equal(crl_proc_status_parse(text, &st), 0);
	assert_int_equal(st.uid[0], 1000);
	assert_int_equal(st.uid[1], 1001);
	assert_int_equal(st.uid[2], 1001);
	assert_int_equal(st.uid[3], 1001);
	assert_int_equal(st.gid[0], 1000);
	assert_int_equal(st.gid[3], 1001);
	assert_int_equal(st.nr_groups, 3);
	assert_int_equal(st.groups[0], 4);
	assert_int_equal(st.groups[1], 24);
	assert_int_equal(st.groups[2], 27);
	assert_int_equal(st.sig_blk, 0x4800);
	assert_int_equal(st.sig_ign, 0x1001201);
	assert_int_equal(st.cap_prm, 0);
	assert_int_equal(st.cap_bnd, 0x000001fffeffffffULL);
	assert_int_equal(st.umask, 077);
	assert_int_equal(st.nspid_depth, 2);
	crl_proc_status_release(&st);
}

/* Hand-written status: seccomp filter mode, no_new_privs, many threads,
 * pending signals (thread and shared), ambient capabilities, three pid
 * namespace levels, ten groups. */
static void test_status_handmade(void **state)
{
	_cleanup_free_ char *text = fixture("status-handmade.txt");
	struct crl_proc_status st;

	assert_int_equal(crl_proc_status_parse(text, &st), 0);
	assert_int_equal(st.uid[0], 1000);
	assert_int_equal(st.gid[2], 100);
	assert_int_equal(st.nr_groups, 10);
	assert_int_equal(st.groups[9], 100);
	assert_int_equal(st.sig_pnd, 0x100);
	assert_int_equal(st.shd_pnd, 0x4000);
	assert_int_equal(st.sig_blk, 0xfffffffe7ffbfeffULL);
	assert_int_equal(st.sig_ign, 0x1000);
	assert_int_equal(st.sig_cgt, 0x180004002ULL);
	assert_int_equal(st.cap_inh, 0x400);
	assert_int_equal(st.cap_amb, 0x400);
	assert_int_equal(st.cap_bnd, 0x000001ffffffffffULL);
	assert_int_equal(st.umask, 02);
	assert_int_equal(st.seccomp, 2);
	assert_true(st.no_new_privs);
	assert_int_equal(st.threads, 7);
	assert_int_equal(st.nspid_depth, 3);
	assert_int_equal(st.state, 'S');
	crl_proc_status_release(&st);
}

/* Remove the line starting with key from text (in place). */
static void drop_line(char *text, const char *key)
{
	char *p = strstr(text, key), *e;

	assert_non_null(p);
	e = strchr(p, '\n');
	memmove(p, e + 1, strlen(e + 1) + 1);
}

/* A status without Uid, without Gid, or without any one of the five
 * capability sets is refused; so are Uid/Gid lines with three ids or
 * junk, and a Groups line with junk. The output is left untouched. */
static void test_status_refused(void **state)
{
	static const char *const required[] = { "Uid:", "Gid:", "CapInh:", "CapPrm:", "CapEff:",
						"CapBnd:", "CapAmb:" };
	_cleanup_free_ char *good = fixture("status-handmade.txt");
	struct crl_proc_status st = { .umask = 0777 };
	char buf[4096], *p;

	assert_int_equal(crl_proc_status_parse(good, &st), 0);
	crl_proc_status_release(&st);
	st.umask = 0777;
	for (size_t i = 0; i < ARRAY_SIZE(required); i++) {
		snprintf(buf, sizeof(buf), "%s", good);
		drop_line(buf, required[i]);
		if (crl_proc_status_parse(buf, &st) != -EINVAL)
			fail_msg("status without %s accepted", required[i]);
	}
	assert_int_equal(st.umask, 0777);

	snprintf(buf, sizeof(buf), "%s", good);
	p = strstr(buf, "Uid:\t1000\t1000\t1000\t1000");
	memcpy(p, "Uid:\t1000\t1000\t1000\t    ", 24);
	assert_int_equal(crl_proc_status_parse(buf, &st), -EINVAL);

	snprintf(buf, sizeof(buf), "%s", good);
	p = strstr(buf, "Gid:\t100\t100");
	memcpy(p, "Gid:\tabc\t100", 12);
	assert_int_equal(crl_proc_status_parse(buf, &st), -EINVAL);

	snprintf(buf, sizeof(buf), "%s", good);
	p = strstr(buf, "Groups:\t4 20");
	memcpy(p, "Groups:\t4,20", 12);
	assert_int_equal(crl_proc_status_parse(buf, &st), -EINVAL);
	assert_int_equal(st.umask, 0777);
}

/* Any number of supplementary groups (NGROUPS_MAX is 65536): 300 of them,
 * in the kernel's format (each followed by a space), all kept in order. */
static void test_status_many_groups(void **state)
{
	static char buf[8192];
	struct crl_proc_status st;

	snprintf(buf, sizeof(buf), "Uid:\t0\t0\t0\t0\nGid:\t0\t0\t0\t0\nGroups:\t");
	for (int g = 0; g < 300; g++)
		snprintf(buf + strlen(buf), sizeof(buf) - strlen(buf), "%d ", 1000 + g);
	strcat(buf, "\nCapInh:\t0\nCapPrm:\t0\nCapEff:\t0\nCapBnd:\t0\nCapAmb:\t0\n");
	assert_int_equal(crl_proc_status_parse(buf, &st), 0);
	assert_int_equal(st.nr_groups, 300);
	for (int g = 0; g < 300; g++)
		assert_int_equal(st.groups[g], 1000 + g);
	crl_proc_status_release(&st);
	assert_null(st.groups);
	assert_int_equal(st.nr_groups, 0);
}

/* --- children --------------------------------------------------------------- */

/* An empty children file (a leaf task) is an empty list. */
static void test_children_empty(void **state)
{
	pid_t *pids = NULL;
	size_t nr = 99;

	assert_int_equal(crl_proc_children_parse("", &pids, &nr), 0);
	assert_int_equal(nr, 0);
	free(pids);
	assert_int_equal(crl_proc_children_parse(" \n", &pids, &nr), 0);
	assert_int_equal(nr, 0);
	free(pids);
}

/* Several children, in the kernel's order (not sorted), with the trailing
 * space the kernel writes; a newline is accepted too. */
static void test_children_several(void **state)
{
	pid_t *pids = NULL;
	size_t nr = 0;

	assert_int_equal(crl_proc_children_parse("5123 77 4194303 ", &pids, &nr), 0);
	assert_int_equal(nr, 3);
	assert_int_equal(pids[0], 5123);
	assert_int_equal(pids[1], 77);
	assert_int_equal(pids[2], 4194303);
	free(pids);

	assert_int_equal(crl_proc_children_parse("12\n", &pids, &nr), 0);
	assert_int_equal(nr, 1);
	assert_int_equal(pids[0], 12);
	free(pids);
}

/* Garbage is refused: words, separators other than space, signs, zero,
 * trailing junk, a number past the range of pid_t. */
/* fdinfo lock lines, captured (POSIX and flock) and OFD, from one fd. */
static void test_locks_captured(void **state)
{
	_cleanup_free_ char *text = fixture("fdinfo-locks.txt");
	_cleanup_free_ struct crl_lock *l = NULL;
	const char *what = "unset";
	size_t nr = 0;

	assert_int_equal(crl_fdinfo_parse_locks(text, &l, &nr, &what), 0);
	assert_null(what);
	assert_int_equal(nr, 4);
	assert_int_equal(l[0].kind, CRL_LOCK_POSIX);
	assert_true(l[0].write);
	assert_int_equal(l[0].start, 10);
	assert_int_equal(l[0].len, 20);
	assert_int_equal(l[1].kind, CRL_LOCK_POSIX);
	assert_false(l[1].write);
	assert_int_equal(l[1].start, 100);
	assert_int_equal(l[1].len, 0);
	assert_int_equal(l[2].kind, CRL_LOCK_FLOCK);
	assert_true(l[2].write);
	assert_int_equal(l[3].kind, CRL_LOCK_OFD);
	assert_false(l[3].write);
	assert_int_equal(l[3].len, 5);
}

/* No lock lines; a lease is named; damaged lines are refused. */
static void test_locks_other(void **state)
{
	static const char *const bad[] = {
		"lock:\t1: POSIX  ADVISORY  WRITE 1 fe:00:1 30 10\n",
		"lock:\t1: POSIX  ADVISORY  WRITE 1 fe:00:1 10\n",
		"lock:\tx: POSIX\n",
		"lock:\t1: POSIX  ADVISORY  WRITE 1 fe:00:1 10 abc\n",
	};
	struct crl_lock *l = NULL;
	const char *what = NULL;
	size_t nr = 7;

	assert_int_equal(crl_fdinfo_parse_locks("pos:\t0\nflags:\t02\n", &l, &nr, &what), 0);
	assert_int_equal(nr, 0);
	free(l);
	l = NULL;
	assert_int_equal(crl_fdinfo_parse_locks("lock:\t1: LEASE  ACTIVE    READ 1 fe:00:1 0 EOF\n", &l, &nr, &what),
			 -EOPNOTSUPP);
	assert_string_equal(what, "a lease");
	assert_null(l);
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		if (crl_fdinfo_parse_locks(bad[i], &l, &nr, &what) != -EINVAL)
			fail_msg("'%s' accepted", bad[i]);
		assert_null(l);
	}
}

static void test_children_garbage(void **state)
{
	static const char *const texts[] = {
		"abc", "12 abc", "12,13", "12\t13", "-5", "+5", "0", "12x", "12 13x ",
		"4294967297", "99999999999999999999999",
	};

	for (size_t i = 0; i < ARRAY_SIZE(texts); i++) {
		pid_t *pids = NULL;
		size_t nr = 4242;

		if (crl_proc_children_parse(texts[i], &pids, &nr) != -EINVAL)
			fail_msg("'%s' accepted", texts[i]);
		assert_null(pids);
		assert_int_equal(nr, 4242);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_maps_line_fields),
		cmocka_unit_test(test_maps_line_names),
		cmocka_unit_test(test_maps_line_not_header),
		cmocka_unit_test(test_maps_line_malformed),
		cmocka_unit_test(test_smaps_captured),
		cmocka_unit_test(test_smaps_shared_objects),
		cmocka_unit_test(test_smaps_handmade),
		cmocka_unit_test(test_smaps_refused),
		cmocka_unit_test(test_smaps_empty),
		cmocka_unit_test(test_vmflags_roundtrip),
		cmocka_unit_test(test_vmflags_captured_lines),
		cmocka_unit_test(test_vmflags_unknown),
		cmocka_unit_test(test_vmflags_format_small_buffer),
		cmocka_unit_test(test_stat_captured),
		cmocka_unit_test(test_stat_odd_comm_captured),
		cmocka_unit_test(test_stat_handmade),
		cmocka_unit_test(test_stat_refused),
		cmocka_unit_test(test_status_captured_root),
		cmocka_unit_test(test_status_captured_nested),
		cmocka_unit_test(test_status_handmade),
		cmocka_unit_test(test_status_refused),
		cmocka_unit_test(test_status_many_groups),
		cmocka_unit_test(test_children_empty),
		cmocka_unit_test(test_children_several),
		cmocka_unit_test(test_children_garbage),
		cmocka_unit_test(test_locks_captured),
		cmocka_unit_test(test_locks_other),
	};

	return cmocka_run_group_tests_name("proc-parse", tests, NULL, NULL);
}
