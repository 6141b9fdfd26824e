/*
 * Checks of single decoded records: everything that can be judged from the
 * record alone (ranges, alignment, counts, enum values). protobuf-c already
 * refused malformed wire data; this refuses well-formed nonsense before any
 * code uses it. Cross-record checks (a pagemap run inside a VMA, a pid in
 * the tree) belong to the reader of the whole dump.
 */
#include <fcntl.h>
#include <limits.h>
#include <linux/mempolicy.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include "core.pb-c.h"
#include "fdinfo.pb-c.h"
#include "files.pb-c.h"
#include "inventory.pb-c.h"
#include "mm.pb-c.h"
#include "pagemap.pb-c.h"
#include "pstree.pb-c.h"
#include "shmem.pb-c.h"

#include "crl/image.h"
#include "crl/limits.h"
#include "crl/nl.h"
#include "crl/util.h"
#include "image-validate.h"

static int bad(char *err, size_t len, const char *fmt, ...) _printf_(3, 4);
static int bad(char *err, size_t len, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err, len, fmt, ap);
	va_end(ap);
	return -EBADMSG;
}

#define CHECK(cond, ...)                                  \
	do {                                              \
		if (!(cond))                              \
			return bad(err, len, __VA_ARGS__); \
	} while (0)

static bool path_ok(const char *p)
{
	return p && p[0] == '/' && strlen(p) < PATH_MAX;
}

int crl_validate_inventory(const ProtobufCMessage *m, char *err, size_t len)
{
	const InventoryEntry *e = (const InventoryEntry *)m;

	CHECK(e->format_version == CRL_IMG_FORMAT_VERSION, "format version %u, this criu-lite reads %u",
	      e->format_version, CRL_IMG_FORMAT_VERSION);
	CHECK(e->page_size == CRL_PAGE_SIZE, "page size %u, this machine uses %lu", e->page_size,
	      CRL_PAGE_SIZE);
	CHECK(e->root_pid > 0 && e->root_pid < CRL_PID_MAX, "root pid %u out of range", e->root_pid);
	CHECK(e->nr_tasks > 0 && e->nr_tasks < CRL_PID_MAX, "task count %u out of range", e->nr_tasks);
	CHECK(!strcmp(e->arch, "x86_64"), "architecture '%s', this criu-lite restores x86_64", e->arch);
	return 0;
}

int crl_validate_pstree(const ProtobufCMessage *m, char *err, size_t len)
{
	const PstreeEntry *e = (const PstreeEntry *)m;

	CHECK(e->pid > 0 && e->pid < CRL_PID_MAX, "pid %u out of range", e->pid);
	CHECK(e->ppid < CRL_PID_MAX, "ppid %u out of range", e->ppid);
	CHECK(e->pgid > 0 && e->pgid < CRL_PID_MAX, "pgid %u out of range", e->pgid);
	CHECK(e->sid < CRL_PID_MAX, "sid %u out of range", e->sid);
	CHECK(e->exit_signal <= 64, "exit signal %u out of range", e->exit_signal);
	CHECK(e->n_threads >= 1 && e->n_threads <= 65536, "thread count %zu out of range", e->n_threads);
	CHECK(e->threads[0] == e->pid, "first thread %u is not the leader %u", e->threads[0], e->pid);
	for (size_t i = 0; i < e->n_threads; i++)
		CHECK(e->threads[i] > 0 && e->threads[i] < CRL_PID_MAX, "thread id %u out of range",
		      e->threads[i]);
	CHECK(e->state == TASK_STATE__TASK_ALIVE || e->state == TASK_STATE__TASK_STOPPED ||
		      e->state == TASK_STATE__TASK_ZOMBIE,
	      "unknown task state %d", e->state);
	CHECK(e->state != TASK_STATE__TASK_ZOMBIE || e->ppid, "the root %u is a zombie", e->pid);
	CHECK(!e->comm || strlen(e->comm) < 16, "comm longer than 15 bytes");
	return 0;
}

int crl_validate_core(const ProtobufCMessage *m, char *err, size_t len)
{
	const CoreEntry *e = (const CoreEntry *)m;

	CHECK(e->pid > 0 && e->pid < CRL_PID_MAX, "pid %u out of range", e->pid);
	CHECK(!e->has_xsave || (e->xsave.len >= 576 && e->xsave.len <= CRL_MAX_XSAVE),
	      "xsave area of %zu bytes", e->xsave.len);
	CHECK(!e->has_fpregs || e->fpregs.len == 512, "fpregs area of %zu bytes", e->fpregs.len);
	CHECK(!e->has_oom_score_adj || (e->oom_score_adj >= -1000 && e->oom_score_adj <= 1000),
	      "oom_score_adj %d out of range", e->oom_score_adj);
	CHECK(!e->has_ioprio || (e->ioprio >> 13) <= 3, "I/O priority %#x of an unknown class", e->ioprio);
	CHECK(!e->has_coredump_filter || e->coredump_filter <= 0x1ff, "core dump filter %#x has unknown bits",
	      e->coredump_filter);
	CHECK(!e->has_tsc || e->tsc == 1 || e->tsc == 2, "TSC mode %u", e->tsc);
	CHECK(!e->has_mce_kill || e->mce_kill <= 2, "MCE kill policy %u", e->mce_kill);
	CHECK(!e->has_mdwe || e->mdwe <= 3, "MDWE flags %#x", e->mdwe);
	/* Modes 0 to 6: MPOL_WEIGHTED_INTERLEAVE (Linux 6.9) is the last. */
	CHECK(!e->has_mempolicy || (e->mempolicy & ~(uint32_t)MPOL_MODE_FLAGS) <= 6,
	      "memory policy %#x", e->mempolicy);
	CHECK(!e->has_mempolicy_nodes || e->mempolicy_nodes.len <= CRL_MAX_NODEMASK, "a node mask of %zu bytes",
	      e->mempolicy_nodes.len);
	CHECK(!e->has_mlockall || e->mlockall == 0 || e->mlockall == MCL_FUTURE ||
		      e->mlockall == (MCL_FUTURE | MCL_ONFAULT),
	      "mlockall flags %#x", e->mlockall);
	CHECK(e->n_sigactions <= 64, "%zu sigactions", e->n_sigactions);
	for (size_t i = 0; i < e->n_sigactions; i++) {
		unsigned s = e->sigactions[i]->sig;

		CHECK(s >= 1 && s <= 64 && s != SIGKILL && s != SIGSTOP, "sigaction for signal %u", s);
		for (size_t j = 0; j < i; j++)
			CHECK(e->sigactions[j]->sig != s, "two sigactions for signal %u", s);
	}
	CHECK(e->n_pending_thread <= CRL_MAX_PENDING && e->n_pending_shared <= CRL_MAX_PENDING,
	      "%zu + %zu pending signals", e->n_pending_thread, e->n_pending_shared);
	for (size_t i = 0; i < e->n_pending_thread; i++)
		CHECK(e->pending_thread[i].len == CRL_SIGINFO_SIZE, "pending siginfo of %zu bytes",
		      e->pending_thread[i].len);
	for (size_t i = 0; i < e->n_pending_shared; i++)
		CHECK(e->pending_shared[i].len == CRL_SIGINFO_SIZE, "pending siginfo of %zu bytes",
		      e->pending_shared[i].len);
	CHECK(!e->rseq || (e->rseq->size >= 20 && e->rseq->size <= 4096 && e->rseq->ptr &&
			    e->rseq->ptr < CRL_TASK_SIZE_MAX),
	      "rseq area %#llx of %u bytes", e->rseq ? (unsigned long long)e->rseq->ptr : 0ULL,
	      e->rseq ? e->rseq->size : 0);
	CHECK(e->creds->n_groups <= CRL_MAX_GROUPS, "%zu supplementary groups", e->creds->n_groups);
	CHECK(strlen(e->comm) < 16, "comm longer than 15 bytes");
	CHECK(path_ok(e->cwd), "cwd is not an absolute path");
	CHECK(e->umask <= 0777, "umask %o", e->umask);
	CHECK(e->pdeath_signal <= 64, "pdeath signal %u", e->pdeath_signal);
	CHECK(e->n_itimers <= 3, "%zu interval timers", e->n_itimers);
	CHECK(e->n_rlimits <= 16, "%zu resource limits", e->n_rlimits);
	for (size_t i = 0; i < e->n_rlimits; i++)
		CHECK(e->rlimits[i]->resource < 16 && e->rlimits[i]->cur <= e->rlimits[i]->max,
		      "resource limit %u: %llu over %llu", e->rlimits[i]->resource,
		      (unsigned long long)e->rlimits[i]->cur, (unsigned long long)e->rlimits[i]->max);
	CHECK(!e->sched || (e->sched->nice >= -20 && e->sched->nice <= 19 && e->sched->priority <= 99),
	      "scheduling nice %d priority %u", e->sched ? e->sched->nice : 0, e->sched ? e->sched->priority : 0);
	CHECK(!e->has_cpu_affinity || (e->cpu_affinity.len > 0 && e->cpu_affinity.len <= 8192),
	      "CPU affinity mask of %zu bytes", e->cpu_affinity.len);
	for (size_t i = 0; i < e->n_itimers; i++)
		CHECK(e->itimers[i]->which <= 2, "interval timer %u", e->itimers[i]->which);
	CHECK(e->regs->ip < CRL_TASK_SIZE_MAX || e->regs->ip >= CRL_VSYSCALL_ADDR, "ip %#llx",
	      (unsigned long long)e->regs->ip);
	return 0;
}

static int validate_vma(const VmaEntry *v, char *err, size_t len)
{
	bool vsyscall = v->kind == VMA_KIND__VMA_VSYSCALL;
	uint64_t shared = v->flags & (MAP_SHARED | MAP_PRIVATE);

	CHECK(v->start < v->end && PAGE_ALIGNED(v->start) && PAGE_ALIGNED(v->end),
	      "VMA %#llx-%#llx is empty or unaligned", (unsigned long long)v->start,
	      (unsigned long long)v->end);
	CHECK(vsyscall ? v->start == CRL_VSYSCALL_ADDR : v->end <= CRL_TASK_SIZE_MAX,
	      "VMA %#llx-%#llx outside the user address space", (unsigned long long)v->start,
	      (unsigned long long)v->end);
	CHECK(v->kind >= VMA_KIND__VMA_ANON && v->kind <= VMA_KIND__VMA_VSYSCALL,
	      "VMA %#llx: unknown kind %d", (unsigned long long)v->start, v->kind);
	CHECK((v->prot & ~(PROT_READ | PROT_WRITE | PROT_EXEC)) == 0, "VMA %#llx: protection %#x",
	      (unsigned long long)v->start, v->prot);
	CHECK(shared == MAP_SHARED || shared == MAP_PRIVATE, "VMA %#llx: neither shared nor private",
	      (unsigned long long)v->start);
	CHECK((v->flags & ~(MAP_SHARED | MAP_PRIVATE | MAP_GROWSDOWN | MAP_NORESERVE)) == 0,
	      "VMA %#llx: flags %#x", (unsigned long long)v->start, v->flags);
	CHECK(v->pgoff < CRL_MAX_OBJECT_SIZE / CRL_PAGE_SIZE, "VMA %#llx: offset %llu pages",
	      (unsigned long long)v->start, (unsigned long long)v->pgoff);
	CHECK(!v->name || strlen(v->name) < PATH_MAX + 32, "VMA %#llx: name too long",
	      (unsigned long long)v->start);
	switch (v->kind) {
	case VMA_KIND__VMA_FILE_PRIVATE:
	case VMA_KIND__VMA_FILE_SHARED:
	case VMA_KIND__VMA_SHARED_ANON:
	case VMA_KIND__VMA_MEMFD:
	case VMA_KIND__VMA_UNLINKED:
	case VMA_KIND__VMA_SYSV_SHM:
		CHECK(v->has_object_id && v->object_id > 0, "VMA %#llx maps an object but names none",
		      (unsigned long long)v->start);
		break;
	default:
		CHECK(!v->object_id, "VMA %#llx: an object for a VMA of kind %d",
		      (unsigned long long)v->start, v->kind);
		break;
	}
	return 0;
}

int crl_validate_mm(const ProtobufCMessage *m, char *err, size_t len)
{
	const MmEntry *e = (const MmEntry *)m;
	const uint64_t addrs[] = { e->start_code, e->end_code, e->start_data, e->end_data, e->start_brk,
				   e->brk, e->start_stack, e->arg_start, e->arg_end, e->env_start,
				   e->env_end };
	int r;

	for (size_t i = 0; i < ARRAY_SIZE(addrs); i++)
		CHECK(addrs[i] < CRL_TASK_SIZE_MAX, "mm field %zu (%#llx) outside the address space", i,
		      (unsigned long long)addrs[i]);
	CHECK(e->start_brk <= e->brk && e->arg_start <= e->arg_end && e->env_start <= e->env_end,
	      "mm ranges out of order");
	CHECK(e->n_auxv % 2 == 0 && e->n_auxv >= 2 && e->n_auxv <= CRL_MAX_AUXV_WORDS,
	      "auxv of %zu words", e->n_auxv);
	CHECK(e->auxv[e->n_auxv - 2] == 0, "auxv does not end with AT_NULL");
	CHECK(e->n_vmas <= CRL_MAX_VMAS, "%zu VMAs", e->n_vmas);
	for (size_t i = 0; i < e->n_vmas; i++) {
		r = validate_vma(e->vmas[i], err, len);
		if (r < 0)
			return r;
		CHECK(i == 0 || e->vmas[i]->start >= e->vmas[i - 1]->end,
		      "VMA %#llx overlaps or precedes the one before", (unsigned long long)e->vmas[i]->start);
	}
	return 0;
}

int crl_validate_pagemap(const ProtobufCMessage *m, char *err, size_t len)
{
	const PagemapEntry *e = (const PagemapEntry *)m;

	CHECK(e->nr_pages > 0 && e->nr_pages < (1u << 30), "run of %u pages", e->nr_pages);
	CHECK(PAGE_ALIGNED(e->vaddr) && PAGE_ALIGNED(e->offset) && e->offset >= CRL_PAGE_SIZE,
	      "run at %#llx (data at %llu) is not page aligned", (unsigned long long)e->vaddr,
	      (unsigned long long)e->offset);
	CHECK(e->vaddr < CRL_TASK_SIZE_MAX &&
		      (uint64_t)e->nr_pages * CRL_PAGE_SIZE <= CRL_TASK_SIZE_MAX - e->vaddr,
	      "run %#llx + %u pages outside the address space", (unsigned long long)e->vaddr, e->nr_pages);
	CHECK(e->offset < (1ULL << 56), "data offset %llu", (unsigned long long)e->offset);
	return 0;
}

int crl_validate_file(const ProtobufCMessage *m, char *err, size_t len)
{
	const FileEntry *e = (const FileEntry *)m;

	CHECK(e->id > 0, "file id 0");
	CHECK(path_ok(e->path), "file %u: path is not absolute", e->id);
	return 0;
}

int crl_validate_shmem(const ProtobufCMessage *m, char *err, size_t len)
{
	const ShmemEntry *e = (const ShmemEntry *)m;

	CHECK(e->id > 0, "object id 0");
	CHECK(e->kind >= SHMEM_KIND__SHMEM_ANON && e->kind <= SHMEM_KIND__SHMEM_SYSV,
	      "object %u: unknown kind %d", e->id, e->kind);
	CHECK(e->size <= CRL_MAX_OBJECT_SIZE, "object %u: size %llu", e->id, (unsigned long long)e->size);
	CHECK(!e->name || strlen(e->name) < PATH_MAX, "object %u: name too long", e->id);
	CHECK(e->kind != SHMEM_KIND__SHMEM_UNLINKED || path_ok(e->name),
	      "object %u: unlinked file without an absolute path", e->id);
	CHECK(e->kind != SHMEM_KIND__SHMEM_MEMFD || (e->name && strlen(e->name) <= 249),
	      "object %u: memfd name missing or too long", e->id);
	CHECK(e->n_users <= CRL_PID_MAX, "object %u: %zu users", e->id, e->n_users);
	CHECK((e->mode & S_IFMT) == S_IFREG, "object %u: mode %#o is not a regular file's", e->id, e->mode);
	CHECK(e->has_uid == e->has_gid, "object %u: an owner without a group, or the other way round", e->id);
	/* (uid_t)-1 would tell fchown() to leave the owner as it is. */
	CHECK(!e->has_uid || (e->uid != UINT32_MAX && e->gid != UINT32_MAX), "object %u: owner %u:%u", e->id,
	      e->uid, e->gid);
	return 0;
}

/* Locks of one owner kind: POSIX ones (an fd's) or the others (a
 * description's), with ranges a struct flock can hold. */
static int check_locks(FileLock *const *locks, size_t n, bool posix, const char *whose, uint32_t id, char *err,
		       size_t len)
{
	CHECK(n <= CRL_MAX_LOCKS, "%s %u: %zu locks", whose, id, n);
	for (size_t i = 0; i < n; i++) {
		const FileLock *l = locks[i];

		CHECK(posix ? l->kind == LOCK_KIND__LOCK_POSIX
			    : l->kind == LOCK_KIND__LOCK_FLOCK || l->kind == LOCK_KIND__LOCK_OFD,
		      "%s %u: lock %zu is of the wrong kind (%d)", whose, id, i, l->kind);
		CHECK(l->start <= INT64_MAX && l->len <= INT64_MAX - l->start,
		      "%s %u: lock %zu: range out of bounds", whose, id, i);
	}
	return 0;
}

int crl_validate_filedesc(const ProtobufCMessage *m, char *err, size_t len)
{
	const FileDescEntry *e = (const FileDescEntry *)m;

	CHECK(e->id > 0, "file description id 0");
	CHECK(e->kind >= FD_KIND__FD_REG && e->kind <= FD_KIND__FD_TTY, "description %u: unknown kind %d",
	      e->id, e->kind);
	CHECK((e->flags & 3) != 3, "description %u: access mode 3", e->id);
	/* Flags that act only when a file is opened (the kernel clears all
	 * but O_TMPFILE from a description): opening again with O_TRUNC would
	 * empty the file, with O_TMPFILE make a new one. (O_TMPFILE holds
	 * O_DIRECTORY, which a directory's description shows.) */
	CHECK(!(e->flags & (O_CREAT | O_EXCL | O_NOCTTY | O_TRUNC | (O_TMPFILE & ~O_DIRECTORY))),
	      "description %u: flags %#o hold open-time flags (O_CREAT, O_EXCL, O_NOCTTY, O_TRUNC, O_TMPFILE)",
	      e->id, e->flags);
	if (check_locks(e->locks, e->n_locks, false, "description", e->id, err, len) < 0)
		return -EBADMSG;
	CHECK(e->has_owner_type == e->has_owner_pid, "description %u: a signal owner without its type, or the other way round",
	      e->id);
	CHECK(!e->has_owner_type || (e->owner_type >= F_OWNER_TID && e->owner_type <= F_OWNER_PGRP),
	      "description %u: owner type %d", e->id, e->owner_type);
	CHECK(!e->has_owner_pid || (e->owner_pid >= 0 && (uint32_t)e->owner_pid < CRL_PID_MAX),
	      "description %u: owner %d", e->id, e->owner_pid);
	CHECK(!e->has_sig || (e->sig >= 0 && e->sig <= 64), "description %u: signal %d", e->id, e->sig);
	switch (e->kind) {
	case FD_KIND__FD_REG:
	case FD_KIND__FD_DIR:
	case FD_KIND__FD_MEMFD:
	case FD_KIND__FD_UNLINKED:
		CHECK(e->has_object_id && e->object_id > 0, "description %u names no object", e->id);
		break;
	case FD_KIND__FD_FIFO:
		CHECK(e->has_object_id && e->object_id > 0 && e->has_pipe_id && e->pipe_id > 0,
		      "description %u: a FIFO needs its file and its pipe", e->id);
		break;
	case FD_KIND__FD_PIPE:
		CHECK(e->has_pipe_id && e->pipe_id > 0, "description %u names no pipe", e->id);
		break;
	case FD_KIND__FD_UNIX:
		CHECK(e->has_sk_id && e->sk_id > 0, "description %u names no socket", e->id);
		break;
	case FD_KIND__FD_CHR:
	case FD_KIND__FD_TTY:
		CHECK(path_ok(e->path), "description %u: device path is not absolute", e->id);
		break;
	default:
		break;
	}
	return 0;
}

int crl_validate_fd(const ProtobufCMessage *m, char *err, size_t len)
{
	const FdEntry *e = (const FdEntry *)m;

	CHECK(e->fd < CRL_MAX_FD, "fd %u out of range", e->fd);
	CHECK(e->desc_id > 0, "fd %u names no file description", e->fd);
	return check_locks(e->locks, e->n_locks, true, "fd", e->fd, err, len);
}

int crl_validate_pipe(const ProtobufCMessage *m, char *err, size_t len)
{
	const PipeEntry *e = (const PipeEntry *)m;

	CHECK(e->id > 0, "pipe id 0");
	CHECK(e->size >= CRL_PAGE_SIZE && e->size <= (1u << 30), "pipe %u: size %u", e->id, e->size);
	CHECK(!e->has_data || e->data.len <= e->size, "pipe %u: %zu bytes of data in a %u-byte pipe", e->id,
	      e->data.len, e->size);
	/* A packet-mode pipe's bytes are its packets: data beside them would
	 * be written after them, over the pipe's size. */
	CHECK(!e->packets || !e->has_data || !e->data.len, "pipe %u: data in a pipe in packet mode", e->id);
	{
		/* Each packet takes a page of the pipe: more than fit would
		 * block the restore writing them back. */
		uint64_t total = 0;

		CHECK(e->n_packet <= e->size / CRL_PAGE_SIZE, "pipe %u: %zu packets in a %u-byte pipe", e->id,
		      e->n_packet, e->size);
		for (size_t i = 0; i < e->n_packet; i++)
			total += e->packet[i].len;
		CHECK(total <= e->size, "pipe %u: %llu bytes of packets in a %u-byte pipe", e->id,
		      (unsigned long long)total, e->size);
		CHECK(!e->n_packet || e->packets, "pipe %u: packets in a pipe not in packet mode", e->id);
		for (size_t i = 0; i < e->n_packet; i++)
			CHECK(e->packet[i].len > 0 && e->packet[i].len <= CRL_PAGE_SIZE,
			      "pipe %u: packet %zu of %zu bytes (a packet is 1 to 4096)", e->id, i,
			      e->packet[i].len);
	}
	return 0;
}

int crl_validate_unixsk(const ProtobufCMessage *m, char *err, size_t len)
{
	const UnixSkEntry *e = (const UnixSkEntry *)m;

	CHECK(e->id > 0, "socket id 0");
	CHECK(e->type == SOCK_STREAM || e->type == SOCK_DGRAM || e->type == SOCK_SEQPACKET,
	      "socket %u: type %u", e->id, e->type);
	CHECK(e->state <= 12, "socket %u: state %u", e->id, e->state);
	CHECK(!e->has_name || (e->name.len > 0 && e->name.len <= 108), "socket %u: name of %zu bytes",
	      e->id, e->name.len);
	CHECK(!e->has_peer_name || e->peer_name.len <= 108, "socket %u: peer name of %zu bytes", e->id,
	      e->peer_name.len);
	CHECK(e->shutdown <= 3, "socket %u: shutdown %u", e->id, e->shutdown);
	CHECK(e->state != TCP_LISTEN || (e->type != SOCK_DGRAM && !e->peer_id && !e->peer_closed && !e->peer_outside),
	      "socket %u: listening, but a datagram socket or connected", e->id);
	CHECK(!e->peer_closed || (!e->peer_id && !e->peer_outside),
	      "socket %u: its peer was closed, yet it names a peer (%u) or one outside the tree", e->id, e->peer_id);
	CHECK(!e->peer_outside || (e->has_peer_name && e->peer_name.len > 0 && !e->peer_id &&
				   e->type == SOCK_DGRAM),
	      "socket %u: connected outside the tree, not a datagram socket with a name to reach", e->id);
	CHECK(e->n_queue <= (1u << 20), "socket %u: %zu queued messages", e->id, e->n_queue);
	CHECK(!e->n_queue_cred || (e->n_queue_cred == e->n_queue && e->passcred),
	      "socket %u: credentials for %zu of %zu queued messages (SO_PASSCRED %s)", e->id, e->n_queue_cred,
	      e->n_queue, e->passcred ? "on" : "off");
	CHECK(!e->n_queue_from || (e->n_queue_from == e->n_queue && e->type != SOCK_STREAM),
	      "socket %u: senders for %zu of %zu queued messages (type %u)", e->id, e->n_queue_from, e->n_queue,
	      e->type);
	for (size_t i = 0; i < e->n_queue_from; i++)
		CHECK(e->queue_from[i].len <= 108, "socket %u: message %zu: sender address of %zu bytes", e->id, i,
		      e->queue_from[i].len);
	/* pid 0: the message came with no credentials (queued before
	 * SO_PASSCRED was on); the kernel shows the overflow uid and gid. */
	for (size_t i = 0; i < e->n_queue_cred; i++)
		CHECK(e->queue_cred[i]->pid < CRL_PID_MAX &&
		      e->queue_cred[i]->uid != (uint32_t)-1 &&
			      e->queue_cred[i]->gid != (uint32_t)-1,
		      "socket %u: message %zu: credentials pid %u uid %u gid %u", e->id, i, e->queue_cred[i]->pid,
		      e->queue_cred[i]->uid, e->queue_cred[i]->gid);
	CHECK(e->rcvtimeo_us <= (1ull << 52) && e->sndtimeo_us <= (1ull << 52),
	      "socket %u: timeouts of %llu and %llu us", e->id, (unsigned long long)e->rcvtimeo_us,
	      (unsigned long long)e->sndtimeo_us);
	CHECK(!e->has_timestamp || e->timestamp == SO_TIMESTAMP_OLD || e->timestamp == SO_TIMESTAMPNS_OLD ||
		      e->timestamp == SO_TIMESTAMP_NEW || e->timestamp == SO_TIMESTAMPNS_NEW,
	      "socket %u: timestamp option %u", e->id, e->timestamp);
	CHECK(!e->has_peek_off || e->peek_off >= 0, "socket %u: SO_PEEK_OFF %d", e->id, e->peek_off);
	CHECK(!e->has_rcvlowat || (e->rcvlowat >= 1 && e->rcvlowat <= INT32_MAX), "socket %u: SO_RCVLOWAT %u",
	      e->id, e->rcvlowat);
	CHECK(!e->detached || (e->has_name && e->name.data[0] && !e->has_vfs_mode),
	      "socket %u: detached without a path name, or with its socket file", e->id);
	CHECK(!e->has_vfs_uid || e->vfs_uid != (uint32_t)-1, "socket %u: socket file owner -1", e->id);
	CHECK(!e->has_vfs_gid || e->vfs_gid != (uint32_t)-1, "socket %u: socket file group -1", e->id);
	CHECK(!e->conn_reset || (e->type == SOCK_STREAM && e->peer_closed),
	      "socket %u: a pending reset on a socket that is not a stream whose peer was closed", e->id);
	return 0;
}
