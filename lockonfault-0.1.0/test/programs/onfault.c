/*
 * onfault.c - the reference column of the program tier: a tiny preload
 * library that turns a program's lock calls into the kernel's own
 * lock-on-fault variants, and does nothing else.
 *
 * mlock and mlock2 become mlock2(MLOCK_ONFAULT), mlockall gains
 * MCL_ONFAULT, and mmap with MAP_LOCKED maps without it and then locks
 * the mapping on fault. The kernel then charges and refuses exactly as
 * for the original call, and locks pages as they are touched: what the
 * programs would get had they been written for Linux 4.4. No signals,
 * no table; it knows nothing of lockonfault.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stddef.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#ifndef MLOCK_ONFAULT
#define MLOCK_ONFAULT 1
#endif
#ifndef MCL_ONFAULT
#define MCL_ONFAULT 4
#endif

/* libc's syscall() sets errno and returns -1 on failure, as we must. */
int mlock(const void *addr, size_t len)
{
	return (int)syscall(SYS_mlock2, addr, len, MLOCK_ONFAULT);
}

int mlock2(const void *addr, size_t len, unsigned int flags)
{
	/* Unknown bits are left in, so the kernel refuses them as before. */
	return (int)syscall(SYS_mlock2, addr, len, flags | MLOCK_ONFAULT);
}

int mlockall(int flags)
{
	/* 0 and MCL_ONFAULT alone stay EINVAL: the kernel checks both. */
	if (!(flags & (MCL_CURRENT | MCL_FUTURE)))
		return (int)syscall(SYS_mlockall, flags);
	return (int)syscall(SYS_mlockall, flags | MCL_ONFAULT);
}

static void *map(void *addr, size_t len, int prot, int flags, int fd,
		 off_t off)
{
	void *p;
	int saved;

	if (!(flags & MAP_LOCKED))
		return (void *)syscall(SYS_mmap, addr, len, prot, flags, fd,
				       off);
	p = (void *)syscall(SYS_mmap, addr, len, prot, flags & ~MAP_LOCKED,
			    fd, off);
	if (p == MAP_FAILED)
		return p;
	/* As MAP_LOCKED does, a failed lock leaves the mapping in place. */
	saved = errno;
	syscall(SYS_mlock2, p, len, MLOCK_ONFAULT);
	errno = saved;
	return p;
}

void *mmap(void *addr, size_t len, int prot, int flags, int fd, off_t off)
{
	return map(addr, len, prot, flags, fd, off);
}

void *mmap64(void *addr, size_t len, int prot, int flags, int fd, off_t off)
{
	return map(addr, len, prot, flags, fd, off);
}
