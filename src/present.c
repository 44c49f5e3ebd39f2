/*
 * present.c - which pages of a range are present in this process's page
 * tables: what the kernel's MLOCK_ONFAULT locks at the call.
 *
 * /proc/self/pagemap gives one 64-bit word per page; bit 63 is "present
 * in RAM" (readable without privilege). That is exactly the kernel's
 * test: a page in the page cache but not mapped here is not locked by
 * MLOCK_ONFAULT, and neither are we. Where pagemap cannot be read (an
 * old kernel, a sandbox), mincore() answers instead; it counts cached
 * file pages as present, so a file mapping may get a few more pages
 * locked than the kernel would, never fewer.
 */
#include "config.h"
#include "sigsegv.h"

#include <errno.h>
#include <fcntl.h>

#include "sys.h"

#define PM_PRESENT (1ULL << 63)
#define CHUNK 512

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

static int from_mincore(uintptr_t s, uintptr_t e, struct runs *r)
{
	unsigned char vec[CHUNK];

	for (uintptr_t at = s; at < e; at += (uintptr_t)CHUNK << lof_page_shift) {
		size_t n = (e - at) >> lof_page_shift;
		int rc;

		if (n > CHUNK)
			n = CHUNK;
		rc = sys_mincore((void *)at, n << lof_page_shift, vec);
		if (rc)
			return rc;
		for (size_t i = 0; i < n; i++) {
			rc = page(r, at + (i << lof_page_shift), vec[i] & 1);
			if (rc)
				return rc;
		}
	}
	return 0;
}

int present_runs(uintptr_t s, uintptr_t e,
		 int (*fn)(uintptr_t start, uintptr_t end, void *arg),
		 void *arg)
{
	struct runs r = { .fn = fn, .arg = arg };
	uint64_t words[CHUNK];
	int fd = sys_open("/proc/self/pagemap", O_RDONLY, 0);
	int rc = 0;

	if (fd < 0) {
		rc = from_mincore(s, e, &r);
	} else {
		for (uintptr_t at = s; at < e && !rc;
		     at += (uintptr_t)CHUNK << lof_page_shift) {
			size_t n = (e - at) >> lof_page_shift;
			off_t off = (off_t)((at >> lof_page_shift) * 8);
			ssize_t got;

			if (n > CHUNK)
				n = CHUNK;
			got = sys_pread(fd, words, n * 8, off);
			if (got != (ssize_t)(n * 8)) {
				rc = got < 0 ? (int)got : -EIO;
				break;
			}
			for (size_t i = 0; i < n && !rc; i++)
				rc = page(&r, at + (i << lof_page_shift),
					  !!(words[i] & PM_PRESENT));
		}
		sys_close(fd);
		if (rc < 0 && !r.emitted) {
			/* Unreadable here: ask mincore from the start. */
			r.hi = 0;
			rc = from_mincore(s, e, &r);
		}
	}
	if (rc == 0 && r.hi)
		rc = fn(r.lo, r.hi, arg);
	return rc;
}
