/*
 * t-relockrace.c - first touches (a read, then a write) racing a lock
 * call that takes their range out of the table and puts it back.
 *
 * Under the emulation (sim43) a read of an untouched page of private
 * writable memory opens its batch read-only, and the first write opens
 * it writable (src/fault.c). An mlock2(MLOCK_ONFAULT) of a range that
 * is managed already releases it first (src/sigsegv.c, sig_release):
 * it opens the pieces read-write and takes them out of the table, and
 * opens them again once the handlers that found them before are done,
 * since such a handler may still open a batch read-only after it. A
 * write in between misses the table, and must be retried until the
 * release is done. With LOCKONFAULT_CHARGE=touched that window was not
 * marked (sig_unsettled stayed even) and the write was retried only
 * once: a page still read-only killed the program with SIGSEGV (seen
 * in t-stress about once in three runs of 10 s; here within the first
 * rounds). sim43-touched.sh runs this test; elsewhere it only checks
 * the data.
 *
 * Each round maps a fresh range, locks it (every page pending), and
 * two threads read and then write each page once, in a random order,
 * while the main thread locks the range again and again. Every page
 * must then hold exactly one write.
 *
 * Bounded: LOF_RELOCK_SECONDS (default 2) of rounds; alarm() is a
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

#define NPAGES		256
#define TOUCHERS	2
#define RELOCKS		20	/* per round */

static size_t pg;
static char *region;
static volatile int go;

static void *toucher(void *arg)
{
	int t = (int)(intptr_t)arg;
	uint64_t seed = 0x9e3779b97f4a7c15ULL;	/* one order for all */
	int perm[NPAGES];

	for (int i = 0; i < NPAGES; i++)
		perm[i] = i;
	for (int i = NPAGES - 1; i > 0; i--) {
		int j = (int)(probe_rand(&seed) % (uint64_t)(i + 1));
		int x = perm[i];

		perm[i] = perm[j];
		perm[j] = x;
	}
	while (!__atomic_load_n(&go, __ATOMIC_ACQUIRE))
		;
	/* Pages perm[t], perm[t + TOUCHERS], ...: each page by one thread. */
	for (int i = t; i < NPAGES; i += TOUCHERS) {
		volatile char *p = region + (size_t)perm[i] * pg + 64;
		char c = *p;

		*p = (char)(c + 1);
	}
	return NULL;
}

int main(void)
{
	double seconds = probe_seconds("LOF_RELOCK_SECONDS", 2), t0;
	unsigned long rounds = 0, relocks = 0, failed = 0, wrong = 0;

	plan(3);
	probe_require_preloaded();
	watchdog("the relock race test hung (deadlock?)");
	alarm((unsigned int)seconds + 60);
	pg = probe_page_size();

	t0 = probe_now_ms();
	while (probe_now_ms() - t0 < seconds * 1000) {
		pthread_t w[TOUCHERS];

		region = mmap(NULL, NPAGES * pg, PROT_READ | PROT_WRITE,
			      MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (region == MAP_FAILED)
			bail("mmap: %s", strerror(errno));
		if (mlock(region, NPAGES * pg))
			bail("mlock: %s", strerror(errno));
		__atomic_store_n(&go, 0, __ATOMIC_RELEASE);
		for (int t = 0; t < TOUCHERS; t++)
			if (pthread_create(&w[t], NULL, toucher,
					   (void *)(intptr_t)t))
				bail("pthread_create");
		__atomic_store_n(&go, 1, __ATOMIC_RELEASE);
		for (int k = 0; k < RELOCKS; k++) {
			failed += mlock2(region, NPAGES * pg,
					 MLOCK_ONFAULT) != 0;
			relocks++;
		}
		for (int t = 0; t < TOUCHERS; t++)
			pthread_join(w[t], NULL);
		for (size_t i = 0; i < NPAGES; i++)
			wrong += region[i * pg + 64] != 1;
		if (munmap(region, NPAGES * pg))
			bail("munmap: %s", strerror(errno));
		rounds++;
	}
	diag("%.1f s: %lu rounds, %lu relocks",
	     (probe_now_ms() - t0) / 1000, rounds, relocks);
	ok(rounds > 0, "no crash and no deadlock: %lu rounds of first touches racing relocks",
	   rounds);
	ok(failed == 0, "every mlock2(MLOCK_ONFAULT) of the managed range succeeded (%lu failures)",
	   failed);
	ok(wrong == 0, "every page holds its one write (%lu wrong)", wrong);
	alarm(0);
	return done();
}
