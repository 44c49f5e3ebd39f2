/*
 * present.c - which pages of a range are present in this process's page
 * tables: what the kernel's MLOCK_ONFAULT locks at the call.
 *
 * /proc/self/pagemap gives one 64-bit word per page; bit 63 is "present
 * in RAM" (readable without privilege). That is exactly the kernel's
 * test: a page in the page cache but not mapped here is not locked by
 * MLOCK_ONFAULT, and neither are we. mincore() goes first, chunk by
 * chunk: a byte a page, it is three times cheaper, and where it sees
 * nothing resident there is nothing present (48 GiB of fresh memory:
 * 15 ms rather than 46). Where pagemap cannot be read (an old kernel, a
 * sandbox), mincore() answers alone; it counts cached file pages as
 * present, so a file mapping may get a few more pages locked than the
 * kernel would, never fewer.
 *
 * present_anon_runs finds the private copies among present pages
 * (pagemap alone): in emulation, pages of a private file mapping the
 * program has written, which may stay writable when the rest is locked
 * read-only (sigsegv.c, lock_run).
 */
#include "config.h"
#include "sigsegv.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>

#include "sys.h"

#define PM_PRESENT (1ULL << 63)
#define PM_FILE (1ULL << 61)	/* a file page or shared anonymous */
#define CHUNK 1024

struct runs {
	uintptr_t lo, hi;	/* the run being built; hi 0: none */
	int emitted;		/* fn was called */
	int (*fn)(uintptr_t, uintptr_t, void *);
	void *arg;
};

static int page(struct runs *r, uintptr_t at, int present)
{
	int rc = 0;

	if (present) {
		if (r->hi == at && r->hi) {
			r->hi = at + lof_page_size;
		} else {
			r->lo = at;
			r->hi = at + lof_page_size;
		}
		return 0;
	}
	if (r->hi) {
		r->emitted = 1;
		rc = r->fn(r->lo, r->hi, r->arg);
		r->hi = 0;
	}
	return rc;
}

/*
 * One chunk of n pages at at: mincore first, which is cheap (a byte a
 * page) and says "nothing here" for most of a fresh range; where it
 * sees something, pagemap (fd >= 0) says exactly which pages are in
 * this process's page tables.
 */
static int chunk(int fd, uintptr_t at, size_t n, struct runs *r)
{
	unsigned char vec[CHUNK];
	uint64_t words[CHUNK];
	size_t i, any = 0;
	ssize_t got;
	int rc;

	rc = sys_mincore((void *)at, n << lof_page_shift, vec);
	if (rc)
		return rc;
	/* Most of a fresh range: nothing resident. Eight bytes at a time. */
	for (i = 0; i + 8 <= n && !any; i += 8) {
		uint64_t w;

		memcpy(&w, vec + i, 8);
		any = (w & 0x0101010101010101ULL) != 0;
	}
	for (; i < n && !any; i++)
		any = vec[i] & 1;
	if (!any) {
		/* Close a run that ended at the chunk's start. */
		return page(r, at, 0);
	}
	if (fd < 0) {
		for (i = 0; i < n; i++)
			if ((rc = page(r, at + (i << lof_page_shift),
				       vec[i] & 1)))
				return rc;
		return 0;
	}
	got = sys_pread(fd, words, n * 8, (off_t)((at >> lof_page_shift) * 8));
	if (got != (ssize_t)(n * 8))
		return got < 0 ? (int)got : -EIO;
	for (i = 0; i < n; i++)
		if ((rc = page(r, at + (i << lof_page_shift),
			       !!(words[i] & PM_PRESENT))))
			return rc;
	return 0;
}

int present_runs(uintptr_t s, uintptr_t e,
		 int (*fn)(uintptr_t start, uintptr_t end, void *arg),
		 void *arg)
{
	struct runs r = { .fn = fn, .arg = arg };
	int fd = sys_open("/proc/self/pagemap", O_RDONLY, 0);
	int rc = 0;

	for (uintptr_t at = s; at < e && !rc;
	     at += (uintptr_t)CHUNK << lof_page_shift) {
		size_t n = (e - at) >> lof_page_shift;

		if (n > CHUNK)
			n = CHUNK;
		rc = chunk(fd, at, n, &r);
		if (rc < 0 && fd >= 0 && !r.emitted) {
			/* pagemap unreadable here: mincore alone, afresh. */
			sys_close(fd);
			fd = -1;
			r.hi = 0;
			at = s - ((uintptr_t)CHUNK << lof_page_shift);
			rc = 0;
		}
	}
	if (fd >= 0)
		sys_close(fd);
	if (rc == 0 && r.hi)
		rc = fn(r.lo, r.hi, arg);
	return rc;
}

int present_anon_runs(uintptr_t s, uintptr_t e,
		      int (*fn)(uintptr_t start, uintptr_t end, void *arg),
		      void *arg)
{
	struct runs r = { .fn = fn, .arg = arg };
	uint64_t words[CHUNK];
	int fd = sys_open("/proc/self/pagemap", O_RDONLY, 0);
	int rc = 0;

	if (fd < 0)
		return fd;
	for (uintptr_t at = s; at < e && !rc;
	     at += (uintptr_t)CHUNK << lof_page_shift) {
		size_t n = (e - at) >> lof_page_shift;
		ssize_t got;

		if (n > CHUNK)
			n = CHUNK;
		got = sys_pread(fd, words, n * 8,
				(off_t)((at >> lof_page_shift) * 8));
		if (got != (ssize_t)(n * 8)) {
			rc = got < 0 ? (int)got : -EIO;
			break;
		}
		for (size_t i = 0; i < n && !rc; i++)
			rc = page(&r, at + (i << lof_page_shift),
				  (words[i] & (PM_PRESENT | PM_FILE)) ==
					  PM_PRESENT);
	}
	sys_close(fd);
	if (rc == 0 && r.hi)
		rc = fn(r.lo, r.hi, arg);
	return rc;
}
