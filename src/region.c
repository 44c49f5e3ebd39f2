/*
 * region.c - the table of managed ranges.
 *
 * How it works
 *
 * The table is a sorted array of struct region in memory we mmap
 * ourselves (never malloc: the handler reads it, and malloc may be the
 * very code a fault interrupted). Entries never overlap, and touching
 * entries with equal prot and flags are always merged, so "the entry
 * containing addr" is also the largest range a batch may cover.
 *
 * Writers (the interposed mlock, munlock, mmap, munmap, mprotect,
 * mremap) serialize on table_mutex, taken with every asynchronous
 * signal blocked: a program's signal handler that calls munmap on the
 * same thread can then never find the mutex held by the code it
 * interrupted. Within the lock, each change is wrapped in a sequence
 * count (odd while the array is being changed).
 *
 * Readers (the SIGSEGV handler above all) take no lock: they read the
 * sequence, search the array, copy the entry out, and retry if the
 * sequence moved. A reader never waits for a writer except during the
 * few instructions of an array update, and never on a lock, so a fault
 * on any thread, at any moment, can be served.
 *
 * Growth maps a block twice the size, copies, and publishes it inside
 * a sequence window. Old blocks are kept mapped (on the retired list)
 * forever: a reader may still be searching one. They cost at most the
 * size of the current block in total, since each is half the next.
 *
 * A change that splits an entry needs a free slot, and may have to
 * grow the block to get one; when it cannot (no memory), it fails with
 * the table unchanged. Removing or reprotecting whole entries needs no
 * slot and never fails, which lets a caller fall back to taking out
 * whole entries (sigsegv.c, table_drop).
 *
 * Removed ranges are remembered in a small ring of tombs, so a fault
 * that was raised just before another thread's munlock or munmap took
 * its range out of the table is retried rather than handed to the
 * program as its own.
 */
#include "config.h"
#include "region.h"

#include <errno.h>
#include <signal.h>
#include <string.h>
#include <sys/mman.h>

#include "sys.h"

struct region_block {
	size_t cap;			/* entries that fit */
	size_t n;			/* entries in use */
	size_t bytes;			/* size of this mapping */
	struct region_block *retired;	/* the next older block */
	struct region v[];
};

struct region_table lof_regions;

/* ------------------------------------------------------------------ */
/* Readers                                                             */
/* ------------------------------------------------------------------ */

/*
 * Wait for an even sequence and return it.
 * Context: any, including the SIGSEGV handler (async-signal-safe).
 */
static unsigned int read_begin(const struct region_table *ct)
{
	/* Readers only ever count themselves in waiters. */
	struct region_table *t = (struct region_table *)ct;
	unsigned int s, spins = 0;

	while ((s = __atomic_load_n(&t->seq, __ATOMIC_ACQUIRE)) & 1) {
		/*
		 * A writer is inside its update: a few stores, unless it
		 * was preempted there. Then sleep until it is done.
		 */
		if (++spins > 64) {
			__atomic_fetch_add(&t->waiters, 1, __ATOMIC_SEQ_CST);
			sys_futex_wait(&t->seq, s, 1000000);
			__atomic_fetch_sub(&t->waiters, 1, __ATOMIC_SEQ_CST);
		} else {
			cpu_relax();
		}
	}
	return s;
}

static int read_retry(const struct region_table *t, unsigned int s)
{
	__atomic_thread_fence(__ATOMIC_ACQUIRE);
	return __atomic_load_n(&t->seq, __ATOMIC_RELAXED) != s;
}

/* Index of the last entry with start <= addr, or -1. */
static long search(const struct region_block *b, size_t n, uintptr_t addr)
{
	long lo = 0, hi = (long)n - 1, found = -1;

	while (lo <= hi) {
		long mid = lo + (hi - lo) / 2;
		uintptr_t s = __atomic_load_n(&b->v[mid].start, __ATOMIC_RELAXED);

		if (s <= addr) {
			found = mid;
			lo = mid + 1;
		} else {
			hi = mid - 1;
		}
	}
	return found;
}

/* Entries in use, bounded by the block's capacity (torn reads). */
static size_t used(const struct region_block *b)
{
	size_t n = __atomic_load_n(&b->n, __ATOMIC_RELAXED);

	return n < b->cap ? n : b->cap;
}

int region_next(struct region_table *t, uintptr_t addr, struct region *out)
{
	for (;;) {
		unsigned int s = read_begin(t);
		struct region_block *b = __atomic_load_n(&t->blk, __ATOMIC_ACQUIRE);
		int found = 0;

		if (b) {
			size_t n = used(b);
			long i = search(b, n, addr);

			/* The entry at or before addr, else the one after it. */
			if (i >= 0 && b->v[i].end > addr) {
				*out = b->v[i];
				found = 1;
			} else if ((size_t)(i + 1) < n) {
				*out = b->v[i + 1];
				found = 1;
			}
		}
		if (!read_retry(t, s))
			return found;
	}
}

int region_lookup(struct region_table *t, uintptr_t addr, struct region *out)
{
	return region_next(t, addr, out) && out->start <= addr;
}

int region_overlaps(struct region_table *t, uintptr_t start, uintptr_t end)
{
	struct region r;

	return region_next(t, start, &r) && r.start < end;
}

int region_was_removed(struct region_table *t, uintptr_t addr)
{
	for (;;) {
		unsigned int s = read_begin(t);
		unsigned int n = t->ntombs < REGION_TOMBS ? t->ntombs : REGION_TOMBS;
		int hit = 0;

		for (unsigned int i = 0; i < n; i++) {
			if (addr >= t->tombs[i].start && addr < t->tombs[i].end)
				hit = 1;
		}
		if (!read_retry(t, s))
			return hit;
	}
}

unsigned long region_gen(struct region_table *t)
{
	return __atomic_load_n(&t->seq, __ATOMIC_ACQUIRE);
}

void region_set_hint(struct region_table *t, uintptr_t addr, uint32_t hint,
		     uint32_t seen, uintptr_t last)
{
	struct region_block *b = __atomic_load_n(&t->blk, __ATOMIC_ACQUIRE);
	long i;

	if (!b)
		return;
	/*
	 * No sequence check: the hint is advisory. A store that lands on a
	 * neighbour moved by a concurrent writer only skews its next batch.
	 */
	i = search(b, used(b), addr);
	if (i >= 0 && addr < __atomic_load_n(&b->v[i].end, __ATOMIC_RELAXED)) {
		__atomic_store_n(&b->v[i].hint, hint, __ATOMIC_RELAXED);
		__atomic_store_n(&b->v[i].seen, seen, __ATOMIC_RELAXED);
		__atomic_store_n(&b->v[i].last, last, __ATOMIC_RELAXED);
	}
}

/* ------------------------------------------------------------------ */
/* Writers                                                             */
/* ------------------------------------------------------------------ */

static void write_begin(struct region_table *t)
{
	__atomic_store_n(&t->seq, t->seq + 1, __ATOMIC_RELAXED);
	__atomic_thread_fence(__ATOMIC_RELEASE);
}

static void write_end(struct region_table *t)
{
	__atomic_store_n(&t->seq, t->seq + 1, __ATOMIC_SEQ_CST);
	if (__atomic_load_n(&t->waiters, __ATOMIC_SEQ_CST))
		sys_futex_wake(&t->seq);
}

/*
 * Make room for n + extra entries, growing into a new block if needed.
 * Return: 0 or -ENOMEM.
 */
static int reserve(struct region_table *t, size_t extra)
{
	struct region_block *old = t->blk, *nb;
	size_t need = (old ? old->n : 0) + extra;
	size_t bytes = old ? old->bytes * 2 : 4 * lof_page_size;
	long p;

	if (old && need <= old->cap)
		return 0;
	while ((bytes - sizeof(*nb)) / sizeof(struct region) < need)
		bytes *= 2;
	p = sys_mmap(NULL, bytes, PROT_READ | PROT_WRITE,
		     MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p < 0 && p > -4096)
		return -ENOMEM;
	/* Ours, not the program's: see region_unlock_self(). */
	sys_munlock((void *)p, bytes);
	nb = (struct region_block *)p;
	nb->bytes = bytes;
	nb->cap = (bytes - sizeof(*nb)) / sizeof(struct region);
	nb->n = old ? old->n : 0;
	nb->retired = old;
	if (old)
		memcpy(nb->v, old->v, old->n * sizeof(struct region));
	write_begin(t);
	__atomic_store_n(&t->blk, nb, __ATOMIC_RELEASE);
	write_end(t);
	return 0;
}

/* Index of the first entry with end > addr (n if none). */
static size_t first_after(const struct region_block *b, uintptr_t addr)
{
	size_t lo = 0, hi = b->n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (b->v[mid].end > addr)
			hi = mid;
		else
			lo = mid + 1;
	}
	return lo;
}

static void insert_at(struct region_block *b, size_t i, const struct region *r)
{
	memmove(&b->v[i + 1], &b->v[i], (b->n - i) * sizeof(*r));
	b->v[i] = *r;
	b->n++;
}

static void delete_at(struct region_block *b, size_t i, size_t count)
{
	memmove(&b->v[i], &b->v[i + count],
		(b->n - i - count) * sizeof(struct region));
	b->n -= count;
}

/* Split the entry strictly containing addr in two. Needs 1 free slot. */
static void split_at(struct region_block *b, uintptr_t addr)
{
	size_t i = first_after(b, addr);
	struct region r;

	if (i == b->n || b->v[i].start >= addr)
		return;
	r = b->v[i];
	b->v[i].end = addr;
	r.start = addr;
	insert_at(b, i + 1, &r);
}

static int mergeable(const struct region *a, const struct region *b)
{
	return a->end == b->start && a->prot == b->prot &&
	       a->flags == b->flags && a->ino == b->ino &&
	       a->base == b->base;
}

/* Merge touching equal entries whose index lies in [lo, hi]. */
static void merge_range(struct region_block *b, size_t lo, size_t hi)
{
	size_t k = lo ? lo : 1;

	while (k < b->n && k <= hi) {
		if (mergeable(&b->v[k - 1], &b->v[k])) {
			b->v[k - 1].end = b->v[k].end;
			delete_at(b, k, 1);
			hi--;
		} else {
			k++;
		}
	}
}

/* Delete the entries inside [start, end); boundaries must be split. */
static size_t cut(struct region_block *b, uintptr_t start, uintptr_t end)
{
	size_t i = first_after(b, start), j = i;

	while (j < b->n && b->v[j].end <= end)
		j++;
	delete_at(b, i, j - i);
	return i;
}

static void add_tomb(struct region_table *t, uintptr_t start, uintptr_t end)
{
	struct region_tomb *tomb = &t->tombs[t->ntombs % REGION_TOMBS];

	tomb->start = start;
	tomb->end = end;
	t->ntombs++;
}

/* Does an entry strictly contain addr (so a change there splits it)? */
static int inside(const struct region_block *b, uintptr_t addr)
{
	size_t i;

	if (!b)
		return 0;
	i = first_after(b, addr);
	return i < b->n && b->v[i].start < addr;
}

/*
 * Entries a change of [start, end) splits: removing or reprotecting
 * whole entries needs no room, so it can never fail (issue 12 l).
 */
static size_t splits(const struct region_table *t, uintptr_t start,
		     uintptr_t end)
{
	return (size_t)inside(t->blk, start) + (size_t)inside(t->blk, end);
}

/*
 * Begin a change of [start, end): room for extra entries, the sequence
 * made odd, and entries straddling either end split there.
 * Return: the block, or NULL if the table cannot grow (nothing begun).
 */
static struct region_block *begin_range(struct region_table *t,
					uintptr_t start, uintptr_t end,
					size_t extra)
{
	struct region_block *b;

	if (reserve(t, extra))
		return NULL;
	b = t->blk;
	write_begin(t);
	split_at(b, start);
	split_at(b, end);
	return b;
}

int region_insert(struct region_table *t, uintptr_t start, uintptr_t end,
		  int prot, unsigned int flags)
{
	return region_insert_file(t, start, end, prot, flags, 0, 0);
}

int region_insert_file(struct region_table *t, uintptr_t start,
		       uintptr_t end, int prot, unsigned int flags,
		       unsigned long ino, uintptr_t base)
{
	struct region r = { .start = start, .end = end, .prot = prot,
			    .flags = flags, .ino = ino, .base = base };
	struct region_block *b;
	size_t i;

	/* An empty entry would never leave the table (region_remove). */
	if (end <= start)
		return -EINVAL;
	b = begin_range(t, start, end, 3);
	if (!b)
		return -ENOMEM;
	i = cut(b, start, end);
	insert_at(b, i, &r);
	merge_range(b, i, i + 1);
	write_end(t);
	return 0;
}

int region_remove(struct region_table *t, uintptr_t start, uintptr_t end)
{
	struct region_block *b;

	if (!t->blk || !region_overlaps(t, start, end))
		return 0;
	b = begin_range(t, start, end, splits(t, start, end));
	if (!b)
		return -ENOMEM;
	cut(b, start, end);
	add_tomb(t, start, end);
	write_end(t);
	return 0;
}

int region_protect(struct region_table *t, uintptr_t start, uintptr_t end,
		   int prot)
{
	struct region_block *b;
	size_t i, j;

	if (!t->blk || !region_overlaps(t, start, end))
		return 0;
	b = begin_range(t, start, end, splits(t, start, end));
	if (!b)
		return -ENOMEM;
	i = first_after(b, start);
	for (j = i; j < b->n && b->v[j].start < end; j++)
		b->v[j].prot = prot;
	merge_range(b, i, j);
	write_end(t);
	return 0;
}

size_t region_collect(struct region_table *t, uintptr_t start, uintptr_t end,
		      struct region *out, size_t max)
{
	struct region_block *b = t->blk;
	size_t i, count = 0;

	if (!b)
		return 0;
	for (i = first_after(b, start); i < b->n && b->v[i].start < end; i++) {
		if (count < max) {
			out[count] = b->v[i];
			if (out[count].start < start)
				out[count].start = start;
			if (out[count].end > end)
				out[count].end = end;
		}
		count++;
	}
	return count;
}

size_t region_count(struct region_table *t)
{
	return t->blk ? t->blk->n : 0;
}

void region_clear(struct region_table *t)
{
	struct region_block *b = t->blk;

	if (!b || !b->n)
		return;
	write_begin(t);
	for (size_t i = 0; i < b->n; i++)
		add_tomb(t, b->v[i].start, b->v[i].end);
	b->n = 0;
	write_end(t);
}

void region_unlock_self(struct region_table *t)
{
	for (struct region_block *b = t->blk; b; b = b->retired)
		sys_munlock(b, b->bytes);
}

int region_is_self(struct region_table *t, uintptr_t start, uintptr_t end)
{
	for (struct region_block *b = t->blk; b; b = b->retired) {
		uintptr_t s = (uintptr_t)b, e = s + b->bytes;

		if (start < e && end > s)
			return 1;
	}
	return 0;
}
