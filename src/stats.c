/*
 * stats.c - the counters, the report LOCKONFAULT_STATS asks for, and
 * lof_stats_get().
 *
 * The report is one "lockonfault: name=value" line per figure, so it is
 * easy to read and to grep; liblockonfault(7) lists every name.
 *
 * Most figures are counters the engine bumps (relaxed atomic adds: the
 * handler pays one call to stat_fault() per fault and no system call).
 * Three are the kernel's own, never an estimate of ours:
 *  - locked_kb: the Locked: line of /proc/self/smaps_rollup.
 *  - maps: the line count of /proc/self/maps.
 *  - untouched_pages: at exit, over the pieces of live table entries
 *    that faults made accessible, the pages not present in the page
 *    tables (/proc/self/pagemap): batch pages the program never touched.
 *    The kernel locks a page only when it is touched, so these cost no
 *    locked memory; they measure how far batches overshoot.
 *
 * Peaks are sampled, and only where a peak can hide. Locked memory only
 * grows between calls that can unlock (munlock, munlockall, munmap,
 * mremap, mmap with MAP_FIXED), so sampling Locked: just before each of
 * them, and at exit, finds its peak exactly; what escapes is memory glibc
 * unmaps internally (free of a large block), which the library never
 * sees. The mapping count also falls when batches merge, inside the
 * handler, so it is sampled there too, at every power-of-two-th fault;
 * peak_maps is therefore a lower bound of the true peak, and the
 * engine's own budget (engine.c) works from an upper bound.
 *
 * The report is written once per process, at its end, whichever end it
 * is (report.c, fatal.c): exit, _exit, an exec, or a fatal signal. The
 * claim is by pid, so a fork or vfork child that shares or copies this
 * memory makes its own. A report to a file truncates it, unless the
 * file begins with this process's own pid= line: then it is the report
 * of the image this one exec'd from, and the new one is appended.
 */
#include "config.h"
#include "stats.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "arch.h"

#include "engine.h"
#include "log.h"
#include "maps.h"
#include "options.h"
#include "region.h"
#include "sys.h"

struct lof_counters lof_stats;

/* Set by stats_init() and stat_engine(); read-only after. */
static int stats_on;
static int batch_lock, batch_populates, emulation;
static unsigned long max_map_count;

/* Raise *peak to v if v is higher. Context: any (async-signal-safe). */
static void raise_peak(uint64_t *peak, uint64_t v)
{
	uint64_t old = __atomic_load_n(peak, __ATOMIC_RELAXED);

	while (v > old && !__atomic_compare_exchange_n(peak, &old, v, 1,
						       __ATOMIC_RELAXED,
						       __ATOMIC_RELAXED))
		;
}

static unsigned long parse_ulong(const char *p)
{
	unsigned long v = 0;

	while (*p == ' ' || *p == '\t')
		p++;
	while (*p >= '0' && *p <= '9')
		v = v * 10 + (unsigned long)(*p++ - '0');
	return v;
}

/*
 * Locked: from smaps_rollup, in kB, or -1.
 * Context: any (async-signal-safe).
 */
static long read_locked_kb(void)
{
	char buf[4096];
	ssize_t n;
	int fd = sys_open("/proc/self/smaps_rollup", O_RDONLY, 0);
	const char *p;

	if (fd < 0)
		return -1;
	n = sys_read(fd, buf, sizeof(buf) - 1);
	sys_close(fd);
	if (n <= 0)
		return -1;
	buf[n] = '\0';
	p = strstr(buf, "\nLocked:");
	if (!p)
		return -1;
	return (long)parse_ulong(p + 8);
}

/*
 * The number of lines of /proc/self/maps: the kernel's mapping count.
 * Context: any (async-signal-safe).
 */
static long read_maps(void)
{
	char buf[4096];
	long lines = 0;
	ssize_t n;
	int fd = sys_open("/proc/self/maps", O_RDONLY, 0);

	if (fd < 0)
		return -1;
	while ((n = sys_read(fd, buf, sizeof(buf))) > 0) {
		for (ssize_t i = 0; i < n; i++)
			lines += buf[i] == '\n';
	}
	sys_close(fd);
	return n < 0 ? -1 : lines;
}

static void sample_maps(void)
{
	long m = read_maps();

	if (m >= 0)
		raise_peak(&lof_stats.peak_maps, (uint64_t)m);
}

static void sample_locked(void)
{
	long kb = read_locked_kb();

	if (kb >= 0)
		raise_peak(&lof_stats.peak_locked_kb, (uint64_t)kb);
	stat_add(locked_samples, 1);
}

/* The histogram bucket of a handler time. Context: any. */
static unsigned int bucket(uint64_t ns)
{
	uint64_t us = ns / 1000;
	unsigned int b;

	if (!us)
		return 0;
	b = 64 - (unsigned int)__builtin_clzll(us);	/* 1 + floor(log2) */
	return b < LOF_STATS_HIST ? b : LOF_STATS_HIST - 1;
}

void stat_fault(size_t npages, uint64_t ns)
{
	uint64_t n = stat_add(faults, 1) + 1;

	stat_add(pages_resolved, npages);
	stat_add(handler_ns, ns);
	stat_add(hist[bucket(ns)], 1);
	if (unlikely(stats_on) && !(n & (n - 1)))
		sample_maps();
}

void stat_buffer(uint64_t ns)
{
	stat_add(buffers_resolved, 1);
	stat_add(buffer_ns, ns);
}

static int is(const char *a, const char *b)
{
	size_t n = strlen(b);

	return strncmp(a, b, n) == 0 && a[n] == '\0';
}

void stats_init(void)
{
	const char *dest = lof_config.stats;

	stats_on = dest[0] && !is(dest, "0");
	max_map_count = sys_read_ulong("/proc/sys/vm/max_map_count");
	sample_maps();
}

void stat_engine(int lock, int emulate)
{
	batch_lock = lock;
	/*
	 * Without MLOCK_ONFAULT a batch the engine opens may be populated
	 * (locked with mlock, or by the kernel's mprotect of a VM_LOCKED
	 * private range): a page nobody touched is indistinguishable.
	 */
	emulation = emulate;
	batch_populates = emulate;
}

void stats_locked(void)
{
	if (!__atomic_load_n(&lof_stats.ever_locked, __ATOMIC_RELAXED))
		__atomic_store_n(&lof_stats.ever_locked, 1, __ATOMIC_RELAXED);
}

void stats_sample(void)
{
	if (!stats_on || !__atomic_load_n(&lof_stats.ever_locked,
					  __ATOMIC_RELAXED))
		return;
	sample_locked();
	sample_maps();
}

/* ------------------------------------------------------------------ */
/* Untouched batch pages, at exit                                      */
/* ------------------------------------------------------------------ */

struct untouched {
	int fd;			/* /proc/self/pagemap */
	uint64_t pages;		/* accessible pages not present */
};

/* Count the pages of an accessible piece that are not present. */
static int count_piece(const struct maps_entry *e, void *arg)
{
	struct untouched *u = arg;
	uint64_t words[512];

	if (e->prot == PROT_NONE)
		return 0;
	for (uintptr_t at = e->start; at < e->end;) {
		size_t want = (e->end - at) >> lof_page_shift;
		ssize_t n;

		if (want > ARRAY_SIZE(words))
			want = ARRAY_SIZE(words);
		n = sys_pread(u->fd, words, want * sizeof(words[0]),
			      (off_t)((at >> lof_page_shift) * sizeof(words[0])));
		if (n <= 0)
			return -1;
		n /= (ssize_t)sizeof(words[0]);
		for (ssize_t i = 0; i < n; i++)
			u->pages += !(words[i] >> 63);
		at += (uintptr_t)n << lof_page_shift;
	}
	return 0;
}

/* Return: the untouched pages of live entries, or -1 if unreadable. */
static long untouched_pages(void)
{
	struct untouched u = { .fd = sys_open("/proc/self/pagemap",
					      O_RDONLY, 0) };
	struct region r;

	if (u.fd < 0)
		return -1;
	for (uintptr_t at = 0; region_next(&lof_regions, at, &r); at = r.end) {
		if (maps_walk(r.start, r.end, count_piece, &u) < 0) {
			sys_close(u.fd);
			return -1;
		}
	}
	sys_close(u.fd);
	return (long)u.pages;
}

/* ------------------------------------------------------------------ */
/* Reading and reporting                                               */
/* ------------------------------------------------------------------ */

static uint32_t engine_code(void)
{
	switch (lof_mode) {
	case LOF_MODE_NATIVE:
		return 1;
	case LOF_MODE_PASS:
		return 2;
	default:
		return 0;
	}
}

/* Entries now, through the lock-free reader. Context: any. */
static uint64_t live_entries(void)
{
	struct region r;
	uint64_t n = 0;

	for (uintptr_t at = 0; region_next(&lof_regions, at, &r); at = r.end)
		n++;
	return n;
}

static const char *const engine_names[] = { "sigsegv", "native", "off" };

#define LOAD(field) __atomic_load_n(&lof_stats.field, __ATOMIC_RELAXED)

/* Fill a whole struct lof_stats. Context: any (async-signal-safe). */
static void fill(struct lof_stats *s)
{
	long locked = read_locked_kb(), maps = read_maps();

	memset(s, 0, sizeof(*s));
	s->size = sizeof(*s);
	s->engine = engine_code();
	s->regions = LOAD(regions);
	s->regions_live = live_entries();
	s->faults = LOAD(faults);
	s->faults_passed = LOAD(faults_passed);
	s->retries = LOAD(retries);
	s->pages_resolved = LOAD(pages_resolved);
	s->buffers_resolved = LOAD(buffers_resolved);
	s->failures = LOAD(failures);
	s->handler_ns = LOAD(handler_ns);
	for (int i = 0; i < LOF_STATS_HIST; i++)
		s->handler_hist[i] = LOAD(hist[i]);
	if (locked >= 0) {
		s->locked_kb = (uint64_t)locked;
		raise_peak(&lof_stats.peak_locked_kb, s->locked_kb);
		stat_add(locked_samples, 1);
	}
	if (maps >= 0) {
		s->maps = (uint64_t)maps;
		raise_peak(&lof_stats.peak_maps, s->maps);
	}
	s->peak_locked_kb = LOAD(peak_locked_kb);
	s->peak_maps = LOAD(peak_maps);
	s->max_map_count = max_map_count;
}

LOF_EXPORT int lof_stats_get(struct lof_stats *st, size_t size)
{
	struct lof_stats s;

	if (!st || size < 2 * sizeof(uint32_t)) {
		errno = EINVAL;
		return -1;
	}
	fill(&s);
	if (size > sizeof(s)) {
		memset((char *)st + sizeof(s), 0, size - sizeof(s));
		size = sizeof(s);
	}
	s.size = (uint32_t)size;
	memcpy(st, &s, size);
	return 0;
}

static void line(int fd, const char *key, unsigned long v)
{
	char buf[128];
	size_t n = lof_format(buf, sizeof(buf), "lockonfault: %s=%lu\n", key, v);

	sys_write(fd, buf, n);
}

/* Expand %p in the path pattern into out. */
static void expand(const char *pat, char *out, size_t size)
{
	size_t n = 0;

	for (; *pat && n + 24 < size; pat++) {
		if (pat[0] == '%' && pat[1] == 'p') {
			n += lof_format(out + n, size - n, "%d",
					(int)sys_getpid());
			pat++;
		} else {
			out[n++] = *pat;
		}
	}
	out[n] = '\0';
}

int stats_wanted(void)
{
	return stats_on;
}

/* The pid whose report is written or being written; see the head. */
static pid_t reported;

int stats_claim(void)
{
	pid_t me = sys_getpid(), old = __atomic_load_n(&reported,
						       __ATOMIC_ACQUIRE);

	if (!stats_on)
		return 0;
	while (old != me) {
		if (__atomic_compare_exchange_n(&reported, &old, me, 0,
						__ATOMIC_ACQ_REL,
						__ATOMIC_ACQUIRE))
			return 1;
	}
	return 0;
}

void stats_unclaim(void)
{
	pid_t me = sys_getpid();

	__atomic_compare_exchange_n(&reported, &me, 0, 0, __ATOMIC_ACQ_REL,
				    __ATOMIC_RELAXED);
}

/*
 * Does the file at fd begin with this process's pid= line (the report
 * of the image it exec'd from)?
 * Context: any (async-signal-safe).
 */
static int own_report(int fd)
{
	char want[48], got[48];
	size_t n = lof_format(want, sizeof(want), "lockonfault: pid=%d\n",
			      (int)sys_getpid());

	return sys_pread(fd, got, n, 0) == (ssize_t)n && !strncmp(got, want, n);
}

int stats_report_open(long *start)
{
	const char *dest = lof_config.stats;
	char path[LOF_STATS_MAX + 32];
	long end;
	int fd;

	*start = 0;
	if (!stats_on)
		return -1;
	if (is(dest, "1") || is(dest, "stderr"))
		return 2;
	expand(dest, path, sizeof(path));
	fd = sys_open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
	if (fd < 0) {
		log_warn("cannot write statistics to %s (errno %d)", path, -fd);
		return -1;
	}
	if (own_report(fd)) {
		end = arch_syscall6(SYS_lseek, fd, 0, SEEK_END, 0, 0, 0);
		*start = end > 0 ? end : 0;
	} else {
		arch_syscall6(SYS_ftruncate, fd, 0, 0, 0, 0, 0);
	}
	return fd;
}

void stats_report_undo(int fd, long start)
{
	if (fd != 2)
		arch_syscall6(SYS_ftruncate, fd, start, 0, 0, 0, 0);
}

void stats_report_at(int fd, const char *at, int sig)
{
	char buf[96];

	sys_write(fd, buf, lof_format(buf, sizeof(buf),
				      "lockonfault: at=%s\n", at));
	if (sig)
		line(fd, "signal", (unsigned long)sig);
}

void stats_report_fatal(int sig)
{
	long start;
	int fd, saved = errno;

	if (!stats_claim())
		return;
	fd = stats_report_open(&start);
	if (fd >= 0) {
		stats_report(fd);
		/* The lines by call site take a lock: not from a signal. */
		stats_report_at(fd, "signal", sig);
		stats_report_close(fd);
	}
	errno = saved;
}

void stats_report_close(int fd)
{
	if (fd != 2)
		sys_close(fd);
}

void stats_report(int fd)
{
	char buf[128];
	struct lof_stats s;
	long untouched;

	fill(&s);
	/*
	 * Where mlock populates every batch, a page the program never
	 * touched looks like one it did: the figure would be a false 0.
	 */
	untouched = batch_populates ? -1 : untouched_pages();

	line(fd, "pid", (unsigned long)sys_getpid());
	sys_write(fd, buf, lof_format(buf, sizeof(buf),
				      "lockonfault: engine=%s\n",
				      engine_names[s.engine]));
	sys_write(fd, "lockonfault: engine_why=", 24);
	sys_write(fd, lof_engine_why, strlen(lof_engine_why));
	sys_write(fd, "\n", 1);
	line(fd, "batch_lock", (unsigned long)batch_lock);
	line(fd, "emulation", (unsigned long)emulation);
	line(fd, "regions", s.regions);
	line(fd, "regions_live", s.regions_live);
	line(fd, "faults", s.faults);
	line(fd, "faults_passed", s.faults_passed);
	line(fd, "retries", s.retries);
	line(fd, "pages_resolved", s.pages_resolved);
	if (untouched >= 0)
		line(fd, "untouched_pages", (unsigned long)untouched);
	line(fd, "buffers_resolved", s.buffers_resolved);
	line(fd, "failures", s.failures);
	line(fd, "handler_ns", s.handler_ns);
	line(fd, "handler_ns_per_fault", s.faults ? s.handler_ns / s.faults : 0);
	for (int i = 0; i < LOF_STATS_HIST; i++) {
		char key[32];

		if (i == 0)
			lof_format(key, sizeof(key), "handler_us_0_1");
		else if (i == LOF_STATS_HIST - 1)
			lof_format(key, sizeof(key), "handler_us_%lu_inf",
				   1UL << (i - 1));
		else
			lof_format(key, sizeof(key), "handler_us_%lu_%lu",
				   1UL << (i - 1), 1UL << i);
		line(fd, key, s.handler_hist[i]);
	}
	line(fd, "buffer_ns", LOAD(buffer_ns));
	line(fd, "locked_kb", s.locked_kb);
	line(fd, "locked_pages", (unsigned long)((s.locked_kb << 10) >>
						 lof_page_shift));
	line(fd, "peak_locked_kb", s.peak_locked_kb);
	line(fd, "locked_samples", LOAD(locked_samples));
	line(fd, "maps", s.maps);
	line(fd, "peak_maps", s.peak_maps);
	line(fd, "max_map_count", s.max_map_count);
}
