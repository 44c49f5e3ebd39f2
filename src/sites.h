/*
 * sites.h - lock calls by call site (sites.c): who locked what, and
 * how much of it is used and locked now.
 *
 * Nothing here may run in the SIGSEGV handler: recording takes a mutex
 * (with the asynchronous signals blocked) and the report reads /proc
 * and symbol tables. test/check-handler-symbols.sh keeps sites.o out of
 * the handler's world.
 */
#ifndef LOF_SITES_H
#define LOF_SITES_H

#include <stddef.h>
#include <stdint.h>

#include "internal.h"
#include "lockonfault.h"

/*
 * A lock call of kind call (LOF_CALL_*) made at return address pc
 * succeeded on [addr, addr + len) (ignored for mlockall, which records
 * the address space size; flags are mlockall's, else 0). Cheap: a hash
 * lookup under a mutex; names are found only when a report is made.
 * Context: the interposed lock calls; not in a signal handler.
 */
void sites_record(uintptr_t pc, int call, const void *addr, size_t len,
		  int flags);

/*
 * Write one "lockonfault: site=N ..." line per call site, the most
 * bytes asked first, a "sites_method=" line and a "summary=" line for
 * a person, to fd. Context: exit (destructor).
 */
void sites_report(int fd);

/* Fork hooks: the table's mutex is held across fork. */
void sites_atfork_prepare(void);
void sites_atfork_release(void);

#endif /* LOF_SITES_H */
