/*
 * anon.c - lock-on-fault patterns on anonymous memory.
 *
 * Usage: anon -p PATTERN -k LOCK [-s SIZE] [-r PASSES]
 *
 * Maps SIZE bytes (default 2G) of private anonymous memory, locks it
 * with LOCK (mlock: a plain mlock(), which lockonfault turns into lock
 * on fault; onfault: the kernel's mlock2(MLOCK_ONFAULT)), then runs
 * PATTERN:
 *   sparse   a hot tenth of the pages, chosen by a hash of the page
 *            number and so spread over the whole mapping, each written
 *            PASSES times (default 4) in a shuffled order
 *   seq      every page written once, first to last
 *   threads  the sparse pattern by two threads at once, each over its
 *            own half of the mapping
 *
 * Output: one line,
 *   ms=... cpu_ms=... locked_kb=... touched_kb=... maps=... sum=...
 * ms (elapsed) and cpu_ms (CPU time of every thread, user and system)
 * cover the lock call and the pattern; touched_kb is the memory of the
 * distinct pages the pattern wrote (what a lock on fault has to lock),
 * counted after the timed part by walking the pattern again without
 * touching memory; sum is a checksum of values read back, the same for
 * every LOCK. Exit status: 0, or 1 when a call
 * fails.
 */
#define _GNU_SOURCE
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "util.h"

#ifndef MLOCK_ONFAULT
#define MLOCK_ONFAULT 1
#endif

static size_t page;
static unsigned long passes = 4;

struct part {
	uint8_t *base;
	size_t pages;
	uint64_t sum;
};

static uint64_t mix(uint64_t x)
{
	x ^= x >> 33;
	x *= 0xff51afd7ed558ccdULL;
	x ^= x >> 33;
	x *= 0xc4ceb9fe1a85ec53ULL;
	x ^= x >> 33;
	return x;
}

/*
 * The hot pages of part p are those whose hash is 0 mod 10. Each pass
 * visits them in an order that is a fixed odd-stride walk over the
 * part, so consecutive writes land far apart.
 */
static void *sparse(void *arg)
{
	struct part *p = arg;
	size_t stride = (p->pages / 7) | 1;

	while (stride > 1 && p->pages % stride == 0)
		stride += 2;
	for (unsigned long k = 0; k < passes; k++) {
		size_t i = k;

		for (size_t n = 0; n < p->pages; n++) {
			i = (i + stride) % p->pages;
			if (mix(i) % 10)
				continue;
			p->base[i * page + k % page] += (uint8_t)(i + k);
			p->sum += p->base[i * page];
		}
	}
	return NULL;
}

/* The distinct pages sparse() writes in p: its walk, over a bitmap. */
static size_t sparse_touched(const struct part *p)
{
	size_t stride = (p->pages / 7) | 1, n_set = 0;
	uint64_t *seen = calloc(p->pages / 64 + 1, sizeof(*seen));

	if (!seen)
		die("anon", "calloc");
	while (stride > 1 && p->pages % stride == 0)
		stride += 2;
	for (unsigned long k = 0; k < passes; k++) {
		size_t i = k;

		for (size_t n = 0; n < p->pages; n++) {
			i = (i + stride) % p->pages;
			if (mix(i) % 10 || (seen[i / 64] >> (i % 64)) & 1)
				continue;
			seen[i / 64] |= 1ULL << (i % 64);
			n_set++;
		}
	}
	free(seen);
	return n_set;
}

static void seq(struct part *p)
{
	for (size_t i = 0; i < p->pages; i++) {
		p->base[i * page] = (uint8_t)i;
		p->sum += p->base[i * page];
	}
}

int main(int argc, char **argv)
{
	const char *pattern = "sparse", *lock = "mlock";
	unsigned long long size = 2ULL << 30;
	struct part parts[2];
	uint64_t sum = 0;
	size_t touched;
	uint8_t *m;
	double t0, t1, c0, c1;
	int opt;

	while ((opt = getopt(argc, argv, "p:k:s:r:")) != -1) {
		switch (opt) {
		case 'p': pattern = optarg; break;
		case 'k': lock = optarg; break;
		case 's': size = strtoull(optarg, NULL, 0); break;
		case 'r': passes = strtoul(optarg, NULL, 0); break;
		default:
			fprintf(stderr, "usage: anon -p sparse|seq|threads -k mlock|onfault [-s SIZE] [-r PASSES]\n");
			return 1;
		}
	}
	page = (size_t)sysconf(_SC_PAGESIZE);
	size -= size % (2 * page);
	m = mmap(NULL, size, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (m == MAP_FAILED)
		die("anon", "mmap");

	c0 = cpu_ms();
	t0 = now_ms();
	if (!strcmp(lock, "onfault")) {
		if (syscall(SYS_mlock2, m, size, MLOCK_ONFAULT))
			die("anon", "mlock2");
	} else if (mlock(m, size)) {
		die("anon", "mlock");
	}
	parts[0] = (struct part){ m, size / page, 0 };
	if (!strcmp(pattern, "seq")) {
		seq(&parts[0]);
	} else if (!strcmp(pattern, "threads")) {
		pthread_t th;

		parts[0].pages /= 2;
		parts[1] = (struct part){ m + size / 2, size / 2 / page, 0 };
		if (pthread_create(&th, NULL, sparse, &parts[1]))
			die("anon", "pthread_create");
		sparse(&parts[0]);
		pthread_join(th, NULL);
		sum += parts[1].sum;
	} else {
		sparse(&parts[0]);
	}
	t1 = now_ms();
	c1 = cpu_ms();
	sum += parts[0].sum;
	if (!strcmp(pattern, "seq"))
		touched = parts[0].pages;
	else if (!strcmp(pattern, "threads"))
		touched = sparse_touched(&parts[0]) + sparse_touched(&parts[1]);
	else
		touched = sparse_touched(&parts[0]);
	printf("ms=%.3f cpu_ms=%.3f locked_kb=%ld touched_kb=%zu maps=%ld sum=%llu\n",
	       t1 - t0, c1 - c0, locked_kb(), touched * (page / 1024),
	       count_maps(), (unsigned long long)sum);
	return 0;
}
