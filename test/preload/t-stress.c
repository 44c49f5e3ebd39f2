/*
 * t-stress.c - 4 threads faulting at random while a fifth keeps
 * changing the same region under them (issue 3, "what it must show" 2).
 *
 * The 8 MiB region is cut into chunks of 16 pages. Chunk c belongs to
 * worker c % 5 for c % 5 < 4; chunks with c % 5 == 4 belong to nobody
 * but the churn thread. Each worker loops over random pages of its own
 * chunks: read the page's counter and its check word, compare them with
 * the count it keeps privately, write count + 1. A write lost, or a page
 * handed back zeroed or stale, shows as a mismatch at once and again in
 * the final sweep.
 *
 * The churn thread, meanwhile, picks one of:
 *  - mlock, mlock2(MLOCK_ONFAULT) or munlock of a random span of up to
 *    24 chunks, workers' chunks included (pages go pending again under
 *    the workers' feet, or leave the table mid-fault);
 *  - mprotect of such a span to the protection it already has
 *    (release and re-protect, racing with faults);
 *  - on one of its own chunks: mmap(MAP_FIXED) over it, or munmap and
 *    mmap(MAP_FIXED_NOREPLACE) at the same place, or mprotect to
 *    PROT_READ and back; each time it writes and checks a marker there.
 * Only its own chunks are ever unmapped or made read-only, so the
 * workers' data must survive everything. Half of its chunks are never
 * unmapped (only replaced with MAP_FIXED or made read-only): the workers
 * read those now and then, so faults there race with the replacement
 * and the protection change, and a chunk just made read-only must read
 * r--p in /proc/self/maps (no fault handler may open it read-write).
 *
 * Bounded: LOF_STRESS_SECONDS (default 30) of churn; alarm() is a
 * watchdog that fails the test (a deadlock) well after that.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "probe.h"
#include "tap.h"

#ifndef MAP_FIXED_NOREPLACE
#define MAP_FIXED_NOREPLACE 0x100000
#endif

#define WORKERS		4
#define CHUNK		16		/* pages */
#define NCHUNKS		128
#define NPAGES		(CHUNK * NCHUNKS)
#define MAX_SPAN	24		/* chunks */

static size_t pg;
static char *region;
static uint32_t count[NPAGES];		/* written by the page's owner only */
static volatile int stop;
static unsigned long lost[WORKERS], touches[WORKERS];
static unsigned long churn_ops[8], churn_bad, churn_lost_chunks, reopened;
static uint8_t dead[NCHUNKS];		/* own chunks lost to NOREPLACE */

static int owner(size_t chunk)
{
	return (int)(chunk % 5);
}

static volatile uint64_t *counter(size_t page)
{
	return (volatile uint64_t *)(region + page * pg + 128);
}

static volatile uint64_t *check(size_t page)
{
	return (volatile uint64_t *)(region + page * pg + 136);
}

static void *worker(void *arg)
{
	int t = (int)(intptr_t)arg;
	uint64_t seed = 0x9e3779b97f4a7c15ULL * (uint64_t)(t + 1);

	while (!__atomic_load_n(&stop, __ATOMIC_RELAXED)) {
		size_t c = (probe_rand(&seed) % (NCHUNKS / 5)) * 5 + (size_t)t;

		/*
		 * Now and then, a read of a churn chunk that is never
		 * unmapped (c % 10 == 4): it may be pending, read-only or
		 * freshly replaced, but it is always readable.
		 */
		if ((probe_rand(&seed) & 7) == 0) {
			size_t rc = (probe_rand(&seed) % (NCHUNKS / 10)) * 10 + 4;

			(void)*(volatile char *)(region + (rc * CHUNK +
				probe_rand(&seed) % CHUNK) * pg + 512);
		}
		size_t page = c * CHUNK + probe_rand(&seed) % CHUNK;
		uint64_t n = count[page];
		uint64_t got = *counter(page), chk = *check(page);

		if (got != n || (n && chk != probe_mix(page, n)))
			lost[t]++;
		n++;
		*counter(page) = n;
		*check(page) = probe_mix(page, n);
		count[page] = (uint32_t)n;
		touches[t]++;
	}
	return NULL;
}

/* The churn thread's marker in its own chunk. */
static void mark(size_t c, uint64_t v)
{
	for (size_t i = 0; i < CHUNK; i += 5)
		*(volatile uint64_t *)(region + (c * CHUNK + i) * pg) = v;
}

static int marked(size_t c, uint64_t v)
{
	for (size_t i = 0; i < CHUNK; i += 5)
		if (*(volatile uint64_t *)(region + (c * CHUNK + i) * pg) != v)
			return 0;
	return 1;
}

static void *churner(void *arg)
{
	uint64_t seed = 0x636875726eULL;
	const int rw = PROT_READ | PROT_WRITE;

	(void)arg;
	while (!__atomic_load_n(&stop, __ATOMIC_RELAXED)) {
		int op = (int)(probe_rand(&seed) % 7);
		size_t n = 1 + probe_rand(&seed) % MAX_SPAN;
		size_t c0 = probe_rand(&seed) % (NCHUNKS - n + 1);
		char *s = region + c0 * CHUNK * pg;
		size_t len = n * CHUNK * pg;
		/* One of the churn thread's own chunks. */
		size_t own = (probe_rand(&seed) % (NCHUNKS / 5)) * 5 + 4;
		char *o;
		size_t olen = CHUNK * pg;
		uint64_t v = probe_rand(&seed) | 1;
		char perms[5];
		int bad = 0;
		void *q;

		/* Only chunks the workers never read are unmapped. */
		if (op == 5 && own % 10 == 4)
			own = own + 5 < NCHUNKS ? own + 5 : own - 5;
		o = region + own * CHUNK * pg;
		if (op >= 4 && dead[own])
			op = 0;
		switch (op) {
		case 0:
			bad = mlock(s, len) != 0;
			break;
		case 1:
			bad = mlock2(s, len, MLOCK_ONFAULT) != 0;
			break;
		case 2:
			bad = munlock(s, len) != 0;
			break;
		case 3:
			bad = mprotect(s, len, rw) != 0;
			break;
		case 4:
			q = mmap(o, olen, rw, MAP_PRIVATE | MAP_ANONYMOUS |
				 MAP_FIXED, -1, 0);
			bad = q != o;
			if (!bad) {
				mlock(o, olen);
				bad = !marked(own, 0);
				mark(own, v);
				bad |= !marked(own, v);
			}
			break;
		case 5:
			munmap(o, olen);
			q = mmap(o, olen, rw, MAP_PRIVATE | MAP_ANONYMOUS |
				 MAP_FIXED_NOREPLACE, -1, 0);
			if (q != o) {
				/* Someone else's mapping took the hole. */
				if (q != MAP_FAILED)
					munmap(q, olen);
				dead[own] = 1;
				churn_lost_chunks++;
				break;
			}
			mark(own, v);
			bad = !marked(own, v);
			break;
		case 6:
			mark(own, v);
			bad = mprotect(o, olen, PROT_READ) != 0;
			bad |= !marked(own, v);
			/*
			 * No fault handler may open it again: one that saw
			 * it pending before must be waited out.
			 */
			for (size_t i = 0; i < CHUNK; i += 5)
				if (probe_perms(o + i * pg, perms) ||
				    strcmp(perms, "r--p"))
					reopened++;
			bad |= mprotect(o, olen, rw) != 0;
			mark(own, v + 2);
			bad |= !marked(own, v + 2);
			break;
		}
		churn_ops[op]++;
		/* A span over a lost chunk has a hole: ENOMEM is right. */
		if (op < 4)
			for (size_t k = c0; k < c0 + n; k++)
				bad &= !dead[k];
		churn_bad += bad;
	}
	return NULL;
}

int main(void)
{
	double seconds = probe_seconds("LOF_STRESS_SECONDS", 30), t0;
	pthread_t w[WORKERS], ch;
	unsigned long total = 0, lost_total = 0, wrong = 0, ops = 0;

	plan(6);
	probe_require_preloaded();
	watchdog("the stress test hung (deadlock?)");
	alarm((unsigned int)seconds + 90);
	pg = probe_page_size();

	region = mmap(NULL, NPAGES * pg, PROT_READ | PROT_WRITE,
		      MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (region == MAP_FAILED)
		bail("mmap: %s", strerror(errno));
	if (mlock(region, NPAGES * pg))
		bail("mlock: %s", strerror(errno));

	t0 = probe_now_ms();
	for (int t = 0; t < WORKERS; t++)
		if (pthread_create(&w[t], NULL, worker, (void *)(intptr_t)t))
			bail("pthread_create");
	if (pthread_create(&ch, NULL, churner, NULL))
		bail("pthread_create");
	while (probe_now_ms() - t0 < seconds * 1000)
		usleep(100000);
	__atomic_store_n(&stop, 1, __ATOMIC_RELAXED);
	for (int t = 0; t < WORKERS; t++)
		pthread_join(w[t], NULL);
	pthread_join(ch, NULL);

	for (int t = 0; t < WORKERS; t++) {
		total += touches[t];
		lost_total += lost[t];
	}
	for (int i = 0; i < 7; i++)
		ops += churn_ops[i];
	diag("%.1f s: %lu worker writes, %lu churn ops (mlock %lu, mlock2 %lu, munlock %lu, mprotect %lu, MAP_FIXED %lu, munmap+mmap %lu, read-only %lu), %lu own chunks lost to other mappings",
	     (probe_now_ms() - t0) / 1000, total, ops, churn_ops[0],
	     churn_ops[1], churn_ops[2], churn_ops[3], churn_ops[4],
	     churn_ops[5], churn_ops[6], churn_lost_chunks);
	ok(1, "no crash and no deadlock: 4 workers and the churn thread ran and stopped");
	ok(total > 1000 && ops > 100, "both sides made progress (%lu writes, %lu ops)",
	   total, ops);
	ok(lost_total == 0, "no worker ever read a value other than its last write (%lu mismatches)",
	   lost_total);

	/* The final sweep, with nothing else running. */
	for (size_t c = 0; c < NCHUNKS; c++) {
		if (owner(c) == 4)
			continue;
		for (size_t i = 0; i < CHUNK; i++) {
			size_t page = c * CHUNK + i;
			uint64_t n = count[page];

			if (*counter(page) != n ||
			    (n && *check(page) != probe_mix(page, n)))
				wrong++;
		}
	}
	ok(wrong == 0, "every worker page holds its last write (%lu wrong)", wrong);
	ok(reopened == 0, "a chunk made read-only is never opened read-write again by a fault (%lu times)",
	   reopened);
	ok(churn_bad == 0 &&
	   (munlock(region, NPAGES * pg) == 0 || churn_lost_chunks) &&
	   probe_locked_kb(region, NPAGES * pg) == 0,
	   "every churn call succeeded with its marker intact (%lu failures), munlock leaves nothing locked",
	   churn_bad);
	alarm(0);
	return done();
}
