/*
 * interpose-mm.c - the exported memory calls: mmap, mmap64, munmap,
 * mremap, mprotect, mlock, mlock2, munlock, mlockall, munlockall,
 * madvise, and the same calls made through syscall(3) (mm_syscall()).
 *
 * Each is a thin shim: initialise if needed, call the engine (which
 * returns the result or -errno), and turn that into libc's contract,
 * setting errno only on failure.
 */
#include "config.h"

#include <errno.h>
#include <stdarg.h>
#include <sys/mman.h>
#include <sys/syscall.h>

#include "engine.h"
#include "interpose.h"
#include "sites.h"
#include "stats.h"
#include "sys.h"

/* The populate advice of Linux 5.14, for older headers. */
#define LOF_MADV_POPULATE_READ 22
#define LOF_MADV_POPULATE_WRITE 23

static long ret_long(long r)
{
	if (r < 0 && r > -4096) {
		errno = (int)-r;
		return -1;
	}
	return r;
}

static int ret_int(int r)
{
	if (r < 0) {
		errno = -r;
		return -1;
	}
	return r;
}

/*
 * A lock call of kind call made at return address pc: when it
 * succeeded, statistics sample releases from now on, and the call site
 * is counted (sites.c).
 */
static int locked(int r, uintptr_t pc, int call, const void *addr,
		  size_t len, int flags)
{
	if (r == 0) {
		stats_locked();
		sites_record(pc, call, addr, len, flags);
	}
	return r;
}

/* The caller of the exported function: the first frame outside us. */
#define CALLER() ((uintptr_t)__builtin_return_address(0))

static void *do_mmap(void *addr, size_t len, int prot, int flags, int fd,
		     off_t off, uintptr_t pc)
{
	long r;

	if (!lof_ready())
		r = sys_mmap(addr, len, prot, flags, fd, off);
	else {
		if (flags & MAP_FIXED)
			stats_sample();	/* may replace locked memory */
		r = engine_mmap(addr, len, prot, flags, fd, off);
		if ((flags & MAP_LOCKED) && !(r < 0 && r > -4096))
			locked(0, pc, LOF_CALL_MMAP, (void *)r, len, 0);
		if (fd >= 0 && (flags & MAP_SHARED))
			uring_mmap_done(r, fd, (long)off);	/* a ring? */
	}
	return ret_long(r) == -1 ? MAP_FAILED : (void *)r;
}

LOF_EXPORT void *mmap(void *addr, size_t len, int prot, int flags, int fd,
		      off_t off)
{
	return do_mmap(addr, len, prot, flags, fd, off, CALLER());
}

LOF_EXPORT void *mmap64(void *addr, size_t len, int prot, int flags, int fd,
			off64_t off)
{
	/*
	 * On 32-bit, off_t is 32 bits and the engine takes an off_t: an
	 * offset past it goes to the kernel unchanged (sys_mmap takes the
	 * full offset). On 64-bit the two types are the same.
	 */
	if ((off_t)off != off) {
		long r = sys_mmap(addr, len, prot, flags, fd, off);

		return ret_long(r) == -1 ? MAP_FAILED : (void *)r;
	}
	return do_mmap(addr, len, prot, flags, fd, (off_t)off, CALLER());
}

/*
 * The calls themselves, for the exported functions and for syscall(3)
 * (mm_syscall): the result or -errno; pc is the program's call site.
 */
static long mm_munmap(void *addr, size_t len)
{
	if (!lof_ready())
		return sys_munmap(addr, len);
	stats_sample();
	return engine_munmap(addr, len);
}

static long mm_mremap(void *old, size_t old_len, size_t new_len, int flags,
		      void *new_addr)
{
	if (!lof_ready())
		return sys_mremap(old, old_len, new_len, flags, new_addr);
	stats_sample();
	return engine_mremap(old, old_len, new_len, flags, new_addr);
}

static long mm_mprotect(void *addr, size_t len, int prot)
{
	return lof_ready() ? engine_mprotect(addr, len, prot)
			   : sys_mprotect(addr, len, prot);
}

/* mlock (is2 0) and mlock2 (is2 1, with flags). */
static long mm_mlock(const void *addr, size_t len, unsigned int flags,
		     int is2, uintptr_t pc)
{
	if (!lof_ready())
		return is2 ? sys_mlock2(addr, len, flags) : sys_mlock(addr, len);
	return locked(engine_mlock(addr, len, flags, is2), pc,
		      is2 ? LOF_CALL_MLOCK2 : LOF_CALL_MLOCK, addr, len, 0);
}

static long mm_munlock(const void *addr, size_t len)
{
	if (!lof_ready())
		return sys_munlock(addr, len);
	stats_sample();
	return engine_munlock(addr, len);
}

static long mm_mlockall(int flags, uintptr_t pc)
{
	return lof_ready() ? locked(engine_mlockall(flags), pc,
				    LOF_CALL_MLOCKALL, NULL, 0, flags)
			   : sys_mlockall(flags);
}

static long mm_munlockall(void)
{
	if (!lof_ready())
		return sys_munlockall();
	stats_sample();
	return engine_munlockall();
}

LOF_EXPORT int munmap(void *addr, size_t len)
{
	return ret_int((int)mm_munmap(addr, len));
}

LOF_EXPORT void *mremap(void *old, size_t old_len, size_t new_len, int flags,
			...)
{
	void *new_addr = NULL;
	va_list ap;
	long r;

	if (flags & MREMAP_FIXED) {
		va_start(ap, flags);
		new_addr = va_arg(ap, void *);
		va_end(ap);
	}
	r = ret_long(mm_mremap(old, old_len, new_len, flags, new_addr));
	return r == -1 ? MAP_FAILED : (void *)r;
}

LOF_EXPORT int mprotect(void *addr, size_t len, int prot)
{
	return ret_int((int)mm_mprotect(addr, len, prot));
}

LOF_EXPORT int mlock(const void *addr, size_t len)
{
	return ret_int((int)mm_mlock(addr, len, 0, 0, CALLER()));
}

LOF_EXPORT int mlock2(const void *addr, size_t len, unsigned int flags)
{
	return ret_int((int)mm_mlock(addr, len, flags, 1, CALLER()));
}

LOF_EXPORT int munlock(const void *addr, size_t len)
{
	return ret_int((int)mm_munlock(addr, len));
}

LOF_EXPORT int mlockall(int flags)
{
	return ret_int((int)mm_mlockall(flags, CALLER()));
}

/*
 * madvise: MADV_POPULATE_READ and MADV_POPULATE_WRITE fault pages in
 * for the program, which the kernel refuses on a pending (PROT_NONE)
 * page. The range is opened first, past holes too, as the kernel
 * populates mapping by mapping across them (engine_open_range), and
 * the kernel then populates it, locking what it faults in as its own
 * lock-on-fault does. Every other advice goes
 * to the kernel as it is.
 */
static int do_madvise(void *addr, size_t len, int advice)
{
	if (lof_ready() && (advice == LOF_MADV_POPULATE_READ ||
			    advice == LOF_MADV_POPULATE_WRITE))
		engine_open_range((uintptr_t)addr, len);
	return sys_madvise(addr, len, advice);
}

LOF_EXPORT int madvise(void *addr, size_t len, int advice)
{
	return ret_int(do_madvise(addr, len, advice));
}

LOF_EXPORT int munlockall(void)
{
	return ret_int((int)mm_munlockall());
}

/*
 * The memory calls a program makes through syscall(3) rather than their
 * libc functions (issue 13: a dynamic program's syscall(SYS_mlockall,
 * ...)): served as those functions serve them, so they lock on fault and
 * the SIGSEGV engine's table sees every change. i386's old_mmap, which
 * takes its arguments in memory, goes to the kernel as it is.
 * Return: 1 with *ret set as syscall(3) returns (-1 and errno on
 * failure), 0 for any other number.
 */
int mm_syscall(long nr, const long *a, uintptr_t pc, long *ret)
{
	void *p = (void *)a[0];
	size_t len = (size_t)a[1];
	long r;

	if (!lof_ready())
		return 0;
	switch (nr) {
	case SYS_mlock:
		r = mm_mlock(p, len, 0, 0, pc);
		break;
	case SYS_mlock2:
		r = mm_mlock(p, len, (unsigned int)a[2], 1, pc);
		break;
	case SYS_munlock:
		r = mm_munlock(p, len);
		break;
	case SYS_mlockall:
		r = mm_mlockall((int)a[0], pc);
		break;
	case SYS_munlockall:
		r = mm_munlockall();
		break;
	case SYS_madvise:
		r = do_madvise(p, len, (int)a[2]);
		break;
	case SYS_munmap:
		r = mm_munmap(p, len);
		break;
	case SYS_mprotect:
		r = mm_mprotect(p, len, (int)a[2]);
		break;
	case SYS_mremap:
		r = mm_mremap(p, len, (size_t)a[2], (int)a[3],
			      (a[3] & MREMAP_FIXED) ? (void *)a[4] : NULL);
		break;
#if defined(SYS_mmap2)
	case SYS_mmap2: {
		/* The offset is in 4096-byte units; past off_t: unchanged. */
		off_t off = (off_t)((unsigned long long)(unsigned long)a[5] *
				    4096);

		if ((unsigned long long)off !=
		    (unsigned long long)(unsigned long)a[5] * 4096)
			return 0;
		*ret = (long)do_mmap(p, len, (int)a[2], (int)a[3], (int)a[4],
				     off, pc);
		return 1;
	}
#else
	case SYS_mmap:
		*ret = (long)do_mmap(p, len, (int)a[2], (int)a[3], (int)a[4],
				     (off_t)a[5], pc);
		return 1;
#endif
	default:
		return 0;
	}
	*ret = ret_long(r);
	return 1;
}
