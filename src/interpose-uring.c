/*
 * interpose-uring.c - the buffers of io_uring requests.
 *
 * An io_uring request names its buffer in a submission queue entry
 * (SQE) the program writes into memory it shares with the kernel; the
 * kernel reads the SQEs at io_uring_enter and touches the buffers then
 * or later, from a worker. A pending buffer completes with -EFAULT,
 * and no signal comes. So the library keeps, for each ring the
 * program sets up (io_uring_setup through syscall(), as liburing makes
 * it), where its submission ring and SQEs are mapped (the program's
 * mmap of the ring's fd, seen by our mmap), and at each io_uring_enter
 * that submits it opens the buffers of the SQEs between the kernel's
 * head and the program's tail, as read and write open theirs.
 *
 * Read only through process_vm_readv on ourselves (peek), so a ring
 * the program unmapped behind our back costs an error, never a fault.
 *
 * Out of reach, documented in liblockonfault(7): rings with
 * IORING_SETUP_SQPOLL (a kernel thread reads SQEs with no system call),
 * IORING_SETUP_NO_MMAP (the program's own memory), io_uring_enter with
 * IORING_ENTER_REGISTERED_RING (an index, not an fd), and buffer rings
 * (IORING_REGISTER_PBUF_RING) filled without a system call.
 */
#include "config.h"

#include <errno.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/uio.h>

#include "arch.h"
#include "engine.h"
#include "interpose.h"
#include "region.h"
#include "sys.h"

#ifndef SYS_io_uring_setup
#define SYS_io_uring_setup 425
#endif
#ifndef SYS_io_uring_enter
#define SYS_io_uring_enter 426
#endif

/* The ABI of linux/io_uring.h, which older headers lack parts of. */
#define U_SETUP_SQPOLL		(1U << 1)
#define U_SETUP_SQE128		(1U << 10)
#define U_SETUP_NO_MMAP		(1U << 14)
#define U_SETUP_NO_SQARRAY	(1U << 16)
#define U_ENTER_REGISTERED_RING	(1U << 4)
#define U_OFF_SQ_RING		0x0UL
#define U_OFF_SQES		0x10000000UL

enum {
	U_OP_READV = 1, U_OP_WRITEV = 2, U_OP_SENDMSG = 9, U_OP_RECVMSG = 10,
	U_OP_READ = 22, U_OP_WRITE = 23, U_OP_SEND = 26, U_OP_RECV = 27,
	U_OP_PROVIDE_BUFFERS = 31,
};

struct u_sqring_offsets {
	uint32_t head, tail, ring_mask, ring_entries, flags, dropped, array;
	uint32_t resv1;
	uint64_t resv2;
};

struct u_cqring_offsets {
	uint32_t head, tail, ring_mask, ring_entries, overflow, cqes, flags;
	uint32_t resv1;
	uint64_t resv2;
};

struct u_params {
	uint32_t sq_entries, cq_entries, flags, sq_thread_cpu, sq_thread_idle;
	uint32_t features, wq_fd, resv[3];
	struct u_sqring_offsets sq_off;
	struct u_cqring_offsets cq_off;
};

/* The first bytes of an SQE, all we read. */
struct u_sqe {
	uint8_t opcode, flags;
	uint16_t ioprio;
	int32_t fd;
	uint64_t off, addr;
	uint32_t len;
};

struct ring {
	int fd;			/* -1: free */
	uint32_t flags, entries, sqe_size;
	struct u_sqring_offsets sq_off;
	uintptr_t sq, sqes;	/* where the program mapped them, or 0 */
};

#define NRINGS 16
static struct ring rings[NRINGS] = { [0 ... NRINGS - 1] = { .fd = -1 } };
static int ring_lock;	/* a spin lock: setup and mmap are rare */

static void lock(void)
{
	while (__atomic_exchange_n(&ring_lock, 1, __ATOMIC_ACQUIRE))
		sys_sched_yield();
}

static void unlock(void)
{
	__atomic_store_n(&ring_lock, 0, __ATOMIC_RELEASE);
}

static long peek(void *dst, uintptr_t src, size_t len)
{
	struct iovec local = { dst, len }, remote = { (void *)src, len };
	long n = arch_syscall6(SYS_process_vm_readv, sys_getpid(),
			       (long)&local, 1, (long)&remote, 1, 0);

	return n == (long)len ? 0 : -EFAULT;
}

static int active(void)
{
	return lof_mode == LOF_MODE_SIGSEGV && region_count(&lof_regions);
}

void uring_setup_done(long fd, const void *params)
{
	struct u_params p;
	struct ring *r = NULL;

	if (fd < 0 || lof_mode != LOF_MODE_SIGSEGV ||
	    peek(&p, (uintptr_t)params, sizeof(p)))
		return;
	lock();
	for (int i = 0; i < NRINGS; i++)
		if (rings[i].fd == fd || (!r && rings[i].fd < 0))
			r = &rings[i];
	if (r) {
		r->fd = (int)fd;
		r->flags = p.flags;
		r->entries = p.sq_entries;
		r->sqe_size = p.flags & U_SETUP_SQE128 ? 128 : 64;
		r->sq_off = p.sq_off;
		r->sq = r->sqes = 0;
	}
	unlock();
}

void uring_mmap_done(long addr, int fd, long off)
{
	if (fd < 0 || lof_mode != LOF_MODE_SIGSEGV ||
	    (addr < 0 && addr > -4096) ||
	    ((unsigned long)off != U_OFF_SQ_RING &&
	     (unsigned long)off != U_OFF_SQES))
		return;
	lock();
	for (int i = 0; i < NRINGS; i++) {
		if (rings[i].fd != fd)
			continue;
		if ((unsigned long)off == U_OFF_SQES)
			rings[i].sqes = (uintptr_t)addr;
		else
			rings[i].sq = (uintptr_t)addr;
	}
	unlock();
}

static void open_sqe(const struct u_sqe *e)
{
	switch (e->opcode) {
	case U_OP_READ:
	case U_OP_WRITE:
	case U_OP_SEND:
	case U_OP_RECV:
		engine_resolve(e->addr, e->len);
		break;
	case U_OP_READV:
	case U_OP_WRITEV: {
		struct iovec v[64];
		uint32_t n = e->len < 64 ? e->len : 64;

		engine_resolve(e->addr, (size_t)e->len * sizeof(*v));
		if (peek(v, e->addr, n * sizeof(*v)))
			break;
		for (uint32_t i = 0; i < n; i++)
			engine_resolve((uintptr_t)v[i].iov_base, v[i].iov_len);
		break;
	}
	case U_OP_SENDMSG:
	case U_OP_RECVMSG: {
		struct msghdr m;
		struct iovec v[64];
		size_t n;

		engine_resolve(e->addr, sizeof(m));
		if (peek(&m, e->addr, sizeof(m)))
			break;
		engine_resolve((uintptr_t)m.msg_name, m.msg_namelen);
		engine_resolve((uintptr_t)m.msg_control, m.msg_controllen);
		n = m.msg_iovlen < 64 ? m.msg_iovlen : 64;
		engine_resolve((uintptr_t)m.msg_iov,
			       m.msg_iovlen * sizeof(*v));
		if (peek(v, (uintptr_t)m.msg_iov, n * sizeof(*v)))
			break;
		for (size_t i = 0; i < n; i++)
			engine_resolve((uintptr_t)v[i].iov_base, v[i].iov_len);
		break;
	}
	case U_OP_PROVIDE_BUFFERS:
		/* fd buffers of len bytes each, from addr. */
		engine_resolve(e->addr, (size_t)e->len * (uint32_t)e->fd);
		break;
	}
}

void uring_enter(long fd, long to_submit, long flags)
{
	struct ring r = { .fd = -1 };
	uint32_t head, tail, mask;

	if (to_submit <= 0 || (flags & U_ENTER_REGISTERED_RING) || !active())
		return;
	lock();
	for (int i = 0; i < NRINGS; i++)
		if (rings[i].fd == fd)
			r = rings[i];
	unlock();
	if (r.fd < 0 || !r.sqes || (r.flags & (U_SETUP_SQPOLL |
					       U_SETUP_NO_MMAP)))
		return;
	if (!r.sq)
		return;
	if (peek(&head, r.sq + r.sq_off.head, sizeof(head)) ||
	    peek(&tail, r.sq + r.sq_off.tail, sizeof(tail)) ||
	    peek(&mask, r.sq + r.sq_off.ring_mask, sizeof(mask)))
		return;
	for (uint32_t i = 0; head != tail && i < (uint32_t)to_submit &&
	     i < r.entries; i++, head++) {
		uint32_t idx = head & mask;
		struct u_sqe e;

		if (!(r.flags & U_SETUP_NO_SQARRAY) &&
		    peek(&idx, r.sq + r.sq_off.array +
				   (head & mask) * sizeof(uint32_t),
			 sizeof(idx)))
			return;
		if (idx >= r.entries ||
		    peek(&e, r.sqes + (uintptr_t)idx * r.sqe_size, sizeof(e)))
			continue;
		open_sqe(&e);
	}
}
