/*
 * batch.c - batch bounds and growth: pure arithmetic, no state.
 *
 * Kept apart from the engine so the unit tests can drive every corner
 * (region edges, odd sizes) without a signal in sight.
 */
#include "config.h"
#include "batch.h"

size_t batch_pow2_floor(size_t n)
{
	size_t p = 1;

	while (p <= n / 2)
		p *= 2;
	return p;
}

void batch_bounds(uintptr_t addr, uintptr_t rstart, uintptr_t rend,
		  size_t pages, size_t page, uintptr_t *b0, uintptr_t *b1)
{
	uintptr_t size = (uintptr_t)batch_pow2_floor(pages ? pages : 1) * page;
	uintptr_t lo = addr & ~(size - 1);
	uintptr_t hi = lo + size;

	/* hi < lo: the block wrapped at the top of the address space. */
	if (lo < rstart)
		lo = rstart;
	if (hi > rend || hi < lo)
		hi = rend;
	*b0 = lo;
	*b1 = hi;
}

unsigned int batch_budget_shift(unsigned long used, unsigned long limit)
{
	if (!limit || used < limit / 4)
		return 0;
	if (used >= limit)
		return 20;
	return 1 + (unsigned int)((used - limit / 4) * 8 / limit);
}

size_t batch_next(size_t cur, size_t first_pages, size_t max_pages,
		  uintptr_t last_end, uintptr_t addr, size_t page)
{
	size_t next;

	if (!cur)
		next = first_pages;
	else if (addr >= last_end && addr - last_end < cur * page)
		next = cur * 2;
	else
		next = cur;
	if (next > max_pages)
		next = max_pages;
	return next ? next : 1;
}
