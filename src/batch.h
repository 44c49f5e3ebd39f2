/*
 * batch.h - which pages one fault resolves: pure functions.
 *
 * A batch is an aligned block of a power-of-two number of pages around
 * the fault, clipped to the region entry (so it never leaves the
 * mapping, and never crosses a change of protection). Aligned blocks
 * let neighbouring batches merge back into one kernel mapping.
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
 * further eighth of it. Widening early keeps faults from ever running
 * out of mappings, at the price of larger batches.
 * Context: any, including the SIGSEGV handler (async-signal-safe).
 */
LOF_AS_SAFE unsigned int batch_budget_shift(unsigned long used,
					    unsigned long limit);

#endif /* LOF_BATCH_H */
