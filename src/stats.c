/*
 * stats.c - the counters and the report LOCKONFAULT_STATS asks for.
 *
 * The report is one "lockonfault: key=value" line per figure, so it is
 * easy to read and to grep. locked_kb is the kernel's own figure (the
 * Locked: line of /proc/self/smaps_rollup) at the moment of the report.
 */
#include "config.h"
#include "stats.h"

#include <fcntl.h>
#include <string.h>

#include "log.h"
#include "options.h"
#include "region.h"
#include "sys.h"

struct lof_stats lof_stats;

/* Locked: from smaps_rollup, in kB, or -1. */
static long locked_kb(void)
{
	char buf[4096];
	ssize_t n;
	int fd = sys_open("/proc/self/smaps_rollup", O_RDONLY, 0);
	const char *p;
	long v = 0;

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
	for (p += 8; *p == ' '; p++)
		;
	while (*p >= '0' && *p <= '9')
		v = v * 10 + (*p++ - '0');
	return v;
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

static void line(int fd, const char *key, unsigned long v)
{
	char buf[128];
	size_t n = lof_format(buf, sizeof(buf), "lockonfault: %s=%lu\n", key, v);

	sys_write(fd, buf, n);
}

void stats_report(void)
{
	const char *dest = lof_config.stats;
	struct lof_stats s = lof_stats;
	char path[LOF_STATS_MAX + 32];
	long locked;
	int fd = 2;

	if (!dest[0] || !strcmp(dest, "0"))
		return;
	if (strcmp(dest, "1") && strcmp(dest, "stderr")) {
		expand(dest, path, sizeof(path));
		fd = sys_open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
		if (fd < 0) {
			log_warn("cannot write statistics to %s (errno %d)",
				 path, -fd);
			return;
		}
	}
	locked = locked_kb();
	line(fd, "pid", (unsigned long)sys_getpid());
	line(fd, "regions", s.regions);
	line(fd, "regions_live", region_count(&lof_regions));
	line(fd, "faults", s.faults);
	line(fd, "pages_resolved", s.pages_resolved);
	line(fd, "faults_passed", s.faults_passed);
	line(fd, "retries", s.retries);
	line(fd, "failures", s.failures);
	line(fd, "buffers_resolved", s.buffers_resolved);
	line(fd, "handler_ns", s.handler_ns);
	line(fd, "handler_ns_per_fault", s.faults ? s.handler_ns / s.faults : 0);
	if (locked >= 0)
		line(fd, "locked_kb", (unsigned long)locked);
	if (fd != 2)
		sys_close(fd);
}
