/*
 * stats.h - counters for LOCKONFAULT_STATS and lof_stats_get().
 *
 * Plain uint64_t counters bumped with relaxed atomic adds, so the
 * handler may count. Two figures are the kernel's own, read from /proc
 * at sample points (see stats.c): locked memory and the mapping count,
 * with their peaks. The report is written once, at the end of the
 * process: exit, _exit, exec or a fatal signal.
 */
#ifndef LOF_STATS_H
#define LOF_STATS_H

#include <stddef.h>
#include <stdint.h>

#include "internal.h"
#include "lockonfault.h"

struct lof_counters {
	uint64_t regions;	 /* lock calls that registered a region */
	uint64_t faults;	 /* faults resolved by the engine */
	uint64_t pages_resolved; /* pages made accessible by faults */
	uint64_t faults_passed;	 /* faults handed to the program */
	uint64_t retries;	 /* faults retried after a race */
	uint64_t failures;	 /* kernel calls that failed in the engine */
	uint64_t handler_ns;	 /* time spent resolving faults */
	uint64_t buffers_resolved; /* syscall buffers opened beforehand */
	uint64_t buffer_ns;	 /* time spent opening them */
	uint64_t hist[LOF_STATS_HIST]; /* faults by handler time, log2 us */
	uint64_t peak_locked_kb; /* highest Locked: sampled */
	uint64_t peak_maps;	 /* highest mapping count sampled */
	uint64_t locked_samples; /* samples taken */
	int ever_locked;	 /* a lock call succeeded: sample on release */
};

extern struct lof_counters lof_stats;

#define stat_add(field, n)                                                 \
	__atomic_fetch_add(&lof_stats.field, (n), __ATOMIC_RELAXED)

/*
 * Count one resolved fault: npages made accessible in ns nanoseconds.
 * Every power-of-two-th fault also samples the mapping count when
 * LOCKONFAULT_STATS is set (one read of /proc/self/maps).
 * Context: the SIGSEGV handler (async-signal-safe).
 */
LOF_AS_SAFE void stat_fault(size_t npages, uint64_t ns);

/*
 * Count one system-call buffer opened beforehand, in ns nanoseconds.
 * Context: any (async-signal-safe).
 */
LOF_AS_SAFE void stat_buffer(uint64_t ns);

/*
 * Read the start-up figures (vm.max_map_count, the mapping count) and
 * whether a report was asked for. Context: init only.
 */
void stats_init(void);

/*
 * The engine's choice at init: batch_lock (each batch is locked as it
 * is opened) and emulate (the SIGSEGV engine supplies MLOCK_ONFAULT the
 * kernel lacks). Context: init.
 */
void stat_engine(int batch_lock, int emulate);

/* A lock call of the program succeeded: releases sample from now on. */
void stats_locked(void);

/*
 * Locked memory may be about to shrink (munlock, munlockall, munmap,
 * mremap, MAP_FIXED): sample Locked: and the mapping count, when a
 * report was asked for and something was ever locked.
 * Context: not in a signal handler.
 */
void stats_sample(void);

/* Was a report asked for (LOCKONFAULT_STATS)? Context: any. */
LOF_AS_SAFE int stats_wanted(void);

/*
 * Claim the report for this process: 1 if it is this caller's to
 * write, 0 if no report was asked for or this pid claimed it already
 * (once per pid: a fork or vfork child claims its own).
 * stats_unclaim() gives it back (an exec that failed).
 * Context: any (async-signal-safe).
 */
LOF_AS_SAFE int stats_claim(void);
LOF_AS_SAFE void stats_unclaim(void);

/*
 * Open the LOCKONFAULT_STATS destination (2 for stderr), close-on-exec.
 * A file is truncated, unless it begins with this pid's own report
 * (the image this one exec'd from): then the report is appended.
 * *start is where this report begins (for stats_report_undo).
 * Return: the fd, or -1 when no report was asked for or it cannot be
 * opened (said once, as a warning).
 * Context: any (async-signal-safe).
 */
LOF_AS_SAFE int stats_report_open(long *start);

/*
 * Write the report's counter lines to fd (the lines by call site
 * follow, from sites.c, except from a signal).
 * Context: any (async-signal-safe).
 */
LOF_AS_SAFE void stats_report(int fd);

/*
 * The report's last lines: at= how the process ended (exit, _exit,
 * exec, signal) and, for a signal, signal= its number.
 * Context: any (async-signal-safe).
 */
LOF_AS_SAFE void stats_report_at(int fd, const char *at, int sig);

/*
 * Take back a report written before an exec that failed: truncate the
 * file to start (nothing for stderr). Context: any.
 */
LOF_AS_SAFE void stats_report_undo(int fd, long start);

/* Close what stats_report_open() opened. */
LOF_AS_SAFE void stats_report_close(int fd);

/*
 * The process is about to die of sig: write the counter lines (the
 * lines by call site take a lock and are left out), once.
 * Context: a signal handler (async-signal-safe).
 */
LOF_AS_SAFE void stats_report_fatal(int sig);

#endif /* LOF_STATS_H */
