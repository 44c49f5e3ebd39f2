/*
 * test-region.c - unit tests of the region table (src/region.h).
 *
 * Each test builds its own struct region_table on the stack, so the
 * library's lof_regions is never touched. Addresses are plain numbers
 * in page units above BASE: the table never dereferences them. The
 * last test runs a few thousand random insert/remove/protect calls on
 * the table and on a one-byte-per-page model side by side, and checks
 * after each call that they agree and that the table is sorted, free
 * of overlaps and fully merged.
 */
#include "config.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>

#include "lof-test.h"
#include "region.h"

#define BASE ((uintptr_t)0x40000000)
#define PG(n) (BASE + (uintptr_t)(n) * lof_page_size)

#define R PROT_READ
#define RW (PROT_READ | PROT_WRITE)
#define RX (PROT_READ | PROT_EXEC)
#define SH REGION_SHARED

/* An expected entry, in pages. */
struct want {
	size_t start, end;
	int prot;
	unsigned int flags;
};

static int group_setup(void **state)
{
	lof_page_init();
	if (lof_page_size < 4096 ||
	    (lof_page_size & (lof_page_size - 1)) != 0)
		return -1;
	return 0;
}

/* Is addr in an entry [start, end) pages with prot and flags? */
static void expect_hit(struct region_table *t, uintptr_t addr, size_t start,
		       size_t end, int prot, unsigned int flags)
{
	struct region r;

	if (!region_lookup(t, addr, &r))
		fail_msg("lookup(%#lx): miss, expected [%#lx, %#lx)",
			 (unsigned long)addr, (unsigned long)PG(start),
			 (unsigned long)PG(end));
	assert_uint_equal(r.start, PG(start));
	assert_uint_equal(r.end, PG(end));
	assert_int_equal(r.prot, prot);
	assert_int_equal(r.flags, flags);
}

static void expect_miss(struct region_table *t, uintptr_t addr)
{
	struct region r;

	if (region_lookup(t, addr, &r))
		fail_msg("lookup(%#lx): hit [%#lx, %#lx), expected a miss",
			 (unsigned long)addr, (unsigned long)r.start,
			 (unsigned long)r.end);
}

/* The whole table must be exactly want[0..n). */
static void expect_table(struct region_table *t, const struct want *want,
			 size_t n)
{
	struct region out[64];
	size_t got;

	assert_true(n <= ARRAY_SIZE(out));
	assert_uint_equal(region_count(t), n);
	got = region_collect(t, PG(0), PG(1 << 15), out, ARRAY_SIZE(out));
	assert_uint_equal(got, n);
	for (size_t i = 0; i < n; i++) {
		if (out[i].start != PG(want[i].start) ||
		    out[i].end != PG(want[i].end) ||
		    out[i].prot != want[i].prot ||
		    out[i].flags != want[i].flags)
			fail_msg("entry %zu: [%#lx, %#lx) prot %d flags %u, expected [%#lx, %#lx) prot %d flags %u",
				 i, (unsigned long)out[i].start,
				 (unsigned long)out[i].end, out[i].prot,
				 out[i].flags, (unsigned long)PG(want[i].start),
				 (unsigned long)PG(want[i].end), want[i].prot,
				 want[i].flags);
	}
}

#define EXPECT_TABLE(t, ...)                                              \
	do {                                                              \
		static const struct want w_[] = { __VA_ARGS__ };          \
		expect_table(t, w_, ARRAY_SIZE(w_));                      \
	} while (0)

/* ------------------------------------------------------------------ */

static void test_empty_table(void **state)
{
	struct region_table t = { 0 };
	struct region out[1];

	assert_uint_equal(region_count(&t), 0);
	expect_miss(&t, PG(0));
	expect_miss(&t, 0);
	assert_false(region_overlaps(&t, 0, PG(1 << 15)));
	assert_false(region_was_removed(&t, PG(3)));
	assert_uint_equal(region_collect(&t, 0, PG(1 << 15), out, 1), 0);
	assert_false(region_is_self(&t, PG(0), PG(1)));
	assert_int_equal(region_remove(&t, PG(0), PG(4)), 0);
	assert_int_equal(region_protect(&t, PG(0), PG(4), R), 0);
	assert_uint_equal(region_count(&t), 0);
	region_clear(&t);
	assert_uint_equal(region_count(&t), 0);
}

static void test_insert_empty(void **state)
{
	struct region_table t = { 0 };

	assert_int_equal(region_insert(&t, PG(10), PG(20), RW, 0), 0);
	assert_uint_equal(region_count(&t), 1);
	expect_hit(&t, PG(10), 10, 20, RW, 0);
	expect_hit(&t, PG(15) + 123, 10, 20, RW, 0);
	expect_hit(&t, PG(20) - 1, 10, 20, RW, 0);
	EXPECT_TABLE(&t, { 10, 20, RW, 0 });
	region_clear(&t);
}

static void test_lookup_boundaries(void **state)
{
	struct region_table t = { 0 };

	assert_int_equal(region_insert(&t, PG(10), PG(20), R, 0), 0);
	assert_int_equal(region_insert(&t, PG(30), PG(31), RW, SH), 0);
	assert_uint_equal(region_count(&t), 2);

	/* start is inclusive, end exclusive */
	expect_miss(&t, PG(10) - 1);
	expect_hit(&t, PG(10), 10, 20, R, 0);
	expect_hit(&t, PG(20) - 1, 10, 20, R, 0);
	expect_miss(&t, PG(20));
	expect_miss(&t, PG(30) - 1);
	expect_hit(&t, PG(30), 30, 31, RW, SH);
	expect_hit(&t, PG(31) - 1, 30, 31, RW, SH);
	expect_miss(&t, PG(31));
	expect_miss(&t, 0);
	expect_miss(&t, UINTPTR_MAX);
	region_clear(&t);
}

static void test_insert_merge_equal(void **state)
{
	struct region_table t = { 0 };

	assert_int_equal(region_insert(&t, PG(10), PG(20), RW, 0), 0);
	assert_int_equal(region_insert(&t, PG(20), PG(30), RW, 0), 0);
	EXPECT_TABLE(&t, { 10, 30, RW, 0 });
	/* on the left */
	assert_int_equal(region_insert(&t, PG(5), PG(10), RW, 0), 0);
	EXPECT_TABLE(&t, { 5, 30, RW, 0 });
	/* bridging a gap: both neighbours merge */
	assert_int_equal(region_insert(&t, PG(40), PG(50), RW, 0), 0);
	EXPECT_TABLE(&t, { 5, 30, RW, 0 }, { 40, 50, RW, 0 });
	assert_int_equal(region_insert(&t, PG(30), PG(40), RW, 0), 0);
	EXPECT_TABLE(&t, { 5, 50, RW, 0 });
	expect_hit(&t, PG(30), 5, 50, RW, 0);
	/* shared entries merge with shared ones too */
	assert_int_equal(region_insert(&t, PG(60), PG(61), R, SH), 0);
	assert_int_equal(region_insert(&t, PG(61), PG(62), R, SH), 0);
	EXPECT_TABLE(&t, { 5, 50, RW, 0 }, { 60, 62, R, SH });
	region_clear(&t);
}

static void test_insert_adjacent_different(void **state)
{
	struct region_table t = { 0 };

	assert_int_equal(region_insert(&t, PG(10), PG(20), R, 0), 0);
	assert_int_equal(region_insert(&t, PG(20), PG(30), RW, 0), 0);
	/* same prot, different flags */
	assert_int_equal(region_insert(&t, PG(30), PG(40), RW, SH), 0);
	/* on the left of everything */
	assert_int_equal(region_insert(&t, PG(9), PG(10), PROT_NONE, 0), 0);
	EXPECT_TABLE(&t, { 9, 10, PROT_NONE, 0 }, { 10, 20, R, 0 },
		     { 20, 30, RW, 0 }, { 30, 40, RW, SH });
	expect_hit(&t, PG(20) - 1, 10, 20, R, 0);
	expect_hit(&t, PG(20), 20, 30, RW, 0);
	expect_hit(&t, PG(30), 30, 40, RW, SH);
	region_clear(&t);
}

/*
 * File entries merge only as the kernel merges mappings: one file, at
 * contiguous offsets (the same base); the pieces of one mapping that a
 * remove or a change of protection cut merge back.
 */
static void test_insert_file_mappings(void **state)
{
	struct region_table t = { 0 };
	const unsigned int F = SH | REGION_FILE;
	struct region r;

	/* one file, offsets not contiguous: two mappings */
	assert_int_equal(region_insert_file(&t, PG(10), PG(19), RW, F, 7,
					    PG(10) - PG(1445)), 0);
	assert_int_equal(region_insert_file(&t, PG(19), PG(27), RW, F, 7,
					    PG(19) - PG(652)), 0);
	EXPECT_TABLE(&t, { 10, 19, RW, F }, { 19, 27, RW, F });
	/* contiguous offsets of the same file: one */
	assert_int_equal(region_insert_file(&t, PG(27), PG(30), RW, F, 7,
					    PG(19) - PG(652)), 0);
	EXPECT_TABLE(&t, { 10, 19, RW, F }, { 19, 30, RW, F });
	assert_true(region_lookup(&t, PG(29), &r));
	assert_int_equal(r.ino, 7);
	assert_true(r.base == PG(19) - PG(652));
	/* the same base, another file */
	assert_int_equal(region_insert_file(&t, PG(30), PG(31), RW, F, 8,
					    PG(19) - PG(652)), 0);
	EXPECT_TABLE(&t, { 10, 19, RW, F }, { 19, 30, RW, F },
		     { 30, 31, RW, F });
	/* a mapping's pieces join again */
	assert_int_equal(region_protect(&t, PG(20), PG(22), R), 0);
	EXPECT_TABLE(&t, { 10, 19, RW, F }, { 19, 20, RW, F },
		     { 20, 22, R, F }, { 22, 30, RW, F }, { 30, 31, RW, F });
	assert_int_equal(region_protect(&t, PG(20), PG(22), RW), 0);
	EXPECT_TABLE(&t, { 10, 19, RW, F }, { 19, 30, RW, F },
		     { 30, 31, RW, F });
	/* an entry of no file (ino 0) beside a file one stays apart */
	assert_int_equal(region_insert(&t, PG(31), PG(32), RW, F), 0);
	EXPECT_TABLE(&t, { 10, 19, RW, F }, { 19, 30, RW, F },
		     { 30, 31, RW, F }, { 31, 32, RW, F });
	region_clear(&t);
}

static void test_insert_overlap_replaces(void **state)
{
	struct region_table t = { 0 };

	assert_int_equal(region_insert(&t, PG(10), PG(20), R, 0), 0);
	assert_int_equal(region_insert(&t, PG(30), PG(40), R, SH), 0);
	assert_int_equal(region_insert(&t, PG(50), PG(60), R, 0), 0);

	/* straddles the first and the last, swallows the middle */
	assert_int_equal(region_insert(&t, PG(15), PG(55), RW, 0), 0);
	EXPECT_TABLE(&t, { 10, 15, R, 0 }, { 15, 55, RW, 0 },
		     { 55, 60, R, 0 });

	/* covers everything */
	assert_int_equal(region_insert(&t, PG(5), PG(65), R, 0), 0);
	EXPECT_TABLE(&t, { 5, 65, R, 0 });

	/* the same prot inside an entry changes nothing */
	assert_int_equal(region_insert(&t, PG(20), PG(30), R, 0), 0);
	EXPECT_TABLE(&t, { 5, 65, R, 0 });

	/* another prot inside an entry splits it in three */
	assert_int_equal(region_insert(&t, PG(20), PG(30), RW, 0), 0);
	EXPECT_TABLE(&t, { 5, 20, R, 0 }, { 20, 30, RW, 0 },
		     { 30, 65, R, 0 });

	/* replacing the middle with the neighbours' prot merges all */
	assert_int_equal(region_insert(&t, PG(20), PG(30), R, 0), 0);
	EXPECT_TABLE(&t, { 5, 65, R, 0 });

	/* exact replacement of a whole entry */
	assert_int_equal(region_insert(&t, PG(5), PG(65), RX, SH), 0);
	EXPECT_TABLE(&t, { 5, 65, RX, SH });

	/* overlapping the left end, merging with nothing */
	assert_int_equal(region_insert(&t, PG(1), PG(6), R, 0), 0);
	EXPECT_TABLE(&t, { 1, 6, R, 0 }, { 6, 65, RX, SH });

	/* overlapping the right end and merging with what it overlaps */
	assert_int_equal(region_insert(&t, PG(60), PG(70), RX, SH), 0);
	EXPECT_TABLE(&t, { 1, 6, R, 0 }, { 6, 70, RX, SH });
	region_clear(&t);
}

static void test_remove_middle_splits(void **state)
{
	struct region_table t = { 0 };

	assert_int_equal(region_insert(&t, PG(10), PG(30), RW, SH), 0);
	assert_int_equal(region_remove(&t, PG(15), PG(20)), 0);
	EXPECT_TABLE(&t, { 10, 15, RW, SH }, { 20, 30, RW, SH });
	expect_hit(&t, PG(15) - 1, 10, 15, RW, SH);
	expect_miss(&t, PG(15));
	expect_miss(&t, PG(20) - 1);
	expect_hit(&t, PG(20), 20, 30, RW, SH);

	/* a one-page hole at the very start and end of an entry */
	assert_int_equal(region_remove(&t, PG(10), PG(11)), 0);
	assert_int_equal(region_remove(&t, PG(29), PG(30)), 0);
	EXPECT_TABLE(&t, { 11, 15, RW, SH }, { 20, 29, RW, SH });
	region_clear(&t);
}

static void test_remove_spanning(void **state)
{
	struct region_table t = { 0 };

	assert_int_equal(region_insert(&t, PG(10), PG(20), R, 0), 0);
	assert_int_equal(region_insert(&t, PG(20), PG(30), RW, 0), 0);
	assert_int_equal(region_insert(&t, PG(30), PG(40), R, 0), 0);
	assert_int_equal(region_insert(&t, PG(50), PG(60), RW, SH), 0);
	assert_int_equal(region_insert(&t, PG(70), PG(80), R, 0), 0);
	assert_uint_equal(region_count(&t), 5);

	assert_int_equal(region_remove(&t, PG(15), PG(55)), 0);
	EXPECT_TABLE(&t, { 10, 15, R, 0 }, { 55, 60, RW, SH },
		     { 70, 80, R, 0 });
	for (size_t p = 15; p < 55; p++)
		expect_miss(&t, PG(p));

	/* a range covering whole entries and the gaps around them */
	assert_int_equal(region_remove(&t, PG(0), PG(65)), 0);
	EXPECT_TABLE(&t, { 70, 80, R, 0 });
	region_clear(&t);
}

static void test_remove_exact(void **state)
{
	struct region_table t = { 0 };

	assert_int_equal(region_insert(&t, PG(10), PG(20), R, 0), 0);
	assert_int_equal(region_insert(&t, PG(20), PG(30), RW, 0), 0);
	assert_int_equal(region_insert(&t, PG(40), PG(50), R, 0), 0);
	assert_int_equal(region_remove(&t, PG(20), PG(30)), 0);
	EXPECT_TABLE(&t, { 10, 20, R, 0 }, { 40, 50, R, 0 });
	assert_int_equal(region_remove(&t, PG(10), PG(20)), 0);
	EXPECT_TABLE(&t, { 40, 50, R, 0 });
	assert_int_equal(region_remove(&t, PG(40), PG(50)), 0);
	assert_uint_equal(region_count(&t), 0);
	expect_miss(&t, PG(40));
	region_clear(&t);
}

static void test_remove_nothing(void **state)
{
	struct region_table t = { 0 };

	assert_int_equal(region_insert(&t, PG(10), PG(20), RW, 0), 0);
	assert_int_equal(region_insert(&t, PG(30), PG(40), RW, 0), 0);
	/* in the gap, touching both entries */
	assert_int_equal(region_remove(&t, PG(20), PG(30)), 0);
	/* below and above everything */
	assert_int_equal(region_remove(&t, PG(0), PG(10)), 0);
	assert_int_equal(region_remove(&t, PG(40), PG(100)), 0);
	EXPECT_TABLE(&t, { 10, 20, RW, 0 }, { 30, 40, RW, 0 });
	region_clear(&t);
}

static void test_protect_split_and_merge(void **state)
{
	struct region_table t = { 0 };

	assert_int_equal(region_insert(&t, PG(10), PG(40), RW, SH), 0);
	assert_int_equal(region_protect(&t, PG(20), PG(30), R), 0);
	EXPECT_TABLE(&t, { 10, 20, RW, SH }, { 20, 30, R, SH },
		     { 30, 40, RW, SH });
	expect_hit(&t, PG(20) - 1, 10, 20, RW, SH);
	expect_hit(&t, PG(20), 20, 30, R, SH);
	expect_hit(&t, PG(30), 30, 40, RW, SH);

	/* back: one entry again */
	assert_int_equal(region_protect(&t, PG(20), PG(30), RW), 0);
	EXPECT_TABLE(&t, { 10, 40, RW, SH });

	/* the same prot again changes nothing */
	assert_int_equal(region_protect(&t, PG(10), PG(40), RW), 0);
	EXPECT_TABLE(&t, { 10, 40, RW, SH });

	/* at the ends: two pieces */
	assert_int_equal(region_protect(&t, PG(10), PG(15), R), 0);
	EXPECT_TABLE(&t, { 10, 15, R, SH }, { 15, 40, RW, SH });
	assert_int_equal(region_protect(&t, PG(35), PG(40), R), 0);
	EXPECT_TABLE(&t, { 10, 15, R, SH }, { 15, 35, RW, SH },
		     { 35, 40, R, SH });

	/* the whole entry */
	assert_int_equal(region_protect(&t, PG(0), PG(100), PROT_NONE), 0);
	EXPECT_TABLE(&t, { 10, 40, PROT_NONE, SH });
	region_clear(&t);
}

static void test_protect_holes_and_flags(void **state)
{
	struct region_table t = { 0 };

	assert_int_equal(region_insert(&t, PG(10), PG(20), RW, 0), 0);
	assert_int_equal(region_insert(&t, PG(30), PG(40), RW, SH), 0);

	/* holes stay holes, flags are kept */
	assert_int_equal(region_protect(&t, PG(15), PG(35), R), 0);
	EXPECT_TABLE(&t, { 10, 15, RW, 0 }, { 15, 20, R, 0 },
		     { 30, 35, R, SH }, { 35, 40, RW, SH });
	expect_miss(&t, PG(20));
	expect_miss(&t, PG(30) - 1);

	/* a protect in a hole does nothing */
	assert_int_equal(region_protect(&t, PG(20), PG(30), RX), 0);
	assert_uint_equal(region_count(&t), 4);

	/* protect merging with an untouched neighbour */
	assert_int_equal(region_insert(&t, PG(50), PG(60), R, 0), 0);
	assert_int_equal(region_insert(&t, PG(60), PG(70), RW, 0), 0);
	assert_int_equal(region_protect(&t, PG(60), PG(70), R), 0);
	EXPECT_TABLE(&t, { 10, 15, RW, 0 }, { 15, 20, R, 0 },
		     { 30, 35, R, SH }, { 35, 40, RW, SH },
		     { 50, 70, R, 0 });

	/* but not across a change of flags */
	assert_int_equal(region_insert(&t, PG(70), PG(80), RW, SH), 0);
	assert_int_equal(region_protect(&t, PG(70), PG(80), R), 0);
	expect_hit(&t, PG(69), 50, 70, R, 0);
	expect_hit(&t, PG(70), 70, 80, R, SH);
	region_clear(&t);
}

static void test_collect(void **state)
{
	struct region_table t = { 0 };
	struct region out[8];

	assert_int_equal(region_insert(&t, PG(10), PG(20), R, 0), 0);
	assert_int_equal(region_insert(&t, PG(30), PG(40), RW, SH), 0);
	assert_int_equal(region_insert(&t, PG(50), PG(60), R, 0), 0);

	/* clipped to the range at both ends */
	memset(out, 0, sizeof(out));
	assert_uint_equal(region_collect(&t, PG(15), PG(55), out, 8), 3);
	assert_uint_equal(out[0].start, PG(15));
	assert_uint_equal(out[0].end, PG(20));
	assert_int_equal(out[0].prot, R);
	assert_uint_equal(out[1].start, PG(30));
	assert_uint_equal(out[1].end, PG(40));
	assert_int_equal(out[1].prot, RW);
	assert_int_equal(out[1].flags, SH);
	assert_uint_equal(out[2].start, PG(50));
	assert_uint_equal(out[2].end, PG(55));
	assert_int_equal(out[2].prot, R);

	/* a range inside one entry */
	assert_uint_equal(region_collect(&t, PG(32), PG(33), out, 8), 1);
	assert_uint_equal(out[0].start, PG(32));
	assert_uint_equal(out[0].end, PG(33));
	assert_int_equal(out[0].flags, SH);

	/* the total, even when only max are copied */
	memset(out, 0xa5, sizeof(out));
	assert_uint_equal(region_collect(&t, PG(0), PG(100), out, 1), 3);
	assert_uint_equal(out[0].start, PG(10));
	assert_uint_equal(out[0].end, PG(20));
	assert_uint_equal(out[1].start, (uintptr_t)0xa5a5a5a5a5a5a5a5ULL);
	assert_uint_equal(region_collect(&t, PG(0), PG(100), NULL, 0), 3);

	/* entries only touching the range do not intersect it */
	assert_uint_equal(region_collect(&t, PG(20), PG(30), out, 8), 0);
	assert_uint_equal(region_collect(&t, PG(60), PG(70), out, 8), 0);
	assert_uint_equal(region_collect(&t, PG(0), PG(10), out, 8), 0);
	assert_uint_equal(region_collect(&t, PG(19), PG(31), out, 8), 2);
	assert_uint_equal(out[0].start, PG(19));
	assert_uint_equal(out[1].end, PG(31));
	region_clear(&t);
}

static void test_overlaps(void **state)
{
	struct region_table t = { 0 };

	assert_int_equal(region_insert(&t, PG(10), PG(20), R, 0), 0);
	assert_int_equal(region_insert(&t, PG(30), PG(40), RW, 0), 0);
	assert_false(region_overlaps(&t, PG(0), PG(10)));
	assert_false(region_overlaps(&t, PG(20), PG(30)));
	assert_false(region_overlaps(&t, PG(40), PG(50)));
	assert_false(region_overlaps(&t, PG(21), PG(22)));
	assert_true(region_overlaps(&t, PG(9), PG(11)));
	assert_true(region_overlaps(&t, PG(19), PG(21)));
	assert_true(region_overlaps(&t, PG(12), PG(13)));
	assert_true(region_overlaps(&t, PG(10), PG(20)));
	assert_true(region_overlaps(&t, PG(20), PG(31)));
	assert_true(region_overlaps(&t, PG(39), PG(40)));
	assert_true(region_overlaps(&t, PG(0), PG(100)));
	region_clear(&t);
}

static void test_was_removed(void **state)
{
	struct region_table t = { 0 };

	assert_int_equal(region_insert(&t, PG(10), PG(30), RW, 0), 0);
	assert_false(region_was_removed(&t, PG(15)));
	assert_int_equal(region_remove(&t, PG(15), PG(20)), 0);
	assert_true(region_was_removed(&t, PG(15)));
	assert_true(region_was_removed(&t, PG(17) + 5));
	assert_true(region_was_removed(&t, PG(20) - 1));
	assert_false(region_was_removed(&t, PG(15) - 1));
	assert_false(region_was_removed(&t, PG(20)));
	assert_false(region_was_removed(&t, PG(10)));
	assert_false(region_was_removed(&t, PG(100)));

	/* a whole entry */
	assert_int_equal(region_remove(&t, PG(20), PG(30)), 0);
	assert_true(region_was_removed(&t, PG(25)));
	assert_true(region_was_removed(&t, PG(15)));
	assert_false(region_was_removed(&t, PG(30)));
	assert_false(region_was_removed(&t, PG(12)));
	region_clear(&t);
}

static void test_gen(void **state)
{
	struct region_table t = { 0 };
	unsigned long g;

	g = region_gen(&t);
	assert_int_equal(region_insert(&t, PG(10), PG(30), RW, 0), 0);
	assert_true(region_gen(&t) != g);
	g = region_gen(&t);
	assert_int_equal(region_protect(&t, PG(15), PG(20), R), 0);
	assert_true(region_gen(&t) != g);
	g = region_gen(&t);
	assert_int_equal(region_remove(&t, PG(15), PG(20)), 0);
	assert_true(region_gen(&t) != g);
	/* no change in flight */
	assert_int_equal(t.seq & 1, 0);
	region_clear(&t);
}

static void test_set_hint(void **state)
{
	struct region_table t = { 0 };
	struct region r;

	assert_int_equal(region_insert(&t, PG(10), PG(20), RW, 0), 0);
	assert_int_equal(region_insert(&t, PG(30), PG(40), R, 0), 0);
	region_set_hint(&t, PG(12) + 7, 8, 3, PG(14));
	assert_true(region_lookup(&t, PG(19), &r));
	assert_int_equal(r.hint, 8);
	assert_int_equal(r.seen, 3);
	assert_uint_equal(r.last, PG(14));
	/* the other entry is untouched */
	region_set_hint(&t, PG(30), 2, 5, PG(31));
	assert_true(region_lookup(&t, PG(10), &r));
	assert_int_equal(r.hint, 8);
	assert_true(region_lookup(&t, PG(39), &r));
	assert_int_equal(r.hint, 2);
	assert_uint_equal(r.last, PG(31));
	/* in a hole: nothing to do, nothing changes */
	region_set_hint(&t, PG(25), 64, 0, PG(26));
	assert_uint_equal(region_count(&t), 2);
	assert_true(region_lookup(&t, PG(10), &r));
	assert_int_equal(r.hint, 8);
	expect_hit(&t, PG(30), 30, 40, R, 0);
	region_clear(&t);
}

static void test_is_self(void **state)
{
	struct region_table t = { 0 };
	uintptr_t s, other;
	void *mine;

	mine = mmap(NULL, lof_page_size, PROT_READ,
		    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	assert_true(mine != MAP_FAILED);
	other = (uintptr_t)mine;
	assert_false(region_is_self(&t, other, other + lof_page_size));

	assert_int_equal(region_insert(&t, PG(10), PG(20), RW, 0), 0);
	assert_non_null(t.blk);
	/* the table's storage is its own memory... */
	s = page_down((uintptr_t)t.blk);
	assert_true(region_is_self(&t, s, s + lof_page_size));
	assert_true(region_is_self(&t, s - lof_page_size,
				   s + 2 * lof_page_size));
	/* ...but the ranges it manages and other mappings are not */
	assert_false(region_is_self(&t, PG(10), PG(20)));
	assert_false(region_is_self(&t, other, other + lof_page_size));
	munmap(mine, lof_page_size);
	region_clear(&t);
}

static void test_clear(void **state)
{
	struct region_table t = { 0 };

	for (size_t i = 0; i < 10; i++)
		assert_int_equal(region_insert(&t, PG(4 * i), PG(4 * i + 2),
					       RW, 0), 0);
	assert_uint_equal(region_count(&t), 10);
	region_clear(&t);
	assert_uint_equal(region_count(&t), 0);
	expect_miss(&t, PG(0));
	expect_miss(&t, PG(36));
	assert_false(region_overlaps(&t, PG(0), PG(100)));
	/* usable again */
	assert_int_equal(region_insert(&t, PG(1), PG(2), R, 0), 0);
	EXPECT_TABLE(&t, { 1, 2, R, 0 });
	region_clear(&t);
}

static void test_lock(void **state)
{
	struct region_table t = { 0 };
	sigset_t before, inside, after, saved;

	sigemptyset(&before);
	assert_int_equal(sigprocmask(SIG_SETMASK, NULL, &before), 0);
	region_lock(&saved);
	assert_int_equal(sigprocmask(SIG_SETMASK, NULL, &inside), 0);
	/* asynchronous signals are blocked, synchronous ones are not */
	assert_true(sigismember(&inside, SIGINT));
	assert_true(sigismember(&inside, SIGUSR1));
	assert_true(sigismember(&inside, SIGALRM));
	assert_false(sigismember(&inside, SIGSEGV));
	assert_false(sigismember(&inside, SIGBUS));
	assert_int_equal(region_insert(&t, PG(1), PG(2), R, 0), 0);
	region_unlock(&saved);
	assert_int_equal(sigprocmask(SIG_SETMASK, NULL, &after), 0);
	for (int sig = 1; sig < NSIG; sig++)
		assert_int_equal(sigismember(&before, sig),
				 sigismember(&after, sig));
	/* not recursive, but reusable */
	region_lock(&saved);
	region_unlock(&saved);
	region_clear(&t);
}

/* ------------------------------------------------------------------ */
/* Growth                                                              */
/* ------------------------------------------------------------------ */

static size_t gcd(size_t a, size_t b)
{
	while (b) {
		size_t r = a % b;

		a = b;
		b = r;
	}
	return a;
}

/* A permutation of [0, n): j -> j * stride mod n. */
static size_t stride_for(size_t n)
{
	size_t s = 7919;

	while (gcd(s, n) != 1)
		s += 2;
	return s;
}

static void test_growth(void **state)
{
	struct region_table t = { 0 };
	struct region_block *blk = NULL;
	unsigned int grew = 0;
	size_t n = 0, stride;
	struct region r;

	/*
	 * One-page entries on even pages, prot alternating so that the
	 * odd pages filled below never merge. Go on until the table's
	 * own block moved at least twice, and to 5000 at least.
	 */
	while (n < 5000 || grew < 2) {
		int prot = (n & 1) ? R : RW;

		if (n >= 1000000)
			fail_msg("table storage moved %u times in %zu inserts",
				 grew, n);
		assert_int_equal(region_insert(&t, PG(2 * n), PG(2 * n + 1),
					       prot, 0), 0);
		if (t.blk != blk) {
			if (blk)
				grew++;
			blk = t.blk;
		}
		n++;
	}
	assert_uint_equal(region_count(&t), n);
	for (size_t i = 0; i < n; i++) {
		int prot = (i & 1) ? R : RW;

		expect_hit(&t, PG(2 * i), 2 * i, 2 * i + 1, prot, 0);
		expect_hit(&t, PG(2 * i + 1) - 1, 2 * i, 2 * i + 1, prot, 0);
		expect_miss(&t, PG(2 * i + 1));
	}
	assert_uint_equal(region_collect(&t, PG(0), PG(2 * n), NULL, 0), n);

	/* fill the odd pages in a scrambled order, with a third prot */
	stride = stride_for(n);
	for (size_t j = 0; j < n; j++) {
		size_t i = j * stride % n;

		assert_int_equal(region_insert(&t, PG(2 * i + 1),
					       PG(2 * i + 2), RX, SH), 0);
	}
	assert_uint_equal(region_count(&t), 2 * n);
	for (size_t i = 0; i < n; i++) {
		assert_true(region_lookup(&t, PG(2 * i + 1), &r));
		assert_uint_equal(r.start, PG(2 * i + 1));
		assert_uint_equal(r.end, PG(2 * i + 2));
		assert_int_equal(r.prot, RX);
		assert_int_equal(r.flags, SH);
		expect_hit(&t, PG(2 * i), 2 * i, 2 * i + 1,
			   (i & 1) ? R : RW, 0);
	}

	/* and take them out again, in another order */
	for (size_t j = 0; j < n; j++) {
		size_t i = (n - 1 - j) * stride % n;

		assert_int_equal(region_remove(&t, PG(2 * i + 1),
					       PG(2 * i + 2)), 0);
	}
	assert_uint_equal(region_count(&t), n);
	for (size_t i = 0; i < n; i++) {
		expect_hit(&t, PG(2 * i), 2 * i, 2 * i + 1,
			   (i & 1) ? R : RW, 0);
		expect_miss(&t, PG(2 * i + 1));
	}

	/* one insert over everything replaces and merges it all */
	assert_int_equal(region_insert(&t, PG(1), PG(2 * n), R, 0), 0);
	assert_uint_equal(region_count(&t), 2);
	expect_hit(&t, PG(0), 0, 1, RW, 0);
	expect_hit(&t, PG(1), 1, 2 * n, R, 0);
	expect_hit(&t, PG(2 * n) - 1, 1, 2 * n, R, 0);
	region_clear(&t);
}

/* ------------------------------------------------------------------ */
/* The randomized model test                                           */
/* ------------------------------------------------------------------ */

#define NPAGES 512
#define NOPS 4000

static const int model_prots[] = { PROT_NONE, R, RW, RX };

/* A page of the model: 0 absent, else 1 + prot index * 2 + shared. */
static unsigned char model_val(int prot, unsigned int flags)
{
	for (unsigned int i = 0; i < ARRAY_SIZE(model_prots); i++)
		if (model_prots[i] == prot)
			return (unsigned char)(1 + i * 2 + !!(flags & SH));
	return 0xff;
}

static int model_prot(unsigned char v)
{
	return model_prots[(v - 1) / 2];
}

static unsigned int model_flags(unsigned char v)
{
	return (v - 1) & 1 ? SH : 0;
}

/* The page number of an address, for messages. */
static size_t pno(uintptr_t a)
{
	return (size_t)((a - BASE) / lof_page_size);
}

struct run {
	size_t start, end;
	unsigned char v;
};

/* The maximal runs of present pages with one value: the merged table. */
static size_t model_runs(const unsigned char *m, struct run *runs)
{
	size_t n = 0;

	for (size_t p = 0; p < NPAGES;) {
		size_t q = p + 1;

		if (!m[p]) {
			p++;
			continue;
		}
		while (q < NPAGES && m[q] == m[p])
			q++;
		runs[n].start = p;
		runs[n].end = q;
		runs[n].v = m[p];
		n++;
		p = q;
	}
	return n;
}

static void model_check(struct region_table *t, const unsigned char *m,
			struct lof_rng *rng, int op, const char *what)
{
	static struct run runs[NPAGES];
	static struct region out[NPAGES + 1];
	static long run_of[NPAGES];
	size_t nruns, n;

	nruns = model_runs(m, runs);
	for (size_t p = 0; p < NPAGES; p++)
		run_of[p] = -1;
	for (size_t i = 0; i < nruns; i++)
		for (size_t p = runs[i].start; p < runs[i].end; p++)
			run_of[p] = (long)i;

	if (t->seq & 1)
		fail_msg("op %d (%s): seq %u is odd after the call", op, what,
			 t->seq);

	/* every page, at a random offset inside it */
	for (size_t p = 0; p < NPAGES; p++) {
		uintptr_t a = PG(p) + lof_rng_below(rng, lof_page_size);
		struct region r;
		int hit = region_lookup(t, a, &r);
		const struct run *w = run_of[p] >= 0 ? &runs[run_of[p]] : NULL;

		if (!w && hit)
			fail_msg("op %d (%s): page %zu: lookup hit [%zu, %zu), model has nothing",
				 op, what, p, pno(r.start), pno(r.end));
		if (!w)
			continue;
		if (!hit)
			fail_msg("op %d (%s): page %zu: lookup missed, model has [%zu, %zu)",
				 op, what, p, w->start, w->end);
		if (r.start != PG(w->start) || r.end != PG(w->end) ||
		    r.prot != model_prot(w->v) ||
		    r.flags != model_flags(w->v))
			fail_msg("op %d (%s): page %zu: lookup [%zu, %zu) prot %d flags %u, model [%zu, %zu) prot %d flags %u",
				 op, what, p, pno(r.start), pno(r.end),
				 r.prot, r.flags, w->start, w->end,
				 model_prot(w->v), model_flags(w->v));
	}
	if (region_lookup(t, PG(NPAGES), &out[0]) ||
	    region_lookup(t, BASE - 1, &out[0]))
		fail_msg("op %d (%s): lookup hit outside the model space", op,
			 what);

	/* the whole table, and its invariants */
	n = region_collect(t, BASE - 64 * lof_page_size, PG(NPAGES + 64), out,
			   ARRAY_SIZE(out));
	if (n != region_count(t))
		fail_msg("op %d (%s): collect found %zu entries, count says %zu",
			 op, what, n, region_count(t));
	if (n > NPAGES)
		fail_msg("op %d (%s): %zu entries in %d pages", op, what, n,
			 NPAGES);
	for (size_t i = 0; i < n; i++) {
		const struct region *e = &out[i];

		if (e->start >= e->end || e->start % lof_page_size ||
		    e->end % lof_page_size)
			fail_msg("op %d (%s): entry %zu [%#lx, %#lx) is empty or unaligned",
				 op, what, i, (unsigned long)e->start,
				 (unsigned long)e->end);
		if (i == 0)
			continue;
		if (e->start < out[i - 1].end)
			fail_msg("op %d (%s): entry %zu [%#lx, %#lx) overlaps or precedes [%#lx, %#lx)",
				 op, what, i, (unsigned long)e->start,
				 (unsigned long)e->end,
				 (unsigned long)out[i - 1].start,
				 (unsigned long)out[i - 1].end);
		if (e->start == out[i - 1].end &&
		    e->prot == out[i - 1].prot &&
		    e->flags == out[i - 1].flags)
			fail_msg("op %d (%s): entries %zu and %zu touch at %#lx with equal prot %d flags %u: not merged",
				 op, what, i - 1, i, (unsigned long)e->start,
				 e->prot, e->flags);
	}
	if (n != nruns)
		fail_msg("op %d (%s): %zu entries, model has %zu runs", op,
			 what, n, nruns);
	for (size_t i = 0; i < n; i++)
		if (out[i].start != PG(runs[i].start) ||
		    out[i].end != PG(runs[i].end) ||
		    out[i].prot != model_prot(runs[i].v) ||
		    out[i].flags != model_flags(runs[i].v))
			fail_msg("op %d (%s): entry %zu differs from the model run [%zu, %zu)",
				 op, what, i, runs[i].start, runs[i].end);

	/* a random window, clipped */
	{
		size_t a = lof_rng_below(rng, NPAGES);
		size_t b = a + 1 + lof_rng_below(rng, NPAGES - a);
		size_t k = 0;

		n = region_collect(t, PG(a), PG(b), out, ARRAY_SIZE(out));
		for (size_t i = 0; i < nruns; i++) {
			size_t s, e;

			if (runs[i].end <= a || runs[i].start >= b)
				continue;
			s = runs[i].start > a ? runs[i].start : a;
			e = runs[i].end < b ? runs[i].end : b;
			if (k >= n || out[k].start != PG(s) ||
			    out[k].end != PG(e) ||
			    out[k].prot != model_prot(runs[i].v))
				fail_msg("op %d (%s): collect [%zu, %zu): entry %zu is not [%zu, %zu)",
					 op, what, a, b, k, s, e);
			k++;
		}
		if (k != n)
			fail_msg("op %d (%s): collect [%zu, %zu) returned %zu, model has %zu",
				 op, what, a, b, n, k);
	}
}

/* The process's address-space size in bytes (/proc/self/statm). */
static long vm_bytes(void)
{
	FILE *f = fopen("/proc/self/statm", "r");
	long pages = -1;

	if (f) {
		if (fscanf(f, "%ld", &pages) != 1)
			pages = -1;
		fclose(f);
	}
	return pages < 0 ? -1 : pages * (long)lof_page_size;
}

/*
 * A table that cannot grow (RLIMIT_AS leaves no room for a bigger
 * block) and is full: a change that splits an entry fails with ENOMEM
 * and leaves the table as it was; removing or reprotecting whole
 * entries needs no room and succeeds (issue 12 l).
 */
static void test_full_table(void **state)
{
	struct region_table t = { 0 };
	struct rlimit old, tight;
	int r_ins = 0, r_mid, r_prot_mid, r_whole, r_prot_whole;
	size_t n = 0, before, after_mid, after_whole;
	long vm;

	(void)state;
	/* Two-page entries, prot alternating so that none merge. */
	for (; n < 1000; n++)
		assert_int_equal(region_insert(&t, PG(4 * n), PG(4 * n + 2),
					       (n & 1) ? R : RW, 0), 0);
	vm = vm_bytes();
	assert_true(vm > 0);
	assert_int_equal(getrlimit(RLIMIT_AS, &old), 0);
	tight = old;
	tight.rlim_cur = (rlim_t)vm;
	assert_int_equal(setrlimit(RLIMIT_AS, &tight), 0);
	/* No allocation from here until the limit is lifted. */
	while (n < 1000000 &&
	       (r_ins = region_insert(&t, PG(4 * n), PG(4 * n + 2),
				      (n & 1) ? R : RW, 0)) == 0)
		n++;
	/* Fill the last free slots with one split each. */
	for (size_t i = 0; i < 2; i++)
		if (region_protect(&t, PG(4 * i), PG(4 * i + 1), RX))
			break;
	before = region_count(&t);
	r_mid = region_remove(&t, PG(4 * 10 + 1), PG(4 * 10 + 2));
	r_prot_mid = region_protect(&t, PG(4 * 11), PG(4 * 11 + 1), RX);
	after_mid = region_count(&t);
	r_whole = region_remove(&t, PG(4 * 20), PG(4 * 21 + 2));
	r_prot_whole = region_protect(&t, PG(4 * 30), PG(4 * 30 + 2), RX);
	after_whole = region_count(&t);
	setrlimit(RLIMIT_AS, &old);

	assert_int_equal(r_ins, -ENOMEM);
	assert_int_equal(r_mid, -ENOMEM);
	assert_int_equal(r_prot_mid, -ENOMEM);
	assert_uint_equal(after_mid, before);
	expect_hit(&t, PG(4 * 10 + 1), 4 * 10, 4 * 10 + 2, RW, 0);
	expect_hit(&t, PG(4 * 11), 4 * 11, 4 * 11 + 2, R, 0);
	assert_int_equal(r_whole, 0);
	assert_int_equal(r_prot_whole, 0);
	assert_uint_equal(after_whole, before - 2);
	expect_miss(&t, PG(4 * 20));
	expect_miss(&t, PG(4 * 21 + 1));
	expect_hit(&t, PG(4 * 30 + 1), 4 * 30, 4 * 30 + 2, RX, 0);
	expect_hit(&t, PG(4 * 22), 4 * 22, 4 * 22 + 2, RW, 0);
}

static void test_model(void **state)
{
	struct region_table t = { 0 };
	static unsigned char m[NPAGES], before[NPAGES];
	struct lof_rng rng = { 0x9e3779b97f4a7c15ULL };
	const char *seed = getenv("LOF_TEST_SEED");
	char what[96];

	if (seed)
		rng.s = strtoull(seed, NULL, 0) | 1;
	memset(m, 0, sizeof(m));
	for (int op = 0; op < NOPS; op++) {
		unsigned int kind = (unsigned int)lof_rng_below(&rng, 10);
		size_t s = lof_rng_below(&rng, NPAGES), len, e;
		int prot = model_prots[lof_rng_below(&rng, 4)];
		unsigned int flags = lof_rng_below(&rng, 2) ? SH : 0;
		int model_hit = 0, r;

		if (lof_rng_below(&rng, 8) == 0)
			len = 1 + lof_rng_below(&rng, NPAGES);
		else
			len = 1 + lof_rng_below(&rng, 32);
		e = s + len < NPAGES ? s + len : NPAGES;
		memcpy(before, m, sizeof(m));
		for (size_t p = s; p < e; p++)
			model_hit |= m[p] != 0;
		if (!!region_overlaps(&t, PG(s), PG(e)) != model_hit)
			fail_msg("op %d: overlaps [%zu, %zu) says %d, model %d",
				 op, s, e, !model_hit, model_hit);

		if (kind < 4) {
			snprintf(what, sizeof(what),
				 "insert [%zu, %zu) prot %d flags %u", s, e,
				 prot, flags);
			r = region_insert(&t, PG(s), PG(e), prot, flags);
			for (size_t p = s; p < e; p++)
				m[p] = model_val(prot, flags);
		} else if (kind < 7) {
			snprintf(what, sizeof(what), "remove [%zu, %zu)", s,
				 e);
			r = region_remove(&t, PG(s), PG(e));
			memset(m + s, 0, e - s);
		} else {
			snprintf(what, sizeof(what), "protect [%zu, %zu) %d",
				 s, e, prot);
			r = region_protect(&t, PG(s), PG(e), prot);
			for (size_t p = s; p < e; p++)
				if (m[p])
					m[p] = model_val(prot,
							 model_flags(m[p]));
		}
		if (r != 0)
			fail_msg("op %d (%s): returned %d", op, what, r);
		/* every page the call took out of the table is a tomb */
		for (size_t p = s; kind >= 4 && kind < 7 && p < e; p++)
			if (before[p] && !region_was_removed(&t, PG(p)))
				fail_msg("op %d (%s): was_removed(page %zu) is false",
					 op, what, p);
		model_check(&t, m, &rng, op, what);
	}
	region_clear(&t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_empty_table),
		cmocka_unit_test(test_insert_empty),
		cmocka_unit_test(test_lookup_boundaries),
		cmocka_unit_test(test_insert_merge_equal),
		cmocka_unit_test(test_insert_adjacent_different),
		cmocka_unit_test(test_insert_file_mappings),
		cmocka_unit_test(test_insert_overlap_replaces),
		cmocka_unit_test(test_remove_middle_splits),
		cmocka_unit_test(test_remove_spanning),
		cmocka_unit_test(test_remove_exact),
		cmocka_unit_test(test_remove_nothing),
		cmocka_unit_test(test_protect_split_and_merge),
		cmocka_unit_test(test_protect_holes_and_flags),
		cmocka_unit_test(test_collect),
		cmocka_unit_test(test_overlaps),
		cmocka_unit_test(test_was_removed),
		cmocka_unit_test(test_gen),
		cmocka_unit_test(test_set_hint),
		cmocka_unit_test(test_is_self),
		cmocka_unit_test(test_clear),
		cmocka_unit_test(test_lock),
		cmocka_unit_test(test_growth),
		cmocka_unit_test(test_full_table),
		cmocka_unit_test(test_model),
	};

	return cmocka_run_group_tests_name("region", tests, group_setup,
					   NULL);
}
