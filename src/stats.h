/*
 * stats.h - counters for LOCKONFAULT_STATS.
 *
 * Plain uint64_t counters bumped with relaxed atomic adds, so the
 * handler may count; the report is written once, at exit.
 */
#ifndef LOF_STATS_H
#define LOF_STATS_H

#include <stdint.h>

#include "internal.h"

struct lof_stats {
	uint64_t regions;	 /* lock calls that registered a region */
	uint64_t faults;	 /* faults resolved by the engine */
	uint64_t pages_resolved; /* pages made accessible by faults */
	uint64_t faults_passed;	 /* faults handed to the program */
	uint64_t retries;	 /* faults retried after a race */
	uint64_t failures;	 /* kernel calls that failed in the engine */
	uint64_t handler_ns;	 /* time spent resolving faults */
	uint64_t buffers_resolved; /* syscall buffers opened beforehand */
};

extern struct lof_stats lof_stats;

#define stat_add(field, n)                                                 \
	__atomic_fetch_add(&lof_stats.field, (n), __ATOMIC_RELAXED)

/*
 * Write the report to the LOCKONFAULT_STATS destination, if any.
 * Context: exit (destructor); not in a signal handler.
 */
void stats_report(void);

#endif /* LOF_STATS_H */
