/*
 * t-kernelio.c - memory the kernel uses outside the program's own
 * read and write calls, in pending pages (issue 12 n).
 *
 * Each case runs twice in a forked child: with the kernel's own calls
 * only (raw mlock2(MLOCK_ONFAULT), or plain mlock where the kernel has
 * no ONFAULT; the library keeps out of ranges it never saw locked),
 * and through libc, the library preloaded. The buffer lies in a locked
 * range nobody touched: pending under the sigsegv engine. Compared:
 * the call's result and errno, the data that went through, and the
 * buffer's pages afterwards (present and mlocked, kpageflags).
 *
 * Cases the library fixes (its interposers open the buffers first):
 *   io_submit PREAD, PWRITE, PREADV (vector in a pending page too),
 *   made through syscall() as libaio-less programs do;
 *   vmsplice into a pipe; io_uring_register(IORING_REGISTER_BUFFERS)
 *   and IORING_REGISTER_BUFFERS2; process_vm_readv and
 *   process_vm_writev with this process's own vector pending.
 *   an io_uring IORING_OP_READ, and READV with its vector pending,
 *   submitted with io_uring_enter through syscall() on a ring the
 *   program mapped with mmap (the SQEs are read at io_uring_enter).
 * Cases no interposer sees, checked against what liblockonfault(7)
 * says of them (WHAT NO USER-SPACE ENGINE CAN SEE):
 *   an IORING_OP_READ on an IORING_SETUP_SQPOLL ring (its kernel
 *   thread reads the SQEs with no system call): as the kernel under
 *   the kernel's flags, -EFAULT under sigsegv;
 *   another process reading us with process_vm_readv: as the kernel
 *   under the kernel's flags; EFAULT under sigsegv (documented);
 *   another process reading /proc/PID/mem: the kernel's FOLL_FORCE
 *   reads PROT_NONE pages, so it gets the data under every engine.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <fcntl.h>
#include <linux/aio_abi.h>
#include <linux/io_uring.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <unistd.h>

#include "probe.h"
#include "tap.h"

#define NB 4			/* pages of a buffer */

struct outcome {
	int done;
	long rc;
	int err;
	int data_ok;
	int locked;		/* buffer pages present and mlocked */
	int present;
	char note[160];
};

static size_t pg;
static int ref_onfault;
static int lib;			/* this run goes through the library */
static int datafd;		/* NB pages of known data (data_file) */

static void fill(unsigned char *b, size_t n, int salt)
{
	for (size_t i = 0; i < n; i++)
		b[i] = (unsigned char)(i * 7 + salt + (i >> 12));
}

static int check(const unsigned char *b, size_t n, int salt)
{
	for (size_t i = 0; i < n; i++)
		if (b[i] != (unsigned char)(i * 7 + salt + (i >> 12)))
			return 0;
	return 1;
}

static int lock(const void *a, size_t l)
{
	if (lib)
		return mlock2(a, l, MLOCK_ONFAULT);
	if (ref_onfault)
		return probe_sys_mlock2(a, l, MLOCK_ONFAULT);
	return probe_sys_mlock(a, l);
}

static void *map_anon(size_t len)
{
	return lib ? mmap(NULL, len, PROT_READ | PROT_WRITE,
			  MAP_PRIVATE | MAP_ANONYMOUS, -1, 0)
		   : probe_sys_mmap(NULL, len, PROT_READ | PROT_WRITE,
				    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
}

/*
 * A locked buffer of NB pages nobody touched: zeros (for the kernel to
 * write into), or the data file's pages, salt 1 (for it to read).
 */
static unsigned char *buffer(int with_data, struct outcome *o)
{
	unsigned char *b;

	if (with_data)
		b = lib ? mmap(NULL, NB * pg, PROT_READ | PROT_WRITE,
			       MAP_PRIVATE, datafd, 0)
			: probe_sys_mmap(NULL, NB * pg, PROT_READ | PROT_WRITE,
					 MAP_PRIVATE, datafd, 0);
	else
		b = map_anon(NB * pg);
	if (b == MAP_FAILED || lock(b, NB * pg)) {
		snprintf(o->note, sizeof(o->note), "buffer: %s",
			 strerror(errno));
		return NULL;
	}
	return b;
}

static void pages(const unsigned char *b, struct outcome *o)
{
	for (int i = 0; i < NB; i++) {
		struct probe_page st;

		/* A present page's flags read once more if not yet mlocked. */
		for (int t = 0; t < 3; t++) {
			probe_page_state(b + i * pg, &st);
			if (st.present != 1 || st.mlocked == 1)
				break;
			usleep(10000);
		}
		o->present += st.present == 1;
		o->locked += st.present == 1 && st.mlocked == 1;
	}
}

static void result(struct outcome *o, long rc)
{
	o->rc = rc;
	o->err = rc < 0 ? errno : 0;
}

/* ---- Linux AIO, through syscall() ---- */

static void aio(struct outcome *o, int op)
{
	aio_context_t ctx = 0;
	struct iocb cb, *cbs[1] = { &cb };
	struct io_event ev;
	unsigned char *b = buffer(op == IOCB_CMD_PWRITE, o), *vb = NULL;
	unsigned char check_buf[NB * 4096];
	int fd = -1;

	if (!b)
		return;
	if (syscall(SYS_io_setup, 4, &ctx)) {
		snprintf(o->note, sizeof(o->note), "io_setup: %s",
			 strerror(errno));
		return;
	}
	memset(&cb, 0, sizeof(cb));
	cb.aio_lio_opcode = (uint16_t)op;
	if (op == IOCB_CMD_PWRITE) {
		fd = probe_memfd("t-kernelio-out", NB * pg);
		cb.aio_fildes = (uint32_t)fd;
		cb.aio_buf = (uintptr_t)b;
		cb.aio_nbytes = NB * pg;
	} else if (op == IOCB_CMD_PREAD) {
		cb.aio_fildes = (uint32_t)datafd;
		cb.aio_buf = (uintptr_t)b;
		cb.aio_nbytes = NB * pg;
	} else {
		/* The vector itself in a pending page, two buffers. */
		struct iovec *iov;

		vb = buffer(0, o);
		if (!vb)
			return;
		iov = (struct iovec *)(vb + pg);
		iov[0].iov_base = b;		/* writes open vb's page */
		iov[0].iov_len = 2 * pg;
		iov[1].iov_base = b + 2 * pg;
		iov[1].iov_len = 2 * pg;
		cb.aio_fildes = (uint32_t)datafd;
		cb.aio_buf = (uintptr_t)iov;
		cb.aio_nbytes = 2;
	}
	result(o, syscall(SYS_io_submit, ctx, 1L, cbs));
	if (o->rc == 1) {
		if (syscall(SYS_io_getevents, ctx, 1L, 1L, &ev, NULL) != 1) {
			snprintf(o->note, sizeof(o->note), "io_getevents: %s",
				 strerror(errno));
			return;
		}
		o->rc = (long)ev.res;	/* bytes, or -errno */
	}
	pages(b, o);
	if (op == IOCB_CMD_PWRITE)
		o->data_ok = pread(fd, check_buf, NB * pg, 0) ==
				     (ssize_t)(NB * pg) &&
			     check(check_buf, NB * pg, 1);
	else
		o->data_ok = check(b, NB * pg, 1);
	syscall(SYS_io_destroy, ctx);
	o->done = 1;
}

static void c_aio_pread(struct outcome *o) { aio(o, IOCB_CMD_PREAD); }
static void c_aio_pwrite(struct outcome *o) { aio(o, IOCB_CMD_PWRITE); }
static void c_aio_preadv(struct outcome *o) { aio(o, IOCB_CMD_PREADV); }

/* ---- vmsplice ---- */

static void c_vmsplice(struct outcome *o)
{
	unsigned char *b = buffer(1, o);
	unsigned char got[NB * 4096];
	struct iovec iov;
	int p[2];
	size_t have = 0;

	if (!b || pipe(p) || fcntl(p[1], F_SETPIPE_SZ, 1 << 20) < 0)
		return;
	iov.iov_base = b;
	iov.iov_len = NB * pg;
	result(o, vmsplice(p[1], &iov, 1, 0));
	close(p[1]);
	while (o->rc > 0 && have < NB * pg) {
		ssize_t n = read(p[0], got + have, NB * pg - have);

		if (n <= 0)
			break;
		have += (size_t)n;
	}
	pages(b, o);
	o->data_ok = have == NB * pg && check(got, NB * pg, 1);
	o->done = 1;
}

/* ---- io_uring ---- */

static int uring_setup(struct io_uring_params *pr, unsigned int flags)
{
	memset(pr, 0, sizeof(*pr));
	pr->flags = flags;
	pr->sq_thread_idle = 2000;	/* ms */
	return (int)syscall(SYS_io_uring_setup, 4, pr);
}

static void uring_register(struct outcome *o, int two)
{
	struct io_uring_params pr;
	unsigned char *b = buffer(0, o);
	struct iovec iov;
	int fd;

	if (!b)
		return;
	fd = uring_setup(&pr, 0);
	if (fd < 0) {
		snprintf(o->note, sizeof(o->note), "io_uring_setup: %s",
			 strerror(errno));
		o->done = 2;	/* not available */
		return;
	}
	iov.iov_base = b;
	iov.iov_len = NB * pg;
	if (two) {
		struct io_uring_rsrc_register r;

		memset(&r, 0, sizeof(r));
		r.nr = 1;
		r.data = (uintptr_t)&iov;
		result(o, syscall(SYS_io_uring_register, fd,
				  IORING_REGISTER_BUFFERS2, &r, sizeof(r)));
	} else {
		result(o, syscall(SYS_io_uring_register, fd,
				  IORING_REGISTER_BUFFERS, &iov, 1));
	}
	pages(b, o);
	o->data_ok = 1;
	close(fd);
	o->done = 1;
}

static void c_uring_buffers(struct outcome *o) { uring_register(o, 0); }
static void c_uring_buffers2(struct outcome *o) { uring_register(o, 1); }

/*
 * One IORING_OP_READ (or READV, its vector in a pending page too) into
 * a pending buffer, submitted with io_uring_enter.
 */
static void uring_read(struct outcome *o, int vec, unsigned int setup)
{
	struct io_uring_params pr;
	unsigned char *b = buffer(0, o), *sq, *cq;
	struct io_uring_sqe *sqes;
	struct io_uring_cqe *cqe;
	unsigned int *tail, *array, *ctail, *chead;
	int fd;

	if (!b)
		return;
	fd = uring_setup(&pr, setup);
	if (fd < 0) {
		snprintf(o->note, sizeof(o->note), "io_uring_setup: %s",
			 strerror(errno));
		o->done = 2;
		return;
	}
	sq = mmap(NULL, pr.sq_off.array + pr.sq_entries * sizeof(unsigned),
		  PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, fd,
		  IORING_OFF_SQ_RING);
	cq = mmap(NULL, pr.cq_off.cqes + pr.cq_entries * sizeof(*cqe),
		  PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, fd,
		  IORING_OFF_CQ_RING);
	sqes = mmap(NULL, pr.sq_entries * sizeof(*sqes),
		    PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, fd,
		    IORING_OFF_SQES);
	if (sq == MAP_FAILED || cq == MAP_FAILED || sqes == MAP_FAILED)
		return;
	memset(&sqes[0], 0, sizeof(sqes[0]));
	sqes[0].opcode = IORING_OP_READ;
	sqes[0].fd = datafd;
	sqes[0].addr = (uintptr_t)b;
	sqes[0].len = (uint32_t)(NB * pg);
	sqes[0].off = 0;
	if (vec) {
		unsigned char *vb = buffer(0, o);
		struct iovec *iov;

		if (!vb)
			return;
		iov = (struct iovec *)(vb + 2 * pg);
		iov[0].iov_base = b;		/* writes open vb's page */
		iov[0].iov_len = pg;
		iov[1].iov_base = b + pg;
		iov[1].iov_len = (NB - 1) * pg;
		sqes[0].opcode = IORING_OP_READV;
		sqes[0].addr = (uintptr_t)iov;
		sqes[0].len = 2;
	}
	array = (unsigned int *)(sq + pr.sq_off.array);
	tail = (unsigned int *)(sq + pr.sq_off.tail);
	array[*tail & *(unsigned int *)(sq + pr.sq_off.ring_mask)] = 0;
	__atomic_store_n(tail, *tail + 1, __ATOMIC_RELEASE);
	if (syscall(SYS_io_uring_enter, fd, 1, 1, IORING_ENTER_GETEVENTS |
		    (setup & IORING_SETUP_SQPOLL ? IORING_ENTER_SQ_WAKEUP : 0),
		    NULL, 0) < 0) {
		result(o, -1);
	} else {
		chead = (unsigned int *)(cq + pr.cq_off.head);
		ctail = (unsigned int *)(cq + pr.cq_off.tail);
		cqe = (struct io_uring_cqe *)(cq + pr.cq_off.cqes);
		if (__atomic_load_n(ctail, __ATOMIC_ACQUIRE) == *chead) {
			snprintf(o->note, sizeof(o->note), "no completion");
			return;
		}
		o->rc = cqe[*chead & *(unsigned int *)(cq +
				pr.cq_off.ring_mask)].res;
		o->err = 0;
	}
	pages(b, o);
	o->data_ok = o->rc == (long)(NB * pg) && check(b, NB * pg, 1);
	close(fd);
	o->done = 1;
}

static void c_uring_read(struct outcome *o) { uring_read(o, 0, 0); }
static void c_uring_readv(struct outcome *o) { uring_read(o, 1, 0); }
static void c_uring_sqpoll(struct outcome *o)
{
	uring_read(o, 0, IORING_SETUP_SQPOLL);
}

/* ---- process_vm_readv / writev ---- */

static void pvm(struct outcome *o, int write)
{
	unsigned char *b = buffer(write, o);
	unsigned char other[NB * 4096];
	struct iovec l, r;

	if (!b)
		return;
	if (!write)
		fill(other, NB * pg, 1);
	l.iov_base = b;
	l.iov_len = NB * pg;
	r.iov_base = other;
	r.iov_len = NB * pg;
	if (write)
		result(o, process_vm_writev(getpid(), &l, 1, &r, 1, 0));
	else
		result(o, process_vm_readv(getpid(), &l, 1, &r, 1, 0));
	pages(b, o);
	o->data_ok = check(write ? other : b, NB * pg, 1);
	o->done = 1;
}

static void c_pvm_readv(struct outcome *o) { pvm(o, 0); }
static void c_pvm_writev(struct outcome *o) { pvm(o, 1); }

/* Another process (a child) reads our pending buffer. */
static void from_outside(struct outcome *o, int procmem)
{
	unsigned char *b = buffer(1, o);
	struct outcome *c;
	pid_t self = getpid(), pid;
	int st;

	if (!b)
		return;
	c = probe_sys_mmap(NULL, sizeof(*c) + NB * pg, PROT_READ | PROT_WRITE,
			   MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (c == MAP_FAILED)
		return;
	pid = fork();
	if (pid == 0) {
		unsigned char *got = (unsigned char *)(c + 1);

		if (procmem) {
			char path[64];
			int fd;

			snprintf(path, sizeof(path), "/proc/%d/mem",
				 (int)self);
			fd = open(path, O_RDONLY);
			c->rc = fd < 0 ? -1 :
				pread(fd, got, NB * pg, (off_t)(uintptr_t)b);
		} else {
			struct iovec l = { got, NB * pg }, r = { b, NB * pg };

			c->rc = syscall(SYS_process_vm_readv, self, &l, 1L,
					&r, 1L, 0L);
		}
		c->err = c->rc < 0 ? errno : 0;
		c->data_ok = c->rc == (long)(NB * pg) &&
			     check(got, NB * pg, 1);
		_exit(0);
	}
	if (pid < 0 || waitpid(pid, &st, 0) != pid)
		return;
	o->rc = c->rc;
	o->err = c->err;
	o->data_ok = c->data_ok;
	pages(b, o);
	o->done = 1;
}

static void c_outside_pvm(struct outcome *o) { from_outside(o, 0); }
static void c_outside_procmem(struct outcome *o) { from_outside(o, 1); }

/* ---- the table ---- */

enum expect {
	SAME,		/* as the kernel, under every engine */
	DOC_EFAULT,	/* sigsegv: the documented EFAULT */
};

static const struct kcase {
	const char *name;
	void (*fn)(struct outcome *);
	enum expect sigsegv;
	int locks;	/* the buffer's pages end locked, as the kernel's */
} cases[] = {
	{ "io_submit PREAD into a pending buffer", c_aio_pread, SAME, 1 },
	{ "io_submit PWRITE from a pending buffer", c_aio_pwrite, SAME, 1 },
	{ "io_submit PREADV, vector and buffers pending", c_aio_preadv,
	  SAME, 1 },
	{ "vmsplice from a pending buffer", c_vmsplice, SAME, 1 },
	{ "io_uring_register BUFFERS of a pending buffer", c_uring_buffers,
	  SAME, 1 },
	{ "io_uring_register BUFFERS2 of a pending buffer", c_uring_buffers2,
	  SAME, 1 },
	{ "process_vm_readv into our own pending buffer", c_pvm_readv, SAME,
	  1 },
	{ "process_vm_writev from our own pending buffer", c_pvm_writev,
	  SAME, 1 },
	{ "io_uring IORING_OP_READ into a pending buffer", c_uring_read,
	  SAME, 1 },
	{ "io_uring IORING_OP_READV, vector and buffer pending",
	  c_uring_readv, SAME, 1 },
	{ "io_uring IORING_OP_READ on an SQPOLL ring", c_uring_sqpoll,
	  DOC_EFAULT, 1 },
	{ "another process's process_vm_readv of a pending buffer",
	  c_outside_pvm, DOC_EFAULT, 0 },
	{ "another process reading /proc/PID/mem of a pending buffer",
	  c_outside_procmem, SAME, 1 },
};

#define NCASES (sizeof(cases) / sizeof(cases[0]))

struct job {
	const struct kcase *c;
	struct outcome *o;
	int lib;
};

/*
 * NB pages of known data in a memfd of this run's own: page cache pages
 * shared with the other run would let its exit's deferred munlock clear
 * the mlocked flag this run just set (the kernel's mlock_count is
 * approximate across processes).
 */
static int data_file(void)
{
	unsigned char *data = malloc(NB * pg);
	int fd = probe_memfd("t-kernelio", NB * pg);

	if (fd < 0 || !data)
		return -1;
	fill(data, NB * pg, 1);
	if (pwrite(fd, data, NB * pg, 0) != (ssize_t)(NB * pg))
		fd = -1;
	free(data);
	return fd;
}

static void run_job(void *arg)
{
	struct job *j = arg;

	lib = j->lib;
	datafd = data_file();
	if (datafd < 0) {
		snprintf(j->o->note, sizeof(j->o->note), "data file: %s",
			 strerror(errno));
		return;
	}
	j->c->fn(j->o);
}

int main(void)
{
	struct outcome *o;
	char buf[64];
	int sigsegv;

	probe_require_preloaded();
	pg = probe_page_size();
	if (pg > 4096)
		bail("the buffers here assume 4 KiB pages");
	ref_onfault = probe_kernel_onfault();
	sigsegv = !probe_native();
	plan((int)(2 * NCASES));
	diag("engine %s, reference: the kernel's %s", probe_engine(),
	     ref_onfault ? "mlock2(MLOCK_ONFAULT)" : "mlock (no ONFAULT)");

	o = probe_sys_mmap(NULL, 2 * sizeof(*o), PROT_READ | PROT_WRITE,
			   MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (o == MAP_FAILED)
		bail("mmap of the outcome area");

	for (size_t i = 0; i < NCASES; i++) {
		const struct kcase *c = &cases[i];
		struct job kj = { c, &o[0], 0 }, lj = { c, &o[1], 1 };
		const struct outcome *a = &o[0], *b = &o[1];
		int s1, s2, doc;

		memset(o, 0, 2 * sizeof(*o));
		s1 = probe_fork(run_job, &kj);
		s2 = probe_fork(run_job, &lj);
		if (!WIFEXITED(s1) || WEXITSTATUS(s1) || !WIFEXITED(s2) ||
		    WEXITSTATUS(s2) || !a->done || !b->done) {
			ok(0, "%s: runs: kernel %s (%s), library %s (%s)",
			   c->name, probe_status_str(s1, buf, 32), a->note,
			   probe_status_str(s2, buf + 32, 32), b->note);
			skip(1, "a run failed");
			continue;
		}
		if (a->done == 2) {
			diag("%s: %s", c->name, a->note);
			skip(2, "the kernel does not offer it here");
			continue;
		}
		doc = sigsegv && c->sigsegv == DOC_EFAULT;
		if (!doc) {
			ok(a->rc == b->rc && a->err == b->err &&
			   a->data_ok == b->data_ok && b->data_ok,
			   "%s: result and data as the kernel (%ld)", c->name,
			   a->rc);
		} else {
			/* The kernel never saw a PROT_NONE page there. */
			ok(a->data_ok && !b->data_ok &&
			   (b->rc == -EFAULT || (b->rc < 0 && b->err == EFAULT)),
			   "%s: EFAULT under the sigsegv engine, as "
			   "documented (kernel %ld, library %ld errno %d)",
			   c->name, a->rc, b->rc, b->err);
		}
		if (c->locks && !doc)
			ok(b->present == a->present && b->locked == a->locked,
			   "%s: buffer pages present %d and locked %d, the "
			   "kernel's %d and %d", c->name, b->present,
			   b->locked, a->present, a->locked);
		else
			skip(1, doc ? "locked state: documented divergence" :
				      "locked state: nothing mapped there");
	}
	return done();
}
