/*
 * t-mlockall.c - mlockall and munlockall under the library (SPEC 3.3,
 * issue 3).
 *
 *  - Errors are the kernel's: each bad call is made through libc and
 *    raw, and the errno compared (EINVAL for 0, MCL_ONFAULT alone and
 *    unknown bits).
 *  - Issue 3, item 1: after mlockall(MCL_CURRENT|MCL_FUTURE) the
 *    program still mallocs (small and large), creates a thread, forks,
 *    execs and posix_spawns; a new 256 MiB mapping is pending and has
 *    under 2% locked until touched, then exactly what was touched;
 *    munlockall leaves nothing locked (smaps_rollup Locked:, VmLck) and
 *    no page inaccessible.
 *  - MCL_CURRENT: an empty large data mapping becomes pending; a partly
 *    resident one stays with the kernel (lo, accessible, not populated;
 *    emulated: see below);
 *    a read-only one is pending and opens read-only; code and the stack
 *    are locked, never made PROT_NONE.
 *  - MCL_FUTURE: later mmaps become pending, glibc's own mappings
 *    (malloc's mmap, a thread's stack, brk) are locked by the kernel's
 *    def_flags; mappings made before are untouched.
 *  - A second mlockall replaces the first: MCL_CURRENT alone ends
 *    MCL_FUTURE.
 *  - With LOCKONFAULT_MIN_SIZE=1M (the test re-executes itself): a
 *    small mapping is populated and locked by mlockall(MCL_CURRENT), not
 *    by mlockall(MCL_CURRENT|MCL_ONFAULT); a large empty one is pending
 *    either way.
 *
 * "Pending" is what the engine leaves (probe_pending): PROT_NONE under
 * sigsegv; under native the program's protection, lo lf and absent.
 * The native engine passes mlockall to the kernel as one call with
 * MCL_ONFAULT, so under it MIN_SIZE cannot make MCL_CURRENT populate a
 * small mapping: that check expects the kernel's MCL_ONFAULT instead.
 *
 * Where the sigsegv engine emulates lock-on-fault (a kernel without
 * MCL_ONFAULT: the sim43 variant, probe_emulated()) there is no kernel
 * lock-on-fault to leave mappings to, so two checks differ:
 *  - the partly resident mapping: its resident page stays accessible
 *    and locked, its absent pages become pending (PROT_NONE under plain
 *    mlock, lo), and nothing is populated (Rss unchanged, data intact);
 *  - MIN_SIZE 1M, MCL_CURRENT|MCL_ONFAULT: the small mapping is locked
 *    the ordinary way, populated (Rss = Locked = its size), as the
 *    kernel can do nothing else with it.
 * Over a kernel with the flags (native, or sigsegv forced) the strict
 * versions hold: the partly resident mapping is left whole to the
 * kernel's lock-on-fault, and the small one is locked unpopulated.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <pthread.h>
#include <spawn.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include "probe.h"
#include "tap.h"

#define MB (1UL << 20)
#define BIG (256 * MB)

extern char **environ;

static size_t pg;

/*
 * len bytes between two PROT_NONE guard pages, so that neighbouring
 * test mappings never merge into one VMA.
 */
static char *map(size_t len, int prot)
{
	char *p = mmap(NULL, len + 2 * pg, PROT_NONE,
		       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	if (p == MAP_FAILED || mprotect(p + pg, len, prot))
		bail("mmap: %s", strerror(errno));
	return p + pg;
}

static void unmap(char *p, size_t len)
{
	munmap(p - pg, len + 2 * pg);
}

/* One plain mmap call, as a program makes under MCL_FUTURE. */
static char *map_plain(size_t len)
{
	char *p = mmap(NULL, len, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	if (p == MAP_FAILED)
		bail("mmap: %s", strerror(errno));
	return p;
}

static int perms_are(const void *p, const char *want)
{
	char perms[5];

	return probe_perms(p, perms) == 0 && !strcmp(perms, want);
}

static int run_wait(const char *path)
{
	char *argv[] = { (char *)path, NULL };
	pid_t pid;
	int st = -1;

	if (posix_spawn(&pid, path, NULL, NULL, argv, environ) ||
	    waitpid(pid, &st, 0) != pid)
		return -1;
	return st;
}

/* ---- errors ---- */

static void test_errors(void)
{
	static const int bad[] = { 0, MCL_ONFAULT, 0x100, MCL_CURRENT | 0x100 };

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		int r, e, kr, ke;

		errno = 0;
		r = mlockall(bad[i]);
		e = errno;
		errno = 0;
		kr = probe_sys_mlockall(bad[i]);
		ke = errno;
		ok(r == kr && e == ke && e == EINVAL,
		   "mlockall(%#x): %d errno %d, as the kernel (%d errno %d)",
		   bad[i], r, e, kr, ke);
	}
}

/* ---- issue 3, item 1 ---- */

struct thread_view {
	int lo;
	int ran;
};

static void *thread_fn(void *arg)
{
	struct thread_view *v = arg;
	volatile char local[64];

	local[0] = 1;
	v->lo = probe_vmflag((const void *)local, "lo");
	v->ran = 1;
	return NULL;
}

static void child_no_locks(void *arg)
{
	char *m = arg;

	m[5 * MB] = 1;
	_exit(probe_status_kb("VmLck:") == 0 &&
	      probe_rollup_kb("Locked:") == 0 ? 0 : 1);
}

static void test_item1(void)
{
	struct thread_view tv = { -1, 0 };
	pthread_t t;
	char *small, *large, *m;
	long kb, cap = (long)(BIG >> 10) * 2 / 100;
	int st, fine = 1;

	ok(mlockall(MCL_CURRENT | MCL_FUTURE) == 0,
	   "mlockall(MCL_CURRENT|MCL_FUTURE) returns 0");

	small = malloc(100);
	large = malloc(64 * MB);
	if (small && large) {
		strcpy(small, "small");
		memset(large, 7, 64 * MB);
	}
	ok(small && large && !strcmp(small, "small") &&
	   large[64 * MB - 1] == 7 && probe_vmflag(large, "lo") == 1 &&
	   perms_are(large, "rw-p"),
	   "malloc works, small and large; glibc's own 64 MiB mapping is locked (lo)");
	free(large);
	free(small);

	st = pthread_create(&t, NULL, thread_fn, &tv) == 0 &&
	     pthread_join(t, NULL) == 0;
	ok(st && tv.ran && tv.lo == 1,
	   "a thread is created and runs; its stack is locked (lo %d)", tv.lo);

	m = map_plain(BIG);
	kb = probe_locked_kb(m, BIG);
	ok(probe_vmflag(m, "lo") == 1 && probe_pending(m, "rw-p") &&
	   kb >= 0 && kb < cap,
	   "a new 256 MiB mapping is locked and pending: Locked: %ld kB (under %ld)",
	   kb, cap);

	st = probe_fork(child_no_locks, m);
	ok(WIFEXITED(st) && WEXITSTATUS(st) == 0,
	   "fork: the child touches the new mapping and holds no locks");
	st = run_wait("/bin/true");
	ok(st >= 0 && WIFEXITED(st) && WEXITSTATUS(st) == 0,
	   "posix_spawn and exec of /bin/true work");

	for (size_t i = 0; i < BIG; i += MB)
		m[i] = (char)(i / MB + 1);
	kb = probe_locked_kb(m, BIG);
	ok(kb >= 256 * (long)(pg >> 10) && kb < cap,
	   "touching a page in each MiB locks them: Locked: %ld kB", kb);

	ok(munlockall() == 0, "munlockall returns 0");
	kb = probe_rollup_kb("Locked:");
	ok(kb == 0 && probe_status_kb("VmLck:") == 0,
	   "munlockall leaves nothing locked: smaps_rollup Locked: %ld kB, VmLck %ld kB",
	   kb, probe_status_kb("VmLck:"));
	for (size_t i = 0; i < BIG; i += MB)
		fine &= m[i] == (char)(i / MB + 1);
	ok(fine && perms_are(m + 100 * MB + pg, "rw-p") &&
	   probe_vmflag(m, "lo") == 0,
	   "the mapping keeps its data and is an ordinary accessible one again");
	munmap(m, BIG);
}

/* ---- MCL_CURRENT ---- */

static void test_current(void)
{
	char *empty = map(4 * MB, PROT_READ | PROT_WRITE);
	char *partly = map(4 * MB, PROT_READ | PROT_WRITE);
	char *ro = map(4 * MB, PROT_READ);
	volatile char here = 1;
	long rss;

	partly[0] = 1;
	rss = probe_rss_kb(partly, 4 * MB);
	ok(mlockall(MCL_CURRENT) == 0, "mlockall(MCL_CURRENT) returns 0");
	ok(probe_pending(empty, "rw-p") && probe_vmflag(empty, "lo") == 1 &&
	   probe_present(empty) == 0,
	   "MCL_CURRENT: an empty data mapping becomes pending");
	if (!probe_emulated())
		ok(perms_are(partly + MB, "rw-p") &&
		   probe_vmflag(partly, "lo") == 1 &&
		   probe_rss_kb(partly, 4 * MB) == rss &&
		   probe_page_locked(partly) != 0,
		   "MCL_CURRENT: a partly resident one stays accessible, lock-on-fault, not populated (Rss %ld kB)",
		   probe_rss_kb(partly, 4 * MB));
	else
		ok(perms_are(partly, "rw-p") && probe_vmflag(partly, "lo") == 1 &&
		   probe_page_locked(partly) != 0 &&
		   probe_pending(partly + MB, "rw-p") &&
		   probe_vmflag(partly + MB, "lo") == 1 &&
		   probe_present(partly + MB) == 0 &&
		   probe_rss_kb(partly, 4 * MB) == rss && partly[0] == 1,
		   "MCL_CURRENT: emulated: a partly resident one keeps its resident page accessible and locked, the rest pending, not populated (Rss %ld kB)",
		   probe_rss_kb(partly, 4 * MB));
	ok(probe_pending(ro, "r--p") && ro[MB] == 0 &&
	   perms_are(ro + MB, "r--p"),
	   "MCL_CURRENT: a read-only mapping is pending and opens read-only");
	ok(perms_are((void *)&test_current, "r-xp") &&
	   probe_vmflag((void *)&test_current, "lo") == 1,
	   "MCL_CURRENT: code is locked and stays executable");
	ok(probe_vmflag((const void *)&here, "lo") == 1 &&
	   perms_are((const void *)&here, "rw-p"),
	   "MCL_CURRENT: the stack is locked and stays accessible");
	empty[2 * MB] = 5;
	ok(probe_page_locked(empty + 2 * MB) != 0 &&
	   probe_locked_kb(empty, 4 * MB) >= (long)(pg >> 10),
	   "MCL_CURRENT: a touched pending page is locked");
	ok(munlockall() == 0 && perms_are(empty, "rw-p") &&
	   empty[2 * MB] == 5 && probe_vmflag(empty, "lo") == 0 &&
	   probe_rollup_kb("Locked:") == 0,
	   "munlockall opens the pending mappings and unlocks everything");
	unmap(empty, 4 * MB);
	unmap(partly, 4 * MB);
	unmap(ro, 4 * MB);
}

/* ---- MCL_FUTURE, replacement ---- */

static void test_future(void)
{
	char *before = map(4 * MB, PROT_READ | PROT_WRITE), *after, *m;
	struct thread_view tv = { -1, 0 };
	pthread_attr_t attr;
	pthread_t t;
	char *brk0;

	ok(mlockall(MCL_FUTURE) == 0, "mlockall(MCL_FUTURE) returns 0");
	ok(probe_vmflag(before, "lo") == 0 && perms_are(before, "rw-p"),
	   "MCL_FUTURE: a mapping made before is left alone");
	after = map_plain(4 * MB);
	ok(probe_vmflag(after, "lo") == 1 && probe_pending(after, "rw-p") &&
	   probe_rss_kb(after, 4 * MB) == 0,
	   "MCL_FUTURE: a later mmap is locked and pending, nothing populated");
	m = malloc(32 * MB);
	ok(m && probe_vmflag(m, "lo") == 1 && probe_rss_kb(m, 32 * MB) < 64,
	   "MCL_FUTURE: malloc's own mmap is locked by the kernel, not populated");
	free(m);
	/* Larger than the default, so glibc cannot reuse a cached stack. */
	pthread_attr_init(&attr);
	pthread_attr_setstacksize(&attr, 16 * MB);
	ok(pthread_create(&t, &attr, thread_fn, &tv) == 0 &&
	   pthread_join(t, NULL) == 0 && tv.lo == 1,
	   "MCL_FUTURE: a new thread's stack is locked");
	pthread_attr_destroy(&attr);
	brk0 = sbrk(0);
	ok(brk0 != (void *)-1 && sbrk((intptr_t)MB) == brk0 &&
	   probe_vmflag(brk0, "lo") == 1,
	   "MCL_FUTURE: brk growth is locked");
	sbrk(-(intptr_t)MB);

	ok(mlockall(MCL_CURRENT | MCL_FUTURE) == 0 &&
	   mlockall(MCL_CURRENT) == 0, "mlockall(MCL_CURRENT) after MCL_CURRENT|MCL_FUTURE");
	munmap(after, 4 * MB);
	after = map_plain(4 * MB);
	ok(probe_vmflag(after, "lo") == 0 && perms_are(after, "rw-p"),
	   "a second mlockall replaces the first: MCL_CURRENT alone ends MCL_FUTURE");
	ok(munlockall() == 0 && probe_rollup_kb("Locked:") == 0 &&
	   perms_are(before, "rw-p"), "munlockall: nothing locked, nothing pending");
	munmap(after, 4 * MB);
	unmap(before, 4 * MB);
}

/* ---- small mappings, under LOCKONFAULT_MIN_SIZE=1M ---- */

static int minsize_half(void)
{
	char *small = map(16 * pg, PROT_READ | PROT_WRITE);
	char *large = map(4 * MB, PROT_READ | PROT_WRITE);
	int fails = 0;

	if (mlockall(MCL_CURRENT | MCL_ONFAULT))
		fails |= 1;
	if (probe_emulated()) {
		/* No lock-on-fault for what the engine leaves: mlock. */
		if (probe_rss_kb(small, 16 * pg) != (long)(16 * pg >> 10) ||
		    probe_locked_kb(small, 16 * pg) != (long)(16 * pg >> 10) ||
		    !perms_are(small, "rw-p") || probe_vmflag(small, "lo") != 1)
			fails |= 2;
	} else if (probe_rss_kb(small, 16 * pg) != 0 ||
		   perms_are(small, "---p") ||
		   probe_vmflag(small, "lo") != 1) {
		fails |= 2;
	}
	if (!probe_pending(large, "rw-p"))
		fails |= 4;
	munlockall();
	if (mlockall(MCL_CURRENT))
		fails |= 1;
	if (probe_native()) {
		/* One call for all mappings: the kernel's MCL_ONFAULT. */
		if (probe_rss_kb(small, 16 * pg) != 0 ||
		    probe_vmflag(small, "lo") != 1 ||
		    probe_vmflag(small, "lf") != 1)
			fails |= 8;
	} else if (probe_rss_kb(small, 16 * pg) != (long)(16 * pg >> 10) ||
		   probe_locked_kb(small, 16 * pg) != (long)(16 * pg >> 10)) {
		fails |= 8;
	}
	if (!probe_pending(large, "rw-p") || probe_rss_kb(large, 4 * MB) != 0)
		fails |= 16;
	munlockall();
	return fails;
}

static void test_minsize(const char *self)
{
	pid_t pid;
	int st = -1, r;

	fflush(NULL);
	pid = fork();
	if (pid == 0) {
		setenv("LOCKONFAULT_MIN_SIZE", "1M", 1);
		execl("/proc/self/exe", self, "minsize", (char *)NULL);
		_exit(127);
	}
	waitpid(pid, &st, 0);
	r = WIFEXITED(st) ? WEXITSTATUS(st) : 255;
	ok(r != 127 && r != 255, "MIN_SIZE 1M: the test re-executed itself (status %d)", r);
	ok(r < 64 && !(r & 1), "MIN_SIZE 1M: both mlockall calls return 0");
	ok(r < 64 && !(r & 2),
	   probe_emulated() ?
	   "MIN_SIZE 1M: emulated: MCL_CURRENT|MCL_ONFAULT locks a small mapping the ordinary way (populated, Locked = Size)" :
	   "MIN_SIZE 1M: MCL_CURRENT|MCL_ONFAULT locks a small mapping without populating it");
	ok(r < 64 && !(r & 8),
	   probe_native() ?
	   "MIN_SIZE 1M: native: MCL_CURRENT becomes the kernel's MCL_ONFAULT for a small mapping too (lo lf, not populated)" :
	   "MIN_SIZE 1M: MCL_CURRENT populates and locks a small mapping, as the kernel");
	ok(r < 64 && !(r & 20),
	   "MIN_SIZE 1M: a large empty mapping is pending either way");
}

int main(int argc, char **argv)
{
	probe_require_preloaded();
	pg = probe_page_size();
	if (argc > 1 && !strcmp(argv[1], "minsize"))
		return minsize_half();

	plan(0);
	alarm(120);
	test_errors();
	test_item1();
	test_current();
	test_future();
	test_minsize(argv[0]);
	return done();
}
