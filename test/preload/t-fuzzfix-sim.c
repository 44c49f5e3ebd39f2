/*
 * t-fuzzfix-sim.c - defects the differential fuzzer (issue 12,
 * test/fuzz/) found in the emulation of lock-on-fault (the sigsegv
 * engine on a kernel without MLOCK_ONFAULT: run under sim43 by
 * run-engines.sh), as short cases. Under the other engines they check
 * the same against the kernel's own lock-on-fault.
 *
 * F8: a private file mapping locked on fault must keep showing what
 * others write to the file (here through a MAP_SHARED mapping of it)
 * on every page the program has not written itself, as the kernel's
 * lock-on-fault does: a read maps the page cache page, only a write
 * copies it. Three ways the emulation copied pages early:
 *  - a write opened a batch writable, and the kernel's mprotect of a
 *    VM_LOCKED private range populated the batch with copies;
 *  - a lock call over pages already read locked them with plain mlock,
 *    which populates a writable private range for writing;
 *  - write(2) from untouched pages opened them writable.
 *
 * F3: a lock call over a range with a hole answers ENOMEM after the
 * kernel's work: the mappings before the hole are locked (the kernel's
 * apply_vma_lock_flags goes mapping by mapping up to the hole), none
 * when the range starts in a hole, and a range locked before stays
 * locked. munlock alike: from a hole it unlocks nothing. An mremap
 * that fails (EFAULT: the range spans two mappings) leaves locked what
 * was, the part a file's executable mapping locked the ordinary way
 * too. Seen as the kernel's refusal of MADV_DONTNEED on locked
 * memory (EINVAL), and the bytes kept.
 *
 * D (defect d, the other way): an mremap across the edge of a locked
 * range. The kernel's lock-on-fault keeps the locked part a VMA of its
 * own, so a call that needs one VMA (growth, a move with a new length)
 * gets EFAULT; the emulation opened and unlocked the old range first,
 * which made it one VMA, and the kernel grew or moved it (the fuzzer's
 * sim43-ret_mremap.case). A pure move (MREMAP_FIXED, same length) and
 * a shrink cross edges on this kernel, and still do; a move that
 * shrinks needs only what is left to be one VMA. And the pieces the
 * emulation cut must still count as one range after it unlocked them
 * (remap.c, scars): their anon_vmas keep them apart in the kernel.
 *
 * F5: under mlockall(MCL_FUTURE) made lock-on-fault, mmap(MAP_POPULATE)
 * fills nothing: the kernel's populate skips lock-on-fault mappings.
 * Seen with mincore (anonymous memory: the page tables).
 *
 * H (the fuzzer's seed 1306): a pread into a locked buffer that runs
 * into a hole. The kernel copies up to the hole and stops (a short
 * read): the pages past it are never touched, and the kernel's
 * lock-on-fault leaves them absent. The emulation opened the whole
 * buffer first, and opening private writable memory there populates
 * and locks it.
 *
 * N (the fuzzer's seed 4532): the program's own PROT_NONE, locked on
 * fault (mlock2, MAP_LOCKED, mlockall(MCL_CURRENT|MCL_ONFAULT),
 * MCL_FUTURE|MCL_ONFAULT), then made writable in part by the program.
 * The kernel's lock-on-fault populates nothing; the emulation had
 * locked it with plain mlock, and the kernel's mprotect of a VM_LOCKED
 * private range becoming writable populated the part opened. It must
 * stay locked (MADV_DONTNEED refused) and fill as it is touched.
 *
 * The fix of F8 locks present pages of private file mappings read-only
 * where the program has not written them, glibc's own data among them
 * under mlockall(MCL_CURRENT): a fork child, where nothing is locked
 * and the handler no longer serves the table, must not write to such a
 * page before the library's fork hook opens everything (glibc's fork
 * writes its data first). A first version of the fix, which made
 * written pages read-only too, failed here (the child died of SIGSEGV).
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include "probe.h"
#include "tap.h"

#define NPG 64

static long pg;

/* A file of NPG pages in the build tree, unlinked at once. */
static int scratch_file(const char *name, int c)
{
	char *buf = malloc(pg);
	int fd = open(name, O_RDWR | O_CREAT | O_TRUNC, 0600);

	if (fd < 0 || !buf)
		bail("cannot create %s", name);
	unlink(name);
	memset(buf, c, pg);
	for (int i = 0; i < NPG; i++)
		if (pwrite(fd, buf, pg, (off_t)i * pg) != pg)
			bail("cannot write %s", name);
	free(buf);
	return fd;
}

/* Does every byte of page i of m read c? */
static int page_is(const char *m, int i, int c)
{
	for (long j = 0; j < pg; j++)
		if (m[i * pg + j] != (char)c)
			return 0;
	return 1;
}

/* MADV_DONTNEED over n pages at m: 0, or the errno. */
static int dontneed(char *m, int n)
{
	return madvise(m, n * pg, MADV_DONTNEED) ? errno : 0;
}

/*
 * F8, a buffer starting in a hole: pread(2) into it answers EFAULT and
 * writes nothing, so the pages of the locked private file mapping after
 * the hole stay the file's (the fuzzer's sim43 seed 2497: the
 * emulation opened the whole buffer writable, which populated the
 * mapping with private copies).
 */
static void f8_hole(int fd, char *sh)
{
	char *m = mmap(NULL, 9 * pg, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS,
		       -1, 0);
	char *pv;
	ssize_t n;
	int e;

	if (m == MAP_FAILED)
		bail("mmap");
	pv = mmap(m + pg, 8 * pg, PROT_READ | PROT_WRITE,
		  MAP_PRIVATE | MAP_FIXED, fd, 48 * pg);
	if (pv == MAP_FAILED || munmap(m, pg) ||
	    mlock2(pv, 8 * pg, MLOCK_ONFAULT))
		bail("mmap, munmap, mlock2");
	n = pread(fd, pv - pg, 4 * pg, 0);
	e = errno;
	ok(n == -1 && e == EFAULT,
	   "F8: pread into a buffer starting in a hole: EFAULT (%zd %d)", n, e);
	memset(sh + 48 * pg, 0x5a, 8 * pg);
	ok(page_is(pv, 0, 0x5a) && page_is(pv, 2, 0x5a),
	   "F8: the mapping after the hole still shows the file's later writes");
	munmap(pv, 8 * pg);
}

/* Does each opening lock and charge what it opens (CHARGE=touched)? */
static int charge_touched(void)
{
	const char *charge = getenv("LOCKONFAULT_CHARGE");

	return charge && !strcmp(charge, "touched");
}

/*
 * 96 pages reserved PROT_NONE at *res; return the first 32-page
 * (128 KiB) boundary inside, with 64 pages of room after it.
 */
static uintptr_t aligned_room(char **res)
{
	*res = mmap(NULL, 96 * pg, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS,
		    -1, 0);
	if (*res == MAP_FAILED)
		bail("mmap");
	return ((uintptr_t)*res + 32 * pg - 1) & ~(uintptr_t)(32 * pg - 1);
}

/*
 * Fault-around: the kernel's fault on a page of a locked file mapping
 * maps (and so locks) the page cache pages of the aligned 64 KiB
 * window around it, within the mapping. A pwrite(2) from 4 pages of a
 * locked shared file mapping locks the 16 pages of their window; the
 * emulation opened the buffer's 4 pages alone, so the kernel's
 * fault-around stopped at them (the fuzzer's sim43 seed 4064); a read
 * of a private file mapping opened a batch from the page read on
 * (seed 2041). Seen in smaps' Locked: (pages mapped in locked
 * mappings).
 */
static void fault_around(int fd, int out)
{
	char *res, *m;
	uintptr_t a;
	long kb;

	if (charge_touched()) {
		/* Each opening is locked and charged: the pages used only. */
		skip(2, "LOCKONFAULT_CHARGE=touched opens a buffer's pages only (liblockonfault(7), System calls)");
		return;
	}
	a = aligned_room(&res);
	m = mmap((void *)a, 32 * pg, PROT_READ | PROT_WRITE,
		 MAP_SHARED | MAP_FIXED, fd, 0);
	if (m == MAP_FAILED || mlock2(m, 32 * pg, MLOCK_ONFAULT))
		bail("mmap, mlock2");
	if (pwrite(out, m + 18 * pg, 4 * pg, 0) != 4 * pg)
		bail("pwrite");
	kb = probe_locked_kb(m, 32 * pg);
	ok(kb == 16 * pg / 1024,
	   "fault-around: a pwrite(2) from 4 pages of a locked shared file mapping locks the 16 pages of their 64 KiB window (Locked: %ld kB)",
	   kb);
	munmap(m, 32 * pg);

	/* A read of a private one (seed 2041), through the handler. */
	m = mmap((void *)a, 32 * pg, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_FIXED, fd, 0);
	if (m == MAP_FAILED || mlock2(m, 32 * pg, MLOCK_ONFAULT))
		bail("mmap, mlock2");
	kb = *(volatile char *)(m + 18 * pg);
	kb = probe_locked_kb(m, 32 * pg);
	ok(kb == 16 * pg / 1024,
	   "fault-around: a read of a page of a locked private file mapping locks the 16 pages of its 64 KiB window (Locked: %ld kB)",
	   kb);
	munmap(res, 96 * pg);
}

/*
 * Fault-around from a mapping's start: the kernel's window is clipped
 * at the start of the faulting mapping and keeps its 16 pages from
 * there on. A read of the first page of a locked file mapping that
 * starts 6 pages into its aligned block locks 16 pages; the emulation
 * opened the aligned block's last 10 (the fuzzer's sim43 seeds 6585, a
 * private MAP_LOCKED mapping, and 9652, a shared one under
 * MCL_FUTURE). And where two file mappings lie side by side, the
 * second's window starts at its own start: the table held the two as
 * one entry, and the batch around the second's first page stopped at
 * the aligned block's end, a page short of its end (seed 1768).
 */
static void around_map_start(int fd)
{
	char *res, *m, *m2;
	uintptr_t a;
	long kb;

	if (charge_touched()) {
		skip(3, "LOCKONFAULT_CHARGE=touched locks the pages used only (liblockonfault(7), System calls)");
		return;
	}
	a = aligned_room(&res);

	m = mmap((void *)(a + 6 * pg), 20 * pg, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_FIXED | MAP_LOCKED, fd, 0);
	if (m == MAP_FAILED)
		bail("mmap(MAP_LOCKED)");
	kb = *(volatile char *)m;
	kb = probe_locked_kb(m, 20 * pg);
	ok(kb == 16 * pg / 1024,
	   "fault-around: a read of the first page of a private MAP_LOCKED file mapping 6 pages into its block locks 16 pages (Locked: %ld kB)",
	   kb);

	m = mmap((void *)(a + 6 * pg), 20 * pg, PROT_READ | PROT_WRITE,
		 MAP_SHARED | MAP_FIXED, fd, 0);
	if (m == MAP_FAILED || mlock2(m, 20 * pg, MLOCK_ONFAULT))
		bail("mmap, mlock2");
	kb = *(volatile char *)(m + pg);
	kb = probe_locked_kb(m, 20 * pg);
	ok(kb == 16 * pg / 1024,
	   "fault-around: a read of the second page of a locked shared file mapping 6 pages into its block locks 16 pages (Locked: %ld kB)",
	   kb);
	munmap(m, 20 * pg);

	m = mmap((void *)a, 9 * pg, PROT_READ | PROT_WRITE,
		 MAP_SHARED | MAP_FIXED, fd, 0);
	m2 = mmap((void *)(a + 9 * pg), 8 * pg, PROT_READ | PROT_WRITE,
		  MAP_SHARED | MAP_FIXED, fd, 40 * pg);
	if (m == MAP_FAILED || m2 == MAP_FAILED ||
	    mlock2(m, 17 * pg, MLOCK_ONFAULT))
		bail("mmap, mlock2");
	kb = *(volatile char *)m2;
	kb = probe_locked_kb(m2, 8 * pg);
	ok(kb == 8 * pg / 1024 && probe_locked_kb(m, 9 * pg) == 0,
	   "fault-around: a read of the first page of the second of two locked file mappings side by side locks all its 8 pages, none of the first (Locked: %ld kB)",
	   kb);
	munmap(res, 96 * pg);
}

static void f3(void)
{
	char *m = mmap(NULL, 8 * pg, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	int r, e;

	if (m == MAP_FAILED)
		bail("mmap");
	/* A hole in the middle: the part before it is locked. */
	memset(m, 0x77, 4 * pg);
	munmap(m + 5 * pg, pg);
	r = mlock2(m, 8 * pg, MLOCK_ONFAULT);
	e = errno;
	ok(r == -1 && e == ENOMEM, "F3: mlock2 over a hole: ENOMEM (%d %d)",
	   r, e);
	r = dontneed(m, 4);
	ok(r == EINVAL && page_is(m, 3, 0x77),
	   "F3: the pages before the hole are locked (MADV_DONTNEED: %d)", r);
	munlock(m, 5 * pg);
	munmap(m, 8 * pg);

	/* Locked, then a lock starting in a hole: nothing changes. */
	m = mmap(NULL, 8 * pg, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (m == MAP_FAILED || mlock2(m, 8 * pg, MLOCK_ONFAULT))
		bail("mmap, mlock2");
	memset(m + 2 * pg, 0x78, 6 * pg);
	munmap(m, 2 * pg);
	r = mlock2(m, 8 * pg, MLOCK_ONFAULT);
	e = errno;
	ok(r == -1 && e == ENOMEM,
	   "F3: mlock2 from a hole: ENOMEM (%d %d)", r, e);
	r = dontneed(m + 2 * pg, 6);
	ok(r == EINVAL && page_is(m, 7, 0x78),
	   "F3: a range locked before stays locked (MADV_DONTNEED: %d)", r);
	r = munlock(m, 8 * pg);
	e = errno;
	ok(r == -1 && e == ENOMEM,
	   "F3: munlock from a hole: ENOMEM (%d %d)", r, e);
	r = dontneed(m + 2 * pg, 6);
	ok(r == EINVAL && page_is(m, 7, 0x78),
	   "F3: munlock from a hole unlocks nothing (MADV_DONTNEED: %d)", r);
	munmap(m + 2 * pg, 6 * pg);
}

static void f3_mremap(int fd)
{
	char *m = mmap(NULL, 8 * pg, PROT_READ | PROT_WRITE, MAP_SHARED, fd,
		       0);
	void *p;
	int r, e;

	if (m == MAP_FAILED || mprotect(m, 2 * pg, PROT_READ | PROT_WRITE |
					PROT_EXEC) || mlock(m, 8 * pg))
		bail("mmap, mprotect, mlock");
	memset(m, 0x79, 2 * pg);
	p = mremap(m, 4 * pg, 32 * pg, 0);
	e = errno;
	ok(p == MAP_FAILED && e == EFAULT,
	   "F3: mremap over two mappings: EFAULT (%d)", e);
	r = dontneed(m, 2);
	ok(r == EINVAL, "F3: the failed mremap leaves the executable part locked (MADV_DONTNEED: %d)",
	   r);
	munmap(m, 8 * pg);
}

/*
 * An mremap that shrinks a range across mappings (no hole needed: a
 * shrink never looks) keeps locked a mapping the program locked while
 * PROT_NONE (which the engine locks the ordinary way), as the kernel
 * keeps VM_LOCKED; the emulation unlocked the whole old range before
 * the call and locked again only its own pieces (the fuzzer's sim43
 * seed 1086, lockstate:PL->P--). Shared anonymous memory, as there.
 */
static void f3_shrink(void)
{
	char *m = mmap(NULL, 6 * pg, PROT_READ | PROT_WRITE,
		       MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	void *p;
	int r;

	if (m == MAP_FAILED)
		bail("mmap");
	memset(m + 3 * pg, 0x7a, pg);
	if (mprotect(m + 3 * pg, pg, PROT_NONE) ||
	    mlock2(m, 3 * pg, MLOCK_ONFAULT) ||
	    mlock2(m + 3 * pg, pg, MLOCK_ONFAULT))
		bail("mprotect, mlock2");
	p = mremap(m, 5 * pg, 4 * pg, 0);
	ok(p == m, "F3: mremap shrinking across mappings: done (%p %p)",
	   p, (void *)m);
	r = dontneed(m + 3 * pg, 1);
	ok(r == EINVAL, "F3: the shrink keeps locked the page locked while PROT_NONE (MADV_DONTNEED: %d)",
	   r);
	munmap(m, 6 * pg);
}

/* 8 pages, the last 4 locked: anonymous, or the file's (private). */
static char *edge_map(int fd)
{
	char *m = mmap(NULL, 8 * pg, PROT_READ | PROT_WRITE,
		       fd < 0 ? MAP_PRIVATE | MAP_ANONYMOUS : MAP_PRIVATE, fd,
		       0);

	if (m == MAP_FAILED || mlock(m + 4 * pg, 4 * pg))
		bail("mmap, mlock");
	return m;
}

static void edge_call(int fd, const char *what, size_t from, size_t to,
		      int flags, int want)
{
	char *m = edge_map(fd), *d = NULL;
	void *p;
	int e;

	if (flags & MREMAP_FIXED) {
		d = mmap(NULL, 16 * pg, PROT_NONE,
			 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (d == MAP_FAILED)
			bail("mmap");
	}
	errno = 0;
	p = mremap(m, from * pg, to * pg, flags, d);
	e = p == MAP_FAILED ? errno : 0;
	ok(e == want, "D: mremap %s of the %s mapping across a lock edge: %s, as the kernel's lock-on-fault: %s",
	   what, fd < 0 ? "anonymous" : "file", strerror(e), strerror(want));
	if (p == MAP_FAILED || p == m) {
		munmap(m, (to > 8 ? to : 8) * pg);
	} else {
		munmap(p, to * pg);
		munmap(m + from * pg, (8 - from) * pg);	/* left behind */
	}
	if (d)
		munmap(d, 16 * pg);
}

static void lock_edge(int fd)
{
	edge_call(fd, "grow (MAYMOVE)", 5, 7, MREMAP_MAYMOVE, EFAULT);
	edge_call(fd, "grow in place", 6, 7, 0, EFAULT);
	edge_call(fd, "grow to a fixed place", 6, 7,
		  MREMAP_MAYMOVE | MREMAP_FIXED, EFAULT);
	edge_call(fd, "pure move", 6, 6, MREMAP_MAYMOVE | MREMAP_FIXED, 0);
	edge_call(fd, "shrink", 6, 5, 0, 0);
	edge_call(fd, "shrink to a fixed place, what is left unlocked", 6, 4,
		  MREMAP_MAYMOVE | MREMAP_FIXED, 0);
	edge_call(fd, "shrink to a fixed place, what is left across", 6, 5,
		  MREMAP_MAYMOVE | MREMAP_FIXED, EFAULT);
}

/*
 * Scars: a locked range touched at two places far apart (two batches,
 * a pending piece between them), then unlocked and grown in place. The
 * two batches were first written apart, so their anon_vmas differ and
 * the kernel cannot merge the range again; under its own lock-on-fault
 * it was one VMA all along, and the growth succeeds.
 */
static void scar_grow(void)
{
	char *m = mmap(NULL, 2 * NPG * pg, PROT_NONE,
		       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	void *p;
	int e;

	if (m == MAP_FAILED || munmap(m + NPG * pg, NPG * pg) ||
	    mmap(m, NPG * pg, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0) != m ||
	    mlock(m, NPG * pg))
		bail("mmap, mlock");
	m[0] = 1;
	m[(NPG - 2) * pg] = 2;
	if (munlock(m, NPG * pg))
		bail("munlock");
	errno = 0;
	p = mremap(m, NPG * pg, 2 * NPG * pg, 0);
	e = p == MAP_FAILED ? errno : 0;
	ok(p == m && m[0] == 1 && m[(NPG - 2) * pg] == 2,
	   "D: a range locked, written at two places, unlocked, then grown in place: %s, as the kernel's lock-on-fault: success",
	   strerror(e));
	munmap(m, (p == m ? 2 : 1) * NPG * pg);
}

/* NPG pages with NPG more of room after them, or bail. */
static char *room_map(void)
{
	char *m = mmap(NULL, 2 * NPG * pg, PROT_NONE,
		       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	if (m == MAP_FAILED || munmap(m + NPG * pg, NPG * pg) ||
	    mmap(m, NPG * pg, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0) != m)
		bail("mmap");
	return m;
}

/*
 * A move that shrinks, where only what is left is one range: a locked
 * range whose tail is made executable, written at two places (two
 * batches), then moved to a fixed place without its tail (the fuzzer's
 * seed 892). The kernel cuts the tail off first, then moves one VMA.
 */
static void scar_shrink_move(void)
{
	char *m = room_map(), *d;
	void *p;
	int e;

	if (mlock(m, NPG * pg) ||
	    mprotect(m + 3 * NPG / 4 * pg, NPG / 4 * pg, PROT_READ | PROT_EXEC))
		bail("mlock, mprotect");
	m[0] = 4;
	m[NPG / 2 * pg] = 5;
	d = mmap(NULL, NPG * pg, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1,
		 0);
	if (d == MAP_FAILED)
		bail("mmap");
	errno = 0;
	p = mremap(m, NPG * pg, NPG / 2 * pg + pg,
		   MREMAP_MAYMOVE | MREMAP_FIXED, d);
	e = p == MAP_FAILED ? errno : 0;
	ok(p == d && d[0] == 4 && d[NPG / 2 * pg] == 5,
	   "D: a locked range written at two places, moved to a fixed place without its executable tail: %s, as the kernel's lock-on-fault: success",
	   strerror(e));
	munmap(d, NPG * pg);
	munmap(m, NPG * pg);
}

static void f5(void)
{
	unsigned char v[16];
	char *m;
	int n = 0;

	if (mlockall(MCL_FUTURE))
		bail("mlockall(MCL_FUTURE)");
	m = mmap(NULL, 16 * pg, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
	if (m == MAP_FAILED || mincore(m, 16 * pg, v))
		bail("mmap(MAP_POPULATE), mincore");
	for (int i = 0; i < 16; i++)
		n += v[i] & 1;
	ok(n == 0, "F5: MAP_POPULATE under MCL_FUTURE fills nothing (%d of 16 pages resident)",
	   n);
	munlockall();
	munmap(m, 16 * pg);
}

static void shared_exec(void)
{
	unsigned char v[16];
	char *m;
	int n = 0;

	m = mmap(NULL, 16 * pg, PROT_READ | PROT_EXEC,
		 MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (m == MAP_FAILED || mlock2(m, 16 * pg, MLOCK_ONFAULT) ||
	    mincore(m, 16 * pg, v))
		bail("mmap, mlock2, mincore");
	for (int i = 0; i < 16; i++)
		n += v[i] & 1;
	ok(n == 0, "shared anonymous PROT_EXEC memory locked on fault: %d of 16 pages resident",
	   n);
	munmap(m, 16 * pg);
}

static void fork_after_mlockall(void)
{
	int st = -1;
	pid_t pid;

	if (mlockall(MCL_CURRENT))
		bail("mlockall(MCL_CURRENT)");
	pid = fork();
	if (pid == 0)
		_exit(0);
	if (pid < 0 || waitpid(pid, &st, 0) != pid)
		bail("fork, waitpid");
	ok(WIFEXITED(st) && WEXITSTATUS(st) == 0,
	   "fork after mlockall(MCL_CURRENT): the child runs (status %#x)",
	   st);
	munlockall();
}

/* How many of n pages at m are resident (mincore). */
static int resident(const char *m, int n)
{
	unsigned char v[64];
	int k = 0;

	if (n > 64 || mincore((void *)m, n * pg, v))
		bail("mincore");
	for (int i = 0; i < n; i++)
		k += v[i] & 1;
	return k;
}

static void hole_read(int fd)
{
	char *m = mmap(NULL, 8 * pg, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ssize_t n;
	int k;

	if (m == MAP_FAILED || mlock2(m, 8 * pg, MLOCK_ONFAULT))
		bail("mmap, mlock2");
	munmap(m + 3 * pg, 2 * pg);
	n = pread(fd, m + pg, 7 * pg, 0);
	ok(n == 2 * pg,
	   "H: a pread across a hole stops at it (%zd bytes)", n);
	k = resident(m + 5 * pg, 3);
	ok(k == 0, "H: the pages past the hole stay absent (%d of 3 resident)",
	   k);
	munmap(m, 8 * pg);
}

/* Lock 16 pages of PROT_NONE on fault (how), open 4, check, touch. */
static void none_opened(const char *how, int lockall)
{
	int flags = MAP_PRIVATE | MAP_ANONYMOUS;
	char *m;
	int k, r;

	if (lockall == 2 && mlockall(MCL_FUTURE | MCL_ONFAULT))
		bail("mlockall(MCL_FUTURE|MCL_ONFAULT)");
	m = mmap(NULL, 16 * pg, PROT_NONE, flags | (lockall ? 0 : MAP_LOCKED),
		 -1, 0);
	if (m == MAP_FAILED)
		bail("mmap");
	if (lockall == 1 && mlockall(MCL_CURRENT | MCL_ONFAULT))
		bail("mlockall(MCL_CURRENT|MCL_ONFAULT)");
	if (lockall < 0 && mlock2(m, 16 * pg, MLOCK_ONFAULT))
		bail("mlock2");
	if (mprotect(m, 4 * pg, PROT_READ | PROT_WRITE))
		bail("mprotect");
	k = resident(m, 16);
	ok(k == 0, "N: PROT_NONE locked on fault (%s), then made writable: %d of 16 pages resident",
	   how, k);
	m[pg] = 1;
	k = resident(m, 16);
	r = dontneed(m, 4);
	ok(k == 1 && r == EINVAL, "N: (%s) a page written is resident (%d of 16) and the range locked (MADV_DONTNEED: %d)",
	   how, k, r);
	if (lockall)
		munlockall();
	munmap(m, 16 * pg);
}

int main(void)
{
	char *sh, *pv;
	int fd, out, i;

	pg = sysconf(_SC_PAGESIZE);
	plan(53);
	fd = scratch_file("t-fuzzfix-sim.data", 0x11);
	out = scratch_file("t-fuzzfix-sim.out", 0);
	sh = mmap(NULL, NPG * pg, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	pv = mmap(NULL, NPG * pg, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
	if (sh == MAP_FAILED || pv == MAP_FAILED)
		bail("mmap");
	if (mlock2(pv, NPG * pg, MLOCK_ONFAULT))
		bail("mlock2(MLOCK_ONFAULT)");

	/* A write: only the page written is the program's own. */
	memset(pv + 10 * pg, 0x22, 5 * pg);
	memset(sh + 10 * pg, 0x33, 14 * pg);
	ok(page_is(pv, 10, 0x22) && page_is(pv, 14, 0x22),
	   "F8: the pages written keep their bytes");
	for (i = 15; i < 24 && page_is(pv, i, 0x33); i++)
		;
	ok(i == 24, "F8: the pages after written ones show the file's later writes (first not: %d)",
	   i);

	/* Pages read, then the range locked again. */
	ok(page_is(pv, 30, 0x11), "F8: a page read shows the file");
	if (mlock2(pv, NPG * pg, MLOCK_ONFAULT))
		bail("mlock2(MLOCK_ONFAULT) again");
	memset(sh + 28 * pg, 0x44, 4 * pg);
	ok(page_is(pv, 30, 0x44) && page_is(pv, 31, 0x44),
	   "F8: pages read, then locked again, show the file's later writes");

	/* write(2) from pages the program never touched. */
	ok(pwrite(out, pv + 40 * pg, 2 * pg, 0) == 2 * pg,
	   "F8: pwrite from untouched pages");
	memset(sh + 40 * pg, 0x55, 2 * pg);
	ok(page_is(pv, 40, 0x55) && page_is(pv, 41, 0x55),
	   "F8: pages pwrite read from show the file's later writes");
	memset(pv + 41 * pg, 0x66, 1);
	ok(pv[41 * pg] == 0x66 && sh[41 * pg] == 0x55,
	   "F8: a write to such a page stays private");

	munmap(pv, NPG * pg);
	f8_hole(fd, sh);
	munmap(sh, NPG * pg);
	fault_around(fd, out);	/* no other mapping: smaps' Locked: is PSS */
	around_map_start(fd);
	f3();
	f3_mremap(fd);
	f3_shrink();
	lock_edge(-1);
	lock_edge(fd);
	scar_grow();
	scar_shrink_move();
	hole_read(fd);
	close(fd);
	close(out);
	none_opened("mlock2", -1);
	none_opened("MAP_LOCKED", 0);
	none_opened("mlockall(MCL_CURRENT|MCL_ONFAULT)", 1);
	none_opened("mlockall(MCL_FUTURE|MCL_ONFAULT)", 2);
	f5();
	shared_exec();
	fork_after_mlockall();
	return done();
}
