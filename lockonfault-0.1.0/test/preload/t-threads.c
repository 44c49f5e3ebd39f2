/*
 * t-threads.c - many threads faulting on one lock-on-fault region.
 *
 * A 256 MiB region is mlock()ed and 4 threads write their own slot (a
 * word per thread in each page) of pages: first the same pages in the
 * same order, released together by a barrier (so they fault on the same
 * pages and batches at once), then pages of their own at random. Then
 * every thread verifies every touched page: its own and the others'
 * slots, and zero in the slots nobody wrote. Locked: must cover the
 * touched pages (and stay well below the region: a quarter is touched),
 * and kpageflags must show each of them mlocked.
 *
 * A second region is then hammered by 3 writer threads while a fourth
 * keeps munlock()ing and mlock()ing pieces of it: a fault racing with
 * munlock must never be taken for the program's own (no crash), and no
 * write may be lost. Each phase is bounded in time.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "probe.h"
#include "tap.h"

#define NTHREADS	4
#define BIG		(256UL << 20)
#define RACE		(64UL << 20)
#define SHARED_PAGES	2048
#define OWN_PAGES	4096
#define PHASE_MS	3000.0
#define RACE_MS		1000.0

static size_t pg;
static char *region, *race;
static uint8_t *mark, *race_mark;	/* per page: a bit per writer */
static pthread_barrier_t barrier;
static size_t bad[NTHREADS];
static volatile int race_stop;
static long toggles;

static volatile uint64_t *slot(char *p, size_t page, int t)
{
	return (volatile uint64_t *)(p + page * pg + 256 + t * 8);
}

static void put(char *p, uint8_t *m, size_t page, int t)
{
	*slot(p, page, t) = probe_mix(page, (uint64_t)t + 1);
	__atomic_fetch_or(&m[page], (uint8_t)(1 << t), __ATOMIC_RELAXED);
}

/* Wrong slots of the touched pages in [0, npages). */
static size_t check(char *p, const uint8_t *m, size_t npages, int nslots)
{
	size_t page, n = 0;
	int u;

	for (page = 0; page < npages; page++) {
		if (!m[page])
			continue;
		for (u = 0; u < nslots; u++) {
			uint64_t want = m[page] & (1 << u) ?
					probe_mix(page, (uint64_t)u + 1) : 0;

			n += *slot(p, page, u) != want;
		}
	}
	return n;
}

static void *worker(void *arg)
{
	int t = (int)(intptr_t)arg, i;
	size_t npages = BIG / pg;
	uint64_t seed = 0xc0ffee;	/* the same sequence for everyone */
	double t0;

	pthread_barrier_wait(&barrier);
	t0 = probe_now_ms();
	for (i = 0; i < SHARED_PAGES; i++) {
		put(region, mark, probe_rand(&seed) % npages, t);
		if (!(i & 255) && probe_now_ms() - t0 > PHASE_MS)
			break;
	}
	seed = 0x1234567ULL * (t + 1);
	t0 = probe_now_ms();
	for (i = 0; i < OWN_PAGES; i++) {
		put(region, mark, probe_rand(&seed) % npages, t);
		if (!(i & 255) && probe_now_ms() - t0 > PHASE_MS)
			break;
	}
	pthread_barrier_wait(&barrier);
	bad[t] = check(region, mark, npages, NTHREADS);
	return NULL;
}

static void *race_writer(void *arg)
{
	int t = (int)(intptr_t)arg;
	size_t npages = RACE / pg;
	uint64_t seed = 0xabcdefULL * (t + 7);

	while (!race_stop)
		put(race, race_mark, probe_rand(&seed) % npages, t);
	return NULL;
}

static void *race_toggler(void *arg)
{
	size_t npages = RACE / pg, first, n;
	uint64_t seed = 0x7777;
	double t0 = probe_now_ms();

	(void)arg;
	while (probe_now_ms() - t0 < RACE_MS) {
		first = probe_rand(&seed) % npages;
		n = 1 + probe_rand(&seed) % 512;
		if (first + n > npages)
			n = npages - first;
		munlock(race + first * pg, n * pg);
		mlock(race + first * pg, n * pg);
		toggles++;
	}
	race_stop = 1;
	return NULL;
}

static size_t count_marked(const uint8_t *m, size_t npages,
			   size_t *notlocked, char *p)
{
	size_t page, n = 0;

	*notlocked = 0;
	for (page = 0; page < npages; page++) {
		if (!m[page])
			continue;
		n++;
		*notlocked += probe_page_locked(p + page * pg) != 1;
	}
	return n;
}

int main(void)
{
	pthread_t th[NTHREADS];
	size_t touched, notlocked, lost, nbad = 0;
	double t0;
	long locked;
	int i, r;

	plan(10);
	probe_require_preloaded();
	alarm(60);
	pg = probe_page_size();

	region = mmap(NULL, BIG, PROT_READ | PROT_WRITE,
		      MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	mark = mmap(NULL, BIG / pg, PROT_READ | PROT_WRITE,
		    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (region == MAP_FAILED || mark == MAP_FAILED)
		bail("mmap failed: %s", strerror(errno));
	r = mlock(region, BIG);
	ok(r == 0, "mlock of 256 MiB returns 0 (errno %d)", r ? errno : 0);

	pthread_barrier_init(&barrier, NULL, NTHREADS);
	t0 = probe_now_ms();
	for (i = 0; i < NTHREADS; i++)
		if (pthread_create(&th[i], NULL, worker, (void *)(intptr_t)i))
			bail("pthread_create failed");
	for (i = 0; i < NTHREADS; i++)
		pthread_join(th[i], NULL);
	for (i = 0; i < NTHREADS; i++)
		nbad += bad[i];
	diag("4 threads: faults and verification took %.1f ms",
	     probe_now_ms() - t0);
	ok(nbad == 0, "no lost or stray write, seen from every thread (%zu "
	   "wrong slots)", nbad);
	lost = check(region, mark, BIG / pg, NTHREADS);
	ok(lost == 0, "no lost write, seen from the main thread (%zu wrong)",
	   lost);

	touched = count_marked(mark, BIG / pg, &notlocked, region);
	locked = probe_locked_kb(region, BIG);
	diag("touched %zu distinct pages (%zu kB); Locked %ld kB; maps %d",
	     touched, touched * pg / 1024, locked, probe_map_count());
	ok(locked >= (long)(touched * pg / 1024),
	   "Locked covers the touched pages (%ld kB >= %zu kB)", locked,
	   touched * pg / 1024);
	ok(notlocked == 0, "every touched page is mlocked (%zu of %zu not)",
	   notlocked, touched);
	ok(locked < (long)(BIG / 1024 / 2),
	   "untouched pages stay unlocked: Locked under half the region "
	   "(%ld kB, %zu kB touched)", locked, touched * pg / 1024);
	ok(munlock(region, BIG) == 0 && munmap(region, BIG) == 0,
	   "munlock and munmap of the region");

	/* Faults racing with munlock/mlock of the same pages. */
	race = mmap(NULL, RACE, PROT_READ | PROT_WRITE,
		    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	race_mark = mmap(NULL, RACE / pg, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (race == MAP_FAILED || race_mark == MAP_FAILED)
		bail("mmap failed: %s", strerror(errno));
	mlock(race, RACE);
	for (i = 0; i < NTHREADS - 1; i++)
		if (pthread_create(&th[i], NULL, race_writer,
				   (void *)(intptr_t)i))
			bail("pthread_create failed");
	if (pthread_create(&th[i], NULL, race_toggler, NULL))
		bail("pthread_create failed");
	for (i = 0; i < NTHREADS; i++)
		pthread_join(th[i], NULL);
	lost = check(race, race_mark, RACE / pg, NTHREADS - 1);
	touched = count_marked(race_mark, RACE / pg, &notlocked, race);
	diag("race: %ld munlock/mlock pairs against 3 writers; %zu pages "
	     "touched", toggles, touched);
	ok(lost == 0, "faults racing with munlock/mlock: no crash, no lost "
	   "write (%zu wrong)", lost);

	r = mlock(race, RACE);
	touched = count_marked(race_mark, RACE / pg, &notlocked, race);
	ok(r == 0 && notlocked == 0, "after a final mlock every touched page "
	   "is mlocked (%zu of %zu not)", notlocked, touched);
	ok(munlock(race, RACE) == 0 && munmap(race, RACE) == 0,
	   "munlock and munmap of the raced region");
	return done();
}
