/*
 * lockall.c - the user-space engine's mlockall, munlockall and
 * MCL_FUTURE.
 *
 * Over the kernel's lock-on-fault, the kernel is called first with
 * MCL_ONFAULT added, which never changes its answer (EINVAL, EPERM,
 * ENOMEM over the limit) and makes every mapping VM_LOCKED|
 * VM_LOCKONFAULT without populating it.
 *  - MCL_CURRENT: the current mappings come from /proc/self/maps (glibc's
 *    own never pass through our mmap). A large data mapping with no page
 *    resident becomes pending like a locked range. One that holds data
 *    stays with the kernel, which locked its pages and locks the rest as
 *    touched: protecting live data could hand another thread EFAULT in
 *    a system call or a futex wait. Small and ineligible mappings (code,
 *    the stack in use, vdso, our own) are populated, unless the program
 *    asked for MCL_ONFAULT, as the kernel's mlockall would.
 *  - MCL_FUTURE: the kernel's def_flags make every later mapping
 *    lock-on-fault, glibc's internal ones too (malloc's mmap, thread
 *    stacks, brk). Large ones made through our mmap also become pending.
 *
 * In batch-lock mode (no MCL_ONFAULT in the kernel, or CHARGE=touched)
 * the kernel is never given MCL_CURRENT or MCL_FUTURE: it would
 * populate everything, and charge the whole address space. The engine
 * checks the flags as a 4.4+ kernel does, charges as it would
 * (sig_charge only; CHARGE=touched charges batches as they are locked),
 * and then:
 *  - MCL_CURRENT: a large eligible mapping becomes pending, its present
 *    pages locked; the others are locked the ordinary way (populated:
 *    the kernel has no other way), errors ignored as the kernel's
 *    mlockall ignores them. A PROT_NONE reservation (malloc's arenas,
 *    thread stacks before glibc opens them) is marked VM_LOCKED that
 *    way too, so that what glibc opens in it later is locked. In
 *    emulation an entry also remembers it (sig_remember_none), as it
 *    does for later PROT_NONE mappings under MCL_FUTURE: the program's
 *    own mprotect then opens it lazily, never populated.
 *  - MCL_FUTURE: later mappings made through our mmap are locked the
 *    same way (sig_register_future). Those glibc makes inside itself
 *    are found after each allocation (interpose-malloc.c calls
 *    sig_future_cover): a chunk malloc mapped for itself is locked like
 *    a mapping of ours; a small block from a new arena locks the arena's
 *    whole reservation, which marks its PROT_NONE part VM_LOCKED too, so
 *    the kernel locks what malloc opens in it later; brk growth is
 *    locked as it is seen. A new thread locks the part of its stack it
 *    stands on, with a margin below (sig_future_stack). The rest of a
 *    thread's stack is left unlocked: made pending, a signal frame the
 *    kernel writes there could not be delivered, and locked the
 *    ordinary way it would be populated whole.
 * Each mlockall replaces the last, as in the kernel; munlockall opens
 * every pending page and ends MCL_FUTURE.
 */
#include "config.h"
#include "sigsegv.h"

#include <errno.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "altstack.h"
#include "log.h"
#include "maps.h"
#include "options.h"
#include "region.h"
#include "stats.h"
#include "sys.h"

int sig_future;
int sig_future_watch;

/* What sig_future_cover has seen, under the table lock. */
static uintptr_t heap_lo, brk_seen;	/* the brk heap, locked to brk_seen */
static uintptr_t arenas[64];		/* glibc arenas locked whole */
static unsigned int narenas;

/* glibc's HEAP_MAX_SIZE: arenas are reserved at this size and alignment. */
#define ARENA_SIZE ((uintptr_t)(sizeof(long) == 8 ? 64 : 1) << 20)
/* Allocations this large may have a mapping of their own. */
#define COVER_LARGE (64UL << 10)
/* How far below the stack pointer a new thread's stack is locked. */
#define STACK_MARGIN (64UL << 10)

/*
 * Does any page of the mapping hold data, in memory or in the page
 * cache? mincore() answers in chunks, from a vector on the stack.
 */
static int resident(uintptr_t start, uintptr_t end)
{
	unsigned char vec[1024];
	size_t chunk = sizeof(vec) << lof_page_shift;

	for (uintptr_t at = start; at < end; at += chunk) {
		size_t len = end - at < chunk ? end - at : chunk;

		if (sys_mincore((void *)at, len, vec))
			return 1;	/* cannot tell: leave it alone */
		for (size_t i = 0; i < len >> lof_page_shift; i++)
			if (vec[i] & 1)
				return 1;
	}
	return 0;
}

/*
 * Call fn for the parts of the mapping e that no table entry stands
 * for. A mapping that overlaps the table is not ours as a whole: our
 * pending PROT_NONE and the program's own PROT_NONE beside it become
 * one kernel mapping when their flags agree (in batch-lock mode
 * neither is locked; in emulation both are VM_LOCKED), and the
 * program's part of it must be locked like any other mapping. A
 * PROT_NONE entry (the program's own PROT_NONE, remembered) over
 * memory that is no longer PROT_NONE was opened behind our back
 * (glibc opens its reservations with internal calls): it is dropped,
 * and the part handled afresh. Table lock held.
 */
static int for_unmanaged(const struct maps_entry *e, void *arg,
			 int (*fn)(const struct maps_entry *, void *))
{
	struct maps_entry part = *e;
	struct region r;
	uintptr_t at = e->start;
	int rc;

	while (at < e->end) {
		uintptr_t stop = e->end, next = e->end;

		if (region_next(&lof_regions, at, &r) && r.start < e->end) {
			if (r.prot == PROT_NONE && e->prot != PROT_NONE) {
				uintptr_t lo = r.start > at ? r.start : at;
				uintptr_t hi = r.end < e->end ? r.end : e->end;

				region_remove(&lof_regions, lo, hi);
				continue;	/* look again from at */
			}
			stop = r.start > at ? r.start : at;
			next = r.end;
		}
		if (stop > at) {
			part.start = at;
			part.end = stop;
			part.offset = e->offset + (at - e->start);
			rc = fn(&part, arg);
			if (rc)
				return rc;
		}
		at = next;
	}
	return 0;
}

/*
 * One current mapping, after the kernel's mlockall(MCL_CURRENT |
 * MCL_ONFAULT) made it VM_LOCKED|VM_LOCKONFAULT. A large data mapping
 * with nothing in it yet becomes pending. One that holds data is left
 * to the kernel, which already locked its pages and locks the rest as
 * they come: another thread may be inside a system call or a futex
 * wait on that data, and would get EFAULT if it went PROT_NONE under
 * it. Small and ineligible mappings are populated, as the kernel's own
 * mlockall does, when the program did not ask for MCL_ONFAULT.
 */
static int lockall_piece(const struct maps_entry *e, void *arg)
{
	struct reg_ctx *c = arg;
	size_t len = e->end - e->start;
	int ok;

	if (region_overlaps(&lof_regions, e->start, e->end))
		return for_unmanaged(e, arg, lockall_piece);
	ok = sig_eligible(e, c);
	if (ok && len >= lof_config.min_size) {
		if (!resident(e->start, e->end))
			return sig_register_piece(e, c);
		return 0;
	}
	/* The kernel's populate skips what it cannot read, and ignores errors. */
	if (c->populate && e->prot != PROT_NONE)
		sys_mlock((void *)e->start, len);
	return 0;
}

/*
 * CHARGE=touched: lock a run of present pages; a refusal (the limit)
 * is what the mode is for, and leaves them unlocked.
 */
static int lock_run(uintptr_t s, uintptr_t e, void *arg)
{
	(void)arg;
	if (sig_emulate)
		sys_mlock((void *)s, e - s);
	else
		sys_mlock2((void *)s, e - s, MLOCK_ONFAULT);
	return 0;
}

/*
 * Batch-lock mode: one current mapping. Pending pieces keep present
 * pages locked and accessible (sig_register_piece), so data another
 * thread is using stays where it is.
 */
static int lockall_batch_piece(const struct maps_entry *e, void *arg)
{
	struct reg_ctx *c = arg;
	size_t len = e->end - e->start;
	int r;

	if (region_overlaps(&lof_regions, e->start, e->end))
		return for_unmanaged(e, arg, lockall_batch_piece);
	if (len >= lof_config.min_size && sig_eligible(e, c))
		return sig_register_piece(e, c);
	if (e->start < sig_self_hi && e->end > sig_self_lo)
		return 0;	/* our own code and data */
	if (region_is_self(&lof_regions, e->start, e->end) ||
	    altstack_within(e->start, e->end))
		return 0;	/* our own memory */
	/* Emulation: the program's own PROT_NONE, lock-on-fault. */
	if (sig_emulate && e->prot == PROT_NONE &&
	    len >= lof_config.min_size && sig_remember_none(e, c))
		return 0;
	if (sig_batch_lock && c->current && e->prot == PROT_NONE) {
		/*
		 * CHARGE=touched: the program's own PROT_NONE. Locking it
		 * would charge its whole size; an entry remembers instead
		 * that it is under mlockall, so that when the program opens
		 * it (mprotect) it becomes pending, and is locked as it is
		 * touched, as the kernel's MCL_ONFAULT would lock it.
		 */
		if (sig_region_add(e, PROT_NONE) == 0)
			c->added++;
		return 0;
	}
	if (sig_batch_lock && c->current) {
		/*
		 * CHARGE=touched: only what is in use is charged. A mapping
		 * the engine cannot make pending (code, the stack, a small
		 * one) gets its present pages locked, not its whole size:
		 * the shared libraries alone would use up a container's
		 * limit before the program locked anything of its own.
		 * (What appears later, brk growth or a small chunk, is
		 * small and locked whole as it comes.)
		 */
		present_runs(e->start, e->end, lock_run, NULL);
		return 0;
	}
	r = sig_emulate ? sys_mlock((void *)e->start, len) :
		sys_mlock2((void *)e->start, len, MLOCK_ONFAULT);
	if (r && e->prot != PROT_NONE && r != -ENOMEM) {
		stat_add(failures, 1);
		log_warn_once("mlockall: cannot lock %p-%p (errno %d)",
			      (void *)e->start, (void *)e->end, -r);
	}
	return 0;
}

/* The kernel's flag checks for mlockall (mm/mlock.c), before EPERM. */
static int lockall_flags_ok(int flags)
{
	return flags && !(flags & ~(MCL_CURRENT | MCL_FUTURE | MCL_ONFAULT)) &&
	       flags != MCL_ONFAULT;
}

/* Is the page at addr managed, or locked already? */
static int covered(uintptr_t addr)
{
	struct region r;

	return region_lookup(&lof_regions, addr, &r) ||
	       sys_msync((void *)addr, lof_page_size, MS_INVALIDATE) == -EBUSY;
}

/* Lock every mapping in [s, e) not locked yet. Table lock held. */
static void cover_range(uintptr_t s, uintptr_t e)
{
	struct reg_ctx c = { .populate = 0 };

	c.sp = (uintptr_t)__builtin_frame_address(0);
	maps_walk(s, e, lockall_batch_piece, &c);
	if (c.added)
		stat_add(regions, 1);
}

static int find_heap(const struct maps_entry *m, void *arg)
{
	if (strcmp(m->path, "[heap]") == 0) {
		*(uintptr_t *)arg = m->vma_start;
		return 1;
	}
	return 0;
}

/* Start watching: MCL_FUTURE, the kernel not told. Table lock held. */
static void watch_start(void)
{
	uintptr_t lo = 0;

	brk_seen = (uintptr_t)sbrk(0);
	maps_walk(0, UINTPTR_MAX, find_heap, &lo);
	heap_lo = lo ? lo : brk_seen;
	__atomic_store_n(&sig_future_watch, 1, __ATOMIC_RELEASE);
}

static int known_arena(uintptr_t base)
{
	unsigned int n = __atomic_load_n(&narenas, __ATOMIC_ACQUIRE);

	for (unsigned int i = 0; i < n; i++)
		if (arenas[i] == base)
			return 1;
	return 0;
}

static int starts_at(const struct maps_entry *m, void *arg)
{
	*(int *)arg = m->vma_start == m->start;
	return 1;
}

void sig_future_cover(uintptr_t p, size_t n)
{
	uintptr_t s = page_down(p), e = page_up(p + n), cur, base;
	sigset_t saved;
	int arena = 0;

	if (n >= COVER_LARGE) {
		if (covered(s) && covered(e - lof_page_size))
			return;
		region_lock(&saved);
		if (sig_future_watch)
			cover_range(s, e);
		region_unlock(&saved);
		return;
	}
	cur = (uintptr_t)sbrk(0);
	if (p >= heap_lo && p < cur) {
		if (cur <= __atomic_load_n(&brk_seen, __ATOMIC_RELAXED))
			return;
		region_lock(&saved);
		if (sig_future_watch && cur > brk_seen) {
			cover_range(page_down(brk_seen), page_up(cur));
			brk_seen = cur;
		}
		region_unlock(&saved);
		return;
	}
	base = p & ~(ARENA_SIZE - 1);
	if (known_arena(base) || covered(s))
		return;
	region_lock(&saved);
	if (sig_future_watch && !known_arena(base)) {
		maps_walk(base, base + lof_page_size, starts_at, &arena);
		if (arena) {
			/* The reservation, PROT_NONE part included. */
			cover_range(base, base + ARENA_SIZE);
			if (narenas < ARRAY_SIZE(arenas)) {
				arenas[narenas] = base;
				__atomic_store_n(&narenas, narenas + 1,
						 __ATOMIC_RELEASE);
			}
		} else {
			cover_range(s, e);
		}
	}
	region_unlock(&saved);
}

static int stack_vma(const struct maps_entry *m, void *arg)
{
	uintptr_t *b = arg;

	b[0] = m->vma_start;
	b[1] = m->vma_end;
	return 1;
}

void sig_future_stack(uintptr_t sp)
{
	uintptr_t b[2] = { 0, 0 }, lo;
	sigset_t saved;

	region_lock(&saved);
	if (sig_future_watch &&
	    maps_walk(page_down(sp), page_down(sp) + lof_page_size, stack_vma,
		      b) > 0) {
		lo = page_down(sp) - STACK_MARGIN;
		if (lo < b[0] || lo > sp)
			lo = b[0];
		if (sig_emulate)
			sys_mlock((void *)lo, b[1] - lo);
		else
			sys_mlock2((void *)lo, b[1] - lo, MLOCK_ONFAULT);
	}
	region_unlock(&saved);
}

static int lockall_batch(int flags)
{
	struct reg_ctx c = { .populate = 0 };
	sigset_t saved;
	int r;

	if (!lockall_flags_ok(flags))
		return -EINVAL;
	region_lock(&saved);
	/* mlock of no bytes: EPERM if this process may not lock. */
	r = sys_mlock(NULL, 0);
	if (r == 0 && sig_charge && (flags & MCL_CURRENT))
		r = charge_all();
	if (r == 0) {
		sig_future = !!(flags & MCL_FUTURE);
		__atomic_store_n(&sig_future_watch, 0, __ATOMIC_RELEASE);
		if (flags & MCL_CURRENT) {
			c.sp = (uintptr_t)__builtin_frame_address(0);
			c.current = 1;
			maps_walk(0, UINTPTR_MAX, lockall_batch_piece, &c);
			if (c.added)
				stat_add(regions, 1);
		}
		if (sig_future)
			watch_start();
	}
	region_unlock(&saved);
	return r;
}

int sig_mlockall(int flags)
{
	struct reg_ctx c = { .populate = !(flags & MCL_ONFAULT) };
	sigset_t saved;
	int r;

	if (sig_relazy())
		return lockall_batch(flags);
	region_lock(&saved);
	/*
	 * Adding MCL_ONFAULT never changes the kernel's answer: it refuses
	 * 0 and MCL_ONFAULT alone, unknown bits, and a total over
	 * RLIMIT_MEMLOCK for MCL_CURRENT, exactly as for the flags given.
	 */
	r = sys_mlockall(flags | MCL_ONFAULT);
	if (r == 0) {
		/* As in the kernel, each mlockall replaces the last. */
		sig_future = !!(flags & MCL_FUTURE);
		if (flags & MCL_CURRENT) {
			c.sp = (uintptr_t)__builtin_frame_address(0);
			maps_walk(0, UINTPTR_MAX, lockall_piece, &c);
			if (c.added)
				stat_add(regions, 1);
			/* Our memory is not the program's to lock. */
			region_unlock_self(&lof_regions);
			altstack_unlock_all();
		}
	}
	region_unlock(&saved);
	return r;
}

int sig_munlockall(void)
{
	sigset_t saved;
	int r;

	/*
	 * Nothing managed: straight to the kernel, in a fast section so
	 * that no lock call registers a range meanwhile (region-lock.c).
	 */
	if (!region_count(&lof_regions) && !sig_future &&
	    region_fast_enter(&saved)) {
		if (!region_count(&lof_regions) &&
		    !__atomic_load_n(&sig_future, __ATOMIC_RELAXED)) {
			r = sys_munlockall();
			region_fast_exit(&saved);
			return r;
		}
		region_fast_exit(&saved);
	}
	region_lock(&saved);
	sig_release(0, UINTPTR_MAX, 0);
	r = sys_munlockall();
	if (r == 0) {
		sig_future = 0;
		__atomic_store_n(&sig_future_watch, 0, __ATOMIC_RELEASE);
		narenas = 0;
	}
	region_unlock(&saved);
	return r;
}

void sig_register_future(long p, size_t len, int prot, int flags)
{
	struct reg_ctx c = { .populate = 0 };

	if (p < 0 && p > -4096)
		return;
	c.sp = (uintptr_t)__builtin_frame_address(0);
	if (sig_relazy()) {
		maps_walk((uintptr_t)p, page_up((uintptr_t)p + len),
			  lockall_batch_piece, &c);
	} else {
		if (len < lof_config.min_size ||
		    ((prot & PROT_EXEC) && !(flags & MAP_ANONYMOUS)) ||
		    prot == PROT_NONE || (flags & MAP_HUGETLB))
			return;
		maps_walk((uintptr_t)p, page_up((uintptr_t)p + len),
			  sig_register_piece, &c);
	}
	if (c.added)
		stat_add(regions, 1);
}
