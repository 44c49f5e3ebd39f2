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
	if (used >= limit / 4 * 3)
		return BATCH_SHIFT_ALL;
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

int batch_dense(uintptr_t last, size_t cur, uintptr_t addr, size_t page)
{
	uintptr_t chunk = ~(BATCH_CHUNK - 1);
	uintptr_t len = (uintptr_t)cur * page;

	if (!last || !cur)
		return 0;
	/* Inside the last batch: a late fault of another thread. */
	if (addr < last && addr >= last - len)
		return 0;
	return (addr & chunk) == ((last - 1) & chunk);
}

/* batch_plan, with its dense and spread growth only if wide. */
static size_t plan(const struct batch_hist *h, size_t first, size_t max,
		   uintptr_t addr, size_t rpages, size_t page, int wide,
		   struct batch_hist *out)
{
	size_t cur = h->cur, seen = h->seen, n;
	size_t chunk = BATCH_CHUNK > page ? BATCH_CHUNK / page : 1;

	n = batch_next(cur, first, max ? max : SIZE_MAX, h->last, addr, page);
	if (cur && n == cur && wide) {
		if (batch_dense(h->last, cur, addr, page) && chunk > cur)
			n = chunk;
		else if ((seen + 1) * cur >= rpages / BATCH_SPREAD)
			n = cur * 2;
	}
	if (max && n > max)
		n = max;
	if (n < 1)
		n = 1;
	out->seen = n == cur ? seen + 1 : 0;
	out->cur = n;
	out->last = h->last;
	return n;
}

size_t batch_plan(const struct batch_hist *h, size_t first, size_t max,
		  uintptr_t addr, size_t rpages, size_t page,
		  struct batch_hist *out)
{
	return plan(h, first, max, addr, rpages, page, 1, out);
}

size_t batch_plan_seq(const struct batch_hist *h, size_t first, size_t max,
		      uintptr_t addr, size_t page, struct batch_hist *out)
{
	return plan(h, first, max, addr, 0, page, 0, out);
}

size_t batch_plan_lock(const struct batch_hist *h, size_t first, size_t max,
		       uintptr_t addr, size_t page, struct batch_hist *out)
{
	size_t cur = h->cur, n;

	if (cur && addr >= h->last && addr - h->last < cur * page)
		n = cur + (cur / 4 ? cur / 4 : 1);
	else
		n = first;
	if (max && n > max)
		n = max;
	if (n < 1)
		n = 1;
	out->seen = n == cur ? h->seen + 1 : 0;
	out->cur = n;
	out->last = h->last;
	return n;
}

void batch_bounds_from(uintptr_t addr, uintptr_t rstart, uintptr_t rend,
		       size_t pages, size_t page, uintptr_t *b0, uintptr_t *b1)
{
	uintptr_t lo = addr & ~(uintptr_t)(page - 1);
	uintptr_t hi = lo + (uintptr_t)(pages ? pages : 1) * page;

	if (lo < rstart)
		lo = rstart;
	if (hi > rend || hi < lo)
		hi = rend;
	*b0 = lo;
	*b1 = hi;
}
