/*
 * t-bigmlock.c - acceptance test 1: mlock() of 48 GiB of virtual memory
 * on a machine with half that RAM returns at once and locks only what is
 * touched.
 *
 * The 48 GiB MAP_NORESERVE mapping is mlock()ed; the call must return 0
 * in under 100 ms with (close to) nothing locked. Then 1000 scattered
 * pages are written, each with its own value: smaps Locked: must cover
 * them and stay far below the range, pagemap and kpageflags must show
 * each of them present and mlocked, and every value must read back.
 * munlock() must leave nothing locked and the memory usable.
 *
 * A failing library that pre-faults would fill the machine: a 64 MiB
 * probe first checks that mlock() is lazy, and an alarm bounds the big
 * call so that a pre-faulting mlock() is killed within seconds.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "probe.h"
#include "tap.h"

#define BIG	(48ULL << 30)
#define SMALL	(64ULL << 20)
#define K	1000

static uint64_t *page_word(char *base, size_t pg, size_t i)
{
	return (uint64_t *)(base + i * pg + (i % 8) * 64);
}

static long kb(uint64_t bytes)
{
	return (long)(bytes >> 10);
}

int main(void)
{
	size_t pg = probe_page_size(), npages = BIG / pg, stride = npages / K;
	static size_t idx[K], idx2[K];
	uint64_t seed = 0x5eed1234abcdULL;
	size_t i, bad, notlocked, absent;
	long locked, locked_all;
	double t0, ms;
	char *p, *s;
	int r;

	plan(17);
	probe_require_preloaded();

	/*
	 * Safety probe: if mlock() pre-faults, the 48 GiB call would fill
	 * the machine, so stop here.
	 */
	s = mmap(NULL, SMALL, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (s == MAP_FAILED)
		bail("mmap of 64 MiB failed: %s", strerror(errno));
	r = mlock(s, SMALL);
	locked = probe_locked_kb(s, SMALL);
	if (!ok(r == 0 && locked < kb(SMALL) / 100,
		"mlock(64 MiB) returns 0 and is lazy (ret %d, Locked %ld kB)",
		r, locked))
		bail("mlock() pre-faults; not risking a 48 GiB mlock()");
	munlock(s, SMALL);
	munmap(s, SMALL);

	p = mmap(NULL, BIG, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (!ok(p != MAP_FAILED, "mmap 48 GiB MAP_NORESERVE"))
		bail("cannot map 48 GiB: %s", strerror(errno));

	alarm(3);	/* a pre-faulting mlock() dies here, not the machine */
	t0 = probe_now_ms();
	r = mlock(p, BIG);
	ms = probe_now_ms() - t0;
	alarm(0);
	ok(r == 0, "mlock(48 GiB) returns 0 (errno %d)", r ? errno : 0);
	diag("mlock(48 GiB) took %.3f ms", ms);
	ok(ms < 100.0, "mlock(48 GiB) returns in under 100 ms (%.3f ms)", ms);

	locked = probe_locked_kb(p, BIG);
	diag("Locked after mlock: %ld kB; maps: %d", locked,
	     probe_map_count());
	ok(locked >= 0 && locked < kb(BIG) / 100,
	   "Locked over the range is under 1%% after mlock (%ld kB)", locked);

	/* k scattered pages, one in each stride, at a random offset. */
	for (i = 0; i < K; i++)
		idx[i] = i * stride + probe_rand(&seed) % stride;
	t0 = probe_now_ms();
	for (i = 0; i < K; i++)
		*page_word(p, pg, idx[i]) = probe_mix(idx[i], 1);
	diag("touching %d pages took %.3f ms", K, probe_now_ms() - t0);

	locked = probe_locked_kb(p, BIG);
	diag("Locked after touching %d pages: %ld kB (%d pages = %ld kB); "
	     "maps: %d", K, locked, K, kb((uint64_t)K * pg),
	     probe_map_count());
	ok(locked >= kb((uint64_t)K * pg),
	   "Locked covers the %d touched pages (%ld kB >= %ld kB)", K, locked,
	   kb((uint64_t)K * pg));
	ok(locked < kb(BIG) / 100,
	   "Locked stays under 1%% of the range (%ld kB < %ld kB)", locked,
	   kb(BIG) / 100);

	notlocked = absent = 0;
	for (i = 0; i < K; i++) {
		void *a = page_word(p, pg, idx[i]);

		if (probe_present(a) != 1)
			absent++;
		else if (probe_page_locked(a) != 1)
			notlocked++;
	}
	ok(absent == 0 && notlocked == 0,
	   "pagemap/kpageflags: every touched page present and mlocked "
	   "(%zu absent, %zu not mlocked)", absent, notlocked);

	for (i = 0, bad = 0; i < K; i++)
		bad += *page_word(p, pg, idx[i]) != probe_mix(idx[i], 1);
	ok(bad == 0, "every written value reads back (%zu wrong)", bad);

	/* Untouched pages read as zero and are not made present by probes. */
	absent = 0;
	for (i = 0; i < K; i++)
		absent += probe_present(p + (idx[i] + stride / 2) % npages * pg)
			  == 0;
	ok(absent == K, "pages between the touched ones stay absent "
	   "(%zu of %d)", absent, K);

	r = munlock(p, BIG);
	ok(r == 0, "munlock(48 GiB) returns 0 (errno %d)", r ? errno : 0);
	locked = probe_locked_kb(p, BIG);
	ok(locked == 0, "Locked is 0 after munlock (%ld kB)", locked);
	ok(probe_vmflag(p, "lo") == 0 &&
	   probe_vmflag(p + idx[K / 2] * pg, "lo") == 0,
	   "no VMA of the range keeps VmFlags lo after munlock");

	for (i = 0, bad = 0; i < K; i++)
		bad += *page_word(p, pg, idx[i]) != probe_mix(idx[i], 1);
	ok(bad == 0, "values survive munlock (%zu wrong)", bad);

	/* New writes after munlock: fresh pages and the old ones. */
	for (i = 0; i < K; i++) {
		idx2[i] = (idx[i] + stride / 3) % npages;
		*page_word(p, pg, idx2[i]) = probe_mix(idx2[i], 2);
		*page_word(p, pg, idx[i]) = probe_mix(idx[i], 3);
	}
	for (i = 0, bad = 0; i < K; i++)
		bad += *page_word(p, pg, idx2[i]) != probe_mix(idx2[i], 2) ||
		       *page_word(p, pg, idx[i]) != probe_mix(idx[i], 3);
	ok(bad == 0, "memory is usable after munlock (%zu wrong)", bad);
	locked_all = probe_locked_kb(p, BIG);
	for (i = 0, notlocked = 0; i < K; i++)
		notlocked += probe_page_locked(page_word(p, pg, idx2[i])) == 0;
	ok(locked_all == 0 && notlocked == K,
	   "pages touched after munlock are not locked (Locked %ld kB, "
	   "%zu of %d unlocked)", locked_all, notlocked, K);

	ok(munmap(p, BIG) == 0, "munmap(48 GiB)");
	return done();
}
