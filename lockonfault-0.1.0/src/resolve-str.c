/*
 * resolve-str.c - open the pending pages of strings and string arrays
 * before the kernel reads them (paths, exec arguments).
 *
 * A buffer has a length; a string does not, and finding its end means
 * reading it. The program may pass a pointer that is simply bad and
 * expect the kernel's EFAULT, so nothing here may fault on memory that
 * is not ours to open: every byte is read with process_vm_readv() on
 * our own process, which fails with EFAULT where a load would crash.
 * Pending pages are opened (engine_resolve) before they are read.
 *
 * A path is at most PATH_MAX (one page) long, so it can only reach a
 * pending page if its own page or the next is managed: any other path
 * costs two lock-free table lookups and no system call.
 */
#include "config.h"
#include "engine.h"

#include <errno.h>
#include <limits.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/uio.h>

#include "arch.h"
#include "region.h"
#include "sys.h"

/*
 * Copy len bytes at src into dst without ever faulting.
 * Return: 0, or -EFAULT (or another -errno) if they cannot be read.
 */
static long peek(void *dst, uintptr_t src, size_t len)
{
	struct iovec local = { dst, len }, remote = { (void *)src, len };
	long n = arch_syscall6(SYS_process_vm_readv, sys_getpid(),
			       (long)&local, 1, (long)&remote, 1, 0);

	if (n < 0)
		return n;
	return (size_t)n == len ? 0 : -EFAULT;
}

/* Open what is pending of [at, at + len) and copy it; 0 or -errno. */
static long open_peek(void *dst, uintptr_t at, size_t len)
{
	engine_resolve(at, len);
	return peek(dst, at, len);
}

void engine_resolve_str(const char *s, size_t max)
{
	uintptr_t at = (uintptr_t)s, first;
	char buf[256];

	if (lof_mode != LOF_MODE_SIGSEGV || !s || !region_count(&lof_regions))
		return;
	first = page_down(at);
	if (max <= PATH_MAX &&
	    !region_overlaps(&lof_regions, first, first + 2 * lof_page_size))
		return;
	while (max) {
		/* Never across a page: the rest may be unmapped. */
		size_t n = lof_page_size - (at & (lof_page_size - 1));

		if (n > sizeof(buf))
			n = sizeof(buf);
		if (n > max)
			n = max;
		if (open_peek(buf, at, n) || memchr(buf, '\0', n))
			return;
		at += n;
		max -= n;
	}
}

void engine_resolve_strv(char *const *v, size_t max)
{
	uintptr_t at = (uintptr_t)v;
	char *p[32];

	if (lof_mode != LOF_MODE_SIGSEGV || !v || !region_count(&lof_regions))
		return;
	for (;;) {
		size_t room = lof_page_size - (at & (lof_page_size - 1));
		size_t n = sizeof(p) < room ? sizeof(p) : room;

		if (n % sizeof(p[0]) || open_peek(p, at, n))
			return;
		for (size_t i = 0; i < n / sizeof(p[0]); i++) {
			if (!p[i])
				return;
			engine_resolve_str(p[i], max);
		}
		at += n;
	}
}
