/*
 * cover.c - the benchmark of the MLOCK_ONFAULT cover letter (2015):
 * map a large file of random bytes, lock all of it, read random bytes.
 *
 * Usage: cover -c SIZE -f FILE          create FILE: SIZE random bytes
 *        cover -f FILE -m MODE [-n READS] [-b PAGES]
 *
 * MODE says how the mapping is locked:
 *   none     mmap only
 *   mlock    mmap, then mlock() of the whole mapping (pre-faults it;
 *            run under lockonfault, this is the row that matters)
 *   onfault  mmap, then mlock2(MLOCK_ONFAULT) of the whole mapping
 *   naive    the cover letter's handler: mmap PROT_NONE; a SIGSEGV
 *            handler mprotects the faulting page to PROT_READ and
 *            mlocks it, then does the same for the PAGES - 1 pages
 *            after it (clipped to the mapping: the letter's handler did
 *            not know its end and could crash there)
 *
 * Setup is the mmap and the lock call; processing is READS (default
 * 15,000,000) one-byte reads at offsets from a fixed xorshift sequence,
 * summed into a checksum that every mode must agree on. Every READS/16
 * reads, the lines of /proc/self/maps are counted; the largest count is
 * reported as the peak.
 *
 * Output: one line,
 *   setup_ms=... proc_ms=... cpu_ms=... locked_kb=... touched_kb=... maps=... peak_maps=... sum=...
 * cpu_ms is the CPU time (user and system) of setup and processing
 * together: on a shared machine it varies far less than the elapsed
 * times. touched_kb is the memory of the distinct pages read, counted
 * after the timed part by replaying the offsets over a bitmap (the
 * kernel's fault-around may map, and MLOCK_ONFAULT lock, pages next to
 * them too).
 * Exit status: 0, or 1 when a call fails (the message names it).
 */
#define _GNU_SOURCE
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "util.h"

#ifndef MLOCK_ONFAULT
#define MLOCK_ONFAULT 1
#endif

static uint8_t *map;
static size_t map_len, page;
static size_t naive_pages = 16;

static uint64_t xorshift(uint64_t *s)
{
	uint64_t x = *s;

	x ^= x << 13;
	x ^= x >> 7;
	x ^= x << 17;
	return *s = x;
}

static int create(const char *path, unsigned long long size)
{
	static uint64_t buf[1 << 17];	/* 1 MiB */
	uint64_t s = 0x9e3779b97f4a7c15ULL;
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);

	if (fd < 0)
		die("cover", path);
	while (size) {
		size_t n = size < sizeof(buf) ? size : sizeof(buf);

		for (size_t i = 0; i < sizeof(buf) / 8; i++)
			buf[i] = xorshift(&s);
		if (write(fd, buf, n) != (ssize_t)n)
			die("cover", "write");
		size -= n;
	}
	if (close(fd))
		die("cover", "close");
	return 0;
}

/*
 * The cover letter's handler: the faulting page first, then the batch
 * after it, each with mprotect + mlock. Async-signal-safe (two system
 * calls per step); a failing call is fatal, as it was for the letter.
 */
static void naive_handler(int sig, siginfo_t *si, void *uc)
{
	uintptr_t a = (uintptr_t)si->si_addr & ~(page - 1);
	uintptr_t end = (uintptr_t)map + map_len;
	size_t rest = (naive_pages - 1) * page;
	static const char msg[] = "cover: naive handler: mprotect/mlock failed\n";

	(void)sig;
	(void)uc;
	if (a < (uintptr_t)map || a >= end)
		goto fail;
	if (mprotect((void *)a, page, PROT_READ) || mlock((void *)a, page))
		goto fail;
	a += page;
	if (a + rest > end)
		rest = end - a;
	if (rest && (mprotect((void *)a, rest, PROT_READ) ||
		     mlock((void *)a, rest)))
		goto fail;
	return;
fail:
	if (write(2, msg, sizeof(msg) - 1) < 0)
		_exit(1);
	_exit(1);
}

/* The distinct pages READS reads from seed s touch, in bytes. */
static unsigned long long touched(uint64_t s, unsigned long reads)
{
	size_t pages = (map_len + page - 1) / page, n = 0;
	uint64_t *seen = calloc(pages / 64 + 1, sizeof(*seen));

	if (!seen)
		die("cover", "calloc");
	for (unsigned long i = 0; i < reads; i++) {
		size_t p = (size_t)(xorshift(&s) % map_len) / page;

		if (!((seen[p / 64] >> (p % 64)) & 1)) {
			seen[p / 64] |= 1ULL << (p % 64);
			n++;
		}
	}
	free(seen);
	return (unsigned long long)n * page;
}

int main(int argc, char **argv)
{
	const char *path = NULL, *mode = "none";
	unsigned long long create_size = 0;
	unsigned long reads = 15000000;
	const uint64_t seed = 0x2545f4914f6cdd1dULL;
	uint64_t s = seed, sum = 0;
	long peak = 0, m;
	double t0, t1, t2, c0, c2;
	struct stat st;
	int opt, fd, prot = PROT_READ;

	while ((opt = getopt(argc, argv, "c:f:m:n:b:")) != -1) {
		switch (opt) {
		case 'c': create_size = strtoull(optarg, NULL, 0); break;
		case 'f': path = optarg; break;
		case 'm': mode = optarg; break;
		case 'n': reads = strtoul(optarg, NULL, 0); break;
		case 'b': naive_pages = strtoul(optarg, NULL, 0); break;
		default:
			fprintf(stderr, "usage: cover -f FILE [-c SIZE | -m MODE [-n READS] [-b PAGES]]\n");
			return 1;
		}
	}
	if (!path || !naive_pages)
		return fprintf(stderr, "cover: -f FILE is required\n"), 1;
	if (create_size)
		return create(path, create_size);
	page = (size_t)sysconf(_SC_PAGESIZE);

	fd = open(path, O_RDONLY);
	if (fd < 0 || fstat(fd, &st))
		die("cover", path);
	map_len = (size_t)st.st_size;
	if (!strcmp(mode, "naive")) {
		struct sigaction sa = { .sa_sigaction = naive_handler,
					.sa_flags = SA_SIGINFO };

		prot = PROT_NONE;
		if (sigaction(SIGSEGV, &sa, NULL))
			die("cover", "sigaction");
	}

	c0 = cpu_ms();
	t0 = now_ms();
	map = mmap(NULL, map_len, prot, MAP_PRIVATE, fd, 0);
	if (map == MAP_FAILED)
		die("cover", "mmap");
	if (!strcmp(mode, "mlock") && mlock(map, map_len))
		die("cover", "mlock");
	if (!strcmp(mode, "onfault") &&
	    syscall(SYS_mlock2, map, map_len, MLOCK_ONFAULT))
		die("cover", "mlock2");
	t1 = now_ms();

	for (unsigned long i = 0; i < reads; i++) {
		sum += map[xorshift(&s) % map_len];
		if (i % (reads / 16 + 1) == 0 && (m = count_maps()) > peak)
			peak = m;
	}
	t2 = now_ms();
	c2 = cpu_ms();
	m = count_maps();
	if (m > peak)
		peak = m;
	printf("setup_ms=%.3f proc_ms=%.3f cpu_ms=%.3f locked_kb=%ld touched_kb=%llu maps=%ld peak_maps=%ld sum=%llu\n",
	       t1 - t0, t2 - t1, c2 - c0, locked_kb(),
	       touched(seed, reads) / 1024, m, peak, (unsigned long long)sum);
	return 0;
}
