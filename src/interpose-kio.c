/*
 * interpose-kio.c - memory handed to the kernel to use later, or
 * written by calls interpose-io.c does not cover: io_submit (Linux
 * AIO), vmsplice, io_uring_register (registered buffers),
 * process_vm_readv/process_vm_writev (this process's side), mincore.
 *
 * The kernel reaches these pages through get_user_pages, which honours
 * the protection of the mapping: a pending (PROT_NONE) page gives
 * EFAULT, at once (vmsplice, io_uring_register, mincore's vector) or in
 * an AIO completion, and no signal ever reaches the engine (issue 12
 * e, n). Each call here opens the pending pages of its buffers first,
 * as read and write do (interpose-io.c); opened pages of a locked
 * range are locked as the engine locks any opened page, before the
 * kernel takes them.
 *
 * What no interposer can see is in liblockonfault(7), WHAT NO
 * USER-SPACE ENGINE CAN SEE: io_uring requests (their buffers are in
 * the submission ring, and SQPOLL submits without a system call),
 * another process reading us (process_vm_readv from elsewhere), KVM
 * guest memory.
 *
 * The same calls made through syscall() are routed here by
 * kio_syscall(), which interpose-io.c's syscall() calls.
 */
#include "config.h"

#include <errno.h>
#include <linux/aio_abi.h>
#include <fcntl.h>
#include <stdint.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <unistd.h>

#include "arch.h"
#include "engine.h"
#include "interpose.h"
#include "sys.h"

#ifndef SYS_io_uring_setup
#define SYS_io_uring_setup 425
#endif
#ifndef SYS_io_uring_enter
#define SYS_io_uring_enter 426
#endif
#ifndef SYS_io_uring_register
#define SYS_io_uring_register 427
#endif

/* io_uring_register opcodes (linux/io_uring.h) taking buffers. */
#define KIO_REGISTER_BUFFERS		0
#define KIO_REGISTER_BUFFERS2		15
#define KIO_REGISTER_BUFFERS_UPDATE	16
#define KIO_REGISTER_USE_RING		(1U << 31)

/* struct io_uring_rsrc_register and io_uring_rsrc_update2, as the ABI. */
struct kio_rsrc_register {
	uint32_t nr, flags;
	uint64_t resv2, data, tags;
};

struct kio_rsrc_update2 {
	uint32_t offset, resv;
	uint64_t data, tags;
	uint32_t nr, resv2;
};

#define OPEN(p, n) engine_resolve((uintptr_t)(p), (n))

/* The kernel reads at most this many entries of a vector (UIO_MAXIOV). */
#define KIO_MAXIOV 1024

static void open_iov(const struct iovec *iov, unsigned long n)
{
	if (!iov)
		return;
	OPEN(iov, (n < KIO_MAXIOV ? n : KIO_MAXIOV) * sizeof(*iov));
	for (unsigned long i = 0; i < n && i < KIO_MAXIOV; i++)
		OPEN(iov[i].iov_base, iov[i].iov_len);
}

static void open_iocbs(struct iocb **v, long n)
{
	if (!v || n <= 0)
		return;
	OPEN(v, (size_t)n * sizeof(*v));
	for (long i = 0; i < n; i++) {
		struct iocb *cb = v[i];

		if (!cb)
			continue;
		OPEN(cb, sizeof(*cb));
		switch (cb->aio_lio_opcode) {
		case IOCB_CMD_PREAD:
		case IOCB_CMD_PWRITE:
			OPEN((uintptr_t)cb->aio_buf, cb->aio_nbytes);
			break;
		case IOCB_CMD_PREADV:
		case IOCB_CMD_PWRITEV:
			open_iov((const struct iovec *)(uintptr_t)cb->aio_buf,
				 cb->aio_nbytes);
			break;
		}
	}
}

static void open_uring_register(unsigned int op, void *arg,
				unsigned int nr)
{
	op &= ~KIO_REGISTER_USE_RING;
	if (op == KIO_REGISTER_BUFFERS) {
		open_iov(arg, nr);
	} else if (op == KIO_REGISTER_BUFFERS2 && arg) {
		const struct kio_rsrc_register *r = arg;

		OPEN(r, sizeof(*r));
		open_iov((const struct iovec *)(uintptr_t)r->data, r->nr);
	} else if (op == KIO_REGISTER_BUFFERS_UPDATE && arg) {
		const struct kio_rsrc_update2 *u = arg;

		OPEN(u, sizeof(*u));
		open_iov((const struct iovec *)(uintptr_t)u->data, u->nr);
	}
}

/* Open the buffers of a system call about to be made. */
void kio_syscall(long nr, const long *a)
{
	switch (nr) {
	case SYS_io_submit:
		open_iocbs((struct iocb **)a[2], a[1]);
		break;
	case SYS_vmsplice:
		open_iov((const struct iovec *)a[1], (unsigned long)a[2]);
		break;
	case SYS_io_uring_register:
		open_uring_register((unsigned int)a[1], (void *)a[2],
				    (unsigned int)a[3]);
		break;
	case SYS_process_vm_readv:
	case SYS_process_vm_writev:
		/* Ours: the local vector; the remote one too if it is us. */
		open_iov((const struct iovec *)a[1], (unsigned long)a[2]);
		if (a[0] == getpid())
			open_iov((const struct iovec *)a[3],
				 (unsigned long)a[4]);
		else
			OPEN(a[3], (size_t)a[4] * sizeof(struct iovec));
		break;
	case SYS_io_uring_enter:
		uring_enter(a[0], a[1], a[3]);
		break;
	case SYS_mincore:
		/* One byte per page of [a[0], a[0] + a[1]). */
		OPEN(a[2], ((size_t)a[1] + lof_page_size - 1) / lof_page_size);
		break;
	}
}

void kio_syscall_done(long nr, const long *a, long r)
{
	if (nr == SYS_io_uring_setup && r >= 0)
		uring_setup_done(r, (const void *)a[1]);
}

static long kio_call(long nr, long a0, long a1, long a2, long a3, long a4,
		     long a5)
{
	long a[6] = { a0, a1, a2, a3, a4, a5 };
	long r;

	kio_syscall(nr, a);
	r = arch_syscall6(nr, a0, a1, a2, a3, a4, a5);
	if (r < 0 && r > -4096) {
		errno = (int)-r;
		return -1;
	}
	return r;
}

/*
 * libaio's io_submit (a system call stub in libaio.so, which programs
 * link) and glibc's vmsplice, process_vm_*, mincore: ours come first.
 * libaio's returns -errno rather than setting errno: so does ours.
 */
int io_submit(aio_context_t ctx, long n, struct iocb **v);

LOF_EXPORT int io_submit(aio_context_t ctx, long n, struct iocb **v)
{
	long a[6] = { (long)ctx, n, (long)v, 0, 0, 0 };

	kio_syscall(SYS_io_submit, a);
	return (int)arch_syscall6(SYS_io_submit, (long)ctx, n, (long)v, 0, 0, 0);
}

LOF_EXPORT ssize_t vmsplice(int fd, const struct iovec *iov, size_t n,
			    unsigned int flags)
{
	return kio_call(SYS_vmsplice, fd, (long)iov, (long)n, flags, 0, 0);
}

LOF_EXPORT ssize_t process_vm_readv(pid_t pid, const struct iovec *l,
				    unsigned long ln, const struct iovec *r,
				    unsigned long rn, unsigned long flags)
{
	return kio_call(SYS_process_vm_readv, pid, (long)l, (long)ln,
			(long)r, (long)rn, (long)flags);
}

LOF_EXPORT ssize_t process_vm_writev(pid_t pid, const struct iovec *l,
				     unsigned long ln, const struct iovec *r,
				     unsigned long rn, unsigned long flags)
{
	return kio_call(SYS_process_vm_writev, pid, (long)l, (long)ln,
			(long)r, (long)rn, (long)flags);
}

LOF_EXPORT int mincore(void *addr, size_t len, unsigned char *vec)
{
	return (int)kio_call(SYS_mincore, (long)addr, (long)len, (long)vec,
			     0, 0, 0);
}
