/*
 * lock32.c - a legacy program for the i386 test (test/i386/test-i386.sh),
 * built with gcc -m32 by that test: it makes one kind of lock call over
 * 256 MiB, touches the first 1 MiB and prints the kernel's Locked: for
 * the whole process (/proc/self/smaps_rollup), one line:
 *
 *   lock32 KIND locked_kb=N
 *
 * KIND: mlock, mlock2, mlock2-onfault, mlockall, mlockall-onfault,
 * map-locked. Natively the first four and map-locked lock all 256 MiB;
 * under lockonfault only what is touched. Exit 0, or 1 if a call fails.
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#ifndef MLOCK_ONFAULT
#define MLOCK_ONFAULT 1
#endif
#ifndef MCL_ONFAULT
#define MCL_ONFAULT 4
#endif

#define SIZE (256UL << 20)
#define TOUCH (1UL << 20)

static long locked_kb(void)
{
	FILE *f = fopen("/proc/self/smaps_rollup", "r");
	char line[256];
	long kb = -1;

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f)) {
		if (sscanf(line, "Locked: %ld kB", &kb) == 1)
			break;
	}
	fclose(f);
	return kb;
}

static char *map(int flags)
{
	char *p = mmap(NULL, SIZE, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS | flags, -1, 0);

	if (p == MAP_FAILED) {
		perror("lock32: mmap");
		exit(1);
	}
	return p;
}

int main(int argc, char **argv)
{
	const char *kind = argc > 1 ? argv[1] : "mlock";
	char *p = NULL;
	int r = 0;

	if (sizeof(void *) != 4)
		fprintf(stderr, "lock32: note: not a 32-bit build\n");
	if (strcmp(kind, "mlock") == 0) {
		p = map(0);
		r = mlock(p, SIZE);
	} else if (strcmp(kind, "mlock2") == 0) {
		p = map(0);
		r = mlock2(p, SIZE, 0);
	} else if (strcmp(kind, "mlock2-onfault") == 0) {
		p = map(0);
		r = mlock2(p, SIZE, MLOCK_ONFAULT);
	} else if (strcmp(kind, "mlockall") == 0) {
		r = mlockall(MCL_CURRENT | MCL_FUTURE);
		p = map(0);
	} else if (strcmp(kind, "mlockall-onfault") == 0) {
		r = mlockall(MCL_CURRENT | MCL_FUTURE | MCL_ONFAULT);
		p = map(0);
	} else if (strcmp(kind, "map-locked") == 0) {
		p = map(MAP_LOCKED);
	} else {
		fprintf(stderr, "lock32: unknown kind '%s'\n", kind);
		return 2;
	}
	if (r) {
		perror("lock32: lock call");
		return 1;
	}
	for (unsigned long i = 0; i < TOUCH; i += 4096)
		p[i] = (char)i;
	printf("lock32 %s locked_kb=%ld\n", kind, locked_kb());
	return 0;
}
