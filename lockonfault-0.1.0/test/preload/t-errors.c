/*
 * t-errors.c - return values and errno exactly as the kernel gives them.
 *
 * Each case makes one call (with its own fresh mappings) and records the
 * return value, errno and, where it matters, one observation of what the
 * call did (e.g. whether the part before a hole was locked anyway). The
 * program re-executes itself with "--native" and without LD_PRELOAD to
 * get the bare kernel's answers, and every case must match them under
 * the library. The known kernel rules (research/kernel-semantics.md) are
 * kept beside each case; a kernel that disagrees with them is reported
 * as a diagnostic, and the kernel wins.
 *
 * Except on a kernel without lock-on-fault (Linux 4.3, or the seccomp
 * filter of test/sim43/lof-kernel43, which every process of the test
 * inherits, the bare run included): there the library must answer as a
 * 4.4+ kernel, not as this one, so the rules are the reference, and a
 * rule that depends on the page size is computed at run time.
 *
 * Cases: zero lengths, unmapped ranges, holes (with partial application),
 * wrapping ranges and the length that overflows to 0, unknown mlock2 and
 * mlockall flags, PROT_NONE and past-EOF file mappings, munmap, mprotect,
 * madvise, mmap(MAP_LOCKED) and mremap misuse, RLIMIT_MEMLOCK without
 * CAP_IPC_LOCK (a forked child that becomes nobody), repeated locks not
 * charged twice, and errno left untouched by successful calls.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include "probe.h"
#include "tap.h"

struct res {
	long ret;
	int err;
	long extra;
};

static size_t pg;
static char scratch[4096];

static const char *ename(int e)
{
	static char buf[4][16];
	static int k;

	switch (e) {
	case 0:
		return "0";
	case EPERM:
		return "EPERM";
	case ENOMEM:
		return "ENOMEM";
	case EINVAL:
		return "EINVAL";
	case EAGAIN:
		return "EAGAIN";
	case EFAULT:
		return "EFAULT";
	case ENOSYS:
		return "ENOSYS";
	}
	k = (k + 1) % 4;
	snprintf(buf[k], sizeof(buf[k]), "E%d", e);
	return buf[k];
}

static void set(struct res *r, long ret)
{
	r->err = ret == -1 ? errno : 0;
	r->ret = ret;
}

static char *map(size_t npages, int prot)
{
	char *p = mmap(NULL, npages * pg, prot, MAP_PRIVATE | MAP_ANONYMOUS,
		       -1, 0);

	if (p == MAP_FAILED) {
		printf("Bail out! mmap failed: %s\n", strerror(errno));
		exit(1);
	}
	return p;
}

static char *map_rw(size_t npages)
{
	return map(npages, PROT_READ | PROT_WRITE);
}

static char *unmapped(size_t npages)
{
	char *p = map_rw(npages);

	munmap(p, npages * pg);
	return p;
}

/* Touches the page, then reports whether the kernel locked it. */
static int touch_locked(char *a)
{
	*(volatile char *)a = 1;
	return probe_page_locked(a) == 1;
}

/* ---- the cases ---- */

static void c_mlock_zero(struct res *r)
{
	char *p = map_rw(4);

	set(r, mlock(p, 0));
	r->extra = touch_locked(p);
	munmap(p, 4 * pg);
}

static void c_mlock_zero_unmapped(struct res *r)
{
	set(r, mlock(unmapped(4), 0));
}

static void c_munlock_zero(struct res *r)
{
	char *p = map_rw(4);

	set(r, munlock(p, 0));
	munmap(p, 4 * pg);
}

static void c_mlock_unmapped(struct res *r)
{
	set(r, mlock(unmapped(16), 16 * pg));
}

static void c_mlock2_unmapped(struct res *r)
{
	set(r, mlock2(unmapped(16), 16 * pg, MLOCK_ONFAULT));
}

/* [A: 8 pages][hole: 8][C: 8]; extra: 1 if A locked, +2 if C locked. */
static void c_mlock_hole(struct res *r)
{
	char *p = map_rw(24);

	munmap(p + 8 * pg, 8 * pg);
	set(r, mlock(p, 24 * pg));
	r->extra = touch_locked(p + pg) + 2 * touch_locked(p + 17 * pg);
	munlock(p, 8 * pg);
	munlock(p + 16 * pg, 8 * pg);
	munmap(p, 24 * pg);
}

static void c_mlock_past_end(struct res *r)
{
	char *p = map_rw(16);

	munmap(p + 8 * pg, 8 * pg);
	set(r, mlock(p, 16 * pg));
	r->extra = touch_locked(p + 3 * pg);
	munlock(p, 8 * pg);
	munmap(p, 8 * pg);
}

static void c_mlock_wrap(struct res *r)
{
	char *p = map_rw(4);

	set(r, mlock(p, (size_t)-(uintptr_t)p + 2 * pg));
	r->extra = touch_locked(p);
	munmap(p, 4 * pg);
}

/* PAGE_ALIGN(SIZE_MAX) is 0 in the kernel: a no-op that succeeds. */
static void c_mlock_size_max(struct res *r)
{
	char *p = map_rw(4);

	set(r, mlock(p, SIZE_MAX));
	r->extra = touch_locked(p);
	munlock(p, 4 * pg);
	munmap(p, 4 * pg);
}

static void c_munlock_unmapped(struct res *r)
{
	set(r, munlock(unmapped(16), 16 * pg));
}

static void c_munlock_wrap(struct res *r)
{
	char *p = map_rw(4);

	set(r, munlock(p, (size_t)-(uintptr_t)p + 2 * pg));
	munmap(p, 4 * pg);
}

static void c_mlock2_badflag(struct res *r)
{
	char *p = map_rw(4);

	set(r, mlock2(p, 4 * pg, 0x2));
	r->extra = touch_locked(p);
	munmap(p, 4 * pg);
}

static void c_mlock2_badflags_unmapped(struct res *r)
{
	set(r, mlock2(unmapped(4), 4 * pg, ~0U));
}

/* extra: VmFlags lo afterwards. */
static void c_mlock_prot_none(struct res *r)
{
	char *p = map(16, PROT_NONE);

	set(r, mlock(p, 16 * pg));
	r->extra = probe_vmflag(p, "lo");
	munmap(p, 16 * pg);
}

static void c_mlock2_prot_none(struct res *r)
{
	char *p = map(16, PROT_NONE);

	set(r, mlock2(p, 16 * pg, MLOCK_ONFAULT));
	r->extra = probe_vmflag(p, "lo");
	munmap(p, 16 * pg);
}

static char *map_short_file(int flags)
{
	char path[4200], *f;
	int fd;

	snprintf(path, sizeof(path), "%s/eof.%d", scratch, (int)getpid());
	fd = open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	unlink(path);
	if (fd < 0 || write(fd, "x", 1) != 1)
		return MAP_FAILED;
	f = mmap(NULL, 4 * pg, PROT_READ, MAP_SHARED | flags, fd, 0);
	close(fd);
	return f;
}

/* A 4-page shared mapping of a 1-byte file; extra: page 0 locked. */
static void c_mlock_past_eof(struct res *r)
{
	char *f = map_short_file(0);

	if (f == MAP_FAILED) {
		r->ret = -2;
		return;
	}
	set(r, mlock(f, 4 * pg));
	(void)*(volatile char *)f;
	r->extra = probe_page_locked(f) == 1;
	munlock(f, 4 * pg);
	munmap(f, 4 * pg);
}

/* A read-write mapping followed by a PROT_NONE one: populate fails. */
static void c_mlock_rw_then_none(struct res *r)
{
	char *p = map_rw(16);

	mprotect(p + 8 * pg, 8 * pg, PROT_NONE);
	set(r, mlock(p, 16 * pg));
	r->extra = touch_locked(p + 2 * pg) +
		   2 * probe_vmflag(p + 9 * pg, "lo");
	munlock(p, 16 * pg);
	munmap(p, 16 * pg);
}

static void c_mlock2_past_eof(struct res *r)
{
	char *f = map_short_file(0);

	if (f == MAP_FAILED) {
		r->ret = -2;
		return;
	}
	set(r, mlock2(f, 4 * pg, MLOCK_ONFAULT));
	(void)*(volatile char *)f;
	r->extra = probe_page_locked(f) == 1;
	munlock(f, 4 * pg);
	munmap(f, 4 * pg);
}

/* extra: page 0 locked once read. */
static void c_mmap_locked_past_eof(struct res *r)
{
	char *f = map_short_file(MAP_LOCKED);

	set(r, f == MAP_FAILED ? -1 : 0);
	if (f == MAP_FAILED)
		return;
	(void)*(volatile char *)f;
	r->extra = probe_page_locked(f) == 1;
	munmap(f, 4 * pg);
}

static void c_munlock_never_locked(struct res *r)
{
	char *p = map_rw(8);

	p[0] = 1;
	set(r, munlock(p, 8 * pg));
	munmap(p, 8 * pg);
}

/* extra: a page of the shared anonymous mapping locked once written. */
static void c_mlock_shared_anon(struct res *r)
{
	char *p = mmap(NULL, 16 * pg, PROT_READ | PROT_WRITE,
		       MAP_SHARED | MAP_ANONYMOUS, -1, 0);

	if (p == MAP_FAILED) {
		r->ret = -2;
		return;
	}
	set(r, mlock(p, 16 * pg));
	r->extra = touch_locked(p + 5 * pg);
	munlock(p, 16 * pg);
	munmap(p, 16 * pg);
}

static void c_munmap_unaligned(struct res *r)
{
	char *p = map_rw(4);

	mlock(p, 4 * pg);
	set(r, munmap(p + 1, pg));
	munmap(p, 4 * pg);
}

static void c_munmap_zero(struct res *r)
{
	char *p = map_rw(4);

	mlock(p, 4 * pg);
	set(r, munmap(p, 0));
	munmap(p, 4 * pg);
}

static void c_munmap_unmapped(struct res *r)
{
	set(r, munmap(unmapped(8), 8 * pg));
}

/* extra: 1 if page 1 is gone, +2 if page 2 is still mapped. */
static void c_munmap_round(struct res *r)
{
	char perms[5], *p = map_rw(8);

	mlock(p, 8 * pg);
	set(r, munmap(p, pg + 1));
	r->extra = (probe_perms(p + pg, perms) == -1) +
		   2 * (probe_perms(p + 2 * pg, perms) == 0);
	munmap(p, 8 * pg);
}

static void c_mprotect_badprot(struct res *r)
{
	char *p = map_rw(4);

	mlock(p, 4 * pg);
	set(r, mprotect(p, 4 * pg, 0x10000));
	munmap(p, 4 * pg);
}

static void c_mprotect_unaligned(struct res *r)
{
	char *p = map_rw(4);

	mlock(p, 4 * pg);
	set(r, mprotect(p + 1, pg, PROT_READ));
	munmap(p, 4 * pg);
}

static void c_mprotect_unmapped(struct res *r)
{
	set(r, mprotect(unmapped(8), 8 * pg, PROT_READ));
}

static void write_first_byte(void *arg)
{
	*(volatile char *)arg = 1;
}

/* [A][hole][C] locked; extra: 1 if A became read-only anyway. */
static void c_mprotect_hole(struct res *r)
{
	char *p = map_rw(24);
	int st;

	mlock(p, 24 * pg);
	munmap(p + 8 * pg, 8 * pg);
	set(r, mprotect(p, 24 * pg, PROT_READ));
	st = probe_fork(write_first_byte, p + 2 * pg);
	r->extra = WIFSIGNALED(st) && WTERMSIG(st) == SIGSEGV;
	munmap(p, 24 * pg);
}

/* extra: 1 if the data survived. */
static void c_madvise_dontneed_locked(struct res *r)
{
	char *p = map_rw(8);

	p[pg] = 42;
	mlock(p, 8 * pg);
	set(r, madvise(p, 8 * pg, MADV_DONTNEED));
	r->extra = p[pg] == 42;
	munmap(p, 8 * pg);
}

static void c_mmap_locked_zero(struct res *r)
{
	void *p = mmap(NULL, 0, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_LOCKED, -1, 0);

	set(r, p == MAP_FAILED ? -1 : 0);
	if (p != MAP_FAILED)
		munmap(p, pg);
}

static void c_mmap_locked_notype(struct res *r)
{
	void *p = mmap(NULL, 4 * pg, PROT_READ | PROT_WRITE,
		       MAP_ANONYMOUS | MAP_LOCKED, -1, 0);

	set(r, p == MAP_FAILED ? -1 : 0);
	if (p != MAP_FAILED)
		munmap(p, 4 * pg);
}

static void c_mremap_zero(struct res *r)
{
	char *p = map_rw(4);
	void *q;

	mlock(p, 4 * pg);
	q = mremap(p, 4 * pg, 0, MREMAP_MAYMOVE);
	set(r, q == MAP_FAILED ? -1 : 0);
	munmap(q == MAP_FAILED ? p : q, 4 * pg);
}

static void c_mremap_badflags(struct res *r)
{
	char *p = map_rw(4);
	void *q;

	mlock(p, 4 * pg);
	q = mremap(p, 4 * pg, 8 * pg, 0x80);
	set(r, q == MAP_FAILED ? -1 : 0);
	munmap(q == MAP_FAILED ? p : q, q == MAP_FAILED ? 4 * pg : 8 * pg);
}

static void c_mremap_unaligned(struct res *r)
{
	char *p = map_rw(4);
	void *q;

	mlock(p, 4 * pg);
	q = mremap(p + 1, pg, 2 * pg, MREMAP_MAYMOVE);
	set(r, q == MAP_FAILED ? -1 : 0);
	munmap(p, 4 * pg);
}

static void c_mlockall_zero(struct res *r)
{
	set(r, mlockall(0));
}

static void c_mlockall_onfault_alone(struct res *r)
{
	set(r, mlockall(MCL_ONFAULT));
}

static void c_mlockall_unknown(struct res *r)
{
	set(r, mlockall(0x100));
}

/* extra: VmLck growth in kB (a relock is not charged twice). */
static void c_mlock_twice(struct res *r)
{
	char *p = map_rw(16);
	long before = probe_status_kb("VmLck:");

	mlock(p, 16 * pg);
	set(r, mlock(p + 4 * pg, 8 * pg));
	r->extra = probe_status_kb("VmLck:") - before;
	munlock(p, 16 * pg);
	munmap(p, 16 * pg);
}

/* extra: a bit per call that changed errno although it succeeded. */
static void c_errno_kept(struct res *r)
{
	struct sigaction sa, old;
	char *p, *q;
	long bits = 0;
	int n = 0;

#define KEEP(call) do {						\
		errno = 4242;					\
		(void)(call);					\
		if (errno != 4242)				\
			bits |= 1L << n;			\
		n++;						\
	} while (0)
	errno = 4242;
	p = mmap(NULL, 16 * pg, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (errno != 4242)
		bits |= 1L << n;
	n++;
	KEEP(mlock(p, 16 * pg));
	KEEP(mlock2(p, 16 * pg, MLOCK_ONFAULT));
	KEEP(mlock2(p, 16 * pg, 0));
	p[3 * pg] = 1;
	KEEP(mprotect(p, 16 * pg, PROT_READ));
	KEEP(mprotect(p, 16 * pg, PROT_READ | PROT_WRITE));
	KEEP(madvise(p, 16 * pg, MADV_WILLNEED));
	errno = 4242;
	q = mremap(p, 16 * pg, 32 * pg, MREMAP_MAYMOVE);
	if (errno != 4242 || q == MAP_FAILED)
		bits |= 1L << n;
	n++;
	if (q != MAP_FAILED)
		p = q;
	KEEP(munlock(p, 32 * pg));
	KEEP(munmap(p, 32 * pg));
	errno = 4242;
	q = mmap(NULL, 16 * pg, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS | MAP_LOCKED, -1, 0);
	if (errno != 4242 || q == MAP_FAILED)
		bits |= 1L << n;
	n++;
	q[pg] = 1;
	KEEP(munmap(q, 16 * pg));
	KEEP(mlock(p, 0));
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = SIG_DFL;
	KEEP(sigaction(SIGSEGV, &sa, &old));
	KEEP(sigaction(SIGSEGV, NULL, &old));
#undef KEEP
	r->ret = 0;
	r->err = 0;
	r->extra = bits;
}

/* ---- without CAP_IPC_LOCK, in a child that becomes nobody ---- */

enum unpriv_op {
	U_MLOCK, U_MLOCK_ZERO, U_MLOCK2_BAD, U_MUNLOCK, U_MLOCK2_ONFAULT,
	U_MMAP_LOCKED,
};

struct unpriv {
	rlim_t limit;
	enum unpriv_op op;
	size_t len;
	int fd;
};

static void unpriv_child(void *arg)
{
	struct unpriv *u = arg;
	struct rlimit rl = { u->limit, u->limit };
	struct res r = { -3, 0, 0 };
	long before;
	char *p;

	if (setrlimit(RLIMIT_MEMLOCK, &rl) || setgroups(0, NULL) ||
	    setresgid(65534, 65534, 65534) || setresuid(65534, 65534, 65534))
		goto out;
	p = mmap(NULL, 1 << 20, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED)
		goto out;
	before = probe_status_kb("VmLck:");
	switch (u->op) {
	case U_MLOCK:
		set(&r, mlock(p, u->len));
		break;
	case U_MLOCK_ZERO:
		set(&r, mlock(p, 0));
		break;
	case U_MLOCK2_BAD:
		set(&r, mlock2(p, u->len, 0x2));
		break;
	case U_MUNLOCK:
		set(&r, munlock(p, u->len));
		break;
	case U_MLOCK2_ONFAULT:
		set(&r, mlock2(p, u->len, MLOCK_ONFAULT));
		break;
	case U_MMAP_LOCKED:
		p = mmap(NULL, u->len, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS | MAP_LOCKED, -1, 0);
		set(&r, p == MAP_FAILED ? -1 : 0);
		break;
	}
	r.extra = probe_status_kb("VmLck:") - before;
out:
	if (write(u->fd, &r, sizeof(r)) != sizeof(r))
		_exit(2);
}

static void unpriv(struct res *r, rlim_t limit, enum unpriv_op op,
		   size_t len)
{
	struct unpriv u = { limit, op, len, -1 };
	int fds[2];

	r->ret = -4;
	if (pipe(fds))
		return;
	u.fd = fds[1];
	probe_fork(unpriv_child, &u);
	close(fds[1]);
	if (read(fds[0], r, sizeof(*r)) != sizeof(*r))
		r->ret = -4;
	close(fds[0]);
}

static void c_u0_mlock(struct res *r)
{
	unpriv(r, 0, U_MLOCK, 4 * pg);
}

static void c_u0_mlock_zero(struct res *r)
{
	unpriv(r, 0, U_MLOCK_ZERO, 0);
}

static void c_u0_mlock2_bad(struct res *r)
{
	unpriv(r, 0, U_MLOCK2_BAD, 4 * pg);
}

static void c_u0_munlock(struct res *r)
{
	unpriv(r, 0, U_MUNLOCK, 4 * pg);
}

static void c_u64k_mlock_big(struct res *r)
{
	unpriv(r, 64 << 10, U_MLOCK, 1 << 20);
}

static void c_u64k_mlock2_big(struct res *r)
{
	unpriv(r, 64 << 10, U_MLOCK2_ONFAULT, 1 << 20);
}

static void c_u64k_mlock_small(struct res *r)
{
	unpriv(r, 64 << 10, U_MLOCK, 32 << 10);
}

static void c_u64k_mmap_locked(struct res *r)
{
	unpriv(r, 64 << 10, U_MMAP_LOCKED, 1 << 20);
}

struct tcase {
	const char *name;
	void (*fn)(struct res *);
	long ret;	/* the kernel rule, for a diagnostic */
	int err;
	long extra;
};

#define X_UNUSED -999	/* extra not predicted by a rule */
#define X_16_PAGES_KB -998	/* extra: 16 pages, in kB */

static const struct tcase cases[] = {
	{ "mlock(p, 0)", c_mlock_zero, 0, 0, 0 },
	{ "mlock(unmapped, 0)", c_mlock_zero_unmapped, 0, 0, 0 },
	{ "munlock(p, 0)", c_munlock_zero, 0, 0, 0 },
	{ "mlock over an unmapped range", c_mlock_unmapped, -1, ENOMEM, 0 },
	{ "mlock2(ONFAULT) over an unmapped range", c_mlock2_unmapped, -1,
	  ENOMEM, 0 },
	{ "mlock over [A][hole][C] (extra: 1 = A locked, 2 = C locked)",
	  c_mlock_hole, -1, ENOMEM, 1 },
	{ "mlock running past the last mapping (extra: head locked)",
	  c_mlock_past_end, -1, ENOMEM, 1 },
	{ "mlock of a wrapping range", c_mlock_wrap, -1, EINVAL, 0 },
	{ "mlock(p, SIZE_MAX): length rounds to 0", c_mlock_size_max, 0, 0,
	  0 },
	{ "munlock of an unmapped range", c_munlock_unmapped, -1, ENOMEM, 0 },
	{ "munlock of a wrapping range", c_munlock_wrap, -1, EINVAL, 0 },
	{ "mlock2 with flag 0x2 (extra: locked anyway)", c_mlock2_badflag,
	  -1, EINVAL, 0 },
	{ "mlock2 with all flags on an unmapped range: EINVAL first",
	  c_mlock2_badflags_unmapped, -1, EINVAL, 0 },
	{ "mlock of a PROT_NONE mapping (extra: VmFlags lo)",
	  c_mlock_prot_none, -1, ENOMEM, 1 },
	{ "mlock2(ONFAULT) of a PROT_NONE mapping (extra: VmFlags lo)",
	  c_mlock2_prot_none, 0, 0, 1 },
	{ "mlock of a file mapping past EOF (extra: page 0 locked)",
	  c_mlock_past_eof, -1, ENOMEM, 1 },
	{ "mlock over [read-write][PROT_NONE] (extra: 1 = head locked, 2 = "
	  "tail lo)", c_mlock_rw_then_none, -1, ENOMEM, 3 },
	{ "mlock2(ONFAULT) of a file mapping past EOF (extra: page 0 locked)",
	  c_mlock2_past_eof, 0, 0, 1 },
	{ "mmap(MAP_LOCKED) of a file mapping past EOF (extra: page 0 locked)",
	  c_mmap_locked_past_eof, 0, 0, 1 },
	{ "munlock of a range never locked", c_munlock_never_locked, 0, 0, 0 },
	{ "mlock of a MAP_SHARED anonymous mapping (extra: locked on touch)",
	  c_mlock_shared_anon, 0, 0, 1 },
	{ "munmap of an unaligned address", c_munmap_unaligned, -1, EINVAL,
	  0 },
	{ "munmap(p, 0)", c_munmap_zero, -1, EINVAL, 0 },
	{ "munmap of an unmapped range", c_munmap_unmapped, 0, 0, 0 },
	{ "munmap(p, page + 1) of a locked region (extra: 3 = page 1 gone, "
	  "page 2 kept)", c_munmap_round, 0, 0, 3 },
	{ "mprotect with bad prot bits", c_mprotect_badprot, -1, EINVAL, 0 },
	{ "mprotect of an unaligned address", c_mprotect_unaligned, -1,
	  EINVAL, 0 },
	{ "mprotect of an unmapped range", c_mprotect_unmapped, -1, ENOMEM,
	  0 },
	{ "mprotect(PROT_READ) over locked [A][hole][C] (extra: A made "
	  "read-only)", c_mprotect_hole, -1, ENOMEM, 1 },
	{ "madvise(MADV_DONTNEED) of a locked region (extra: data kept)",
	  c_madvise_dontneed_locked, -1, EINVAL, 1 },
	{ "mmap(MAP_LOCKED) of length 0", c_mmap_locked_zero, -1, EINVAL, 0 },
	{ "mmap(MAP_LOCKED) without MAP_PRIVATE or MAP_SHARED",
	  c_mmap_locked_notype, -1, EINVAL, 0 },
	{ "mremap of a locked region to size 0", c_mremap_zero, -1, EINVAL,
	  0 },
	{ "mremap of a locked region with unknown flags", c_mremap_badflags,
	  -1, EINVAL, 0 },
	{ "mremap of an unaligned address", c_mremap_unaligned, -1, EINVAL,
	  0 },
	{ "mlockall(0)", c_mlockall_zero, -1, EINVAL, 0 },
	{ "mlockall(MCL_ONFAULT)", c_mlockall_onfault_alone, -1, EINVAL, 0 },
	{ "mlockall(0x100)", c_mlockall_unknown, -1, EINVAL, 0 },
	{ "mlock of a range already locked (extra: VmLck growth, kB)",
	  c_mlock_twice, 0, 0, X_16_PAGES_KB },
	{ "errno untouched by successful calls (extra: calls that changed "
	  "it)", c_errno_kept, 0, 0, 0 },
	{ "nobody, RLIMIT_MEMLOCK 0: mlock", c_u0_mlock, -1, EPERM, 0 },
	{ "nobody, RLIMIT_MEMLOCK 0: mlock(p, 0)", c_u0_mlock_zero, -1, EPERM,
	  0 },
	{ "nobody, RLIMIT_MEMLOCK 0: mlock2 bad flags", c_u0_mlock2_bad, -1,
	  EINVAL, 0 },
	{ "nobody, RLIMIT_MEMLOCK 0: munlock", c_u0_munlock, 0, 0, 0 },
	{ "nobody, RLIMIT_MEMLOCK 64K: mlock 1M (extra: VmLck growth)",
	  c_u64k_mlock_big, -1, ENOMEM, 0 },
	{ "nobody, RLIMIT_MEMLOCK 64K: mlock2(ONFAULT) 1M", c_u64k_mlock2_big,
	  -1, ENOMEM, 0 },
	{ "nobody, RLIMIT_MEMLOCK 64K: mlock 32K (extra: VmLck growth)",
	  c_u64k_mlock_small, 0, 0, 32 },
	{ "nobody, RLIMIT_MEMLOCK 64K: mmap(MAP_LOCKED) 1M",
	  c_u64k_mmap_locked, -1, EAGAIN, 0 },
};

#define NCASES ((int)(sizeof(cases) / sizeof(cases[0])))

static void run_all(struct res *out)
{
	int i;

	for (i = 0; i < NCASES; i++) {
		memset(&out[i], 0, sizeof(out[i]));
		cases[i].fn(&out[i]);
	}
}

/* The bare kernel's answers: this program again, without LD_PRELOAD. */
static int native_results(const char *self, struct res *nat)
{
	extern char **environ;
	char **env, *line = NULL;
	size_t cap = 0, n = 0;
	int fds[2], st, got = 0, i;
	struct res r;
	FILE *f;
	pid_t pid;

	while (environ[n])
		n++;
	env = calloc(n + 1, sizeof(*env));
	for (i = 0, n = 0; env && environ[i]; i++)
		if (strncmp(environ[i], "LD_PRELOAD=", 11))
			env[n++] = environ[i];
	if (!env || pipe(fds))
		return -1;
	fflush(NULL);
	pid = fork();
	if (pid == 0) {
		char *argv[] = { (char *)self, "--native", NULL };

		dup2(fds[1], 1);
		close(fds[0]);
		close(fds[1]);
		execve("/proc/self/exe", argv, env);
		_exit(127);
	}
	close(fds[1]);
	free(env);
	f = fdopen(fds[0], "r");
	while (f && getline(&line, &cap, f) > 0) {
		if (sscanf(line, "R %d %ld %d %ld", &i, &r.ret, &r.err,
			   &r.extra) == 4 && i >= 0 && i < NCASES) {
			nat[i] = r;
			got++;
		}
	}
	free(line);
	if (f)
		fclose(f);
	if (pid < 0 || waitpid(pid, &st, 0) < 0 || !WIFEXITED(st) ||
	    WEXITSTATUS(st) != 0)
		return -1;
	return got == NCASES ? 0 : -1;
}

static void mk_scratch(void)
{
	if (probe_tmpdir(scratch, sizeof(scratch), "t-errors.tmp")) {
		printf("Bail out! cannot create a scratch directory: %s\n",
		       strerror(errno));
		exit(1);
	}
}

int main(int argc, char **argv)
{
	static struct res nat[NCASES], lib[NCASES];
	int i, have_native, onfault;

	pg = probe_page_size();
	if (argc > 1 && !strcmp(argv[1], "--native")) {
		alarm(60);
		if (probe_preloaded()) {
			printf("native run is preloaded\n");
			return 1;
		}
		mk_scratch();
		run_all(nat);
		rmdir(scratch);
		for (i = 0; i < NCASES; i++)
			printf("R %d %ld %d %ld\n", i, nat[i].ret, nat[i].err,
			       nat[i].extra);
		return 0;
	}

	plan(NCASES + 1);
	probe_require_preloaded();
	alarm(60);

	onfault = probe_kernel_onfault();
	if (onfault) {
		have_native = native_results(argv[0], nat) == 0;
		ok(have_native, "the bare kernel's answers, from a run without "
		   "LD_PRELOAD");
	} else {
		have_native = 0;
		skip(1, "this kernel lacks lock-on-fault (4.3 or lof-kernel43): "
		     "the 4.4+ rules are the reference");
	}
	if (!have_native) {
		diag("comparing against the kernel rules instead");
		for (i = 0; i < NCASES; i++) {
			nat[i].ret = cases[i].ret;
			nat[i].err = cases[i].err;
			nat[i].extra = cases[i].extra == X_UNUSED ? 0 :
				       cases[i].extra == X_16_PAGES_KB ?
				       (long)(16 * pg >> 10) : cases[i].extra;
		}
	}

	mk_scratch();
	run_all(lib);
	rmdir(scratch);

	for (i = 0; i < NCASES; i++) {
		const struct tcase *c = &cases[i];

		if (have_native &&
		    (nat[i].ret != c->ret || nat[i].err != c->err ||
		     (c->extra != X_UNUSED && c->extra != X_16_PAGES_KB &&
		      nat[i].extra != c->extra)))
			diag("the kernel differs from the rule for \"%s\": "
			     "%ld/%s/%ld, rule %ld/%s/%ld", c->name,
			     nat[i].ret, ename(nat[i].err),
			     nat[i].extra, c->ret,
			     ename(c->err), c->extra);
		ok(lib[i].ret == nat[i].ret && lib[i].err == nat[i].err &&
		   lib[i].extra == nat[i].extra,
		   "%s: %ld/%s/%ld, kernel %ld/%s/%ld", c->name, lib[i].ret,
		   ename(lib[i].err), lib[i].extra,
		   nat[i].ret, ename(nat[i].err),
		   nat[i].extra);
	}
	return done();
}
