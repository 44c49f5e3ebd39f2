/*
 * region.h - the table of managed ranges.
 *
 * A region is a page-aligned range [start, end) whose pages are pending
 * (PROT_NONE in the kernel until resolved) and whose protection, as the
 * program last asked for it, is prot. Entries are sorted, never overlap,
 * and neighbours of one kernel mapping with equal prot and flags are
 * merged, so the entry that contains an address also bounds every batch
 * around it.
 *
 * One kernel mapping: the kernel merges two neighbouring file mappings
 * only where they map one file at contiguous offsets, and its
 * fault-around (mm/memory.c, do_fault_around) never leaves a mapping:
 * its window is clipped at the mapping's start, and carried on from
 * there. Two file mappings placed side by side, one entry, would bound
 * a batch at neither's edge (the fuzzer's sim43 seed 1768: the batch
 * opened around a mapping's first page stopped at an aligned boundary
 * inside it, where the kernel's window ran on to its end). So a file
 * entry carries its file (ino) and where the file's offset 0 would be
 * mapped (base: start - offset), which are the same for every piece of
 * one mapping, however it is split. Entries without an inode (private
 * anonymous memory: no fault-around there) carry 0 for both; shared
 * anonymous memory has one in maps, a mapping of its own each.
 *
 * Writers serialize on the table's mutex with signals blocked; readers,
 * the SIGSEGV handler above all, never block or allocate: see region.c.
 */
#ifndef LOF_REGION_H
#define LOF_REGION_H

#include <signal.h>
#include <stddef.h>
#include <stdint.h>

#include "internal.h"

/* Region flags. */
#define REGION_SHARED 0x1u	/* MAP_SHARED mapping */
#define REGION_FILE 0x2u	/* backed by a file (an inode in maps) */

struct region {
	uintptr_t start;
	uintptr_t end;
	int prot;		/* what the program asked for, PROT_* */
	unsigned int flags;	/* REGION_* */
	unsigned long ino;	/* the inode in maps; 0: none */
	uintptr_t base;		/* start - file offset; 0: no inode */
	/*
	 * Batch hints, written by the handler with relaxed stores and
	 * read back clamped: a lost or misplaced update costs a fault at
	 * most, never correctness.
	 */
	uint32_t hint;		/* pages of this entry's last batch */
	uint32_t seen;		/* faults taken at hint pages */
	uintptr_t last;		/* end of this entry's last batch */
};

/* A removed range, remembered so that late faults in it are retried. */
struct region_tomb {
	uintptr_t start;
	uintptr_t end;
};

#define REGION_TOMBS 64

struct region_block;

struct region_table {
	struct region_block *blk;	/* published with release stores */
	unsigned int seq;		/* odd while an update is in flight */
	unsigned int waiters;		/* readers asleep on seq */
	struct region_tomb tombs[REGION_TOMBS];
	unsigned int ntombs;		/* total ever written; ring index */
};

/*
 * Non-zero while this thread holds the writer lock or is in a reader
 * section of the fault path (region-lock.c).
 */
extern LOF_TLS unsigned int lof_in_engine;

/* The library's table. */
extern struct region_table lof_regions;

/*
 * Copy the entry containing addr into *out.
 * Context: any, including the SIGSEGV handler (async-signal-safe).
 * Return: 1 if found, 0 if not.
 */
LOF_AS_SAFE int region_lookup(struct region_table *t, uintptr_t addr,
			      struct region *out);

/*
 * Copy the first entry that ends after addr (the one containing addr,
 * or the next one) into *out.
 * Context: any, including the SIGSEGV handler (async-signal-safe).
 * Return: 1 if there is one, 0 if not.
 */
LOF_AS_SAFE int region_next(struct region_table *t, uintptr_t addr,
			    struct region *out);

/*
 * Does any entry intersect [start, end)? A lock-free hint: callers
 * that change the table take the lock and look again.
 * Context: any, including the SIGSEGV handler (async-signal-safe).
 */
LOF_AS_SAFE int region_overlaps(struct region_table *t, uintptr_t start,
				uintptr_t end);

/*
 * Was addr in a range removed from the table recently?
 * Context: any, including the SIGSEGV handler (async-signal-safe).
 */
LOF_AS_SAFE int region_was_removed(struct region_table *t, uintptr_t addr);

/* The generation: the sequence count, changed by every update. */
LOF_AS_SAFE unsigned long region_gen(struct region_table *t);

/*
 * Record a batch hint for the entry containing addr (see struct region).
 * Context: any, including the SIGSEGV handler (async-signal-safe).
 */
LOF_AS_SAFE void region_set_hint(struct region_table *t, uintptr_t addr,
				 uint32_t hint, uint32_t seen, uintptr_t last);

/*
 * The writer lock: a mutex taken with every signal blocked except the
 * synchronous ones, so no handler on this thread can re-enter a writer.
 * Context: not in a signal handler.
 */
void region_lock(sigset_t *saved);
void region_unlock(const sigset_t *saved);

/*
 * A fast section (region-lock.c): for a call that skips the writer
 * lock when the table holds nothing in its range. Return 1 inside it:
 * no writer runs, and no entry is added, until region_fast_exit();
 * then look at the table, and make the call or leave. Return 0 when a
 * writer holds the lock (nothing to exit): take the lock instead.
 * Context: not in a signal handler.
 */
int region_fast_enter(sigset_t *saved);
void region_fast_exit(const sigset_t *saved);

/*
 * For pthread_atfork: hold the lock across fork, release in the parent
 * (region_atfork_release) and in the child (region_atfork_child).
 */
void region_atfork_prepare(void);
void region_atfork_release(void);
void region_atfork_child(void);

/*
 * The writers below must hold the lock (tests, single-threaded, need
 * not). Ranges are page-aligned.
 */

/*
 * Add [start, end) with prot and flags, replacing what the table held
 * there and merging with equal neighbours; region_insert_file for a
 * piece of the mapping of file ino at base (see struct region).
 * Return: 0, or -ENOMEM if the table cannot grow (table unchanged).
 */
int region_insert(struct region_table *t, uintptr_t start, uintptr_t end,
		  int prot, unsigned int flags);
int region_insert_file(struct region_table *t, uintptr_t start,
		       uintptr_t end, int prot, unsigned int flags,
		       unsigned long ino, uintptr_t base);

/*
 * Remove [start, end), splitting entries that straddle its ends, and
 * remember it as a tomb.
 * Return: 0, or -ENOMEM if a split needs room that cannot be had
 * (table unchanged). Removing whole entries never fails.
 */
int region_remove(struct region_table *t, uintptr_t start, uintptr_t end);

/*
 * Set prot on the parts of entries inside [start, end).
 * Return: 0 or -ENOMEM, as region_insert.
 */
int region_protect(struct region_table *t, uintptr_t start, uintptr_t end,
		   int prot);

/*
 * Copy up to max entries intersecting [start, end), clipped to it.
 * Return: the number of intersecting entries (may exceed max).
 */
size_t region_collect(struct region_table *t, uintptr_t start, uintptr_t end,
		      struct region *out, size_t max);

/* Number of entries. */
size_t region_count(struct region_table *t);

/* Drop every entry (munlockall, tests). */
void region_clear(struct region_table *t);

/*
 * Unlock the table's own memory. mlockall() locks it (MCL_CURRENT) and
 * new blocks (MCL_FUTURE) and charges them to the program's
 * RLIMIT_MEMLOCK; it is not the program's memory, and without it the
 * program's VmLck and limit are what they would be without us.
 * Context: table lock held.
 */
void region_unlock_self(struct region_table *t);

/* Does [start, end) intersect the table's own memory? */
int region_is_self(struct region_table *t, uintptr_t start, uintptr_t end);

#endif /* LOF_REGION_H */
