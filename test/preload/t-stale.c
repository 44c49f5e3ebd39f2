/*
 * t-stale.c - memory the library no longer manages is never opened by
 * a stale table entry.
 *
 * glibc's free() of a large block unmaps it with an internal call the
 * library never sees, so the block's entry outlives it. A mapping made
 * there afterwards the same way (as glibc maps thread stacks, with a
 * PROT_NONE guard page) must keep its protection: a touch of the guard,
 * or a write to a read-only page there, kills by SIGSEGV, as without
 * the library.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <setjmp.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "probe.h"
#include "tap.h"

#ifndef MAP_FIXED_NOREPLACE
#define MAP_FIXED_NOREPLACE 0x100000
#endif

#define SIZE (8UL << 20)

static char *guard, *ro;
static size_t pg;

static sigjmp_buf jb;
static volatile int faults;

static void on_segv(int sig)
{
	faults++;
	siglongjmp(jb, 1);
}

/* Did the access fault into the program's own handler? */
static int faulted(volatile char *a, int write)
{
	faults = 0;
	if (sigsetjmp(jb, 1) == 0) {
		if (write)
			*a = 1;
		else
			(void)*a;
	}
	return faults == 1;
}

int main(void)
{
	char *block, buf[80];
	uintptr_t page;
	long p;

	probe_require_preloaded();
	pg = probe_page_size();
	plan(4);

	block = malloc(SIZE);
	if (!block || mlock(block, SIZE))
		bail("malloc/mlock: %s", strerror(errno));
	block[SIZE / 2] = 1;
	page = ((uintptr_t)block + 2 * pg) & ~(uintptr_t)(pg - 1);
	free(block);	/* glibc munmaps it: the library does not see it */

	/*
	 * Where the block was, a stack-like mapping made behind our back
	 * (as glibc maps a thread stack): 64 pages read-write with a
	 * PROT_NONE guard page and a read-only page inside, so a batch
	 * around either lies wholly in mapped memory.
	 */
	p = probe_raw_syscall(SYS_mmap, (long)page, (long)(64 * pg),
			      PROT_READ | PROT_WRITE, MAP_PRIVATE |
			      MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
	if (p != (long)page)
		bail("raw mmap at %p: %ld", (void *)page, p);
	guard = (char *)page + 20 * pg;
	ro = (char *)page + 40 * pg;
	probe_raw_syscall(SYS_mprotect, (long)guard, (long)pg, PROT_NONE, 0, 0,
			  0);
	probe_raw_syscall(SYS_mprotect, (long)ro, (long)pg, PROT_READ, 0, 0, 0);

	/*
	 * Seen in this process, by a handler of its own: a child of fork
	 * has no locks, which is what the library checks for.
	 */
	signal(SIGSEGV, on_segv);
	ok(faulted(guard, 0),
	   "a guard page mapped where a freed locked block was still faults");
	ok(probe_perms(guard, buf) == 0 && !strncmp(buf, "---", 3),
	   "and stays PROT_NONE (%s)", buf);
	ok(faulted(ro, 1) && !faulted(ro, 0),
	   "a write to a read-only page mapped there still faults, a read "
	   "does not");
	signal(SIGSEGV, SIG_DFL);
	ok(probe_perms(ro, buf) == 0 && !strncmp(buf, "r--", 3),
	   "and it stays read-only (%s)", buf);
	probe_raw_syscall(SYS_munmap, (long)page, (long)(64 * pg), 0, 0, 0, 0);
	return done();
}
