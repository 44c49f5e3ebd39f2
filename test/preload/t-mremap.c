/*
 * t-mremap.c - mremap over locked ranges, against the kernel's own
 * lock-on-fault (issue 12 d).
 *
 * Each row of the table below builds the same layout twice in a forked
 * child: once with the kernel's own calls only (raw mmap, mlock2 with
 * MLOCK_ONFAULT, mremap, munmap: the library is never asked, so it
 * keeps out of the way), once through libc, where the preloaded library
 * sees every call. On a kernel without MLOCK_ONFAULT (sim43) the
 * reference locks with plain mlock; only touched pages are then
 * compared, which both lock alike.
 *
 * A row: a mapping of some pages (anonymous private or shared, a
 * memfd shared or private) holding known data, a lock-on-fault range
 * in it, some pages touched (written) after the lock, and one mremap
 * with a layout around it: a hole after the mapping (room to grow in
 * place), a mapping of the program's own after it (no room), a target
 * for MREMAP_FIXED. What is compared between the two runs:
 *  - the return: failure with its errno, the old address, the
 *    MREMAP_FIXED target, or elsewhere (a move);
 *  - for each page of the result that was touched before: present,
 *    mlocked (kpageflags, root only), lo and the protection;
 *  - the data of every page of the result (a hash), read afterwards;
 *  - after every page of the result is written: each is lo and, where
 *    kpageflags can be read, mlocked (a grown tail is locked on touch);
 *  - for MREMAP_DONTUNMAP, the old range after the move: its data
 *    (zeros, or the file's) and whether a page written there is locked;
 *  - for old_len 0 on a shared mapping, that the old and the new view
 *    share their pages both ways.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "probe.h"
#include "tap.h"

#ifndef MREMAP_DONTUNMAP
#define MREMAP_DONTUNMAP 4
#endif

#define MAXPG 1600

enum kind { ANON_PRIV, ANON_SHARED, FILE_SHARED, FILE_PRIV };
enum layout { ROOM, NOROOM };
enum ret { R_FAIL, R_SAME, R_FIXED, R_MOVED };

struct mcase {
	const char *name;
	enum kind kind;
	int map_pages;		/* the mapping */
	int lock_off, lock_pages;	/* the locked range, in pages */
	const char *touch;	/* pages written after the lock */
	enum layout layout;
	int old_off, old_pages, new_pages;	/* the mremap, in pages */
	int flags;		/* MREMAP_* (FIXED: a reserved target) */
};

static const struct mcase cases[] = {
	{ "shrink", ANON_PRIV, 16, 0, 16, "0 3 9 12", NOROOM,
	  0, 16, 8, 0 },
	{ "shrink to the pending part", ANON_PRIV, 16, 0, 16, "0 1", NOROOM,
	  0, 16, 6, 0 },
	{ "grow in place with room", ANON_PRIV, 16, 0, 16, "0 5 15", ROOM,
	  0, 16, 32, 0 },
	{ "grow in place with room, last page pending", ANON_PRIV, 16, 0, 16,
	  "0 5", ROOM, 0, 16, 32, 0 },
	{ "grow in place, nothing touched", ANON_PRIV, 16, 0, 16, "", ROOM,
	  0, 16, 32, 0 },
	{ "grow without room, no MAYMOVE: ENOMEM", ANON_PRIV, 16, 0, 16,
	  "0 5 15", NOROOM, 0, 16, 32, 0 },
	{ "grow without room, no MAYMOVE, last page pending", ANON_PRIV, 16,
	  0, 16, "2 7", NOROOM, 0, 16, 32, 0 },
	{ "grow without room, MAYMOVE: moves", ANON_PRIV, 16, 0, 16,
	  "0 5 15", NOROOM, 0, 16, 32, MREMAP_MAYMOVE },
	{ "grow with room, MAYMOVE: in place", ANON_PRIV, 16, 0, 16, "1 6",
	  ROOM, 0, 16, 24, MREMAP_MAYMOVE },
	{ "MREMAP_FIXED, same size", ANON_PRIV, 16, 0, 16, "0 4 8", NOROOM,
	  0, 16, 16, MREMAP_MAYMOVE | MREMAP_FIXED },
	{ "MREMAP_FIXED, grown", ANON_PRIV, 16, 0, 16, "3 11", NOROOM,
	  0, 16, 24, MREMAP_MAYMOVE | MREMAP_FIXED },
	{ "MREMAP_DONTUNMAP", ANON_PRIV, 16, 0, 16, "0 2 9", NOROOM,
	  0, 16, 16, MREMAP_MAYMOVE | MREMAP_DONTUNMAP },
	{ "middle of a mapping, moved", ANON_PRIV, 32, 0, 32, "2 5 9 20",
	  NOROOM, 4, 8, 16, MREMAP_MAYMOVE },
	{ "middle of a mapping, shrunk", ANON_PRIV, 32, 0, 32, "5 6 9",
	  NOROOM, 4, 8, 3, 0 },
	{ "tail of a mapping, grown in place", ANON_PRIV, 32, 0, 32,
	  "9 30", ROOM, 8, 24, 40, 0 },
	{ "tail of a mapping, no room: ENOMEM", ANON_PRIV, 32, 0, 32,
	  "9 30", NOROOM, 8, 24, 40, 0 },
	{ "old range over locked and unlocked parts: EFAULT", ANON_PRIV, 32, 8, 16,
	  "9 12", NOROOM, 0, 32, 48, MREMAP_MAYMOVE },
	{ "old range across two mappings: EFAULT", ANON_PRIV, 16, 0, 16,
	  "1", NOROOM, 0, 17, 32, MREMAP_MAYMOVE },
	{ "shared anonymous, moved (MREMAP_FIXED)", ANON_SHARED, 16, 0, 16,
	  "0 7", NOROOM, 0, 16, 16, MREMAP_MAYMOVE | MREMAP_FIXED },
	{ "shared anonymous, shrunk", ANON_SHARED, 16, 0, 16, "0 7 12",
	  NOROOM, 0, 16, 10, 0 },
	{ "shared anonymous, old_len 0", ANON_SHARED, 16, 0, 16, "1 3",
	  NOROOM, 0, 0, 8, MREMAP_MAYMOVE },
	{ "shared anonymous, old_len 0 at a touched page", ANON_SHARED, 16,
	  0, 16, "0 3", NOROOM, 0, 0, 8, MREMAP_MAYMOVE },
	{ "shared anonymous, old_len 0, inside", ANON_SHARED, 16, 0, 16,
	  "5", NOROOM, 4, 0, 8, MREMAP_MAYMOVE },
	{ "shared file, old_len 0", FILE_SHARED, 16, 0, 16, "2", NOROOM,
	  0, 0, 16, MREMAP_MAYMOVE },
	{ "shared file, grown in place", FILE_SHARED, 16, 0, 16, "0 9",
	  ROOM, 0, 16, 24, 0 },
	{ "private file, moved", FILE_PRIV, 16, 0, 16, "0 9", NOROOM,
	  0, 16, 24, MREMAP_MAYMOVE },
	{ "private file, shrunk", FILE_PRIV, 16, 0, 16, "4 10", NOROOM,
	  0, 16, 12, 0 },
	{ "sparse touches, grown in place with room", ANON_PRIV, 1024, 0,
	  1024, "0 500 1000", ROOM, 0, 1024, 1536, 0 },
	{ "sparse touches, no room: ENOMEM", ANON_PRIV, 1024, 0, 1024,
	  "0 500 1000", NOROOM, 0, 1024, 1536, 0 },
	{ "sparse touches, no room, MAYMOVE: moves", ANON_PRIV, 1024, 0,
	  1024, "3 400 1023", NOROOM, 0, 1024, 1100, MREMAP_MAYMOVE },
	{ "sparse touches, MREMAP_FIXED, shrunk", ANON_PRIV, 1024, 0, 1024,
	  "3 400 900", NOROOM, 0, 1024, 700, MREMAP_MAYMOVE | MREMAP_FIXED },
	{ "sparse touches, MREMAP_DONTUNMAP", ANON_PRIV, 1024, 0, 1024,
	  "10 600 1000", NOROOM, 0, 1024, 1024,
	  MREMAP_MAYMOVE | MREMAP_DONTUNMAP },
	{ "private anonymous, old_len 0: EINVAL", ANON_PRIV, 16, 0, 16, "1",
	  NOROOM, 0, 0, 8, MREMAP_MAYMOVE },
};

#define NCASES (sizeof(cases) / sizeof(cases[0]))

/* What one run observed, written by the child into shared memory. */
struct outcome {
	int done;
	int ret;		/* enum ret */
	int err;
	int npages;		/* pages of the result */
	int touched[MAXPG];	/* page of the result touched before */
	struct probe_page st[MAXPG];	/* before anything else is read */
	uint64_t hash[MAXPG];
	struct probe_page after[MAXPG];	/* after every page was written */
	int shared_ok;		/* old_len 0: the views share pages */
	uint64_t old_hash[MAXPG];	/* DONTUNMAP: the old range */
	struct probe_page old_after[MAXPG];
	char note[160];
};

static size_t pg;
static int ref_onfault;

/*
 * The pages whose state is read: all of a small result; of a large one
 * (reading smaps per page is slow) the touched ones, every 64th and
 * the last.
 */
static int probed(const struct outcome *o, int i)
{
	return o->npages <= 64 || o->touched[i] || i % 64 == 0 ||
	       i == o->npages - 1;
}

/* The calls of one run: the kernel's own, or libc's (the library). */
struct calls {
	void *(*mmap)(void *, size_t, int, int, int, off_t);
	int (*munmap)(void *, size_t);
	int (*lock)(const void *, size_t);
	void *(*mremap)(void *, size_t, size_t, int, void *);
};

static void *raw_mmap(void *a, size_t l, int prot, int fl, int fd, off_t o)
{
	return probe_sys_mmap(a, l, prot, fl, fd, o);
}

static int raw_munmap(void *a, size_t l)
{
	return (int)probe_raw_syscall(SYS_munmap, (long)a, (long)l, 0, 0, 0,
				      0);
}

static int raw_lock(const void *a, size_t l)
{
	if (ref_onfault)
		return probe_sys_mlock2(a, l, MLOCK_ONFAULT);
	return probe_sys_mlock(a, l);
}

static void *raw_mremap(void *o, size_t ol, size_t nl, int fl, void *na)
{
	long r = probe_raw_syscall(SYS_mremap, (long)o, (long)ol, (long)nl,
				   (long)fl, (long)na, 0);

	return r == -1 ? MAP_FAILED : (void *)r;
}

static int lib_lock(const void *a, size_t l)
{
	return mlock2(a, l, MLOCK_ONFAULT);
}

static void *lib_mremap(void *o, size_t ol, size_t nl, int fl, void *na)
{
	return mremap(o, ol, nl, fl, na);
}

static const struct calls kernel_calls = { raw_mmap, raw_munmap, raw_lock,
					   raw_mremap };
static const struct calls lib_calls = { mmap, munmap, lib_lock, lib_mremap };

static uint64_t hash_page(const unsigned char *p)
{
	uint64_t h = 1469598103934665603ULL;

	for (size_t i = 0; i < pg; i += 8) {
		uint64_t w;

		memcpy(&w, p + i, sizeof(w));
		h = (h ^ w) * 1099511628211ULL;
	}
	return h;
}

/* The known data of page i of the file (or of an anonymous mapping). */
static void fill_page(unsigned char *p, int i, uint64_t salt)
{
	for (size_t o = 0; o < pg; o += 8) {
		uint64_t w = probe_mix(i * 4096 + o, salt);

		memcpy(p + o, &w, sizeof(w));
	}
}

static int parse_touch(const char *s, int *pages, int max)
{
	int n = 0;

	while (*s && n < max) {
		char *end;
		long v = strtol(s, &end, 10);

		if (end == s)
			break;
		pages[n++] = (int)v;
		s = end;
	}
	return n;
}

static void run(const struct mcase *c, const struct calls *k,
		struct outcome *o)
{
	size_t span = (size_t)(c->map_pages + 2 * MAXPG) * pg;
	int shared = c->kind == ANON_SHARED || c->kind == FILE_SHARED;
	int mflags = shared ? MAP_SHARED : MAP_PRIVATE;
	int fd = -1, touch[MAXPG], nt, i;
	unsigned char *res, *p, *q, *target = NULL;
	unsigned char buf[65536];

	/* A reservation: the mapping at its start, the rest a hole or not. */
	res = k->mmap(NULL, span, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS |
		      MAP_NORESERVE, -1, 0);
	if (res == MAP_FAILED) {
		snprintf(o->note, sizeof(o->note), "reserve: %s",
			 strerror(errno));
		return;
	}
	if (c->kind == FILE_SHARED || c->kind == FILE_PRIV) {
		fd = probe_memfd("t-mremap", (size_t)MAXPG * 2 * pg);
		if (fd < 0) {
			snprintf(o->note, sizeof(o->note), "memfd: %s",
				 strerror(errno));
			return;
		}
		for (i = 0; i < 2 * MAXPG; i++) {
			fill_page(buf, i, 7);
			if (pwrite(fd, buf, pg, (off_t)i * pg) != (ssize_t)pg)
				return;
		}
		mflags |= MAP_FIXED;
		p = k->mmap(res, (size_t)c->map_pages * pg,
			    PROT_READ | PROT_WRITE, mflags, fd, 0);
	} else {
		p = k->mmap(res, (size_t)c->map_pages * pg,
			    PROT_READ | PROT_WRITE,
			    mflags | MAP_FIXED | MAP_ANONYMOUS, -1, 0);
	}
	if (p != res) {
		snprintf(o->note, sizeof(o->note), "map: %s", strerror(errno));
		return;
	}
	/* The program's own neighbour: a read-only page, or a hole. */
	if (c->layout == NOROOM) {
		q = k->mmap(p + (size_t)c->map_pages * pg, pg, PROT_READ,
			    MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
		if (q == MAP_FAILED)
			return;
		k->munmap(p + (size_t)(c->map_pages + 1) * pg,
			  span - (size_t)(c->map_pages + 1) * pg);
	} else {
		k->munmap(p + (size_t)c->map_pages * pg,
			  span - (size_t)c->map_pages * pg);
	}
	if (c->flags & MREMAP_FIXED) {
		target = k->mmap(NULL, (size_t)c->new_pages * pg, PROT_READ,
				 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (target == MAP_FAILED)
			return;
	}

	if (k->lock(p + (size_t)c->lock_off * pg,
		    (size_t)c->lock_pages * pg)) {
		snprintf(o->note, sizeof(o->note), "lock: %s",
			 strerror(errno));
		return;
	}
	nt = parse_touch(c->touch, touch, MAXPG);
	for (i = 0; i < nt; i++) {
		unsigned char *t = p + (size_t)touch[i] * pg;

		t[0] = (unsigned char)(0x40 + touch[i]);
		t[pg - 1] = 0x5a;
	}

	q = k->mremap(p + (size_t)c->old_off * pg, (size_t)c->old_pages * pg,
		      (size_t)c->new_pages * pg, c->flags, target);
	o->err = q == MAP_FAILED ? errno : 0;
	if (q == MAP_FAILED) {
		o->ret = R_FAIL;
		q = p + (size_t)c->old_off * pg;	/* compare what stays */
		o->npages = c->old_pages ? c->old_pages : c->new_pages;
		if (c->old_off + o->npages > c->map_pages)
			o->npages = c->map_pages - c->old_off;
	} else {
		o->ret = q == p + (size_t)c->old_off * pg ? R_SAME :
			 q == target ? R_FIXED : R_MOVED;
		o->npages = c->new_pages;
	}
	for (i = 0; i < nt; i++) {
		int r = touch[i] - c->old_off;

		if (r >= 0 && r < o->npages &&
		    (c->old_pages || o->ret == R_FAIL))
			o->touched[r] = 1;
	}
	/*
	 * old_len 0 maps the same pages a second time: none of them was
	 * touched through the new view, and the kernel's lock-on-fault
	 * does not populate it (the plain mlock of sim43's reference
	 * does), so its pages are compared by data and after a write.
	 */

	for (i = 0; i < o->npages; i++)
		if (probed(o, i))
			probe_page_state(q + (size_t)i * pg, &o->st[i]);
	for (i = 0; i < o->npages; i++)
		o->hash[i] = hash_page(q + (size_t)i * pg);
	if (c->flags & MREMAP_DONTUNMAP && o->ret != R_FAIL) {
		unsigned char *old = p + (size_t)c->old_off * pg;

		for (i = 0; i < c->old_pages; i++)
			o->old_hash[i] = hash_page(old + (size_t)i * pg);
		for (i = 0; i < c->old_pages; i++)
			old[(size_t)i * pg + 1] = 0x33;
		for (i = 0; i < c->old_pages; i++)
			if (probed(o, i))
				probe_page_state(old + (size_t)i * pg,
						 &o->old_after[i]);
	}
	for (i = 0; i < o->npages; i++)
		q[(size_t)i * pg + 2] = (unsigned char)(0x11 + i);
	for (i = 0; i < o->npages; i++)
		if (probed(o, i))
			probe_page_state(q + (size_t)i * pg, &o->after[i]);
	if (c->old_pages == 0 && o->ret != R_FAIL) {
		unsigned char *old = p + (size_t)c->old_off * pg;

		old[3] = 0x77;
		o->shared_ok = q[3] == 0x77 && old[2] == 0x11;
	}
	o->done = 1;
}

struct job {
	const struct mcase *c;
	const struct calls *k;
	struct outcome *o;
};

static void run_job(void *arg)
{
	struct job *j = arg;

	run(j->c, j->k, j->o);
}

static const char *ret_str(int r)
{
	static const char *s[] = { "fails", "same address", "the FIXED target",
				   "moved" };
	return s[r];
}

static int page_eq(const struct probe_page *a, const struct probe_page *b,
		   char *why, size_t n, const char *what, int i)
{
	if (a->present != b->present || a->lo != b->lo ||
	    strcmp(a->perms, b->perms) ||
	    (a->mlocked >= 0 && b->mlocked >= 0 && a->mlocked != b->mlocked)) {
		snprintf(why, n,
			 "%s page %d: kernel present %d mlocked %d lo %d %s, "
			 "library present %d mlocked %d lo %d %s",
			 what, i, a->present, a->mlocked, a->lo, a->perms,
			 b->present, b->mlocked, b->lo, b->perms);
		return 0;
	}
	return 1;
}

static int compare(const struct mcase *c, const struct outcome *a,
		   const struct outcome *b, char *why, size_t n)
{
	int i;

	if (!a->done || !b->done) {
		snprintf(why, n, "a run did not finish: kernel \"%s\", "
			 "library \"%s\"", a->note, b->note);
		return 0;
	}
	if (a->ret != b->ret || a->err != b->err) {
		snprintf(why, n, "kernel: %s (%s), library: %s (%s)",
			 ret_str(a->ret), strerror(a->err), ret_str(b->ret),
			 strerror(b->err));
		return 0;
	}
	for (i = 0; i < a->npages; i++) {
		if (a->touched[i] &&
		    !page_eq(&a->st[i], &b->st[i], why, n, "touched", i))
			return 0;
		if (a->hash[i] != b->hash[i]) {
			snprintf(why, n, "data of page %d differs", i);
			return 0;
		}
		if (!page_eq(&a->after[i], &b->after[i], why, n,
			     "written after", i))
			return 0;
	}
	if (c->flags & MREMAP_DONTUNMAP)
		for (i = 0; i < c->old_pages; i++) {
			if (a->old_hash[i] != b->old_hash[i]) {
				snprintf(why, n, "old range page %d: data", i);
				return 0;
			}
			if (!page_eq(&a->old_after[i], &b->old_after[i], why,
				     n, "old range written", i))
				return 0;
		}
	if (a->shared_ok != b->shared_ok) {
		snprintf(why, n, "old_len 0: views share pages: kernel %d, "
			 "library %d", a->shared_ok, b->shared_ok);
		return 0;
	}
	return 1;
}

/*
 * A hint the program gave part of a locked range (MADV_RANDOM) splits
 * the kernel's mapping there: an mremap across it is EFAULT under the
 * kernel's own lock-on-fault, and must be under the library too (remap.c
 * compares the VmFlags, not only protection and file). Run in a child,
 * the kernel's way (raw calls) or the library's; exit status: 0 when the
 * mremap gave EFAULT, 1 when it did something else.
 */
static int hint_calls;	/* 0: the kernel's calls, 1: the library's */

static void hint_split(void *arg)
{
	const struct calls *k = hint_calls ? &lib_calls : &kernel_calls;
	size_t len = 16 * pg;
	unsigned char *p, *q;

	(void)arg;
	p = k->mmap(NULL, 64 * pg, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS,
		    -1, 0);
	if (p == MAP_FAILED)
		_exit(2);
	k->munmap(p + len, 48 * pg);	/* room above, for a grow in place */
	p = k->mmap(p, len, PROT_READ | PROT_WRITE,
		    MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
	if (p == MAP_FAILED || k->lock(p, len))
		_exit(2);
	p[0] = p[8 * pg] = 1;
	if (probe_raw_syscall(SYS_madvise, (long)(p + 4 * pg), (long)(4 * pg),
			      MADV_RANDOM, 0, 0, 0))
		_exit(2);
	errno = 0;
	q = k->mremap(p, len, 2 * len, 0, NULL);
	_exit(q == MAP_FAILED && errno == EFAULT ? 0 : 1);
}

int main(void)
{
	struct outcome *o;
	char why[400], buf[64];
	int s1, s2;

	probe_require_preloaded();
	pg = probe_page_size();
	ref_onfault = probe_kernel_onfault();
	plan((int)NCASES + 1);
	o = probe_sys_mmap(NULL, 2 * sizeof(*o), PROT_READ | PROT_WRITE,
			   MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (o == MAP_FAILED)
		bail("mmap of the outcome area");
	diag("engine %s, reference: the kernel's %s", probe_engine(),
	     ref_onfault ? "mlock2(MLOCK_ONFAULT)" : "mlock (no ONFAULT)");
	for (size_t i = 0; i < NCASES; i++) {
		struct job kj = { &cases[i], &kernel_calls, &o[0] };
		struct job lj = { &cases[i], &lib_calls, &o[1] };
		int good;

		memset(o, 0, 2 * sizeof(*o));
		s1 = probe_fork(run_job, &kj);
		s2 = probe_fork(run_job, &lj);
		if (!WIFEXITED(s1) || WEXITSTATUS(s1)) {
			ok(0, "%s: the kernel's run %s", cases[i].name,
			   probe_status_str(s1, buf, sizeof(buf)));
			continue;
		}
		if (!WIFEXITED(s2) || WEXITSTATUS(s2)) {
			ok(0, "%s: the library's run %s", cases[i].name,
			   probe_status_str(s2, buf, sizeof(buf)));
			continue;
		}
		good = compare(&cases[i], &o[0], &o[1], why, sizeof(why));
		if (!ok(good, "%s: as the kernel (%s%s%s)", cases[i].name,
			ret_str(o[0].ret), o[0].err ? ", " : "",
			o[0].err ? strerror(o[0].err) : ""))
			diag("%s", why);
	}
	hint_calls = 0;
	s1 = probe_fork(hint_split, NULL);
	hint_calls = 1;
	s2 = probe_fork(hint_split, NULL);
	ok(WIFEXITED(s1) && WEXITSTATUS(s1) == 0 && WIFEXITED(s2) &&
	   WEXITSTATUS(s2) == 0, "a range split by the program's MADV_RANDOM: "
	   "mremap across it gives EFAULT, as the kernel (kernel %s, library "
	   "%s)", probe_status_str(s1, buf, sizeof(buf)),
	   probe_status_str(s2, why, sizeof(why)));
	return done();
}
