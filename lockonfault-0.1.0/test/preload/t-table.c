/*
 * t-table.c - the table of managed ranges stays true when the program
 * changes its mappings under a pending lock-on-fault region.
 *
 * Each case maps a fresh region, writes every fourth page, mlock()s it
 * (and sometimes touches more pages), then:
 *   A. munlock() of the middle: the rest still locks on fault, the middle
 *      is plain accessible memory (rw-p, no lo, Locked 0 after touching);
 *   B. munmap() of a part, then a new mapping there and over the whole
 *      old region: fully accessible, nothing locked, no stray protection;
 *   C. mprotect(PROT_READ) over part of a pending region: reads work,
 *      writes die of SIGSEGV (forked children, on pages never touched,
 *      present before the lock, and already read); PROT_NONE is kept
 *      PROT_NONE; mprotect back to read-write restores writes;
 *   D. mremap() growth (MREMAP_MAYMOVE), a move (MREMAP_FIXED) and a
 *      shrink: data follows, new pages work and lock on fault, the old
 *      address range can be reused freely;
 *   E. MAP_FIXED over a part: a plain accessible zeroed mapping (read-
 *      write, and read-only where writes die);
 *   F. a region unmapped by munmap(), or by free() of a locked malloc()
 *      block (glibc unmaps it without the interposed munmap), leaves no
 *      trace: a PROT_NONE mapping placed there later still faults;
 *   G. realloc() of a locked malloc() block (glibc moves it with its own
 *      mremap) keeps every byte, pending pages included.
 * Data written before any of these operations is checked at the end of
 * each case.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include "probe.h"
#include "tap.h"

#ifndef MAP_FIXED_NOREPLACE
#define MAP_FIXED_NOREPLACE 0x100000
#endif

#define N 1024

static size_t pg;
static uint64_t shadow[2 * N];	/* expected word of each page */

static volatile uint64_t *word(char *p, size_t page)
{
	return (volatile uint64_t *)(p + page * pg + 40);
}

static char *map_region(size_t npages)
{
	char *p = mmap(NULL, npages * pg, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	if (p == MAP_FAILED)
		bail("mmap of %zu pages failed: %s", npages, strerror(errno));
	return p;
}

/* Writes every fourth page and records it; clears the shadow. */
static void prefill(char *p, size_t npages, uint64_t tag)
{
	size_t i;

	for (i = 0; i < npages; i++) {
		shadow[i] = i % 4 ? 0 : probe_mix(i, tag);
		if (shadow[i])
			*word(p, i) = shadow[i];
	}
}

static void put(char *p, size_t i, uint64_t v)
{
	shadow[i] = v;
	*word(p, i) = v;
}

/* Pages of [lo, hi) whose word differs from the shadow. */
static size_t verify(char *p, size_t lo, size_t hi)
{
	size_t i, bad = 0;

	for (i = lo; i < hi; i++)
		bad += *word(p, i) != shadow[i];
	return bad;
}

static int perms_are(void *a, const char *want)
{
	char perms[5];

	return !probe_perms(a, perms) && !strcmp(perms, want);
}

struct access {
	char *addr;
	int write;
};

static void child_access(void *arg)
{
	struct access *ac = arg;

	if (ac->write)
		*(volatile char *)ac->addr = 1;
	else
		(void)*(volatile char *)ac->addr;
}

/* 1 if the access dies of SIGSEGV in a forked child. */
static int dies_of_segv(char *addr, int write)
{
	struct access ac = { addr, write };
	char buf[80];
	int st = probe_fork(child_access, &ac);

	if (WIFSIGNALED(st) && WTERMSIG(st) == SIGSEGV)
		return 1;
	diag("%s at %p: child %s", write ? "write" : "read", (void *)addr,
	     probe_status_str(st, buf, sizeof(buf)));
	return 0;
}

/* 1 if the access works (the child exits 0) in a forked child. */
static int survives(char *addr, int write)
{
	struct access ac = { addr, write };
	char buf[80];
	int st = probe_fork(child_access, &ac);

	if (WIFEXITED(st) && WEXITSTATUS(st) == 0)
		return 1;
	diag("%s at %p: child %s", write ? "write" : "read", (void *)addr,
	     probe_status_str(st, buf, sizeof(buf)));
	return 0;
}

static void case_munlock_middle(void)
{
	size_t len = N * pg, i;
	char *p = map_region(N), *mid = p + 256 * pg;
	long locked;
	int r;

	prefill(p, N, 1);
	ok(mlock(p, len) == 0, "A: mlock of %d pages", N);
	r = munlock(mid, 512 * pg);
	ok(r == 0, "A: munlock of the middle half returns 0");
	ok(perms_are(mid, "rw-p") && perms_are(p + 300 * pg, "rw-p") &&
	   perms_are(p + 767 * pg, "rw-p"),
	   "A: the untouched middle is plain rw-p memory in /proc/self/maps");
	ok(probe_vmflag(p + 300 * pg, "lo") == 0 &&
	   probe_vmflag(p + 10 * pg, "lo") == 1 &&
	   probe_vmflag(p + 900 * pg, "lo") == 1,
	   "A: VmFlags lo only outside the middle");
	for (i = 256; i < 768; i++)
		put(p, i, probe_mix(i, 11));
	locked = probe_locked_kb(mid, 512 * pg);
	ok(locked == 0 && probe_page_locked(p + 301 * pg) == 0,
	   "A: the middle is not locked after touching all of it (Locked "
	   "%ld kB)", locked);
	put(p, 9, 0x99);
	put(p, 901, 0x901);
	ok(probe_page_locked(p + 9 * pg) == 1 &&
	   probe_page_locked(p + 901 * pg) == 1,
	   "A: the rest still locks on fault (pages 9 and 901 mlocked)");
	ok(verify(p, 0, N) == 0, "A: no data lost (%zu pages wrong)",
	   verify(p, 0, N));
	munlock(p, len);
	munmap(p, len);
}

static void case_munmap_part(void)
{
	size_t len = N * pg, i, bad = 0;
	char *p = map_region(N), *hole = p + 512 * pg, *q;
	int r;

	prefill(p, N, 2);
	mlock(p, len);
	r = munmap(hole, 256 * pg);
	ok(r == 0, "B: munmap of pages 512-767 returns 0");
	q = mmap(hole, 256 * pg, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
	if (!ok(q == hole, "B: a new mapping takes the hole")) {
		skip(5, "no new mapping");
		munmap(p, len);
		return;
	}
	ok(perms_are(q, "rw-p") && perms_are(q + 255 * pg, "rw-p"),
	   "B: the new mapping is rw-p in /proc/self/maps");
	for (i = 512; i < 768; i++)
		bad += *word(p, i) != 0;
	for (i = 512; i < 768; i++)
		put(p, i, probe_mix(i, 22));
	ok(bad == 0 && verify(p, 512, 768) == 0 &&
	   probe_locked_kb(q, 256 * pg) == 0 &&
	   probe_page_locked(q + 10 * pg) == 0,
	   "B: the new mapping is zeroed, fully usable and not locked (%zu "
	   "nonzero, Locked %ld kB)", bad, probe_locked_kb(q, 256 * pg));
	put(p, 801, 0x801);
	ok(verify(p, 0, N) == 0 && probe_page_locked(p + 801 * pg) == 1,
	   "B: the rest keeps its data and still locks on fault");

	munlock(p, len);
	munmap(p, len);
	q = mmap(p, len, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
	if (!ok(q == p, "B: a new mapping takes the whole old region")) {
		skip(1, "no new mapping");
		return;
	}
	for (i = 0, bad = 0; i < N; i++)
		*word(q, i) = i;
	for (i = 0; i < N; i++)
		bad += *word(q, i) != i;
	ok(bad == 0 && probe_locked_kb(q, len) == 0 &&
	   perms_are(q + 500 * pg, "rw-p"),
	   "B: it is fully accessible and not locked");
	munmap(q, len);
}

static void case_mprotect(void)
{
	size_t len = N * pg, i;
	char *p = map_region(N), *ro = p + 256 * pg;
	int r;

	prefill(p, N, 3);
	mlock(p, len);
	r = mprotect(ro, 256 * pg, PROT_READ);
	ok(r == 0, "C: mprotect(PROT_READ) over pages 256-511 returns 0");
	ok(dies_of_segv(p + 301 * pg, 1),
	   "C: a write to a never-touched read-only page dies of SIGSEGV");
	ok(dies_of_segv(p + 300 * pg + 7, 1),
	   "C: a write to a read-only page present before mlock dies of "
	   "SIGSEGV");
	ok(verify(p, 256, 512) == 0, "C: reads of the read-only part work");
	ok(dies_of_segv(p + 302 * pg, 1),
	   "C: a write to an already read read-only page dies of SIGSEGV");
	ok(perms_are(p + 302 * pg, "r--p"),
	   "C: the read-only part is r--p once read");
	ok(survives(p + 303 * pg, 0),
	   "C: a read of the read-only part works in a child");

	r = mprotect(ro, 256 * pg, PROT_READ | PROT_WRITE);
	ok(r == 0, "C: mprotect back to PROT_READ|PROT_WRITE returns 0");
	for (i = 256; i < 512; i++)
		put(p, i, probe_mix(i, 33));
	ok(verify(p, 0, N) == 0, "C: writes work again, no data lost");
	ok(probe_page_locked(p + 301 * pg) == 1 &&
	   probe_page_locked(p + 500 * pg) == 1,
	   "C: pages touched after the mprotects are mlocked");

	r = mprotect(p + 600 * pg, 100 * pg, PROT_NONE);
	ok(r == 0 && dies_of_segv(p + 650 * pg, 0) &&
	   dies_of_segv(p + 601 * pg, 0),
	   "C: mprotect(PROT_NONE): reads of the part die of SIGSEGV");
	r = mprotect(p + 600 * pg, 100 * pg, PROT_READ | PROT_WRITE);
	put(p, 651, 0x651);
	ok(r == 0 && verify(p, 0, N) == 0,
	   "C: back to read-write after PROT_NONE: data intact, writable");
	munlock(p, len);
	munmap(p, len);
}

static void case_mremap(void)
{
	size_t n = 256, i, bad;
	char *p = map_region(n), *q, *t, *res, *x;

	prefill(p, n, 4);
	mlock(p, n * pg);
	for (i = 1; i < n / 2; i += 4)
		put(p, i, probe_mix(i, 44));

	q = mremap(p, n * pg, 2 * n * pg, MREMAP_MAYMOVE);
	if (!ok(q != MAP_FAILED, "D: mremap growth x2 (MREMAP_MAYMOVE)")) {
		skip(9, "mremap failed");
		munmap(p, n * pg);
		return;
	}
	diag("D: growth %s the region", q == p ? "kept" : "moved");
	ok(verify(q, 0, n) == 0, "D: data kept through the growth (%zu "
	   "wrong)", verify(q, 0, n));
	for (i = n, bad = 0; i < 2 * n; i++)
		bad += probe_present(q + i * pg) == 1;
	diag("D: %zu of %zu grown pages present before any touch", bad, n);
	for (i = n; i < 2 * n; i++)
		shadow[i] = 0;
	bad = verify(q, n, 2 * n);	/* reads zero */
	for (i = n; i < 2 * n; i += 3)
		put(q, i, probe_mix(i, 45));
	ok(bad == 0 && verify(q, 0, 2 * n) == 0 &&
	   probe_page_locked(q + (n + 3) * pg) == 1,
	   "D: the grown pages read zero, are writable and lock on fault");

	res = mmap(NULL, 2 * n * pg, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS,
		   -1, 0);
	t = mremap(q, 2 * n * pg, 2 * n * pg, MREMAP_MAYMOVE | MREMAP_FIXED,
		   res);
	if (!ok(res != MAP_FAILED && t == res, "D: mremap move "
		"(MREMAP_FIXED)")) {
		skip(6, "mremap move failed");
		munmap(q, 2 * n * pg);
		return;
	}
	ok(verify(t, 0, 2 * n) == 0, "D: data kept through the move (%zu "
	   "wrong)", verify(t, 0, 2 * n));
	put(t, 130, 0x130);	/* never touched before */
	ok(probe_page_locked(t + 130 * pg) == 1 &&
	   probe_vmflag(t + 130 * pg, "lo") == 1,
	   "D: pending pages still lock on fault at the new address");

	x = mmap(q, 2 * n * pg, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
	bad = 0;
	if (x == q) {
		for (i = 0; i < 2 * n; i++)
			*word(x, i) = i + 1;
		for (i = 0; i < 2 * n; i++)
			bad += *word(x, i) != i + 1;
	}
	ok(x == q && bad == 0 && probe_locked_kb(x, 2 * n * pg) == 0,
	   "D: the old address range can be mapped again and is plain "
	   "memory");
	if (x == q)
		munmap(x, 2 * n * pg);

	q = mremap(t, 2 * n * pg, n / 2 * pg, 0);
	ok(q == t && verify(t, 0, n / 2) == 0,
	   "D: mremap shrink in place keeps the head's data");
	x = mmap(t + n / 2 * pg, pg, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
	if (x == t + n / 2 * pg)
		*word(x, 0) = 7;
	ok(x == t + n / 2 * pg && *word(x, 0) == 7 &&
	   probe_page_locked(x) == 0,
	   "D: the cut-off tail can be mapped again and is plain memory");
	if (x != MAP_FAILED)
		munmap(x, pg);
	munlock(t, n / 2 * pg);
	munmap(t, n / 2 * pg);
}

static void case_map_fixed(void)
{
	size_t len = N * pg, i, bad = 0;
	char *p = map_region(N), *q;

	prefill(p, N, 5);
	mlock(p, len);
	put(p, 5, 0x5);		/* resolved before the MAP_FIXED */
	q = mmap(p + 256 * pg, 256 * pg, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
	if (!ok(q == p + 256 * pg, "E: MAP_FIXED over pages 256-511")) {
		skip(6, "no mapping");
		munmap(p, len);
		return;
	}
	ok(perms_are(q, "rw-p") && perms_are(q + 255 * pg, "rw-p") &&
	   probe_vmflag(q, "lo") == 0,
	   "E: the new mapping is plain rw-p memory without lo");
	for (i = 256; i < 512; i++)
		bad += *word(p, i) != 0;
	for (i = 256; i < 512; i++)
		put(p, i, probe_mix(i, 55));
	ok(bad == 0 && verify(p, 256, 512) == 0 &&
	   probe_locked_kb(q, 256 * pg) == 0,
	   "E: it reads zero, is writable and stays unlocked (%zu nonzero)",
	   bad);
	put(p, 700, 0x700);
	ok(verify(p, 0, N) == 0 && probe_page_locked(p + 700 * pg) == 1,
	   "E: the rest keeps its data and still locks on fault");

	q = mmap(p + 800 * pg, 64 * pg, PROT_READ,
		 MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
	for (i = 800, bad = 0; i < 864; i++) {
		shadow[i] = 0;
		bad += *word(p, i) != 0;
	}
	ok(q == p + 800 * pg && bad == 0, "E: a PROT_READ MAP_FIXED mapping "
	   "over pages 800-863 reads zero");
	ok(dies_of_segv(p + 810 * pg, 1),
	   "E: a write to the PROT_READ MAP_FIXED mapping dies of SIGSEGV");
	ok(verify(p, 0, N) == 0, "E: no other data lost");
	munlock(p, len);
	munmap(p, len);
}

/*
 * A range that stops being a managed region must not leave anything
 * behind: a PROT_NONE mapping placed there later is the program's own,
 * and touching it must fault. 3 tests.
 */
static void case_gone(void)
{
	size_t len = 64 * pg, span;
	char *p = map_region(64), *q, *m, *a, perms[5];
	uintptr_t base;

	mlock(p, len);
	put(p, 1, 1);
	munmap(p, len);
	q = mmap(p, len, PROT_NONE,
		 MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
	ok(q == p && dies_of_segv(q + 30 * pg, 0),
	   "F: a PROT_NONE mapping where an unmapped region was: reads die "
	   "of SIGSEGV");
	if (q != MAP_FAILED)
		munmap(q, len);

	/*
	 * free() of a large malloc() block unmaps it inside glibc, without
	 * the interposed munmap.
	 */
	m = malloc(8 << 20);
	if (!m) {
		skip(2, "malloc failed");
		return;
	}
	ok(mlock(m, 8 << 20) == 0, "F: mlock of an 8 MiB malloc() block");
	m[100 * pg] = 1;
	/* The pages of the block, as plain numbers: m is about to be freed. */
	base = (uintptr_t)m & ~(uintptr_t)(pg - 1);
	span = ((uintptr_t)m + (8 << 20) + pg - 1 - base) &
	       ~(uintptr_t)(pg - 1);
	free(m);
	a = (char *)base;
	if (probe_perms(a + 200 * pg, perms) == 0) {
		skip(1, "glibc kept the freed block mapped");
		return;
	}
	q = mmap(a, span, PROT_NONE,
		 MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
	ok(q == a && dies_of_segv(q + 200 * pg, 0) &&
	   dies_of_segv(q + 100 * pg, 1),
	   "F: a PROT_NONE mapping where a locked malloc() block was freed: "
	   "reads and writes die of SIGSEGV");
	if (q != MAP_FAILED)
		munmap(q, span);
}

/* In a child: 0 if the realloc()ed block keeps every byte. */
static void realloc_child(void *arg)
{
	size_t len = 8 << 20, i, bad = 0;
	char *m = malloc(len), *m2;

	(void)arg;
	if (!m)
		_exit(2);
	for (i = 0; i < len; i += 4 * pg)	/* present before mlock */
		m[i] = (char)(i / pg + 1);
	if (mlock(m, len))
		_exit(3);
	for (i = pg; i < len / 2; i += 4 * pg)	/* resolved after it */
		m[i] = (char)(i / pg + 1);
	m2 = realloc(m, 2 * len);		/* glibc's own mremap */
	if (!m2)
		_exit(4);
	for (i = 0; i < len; i += pg)
		bad += m2[i] != (i % (4 * pg) == 0 ||
				 (i % (4 * pg) == pg && i < len / 2) ?
				 (char)(i / pg + 1) : 0);
	for (i = len; i < 2 * len; i += pg)
		m2[i] = 1;
	free(m2);
	_exit(bad ? 1 : 0);
}

/* realloc() of a locked malloc() block: 1 test. */
static void case_realloc(void)
{
	char buf[80];
	int st = probe_fork(realloc_child, NULL);

	ok(WIFEXITED(st) && WEXITSTATUS(st) == 0,
	   "G: realloc() of a locked 8 MiB malloc() block to 16 MiB keeps "
	   "every byte, pending pages included (%s)",
	   probe_status_str(st, buf, sizeof(buf)));
}

int main(void)
{
	plan(46);
	probe_require_preloaded();
	alarm(60);
	pg = probe_page_size();

	case_munlock_middle();
	case_munmap_part();
	case_mprotect();
	case_mremap();
	case_map_fixed();
	case_gone();
	case_realloc();
	return done();
}
