/*
 * lof-test.h - common includes and helpers of the cmocka unit tests.
 *
 * cmocka.h needs <stdarg.h>, <stddef.h>, <setjmp.h> and <stdint.h>
 * before it; every unit test includes this header (after config.h)
 * instead of cmocka.h. The helpers are static inline so that each test
 * program stays a single file.
 */
#ifndef LOF_TEST_H
#define LOF_TEST_H

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>

#include <cmocka.h>

/* assert_int_equal on values that are not int (uintptr_t, size_t...). */
#define assert_uint_equal(a, b) \
	assert_int_equal((uintmax_t)(a), (uintmax_t)(b))

/*
 * A small deterministic generator (xorshift64*), so that a failing
 * randomized test fails the same way on every run and every libc.
 */
struct lof_rng {
	uint64_t s;
};

static inline uint64_t lof_rng_next(struct lof_rng *r)
{
	r->s ^= r->s >> 12;
	r->s ^= r->s << 25;
	r->s ^= r->s >> 27;
	return r->s * 2685821657736338717ULL;
}

/* Uniform enough in [0, n), n > 0. */
static inline uint64_t lof_rng_below(struct lof_rng *r, uint64_t n)
{
	return (lof_rng_next(r) >> 11) % n;
}

#endif /* LOF_TEST_H */
