/*
 * test-batch.c - unit tests of the batch arithmetic (src/batch.h).
 *
 * batch_pow2_floor, batch_bounds and batch_next are pure functions of
 * their arguments (the page size is one of them), so the tests pass
 * explicit page sizes and never need lof_page_init(). A randomized
 * sweep checks batch_bounds against a reference written out below.
 */
#include "config.h"

#include "lof-test.h"
#include "batch.h"

#define K4 ((size_t)4096)

/* Check batch_bounds(addr, rs, re, pages, page) == [w0, w1). */
#define EXPECT_BOUNDS(addr, rs, re, pages, page, w0, w1)                   \
	do {                                                               \
		uintptr_t b0_ = 1, b1_ = 1;                                \
		batch_bounds((addr), (rs), (re), (pages), (page), &b0_,    \
			     &b1_);                                        \
		assert_uint_equal(b0_, (w0));                              \
		assert_uint_equal(b1_, (w1));                              \
	} while (0)

static void test_pow2_floor(void **state)
{
	assert_uint_equal(batch_pow2_floor(1), 1);
	assert_uint_equal(batch_pow2_floor(2), 2);
	assert_uint_equal(batch_pow2_floor(3), 2);
	assert_uint_equal(batch_pow2_floor(4), 4);
	assert_uint_equal(batch_pow2_floor(5), 4);
	assert_uint_equal(batch_pow2_floor(7), 4);
	assert_uint_equal(batch_pow2_floor(8), 8);
	assert_uint_equal(batch_pow2_floor(12), 8);
	assert_uint_equal(batch_pow2_floor(1023), 512);
	assert_uint_equal(batch_pow2_floor(1024), 1024);
	assert_uint_equal(batch_pow2_floor(1025), 1024);
	assert_uint_equal(batch_pow2_floor((1 << 20) + 1), 1 << 20);
	assert_uint_equal(batch_pow2_floor(SIZE_MAX),
			  (size_t)1 << (sizeof(size_t) * 8 - 1));
	assert_uint_equal(batch_pow2_floor(SIZE_MAX / 2 + 1),
			  (size_t)1 << (sizeof(size_t) * 8 - 1));

	for (size_t n = 1; n <= 70000; n++) {
		size_t r = batch_pow2_floor(n);

		if (r == 0 || (r & (r - 1)) || r > n || n >= 2 * r)
			fail_msg("batch_pow2_floor(%zu) = %zu", n, r);
	}
}

static void test_bounds_aligned(void **state)
{
	/* 16 pages of 4K: a 64K block around the fault */
	EXPECT_BOUNDS(0x123456, 0x100000, 0x200000, 16, K4,
		      0x120000, 0x130000);
	/* a page-aligned fault at the start of a block */
	EXPECT_BOUNDS(0x120000, 0x100000, 0x200000, 16, K4,
		      0x120000, 0x130000);
	/* the last byte of a block */
	EXPECT_BOUNDS(0x12ffff, 0x100000, 0x200000, 16, K4,
		      0x120000, 0x130000);
	/* 512 pages: 2M */
	EXPECT_BOUNDS(0x7f1234567890, 0x7f0000000000, 0x7f2000000000,
		      512, K4, 0x7f1234400000, 0x7f1234600000);
	/* other page sizes: 4 pages of 64K, 2 pages of 16K */
	EXPECT_BOUNDS(0x1234567, 0x1000000, 0x2000000, 4, 65536,
		      0x1200000, 0x1240000);
	EXPECT_BOUNDS(0x1234567, 0x1000000, 0x2000000, 2, 16384,
		      0x1230000, 0x1238000);
}

static void test_bounds_first_last_page(void **state)
{
	/* the first page of a region starting on a block boundary */
	EXPECT_BOUNDS(0x100000, 0x100000, 0x200000, 16, K4,
		      0x100000, 0x110000);
	/* the last page of a region ending on a block boundary */
	EXPECT_BOUNDS(0x1fffff, 0x100000, 0x200000, 16, K4,
		      0x1f0000, 0x200000);
	EXPECT_BOUNDS(0x1ff000, 0x100000, 0x200000, 16, K4,
		      0x1f0000, 0x200000);
}

static void test_bounds_clip_start(void **state)
{
	/* the block starts before the region */
	EXPECT_BOUNDS(0x106abc, 0x105000, 0x200000, 16, K4,
		      0x105000, 0x110000);
	/* the fault on the region's first page */
	EXPECT_BOUNDS(0x105000, 0x105000, 0x200000, 16, K4,
		      0x105000, 0x110000);
	/* the fault on the last page of that block */
	EXPECT_BOUNDS(0x10f000, 0x105000, 0x200000, 16, K4,
		      0x105000, 0x110000);
}

static void test_bounds_clip_end(void **state)
{
	/* the block ends after the region */
	EXPECT_BOUNDS(0x101000, 0x100000, 0x10a000, 16, K4,
		      0x100000, 0x10a000);
	/* the fault on the region's last byte and page */
	EXPECT_BOUNDS(0x109fff, 0x100000, 0x10a000, 16, K4,
		      0x100000, 0x10a000);
	EXPECT_BOUNDS(0x109000, 0x100000, 0x10a000, 16, K4,
		      0x100000, 0x10a000);
	/* the block never crosses its alignment, even inside the region */
	EXPECT_BOUNDS(0x10f000, 0x10c000, 0x114000, 16, K4,
		      0x10c000, 0x110000);
	EXPECT_BOUNDS(0x110000, 0x10c000, 0x114000, 16, K4,
		      0x110000, 0x114000);
	EXPECT_BOUNDS(0x113fff, 0x10c000, 0x114000, 16, K4,
		      0x110000, 0x114000);
}

static void test_bounds_small_region(void **state)
{
	/* a region smaller than the batch, inside one block */
	EXPECT_BOUNDS(0x102000, 0x101000, 0x103000, 16, K4,
		      0x101000, 0x103000);
	EXPECT_BOUNDS(0x101000, 0x101000, 0x103000, 16, K4,
		      0x101000, 0x103000);
	EXPECT_BOUNDS(0x102fff, 0x101000, 0x103000, 16, K4,
		      0x101000, 0x103000);
	/* a one-page region */
	EXPECT_BOUNDS(0x7000, 0x7000, 0x8000, 512, K4, 0x7000, 0x8000);
}

static void test_bounds_round_down(void **state)
{
	/* 12 pages act as 8: 32K blocks */
	EXPECT_BOUNDS(0x10f000, 0x100000, 0x200000, 12, K4,
		      0x108000, 0x110000);
	EXPECT_BOUNDS(0x100000, 0x100000, 0x200000, 12, K4,
		      0x100000, 0x108000);
	/* 3 pages act as 2 */
	EXPECT_BOUNDS(0x10f000, 0x100000, 0x200000, 3, K4,
		      0x10e000, 0x110000);
	/* 1000 pages act as 512 */
	EXPECT_BOUNDS(0x323456, 0x100000, 0x10000000, 1000, K4,
		      0x200000, 0x400000);
}

static void test_bounds_one_page(void **state)
{
	EXPECT_BOUNDS(0x123456, 0x100000, 0x200000, 1, K4,
		      0x123000, 0x124000);
	EXPECT_BOUNDS(0x123000, 0x100000, 0x200000, 1, K4,
		      0x123000, 0x124000);
	EXPECT_BOUNDS(0x100000, 0x100000, 0x200000, 1, K4,
		      0x100000, 0x101000);
	EXPECT_BOUNDS(0x1fffff, 0x100000, 0x200000, 1, K4,
		      0x1ff000, 0x200000);
	EXPECT_BOUNDS(0x1234567, 0x1000000, 0x2000000, 1, 65536,
		      0x1230000, 0x1240000);
}

/* Random regions and faults against the definition, written out. */
static void test_bounds_random(void **state)
{
	struct lof_rng rng = { 0x2545f4914f6cdd1dULL };
	static const size_t pagesz[] = { 4096, 16384, 65536 };

	for (int i = 0; i < 200000; i++) {
		size_t page = pagesz[lof_rng_below(&rng, 3)];
		uintptr_t rs = (uintptr_t)(0x10000 +
					   lof_rng_below(&rng, 1 << 20)) * page;
		uintptr_t re = rs + (uintptr_t)(1 + lof_rng_below(&rng, 3000))
			       * page;
		uintptr_t addr = rs + lof_rng_below(&rng, re - rs);
		size_t pages = 1 + lof_rng_below(&rng, 2048);
		size_t p2 = 1, block;
		uintptr_t w0, w1, b0 = 0, b1 = 0;

		while (p2 * 2 <= pages)
			p2 *= 2;
		block = p2 * page;
		w0 = addr & ~(uintptr_t)(block - 1);
		w1 = w0 + block;
		if (w0 < rs)
			w0 = rs;
		if (w1 > re)
			w1 = re;
		batch_bounds(addr, rs, re, pages, page, &b0, &b1);
		if (b0 != w0 || b1 != w1)
			fail_msg("batch_bounds(%#lx, [%#lx, %#lx), %zu, %zu) = [%#lx, %#lx), expected [%#lx, %#lx)",
				 (unsigned long)addr, (unsigned long)rs,
				 (unsigned long)re, pages, page,
				 (unsigned long)b0, (unsigned long)b1,
				 (unsigned long)w0, (unsigned long)w1);
		/* what the handler relies on, in case the above is wrong */
		assert_true(b0 <= addr && addr < b1);
		assert_true(rs <= b0 && b1 <= re);
		assert_int_equal(b0 % page, 0);
		assert_int_equal(b1 % page, 0);
	}
}

static void test_next_first(void **state)
{
	/* cur == 0: the region's first fault */
	assert_uint_equal(batch_next(0, 16, 512, 0, 0x123456, K4), 16);
	assert_uint_equal(batch_next(0, 1, 512, 0, 0x123456, K4), 1);
	assert_uint_equal(batch_next(0, 64, 512, 0x200000, 0x200000, K4), 64);
	/* never 0, even when asked for 0 */
	assert_true(batch_next(0, 0, 512, 0, 0x123456, K4) >= 1);
}

static void test_next_sequential(void **state)
{
	uintptr_t last = 0x110000;

	/* the fault right at the end of the last batch */
	assert_uint_equal(batch_next(16, 16, 512, last, last, K4), 32);
	/* anywhere within cur pages after it */
	assert_uint_equal(batch_next(16, 16, 512, last, last + 5 * K4 + 7, K4),
			  32);
	assert_uint_equal(batch_next(16, 16, 512, last, last + 16 * K4 - 1, K4),
			  32);
	/* other page sizes */
	assert_uint_equal(batch_next(4, 16, 512, 0x1000000,
				     0x1000000 + 3 * 65536, 65536), 8);
	/* up to max, never beyond */
	assert_uint_equal(batch_next(256, 16, 512, last, last, K4), 512);
	assert_uint_equal(batch_next(512, 16, 512, last, last, K4), 512);
	assert_uint_equal(batch_next(300, 16, 512, last, last, K4), 512);
	assert_uint_equal(batch_next(256, 16, 300, last, last, K4), 300);
}

static void test_next_growth_sequence(void **state)
{
	size_t cur = 0, want = 16;
	uintptr_t last = 0, addr = 0x40000000;

	/* a program walking a region from its start */
	for (int i = 0; i < 20; i++) {
		size_t n = batch_next(cur, 16, 512, last, addr, K4);

		assert_uint_equal(n, want);
		cur = n;
		last = addr + n * K4;
		addr = last;
		want = want * 2 > 512 ? 512 : want * 2;
	}
	assert_uint_equal(cur, 512);
}

static void test_next_non_sequential(void **state)
{
	uintptr_t last = 0x110000;

	/* just past the window */
	assert_uint_equal(batch_next(16, 16, 512, last, last + 16 * K4, K4),
			  16);
	/* just before the end of the last batch */
	assert_uint_equal(batch_next(16, 16, 512, last, last - 1, K4), 16);
	assert_uint_equal(batch_next(16, 16, 512, last, last - K4, K4), 16);
	/* far away, either side */
	assert_uint_equal(batch_next(64, 16, 512, last, 0x7f0000000000, K4),
			  64);
	assert_uint_equal(batch_next(64, 16, 512, last, 0x1000, K4), 64);
	/* no previous batch end */
	assert_uint_equal(batch_next(8, 16, 512, 0, 0x123456, K4), 8);
	/* at max, a random fault keeps max */
	assert_uint_equal(batch_next(512, 16, 512, last, 0x900000, K4), 512);
}

static void test_next_never_zero(void **state)
{
	struct lof_rng rng = { 0x853c49e6748fea9bULL };

	assert_true(batch_next(0, 0, 0, 0, 0x1000, K4) >= 1);
	assert_true(batch_next(1, 1, 0, 0x1000, 0x1000, K4) >= 1);
	assert_true(batch_next(0, 0, 512, 0x1000, 0x1000, K4) >= 1);
	for (int i = 0; i < 100000; i++) {
		size_t cur = lof_rng_below(&rng, 4) ? lof_rng_below(&rng, 1024)
						    : 0;
		size_t first = lof_rng_below(&rng, 64);
		size_t max = lof_rng_below(&rng, 1024);
		uintptr_t last = 0x100000 + lof_rng_below(&rng, 1 << 24);
		uintptr_t addr = 0x100000 + lof_rng_below(&rng, 1 << 24);
		size_t n = batch_next(cur, first, max, last, addr, K4);

		if (n == 0)
			fail_msg("batch_next(%zu, %zu, %zu, %#lx, %#lx) = 0",
				 cur, first, max, (unsigned long)last,
				 (unsigned long)addr);
	}
}

/* The mapping budget: nothing below a quarter, then a doubling per eighth. */
static void test_budget_shift(void **state)
{
	unsigned long limit = 65536, prev = 0;

	(void)state;
	assert_int_equal(batch_budget_shift(0, limit), 0);
	assert_int_equal(batch_budget_shift(limit / 4 - 1, limit), 0);
	assert_int_equal(batch_budget_shift(limit / 4, limit), 1);
	assert_int_equal(batch_budget_shift(limit / 4 + limit / 8, limit), 2);
	assert_int_equal(batch_budget_shift(limit / 2 + 1, limit), 3);
	/* Whole regions from three quarters on, never before. */
	assert_true(batch_budget_shift(limit / 4 * 3 - 1, limit) <
		    BATCH_SHIFT_ALL);
	assert_int_equal(batch_budget_shift(limit / 4 * 3, limit),
			 BATCH_SHIFT_ALL);
	assert_int_equal(batch_budget_shift(limit - 1, limit), BATCH_SHIFT_ALL);
	assert_int_equal(batch_budget_shift(10 * limit, limit),
			 BATCH_SHIFT_ALL);
	/* No limit known: never widen. */
	assert_int_equal(batch_budget_shift(1000000, 0), 0);
	/* Monotonic in use. */
	for (unsigned long used = 0; used <= limit; used += 97) {
		unsigned int sh = batch_budget_shift(used, limit);

		assert_true(sh >= prev);
		prev = sh;
	}
}

/*
 * The budget's promise, simulated: every fault adds at most two
 * mappings (a batch inside a pending range splits it in three) unless
 * it resolves a whole region. Even with one-page batches in a huge
 * region, the estimate that drives the shift never lets the count pass
 * three quarters of the limit, so it stays under 90%.
 */
static void test_budget_bounds_mappings(void **state)
{
	unsigned long limit = 65530, base = 40, maps = base, faults = 0;

	(void)state;
	for (int i = 0; i < 200000; i++) {
		unsigned int sh = batch_budget_shift(base + 2 * faults, limit);

		if (sh < BATCH_SHIFT_ALL)
			maps += 2;	/* a split, the worst case */
		else
			maps = base + 1;	/* the region merged whole */
		faults++;
		assert_true(maps < limit * 9 / 10);
	}
}

static void test_dense(void **state)
{
	uintptr_t chunk = 0x40000000;	/* 2 MiB aligned */
	uintptr_t last = chunk + 0x20000;	/* a 16-page batch ended here */

	(void)state;
	/* Another block of the same chunk, before or after the batch. */
	assert_true(batch_dense(last, 16, chunk, K4));
	assert_true(batch_dense(last, 16, chunk + 0x1fffff, K4));
	assert_true(batch_dense(last, 16, last, K4));
	/* Inside the last batch: another thread's late fault, not dense. */
	assert_false(batch_dense(last, 16, last - 1, K4));
	assert_false(batch_dense(last, 16, last - 16 * K4, K4));
	/* Another chunk. */
	assert_false(batch_dense(last, 16, chunk + 0x200000, K4));
	assert_false(batch_dense(last, 16, chunk - 1, K4));
	/* No history. */
	assert_false(batch_dense(0, 16, chunk, K4));
	assert_false(batch_dense(last, 0, chunk, K4));
	/* A batch ending on a chunk boundary belongs to the chunk before. */
	assert_true(batch_dense(chunk + 0x200000, 16, chunk, K4));
	assert_false(batch_dense(chunk + 0x200000, 16, chunk + 0x200000, K4));
}

static void test_plan_first_and_sequential(void **state)
{
	struct batch_hist h = { 0 }, o;
	uintptr_t addr = 0x40000000;

	(void)state;
	assert_uint_equal(batch_plan(&h, 16, 4096, addr, 1 << 20, K4, &o), 16);
	assert_uint_equal(o.cur, 16);
	assert_uint_equal(o.seen, 0);
	/* A program walking the region: 16, 32, 64... up to max. */
	h = (struct batch_hist){ 16, 0, addr + 16 * K4 };
	for (size_t want = 32; want <= 4096; want *= 2) {
		assert_uint_equal(batch_plan(&h, 16, 4096, h.last, 1 << 20, K4,
					     &o), want);
		assert_uint_equal(o.seen, 0);
		h.cur = o.cur;
		h.last += o.cur * K4;
	}
	assert_uint_equal(batch_plan(&h, 16, 4096, h.last, 1 << 20, K4, &o),
			  4096);
	assert_uint_equal(o.seen, 1);	/* at max: counted, not grown */
}

static void test_plan_dense_chunk(void **state)
{
	uintptr_t chunk = 0x40000000;
	struct batch_hist h = { 16, 0, chunk + 0x40000 }, o;

	(void)state;
	/* A second fault in the chunk, not sequential: the whole chunk. */
	assert_uint_equal(batch_plan(&h, 16, 4096, chunk + 0x100000, 1 << 20,
				     K4, &o), 512);
	assert_uint_equal(o.cur, 512);
	/* ...and the block batch_bounds makes of it is the chunk itself. */
	{
		uintptr_t b0, b1;

		batch_bounds(chunk + 0x100000, 0, UINTPTR_MAX, 512, K4, &b0,
			     &b1);
		assert_uint_equal(b0, chunk);
		assert_uint_equal(b1, chunk + 0x200000);
	}
	/* Bounded by max. */
	assert_uint_equal(batch_plan(&h, 16, 64, chunk + 0x100000, 1 << 20,
				     K4, &o), 64);
	/* Already larger than a chunk: kept. */
	h.cur = 1024;
	h.last = chunk + 0x800000;
	assert_uint_equal(batch_plan(&h, 16, 4096, chunk + 0x100000, 1 << 20,
				     K4, &o), 1024);
	/* 64K pages: a chunk is 32 of them. */
	h = (struct batch_hist){ 4, 0, chunk + 4 * 65536 };
	assert_uint_equal(batch_plan(&h, 4, 4096, chunk + 0x100000, 1 << 16,
				     65536, &o), 32);
}

/* Batch-lock mode: sequential doubling only, never a chunk or a spread. */
static void test_plan_seq(void **state)
{
	uintptr_t chunk = 0x40000000;
	struct batch_hist h = { 16, 0, chunk + 0x40000 }, o;

	(void)state;
	/* Where batch_plan opens the chunk, this keeps the batch... */
	assert_uint_equal(batch_plan_seq(&h, 16, 4096, chunk + 0x100000, K4,
					 &o), 16);
	assert_uint_equal(o.seen, 1);
	/* ...and after many spread faults, still does. */
	h.seen = 1000000;
	assert_uint_equal(batch_plan_seq(&h, 16, 4096, chunk + 0x900000, K4,
					 &o), 16);
	assert_uint_equal(o.seen, 1000001);
	/* Sequential: doubled, up to max; the first fault gets first. */
	assert_uint_equal(batch_plan_seq(&h, 16, 4096, h.last, K4, &o), 32);
	assert_uint_equal(o.seen, 0);
	assert_uint_equal(batch_plan_seq(&h, 16, 16, h.last, K4, &o), 16);
	h = (struct batch_hist){ 0, 0, 0 };
	assert_uint_equal(batch_plan_seq(&h, 8, 4096, chunk, K4, &o), 8);
}

static void test_plan_lock(void **state)
{
	uintptr_t base = 0x40000000, b0, b1;
	struct batch_hist h = { 0, 0, 0 }, o;
	size_t n, touched = 0, opened = 0;

	(void)state;
	/* The first fault, and any that does not follow: first pages. */
	assert_uint_equal(batch_plan_lock(&h, 1, 4096, base, K4, &o), 1);
	h = (struct batch_hist){ 64, 0, base + 64 * K4 };
	assert_uint_equal(batch_plan_lock(&h, 1, 4096, base + 900 * K4, K4,
					  &o), 1);
	/* Right after the last batch: a quarter more, at least a page. */
	assert_uint_equal(batch_plan_lock(&h, 1, 4096, h.last, K4, &o), 80);
	h = (struct batch_hist){ 2, 0, base + 2 * K4 };
	assert_uint_equal(batch_plan_lock(&h, 1, 4096, h.last + K4, K4, &o), 3);
	h = (struct batch_hist){ 4000, 0, base };
	assert_uint_equal(batch_plan_lock(&h, 1, 4096, base, K4, &o), 4096);
	/*
	 * A scan of 1000 pages that stops: faults as the handler takes
	 * them, batches from the fault on; what is opened is at most a
	 * quarter more than what was touched, and far fewer faults.
	 */
	h = (struct batch_hist){ 0, 0, 0 };
	for (uintptr_t a = base; a < base + 1000 * K4; a = b1) {
		n = batch_plan_lock(&h, 1, 4096, a, K4, &o);
		batch_bounds_from(a, base, base + (1UL << 30), n, K4, &b0, &b1);
		assert_int_equal(b0, a);
		h = o;
		h.last = b1;
		opened = (b1 - base) / K4;
		touched++;
	}
	assert_true(opened <= 1000 + 1000 / 4 + 1);
	assert_true(touched < 40);
	/* Bounds clip to the region and never reach behind the fault. */
	batch_bounds_from(base + 5 * K4 + 100, base, base + 8 * K4, 16, K4,
			  &b0, &b1);
	assert_int_equal(b0, base + 5 * K4);
	assert_int_equal(b1, base + 8 * K4);
}

static void test_plan_spread(void **state)
{
	size_t rpages = 1 << 20, cur = 16, faults = 0;
	struct batch_hist h = { cur, 0, 0x40000000 + 16 * K4 };
	struct lof_rng rng = { 0x1234567 };

	(void)state;
	/* Random faults far apart: no growth before rpages / (64 * cur). */
	while (cur < 4096) {
		size_t before = cur, n = 0;

		for (;;) {
			uintptr_t addr = 0x40000000 + (uintptr_t)
				lof_rng_below(&rng, rpages) * K4;
			size_t p;

			/* Keep clear of the last chunk: spread, not dense. */
			if ((addr >> 21) == ((h.last - 1) >> 21))
				continue;
			p = batch_plan(&h, 16, 4096, addr, rpages, K4, &h);
			h.last = (addr & ~(uintptr_t)(p * K4 - 1)) + p * K4;
			n++;
			faults++;
			if (n > rpages)
				fail_msg("no growth after %zu faults", n);
			if (p != before) {
				assert_uint_equal(p, 2 * before);
				break;
			}
		}
		assert_uint_equal(n, rpages / BATCH_SPREAD / before);
		cur = h.cur;
	}
	/* 4 GiB of 4K pages reach 16 MiB batches within 4096 faults. */
	assert_true(faults < 4096);
}

static void test_plan_bounds(void **state)
{
	struct lof_rng rng = { 0xfeedULL };

	(void)state;
	for (int i = 0; i < 200000; i++) {
		size_t first = 1 + lof_rng_below(&rng, 64);
		size_t max = first + lof_rng_below(&rng, 8192);
		struct batch_hist h = {
			lof_rng_below(&rng, 3) ? 1 + lof_rng_below(&rng, max) : 0,
			lof_rng_below(&rng, 100000),
			0x100000 + lof_rng_below(&rng, 1 << 30),
		}, o;
		uintptr_t addr = 0x100000 + lof_rng_below(&rng, 1 << 30);
		size_t rpages = 1 + lof_rng_below(&rng, 1 << 22);
		size_t n = batch_plan(&h, first, max, addr, rpages, K4, &o);

		if (n < 1 || n > max || o.cur != n || o.last != h.last)
			fail_msg("batch_plan(cur %zu, first %zu, max %zu) = %zu",
				 h.cur, first, max, n);
		/* Never shrinks, except to obey max. */
		if (h.cur && n < h.cur && n != max)
			fail_msg("batch_plan shrank %zu to %zu", h.cur, n);
		if (!h.cur && n != first)
			fail_msg("first fault: %zu, not %zu", n, first);
		assert_uint_equal(o.seen, n == h.cur ? h.seen + 1 : 0);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_pow2_floor),
		cmocka_unit_test(test_bounds_aligned),
		cmocka_unit_test(test_bounds_first_last_page),
		cmocka_unit_test(test_bounds_clip_start),
		cmocka_unit_test(test_bounds_clip_end),
		cmocka_unit_test(test_bounds_small_region),
		cmocka_unit_test(test_bounds_round_down),
		cmocka_unit_test(test_bounds_one_page),
		cmocka_unit_test(test_bounds_random),
		cmocka_unit_test(test_next_first),
		cmocka_unit_test(test_next_sequential),
		cmocka_unit_test(test_next_growth_sequence),
		cmocka_unit_test(test_next_non_sequential),
		cmocka_unit_test(test_next_never_zero),
		cmocka_unit_test(test_budget_shift),
		cmocka_unit_test(test_budget_bounds_mappings),
		cmocka_unit_test(test_dense),
		cmocka_unit_test(test_plan_first_and_sequential),
		cmocka_unit_test(test_plan_dense_chunk),
		cmocka_unit_test(test_plan_seq),
		cmocka_unit_test(test_plan_lock),
		cmocka_unit_test(test_plan_spread),
		cmocka_unit_test(test_plan_bounds),
	};

	return cmocka_run_group_tests_name("batch", tests, NULL, NULL);
}
