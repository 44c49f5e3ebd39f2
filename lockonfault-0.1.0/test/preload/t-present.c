/*
 * t-present.c - pages already present in a range are locked by the lock
 * call itself, in every engine and mode, as the kernel's MLOCK_ONFAULT
 * locks them (issue 11: "Present pages"), and nothing absent is faulted
 * in.
 *
 * Three ranges, each checked right after the call, before any touch:
 *  - a 32 MiB shared file mapping read through once (vmtouch -l's case:
 *    lock a file just read): all 32 MiB locked, data intact;
 *  - 16 MiB of anonymous memory, its first half written, then
 *    mlock2(MLOCK_ONFAULT): 8 MiB locked, Rss still 8 MiB; a write to
 *    the second half locks one more page;
 *  - the same with plain mlock(), which the library makes lazy too.
 * The checks run once in the engine the variant chose, then again in a
 * child that re-executes this test with LOCKONFAULT_CHARGE=touched (the
 * SIGSEGV engine on any kernel, where pending ranges are not VM_LOCKED
 * and present pages must be locked one by one). The child prints its
 * findings as comments and exits with a bit per failed check.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include "probe.h"
#include "tap.h"

#define MB (1UL << 20)
#define FILE_LEN (32 * MB)
#define ANON_LEN (16 * MB)
#define NCHECKS 5

static size_t pg;

/* Run every check; report each through fn. Return a bit per failure. */
typedef void (*report_fn)(int n, int cond, const char *msg);

static void report_tap(int n, int cond, const char *msg)
{
	(void)n;
	ok(cond, "%s", msg);
}

static void report_child(int n, int cond, const char *msg)
{
	printf("# touched, check %d: %s: %s\n", n, cond ? "ok" : "FAILED", msg);
	fflush(stdout);
}

static unsigned int checks(report_fn rep)
{
	char msg[256];
	unsigned int bad = 0;
	unsigned char *f, *a;
	long locked, rss, before;
	size_t i, sum = 0;
	int fd, r, good = 1;

	/* 1. A file mapping read through, then locked. */
	fd = probe_memfd("t-present", FILE_LEN);
	if (fd < 0)
		bail("memfd: %s", strerror(errno));
	for (i = 0; i < FILE_LEN; i += pg) {
		unsigned char v = (unsigned char)(i / pg * 7 + 1);

		if (pwrite(fd, &v, 1, (off_t)i) != 1)
			bail("pwrite: %s", strerror(errno));
	}
	f = mmap(NULL, FILE_LEN, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (f == MAP_FAILED)
		bail("mmap: %s", strerror(errno));
	for (i = 0; i < FILE_LEN; i += pg)
		sum += ((volatile unsigned char *)f)[i];
	r = mlock(f, FILE_LEN);
	locked = probe_locked_kb(f, FILE_LEN);
	snprintf(msg, sizeof(msg), "a 32 MiB file read through, then mlock: "
		 "%ld kB locked at once (want %lu), returns %d", locked,
		 FILE_LEN >> 10, r);
	rep(1, r == 0 && locked == (long)(FILE_LEN >> 10), msg);
	bad |= !(r == 0 && locked == (long)(FILE_LEN >> 10)) << 0;
	for (i = 0; i < FILE_LEN; i += pg)
		good &= f[i] == (unsigned char)(i / pg * 7 + 1);
	snprintf(msg, sizeof(msg), "... and every page still holds its data "
		 "(sum %zu)", sum);
	rep(2, good, msg);
	bad |= !good << 1;
	munlock(f, FILE_LEN);
	munmap(f, FILE_LEN);
	close(fd);

	/* 2 and 3. Anonymous memory, half written. */
	for (int plain = 0; plain < 2; plain++) {
		a = mmap(NULL, ANON_LEN, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (a == MAP_FAILED)
			bail("mmap: %s", strerror(errno));
		memset(a, 0x5a, ANON_LEN / 2);
		r = plain ? mlock(a, ANON_LEN) :
			    mlock2(a, ANON_LEN, MLOCK_ONFAULT);
		locked = probe_locked_kb(a, ANON_LEN);
		rss = probe_rss_kb(a, ANON_LEN);
		before = locked;
		a[ANON_LEN / 2 + 5 * pg] = 1;
		locked = probe_locked_kb(a, ANON_LEN);
		snprintf(msg, sizeof(msg), "%s of 16 MiB, 8 MiB written: "
			 "%ld kB locked at once, Rss %ld kB (want 8192 both), "
			 "a later write locks one page more (%ld kB), data %s",
			 plain ? "mlock" : "mlock2(MLOCK_ONFAULT)", before,
			 rss, locked, a[7] == 0x5a ? "kept" : "LOST");
		r = r == 0 && before == 8192 && rss == 8192 &&
		    locked == 8192 + (long)(pg >> 10) && a[7] == 0x5a;
		rep(3 + plain, r, msg);
		bad |= !r << (2 + plain);
		munlock(a, ANON_LEN);
		munmap(a, ANON_LEN);
	}

	/* 5. Nothing of the above is left locked. */
	locked = probe_rollup_kb("Locked:");
	snprintf(msg, sizeof(msg), "after munlock, nothing of it stays locked "
		 "(process Locked %ld kB)", locked);
	rep(5, locked >= 0 && locked < 1024, msg);
	bad |= !(locked >= 0 && locked < 1024) << 4;
	return bad;
}

int main(int argc, char **argv)
{
	char self[4096];
	ssize_t n;
	pid_t pid;
	int st;

	pg = probe_page_size();
	if (argc > 1 && strcmp(argv[1], "--touched") == 0)
		return (int)checks(report_child);

	probe_require_preloaded();
	plan(2 * NCHECKS);
	diag("engine %s", probe_engine());
	checks(report_tap);

	n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	if (n < 0)
		bail("readlink: %s", strerror(errno));
	self[n] = '\0';
	fflush(stdout);
	pid = fork();
	if (pid == 0) {
		setenv("LOCKONFAULT_CHARGE", "touched", 1);
		execl(self, self, "--touched", (char *)NULL);
		_exit(127);
	}
	if (pid < 0 || waitpid(pid, &st, 0) != pid)
		bail("fork: %s", strerror(errno));
	for (int i = 0; i < NCHECKS; i++)
		ok(WIFEXITED(st) && WEXITSTATUS(st) != 127 &&
		   !(WEXITSTATUS(st) & (1 << i)),
		   "LOCKONFAULT_CHARGE=touched: check %d (status %#x)", i + 1,
		   st);
	return tap_failed ? 1 : 0;
}
