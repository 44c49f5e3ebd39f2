/*
 * t-dontfork.c - a child of fork opens every pending page, even when
 * part of a locked range is not in the child at all (MADV_DONTFORK).
 *
 * The child must read the parent's data in the pages it has, write to
 * them, hold no locks, and see the DONTFORK part gone as the kernel
 * leaves it; the parent keeps its range locked and pending (PROT_NONE
 * under the sigsegv engine; rw-p, lo lf and absent under the native one).
 */
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include "probe.h"
#include "tap.h"

#define MB (1UL << 20)
#define SIZE (16 * MB)

static char *p;

static void child(void *arg)
{
	size_t pg = probe_page_size();
	char perms[5];

	(void)arg;
	for (size_t i = 0; i < SIZE; i += pg) {
		if (i >= 4 * MB && i < 8 * MB)
			continue;
		if (p[i] != (i < MB ? 7 : 0))
			_exit(1);
		p[i] = 1;
	}
	if (probe_perms(p + 4 * MB, perms) == 0)
		_exit(2);	/* the DONTFORK part must be gone */
	if (probe_status_kb("VmLck:") != 0)
		_exit(3);
	_exit(0);
}

int main(void)
{
	char perms[5];
	int st;

	probe_require_preloaded();
	plan(3);
	p = mmap(NULL, SIZE, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED)
		bail("mmap");
	memset(p, 7, MB);
	if (mlock(p, SIZE) || madvise(p + 4 * MB, 4 * MB, MADV_DONTFORK))
		bail("mlock/madvise");
	st = probe_fork(child, NULL);
	ok(WIFEXITED(st) && WEXITSTATUS(st) == 0,
	   "the child reads and writes every page it has, holds no locks (status %d)",
	   WIFEXITED(st) ? WEXITSTATUS(st) : -WTERMSIG(st));
	probe_perms(p + 12 * MB, perms);
	ok(probe_pending(p + 12 * MB, "rw-p"),
	   "the parent's untouched pages are still pending (%s, %s engine)",
	   perms, probe_engine());
	ok(probe_status_kb("VmLck:") == (long)(SIZE >> 10) && p[12 * MB] == 0 &&
	   p[0] == 7, "the parent keeps its lock and its data");
	return done();
}
