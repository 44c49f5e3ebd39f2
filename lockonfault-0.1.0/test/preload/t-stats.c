/*
 * t-stats.c - lof_stats_get(), lof_lock_onfault() and lof_resolve(),
 * found with dlsym() as a program that loads the library would, checked
 * against the kernel's own figures (smaps_rollup, smaps, maps).
 *
 * Runs with LOCKONFAULT_STATS set to a file in the build tree (it
 * re-executes itself to set it), so that releases sample the peak, and
 * checks that file at the end in a child that exits first.
 *
 * Under the native engine (probe_engine()) nothing is made pending: no
 * region enters the table and no fault reaches a handler, so those
 * counters must stay as they were, and the engine field must say 1.
 *
 * A range given to lof_lock_onfault is VM_LOCKED (lo) under every
 * engine; it is VM_LOCKONFAULT (lf) only where the kernel has that flag
 * (probe_kernel_onfault()): the emulation of lock-on-fault on a kernel
 * without it (the sim43 variant) locks the range with plain mlock over
 * its PROT_NONE pages, so lf must be absent there (probe_onfault_vma()).
 */
#include "config.h"

#include <dlfcn.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include "lockonfault.h"
#include "probe.h"
#include "tap.h"

static int (*get)(struct lof_stats *, size_t);
static int (*lock_onfault)(const void *, size_t);
static void (*resolve)(const void *, size_t);

/* Locked: of the whole process, from smaps_rollup, in kB. */
static long rollup_locked_kb(void)
{
	char line[256];
	long kb = -1;
	FILE *f = fopen("/proc/self/smaps_rollup", "re");

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "Locked: %ld kB", &kb) == 1)
			break;
	fclose(f);
	return kb;
}

static uint64_t hist_sum(const struct lof_stats *s)
{
	uint64_t n = 0;

	for (int i = 0; i < LOF_STATS_HIST; i++)
		n += s->handler_hist[i];
	return n;
}

static char *map(size_t len)
{
	char *p = mmap(NULL, len, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	if (p == MAP_FAILED)
		bail("mmap: %s", strerror(errno));
	return p;
}

/* The value of "lockonfault: key=" in the report file, or -1. */
static long report_value(const char *path, const char *key)
{
	char line[256], want[64];
	long v = -1;
	FILE *f = fopen(path, "re");

	if (!f)
		return -1;
	snprintf(want, sizeof(want), "lockonfault: %s=%%ld", key);
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, want, &v) == 1)
			break;
	fclose(f);
	return v;
}

int main(int argc, char **argv)
{
	size_t pg = probe_page_size(), big = 8u << 20, small = 1u << 20;
	struct lof_stats s, s2;
	char report[4096], perms[5];
	const char *top = getenv("LOF_TOP_BUILDDIR");
	long before_kb, kb;
	char *p, *q;
	pid_t pid;
	int st, nat = probe_native();
	unsigned int engine = nat ? 1 : strcmp(probe_engine(), "off") ? 0 : 2;

	if (!getenv("LOCKONFAULT_STATS")) {
		snprintf(report, sizeof(report), "%s/test/preload/t-stats.%%p.report",
			 top ? top : ".");
		setenv("LOCKONFAULT_STATS", report, 1);
		execv("/proc/self/exe", argv);
		bail("re-exec: %s", strerror(errno));
	}
	plan(0);

	get = (int (*)(struct lof_stats *, size_t))dlsym(RTLD_DEFAULT, "lof_stats_get");
	lock_onfault = (int (*)(const void *, size_t))dlsym(RTLD_DEFAULT, "lof_lock_onfault");
	resolve = (void (*)(const void *, size_t))dlsym(RTLD_DEFAULT, "lof_resolve");
	if (!ok(get && lock_onfault && resolve,
		"lof_stats_get, lof_lock_onfault and lof_resolve are exported"))
		bail("library not preloaded?");

	/* Contract: size and errors. */
	errno = 0;
	ok(get(NULL, sizeof(s)) == -1 && errno == EINVAL, "NULL: -1 EINVAL");
	errno = 0;
	ok(get(&s, 4) == -1 && errno == EINVAL, "size 4: -1 EINVAL");
	memset(&s, 0xa5, sizeof(s));
	st = get(&s, 8);
	ok(st == 0 && s.size == 8 && s.engine == engine &&
	   s.regions == 0xa5a5a5a5a5a5a5a5ULL,
	   "size 8: only size and engine filled (engine %u, want %u: %s)",
	   s.engine, engine, probe_engine());
	{
		unsigned char bigger[sizeof(s) + 64];

		memset(bigger, 0xa5, sizeof(bigger));
		ok(get((struct lof_stats *)bigger, sizeof(bigger)) == 0 &&
		   ((struct lof_stats *)bigger)->size == sizeof(s) &&
		   bigger[sizeof(s)] == 0 && bigger[sizeof(bigger) - 1] == 0,
		   "a larger struct: size says what was filled, the rest zeroed");
	}

	/* Counters move with the program's faults; figures are the kernel's. */
	ok(get(&s, sizeof(s)) == 0 && s.size == sizeof(s), "full read");
	p = map(big);
	ok(mlock(p, big) == 0, "mlock 8 MiB");
	for (size_t i = 0; i < big; i += 16 * pg)
		p[i] = 1;
	ok(get(&s2, sizeof(s2)) == 0, "read after touching 128 pages");
	if (nat) {
		ok(s2.regions == s.regions && s2.faults == s.faults &&
		   s2.pages_resolved == s.pages_resolved,
		   "native: no region, fault or resolved page counted (%lu, %lu, %lu)",
		   (unsigned long)(s2.regions - s.regions),
		   (unsigned long)(s2.faults - s.faults),
		   (unsigned long)(s2.pages_resolved - s.pages_resolved));
	} else {
		ok(s2.regions == s.regions + 1, "regions +1 (%lu -> %lu)",
		   (unsigned long)s.regions, (unsigned long)s2.regions);
		ok(s2.faults > s.faults && s2.faults - s.faults <= 128,
		   "faults grew by 1..128 (%lu)",
		   (unsigned long)(s2.faults - s.faults));
		ok(s2.pages_resolved - s.pages_resolved >= 128,
		   "pages_resolved grew by at least the 128 pages touched (%lu)",
		   (unsigned long)(s2.pages_resolved - s.pages_resolved));
	}
	ok(hist_sum(&s2) == s2.faults, "histogram sums to faults (%lu)",
	   (unsigned long)hist_sum(&s2));
	ok(nat ? s2.handler_ns == s.handler_ns : s2.handler_ns > s.handler_ns,
	   nat ? "native: no handler time" : "handler time grew");
	kb = rollup_locked_kb();
	ok((long)s2.locked_kb == kb, "locked_kb %lu = smaps_rollup Locked: %ld",
	   (unsigned long)s2.locked_kb, kb);
	ok(probe_locked_kb(p, big) == (long)(128 * pg / 1024),
	   "the kernel locked the 128 touched pages (%ld kB)",
	   probe_locked_kb(p, big));
	ok(s2.maps == (uint64_t)probe_map_count() ||
	   s2.maps + 1 == (uint64_t)probe_map_count() ||
	   s2.maps == (uint64_t)probe_map_count() + 1,
	   "maps %lu = /proc/self/maps lines %d (give or take stdio's buffer)",
	   (unsigned long)s2.maps, probe_map_count());
	ok(s2.peak_maps >= s2.maps && s2.max_map_count > 0,
	   "peak_maps %lu >= maps, max_map_count %lu",
	   (unsigned long)s2.peak_maps, (unsigned long)s2.max_map_count);

	/* The peak survives munlock: sampled before the release. */
	for (size_t i = 0; i < big; i += pg)
		p[i] = 2;
	before_kb = rollup_locked_kb();
	ok(munlock(p, big) == 0, "munlock after touching all (%ld kB locked)",
	   before_kb);
	st = get(&s2, sizeof(s2));
	ok(st == 0 && (long)s2.peak_locked_kb >= before_kb &&
	   (long)s2.locked_kb == rollup_locked_kb() &&
	   s2.locked_kb + big / 1024 <= (uint64_t)before_kb,
	   "peak_locked_kb %lu >= %ld before munlock; locked_kb now %lu",
	   (unsigned long)s2.peak_locked_kb, before_kb,
	   (unsigned long)s2.locked_kb);
	munmap(p, big);

	/* lof_lock_onfault: pending, charged, locked on touch. */
	q = map(small * 4);
	ok(lock_onfault(q, small * 4) == 0, "lof_lock_onfault 4 MiB");
	ok(probe_onfault_vma(q), probe_kernel_onfault() ?
	   "the range is VM_LOCKED|VM_LOCKONFAULT" :
	   "the range is VM_LOCKED (no VM_LOCKONFAULT in this kernel)");
	ok(probe_locked_kb(q, small * 4) == 0 && probe_rss_kb(q, small * 4) == 0,
	   "nothing populated or locked");
	q[5 * pg] = 1;
	ok(probe_locked_kb(q, small * 4) == (long)(pg / 1024),
	   "one touched page, one page locked (%ld kB)",
	   probe_locked_kb(q, small * 4));
	errno = 0;
	st = lock_onfault((void *)pg, pg);
	ok(st == -1 && errno == ENOMEM,
	   "an unmapped range: ENOMEM, as mlock2 (errno %d)", errno);

	/* lof_resolve: pending pages become accessible without a fault. */
	probe_perms(q + 3 * small, perms);
	ok(probe_pending(q + 3 * small, "rw-p"), "untouched page pending (%s)",
	   perms);
	get(&s, sizeof(s));
	resolve(q + 3 * small, pg);
	probe_perms(q + 3 * small, perms);
	ok(strcmp(perms, "rw-p") == 0, "lof_resolve opened it (%s)", perms);
	get(&s2, sizeof(s2));
	ok(s2.buffers_resolved == s.buffers_resolved + !nat &&
	   s2.faults == s.faults,
	   nat ? "native: nothing was pending, nothing counted" :
	   "counted as a buffer, not a fault");
	resolve(NULL, 0);
	ok(1, "lof_resolve(NULL, 0) is harmless");

	/* The report at exit: a child that exits first writes its own file. */
	pid = fork();
	if (pid == 0) {
		char *c = map(small * 2);

		mlock(c, small * 2);
		memset(c, 1, small * 2);
		munlock(c, small * 2);
		exit(0);
	}
	waitpid(pid, &st, 0);
	snprintf(report, sizeof(report), "%s/test/preload/t-stats.%d.report",
		 top ? top : ".", (int)pid);
	ok(report_value(report, "pid") == pid,
	   "the child's report is in its own %%p file (pid=%ld)",
	   report_value(report, "pid"));
	ok(report_value(report, "peak_locked_kb") >= (long)(small * 2 / 1024),
	   "its peak_locked_kb (%ld) covers the 2 MiB it locked then unlocked",
	   report_value(report, "peak_locked_kb"));
	ok(report_value(report, "locked_samples") >= 2,
	   "sampled at munlock and at exit (%ld)",
	   report_value(report, "locked_samples"));
	unlink(report);
	/* Ours, at our exit, is removed by the next run or by make clean. */
	snprintf(report, sizeof(report), "%s/test/preload/t-stats.%d.report",
		 top ? top : ".", (int)getpid());
	unlink(report);
	return done();
}
