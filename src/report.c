/*
 * report.c - when the LOCKONFAULT_STATS report is written: at exit
 * (the destructor), at _exit and _Exit, which skip destructors, and
 * just before an exec replaces the image. A fatal signal writes it from
 * its handler (fatal.c, sigchain.c), without the lines by call site.
 *
 * Once per process (stats_claim). An exec writes the report before the
 * kernel call, since nothing of ours runs after it succeeds; if the
 * exec fails the report is taken back (the file truncated to where it
 * began) and the claim given up, so the process's real end writes it
 * again, with the figures of then. To stderr a report cannot be taken
 * back: a failed exec leaves it, and the final one follows.
 */
#include "config.h"
#include "report.h"

#include <dlfcn.h>
#include <errno.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "interpose.h"
#include "sites.h"
#include "stats.h"
#include "sys.h"

/* The report an exec wrote, to take back if it fails. */
static int exec_fd = -1;
static long exec_start;
static pid_t exec_pid;

/* Write the whole report to fd. */
static void write_all(int fd, const char *at)
{
	stats_report(fd);
	sites_report(fd);
	stats_report_at(fd, at, 0);
}

void report_final(const char *at)
{
	long start;
	int fd, saved = errno;

	if (!stats_claim())
		return;
	fd = stats_report_open(&start);
	if (fd >= 0) {
		write_all(fd, at);
		stats_report_close(fd);
	}
	errno = saved;
}

void report_exec_begin(void)
{
	long start;
	int fd, saved = errno;

	if (!lof_ready() || !stats_claim())
		return;
	fd = stats_report_open(&start);
	if (fd >= 0) {
		write_all(fd, "exec");
		/* Close-on-exec: it closes itself if the exec succeeds. */
		exec_fd = fd;
		exec_start = start;
		exec_pid = sys_getpid();
	}
	errno = saved;
}

void report_exec_failed(void)
{
	int saved = errno;

	if (exec_fd < 0 || exec_pid != sys_getpid())
		return;
	stats_report_undo(exec_fd, exec_start);
	stats_report_close(exec_fd);
	exec_fd = -1;
	stats_unclaim();
	errno = saved;
}

/* _exit and _Exit skip the destructor that writes the report. */
typedef void (*exit_fn)(int);
static exit_fn real__exit, real__Exit;

void report_init(void)
{
	real__exit = (exit_fn)dlsym(RTLD_NEXT, "_exit");
	real__Exit = (exit_fn)dlsym(RTLD_NEXT, "_Exit");
}

LOF_EXPORT void _exit(int status)
{
	if (!real__exit)
		real__exit = (exit_fn)dlsym(RTLD_NEXT, "_exit");
	if (stats_wanted())
		report_final("_exit");
	if (real__exit)
		real__exit(status);
	for (;;)
		syscall(SYS_exit_group, status);
}

LOF_EXPORT void _Exit(int status)
{
	if (!real__Exit)
		real__Exit = (exit_fn)dlsym(RTLD_NEXT, "_Exit");
	if (stats_wanted())
		report_final("_exit");
	if (real__Exit)
		real__Exit(status);
	for (;;)
		syscall(SYS_exit_group, status);
}
