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
 * a shrink cross edges on this kernel, and still do.
 *
 * F5: under mlockall(MCL_FUTURE) made lock-on-fault, mmap(MAP_POPULATE)
 * fills nothing: the kernel's populate skips lock-on-fault mappings.
 * Seen with mincore (anonymous memory: the page tables).
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
	/* Only what the test mapped: 16 pages from m reach past it. */
	if (p != MAP_FAILED)
		munmap(p, to * pg);
	munmap(m, 8 * pg);
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

int main(void)
{
	char *sh, *pv;
	int fd, out, i;

	pg = sysconf(_SC_PAGESIZE);
	plan(28);
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
	munmap(sh, NPG * pg);
	f3();
	f3_mremap(fd);
	lock_edge(-1);
	lock_edge(fd);
	close(fd);
	close(out);
	f5();
	shared_exec();
	fork_after_mlockall();
	return done();
}
