/*
 * mlockall.c - what mlockall(MCL_CURRENT | MCL_FUTURE) costs a process
 * that has memory it does not use yet.
 *
 * Before the call: a 1 GiB malloc block never touched, and 100 MiB in
 * use. Then, timed: the mlockall call; a 256 MiB mmap after it (locked
 * by MCL_FUTURE); touching 64 MiB of that mapping; a 512 MiB malloc
 * (glibc's own mmap) and touching 64 MiB of it. Last, Locked: from
 * /proc/self/smaps_rollup. One line of key=value pairs on stdout, for
 * bench/mlockall.sh, which runs it natively and under lockonfault.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>

#include "util.h"

#define MB (1UL << 20)

static void touch(volatile char *p, size_t len)
{
	for (size_t i = 0; i < len; i += 4096)
		p[i] = 1;
}

int main(void)
{
	char *idle = malloc(1024 * MB), *used = malloc(100 * MB), *m, *g;
	double t0, t1, t2, t3, t4;

	if (!idle || !used)
		return 1;
	memset(used, 1, 100 * MB);
	t0 = now_ms();
	if (mlockall(MCL_CURRENT | MCL_FUTURE)) {
		perror("mlockall");
		return 1;
	}
	t1 = now_ms();
	m = mmap(NULL, 256 * MB, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	t2 = now_ms();
	if (m == MAP_FAILED)
		return 1;
	touch(m, 64 * MB);
	t3 = now_ms();
	g = malloc(512 * MB);
	if (!g)
		return 1;
	touch(g, 64 * MB);
	t4 = now_ms();
	printf("mlockall_ms=%.2f mmap_ms=%.3f mmap_touch_ms=%.1f malloc_touch_ms=%.1f locked_mb=%ld\n",
	       t1 - t0, t2 - t1, t3 - t2, t4 - t3, locked_kb() / 1024);
	return (idle == used) + used[0] + m[0] + g[0] == 42;
}
