/*
 * Valid sample records of every image kind, shared by the image unit tests
 * and the fuzz seed generator (test/tools/gen-fuzz-seeds.c).
 *
 * struct samples holds the messages and everything they point to, so a
 * sample lives exactly as long as the struct; nothing is malloc'd. Tests
 * copy a sample, break one field, and check that the reader refuses it.
 */
#ifndef CRL_TEST_SAMPLE_IMAGES_H
#define CRL_TEST_SAMPLE_IMAGES_H

#include <signal.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>

#include "core.pb-c.h"
#include "fdinfo.pb-c.h"
#include "files.pb-c.h"
#include "inventory.pb-c.h"
#include "mm.pb-c.h"
#include "pagemap.pb-c.h"
#include "pstree.pb-c.h"
#include "shmem.pb-c.h"

#include "crl/image.h"
#include "crl/proc.h"

#define SAMPLE_NR_VMAS 5
#define SAMPLE_MAX_RECORDS 2

struct samples {
	InventoryEntry inventory;

	PstreeEntry pstree[2];
	uint32_t threads0[2], threads1[1];

	CoreEntry core;
	UserRegsX86 regs;
	CredsEntry creds;
	uint32_t groups[2];
	SigactionEntry sa[2];
	SigactionEntry *sap[2];
	ProtobufCBinaryData pending[1];
	uint8_t siginfo[128];
	RseqEntry rseq;
	ItimerEntry itimer;
	ItimerEntry *itimerp[1];
	uint8_t fpregs[512];

	MmEntry mm;
	VmaEntry vma[SAMPLE_NR_VMAS];
	VmaEntry *vmap[SAMPLE_NR_VMAS];
	uint64_t auxv[6];

	PagemapEntry pagemap[2];
	FileEntry file[2];
	ShmemEntry shmem[2];
	uint32_t users0[2], users1[1];

	FileDescEntry filedesc[2];
	FdEntry fd[2];
	PipeEntry pipe;
	UnixSkEntry unixsk[2];
	ProtobufCBinaryData queue[2];
};

static inline void samples_init_core(struct samples *s)
{
	s->regs = (UserRegsX86)USER_REGS_X86__INIT;
	s->regs.ip = 0x401000;
	s->regs.sp = 0x7ffd00020f00;
	s->regs.ax = 0xfffffffffffffe00ULL; /* -ERESTARTSYS, as a frozen task may have */
	s->regs.orig_ax = 35;
	s->regs.cs = 0x33;
	s->regs.ss = 0x2b;
	s->regs.flags = 0x246;
	s->regs.fs_base = 0x7f0000003740;

	s->creds = (CredsEntry)CREDS_ENTRY__INIT;
	s->creds.uid = 1000;
	s->creds.euid = 1001;
	s->creds.suid = 1001;
	s->creds.fsuid = 1001;
	s->creds.gid = 1000;
	s->creds.egid = 1001;
	s->creds.sgid = 1001;
	s->creds.fsgid = 1001;
	s->groups[0] = 4;
	s->groups[1] = 24;
	s->creds.n_groups = 2;
	s->creds.groups = s->groups;
	s->creds.cap_bnd = 0x1fffeffffffULL;

	for (unsigned i = 0; i < 2; i++) {
		s->sa[i] = (SigactionEntry)SIGACTION_ENTRY__INIT;
		s->sa[i].sig = i ? SIGTERM : SIGUSR1;
		s->sa[i].handler = 0x401200 + i * 0x10;
		s->sa[i].flags = 0x04000000; /* SA_RESTORER */
		s->sa[i].restorer = 0x401300;
		s->sa[i].mask = 1ULL << (SIGINT - 1);
		s->sap[i] = &s->sa[i];
	}
	for (unsigned i = 0; i < sizeof(s->siginfo); i++)
		s->siginfo[i] = i;
	s->pending[0].len = sizeof(s->siginfo);
	s->pending[0].data = s->siginfo;

	s->rseq = (RseqEntry)RSEQ_ENTRY__INIT;
	s->rseq.ptr = 0x7f0000003fe0;
	s->rseq.size = 32;
	s->rseq.signature = 0x53053053;

	s->itimer = (ItimerEntry)ITIMER_ENTRY__INIT;
	s->itimer.which = 0; /* ITIMER_REAL */
	s->itimer.value_us = 500000;
	s->itimerp[0] = &s->itimer;

	memset(s->fpregs, 0, sizeof(s->fpregs));
	s->fpregs[24] = 0x80; /* mxcsr 0x1f80 */
	s->fpregs[25] = 0x1f;

	s->core = (CoreEntry)CORE_ENTRY__INIT;
	s->core.pid = 100;
	s->core.regs = &s->regs;
	s->core.has_fpregs = 1;
	s->core.fpregs.len = sizeof(s->fpregs);
	s->core.fpregs.data = s->fpregs;
	s->core.sigmask = (1ULL << (SIGUSR2 - 1)) | (1ULL << (SIGTERM - 1));
	s->core.n_sigactions = 2;
	s->core.sigactions = s->sap;
	s->core.n_pending_shared = 1;
	s->core.pending_shared = s->pending;
	s->core.rseq = &s->rseq;
	s->core.robust_list = 0x7f0000003750;
	s->core.robust_list_len = 24;
	s->core.creds = &s->creds;
	s->core.comm = "victim";
	s->core.umask = 022;
	s->core.cwd = "/";
	s->core.dumpable = 1;
	s->core.n_itimers = 1;
	s->core.itimers = s->itimerp;
	s->core.has_cwd_id = 1;
	s->core.cwd_id = 3;
}

static inline void sample_vma(VmaEntry *v, uint64_t start, uint64_t end, VmaKind kind, uint32_t prot,
			      uint32_t flags, uint32_t object_id, const char *name)
{
	*v = (VmaEntry)VMA_ENTRY__INIT;
	v->start = start;
	v->end = end;
	v->kind = kind;
	v->prot = prot;
	v->flags = flags;
	v->vmflags = VMF(RD) | VMF(MR) | VMF(MW) | VMF(ME) | (prot & PROT_WRITE ? VMF(WR) : 0);
	if (object_id) {
		v->has_object_id = 1;
		v->object_id = object_id;
	}
	v->name = (char *)name;
}

static inline void samples_init_mm(struct samples *s)
{
	const uint64_t auxv[] = { 6 /* AT_PAGESZ */, 4096, 25 /* AT_RANDOM */, 0x7ffd00020e00, 0, 0 };

	sample_vma(&s->vma[0], 0x400000, 0x402000, VMA_KIND__VMA_FILE_PRIVATE, PROT_READ | PROT_EXEC,
		   MAP_PRIVATE, 1, "/usr/bin/true");
	s->vma[0].has_dev = s->vma[0].has_ino = 1;
	s->vma[0].dev = 0xfe00;
	s->vma[0].ino = 247134;
	sample_vma(&s->vma[1], 0x600000, 0x621000, VMA_KIND__VMA_HEAP, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE, 0, "[heap]");
	sample_vma(&s->vma[2], 0x7f0000000000, 0x7f0000004000, VMA_KIND__VMA_SHARED_ANON,
		   PROT_READ | PROT_WRITE, MAP_SHARED, 2, "/dev/zero (deleted)");
	sample_vma(&s->vma[3], 0x7ffd00000000, 0x7ffd00021000, VMA_KIND__VMA_STACK,
		   PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_GROWSDOWN, 0, "[stack]");
	s->vma[3].vmflags |= VMF(GD) | VMF(AC);
	sample_vma(&s->vma[4], 0xffffffffff600000ULL, 0xffffffffff601000ULL, VMA_KIND__VMA_VSYSCALL,
		   PROT_EXEC, MAP_PRIVATE, 0, "[vsyscall]");
	for (unsigned i = 0; i < SAMPLE_NR_VMAS; i++)
		s->vmap[i] = &s->vma[i];
	memcpy(s->auxv, auxv, sizeof(auxv));

	s->mm = (MmEntry)MM_ENTRY__INIT;
	s->mm.start_code = 0x400000;
	s->mm.end_code = 0x401800;
	s->mm.start_data = 0x401800;
	s->mm.end_data = 0x402000;
	s->mm.start_brk = 0x600000;
	s->mm.brk = 0x621000;
	s->mm.start_stack = 0x7ffd00020f00;
	s->mm.arg_start = 0x7ffd00020f80;
	s->mm.arg_end = 0x7ffd00020f90;
	s->mm.env_start = 0x7ffd00020f90;
	s->mm.env_end = 0x7ffd00020ff0;
	s->mm.n_auxv = 6;
	s->mm.auxv = s->auxv;
	s->mm.exe_id = 1;
	s->mm.n_vmas = SAMPLE_NR_VMAS;
	s->mm.vmas = s->vmap;
}

static inline void samples_init(struct samples *s)
{
	memset(s, 0, sizeof(*s));

	s->inventory = (InventoryEntry)INVENTORY_ENTRY__INIT;
	s->inventory.format_version = CRL_IMG_FORMAT_VERSION;
	s->inventory.tool_version = "0.1";
	s->inventory.kernel = "6.18.0";
	s->inventory.arch = "x86_64";
	s->inventory.root_pid = 100;
	s->inventory.nr_tasks = 2;
	s->inventory.page_size = 4096;
	s->inventory.dump_time = 1700000000;
	s->inventory.has_shm_dev = 1;
	s->inventory.shm_dev = 1;

	s->threads0[0] = 100;
	s->threads0[1] = 102;
	s->threads1[0] = 101;
	for (unsigned i = 0; i < 2; i++) {
		s->pstree[i] = (PstreeEntry)PSTREE_ENTRY__INIT;
		s->pstree[i].pid = 100 + i;
		s->pstree[i].ppid = i ? 100 : 0;
		s->pstree[i].pgid = 100;
		s->pstree[i].sid = 90;
		s->pstree[i].exit_signal = SIGCHLD;
		s->pstree[i].state = i ? TASK_STATE__TASK_STOPPED : TASK_STATE__TASK_ALIVE;
		s->pstree[i].comm = i ? "child" : "victim";
	}
	s->pstree[0].n_threads = 2;
	s->pstree[0].threads = s->threads0;
	s->pstree[1].n_threads = 1;
	s->pstree[1].threads = s->threads1;

	samples_init_core(s);
	samples_init_mm(s);

	for (unsigned i = 0; i < 2; i++)
		s->pagemap[i] = (PagemapEntry)PAGEMAP_ENTRY__INIT;
	s->pagemap[0].vaddr = 0x600000;
	s->pagemap[0].nr_pages = 3;
	s->pagemap[0].offset = 4096;
	s->pagemap[1].vaddr = 0x7ffd00020000;
	s->pagemap[1].nr_pages = 1;
	s->pagemap[1].offset = 4 * 4096;

	for (unsigned i = 0; i < 2; i++)
		s->file[i] = (FileEntry)FILE_ENTRY__INIT;
	s->file[0].id = 1;
	s->file[0].path = "/usr/bin/true";
	s->file[0].dev = 0xfe00;
	s->file[0].ino = 247134;
	s->file[0].size = 39344;
	s->file[0].mtime_ns = 1700000000123456789LL;
	s->file[0].mode = 0100755;
	s->file[1].id = 3;
	s->file[1].path = "/";
	s->file[1].dev = 0xfe00;
	s->file[1].ino = 2;
	s->file[1].size = 4096;
	s->file[1].mode = 040755;

	for (unsigned i = 0; i < 2; i++)
		s->shmem[i] = (ShmemEntry)SHMEM_ENTRY__INIT;
	s->users0[0] = 100;
	s->users0[1] = 101;
	s->users1[0] = 101;
	s->shmem[0].id = 2;
	s->shmem[0].kind = SHMEM_KIND__SHMEM_ANON;
	s->shmem[0].dev = 1;
	s->shmem[0].ino = 1028;
	s->shmem[0].size = 4 * 4096;
	s->shmem[0].mode = 0100666;
	s->shmem[0].n_users = 2;
	s->shmem[0].users = s->users0;
	s->shmem[1].id = 4;
	s->shmem[1].kind = SHMEM_KIND__SHMEM_MEMFD;
	s->shmem[1].dev = 1;
	s->shmem[1].ino = 1026;
	s->shmem[1].size = 2 * 4096;
	s->shmem[1].name = "hello world";
	s->shmem[1].mode = 0100777;
	s->shmem[1].has_seals = 1;
	s->shmem[1].seals = 1;
	s->shmem[1].has_uid = s->shmem[1].has_gid = 1;
	s->shmem[1].uid = 1234;
	s->shmem[1].gid = 1234;
	s->shmem[1].n_users = 1;
	s->shmem[1].users = s->users1;

	for (unsigned i = 0; i < 2; i++) {
		s->filedesc[i] = (FileDescEntry)FILE_DESC_ENTRY__INIT;
		s->fd[i] = (FdEntry)FD_ENTRY__INIT;
		s->unixsk[i] = (UnixSkEntry)UNIX_SK_ENTRY__INIT;
	}
	s->filedesc[0].id = 1;
	s->filedesc[0].kind = FD_KIND__FD_REG;
	s->filedesc[0].flags = 02000; /* O_RDONLY | O_APPEND */
	s->filedesc[0].has_pos = 1;
	s->filedesc[0].pos = 4096;
	s->filedesc[0].has_object_id = 1;
	s->filedesc[0].object_id = 1;
	s->filedesc[1].id = 2;
	s->filedesc[1].kind = FD_KIND__FD_PIPE;
	s->filedesc[1].flags = 01; /* O_WRONLY */
	s->filedesc[1].has_pipe_id = 1;
	s->filedesc[1].pipe_id = 1;

	s->fd[0].fd = 0;
	s->fd[0].desc_id = 1;
	s->fd[1].fd = 7;
	s->fd[1].desc_id = 2;
	s->fd[1].cloexec = 1;

	s->pipe = (PipeEntry)PIPE_ENTRY__INIT;
	s->pipe.id = 1;
	s->pipe.ino = 90210;
	s->pipe.size = 65536;
	s->pipe.has_data = 1;
	s->pipe.data.len = 5;
	s->pipe.data.data = (uint8_t *)"hello";

	/* A connected stream pair; one end bound to an abstract name, with
	 * two messages queued to the other. */
	s->queue[0].len = 3;
	s->queue[0].data = (uint8_t *)"abc";
	s->queue[1].len = 4;
	s->queue[1].data = (uint8_t *)"defg";
	for (unsigned i = 0; i < 2; i++) {
		s->unixsk[i].id = 1 + i;
		s->unixsk[i].ino = 5000 + i;
		s->unixsk[i].type = SOCK_STREAM;
		s->unixsk[i].state = 1; /* TCP_ESTABLISHED */
		s->unixsk[i].has_peer_id = 1;
		s->unixsk[i].peer_id = 2 - i;
	}
	s->unixsk[0].has_name = 1;
	s->unixsk[0].name.len = 5;
	s->unixsk[0].name.data = (uint8_t *)"\0sock";
	s->unixsk[1].n_queue = 2;
	s->unixsk[1].queue = s->queue;
}

/*
 * The sample records of a record kind, in file order: fills out[] (at least
 * SAMPLE_MAX_RECORDS entries) and returns how many; 0 for raw kinds.
 */
static inline unsigned samples_of_kind(struct samples *s, enum crl_img_kind kind,
				       const ProtobufCMessage **out)
{
	switch (kind) {
	case CRL_IMG_INVENTORY:
		out[0] = &s->inventory.base;
		return 1;
	case CRL_IMG_PSTREE:
		out[0] = &s->pstree[0].base;
		out[1] = &s->pstree[1].base;
		return 2;
	case CRL_IMG_CORE:
		out[0] = &s->core.base;
		return 1;
	case CRL_IMG_MM:
		out[0] = &s->mm.base;
		return 1;
	case CRL_IMG_PAGEMAP:
	case CRL_IMG_SHMEM_PAGEMAP:
		out[0] = &s->pagemap[0].base;
		out[1] = &s->pagemap[1].base;
		return 2;
	case CRL_IMG_FILES:
		out[0] = &s->file[0].base;
		out[1] = &s->file[1].base;
		return 2;
	case CRL_IMG_SHMEM:
		out[0] = &s->shmem[0].base;
		out[1] = &s->shmem[1].base;
		return 2;
	case CRL_IMG_FILEDESC:
		out[0] = &s->filedesc[0].base;
		out[1] = &s->filedesc[1].base;
		return 2;
	case CRL_IMG_FDINFO:
		out[0] = &s->fd[0].base;
		out[1] = &s->fd[1].base;
		return 2;
	case CRL_IMG_PIPES:
		out[0] = &s->pipe.base;
		return 1;
	case CRL_IMG_UNIXSK:
		out[0] = &s->unixsk[0].base;
		out[1] = &s->unixsk[1].base;
		return 2;
	default:
		return 0;
	}
}

#endif
