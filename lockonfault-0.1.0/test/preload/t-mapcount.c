/*
 * t-mapcount.c - the engine never runs the process out of kernel
 * mappings, whatever the batch size (issue 5: under 90% of
 * vm.max_map_count).
 *
 * With LOCKONFAULT_BATCH=1 and LOCKONFAULT_MAX_BATCH=1 (the test
 * re-executes itself to set them), 1 GiB is mlock()ed and every other
 * page is written in a scattered order: one-page batches that never
 * touch would leave one mapping per page, four times the default
 * limit. The mapping count, sampled as the pattern runs, must stay
 * under 90% of vm.max_map_count; every value must read back and every
 * touched page must be locked. The count is sampled 512 times, so a
 * run that reaches the limit (and only then falls back to whole
 * regions) is seen near its peak.
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

#define SIZE	(1ULL << 30)
#define SAMPLES	512

/* Lines of /proc/self/maps, read in large blocks: sampled often. */
static int map_count(void)
{
	static char buf[1 << 16];
	int fd = open("/proc/self/maps", O_RDONLY | O_CLOEXEC), n = 0;
	ssize_t got;

	if (fd < 0)
		return -1;
	while ((got = read(fd, buf, sizeof(buf))) > 0)
		for (ssize_t i = 0; i < got; i++)
			n += buf[i] == '\n';
	close(fd);
	return n;
}

static long read_limit(void)
{
	FILE *f = fopen("/proc/sys/vm/max_map_count", "re");
	long v = -1;

	if (f) {
		if (fscanf(f, "%ld", &v) != 1)
			v = -1;
		fclose(f);
	}
	return v;
}

int main(int argc, char **argv)
{
	size_t pg = probe_page_size(), npages = SIZE / pg, half = npages / 2;
	size_t stride = (half / 3) | 1, i, k, bad = 0;
	long limit = read_limit(), locked;
	int peak = 0, n;
	char *p;

	if (!getenv("LOCKONFAULT_BATCH")) {
		setenv("LOCKONFAULT_BATCH", "1", 1);
		setenv("LOCKONFAULT_MAX_BATCH", "1", 1);
		execv("/proc/self/exe", argv);
		bail("re-exec: %s", strerror(errno));
	}
	(void)argc;
	plan(4);
	probe_require_preloaded();
	if (limit <= 0)
		bail("cannot read vm.max_map_count");
	while (half % stride == 0)
		stride += 2;

	p = mmap(NULL, SIZE, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (p == MAP_FAILED)
		bail("mmap: %s", strerror(errno));
	ok(mlock(p, SIZE) == 0, "mlock(1 GiB) with LOCKONFAULT_BATCH=%s",
	   getenv("LOCKONFAULT_BATCH"));

	/* Every other page, in an odd-stride walk: far apart each time. */
	for (i = 0, k = 0; i < half; i++) {
		k = (k + stride) % half;
		*(uint64_t *)(p + 2 * k * pg) = probe_mix(k, 7);
		if (i % (half / SAMPLES) == 0 && (n = map_count()) > peak)
			peak = n;
	}
	if ((n = map_count()) > peak)
		peak = n;
	diag("peak mappings %d, vm.max_map_count %ld", peak, limit);
	ok(peak > 0 && peak < limit * 9 / 10,
	   "mappings stay under 90%% of vm.max_map_count (peak %d of %ld)",
	   peak, limit);

	for (k = 0; k < half; k++)
		bad += *(uint64_t *)(p + 2 * k * pg) != probe_mix(k, 7);
	ok(bad == 0, "every written value reads back (%zu wrong)", bad);

	locked = probe_locked_kb(p, SIZE);
	ok(locked >= (long)(half * pg / 1024),
	   "every touched page is locked (Locked %ld kB >= %zu kB)", locked,
	   half * pg / 1024);
	munmap(p, SIZE);
	return done();
}
