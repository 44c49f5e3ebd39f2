/*
 * t-fuzzfix-sig.c - short cases for defects the differential fuzzer
 * (issue 12, test/fuzz/) found under the sigsegv engine, each against
 * the kernel's own lock-on-fault in the same process, each failing
 * before its fix (test/fuzz/cases/sigsegv-*.case replays the fuzzer's
 * reproducer).
 *
 *  F2. madvise(MADV_POPULATE_READ / MADV_POPULATE_WRITE) over part of a
 *      locked range whose pages nobody touched: the kernel's
 *      MLOCK_ONFAULT answers 0 and populates and locks the pages; the
 *      engine's pending pages (PROT_NONE) made the kernel refuse with
 *      EINVAL. Through madvise(3) and through syscall(3).
 *  F6. pwrite(2) from the middle of a locked file mapping whose pages
 *      are in the page cache: the kernel's fault-around maps the page
 *      cache pages around each page the call faults in, within the
 *      mapping, and locks them; the engine opened only the buffer's
 *      pages, so those beside it stayed pending and unlocked.
 *  F5. Shared anonymous memory made executable, then
 *      mlockall(MCL_CURRENT): the kernel's MCL_ONFAULT populates
 *      nothing; the engine took the mapping for code (the kernel shows
 *      it as "/dev/zero (deleted)", with an inode) and locked it the
 *      ordinary way, populating it whole. (The fuzzer's reproducer,
 *      sigsegv-lockstate_---_PL-.case, maps it with MAP_POPULATE under
 *      MCL_FUTURE, which is how F5 was first named.)
 *  F9. A file the program maps executable itself, then mlock or
 *      mlockall(MCL_CURRENT): the kernel's lock-on-fault populates
 *      nothing; the engine took every executable file mapping for code
 *      and populated it whole, which also locked the page cache pages
 *      another mapping of the same file later read (the fuzzer's
 *      sigsegv-lockstate_P--_PL-.case). Code is now the text of a
 *      loaded object only.
 *  F10. The same from the first page of a locked file mapping that starts
 *      6 pages into a 64 KiB block: the kernel's fault-around window,
 *      clipped to the mapping at its start, keeps its 16 pages from
 *      there on; the engine's batch stopped at the block's end, 6
 *      pages (the fuzzer's sigsegv seed 5928).
 *
 * Each case runs once with the kernel's own calls (probe_sys_*, which
 * bypass the library: the reference) and once through the library, on
 * memory of its own, and compares what the kernel says of each page
 * (pagemap, kpageflags). On a kernel without MLOCK_ONFAULT (the sim43
 * run) there is no reference: the cases are skipped.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "probe.h"
#include "tap.h"

#ifndef MADV_POPULATE_READ
#define MADV_POPULATE_READ 22
#endif
#ifndef MADV_POPULATE_WRITE
#define MADV_POPULATE_WRITE 23
#endif

#define NPG 64			/* pages of an F2 range */
#define FPG 47			/* pages of the F6 file mapping */
#define ALIGN (2UL << 20)	/* F6 mappings: fault-around windows fixed */

static size_t pg;

/* Present and mlocked, page by page, as "P"/"L"/"-" pairs. */
static int same_pages(const char *a, const char *b, size_t n,
		      char *where, size_t wlen)
{
	for (size_t i = 0; i < n; i++) {
		struct probe_page x, y;

		probe_page_state(a + i * pg, &x);
		probe_page_state(b + i * pg, &y);
		if (x.present != y.present ||
		    (x.mlocked >= 0 && y.mlocked >= 0 &&
		     x.mlocked != y.mlocked)) {
			snprintf(where, wlen,
				 "page %zu: kernel present %d mlocked %d, library present %d mlocked %d",
				 i, x.present, x.mlocked, y.present,
				 y.mlocked);
			return 0;
		}
	}
	return 1;
}

/* An anonymous private or shared range of NPG pages, locked. */
static char *f2_map(int shared, int ref)
{
	char *p = ref ? probe_sys_mmap(NULL, NPG * pg, PROT_READ | PROT_WRITE,
				       (shared ? MAP_SHARED : MAP_PRIVATE) |
					       MAP_ANONYMOUS, -1, 0)
		      : mmap(NULL, NPG * pg, PROT_READ | PROT_WRITE,
			     (shared ? MAP_SHARED : MAP_PRIVATE) |
				     MAP_ANONYMOUS, -1, 0);

	if (p == MAP_FAILED)
		bail("mmap: %s", strerror(errno));
	if ((ref ? probe_sys_mlock2(p, NPG * pg, MLOCK_ONFAULT)
		 : mlock(p, NPG * pg)) != 0)
		bail("mlock: %s", strerror(errno));
	return p;
}

static void f2(int shared, int advice, int raw)
{
	const char *name = advice == MADV_POPULATE_READ ? "POPULATE_READ"
							: "POPULATE_WRITE";
	const char *kind = shared ? "anonymous shared" : "anonymous private";
	char *k = f2_map(shared, 1), *l = f2_map(shared, 0);
	/* Unaligned, from page 8 into page 29, as a program may ask. */
	size_t off = 8 * pg, len = 21 * pg + 123;
	long rk, rl;
	int ek, el, same;
	char where[200] = "";

	errno = 0;
	rk = probe_raw_syscall(SYS_madvise, (long)(k + off), (long)len,
			       advice, 0, 0, 0);
	ek = rk ? errno : 0;
	errno = 0;
	rl = raw ? syscall(SYS_madvise, l + off, len, advice)
		 : madvise(l + off, len, advice);
	el = rl ? errno : 0;
	ok(rk == rl && ek == el,
	   "F2 %s%s over a locked %s range: %ld (%s), as the kernel's MLOCK_ONFAULT: %ld (%s)",
	   raw ? "syscall(SYS_madvise) " : "madvise ", name, kind, rl,
	   strerror(el), rk, strerror(ek));
	same = same_pages(k, l, NPG, where, sizeof(where));
	ok(same,
	   "F2 %s over a locked %s range: pages present and locked as the kernel's%s%s",
	   name, kind, where[0] ? ": " : "", where);
	munmap(k, NPG * pg);
	munmap(l, NPG * pg);
}

/* A file of its own (memfd), its FPG pages written: in the page cache. */
static int f6_file(void)
{
	char buf[4096];
	int fd = probe_memfd("fuzzfix-f6", FPG * pg);

	if (fd < 0)
		bail("memfd: %s", strerror(errno));
	for (size_t i = 0; i < FPG * pg; i += sizeof(buf)) {
		memset(buf, (int)(0x21 + i / pg), sizeof(buf));
		if (pwrite(fd, buf, sizeof(buf), (off_t)i) != sizeof(buf))
			bail("pwrite: %s", strerror(errno));
	}
	return fd;
}

/* The file mapped shared, off pages into an ALIGN-aligned block, locked. */
static char *f6_map(int fd, int ref, size_t off)
{
	char *res = probe_sys_mmap(NULL, 2 * ALIGN, PROT_NONE,
				   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	char *at, *p;

	if (res == MAP_FAILED)
		bail("mmap: %s", strerror(errno));
	at = (char *)(((uintptr_t)res + ALIGN - 1) & ~(ALIGN - 1)) + off * pg;
	p = ref ? probe_sys_mmap(at, FPG * pg, PROT_READ | PROT_WRITE,
				 MAP_SHARED | MAP_FIXED, fd, 0)
		: mmap(at, FPG * pg, PROT_READ | PROT_WRITE,
		       MAP_SHARED | MAP_FIXED, fd, 0);
	if (p != at)
		bail("mmap: %s", strerror(errno));
	if ((ref ? probe_sys_mlock2(p, FPG * pg, MLOCK_ONFAULT)
		 : mlock2(p, FPG * pg, MLOCK_ONFAULT)) != 0)
		bail("mlock2: %s", strerror(errno));
	return p;
}

/*
 * F6 and F10: pwrite(2) from pages [boff, boff + blen) of the locked file
 * mapping placed moff pages into its block, in the kernel's run and in
 * the library's; the pages around compared.
 */
static void pwrite_around(const char *name, size_t moff, size_t boff,
			  size_t blen)
{
	int fk = f6_file(), fl = f6_file(), scratch;
	char *k = f6_map(fk, 1, moff), *l = f6_map(fl, 0, moff);
	size_t off = boff * pg, len = blen * pg;
	ssize_t rk, rl;
	char where[200] = "";
	int same;

	scratch = probe_memfd("fuzzfix-scratch", len);
	if (scratch < 0)
		bail("memfd: %s", strerror(errno));
	rk = probe_raw_syscall(SYS_pwrite64, scratch, (long)(k + off),
			       (long)len, 0, 0, 0);
	rl = pwrite(scratch, l + off, len, 0);
	ok(rk == (ssize_t)len && rl == (ssize_t)len,
	   "%s pwrite from a locked file mapping: %zd bytes, the kernel %zd",
	   name, rl, rk);
	same = same_pages(k, l, FPG, where, sizeof(where));
	ok(same,
	   "%s pages around the pwrite buffer present and locked as under the kernel's MLOCK_ONFAULT (fault-around)%s%s",
	   name, where[0] ? ": " : "", where);
	close(scratch);
	close(fk);
	close(fl);
}

/* F5 in a child: mlockall there. Exit status: the pages present. */
static int f5_ref;

static void f5_child(void *arg)
{
	char *p = probe_sys_mmap(NULL, NPG * pg, PROT_READ | PROT_WRITE,
				 MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	int n = 0;

	(void)arg;
	if (p == MAP_FAILED || mprotect(p, NPG * pg, PROT_READ | PROT_EXEC))
		_exit(200);
	if (f5_ref ? probe_sys_mlockall(MCL_CURRENT | MCL_ONFAULT)
		   : mlockall(MCL_CURRENT))
		_exit(201);
	for (int i = 0; i < NPG; i++)
		n += probe_present(p + (size_t)i * pg) == 1;
	_exit(n);
}

static void f5(void)
{
	int sk, sl;
	char b1[64], b2[64];

	f5_ref = 1;
	sk = probe_fork(f5_child, NULL);
	f5_ref = 0;
	sl = probe_fork(f5_child, NULL);
	ok(sk != -1 && sl != -1 && WIFEXITED(sk) && WIFEXITED(sl) &&
		   WEXITSTATUS(sk) <= NPG && WEXITSTATUS(sk) == WEXITSTATUS(sl),
	   "F5 mlockall(MCL_CURRENT) over shared anonymous memory made executable: pages present as under the kernel's MCL_ONFAULT (library: %s, kernel: %s)",
	   probe_status_str(sl, b1, sizeof(b1)),
	   probe_status_str(sk, b2, sizeof(b2)));
}

/* F9 in a child: a memfd's pages mapped executable, locked. */
static int f9_ref, f9_all;

static void f9_child(void *arg)
{
	int fd = *(int *)arg, n = 0;
	char *p = mmap(NULL, NPG * pg, PROT_READ | PROT_EXEC, MAP_PRIVATE,
		       fd, 0);

	if (p == MAP_FAILED)
		_exit(200);
	if (f9_all ? (f9_ref ? probe_sys_mlockall(MCL_CURRENT | MCL_ONFAULT)
			     : mlockall(MCL_CURRENT))
		   : (f9_ref ? probe_sys_mlock2(p, NPG * pg, MLOCK_ONFAULT)
			     : mlock(p, NPG * pg)))
		_exit(201);
	for (int i = 0; i < NPG; i++)
		n += probe_present(p + (size_t)i * pg) == 1;
	_exit(n);
}

static void f9(int all)
{
	int fd = probe_memfd("fuzzfix-f9", NPG * pg), sk, sl;
	char b1[64], b2[64];

	if (fd < 0)
		bail("memfd: %s", strerror(errno));
	for (size_t i = 0; i < NPG; i++)
		if (pwrite(fd, "x", 1, (off_t)(i * pg)) != 1)
			bail("pwrite: %s", strerror(errno));
	f9_all = all;
	f9_ref = 1;
	sk = probe_fork(f9_child, &fd);
	f9_ref = 0;
	sl = probe_fork(f9_child, &fd);
	ok(sk != -1 && sl != -1 && WIFEXITED(sk) && WIFEXITED(sl) &&
		   WEXITSTATUS(sk) <= NPG && WEXITSTATUS(sk) == WEXITSTATUS(sl),
	   "F9 %s over a file the program mapped executable: pages present as under the kernel's lock-on-fault (library: %s, kernel: %s)",
	   all ? "mlockall(MCL_CURRENT)" : "mlock",
	   probe_status_str(sl, b1, sizeof(b1)),
	   probe_status_str(sk, b2, sizeof(b2)));
	close(fd);
}

int main(void)
{
	probe_require_preloaded();
	pg = probe_page_size();
	plan(0);
	diag("engine %s", probe_engine());
	if (!probe_kernel_onfault()) {
		skip(19, "no MLOCK_ONFAULT in the kernel: no reference");
		return done();
	}
	for (int shared = 0; shared < 2; shared++) {
		f2(shared, MADV_POPULATE_READ, 0);
		f2(shared, MADV_POPULATE_WRITE, 0);
		f2(shared, MADV_POPULATE_WRITE, 1);
	}
	pwrite_around("F6", 0, 21, 26);
	f5();
	f9(0);
	f9(1);
	pwrite_around("F10 (the mapping 6 pages into its block)", 6, 0, 1);
	return done();
}
