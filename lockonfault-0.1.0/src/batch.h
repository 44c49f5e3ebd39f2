/*
 * batch.h - which pages one fault resolves: pure functions.
 *
 * A batch is an aligned block of a power-of-two number of pages around
 * the fault, clipped to the region entry (so it never leaves the
 * mapping, and never crosses a change of protection). Aligned blocks
 * let neighbouring batches merge back into one kernel mapping.
 *
 * Its size starts at LOCKONFAULT_BATCH and grows, up to
 * LOCKONFAULT_MAX_BATCH, when the region's faults show it is used
 * densely (batch_plan): sequential faults double it, a second fault in
 * the 2 MiB chunk of the previous one opens the whole chunk, and faults
 * spread over the whole region double it once they could have opened a
 * BATCH_SPREAD-th of it. On top of that the mapping budget
 * (batch_budget_shift) widens every batch as the process's kernel
 * mappings fill up, past MAX_BATCH if need be.
 *
 * Why growth is cheap: in the engine's KERNEL mode the kernel locks
 * only the pages of a VM_LOCKONFAULT range that are touched, so a
 * larger batch locks no more memory; it only opens more pages per
 * fault. A fault costs about 20 us here, most of it the signal itself
 * (bench/RESULTS.md), so fewer faults are what makes lockonfault fast.
 */
#ifndef LOF_BATCH_H
#define LOF_BATCH_H

#include <stddef.h>
#include <stdint.h>

#include "internal.h"

/* Largest power of two <= n (n >= 1). */
LOF_AS_SAFE size_t batch_pow2_floor(size_t n);

/*
 * The batch around fault address addr for a region [rstart, rend):
 * pages rounded down to a power of two, the block aligned to its size,
 * then clipped to the region. page is the page size (a power of two).
 * Context: any, including the SIGSEGV handler (async-signal-safe).
 */
LOF_AS_SAFE void batch_bounds(uintptr_t addr, uintptr_t rstart,
			      uintptr_t rend, size_t pages, size_t page,
			      uintptr_t *b0, uintptr_t *b1);

/*
 * The size, in pages, of the batch for a fault at addr in a region
 * whose previous batch used cur pages and ended at last_end: doubled
 * (up to max_pages) when addr lies within cur pages after last_end
 * (sequential use), else cur. cur == 0 means the region's first fault:
 * it gets first_pages. The result is at least 1.
 * Context: any, including the SIGSEGV handler (async-signal-safe).
 */
LOF_AS_SAFE size_t batch_next(size_t cur, size_t first_pages,
			      size_t max_pages, uintptr_t last_end,
			      uintptr_t addr, size_t page);

/*
 * How many times to double batches so the process stays clear of
 * vm.max_map_count: 0 while the mappings in use (an estimate) stay
 * under a quarter of the limit, then one more doubling for every
 * further eighth of it, and BATCH_SHIFT_ALL (whole regions: every
 * fault then merges mappings instead of splitting them) from three
 * quarters on. Widening early keeps faults from ever running out of
 * mappings, at the price of larger batches.
 * Context: any, including the SIGSEGV handler (async-signal-safe).
 */
LOF_AS_SAFE unsigned int batch_budget_shift(unsigned long used,
					    unsigned long limit);

/* A shift that makes any batch cover its whole region. */
#define BATCH_SHIFT_ALL 40

/* The chunk a dense pattern opens whole: a transparent huge page. */
#define BATCH_CHUNK ((uintptr_t)2 << 20)

/*
 * Faults spread over a region double its batch once they number
 * region pages / (BATCH_SPREAD * batch pages).
 */
#define BATCH_SPREAD 64

/* A region's batch history (kept in its table entry). */
struct batch_hist {
	size_t cur;		/* pages of the last batch; 0: no fault yet */
	size_t seen;		/* faults taken at cur pages */
	uintptr_t last;		/* end of the last batch */
};

/*
 * Is addr a second fault in the BATCH_CHUNK-aligned chunk of the
 * previous batch (which ended at last and held cur pages), outside
 * that batch?
 * Context: any, including the SIGSEGV handler (async-signal-safe).
 */
LOF_AS_SAFE int batch_dense(uintptr_t last, size_t cur, uintptr_t addr,
			    size_t page);

/*
 * The batch, in pages, for a fault at addr in a region of rpages pages
 * whose history is *h, between first and max pages: first for the
 * region's first fault; twice cur for a sequential fault (batch_next);
 * at least a chunk for a dense one (batch_dense); twice cur once the
 * region has taken rpages / (BATCH_SPREAD * cur) faults at cur; else
 * cur. Stores the history to keep (with last unchanged: the caller
 * knows the batch's end only after batch_bounds) in *out, which may be
 * h. The result is at least 1 and at most max (unless max is 0).
 * Context: any, including the SIGSEGV handler (async-signal-safe).
 */
LOF_AS_SAFE size_t batch_plan(const struct batch_hist *h, size_t first,
			      size_t max, uintptr_t addr, size_t rpages,
			      size_t page, struct batch_hist *out);

/*
 * batch_plan for the batch-lock mode, where a batch is charged (and,
 * without MLOCK_ONFAULT, populated) whole: growth on sequential faults
 * only, where every page of a batch is wanted.
 * Context: any, including the SIGSEGV handler (async-signal-safe).
 */
LOF_AS_SAFE size_t batch_plan_seq(const struct batch_hist *h, size_t first,
				  size_t max, uintptr_t addr, size_t page,
				  struct batch_hist *out);

/*
 * The batch where opening it locks (and populates) every page of it:
 * the SIGSEGV engine's emulation of MLOCK_ONFAULT on private writable
 * memory. first pages for a fault that does not follow the last batch;
 * a fault at or just past its end (a sequential scan) grows it by a
 * quarter (at least a page), up to max. A quarter, not a doubling, so
 * that a scan that stops leaves at most about a quarter of what it
 * touched locked but untouched. The history is stored as batch_plan's.
 * Context: any, including the SIGSEGV handler (async-signal-safe).
 */
LOF_AS_SAFE size_t batch_plan_lock(const struct batch_hist *h, size_t first,
				   size_t max, uintptr_t addr, size_t page,
				   struct batch_hist *out);

/*
 * Bounds of a batch of pages pages starting at addr's page, unaligned
 * (a locked batch must not reach behind the fault), clipped to
 * [rstart, rend).
 * Context: any, including the SIGSEGV handler (async-signal-safe).
 */
LOF_AS_SAFE void batch_bounds_from(uintptr_t addr, uintptr_t rstart,
				   uintptr_t rend, size_t pages, size_t page,
				   uintptr_t *b0, uintptr_t *b1);

#endif /* LOF_BATCH_H */
