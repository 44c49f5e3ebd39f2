/*
 * faultcost.c - what one fault costs, part by part.
 *
 * Usage: faultcost [-n ITER]          the parts, one line each
 *        faultcost -t -k LOCK [-n N]  touch mode (see below)
 *
 * The parts, each a median over ITER (default 20000) timed repetitions
 * on a page in the middle of a 64-page private anonymous mapping, so
 * every call splits a mapping in three and the next one merges it back,
 * as the engine's batches do:
 *   fault_mprotect  a read of a PROT_NONE page whose SIGSEGV handler
 *                   mprotects it PROT_READ: the whole user-space fault
 *   mprotect        that mprotect alone
 *   signal          the difference: exception, signal frame, sigreturn
 *   mlock           mlock() of one present page (what the cover
 *                   letter's handler adds per fault; lockonfault never
 *                   calls it: its ranges are already VM_LOCKONFAULT)
 *   probe           msync(MS_INVALIDATE) on a locked page (EBUSY):
 *                   the engine's check that an entry is not stale
 *   lookup_N        region_lookup() in a table of N entries (the
 *                   library's own code, linked from liblof-core)
 *
 * Touch mode maps N (default 2000) times 2 MiB, locks it with LOCK
 * (mlock, or onfault: mlock2(MLOCK_ONFAULT)), and times a write to one
 * page per 2 MiB, each a separate fault. Run natively with onfault and
 * under lockonfault with mlock, the difference per touch is what the
 * engine adds to a fault.
 *
 * Output: "name=nanoseconds" lines.
 */
#define _GNU_SOURCE
#include "config.h"

#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "region.h"

#ifndef MLOCK_ONFAULT
#define MLOCK_ONFAULT 1
#endif

static size_t pg;
static uint8_t *target;

static long long now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static void die(const char *what)
{
	fprintf(stderr, "faultcost: %s: %s\n", what, strerror(errno));
	exit(1);
}

static int cmp(const void *a, const void *b)
{
	long long x = *(const long long *)a, y = *(const long long *)b;

	return x < y ? -1 : x > y;
}

static long long median(long long *v, size_t n)
{
	qsort(v, n, sizeof(*v), cmp);
	return v[n / 2];
}

static void open_handler(int sig, siginfo_t *si, void *uc)
{
	(void)sig;
	(void)si;
	(void)uc;
	mprotect(target, pg, PROT_READ);
}

static void parts(size_t iter)
{
	long long *t = calloc(iter, sizeof(*t));
	struct sigaction sa = { .sa_sigaction = open_handler,
				.sa_flags = SA_SIGINFO };
	uint8_t *m = mmap(NULL, 64 * pg, PROT_READ | PROT_WRITE,
			  MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	long long fm, mp;
	volatile uint8_t sink;

	if (!t || m == MAP_FAILED || sigaction(SIGSEGV, &sa, NULL))
		die("setup");
	memset(m, 1, 64 * pg);
	target = m + 32 * pg;

	for (size_t i = 0; i < iter; i++) {
		long long t0;

		mprotect(target, pg, PROT_NONE);
		t0 = now_ns();
		sink = *target;
		t[i] = now_ns() - t0;
	}
	fm = median(t, iter);
	for (size_t i = 0; i < iter; i++) {
		long long t0;

		mprotect(target, pg, PROT_NONE);
		t0 = now_ns();
		mprotect(target, pg, PROT_READ);
		t[i] = now_ns() - t0;
	}
	mp = median(t, iter);
	printf("fault_mprotect=%lld\nmprotect=%lld\nsignal=%lld\n", fm, mp,
	       fm - mp);

	for (size_t i = 0; i < iter; i++) {
		long long t0 = now_ns();

		if (mlock(target, pg))
			die("mlock");
		t[i] = now_ns() - t0;
		munlock(target, pg);
	}
	printf("mlock=%lld\n", median(t, iter));

	if (mlock(m, 64 * pg))
		die("mlock");
	for (size_t i = 0; i < iter; i++) {
		long long t0 = now_ns();
		int r = msync(target, pg, MS_INVALIDATE);

		t[i] = now_ns() - t0;
		if (r == 0)
			break;	/* not refused: not locked, no figure */
	}
	printf("probe=%lld\n", median(t, iter));
	munlock(m, 64 * pg);

	/* The table: N entries of 16 pages with gaps, lookups spread. */
	lof_page_init();
	for (size_t n = 1; n <= 65536; n *= 64) {
		struct region_table tab;
		struct region r;
		uintptr_t base = 0x100000000ULL;
		long long t0;
		size_t hits = 0, rounds = 1000000;

		memset(&tab, 0, sizeof(tab));
		for (size_t i = 0; i < n; i++)
			if (region_insert(&tab, base + i * 32 * pg,
					  base + i * 32 * pg + 16 * pg,
					  PROT_READ, 0))
				die("region_insert");
		t0 = now_ns();
		for (size_t i = 0; i < rounds; i++)
			hits += region_lookup(&tab, base + (i * 7919 % n) *
						     32 * pg + pg, &r);
		if (hits != rounds)
			die("region_lookup missed");
		printf("lookup_%zu=%lld\n", n, (now_ns() - t0) / (long long)rounds);
	}
	(void)sink;
	free(t);
}

static void touch(const char *lock, size_t n)
{
	size_t len = n << 21;
	uint8_t *m = mmap(NULL, len, PROT_READ | PROT_WRITE,
			  MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	long long *t = calloc(n, sizeof(*t));

	if (m == MAP_FAILED || !t)
		die("mmap");
	if (!strcmp(lock, "onfault") ?
	    syscall(SYS_mlock2, m, len, MLOCK_ONFAULT) : mlock(m, len))
		die("lock");
	for (size_t i = 0; i < n; i++) {
		long long t0 = now_ns();

		m[(i << 21) + (1 << 20)] = 1;
		t[i] = now_ns() - t0;
	}
	printf("touch_%s=%lld\n", lock, median(t, n));
	free(t);
}

int main(int argc, char **argv)
{
	const char *lock = NULL;
	size_t n = 0;
	int opt;

	while ((opt = getopt(argc, argv, "tk:n:")) != -1) {
		switch (opt) {
		case 't': lock = lock ? lock : "mlock"; break;
		case 'k': lock = optarg; break;
		case 'n': n = strtoul(optarg, NULL, 0); break;
		default:
			fprintf(stderr, "usage: faultcost [-n ITER] | -t -k mlock|onfault [-n N]\n");
			return 1;
		}
	}
	pg = (size_t)sysconf(_SC_PAGESIZE);
	if (lock)
		touch(lock, n ? n : 2000);
	else
		parts(n ? n : 20000);
	return 0;
}
