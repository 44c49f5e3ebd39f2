/*
 * t-mlock2.c - the kernel selftests' lock-on-fault properties, checked
 * page by page through pagemap and kpageflags as the older
 * tools/testing/selftests/vm/mlock2-tests.c did.
 *
 * For mlock(), mlock2(flags 0) and mlock2(MLOCK_ONFAULT): the call
 * returns 0, the kernel marks the range (VmFlags lo, VmLck charged for
 * the whole range) but nothing is made present; touching one page makes
 * that page, and only it, present and mlocked; munlock() unlocks it and
 * keeps its data. mmap(MAP_LOCKED) is lazy the same way, with MAP_FIXED
 * over a mapping too. Pages present
 * before the lock call are locked at once without being touched again.
 * Unknown mlock2 flags give EINVAL and lock nothing. Unaligned addresses
 * and lengths round out to whole pages. A forked child can touch pending
 * pages and they are not locked in it.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include "probe.h"
#include "tap.h"

#define NPG 64

static size_t pg;

static char *map_anon(size_t npages, int flags)
{
	char *p = mmap(NULL, npages * pg, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS | flags, -1, 0);

	if (p == MAP_FAILED)
		bail("mmap of %zu pages failed: %s", npages, strerror(errno));
	return p;
}

static size_t count_present(char *p, size_t npages)
{
	size_t i, n = 0;

	for (i = 0; i < npages; i++)
		n += probe_present(p + i * pg) == 1;
	return n;
}

static volatile uint64_t *word(char *p, size_t page)
{
	return (volatile uint64_t *)(p + page * pg + 24);
}

enum lockfn { LF_MLOCK, LF_MLOCK2_0, LF_MLOCK2_ONFAULT };

static const char *const lock_name[] = {
	"mlock", "mlock2(0)", "mlock2(MLOCK_ONFAULT)",
};

static int do_lock(enum lockfn fn, void *p, size_t len)
{
	switch (fn) {
	case LF_MLOCK:
		return mlock(p, len);
	case LF_MLOCK2_0:
		return mlock2(p, len, 0);
	default:
		return mlock2(p, len, MLOCK_ONFAULT);
	}
}

/* The lazy lock-touch-unlock cycle of one lock call: 7 tests. */
static void lazy_cycle(enum lockfn fn)
{
	const char *name = lock_name[fn];
	size_t len = NPG * pg, present;
	long vmlck0, vmlck, locked;
	char *p = map_anon(NPG, 0);
	int r, lo;

	vmlck0 = probe_status_kb("VmLck:");
	r = do_lock(fn, p, len);
	ok(r == 0, "%s: returns 0 (errno %d)", name, r ? errno : 0);

	vmlck = probe_status_kb("VmLck:");
	lo = probe_vmflag(p, "lo");
	ok(lo == 1 && vmlck - vmlck0 == (long)(len / 1024),
	   "%s: the kernel marks the range locked (VmFlags lo %d, VmLck "
	   "+%ld kB, want +%zu)", name, lo, vmlck - vmlck0, len / 1024);

	locked = probe_locked_kb(p, len);
	present = count_present(p, NPG);
	ok(locked == 0 && present == 0, "%s: lazy: Locked %ld kB, %zu of "
	   "%d pages present before any touch", name, locked, present, NPG);

	*word(p, 3) = 0x3333;
	ok(probe_present(p + 3 * pg) == 1 &&
	   probe_page_locked(p + 3 * pg) == 1,
	   "%s: the touched page is present and mlocked", name);

	locked = probe_locked_kb(p, len);
	present = count_present(p, NPG);
	ok(probe_present(p + 2 * pg) == 0 && probe_present(p + 4 * pg) == 0 &&
	   present == 1 && locked == (long)(pg / 1024),
	   "%s: untouched neighbours stay absent (%zu present, Locked %ld "
	   "kB)", name, present, locked);

	r = munlock(p, len);
	locked = probe_locked_kb(p, len);
	ok(r == 0 && locked == 0 && probe_page_locked(p + 3 * pg) == 0,
	   "%s: munlock returns 0 and unlocks (ret %d, Locked %ld kB)",
	   name, r, locked);

	vmlck = probe_status_kb("VmLck:");
	ok(*word(p, 3) == 0x3333 && vmlck == vmlck0,
	   "%s: data kept and VmLck restored after munlock (VmLck %ld, "
	   "was %ld)", name, vmlck, vmlck0);
	munmap(p, len);
}

/*
 * mmap(MAP_LOCKED), and mmap(MAP_FIXED|MAP_LOCKED) over a mapping whose
 * pages are all present: 5 tests each.
 */
static void map_locked(int fixed)
{
	const char *name = fixed ? "mmap(MAP_FIXED|MAP_LOCKED)"
				 : "mmap(MAP_LOCKED)";
	size_t len = NPG * pg, present;
	char *p = NULL, *old = NULL;
	long locked;

	if (fixed) {
		old = mmap(NULL, len, PROT_READ | PROT_WRITE,
			   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (old == MAP_FAILED)
			bail("mmap: %s", strerror(errno));
		memset(old, 0x77, len);
	}
	p = mmap(old, len, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS | MAP_LOCKED |
			 (fixed ? MAP_FIXED : 0), -1, 0);
	if (!ok(p != MAP_FAILED && (!fixed || p == old),
		"%s succeeds (errno %d)", name, p == MAP_FAILED ? errno : 0)) {
		skip(4, "no mapping");
		return;
	}
	ok(probe_vmflag(p, "lo") == 1, "%s: VmFlags lo", name);
	locked = probe_locked_kb(p, len);
	present = count_present(p, NPG);
	ok(locked == 0 && present == 0, "%s: lazy: Locked %ld "
	   "kB, %zu pages present", name, locked, present);
	*word(p, 5) = 0x5555;
	ok(probe_page_locked(p + 5 * pg) == 1 && *word(p, 5) == 0x5555,
	   "%s: the touched page is mlocked", name);
	locked = probe_locked_kb(p, len);
	present = count_present(p, NPG);
	ok(present == 1 && locked == (long)(pg / 1024),
	   "%s: only the touched page present and locked (%zu "
	   "present, Locked %ld kB)", name, present, locked);
	munmap(p, len);
}

/* Pages present before the lock call: 4 tests. */
static void present_before(enum lockfn fn)
{
	const char *name = lock_name[fn];
	size_t len = NPG * pg, i, notlocked = 0, bad = 0, present;
	char *p = map_anon(NPG, 0);
	long locked;
	int r;

	for (i = 0; i < 8; i++)
		*word(p, i) = probe_mix(i, fn);
	r = do_lock(fn, p, len);
	ok(r == 0, "%s of 8 present + 56 absent pages returns 0", name);
	locked = probe_locked_kb(p, len);
	for (i = 0; i < 8; i++)
		notlocked += probe_page_locked(p + i * pg) != 1;
	ok(locked == (long)(8 * pg / 1024) && notlocked == 0,
	   "%s: present pages locked at once, untouched (Locked %ld kB, "
	   "%zu not mlocked)", name, locked, notlocked);
	present = count_present(p, NPG);
	ok(present == 8, "%s: absent pages not faulted in (%zu present)",
	   name, present);
	for (i = 0; i < 8; i++)
		bad += *word(p, i) != probe_mix(i, fn);
	ok(bad == 0, "%s: data of the present pages kept (%zu wrong)", name,
	   bad);
	munlock(p, len);
	munmap(p, len);
}

/* Unknown flags: 3 tests. */
static void bad_flags(void)
{
	size_t len = NPG * pg;
	char *p = map_anon(NPG, 0);
	long locked;
	int r, e;

	errno = 0;
	r = mlock2(p, len, 0x2);
	e = errno;
	ok(r == -1 && e == EINVAL, "mlock2(flags 0x2) -> -1/EINVAL (got %d/%d)",
	   r, e);
	errno = 0;
	r = mlock2(p, len, MLOCK_ONFAULT | 0x4);
	e = errno;
	ok(r == -1 && e == EINVAL, "mlock2(MLOCK_ONFAULT|0x4) -> -1/EINVAL "
	   "(got %d/%d)", r, e);
	*word(p, 0) = 1;
	locked = probe_locked_kb(p, len);
	ok(locked == 0 && probe_page_locked(p) == 0 &&
	   probe_vmflag(p, "lo") == 0,
	   "a failed mlock2 locks nothing (Locked %ld kB after a touch)",
	   locked);
	munmap(p, len);
}

/* Unaligned ranges: 7 tests. */
static void unaligned(void)
{
	size_t len = NPG * pg;
	char *p = map_anon(NPG, 0);
	int r;

	r = mlock(p + 100, 1);
	ok(r == 0, "mlock(p + 100, 1) returns 0");
	*word(p, 0) = 1;
	*word(p, 1) = 1;
	ok(probe_page_locked(p) == 1, "mlock(p + 100, 1): page 0 locked when "
	   "touched");
	ok(probe_page_locked(p + pg) == 0, "mlock(p + 100, 1): page 1 not "
	   "locked when touched");
	r = munlock(p + 200, 1);
	ok(r == 0 && probe_page_locked(p) == 0 && probe_locked_kb(p, len) == 0,
	   "munlock(p + 200, 1) unlocks page 0");
	munmap(p, len);

	p = map_anon(NPG, 0);
	r = mlock(p + pg - 1, 2);
	ok(r == 0, "mlock(p + page - 1, 2) returns 0");
	*word(p, 0) = 1;
	*word(p, 1) = 1;
	*word(p, 2) = 1;
	ok(probe_page_locked(p) == 1 && probe_page_locked(p + pg) == 1,
	   "mlock(p + page - 1, 2): pages 0 and 1 locked when touched");
	ok(probe_page_locked(p + 2 * pg) == 0 &&
	   probe_locked_kb(p, len) == (long)(2 * pg / 1024),
	   "mlock(p + page - 1, 2): page 2 not locked (Locked %ld kB)",
	   probe_locked_kb(p, len));
	munlock(p, len);
	munmap(p, len);
}

static char *fork_p;

/* In the child: bit 0 data, bit 1 Locked, bit 2 lo flag. */
static void fork_child(void *arg)
{
	char *p = fork_p;
	int fail = 0;

	(void)arg;
	if (*word(p, 10) != 0xaaaa)
		fail |= 1;
	*word(p, 20) = 0xbbbb;
	if (*word(p, 20) != 0xbbbb)
		fail |= 1;
	if (probe_locked_kb(p, NPG * pg) != 0 ||
	    probe_page_locked(p + 20 * pg) != 0)
		fail |= 2;
	if (probe_vmflag(p + 20 * pg, "lo") != 0)
		fail |= 4;
	if (fail)
		diag("child: Locked %ld kB, page 20 locked %d, lo %d",
		     probe_locked_kb(p, NPG * pg),
		     probe_page_locked(p + 20 * pg),
		     probe_vmflag(p + 20 * pg, "lo"));
	_exit(fail);
}

/* fork(): 2 tests. */
static void forked(void)
{
	char *p = map_anon(NPG, 0), buf[80];
	int st;

	*word(p, 10) = 0xaaaa;
	mlock(p, NPG * pg);
	fork_p = p;
	st = probe_fork(fork_child, NULL);
	ok(WIFEXITED(st) && WEXITSTATUS(st) == 0,
	   "fork: the child reads and writes pending pages, nothing locked "
	   "in it (%s; 1 data, 2 locked, 4 lo)",
	   probe_status_str(st, buf, sizeof(buf)));
	ok(*word(p, 10) == 0xaaaa && probe_present(p + 20 * pg) == 0 &&
	   probe_page_locked(p + 10 * pg) == 1,
	   "fork: the parent's pages are untouched by the child");
	munlock(p, NPG * pg);
	munmap(p, NPG * pg);
}

int main(void)
{
	plan(51);
	probe_require_preloaded();
	alarm(60);
	pg = probe_page_size();

	lazy_cycle(LF_MLOCK);
	lazy_cycle(LF_MLOCK2_0);
	lazy_cycle(LF_MLOCK2_ONFAULT);
	map_locked(0);
	map_locked(1);
	present_before(LF_MLOCK);
	present_before(LF_MLOCK2_ONFAULT);
	bad_flags();
	unaligned();
	forked();
	return done();
}
