/*
 * aio-ring: a grandchild holds an AIO context (io_setup), whose ring the
 * kernel maps into it as "/[aio] (deleted)": a mapping criu-lite does not
 * support, so a dump must refuse the tree, naming the task and the range.
 *
 *   root
 *   +-- parent
 *       +-- aio (the AIO ring; a 1 MiB private buffer besides)
 *
 * After vl_wait() the aio task checks that its context still works: it
 * submits a read of a file through it and waits for the completion.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <fcntl.h>
#include <linux/aio_abi.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "victim.h"

#define PG 4096
#define SEED(task) (((uint64_t)(task) + 1) << 48 | 0xa10ULL << 32)

static aio_context_t ctx;
static char *aio_path; /* in the aio task */

static char *own_memory(size_t len, int task)
{
	char *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	if (p == MAP_FAILED)
		vl_die("mmap");
	vl_fill(p, len, SEED(task));
	return p;
}

/* Read the first page of aio.dat through the AIO context. */
static void check_aio(void)
{
	static char buf[PG] __attribute__((aligned(PG)));
	struct iocb cb = { 0 }, *cbs[1] = { &cb };
	struct io_event ev;
	struct timespec timeout = { 10, 0 };
	int fd = open(aio_path, O_RDONLY | O_CLOEXEC);
	long r;

	if (fd < 0) {
		vl_fail("open aio.dat: %m");
		return;
	}
	cb.aio_lio_opcode = IOCB_CMD_PREAD;
	cb.aio_fildes = fd;
	cb.aio_buf = (uintptr_t)buf;
	cb.aio_nbytes = PG;
	cb.aio_data = 0x5eed;
	r = syscall(SYS_io_submit, ctx, 1, cbs);
	if (r != 1) {
		vl_fail("io_submit returned %ld: %m", r);
		goto out;
	}
	r = syscall(SYS_io_getevents, ctx, 1, 1, &ev, &timeout);
	if (r != 1)
		vl_fail("io_getevents returned %ld: %m", r);
	else if (ev.data != 0x5eed || ev.res != PG)
		vl_fail("AIO completion: data %#llx res %lld", (unsigned long long)ev.data, (long long)ev.res);
	else
		vl_expect_fill("aio.dat read through AIO", buf, PG, SEED(9));
out:
	close(fd);
}

static void aio_task(void *arg)
{
	char *p = own_memory(256 * PG, 2);
	char page[PG];
	int fd;

	vl_fill(page, PG, SEED(9));
	aio_path = vl_path("aio.dat");
	fd = open(aio_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0 || write(fd, page, PG) != PG)
		vl_die("write aio.dat");
	close(fd);
	if (syscall(SYS_io_setup, 16, &ctx) < 0)
		vl_die("io_setup");
	vl_log("AIO context %#llx", (unsigned long long)ctx);
	vl_ready();
	vl_wait();
	vl_expect_fill("own memory", p, 256 * PG, SEED(2));
	check_aio();
	syscall(SYS_io_destroy, ctx);
}

static void parent(void *arg)
{
	char *p;

	vl_fork("aio", aio_task, NULL);
	p = own_memory(256 * PG, 1);
	vl_ready();
	vl_wait();
	vl_expect_fill("own memory", p, 256 * PG, SEED(1));
}

int main(int argc, char **argv)
{
	char *p;

	vl_init(argc, argv);
	vl_fork("parent", parent, NULL);
	p = own_memory(256 * PG, 0);
	vl_ready();
	vl_wait();
	vl_expect_fill("own memory", p, 256 * PG, SEED(0));
	vl_exit();
}
