/*
 * fault.c - the user-space engine's fault path: the SIGSEGV handler,
 * the grace period that keeps it from acting on entries a writer has
 * handed back, and the opening of system-call buffers.
 *
 * Everything in this file can run in the SIGSEGV handler, on any
 * thread, at any moment: it never calls malloc, stdio or a lock, and
 * check-handler-symbols.sh inspects this object alone.
 *
 * The first touch of a pending page raises SIGSEGV (SEGV_ACCERR). The
 * handler finds the entry, checks the access is one the program's own
 * protection allows, and mprotects a batch around the fault back to
 * that protection: one system call. The batch is an aligned block,
 * clipped to the entry, so it never leaves the mapping or crosses a
 * change of protection, and neighbouring batches merge back into one
 * kernel mapping. Over the kernel's lock-on-fault the kernel then locks
 * each page of the batch as it is touched; in batch-lock mode the
 * handler locks the batch itself (sigsegv.h).
 *
 * Anything else goes to the program (sigchain.c), after two checks
 * that keep races from being taken for the program's own faults:
 *  - a fault in a range another thread just took out of the table
 *    (munlock, munmap) is retried once: the page is accessible or gone
 *    by now, and the retry shows which;
 *  - a fault the engine already resolved, at the same address with the
 *    table unchanged, is the program's (a write to a read-only page on
 *    an architecture that does not say which access faulted).
 *
 * The grace period. The handler acts on a copy of an entry: between
 * its lookup and its mprotect, another thread may take the entry out
 * of the table and let the program change that memory (mprotect it,
 * unmap it and map something else there). Readers that act on what
 * they read announce themselves in grace_active[epoch & 1]; a writer
 * that removed entries flips the epoch and waits until no reader of the
 * old epoch is left before the program's change goes to the kernel. New
 * readers count on the other slot, so a stream of faults cannot hold a
 * writer up. Readers run with asynchronous signals blocked, so no
 * writer can ever wait for a reader on its own thread.
 *
 * If an mprotect in the handler fails for want of kernel mappings
 * (vm.max_map_count), the whole entry is resolved in one call, which
 * merges mappings rather than splitting them: a fault never fails.
 */
#include "config.h"
#include "sigsegv.h"
#include "engine.h"

#include <errno.h>
#include <sys/mman.h>

#include "arch.h"
#include "batch.h"
#include "log.h"
#include "options.h"
#include "region.h"
#include "sigchain.h"
#include "stats.h"
#include "sys.h"

int sig_batch_lock;
int sig_emulate;
int sig_charge;
LOF_TLS unsigned int lof_in_engine;
unsigned int sig_unsettled;
unsigned int sig_unsettled_waiters;

/*
 * The mapping budget: vm.max_map_count, read at init, and an estimate
 * of the mappings in use: those the process had at init plus two for
 * every batch opened from pending (a batch inside a pending range
 * splits it in three). Merges make the estimate high, never low. A
 * write that only widens a batch a read opened read-only (emulation)
 * splits nothing new and is not counted.
 */
static unsigned long map_limit, map_base;
static unsigned long opens;

void sig_budget_init(unsigned long limit, unsigned long base)
{
	map_limit = limit;
	map_base = base;
}

/*
 * msync(MS_INVALIDATE) is refused with EBUSY on a VM_LOCKED mapping,
 * on every kernel, and does nothing else (only MS_SYNC writes back);
 * ENOMEM means a hole. Callers probe a page.
 * Context: any, including the SIGSEGV handler (async-signal-safe).
 */
int sig_still_locked(uintptr_t addr, size_t len)
{
	return sig_batch_lock ||
	       sys_msync((void *)addr, len, MS_INVALIDATE) == -EBUSY;
}

/* Context: any, including the SIGSEGV handler (async-signal-safe). */
void sig_lock_opened(uintptr_t addr, size_t len)
{
	int r = sig_emulate ? sys_mlock((void *)addr, len)
			    : sys_mlock2((void *)addr, len, MLOCK_ONFAULT);

	if (r) {
		stat_add(failures, 1);
		log_warn_once("cannot lock %p-%p (errno %d): left unlocked",
			      (void *)addr, (void *)(addr + len), -r);
	}
}

/* ------------------------------------------------------------------ */
/* The grace period                                                    */
/* ------------------------------------------------------------------ */

static unsigned int grace_epoch;
static unsigned int grace_active[2];
static unsigned int grace_waiting;	/* a writer sleeps on grace_active */

/* Context: any, including the SIGSEGV handler (async-signal-safe). */
static unsigned int reader_enter(void)
{
	for (;;) {
		unsigned int e = __atomic_load_n(&grace_epoch, __ATOMIC_SEQ_CST);

		__atomic_fetch_add(&grace_active[e & 1], 1, __ATOMIC_SEQ_CST);
		if (__atomic_load_n(&grace_epoch, __ATOMIC_SEQ_CST) == e)
			return e;
		__atomic_fetch_sub(&grace_active[e & 1], 1, __ATOMIC_SEQ_CST);
	}
}

/* Context: any, including the SIGSEGV handler (async-signal-safe). */
static void reader_exit(unsigned int e)
{
	if (__atomic_sub_fetch(&grace_active[e & 1], 1, __ATOMIC_SEQ_CST) == 0 &&
	    __atomic_load_n(&grace_waiting, __ATOMIC_SEQ_CST))
		sys_futex_wake(&grace_active[e & 1]);
}

/*
 * Spin briefly (a reader's section is a lookup and one mprotect), then
 * sleep on the count until the last reader of the old epoch wakes us:
 * a reader preempted by a real-time writer on its CPU must get to run.
 */
void sig_wait_for_readers(void)
{
	unsigned int e = __atomic_fetch_add(&grace_epoch, 1, __ATOMIC_SEQ_CST);
	unsigned int *active = &grace_active[e & 1], n, spins = 0;

	while ((n = __atomic_load_n(active, __ATOMIC_SEQ_CST)) != 0) {
		if (++spins <= 128) {
			cpu_relax();
			continue;
		}
		__atomic_store_n(&grace_waiting, 1, __ATOMIC_SEQ_CST);
		if (__atomic_load_n(active, __ATOMIC_SEQ_CST) == n)
			sys_futex_wait(active, n, 1000000);
	}
	__atomic_store_n(&grace_waiting, 0, __ATOMIC_RELAXED);
}

void sig_readers_reset(void)
{
	grace_active[0] = grace_active[1] = 0;
}

/* ------------------------------------------------------------------ */
/* The handler                                                         */
/* ------------------------------------------------------------------ */

/* Per thread: the last page resolved, and the last miss retried. */
static LOF_TLS uintptr_t last_page;
static LOF_TLS unsigned long last_gen;
static LOF_TLS int last_prot;	/* what the last batch was opened to */
static LOF_TLS unsigned int last_again; /* faults at it since */

/*
 * How many times the same page may fault again, with the table
 * unchanged, before the fault is the program's. One is enough where
 * opening a batch is final; in emulation another thread's read may
 * open a batch read-only over a page this one just opened writable
 * (fault.c, the read-only opening), and the write faults once more.
 */
#define AGAIN_MAX 8
static LOF_TLS uintptr_t tomb_page;
static LOF_TLS unsigned long tomb_gen;

enum { NOT_OURS, HANDLED };

static int permits(int prot, int access)
{
	switch (access) {
	case LOF_ACCESS_WRITE:
		return prot & PROT_WRITE;
	case LOF_ACCESS_EXEC:
		return prot & PROT_EXEC;
	default:
		return prot != PROT_NONE;
	}
}

/*
 * Did a writer act since this fault began (seq, gen), or is it acting
 * now? Then the page may be ours, about to be opened, locked or
 * released: sleep until an unsettled window closes, and let the access
 * run again; it succeeds, or faults anew and is judged on a settled
 * table.
 * Context: the SIGSEGV handler (async-signal-safe).
 */
static int unsettled(unsigned int seq, unsigned long gen)
{
	unsigned int now = __atomic_load_n(&sig_unsettled, __ATOMIC_ACQUIRE);

	if (!(seq & 1) && seq == now && gen == region_gen(&lof_regions))
		return 0;
	stat_add(retries, 1);
	if (now & 1) {
		__atomic_fetch_add(&sig_unsettled_waiters, 1, __ATOMIC_SEQ_CST);
		sys_futex_wait(&sig_unsettled, now, 1000000);
		__atomic_fetch_sub(&sig_unsettled_waiters, 1, __ATOMIC_SEQ_CST);
	}
	return 1;
}

/*
 * A fault we cannot explain may still be a race with another thread
 * that just released the page: let it run again, once per page and
 * table generation; the second time it is the program's.
 * Context: the SIGSEGV handler (async-signal-safe).
 */
static int retry_once(uintptr_t page, unsigned long gen)
{
	if (tomb_page == page && tomb_gen == gen)
		return NOT_OURS;
	tomb_page = page;
	tomb_gen = gen;
	stat_add(retries, 1);
	return HANDLED;
}

/*
 * How far the mapping budget widens batches now (batch_budget_shift).
 * Context: the SIGSEGV handler (async-signal-safe).
 */
static unsigned int budget_shift(void)
{
	return batch_budget_shift(map_base + 2 * __atomic_load_n(
			&opens, __ATOMIC_RELAXED), map_limit);
}

/*
 * Does opening a batch of the entry r lock all of it, touched or not?
 * In batch-lock mode it is locked on purpose; in emulation, the
 * kernel's mprotect populates a VM_LOCKED private range that becomes
 * writable. Such batches grow only on sequential faults, and in
 * emulation (where locking populates) start at LOCKONFAULT_LOCK_BATCH.
 * Context: the SIGSEGV handler (async-signal-safe).
 */
static int batch_locks(const struct region *r)
{
	return sig_batch_lock ||
	       (sig_emulate && !(r->flags & REGION_SHARED) &&
		(r->prot & PROT_WRITE));
}

/*
 * Emulation, a private file mapping: a page the program has not written
 * must keep showing the file (writes through other mappings of it, a
 * write(2) to it), as under the kernel's lock-on-fault, where a read
 * maps the page cache page and only a write copies the page. Opening a
 * batch writable would have the kernel's mprotect populate it with
 * private copies, so reads open such entries read-only (whatever the
 * mapping budget) and a write opens the page written alone.
 * Context: the SIGSEGV handler (async-signal-safe).
 */
static int cow_exact(const struct region *r)
{
	return sig_emulate && batch_locks(r) && (r->flags & REGION_FILE);
}

/*
 * The kernel's fault-around window (mm/memory.c, do_fault_around) is
 * an aligned block clipped to the mapping at its start; there it keeps
 * its size from the mapping's start on, up to the end of the page
 * table. A batch (of the same size) clipped at a region's start is
 * carried on as far, so that a file page's fault-around maps and locks
 * what it does under the kernel's own lock-on-fault (the fuzzer's
 * sigsegv seed 5928: a pwrite(2) from the first page of a locked file
 * mapping, where the kernel locked 16 pages and the engine 6; in the
 * emulation, sim43 seeds 6585 and 9652: a read of the first pages of a
 * locked file mapping 6 and 14 pages into its aligned block). A region
 * starts where its kernel mapping does (region.h), not at a file
 * mapping placed beside it.
 * Context: any, including the SIGSEGV handler (async-signal-safe).
 */
static void around_start(uintptr_t addr, const struct region *r,
			 size_t pages, uintptr_t *b0, uintptr_t *b1)
{
	uintptr_t size = (uintptr_t)batch_pow2_floor(pages ? pages : 1)
			 << lof_page_shift;
	uintptr_t table = (uintptr_t)(lof_page_size / sizeof(uintptr_t)) *
			  lof_page_size;
	uintptr_t hi, end;

	/*
	 * Only where opening a page changes nothing but who maps it: over
	 * the kernel's lock-on-fault, and in emulation where the opening
	 * populates nothing (a shared mapping, or a private one opened
	 * read-only; the caller leaves out the rest: plan, widen). Not in
	 * batch-lock mode, where an opened batch is locked whole.
	 */
	if (sig_batch_lock || *b0 != r->start ||
	    (addr & ~(size - 1)) >= r->start)
		return;
	end = (*b0 | (table - 1)) + 1;	/* this page table's end */
	hi = *b0 + size;
	if (hi > end || hi < *b0)
		hi = end;
	if (hi > r->end || hi < *b0)
		hi = r->end;
	if (hi > *b1)
		*b1 = hi;
}

/*
 * The batch to open around addr in the entry r, and the entry's new
 * batch history in *hist; locks: batch_locks(r), populates: that in
 * emulation (the caller has them already).
 * Context: the SIGSEGV handler (async-signal-safe).
 */
static size_t plan(uintptr_t addr, const struct region *r, unsigned int shift,
		   int locks, int populates, struct batch_hist *hist,
		   uintptr_t *b0, uintptr_t *b1)
{
	struct batch_hist h = { r->hint, r->seen, r->last };
	size_t pages;

	if (populates)
		pages = batch_plan_lock(&h, lof_config.lock_batch,
					lof_config.max_batch, addr,
					lof_page_size, hist);
	else if (locks)
		pages = batch_plan_seq(&h, lof_config.batch,
				       lof_config.max_batch, addr,
				       lof_page_size, hist);
	else
		pages = batch_plan(&h, lof_config.batch, lof_config.max_batch,
				   addr, (r->end - r->start) >> lof_page_shift,
				   lof_page_size, hist);
	if (shift >= BATCH_SHIFT_ALL) {
		/* The last resort: what the kernel's MLOCK_ONFAULT does. */
		log_warn_once("near vm.max_map_count: resolving whole regions");
		*b0 = r->start;
		*b1 = r->end;
	} else if (populates && !shift) {
		/*
		 * From the fault on: a locked batch must not reach behind
		 * it. Under mapping pressure (shift) batches are aligned
		 * again, so that neighbours merge into one kernel mapping.
		 */
		batch_bounds_from(addr, r->start, r->end, pages,
				  lof_page_size, b0, b1);
	} else {
		batch_bounds(addr, r->start, r->end, pages << shift,
			     lof_page_size, b0, b1);
		if (!populates)
			around_start(addr, r, pages << shift, b0, b1);
	}
	return pages;
}

/*
 * Resolve the fault at addr if it is on a pending page; called inside
 * a reader section.
 * Context: the SIGSEGV handler (async-signal-safe).
 * Return: HANDLED (return and let the access run again) or NOT_OURS.
 */
static int fault_locked(uintptr_t addr, void *uc)
{
	unsigned int seq = __atomic_load_n(&sig_unsettled, __ATOMIC_ACQUIRE);
	uintptr_t page = page_down(addr), b0, b1;
	unsigned long gen = region_gen(&lof_regions);
	struct batch_hist hist;
	struct region r;
	size_t pages;
	long long t0;
	unsigned int shift;
	int rc, access, prot, locks, populates, exact;

	if (!region_lookup(&lof_regions, addr, &r)) {
		/*
		 * Another thread may have just released the page. The tombs
		 * say where; past their ring (a large munlockall), any miss
		 * is retried once after the table first lost an entry.
		 */
		if (!lof_regions.ntombs ||
		    (lof_regions.ntombs <= REGION_TOMBS &&
		     !region_was_removed(&lof_regions, addr)))
			return NOT_OURS;
		/*
		 * In emulation a release opens a piece twice, the second
		 * time after the readers that saw it are done (sigsegv.c):
		 * until it has, a page it released may still be closed.
		 */
		if ((seq & 1) && unsettled(seq, gen))
			return HANDLED;
		return retry_once(page, gen);
	}
	access = arch_fault_access(uc);
	if (!permits(r.prot, access))
		return NOT_OURS;
	/*
	 * Emulation: opening private writable memory writable has the
	 * kernel populate and lock it. A read opens it read-only instead:
	 * the kernel maps its zero page there, locks nothing, as a 4.4+
	 * kernel does for a read of an untouched page; the first write
	 * then faults again and opens it writable. Not once the mapping
	 * budget widens batches: a read-only batch beside writable ones
	 * costs kernel mappings of its own.
	 */
	shift = budget_shift();
	locks = batch_locks(&r);
	populates = sig_emulate && locks;
	exact = populates && (r.flags & REGION_FILE);	/* cow_exact() */
	prot = r.prot;
	if (access == LOF_ACCESS_READ && populates && (!shift || exact))
		prot &= ~PROT_WRITE;
	if (last_page == page && last_gen == gen && last_prot == prot &&
	    (!sig_emulate || access == LOF_ACCESS_UNKNOWN ||
	     ++last_again > AGAIN_MAX))
		return NOT_OURS;

	t0 = sys_clock_ns();
	/*
	 * glibc unmaps (free, realloc) without our seeing it: a mapping it
	 * makes there later, a thread stack's guard page say, must not be
	 * opened by the stale entry.
	 */
	if (!sig_still_locked(page, lof_page_size)) {
		/*
		 * Not VM_LOCKED: a stale entry, unless a writer changed
		 * things since this fault began. A release may have
		 * opened the page and unlocked it since the lookup; in
		 * emulation a writer may be between the two steps of a
		 * release or a registration (sig_unsettled is odd).
		 */
		return unsettled(seq, gen) ? HANDLED : NOT_OURS;
	}
	/*
	 * Emulation: a write to a page a read opened read-only finds it
	 * present (the zero page); reopening it writable is no new split.
	 */
	if (prot == r.prot && populates && access == LOF_ACCESS_WRITE &&
	    !exact) {
		unsigned char v = 0;

		if (sys_mincore((void *)page, lof_page_size, &v) || !(v & 1))
			__atomic_fetch_add(&opens, 1, __ATOMIC_RELAXED);
	} else {
		__atomic_fetch_add(&opens, 1, __ATOMIC_RELAXED);
	}
	/*
	 * A read of a private file mapping opens it read-only, which
	 * populates nothing: an aligned batch, as for a shared mapping,
	 * so that the kernel's fault-around maps and locks the page cache
	 * pages around the fault as under its own lock-on-fault (the
	 * fuzzer's sim43 seed 2041: a batch from the fault on cut the
	 * window to the page read). Not in batch-lock mode, where each
	 * batch opened is locked, populated and charged whole.
	 */
	if (exact && !(prot & PROT_WRITE) && !sig_batch_lock)
		pages = plan(addr, &r, shift, 0, 0, &hist, &b0, &b1);
	else
		pages = plan(addr, &r, shift, locks, populates, &hist, &b0,
			     &b1);
	if ((prot & PROT_WRITE) && exact && shift < BATCH_SHIFT_ALL) {
		/* Only the page written is copied (cow_exact). */
		b0 = page;
		b1 = page + lof_page_size;
		pages = 1;
	}
	rc = sys_mprotect((void *)b0, b1 - b0, prot);
	if (rc == -ENOMEM) {
		/* Out of kernel mappings, or unmapped under us. */
		b0 = r.start;
		b1 = r.end;
		rc = sys_mprotect((void *)b0, b1 - b0, prot);
		if (rc == 0)
			log_warn_once("out of kernel mappings (vm.max_map_count): resolving whole regions");
	}
	if (rc) {
		/* Unmapped by another thread: retry once, as for a tomb. */
		stat_add(failures, 1);
		return retry_once(page, gen);
	}
	if (sig_batch_lock)
		sig_lock_opened(b0, b1 - b0);
	if (last_page != page || last_gen != gen || last_prot != prot)
		last_again = 0;
	last_page = page;
	last_gen = gen;
	last_prot = prot;
	region_set_hint(&lof_regions, addr, (uint32_t)pages,
			(uint32_t)hist.seen, b1);
	stat_fault((b1 - b0) >> lof_page_shift,
		   (uint64_t)(sys_clock_ns() - t0));
	return HANDLED;
}

/* Context: the SIGSEGV handler (async-signal-safe). */
static int fault(uintptr_t addr, void *uc)
{
	unsigned int e = reader_enter();
	int r;

	lof_in_engine++;
	r = fault_locked(addr, uc);
	lof_in_engine--;
	reader_exit(e);
	return r;
}

void engine_handler(int sig, siginfo_t *si, void *uc)
{
	int saved = errno;

	if (sig == SIGSEGV && si->si_code == SEGV_ACCERR &&
	    fault((uintptr_t)si->si_addr, uc) == HANDLED) {
		errno = saved;
		return;
	}
	stat_add(faults_passed, 1);
	sigchain_deliver(sig, si, uc);
	errno = saved;
}

/*
 * A buffer is opened in whole aligned batches of LOCKONFAULT_BATCH
 * pages, as the handler opens them: the kernel's fault-around maps the
 * page cache pages around a faulting file page, within its mapping
 * (an aligned window of 64 KiB by default), and locks them in a locked
 * one; an opening clipped to the buffer would keep the pages beside it
 * out of reach (pending), where the kernel's own MLOCK_ONFAULT locks
 * them. Opening more locks nothing more: the kernel locks what it maps.
 * Not where the opening itself locks all it opens: in batch-lock mode,
 * and in emulation a private range opened writable (the kernel's
 * mprotect populates a VM_LOCKED private range that becomes writable):
 * there the buffer's pages only. In emulation a shared mapping, or one
 * opened read-only, is widened too (the fuzzer's sim43 seeds 4064 and
 * 2041: a pwrite(2) from four pages of a shared file mapping locked
 * only those, where the kernel's fault-around locked 32).
 * Context: any, including the SIGSEGV handler (async-signal-safe).
 */
static void widen(const struct region *r, int prot, uintptr_t *lo,
		  uintptr_t *hi)
{
	uintptr_t b0, b1;

	if (sig_batch_lock ||
	    (sig_emulate && !(r->flags & REGION_SHARED) &&
	     (prot & PROT_WRITE)))
		return;
	batch_bounds(*lo, r->start, r->end, lof_config.batch, lof_page_size,
		     &b0, &b1);
	around_start(*lo, r, lof_config.batch, &b0, &b1);
	if (b1 > *hi)
		*hi = b1;
	*lo = b0;
	batch_bounds(*hi - 1, r->start, r->end, lof_config.batch,
		     lof_page_size, &b0, &b1);
	*hi = b1;
}

/*
 * Open the pending pages of [addr, addr + len); ro: the kernel only
 * reads them (write(2), send(2)), so a private file mapping under the
 * emulation is opened read-only (cow_exact).
 *
 * seq: a system call's buffer, which the kernel copies from its start
 * and no further than the first page it cannot reach: a hole (nothing
 * mapped) or a page the program made PROT_NONE. Nothing after a hole is
 * opened: under the emulation opening a private range writable
 * populates it, the file's pages replaced by private copies the
 * kernel's lock-on-fault never makes (the fuzzer's sim43 seed 2497: a
 * pread(2) into a buffer starting a page before a locked private file
 * mapping answers EFAULT and writes nothing). A hole between two
 * entries is found with msync(MS_ASYNC), which answers ENOMEM for
 * one and does nothing else; pages inside an entry are mapped.
 * Context: any, including signal handlers (async-signal-safe).
 */
static void resolve(uintptr_t addr, size_t len, int ro, int seq)
{
	uintptr_t s = page_down(addr), e, at;
	unsigned int epoch;
	struct region r;
	sigset_t saved;

	if (lof_mode != LOF_MODE_SIGSEGV || !len || addr + len < addr)
		return;
	e = page_up(addr + len);
	if (e < s || !region_overlaps(&lof_regions, s, e))
		return;
	sys_block_async(&saved);
	epoch = reader_enter();
	lof_in_engine++;
	/*
	 * Entry by entry, lock-free like the handler. A piece that is
	 * already open costs an mprotect that changes nothing.
	 */
	for (at = s; at < e && region_next(&lof_regions, at, &r) &&
		     r.start < e;
	     at = r.end) {
		uintptr_t lo = r.start > at ? r.start : at;
		uintptr_t hi = r.end < e ? r.end : e;
		long long t0 = sys_clock_ns();
		int prot = r.prot;

		if (seq && lo > at &&
		    sys_msync((void *)at, lo - at, MS_ASYNC) == -ENOMEM)
			break;	/* a hole: the kernel stops there */
		/*
		 * The program's own PROT_NONE stops the kernel too, but an
		 * entry may be out of date where glibc opened that memory
		 * with its own calls: stopping there could hand the program
		 * EFAULT for pages past it. Only holes stop the opening.
		 */
		if (prot == PROT_NONE)
			continue;
		if (ro && cow_exact(&r))
			prot &= ~PROT_WRITE;
		widen(&r, prot, &lo, &hi);
		if (sys_mprotect((void *)lo, hi - lo, prot) == 0) {
			if (sig_batch_lock)
				sig_lock_opened(lo, hi - lo);
			stat_buffer((uint64_t)(sys_clock_ns() - t0));
		} else {
			stat_add(failures, 1);
		}
	}
	lof_in_engine--;
	reader_exit(epoch);
	sys_sigprocmask(SIG_SETMASK, &saved, NULL);
}

void engine_resolve(uintptr_t addr, size_t len)
{
	resolve(addr, len, 0, 1);
}

void engine_resolve_in(uintptr_t addr, size_t len)
{
	resolve(addr, len, 1, 1);
}

void engine_open_range(uintptr_t addr, size_t len)
{
	resolve(addr, len, 0, 0);
}
