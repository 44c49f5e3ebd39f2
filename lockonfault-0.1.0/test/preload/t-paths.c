/*
 * t-paths.c - path names in pending pages, and bad path pointers.
 *
 * The kernel copies a path with strncpy_from_user, which cannot fault a
 * pending page in: without the library opening it first, every call
 * below fails with EFAULT. Paths are written into a file (a memfd),
 * which is then mapped afresh over the region and locked before
 * anything touches it (probe_map_fresh): the pages hold the data but are
 * absent from the page tables, so they are pending under every mode of
 * the sigsegv engine. (Writing into a locked anonymous range and locking
 * it again would leave the written pages accessible under the emulation
 * of lock-on-fault, the sim43 variant, which locks present pages at once
 * as the kernel's MLOCK_ONFAULT does.) The library must also never fault
 * where the kernel would answer EFAULT: a NULL or wild path, and a path
 * that runs off the end of managed memory into a hole, get the kernel's
 * EFAULT, not a crash.
 *
 * By engine: under sigsegv (either mode) the pages are checked ---p
 * before the calls; under native nothing is protected, and they are
 * checked rw-p, VmFlags lo and lf, and absent (probe_pending()).
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "probe.h"
#include "tap.h"

#define SIZE (1UL << 20)

static char *region;
static size_t pg;
static int fd;
/* NULL, hidden from the compiler's nonnull checks. */
static const char *volatile nowhere;

/*
 * Write n bytes of s at offset off of the file, then map the region
 * afresh over it and lock it: all of it is pending.
 */
static char *put_n(size_t off, const char *s, size_t n)
{
	if (pwrite(fd, s, n, (off_t)off) != (ssize_t)n)
		bail("pwrite");
	if (probe_map_fresh(region, SIZE, fd) == MAP_FAILED)
		bail("mmap");
	if (mlock(region, SIZE))
		bail("mlock");
	return region + off;
}

static char *put(size_t off, const char *s)
{
	return put_n(off, s, strlen(s) + 1);
}

/* ---p under the sigsegv engine, rw-p lo lf and absent under native. */
static int pending(const void *p)
{
	return probe_pending(p, "rw-p");
}

int main(void)
{
	struct stat st;
	char *p, *buf, a64[64];
	uintptr_t hs, he;
	FILE *f;
	DIR *d;
	int o, r, e;

	probe_require_preloaded();
	pg = probe_page_size();
	plan(12);
	fd = probe_memfd("t-paths", SIZE);
	if (fd < 0)
		bail("memfd");
	/* The region, and a hole of one page after it. */
	region = mmap(NULL, SIZE + pg, PROT_NONE,
		      MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (region == MAP_FAILED || munmap(region + SIZE, pg))
		bail("setup");

	p = put(0, "/dev/null");
	ok(pending(p), "the path is in a pending page");
	o = open(p, O_RDONLY);
	ok(o >= 0, "open() of a path in a pending page (errno %d)",
	   o < 0 ? errno : 0);
	if (o >= 0)
		close(o);

	/* Across two pending pages. */
	p = put(pg - 4, "/dev/null");
	ok(pending(p) && stat(p, &st) == 0 && S_ISCHR(st.st_mode),
	   "stat() of a path that crosses two pending pages");

	p = put(0, "/dev/null");
	f = fopen(p, "r");
	ok(f != NULL, "fopen() of a path in a pending page");
	if (f)
		fclose(f);
	p = put(0, "/");
	ok(access(p, R_OK) == 0 && (d = opendir(p)) != NULL && closedir(d) == 0,
	   "access() and opendir() of paths in pending pages");

	p = put(0, "t-paths.dir");
	ok(mkdir(p, 0700) == 0 && (p = put(0, "t-paths.dir")) && rmdir(p) == 0,
	   "mkdir() and rmdir() of a path in a pending page");

	p = put(0, "/proc/self/exe");
	buf = region + 2 * pg;
	ok(pending(buf) && readlink(p, buf, 256) > 0 && buf[0] == '/',
	   "readlink() with its path and its buffer in pending pages");

	/* Bad pointers: the kernel's EFAULT, never a crash. */
	r = open(nowhere, O_RDONLY);
	e = errno;
	ok(r == -1 && e == EFAULT, "open(NULL) fails with EFAULT (errno %d)", e);
	r = stat(nowhere + 16, &st);
	e = errno;
	ok(r == -1 && e == EFAULT,
	   "stat() of a wild pointer fails with EFAULT (errno %d)", e);

	/* A name without its end, up to a hole. */
	memset(a64, 'a', sizeof(a64));
	p = put_n(SIZE - 64, a64, sizeof(a64));
	if (probe_vma(region + SIZE, &hs, &he) == 0)
		bail("the hole after the region is mapped");
	ok(pending(p), "a name without its end is in a pending page");
	r = access(region + SIZE - 64, F_OK);
	e = errno;
	ok(r == -1 && e == EFAULT,
	   "a path that runs into a hole fails with EFAULT (errno %d)", e);
	ok(region[SIZE - 1] == 'a', "and its pages still hold the data");
	return done();
}
