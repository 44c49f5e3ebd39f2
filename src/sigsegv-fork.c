/*
 * sigsegv-fork.c - the user-space engine across fork.
 *
 * The table lock is held across fork so that the child never inherits
 * it taken by a thread that does not exist there.
 *
 * The kernel copies no lock into a child, and drops mlockall's
 * MCL_FUTURE there, so pending has no meaning in it: the child opens
 * every pending page at the program's protection, starts with an empty
 * table and without MCL_FUTURE, a process like any other. It could not
 * keep the entries safely: with no VM_LOCKED left, the stale-entry
 * probe cannot tell them from memory glibc unmapped and reused. So the
 * parent drops stale entries before it forks, while the probe works.
 * vfork and posix_spawn run no fork hooks; their child shares the
 * parent's memory and table until it execs, and its faults are resolved
 * as the parent's.
 */
#include "config.h"
#include "sigsegv.h"

#include <errno.h>
#include <sys/mman.h>

#include "log.h"
#include "maps.h"
#include "region.h"
#include "sigchain.h"
#include "stats.h"
#include "sys.h"

void sig_atfork_prepare(void)
{
	struct region buf[32];
	uintptr_t at = 0;
	int dropped = 0;

	if (sig_batch_lock)
		return;
	for (;;) {
		size_t n = region_collect(&lof_regions, at, UINTPTR_MAX, buf,
					  ARRAY_SIZE(buf));
		size_t got = n < ARRAY_SIZE(buf) ? n : ARRAY_SIZE(buf);

		for (size_t i = 0; i < got; i++) {
			if (sig_still_locked(buf[i].start, lof_page_size))
				continue;
			region_remove(&lof_regions, buf[i].start, buf[i].end);
			dropped = 1;
		}
		if (got == n)
			break;
		at = buf[got - 1].end;
	}
	if (dropped)
		sig_wait_for_readers();
}

void sig_atfork_parent(void)
{
}

static int open_piece(const struct maps_entry *e, void *arg)
{
	const struct region *r = arg;

	if (sys_mprotect((void *)e->start, e->end - e->start, r->prot)) {
		stat_add(failures, 1);
		log_warn_once("fork: cannot open %p-%p in the child",
			      (void *)e->start, (void *)e->end);
	}
	return 0;
}

void sig_atfork_child(void)
{
	struct region buf[32];
	size_t n;

	/* Handlers of the parent's other threads do not exist here. */
	sig_readers_reset();
	sig_future = 0;
	sig_future_watch = 0;
	sigchain_atfork_child();
	while ((n = region_collect(&lof_regions, 0, UINTPTR_MAX, buf,
				   ARRAY_SIZE(buf))) != 0) {
		size_t got = n < ARRAY_SIZE(buf) ? n : ARRAY_SIZE(buf);

		for (size_t i = 0; i < got; i++) {
			struct region *r = &buf[i];

			/*
			 * ENOMEM: part of it is not in the child at all
			 * (MADV_DONTFORK); open what is, piece by piece.
			 */
			if (r->prot != PROT_NONE &&
			    sys_mprotect((void *)r->start, r->end - r->start,
					 r->prot) == -ENOMEM)
				maps_walk(r->start, r->end, open_piece, r);
			region_remove(&lof_regions, r->start, r->end);
		}
	}
}
