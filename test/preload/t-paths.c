/*
 * t-paths.c - path names in pending pages, and bad path pointers.
 *
 * The kernel copies a path with strncpy_from_user, which cannot fault a
 * pending page in: without the library opening it first, every call
 * below fails with EFAULT. Paths are written into a locked range that a
 * second mlock makes pending again (the data stays). The library must
 * also never fault where the kernel would answer EFAULT: a NULL or wild
 * path, and a path that runs off the end of managed memory into a hole,
 * get the kernel's EFAULT, not a crash.
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
/* NULL, hidden from the compiler's nonnull checks. */
static const char *volatile nowhere;

/* Write s at offset off of the region, then make the region pending. */
static char *put(size_t off, const char *s)
{
	if (munlock(region, SIZE))
		bail("munlock");
	memcpy(region + off, s, strlen(s) + 1);
	if (mlock(region, SIZE))
		bail("mlock");
	return region + off;
}

/* As t-exec: ---p under the sigsegv engine, rw-p lo lf under native. */
static int pending(const void *p)
{
	return probe_onfault_written(p);
}

int main(void)
{
	struct stat st;
	char *p, *buf;
	FILE *f;
	DIR *d;
	int fd, r, e;

	probe_require_preloaded();
	pg = probe_page_size();
	plan(11);
	region = mmap(NULL, SIZE + pg, PROT_READ | PROT_WRITE,
		      MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (region == MAP_FAILED || munmap(region + SIZE, pg) || mlock(region, SIZE))
		bail("setup");

	p = put(0, "/dev/null");
	ok(pending(p), "the path is in a pending page");
	fd = open(p, O_RDONLY);
	ok(fd >= 0, "open() of a path in a pending page (errno %d)",
	   fd < 0 ? errno : 0);
	if (fd >= 0)
		close(fd);

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
	if (munlock(region, SIZE))
		bail("munlock");
	memset(region + SIZE - 64, 'a', 64);
	if (mlock(region, SIZE))
		bail("mlock");
	r = access(region + SIZE - 64, F_OK);
	e = errno;
	ok(r == -1 && e == EFAULT,
	   "a path that runs into a hole fails with EFAULT (errno %d)", e);
	ok(region[SIZE - 1] == 'a', "and its pages still hold the data");
	return done();
}
