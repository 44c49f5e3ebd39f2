/*
 * t-filemap.c - lock on fault over file mappings.
 *
 * A 64 MiB file of known pseudorandom content is created in a scratch
 * directory of the build tree (removed at the end) and mapped four ways,
 * each mlock()ed, checked, munlock()ed and unmapped:
 *   (a) MAP_SHARED PROT_READ: scattered reads equal the file; Locked:
 *       starts at 0 and grows only with the touched pages, each of which
 *       is present and mlocked.
 *   (b) MAP_PRIVATE PROT_READ|PROT_WRITE: writes read back, unwritten
 *       bytes still show the file, and pread() proves the file unchanged.
 *   (c) MAP_PRIVATE PROT_READ at a file offset: reads match the file.
 *   (d) MAP_SHARED PROT_READ|PROT_WRITE: writes reach the file (msync,
 *       then pread()).
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "probe.h"
#include "tap.h"

#define FSIZE	(64UL << 20)
#define NTOUCH	64
#define SEED	0xf11e5eedULL

static size_t pg;
static int fd;

/* The file's 64-bit word number w. */
static uint64_t file_word(size_t w)
{
	return probe_mix(SEED, w);
}

static uint64_t file_at(size_t off)	/* off is 8-aligned */
{
	return file_word(off / 8);
}

static int make_file(const char *path)
{
	static uint64_t buf[8192];
	size_t w = 0, i;

	fd = open(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0)
		return -1;
	while (w < FSIZE / 8) {
		for (i = 0; i < 8192; i++)
			buf[i] = file_word(w + i);
		if (write(fd, buf, sizeof(buf)) != sizeof(buf))
			return -1;
		w += 8192;
	}
	/* Start cold, so that nothing is mapped in by fault-around. */
	fdatasync(fd);
	posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED);
	return 0;
}

static uint64_t pread_word(size_t off)
{
	uint64_t v = 0;

	if (pread(fd, &v, 8, (off_t)off) != 8)
		return 0;
	return v;
}

/* NTOUCH scattered 8-aligned offsets in [0, len), one per stride. */
static void pick(size_t *off, size_t len, uint64_t seed)
{
	size_t stride = len / NTOUCH, i;

	for (i = 0; i < NTOUCH; i++)
		off[i] = (i * stride + probe_rand(&seed) % stride) & ~7UL;
}

/* Locked: and per-page lock state after touching NTOUCH pages. */
static void check_locked(const char *what, char *p, size_t len,
			 const size_t *off)
{
	long locked = probe_locked_kb(p, len);
	long want = (long)(NTOUCH * pg / 1024);
	size_t i, notlocked = 0;

	for (i = 0; i < NTOUCH; i++)
		notlocked += probe_page_locked(p + off[i]) != 1;
	diag("%s: Locked %ld kB after touching %d pages", what, locked,
	     NTOUCH);
	ok(locked >= want && locked < (long)(len / 1024 / 2),
	   "%s: Locked grows only with the touched pages (%ld kB, "
	   "want >= %ld and < half of %zu kB)", what, locked, want,
	   len / 1024);
	ok(notlocked == 0, "%s: every touched page is present and mlocked "
	   "(%zu not)", what, notlocked);
}

static void case_shared_ro(void)
{
	size_t off[NTOUCH], i, bad = 0;
	char *p;
	long locked;
	int r;

	p = mmap(NULL, FSIZE, PROT_READ, MAP_SHARED, fd, 0);
	if (!ok(p != MAP_FAILED, "(a) mmap MAP_SHARED PROT_READ")) {
		skip(6, "no mapping");
		return;
	}
	r = mlock(p, FSIZE);
	ok(r == 0, "(a) mlock returns 0 (errno %d)", r ? errno : 0);
	locked = probe_locked_kb(p, FSIZE);
	ok(locked == 0, "(a) Locked is 0 before any touch (%ld kB)", locked);

	pick(off, FSIZE, 1);
	for (i = 0; i < NTOUCH; i++)
		bad += *(volatile uint64_t *)(p + off[i]) != file_at(off[i]);
	ok(bad == 0, "(a) scattered reads equal the file (%zu wrong)", bad);
	check_locked("(a)", p, FSIZE, off);

	r = munlock(p, FSIZE);
	locked = probe_locked_kb(p, FSIZE);
	ok(r == 0 && locked == 0, "(a) munlock returns 0 and Locked is 0 "
	   "(ret %d, %ld kB)", r, locked);
	munmap(p, FSIZE);
}

static void case_private_rw(void)
{
	size_t off[NTOUCH], i, bad = 0, badf = 0, badn = 0;
	char *p;
	int r;

	p = mmap(NULL, FSIZE, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
	if (!ok(p != MAP_FAILED, "(b) mmap MAP_PRIVATE PROT_READ|PROT_WRITE")) {
		skip(6, "no mapping");
		return;
	}
	r = mlock(p, FSIZE);
	ok(r == 0, "(b) mlock returns 0 (errno %d)", r ? errno : 0);

	pick(off, FSIZE, 2);
	for (i = 0; i < NTOUCH; i++)
		*(volatile uint64_t *)(p + off[i]) = ~file_at(off[i]);
	for (i = 0; i < NTOUCH; i++) {
		size_t nb = off[i] ^ 8;	/* the other word of the pair */

		bad += *(volatile uint64_t *)(p + off[i]) != ~file_at(off[i]);
		badn += *(volatile uint64_t *)(p + nb) != file_at(nb);
	}
	ok(bad == 0, "(b) private writes read back (%zu wrong)", bad);
	ok(badn == 0, "(b) unwritten bytes of written pages show the file "
	   "(%zu wrong)", badn);
	check_locked("(b)", p, FSIZE, off);

	for (i = 0; i < NTOUCH; i++)
		badf += pread_word(off[i]) != file_at(off[i]);
	ok(badf == 0, "(b) pread: the file on disk is unchanged (%zu "
	   "changed)", badf);

	munlock(p, FSIZE);
	munmap(p, FSIZE);
}

static void case_private_ro_offset(void)
{
	size_t base = 8UL << 20, len = 32UL << 20, off[NTOUCH], i, bad = 0;
	char *p;
	int r;

	p = mmap(NULL, len, PROT_READ, MAP_PRIVATE, fd, (off_t)base);
	if (!ok(p != MAP_FAILED, "(c) mmap MAP_PRIVATE PROT_READ at offset "
		"8 MiB")) {
		skip(4, "no mapping");
		return;
	}
	r = mlock(p, len);
	ok(r == 0, "(c) mlock returns 0 (errno %d)", r ? errno : 0);
	pick(off, len, 3);
	for (i = 0; i < NTOUCH; i++)
		bad += *(volatile uint64_t *)(p + off[i]) !=
		       file_at(base + off[i]);
	ok(bad == 0, "(c) reads match the file at the offset (%zu wrong)",
	   bad);
	check_locked("(c)", p, len, off);
	munlock(p, len);
	munmap(p, len);
}

static void case_shared_rw(void)
{
	size_t off[NTOUCH], i, bad = 0, badf = 0, badn = 0;
	char *p;
	int r;

	p = mmap(NULL, FSIZE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (!ok(p != MAP_FAILED, "(d) mmap MAP_SHARED PROT_READ|PROT_WRITE")) {
		skip(6, "no mapping");
		return;
	}
	r = mlock(p, FSIZE);
	ok(r == 0, "(d) mlock returns 0 (errno %d)", r ? errno : 0);
	pick(off, FSIZE, 4);
	for (i = 0; i < NTOUCH; i++)
		*(volatile uint64_t *)(p + off[i]) = file_at(off[i]) ^ 0xff;
	for (i = 0; i < NTOUCH; i++)
		bad += *(volatile uint64_t *)(p + off[i]) !=
		       (file_at(off[i]) ^ 0xff);
	ok(bad == 0, "(d) shared writes read back (%zu wrong)", bad);
	check_locked("(d)", p, FSIZE, off);

	r = msync(p, FSIZE, MS_SYNC);
	for (i = 0; i < NTOUCH; i++) {
		badf += pread_word(off[i]) != (file_at(off[i]) ^ 0xff);
		badn += pread_word(off[i] ^ 8) != file_at(off[i] ^ 8);
	}
	ok(r == 0 && badf == 0 && badn == 0, "(d) msync + pread: the writes "
	   "reached the file and nothing else changed (msync %d, %zu "
	   "missing, %zu stray)", r, badf, badn);
	munlock(p, FSIZE);
	munmap(p, FSIZE);
}

int main(void)
{
	char dir[4096], path[4200];

	plan(25);
	probe_require_preloaded();
	alarm(60);
	pg = probe_page_size();

	if (probe_tmpdir(dir, sizeof(dir), "t-filemap.tmp"))
		bail("cannot create a scratch directory: %s", strerror(errno));
	snprintf(path, sizeof(path), "%s/data", dir);
	if (make_file(path)) {
		int e = errno;

		unlink(path);
		rmdir(dir);
		bail("cannot write %s: %s", path, strerror(e));
	}
	/* Unlinked at once: nothing is left behind, even after a crash. */
	unlink(path);
	rmdir(dir);

	case_shared_ro();
	case_private_rw();
	case_private_ro_offset();
	case_shared_rw();

	close(fd);
	return done();
}
