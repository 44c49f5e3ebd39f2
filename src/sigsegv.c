/*
 * sigsegv.c - the user-space engine's lock calls, and the program's own
 * changes of managed ranges (munlock, munmap, mprotect, mmap, mremap).
 *
 * A lock call (mlock, mlock2, mmap with MAP_LOCKED) on a large range,
 * under the table lock:
 *  1. The kernel's answer first. Over the kernel's lock-on-fault the
 *     range gets mlock2(MLOCK_ONFAULT), which charges it against
 *     RLIMIT_MEMLOCK, refuses it with the kernel's errno, locks the
 *     pages already present and locks every page faulted in later. In
 *     batch-lock mode the engine asks the kernel only what costs
 *     nothing (mlock of no bytes: EPERM), charges the range itself
 *     where the kernel cannot (charge.c), and stops at the first hole
 *     with ENOMEM, as the kernel does, keeping what came before it.
 *  2. Each mapping in the range that the engine can safely protect gets
 *     an entry in the region table carrying the program's protection,
 *     and only then is made PROT_NONE: a page is never inaccessible
 *     without an entry that explains it. In batch-lock mode the pages
 *     already present are locked at once and left accessible (what
 *     MLOCK_ONFAULT does to them); only the absent ones become pending.
 *  3. Mappings it cannot protect (code, the stack in use, vdso, devices,
 *     our own memory) are locked the ordinary way, as the call asked.
 *     In emulation the program's own PROT_NONE gets an entry too, with
 *     no access (sig_remember_none), so that its mprotect goes through
 *     the release below and is never populated by the kernel.
 *
 * Order of changes, for the handler's sake (fault.c): a range is added
 * to the table before it is protected, and made accessible before it
 * leaves the table; a mapping that replaces a managed one leaves the
 * table before it is replaced.
 *
 * When the program changes a managed range itself (mprotect, munmap,
 * mremap, MAP_FIXED), the range is released first, made accessible at
 * its old protection and taken out of the table, and then changed.
 * Over the kernel's lock-on-fault it stays VM_LOCKED|VM_LOCKONFAULT, so
 * its pages are still locked as they are touched. In batch-lock mode a
 * range that stays locked (mprotect, mremap) is registered again after
 * the change, its present pages locked and the rest pending: nothing is
 * populated, where the kernel's plain mlock would populate it (a
 * private range made writable, the new part of a grown one).
 *
 * Those changes skip the table lock when the table holds nothing in
 * their range, but only inside a fast section (region-lock.c explains
 * why, issue 12 g): no lock call can register the range between the
 * look at the table and the kernel's answer, so every interleaving
 * with a lock call on another thread is one the kernel could give.
 *
 * Taking part of an entry out of the table splits it, which needs
 * room the table may not get (no memory for a bigger block: issue
 * 12 l). Then the entries cut by the range are opened whole and leave
 * the table whole (table_drop): they are locked the kernel's ordinary
 * way from then on, never left behind with a protection or a mapping
 * the program has since changed.
 */
#include "config.h"
#include "sigsegv.h"
#include "engine.h"

#include <errno.h>
#include <string.h>
#include <sys/mman.h>

#include "altstack.h"
#include "log.h"
#include "maps.h"
#include "options.h"
#include "region.h"
#include "stats.h"
#include "sys.h"

uintptr_t sig_self_lo, sig_self_hi;
uintptr_t sig_libc_lo, sig_libc_hi;

/* Bounds of the pages a call on [addr, addr + len) covers, or -EINVAL. */
static int bounds(const void *addr, size_t len, uintptr_t *s, uintptr_t *e)
{
	uintptr_t a = (uintptr_t)addr;

	if (a + len < a)
		return -EINVAL;
	*s = page_down(a);
	*e = page_up(a + len);
	if (*e < *s || (*e == 0 && len))
		return -EINVAL;
	return 0;
}

/*
 * Enter a fast section for a call on [s, e) that need not take the
 * table lock: the table holds nothing there, and can add nothing until
 * region_fast_exit. Return 0 if the call must take the lock.
 */
static int fast_begin(uintptr_t s, uintptr_t e, sigset_t *saved)
{
	if (region_overlaps(&lof_regions, s, e) || !region_fast_enter(saved))
		return 0;
	if (!region_overlaps(&lof_regions, s, e))
		return 1;
	region_fast_exit(saved);
	return 0;
}

/* ------------------------------------------------------------------ */
/* Releasing ranges (table lock held)                                  */
/* ------------------------------------------------------------------ */

/* Open one mapping of a released piece, whole. Table lock held. */
static int open_piece(const struct maps_entry *m, void *arg)
{
	const struct region *r = arg;

	if (m->prot != PROT_NONE)
		return 0;	/* opened by a fault already */
	return sys_mprotect((void *)m->start, m->end - m->start, r->prot);
}

/* Open what is left of a released piece, mapping by mapping. */
static void reopen(const struct region *r)
{
	if (sys_mprotect((void *)r->start, r->end - r->start, r->prot))
		maps_walk(r->start, r->end, open_piece, (void *)r);
}

/*
 * Open the whole entry r, which the table cannot split, before it
 * leaves the table: its pages stay locked as the kernel locks them
 * (over its lock-on-fault as they are touched; in emulation the
 * kernel's mprotect populates what is private and writable; in
 * batch-lock mode the engine locks what it opens). A stale entry is
 * only dropped, as in sig_release.
 */
static void open_whole(const struct region *r)
{
	if (r->prot == PROT_NONE || !sig_still_locked(r->start, lof_page_size))
		return;
	reopen(r);
	if (sig_batch_lock)
		sig_lock_opened(r->start, r->end - r->start);
}

/*
 * Take [s, e) out of the table (issue 12 l). If that needs a split the
 * table has no room for, the entries cut by s and e are opened whole
 * and taken out whole, which needs no room. Table lock held; the
 * caller waits for readers.
 */
static void table_drop(uintptr_t s, uintptr_t e)
{
	struct region lo, hi;
	int cut_lo, cut_hi;

	if (region_remove(&lof_regions, s, e) == 0)
		return;
	cut_lo = region_lookup(&lof_regions, s, &lo) && lo.start < s;
	cut_hi = region_lookup(&lof_regions, e - 1, &hi) && hi.end > e;
	stat_add(failures, 1);
	log_warn_once("region table full: opening %p-%p whole",
		      (void *)(cut_lo ? lo.start : s),
		      (void *)(cut_hi ? hi.end : e));
	if (cut_lo)
		open_whole(&lo);
	if (cut_hi && !(cut_lo && hi.start == lo.start))
		open_whole(&hi);
	region_remove(&lof_regions, cut_lo ? lo.start : s,
		      cut_hi ? hi.end : e);
	if (sig_emulate) {
		/*
		 * A fault that found an entry before it left may still
		 * open a batch read-only (sig_release): open them again
		 * once it is done.
		 */
		sig_wait_for_readers();
		if (cut_lo && lo.prot != PROT_NONE)
			reopen(&lo);
		if (cut_hi && hi.prot != PROT_NONE)
			reopen(&hi);
	}
}

void sig_forget(uintptr_t s, uintptr_t e)
{
	if (!region_overlaps(&lof_regions, s, e))
		return;
	table_drop(s, e);
	sig_wait_for_readers();
}

/*
 * Make every managed page in [start, end) accessible at the program's
 * protection and drop it from the table. A piece whose mprotect fails
 * (out of kernel mappings) stays in the table: its pages are still
 * resolved on touch, which is all an unlocked page needs. In batch-lock
 * mode, relock locks what is opened, for a caller that changes the
 * range but leaves it locked.
 */
void sig_release(uintptr_t start, uintptr_t end, int relock)
{
	struct region buf[32];
	char opened[32];
	uintptr_t at = start;

	sig_unsettle(1);
	while (at < end) {
		size_t n = region_collect(&lof_regions, at, end, buf,
					  ARRAY_SIZE(buf));
		size_t got = n < ARRAY_SIZE(buf) ? n : ARRAY_SIZE(buf);
		uintptr_t stop = got < n ? buf[got - 1].end : end;

		for (size_t i = 0; i < got; i++) {
			struct region *r = &buf[i];
			struct region whole;

			opened[i] = 0;

			/*
			 * A stale entry (its mapping went away unseen) is
			 * dropped, never opened: what is there now is not
			 * the program's locked memory.
			 */
			if (!sig_still_locked(r->start, lof_page_size)) {
				table_drop(r->start, r->end);
				continue;
			}
			opened[i] = 1;
			/*
			 * Emulation: the piece is VM_LOCKED without
			 * ONFAULT (whole with CHARGE=range; its opened
			 * batches, read-only ones among them, and the
			 * program's own PROT_NONE with CHARGE=touched),
			 * and opening it would have the kernel's mprotect
			 * populate it: a private file mapping's pages read
			 * would become private copies (F8). Unlocked
			 * first, it opens as it is; a caller that keeps it
			 * locked registers it again (relazy).
			 */
			if (sig_emulate)
				sys_munlock((void *)r->start, r->end - r->start);
			if (r->prot == PROT_NONE ||
			    sys_mprotect((void *)r->start, r->end - r->start,
					 r->prot) == 0) {
				if (relock && sig_batch_lock &&
				    r->prot != PROT_NONE)
					sig_lock_opened(r->start,
							r->end - r->start);
				table_drop(r->start, r->end);
			} else if (region_lookup(&lof_regions, r->start, &whole) &&
				   (!sig_emulate ||
				    !sys_munlock((void *)whole.start,
						 whole.end - whole.start)) &&
				   sys_mprotect((void *)whole.start,
						whole.end - whole.start,
						whole.prot) == 0) {
				/*
				 * Out of kernel mappings: opening the whole
				 * entry merges instead of splitting. The rest
				 * of it stays in the table, open and harmless.
				 */
				if (relock && sig_batch_lock)
					sig_lock_opened(whole.start,
							whole.end - whole.start);
				table_drop(r->start, r->end);
			} else if (maps_walk(r->start, r->end, open_piece,
					     r) == 0) {
				/*
				 * Part of it is gone (glibc trims the brk
				 * heap and shrinks arenas with calls we never
				 * see): open what is left, mapping by
				 * mapping, which never splits one.
				 */
				table_drop(r->start, r->end);
			} else {
				stat_add(failures, 1);
				log_warn_once("cannot release %p-%p: left pending",
					      (void *)r->start, (void *)r->end);
			}
		}
		if (sig_emulate && got) {
			/*
			 * Emulation opens a read fault's batch read-only
			 * (fault.c). A handler that found an entry before it
			 * left the table may still be doing so, after our
			 * mprotect: once it is done, open the pieces again.
			 */
			sig_wait_for_readers();
			for (size_t i = 0; i < got; i++)
				if (opened[i] && buf[i].prot != PROT_NONE)
					reopen(&buf[i]);
		}
		if (!n)
			break;
		at = stop;
	}
	sig_unsettle(0);
	sig_wait_for_readers();
}

/* ------------------------------------------------------------------ */
/* Registering ranges (table lock held)                                */
/* ------------------------------------------------------------------ */

static int path_is(const char *path, const char *prefix)
{
	return strncmp(path, prefix, strlen(prefix)) == 0;
}

int sig_eligible(const struct maps_entry *e, const struct reg_ctx *c)
{
	if (e->prot == PROT_NONE)
		return 0;
	/*
	 * Code: the executable text of a loaded object (the program,
	 * ld.so, its libraries, what dlopen loaded), where the program's
	 * signal handlers may run with SIGSEGV blocked. Other executable
	 * memory is data like any other: a JIT's anonymous code cache,
	 * shared anonymous memory (which the kernel shows as a file,
	 * "/dev/zero (deleted)"), and a file the program mapped
	 * executable itself (issue 12 c): a fault there is served as
	 * anywhere else.
	 */
	if ((e->prot & PROT_EXEC) && (e->inode || e->path[0]) &&
	    engine_is_object(e->start, e->end))
		return 0;
	/*
	 * libc's read-only data, locked the ordinary way as its code is.
	 * glibc's own system calls read it where no interposed call can
	 * open it first: posix_spawn blocks every signal with a set in
	 * its .rodata. A pending page there makes the kernel answer
	 * EFAULT, not fault: the old mask is never stored, and the
	 * parent and the child restore stack garbage as their mask
	 * (SIGSEGV blocked: the next touch of a pending page kills).
	 */
	if (!(e->prot & PROT_WRITE) && e->start < sig_libc_hi &&
	    e->end > sig_libc_lo)
		return 0;
	if (path_is(e->path, "[stack") || path_is(e->path, "[vdso") ||
	    path_is(e->path, "[vvar") || path_is(e->path, "[vsyscall") ||
	    path_is(e->path, "[uprobes"))
		return 0;
	/* Devices, but not /dev/zero or shared memory. */
	if (path_is(e->path, "/dev/") && !path_is(e->path, "/dev/zero") &&
	    !path_is(e->path, "/dev/shm/"))
		return 0;
	/* hugetlbfs: protection changes must be huge-page aligned. */
	if (strstr(e->path, "anon_hugepage") || strstr(e->path, "hugepages"))
		return 0;
	/*
	 * Stacks, whichever piece of them, and the TLS the engine runs on:
	 * a fault there inside the engine could not be served (stacks.c).
	 */
	if (sig_runs_on(e, c->sp))
		return 0;
	if (e->start < sig_self_hi && e->end > sig_self_lo)
		return 0;
	if (region_is_self(&lof_regions, e->start, e->end))
		return 0;
	if (altstack_within(e->start, e->end))
		return 0;
	return 1;
}

/*
 * Batch-lock mode: make the absent pages of the entry [start, end)
 * pending and lock the present ones where they are. Gaps shorter than
 * a batch between present pages are locked with them: the handler
 * would open them in one batch anyway, and each gap costs the kernel
 * two mappings. In emulation that batch is LOCKONFAULT_LOCK_BATCH,
 * since there locking a gap populates it.
 */
struct pend_ctx {
	uintptr_t start, end;	/* the entry */
	uintptr_t open_lo, open_hi; /* the run of pages to lock, if any */
	int err;
	int ro;		/* lock runs read-only (lock_run) */
	int prot;	/* the entry's protection */
};

/* A present_anon_runs callback: a private copy stays writable. */
static int reopen_copy(uintptr_t lo, uintptr_t hi, void *arg)
{
	const struct pend_ctx *p = arg;

	sys_mprotect((void *)lo, hi - lo, p->prot);
	return 0;
}

/*
 * Lock a run of present pages. Emulation, a private writable file
 * mapping (ro): plain mlock would populate the run for writing and
 * copy every page the program has not written, which then stops
 * showing the file (fault.c, cow_exact). The run is made read-only
 * first, so the lock maps the file's pages as they are; a write to it
 * faults, and the handler opens the page written. Pages the program
 * wrote already (private copies) stay writable.
 */
static void lock_run(struct pend_ctx *p, uintptr_t lo, uintptr_t hi)
{
	if (p->ro) {
		sys_mprotect((void *)lo, hi - lo, PROT_READ);
		present_anon_runs(lo, hi, reopen_copy, p);
	}
	sig_lock_opened(lo, hi - lo);
}

static int pend_gap(struct pend_ctx *p, uintptr_t lo, uintptr_t hi)
{
	int r;

	if (lo >= hi)
		return 0;
	r = sys_mprotect((void *)lo, hi - lo, PROT_NONE);
	if (r && !p->err)
		p->err = r;
	return 0;
}

static int pend_present(uintptr_t lo, uintptr_t hi, void *arg)
{
	struct pend_ctx *p = arg;
	/*
	 * In emulation locking is plain mlock, which populates the gap:
	 * untouched pages the kernel's MLOCK_ONFAULT leaves absent (issue
	 * 12 f). There the gap is bounded as a locking batch is.
	 */
	size_t gap = (sig_emulate ? lof_config.lock_batch : lof_config.batch)
		     << lof_page_shift;

	if (p->open_hi && lo - p->open_hi < gap) {
		p->open_hi = hi;	/* a short gap: lock it with the run */
		return 0;
	}
	if (p->open_hi) {
		lock_run(p, p->open_lo, p->open_hi);
		pend_gap(p, p->open_hi, lo);
	} else {
		pend_gap(p, p->start, lo);
	}
	p->open_lo = lo;
	p->open_hi = hi;
	return 0;
}

static int pend_absent(const struct maps_entry *e)
{
	uintptr_t start = e->start, end = e->end;
	struct pend_ctx p = {
		.start = start, .end = end,
		.ro = sig_emulate && !e->shared && e->inode &&
		      (e->prot & PROT_WRITE),
		.prot = e->prot,
	};
	int r;

	if (present_runs(start, end, pend_present, &p) < 0) {
		r = sys_mprotect((void *)start, end - start, PROT_NONE);
	} else {
		if (p.open_hi) {
			lock_run(&p, p.open_lo, p.open_hi);
			pend_gap(&p, p.open_hi, end);
		} else {
			pend_gap(&p, start, end);
		}
		r = p.err;
	}
	/*
	 * Emulation: lock the whole piece. The kernel marks it VM_LOCKED
	 * and charges it; its populate stops at the first PROT_NONE page
	 * with EFAULT (ENOMEM here), which is the point.
	 */
	if (r == 0 && sig_charge)
		sys_mlock((void *)start, end - start);
	return r;
}

/*
 * Memory that must never be PROT_NONE though it may lie in a locked
 * range: the top of a stack the program gave a thread, where glibc puts
 * the thread's descriptor and TLS (errno, our own per-thread state). A
 * range locked after the thread started would otherwise take its TLS
 * away from under it, and its first fault could not even be handled
 * (issue 12 k). Written under the table lock.
 */
static struct {
	uintptr_t lo, hi;
} kept[64];
static unsigned int nkept;

void sig_keep_open(uintptr_t lo, uintptr_t hi)
{
	sigset_t saved;

	region_lock(&saved);
	for (unsigned int i = 0; i < nkept; i++)
		if (kept[i].lo == lo && kept[i].hi == hi)
			goto out;
	if (nkept < ARRAY_SIZE(kept)) {
		kept[nkept].lo = lo;
		kept[nkept].hi = hi;
		nkept++;
	} else {
		log_warn_once("too many thread stacks given: the top of %p-%p may be made pending",
			      (void *)lo, (void *)hi);
	}
out:
	region_unlock(&saved);
}

static int lock_ordinary(const struct maps_entry *e, struct reg_ctx *c);

/* Register e around a kept-open zone inside it. Return 1 if it did. */
static int around_kept(const struct maps_entry *e, struct reg_ctx *c)
{
	for (unsigned int i = 0; i < nkept; i++) {
		uintptr_t lo = kept[i].lo > e->start ? kept[i].lo : e->start;
		uintptr_t hi = kept[i].hi < e->end ? kept[i].hi : e->end;
		struct maps_entry part = *e;

		if (lo >= hi)
			continue;
		if (e->start < lo) {
			part.end = lo;
			sig_register_piece(&part, c);
		}
		part = *e;
		part.start = lo;
		part.end = hi;
		part.offset += lo - e->start;
		lock_ordinary(&part, c);
		if (hi < e->end) {
			part = *e;
			part.start = hi;
			part.offset += hi - e->start;
			sig_register_piece(&part, c);
		}
		return 1;
	}
	return 0;
}

/*
 * Emulation: the program's own PROT_NONE in a range locked on fault.
 * Locked with plain mlock alone it would be VM_LOCKED without ONFAULT,
 * and the program's mprotect making a private piece of it writable
 * would then have the kernel populate it (mprotect_fixup), where
 * MLOCK_ONFAULT leaves it absent (the fuzzer's seed 4532). An entry
 * remembers it, as after an mprotect to PROT_NONE (relazy_piece): that
 * mprotect releases it (unlocked first) and registers it again, pending.
 * Not under a plain lock call (c->populate): that one locks the piece
 * the ordinary way, as every engine does (liblockonfault(7), mlock).
 * It is still VM_LOCKED and charged, as the kernel's MLOCK_ONFAULT
 * locks it (its present pages locked, MADV_DONTNEED refused), so that
 * what glibc opens in it with its own calls (an arena) is locked as
 * before; with CHARGE=touched too, as lock_ordinary locks it over the
 * kernel's lock-on-fault, except under mlockall(MCL_CURRENT), which
 * leaves the program's own PROT_NONE unlocked there (lockall.c,
 * liblockonfault(7)).
 * Return 1 if it did. Table lock held.
 */
int sig_remember_none(const struct maps_entry *e, struct reg_ctx *c)
{
	struct maps_entry as_open = *e;

	as_open.prot = PROT_READ;
	if (!sig_eligible(&as_open, c) ||
	    (e->inode && engine_is_object(e->start, e->end)) ||
	    sig_region_add(e, PROT_NONE))
		return 0;
	c->added++;
	if (sig_charge || !c->current)
		sys_mlock((void *)e->start, e->end - e->start);
	return 1;
}

int sig_register_piece(const struct maps_entry *e, void *arg)
{
	struct reg_ctx *c = arg;
	int r;

	if (nkept && around_kept(e, c))
		return 0;

	/* What the kernel's populate would answer, lazily or not. */
	if (c->populate && !c->err && engine_past_eof(e))
		c->err = -ENOMEM;

	if (sig_emulate && !c->populate && e->prot == PROT_NONE &&
	    sig_remember_none(e, c))
		return 0;

	if (sig_eligible(e, c) &&
	    sig_region_add(e, e->prot) == 0) {
		sig_unsettle(1);
		if (!e->shared)	/* its pieces may keep anon_vmas apart */
			sig_scar(e->start, e->end);
		r = sig_relazy() ? pend_absent(e) :
			sys_mprotect((void *)e->start, e->end - e->start,
				     PROT_NONE);
		sig_unsettle(0);
		if (r == 0) {
			c->added++;
			return 0;
		}
		/* Out of kernel mappings: leave it to the kernel. */
		sig_release(e->start, e->end, 0);
		stat_add(failures, 1);
		log_warn_once("cannot protect %p-%p (errno %d): locking it the ordinary way",
			      (void *)e->start, (void *)e->end, -r);
	}
	return lock_ordinary(e, c);
}

/* Lock e as the call asked, without making anything pending. */
static int lock_ordinary(const struct maps_entry *e, struct reg_ctx *c)
{
	int r;

	/*
	 * Over the kernel's lock-on-fault the call locked it already; else
	 * nothing did yet. Without MLOCK_ONFAULT, mlock is the only lock
	 * there is: the piece is populated, and the errors of its populate
	 * (a PROT_NONE piece) are what an ordinary lock would answer.
	 */
	if (c->populate || sig_relazy()) {
		r = c->populate || sig_emulate ?
			sys_mlock((void *)e->start, e->end - e->start) :
			sys_mlock2((void *)e->start, e->end - e->start,
				   MLOCK_ONFAULT);
		if (r && !c->err && (c->populate || !sig_emulate))
			c->err = r;
	}
	return 0;
}

/* Batch-lock mode: register pieces up to the first hole, as the kernel. */
struct walk_ctx {
	struct reg_ctx *c;
	uintptr_t next;		/* where the next piece must start */
};

static int register_contiguous(const struct maps_entry *m, void *arg)
{
	struct walk_ctx *w = arg;

	if (m->start != w->next)
		return -ENOMEM;
	w->next = m->end;
	return sig_register_piece(m, w->c);
}

/*
 * /proc/self/maps could not be read (a sandbox without /proc, no file
 * descriptor left), so nothing of [s, e) was registered. The program
 * must not get ENOENT or EMFILE for a lock the kernel can give: over
 * the kernel's lock-on-fault the range is locked already, lazily, and
 * needs nothing more; otherwise it is locked the ordinary way (where
 * the kernel has no lock-on-fault, populated). Said once.
 */
static int unmanaged(const void *addr, size_t len, uintptr_t s, uintptr_t e,
		     int populate, int why)
{
	int r = 0;

	log_warn_once("cannot read /proc/self/maps (errno %d): lock calls go to the kernel without the engine",
		      -why);
	stat_add(failures, 1);
	if (!sig_relazy())
		return populate ? sys_mlock(addr, len) : 0;
	if (sig_emulate || populate)
		r = sys_mlock(addr, len);
	else
		r = sys_mlock2(addr, len, MLOCK_ONFAULT);
	(void)s;
	(void)e;
	return r;
}

/* A maps_walk callback: how far from its start the range is mapped. */
static int mapped_prefix(const struct maps_entry *m, void *arg)
{
	uintptr_t *next = arg;

	if (m->start != *next)
		return 1;
	*next = m->end;
	return 0;
}

/*
 * Where a lock or unlock call over [s, e) stops: the first hole (the
 * kernel's apply_vma_lock_flags changes mapping after mapping up to it,
 * then answers ENOMEM), else e; e too if the maps cannot be read.
 */
static uintptr_t mapped_upto(uintptr_t s, uintptr_t e)
{
	uintptr_t upto = s;

	if (maps_walk(s, e, mapped_prefix, &upto) < 0)
		return e;
	return upto;
}

/*
 * Make the pages [s, e) lock-on-fault; addr and len as the program gave.
 *
 * Where the engine supplies the lock (sig_relazy), a hole in the range
 * answers ENOMEM as the kernel does, after the kernel's work: its
 * apply_vma_lock_flags locks mapping after mapping up to the hole, so
 * the part before the hole is locked on fault, and nothing is changed
 * when the range starts in a hole.
 */
static int lock_range(const void *addr, size_t len, uintptr_t s, uintptr_t e,
		      int populate)
{
	struct reg_ctx c = { .populate = populate };
	struct walk_ctx w = { .c = &c, .next = s };
	sigset_t saved;
	int r, hole = 0;

	region_lock(&saved);
	if (sig_relazy()) {
		/* mlock of no bytes: EPERM if this process may not lock. */
		r = sys_mlock((void *)s, 0);
		if (r == 0 && sig_charge)
			r = charge_range(s, e);
		if (r == 0) {
			uintptr_t upto = mapped_upto(s, e);

			if (upto < e) {
				hole = 1;
				e = upto;
				if (e == s)
					r = -ENOMEM;
			}
		}
	} else {
		r = sys_mlock2(addr, len, MLOCK_ONFAULT);
	}
	if (r == 0) {
		/* Pieces already managed are registered afresh. */
		sig_release(s, e, 0);
		c.sp = (uintptr_t)__builtin_frame_address(0);
		if (sig_relazy()) {
			r = maps_walk(s, e, register_contiguous, &w);
			if (r == 0 && w.next != e)
				r = -ENOMEM;
		} else {
			r = maps_walk(s, e, sig_register_piece, &c);
		}
		if (r < 0 && r != -ENOMEM && w.next == s && !c.added)
			r = unmanaged(addr, len, s, e, populate, r);
		if (r == 0)
			r = c.err;
		if (r == 0 && hole)
			r = -ENOMEM;
		if (c.added)
			stat_add(regions, 1);
	}
	region_unlock(&saved);
	return r;
}

/*
 * A lock the ordinary way, for a range below LOCKONFAULT_MIN_SIZE or
 * one the engine cannot take. Where the kernel lacks mlock2, mlock
 * stands in for it: same checks, same errors, with pages populated;
 * MLOCK_ONFAULT was checked by the caller.
 */
static int plain_lock(const void *addr, size_t len, unsigned int flags,
		      int is_mlock2)
{
	if (sig_emulate || !is_mlock2)
		return sys_mlock(addr, len);
	return sys_mlock2(addr, len, flags);
}

int sig_mlock(const void *addr, size_t len, unsigned int flags, int is_mlock2)
{
	uintptr_t s, e;
	sigset_t saved;
	int r;

	/* A bad or empty range: the kernel's answer, nothing to manage. */
	if (bounds(addr, len, &s, &e) || s == e)
		return plain_lock(addr, len, flags, is_mlock2);

	if (e - s < lof_config.min_size) {
		if (fast_begin(s, e, &saved)) {
			r = plain_lock(addr, len, flags, is_mlock2);
			region_fast_exit(&saved);
			return r;
		}
		region_lock(&saved);
		sig_release(s, e, 0);
		r = plain_lock(addr, len, flags, is_mlock2);
		region_unlock(&saved);
		return r;
	}
	return lock_range(addr, len, s, e, !(flags & MLOCK_ONFAULT));
}

int sig_munlock(const void *addr, size_t len)
{
	uintptr_t s, e;
	sigset_t saved;
	int r;

	if (bounds(addr, len, &s, &e))
		return sys_munlock(addr, len);
	if (fast_begin(s, e, &saved)) {
		r = sys_munlock(addr, len);
		region_fast_exit(&saved);
		return r;
	}
	region_lock(&saved);
	/*
	 * In emulation the release unlocks what it releases: only up to
	 * a hole, as the kernel's munlock does (lock_range).
	 */
	if (sig_relazy())
		e = mapped_upto(s, e);
	sig_release(s, e, 0);
	r = sys_munlock(addr, len);
	region_unlock(&saved);
	return r;
}

int sig_munmap(void *addr, size_t len)
{
	uintptr_t s = (uintptr_t)addr, e;
	sigset_t saved;
	int r;

	/* Let the kernel refuse what it refuses before we change anything. */
	if ((s & (lof_page_size - 1)) || !len || bounds(addr, len, &s, &e))
		return sys_munmap(addr, len);
	if (fast_begin(s, e, &saved)) {
		r = sys_munmap(addr, len);
		region_fast_exit(&saved);
		return r;
	}
	region_lock(&saved);
	sig_release(s, e, 0);
	r = sys_munmap(addr, len);
	if (r == 0)
		sig_forget(s, e);	/* what release could not open */
	region_unlock(&saved);
	return r;
}

/* ------------------------------------------------------------------ */
/* Batch-lock mode: ranges that stay locked through a change           */
/* ------------------------------------------------------------------ */

/* The managed pieces of a range, remembered across a change. */
struct kept {
	uintptr_t start[64], end[64];
	size_t n;
	int more;		/* more pieces than fit: the whole range */
};

static void keep(struct kept *k, uintptr_t s, uintptr_t e)
{
	struct region buf[64];
	size_t n = region_collect(&lof_regions, s, e, buf, ARRAY_SIZE(buf));

	k->n = 0;
	k->more = n > ARRAY_SIZE(buf);
	for (size_t i = 0; i < n && i < ARRAY_SIZE(buf); i++) {
		k->start[k->n] = buf[i].start > s ? buf[i].start : s;
		k->end[k->n] = buf[i].end < e ? buf[i].end : e;
		/* Join pieces the table keeps apart (prot, flags). */
		if (k->n && k->end[k->n - 1] == k->start[k->n])
			k->end[k->n - 1] = k->end[k->n];
		else
			k->n++;
	}
	if (k->more) {
		k->start[0] = s;
		k->end[0] = e;
		k->n = 1;
	}
}

/* A present_runs callback: lock a run of present pages. */
static int lock_present(uintptr_t lo, uintptr_t hi, void *arg)
{
	(void)arg;
	sys_mlock((void *)lo, hi - lo);
	return 0;
}

/*
 * Register [s, e) again after a change: present pages locked, the
 * rest pending, at the protection the kernel now shows. Nothing is
 * charged: the range was locked already.
 */
static int relazy_piece(const struct maps_entry *m, void *arg)
{
	struct reg_ctx *c = arg;

	if (m->prot == PROT_NONE) {
		/* Nothing to open: an entry keeps it locked for later. */
		if (sig_region_add(m, PROT_NONE) == 0)
			c->added++;
		/*
		 * Emulation: the release unlocked it. With CHARGE=range
		 * it is VM_LOCKED and charged, as before. With
		 * CHARGE=touched what was locked is what was present
		 * (batches opened and locked, pages present at the call):
		 * those pages are locked again, plain mlock of a
		 * PROT_NONE run populating nothing (ENOMEM, ignored), and
		 * the rest is charged once opened and touched.
		 */
		if (sig_charge)
			sys_mlock((void *)m->start, m->end - m->start);
		else if (sig_emulate)
			present_runs(m->start, m->end, lock_present, NULL);
		return 0;
	}
	return sig_register_piece(m, c);
}

static void relazy(uintptr_t s, uintptr_t e)
{
	struct reg_ctx c = { .populate = 0 };

	c.sp = (uintptr_t)__builtin_frame_address(0);
	maps_walk(s, e, relazy_piece, &c);
}

int sig_mprotect(void *addr, size_t len, int prot)
{
	uintptr_t s = (uintptr_t)addr, e;
	struct kept k;
	sigset_t saved;
	int r;

	if ((s & (lof_page_size - 1)) || bounds(addr, len, &s, &e))
		return sys_mprotect(addr, len, prot);
	if (fast_begin(s, e, &saved)) {
		r = sys_mprotect(addr, len, prot);
		region_fast_exit(&saved);
		return r;
	}
	/*
	 * Release first: if the kernel then refuses the new protection
	 * (EACCES, ENOMEM), the pages are left accessible at the old one,
	 * never PROT_NONE with no entry to explain them.
	 */
	region_lock(&saved);
	if (!sig_relazy()) {
		sig_release(s, e, 1);
		r = sys_mprotect(addr, len, prot);
		if (r == 0)
			sig_forget(s, e);
	} else {
		keep(&k, s, e);
		sig_release(s, e, 0);
		r = sys_mprotect(addr, len, prot);
		sig_forget(s, e);
		for (size_t i = 0; i < k.n; i++)
			relazy(k.start[i], k.end[i]);
	}
	region_unlock(&saved);
	return r;
}

/*
 * A range the kernel just handed out held no mapping, so any entry
 * there is stale: its mapping went away behind our back (glibc's free()
 * and realloc() unmap with internal calls we never see). Left in the
 * table, it would have the handler open up the new mapping's pages.
 * But once the call has returned, a lock call on another thread may
 * register the new mapping (mlockall's walk of every mapping) before we
 * get the lock, and that entry is not stale: so nothing is forgotten if
 * the table changed since gen, read before the call or inside its fast
 * section. What is left is the probe's to catch (fault.c, sig_release).
 */
static void forget_stale(long p, size_t len, unsigned long gen)
{
	uintptr_t s = (uintptr_t)p, e = page_up(s + len);
	sigset_t saved;

	if ((p < 0 && p > -4096) || !region_overlaps(&lof_regions, s, e))
		return;
	region_lock(&saved);
	if (!(gen & 1) && region_gen(&lof_regions) == gen)
		sig_forget(s, e);
	region_unlock(&saved);
}

/*
 * mremap in batch-lock mode. The kernel moves or grows one mapping
 * only, so the range is first made one again: opened and unlocked
 * (pending and opened pages differ in VM_LOCKED). Then the managed
 * pieces are registered again where they now are; a grown tail is
 * managed when the end of the old range was.
 */
/* Add [a, b) to k; 1 when k is full. */
static int keep_ordinary_part(struct kept *k, uintptr_t a, uintptr_t b)
{
	if (a >= b)
		return 0;
	if (k->n == ARRAY_SIZE(k->start)) {
		k->more = 1;
		return 1;
	}
	k->start[k->n] = a;
	k->end[k->n] = b;
	k->n++;
	return 0;
}

/*
 * A maps_walk callback: the parts of a range locked the ordinary way
 * (VM_LOCKED, no entry in the table), into a struct kept. One mapping
 * the kernel shows may hold both: a piece locked the ordinary way and
 * a pending piece beside it with the same flags (both PROT_NONE and
 * VM_LOCKED in emulation) are one VMA. The parts outside the table's
 * entries are the ordinary ones.
 */
static int keep_ordinary(const struct maps_entry *m, void *arg)
{
	struct kept *k = arg;
	struct region buf[64];
	uintptr_t at = m->start;
	size_t n;

	if (sys_msync((void *)m->start, m->end - m->start,
		      MS_INVALIDATE) != -EBUSY)
		return 0;
	n = region_collect(&lof_regions, m->start, m->end, buf,
			   ARRAY_SIZE(buf));
	if (n > ARRAY_SIZE(buf))
		return 0;	/* too many to tell: the table's alone */
	for (size_t i = 0; i < n; i++) {
		if (keep_ordinary_part(k, at, buf[i].start))
			return 1;
		at = buf[i].end;
	}
	return keep_ordinary_part(k, at, m->end);
}

/*
 * After a successful mremap: what the program had locked the ordinary
 * way (ord, clipped to the old range [s, e)) is locked again where it
 * now is, up to the new length, as the kernel keeps VM_LOCKED on what
 * it moves or shrinks; the release had unlocked the whole old range,
 * a neighbouring mapping the call only shrank past too (the fuzzer's
 * sim43 seed 1086: a small mapping locked by mlock2 while PROT_NONE,
 * between two the call spanned). The pages there were locked, so the
 * plain mlock of the emulation populates nothing new (a PROT_NONE
 * piece answers ENOMEM and is VM_LOCKED all the same); in batch-lock
 * mode over the kernel's lock-on-fault, mlock2(MLOCK_ONFAULT) as
 * lock_ordinary used. A grown tail after such a piece is
 * registered as a lock call would register it: locked on fault.
 */
/* Lock [s, e) again as lock_ordinary locked it. */
static void relock_piece(uintptr_t s, uintptr_t e)
{
	if (sig_emulate)
		sys_mlock((void *)s, e - s);
	else
		sys_mlock2((void *)s, e - s, MLOCK_ONFAULT);
}

static void relock_ordinary(const struct kept *ord, uintptr_t s, uintptr_t e,
			    uintptr_t p, size_t old_len, size_t new_len)
{
	uintptr_t cap = page_up(p + new_len);

	for (size_t i = 0; i < ord->n; i++) {
		uintptr_t ns = p + (ord->start[i] - s);
		uintptr_t ne = p + (ord->end[i] - s);

		if (ne > cap)
			ne = cap;
		if (ns < ne)
			relock_piece(ns, ne);
		if (ord->end[i] == e && new_len > old_len && ne < cap)
			relazy(ne, cap);
	}
}

static long remap_lazy(void *old, size_t old_len, size_t new_len, int flags,
		       void *new_addr, uintptr_t s, uintptr_t e)
{
	struct kept ord = { .n = 0 };
	struct sig_pieces pc;
	struct kept k;
	long p;

	keep(&k, s, e);
	/*
	 * The old range is unlocked before the call (the kernel would
	 * populate what grows): if the call fails, what the program had
	 * locked the ordinary way is locked again, as the table's pieces
	 * are registered again.
	 */
	sig_pieces_collect(&pc, s, e);
	if (old_len && sig_remap_crosses_lock(s, old_len, new_len, flags,
					   new_addr, &pc))
		return -EFAULT;
	if (old_len)
		maps_walk(s, e, keep_ordinary, &ord);
	sig_release(s, e, 0);
	if (old_len)
		sys_munlock((void *)s, e - s);
	p = sig_remap_pieces(old, old_len, new_len, flags, new_addr, &pc, 1);
	if (!old_len) {
		/*
		 * A second mapping of the same pages: the old one stays,
		 * and the copy is locked as the kernel copies VM_LOCKED.
		 */
		for (size_t i = 0; i < k.n; i++)
			relazy(k.start[i], k.end[i]);
		if (!(p < 0 && p > -4096)) {
			sig_forget((uintptr_t)p, page_up((uintptr_t)p + new_len));
			relazy((uintptr_t)p, page_up((uintptr_t)p + new_len));
		}
		return p;
	}
	if (p < 0 && p > -4096) {
		for (size_t i = 0; i < k.n; i++)
			relazy(k.start[i], k.end[i]);
		for (size_t i = 0; i < ord.n; i++)
			relock_piece(ord.start[i], ord.end[i]);
		return p;
	}
	sig_forget((uintptr_t)p, page_up((uintptr_t)p + new_len));
	for (size_t i = 0; i < k.n; i++) {
		uintptr_t ns = (uintptr_t)p + (k.start[i] - s);
		uintptr_t ne = (uintptr_t)p + (k.end[i] - s);
		uintptr_t cap = page_up((uintptr_t)p + new_len);

		if (k.end[i] == e && new_len > old_len)
			ne = cap;	/* the grown tail */
		if (ne > cap)
			ne = cap;
		if (ns < ne)
			relazy(ns, ne);
	}
	relock_ordinary(&ord, s, e, (uintptr_t)p, old_len, new_len);
	return p;
}

long sig_mremap(void *old, size_t old_len, size_t new_len, int flags,
		void *new_addr)
{
	uintptr_t s = (uintptr_t)old, e, ds = (uintptr_t)new_addr, de = 0;
	struct sig_pieces pc;
	unsigned long gen;
	sigset_t saved;
	long p;

	/*
	 * old_len 0 (a shared mapping) maps the mapping at old a second
	 * time, with its protection: a pending piece there must be
	 * opened first, or the copy is PROT_NONE with no entry. Over the
	 * kernel's lock-on-fault, opening keeps it locked on touch;
	 * remap_lazy registers both again.
	 */
	if ((s & (lof_page_size - 1)) ||
	    bounds(old, old_len ? old_len : new_len, &s, &e) ||
	    ((flags & MREMAP_FIXED) && bounds(new_addr, new_len, &ds, &de))) {
		gen = region_gen(&lof_regions);
		p = sys_mremap(old, old_len, new_len, flags, new_addr);
		forget_stale(p, new_len, gen);
		return p;
	}
	/* A fixed destination is replaced: nothing managed there either. */
	if (!((flags & MREMAP_FIXED) &&
	      region_overlaps(&lof_regions, ds, de)) &&
	    fast_begin(s, e, &saved)) {
		if ((flags & MREMAP_FIXED) &&
		    region_overlaps(&lof_regions, ds, de)) {
			region_fast_exit(&saved);
			goto slow;
		}
		p = sys_mremap(old, old_len, new_len, flags, new_addr);
		gen = region_gen(&lof_regions);
		region_fast_exit(&saved);
		/*
		 * EFAULT over pieces the engine once cut, unlocked since
		 * (remap.c, scars): done piece by piece under the lock.
		 */
		if (p == -EFAULT && old_len) {
			region_lock(&saved);
			pc.n = 0;
			if (sig_scarred(s, e) &&
			    !region_overlaps(&lof_regions, s, e) &&
			    !sig_remap_crosses_lock(s, old_len, new_len, flags,
						    new_addr, &pc)) {
				p = sig_remap_pieces(old, old_len, new_len,
						     flags, new_addr, &pc, 1);
				if (!(p < 0 && p > -4096))
					sig_forget((uintptr_t)p,
						   page_up((uintptr_t)p +
							   new_len));
			}
			region_unlock(&saved);
			return p;
		}
		/* Where it moved to, stale entries may lie (not if fixed). */
		forget_stale(p, new_len, gen);
		return p;
	}
slow:
	region_lock(&saved);
	if (sig_relazy()) {
		p = remap_lazy(old, old_len, new_len, flags, new_addr, s, e);
	} else {
		int edge;

		sig_pieces_collect(&pc, s, e);
		edge = sig_remap_crosses_lock(s, old_len, new_len, flags,
					      new_addr, &pc);
		sig_release(s, e, 1);
		if (flags & MREMAP_FIXED)
			sig_release(ds, de, 0);
		p = sig_remap_pieces(old, old_len, new_len, flags, new_addr,
				     &pc, !edge);
		/* The old range holds no entry now; the new one, stale ones. */
		if (!(p < 0 && p > -4096))
			sig_forget((uintptr_t)p, page_up((uintptr_t)p + new_len));
	}
	region_unlock(&saved);
	return p;
}

/* ------------------------------------------------------------------ */
/* mmap                                                                */
/* ------------------------------------------------------------------ */

/* mmap, keeping the table true, and MAP_LOCKED lazy. */
static long mmap_managed(void *addr, size_t len, int prot, int flags, int fd,
			 off_t off)
{
	uintptr_t s = (uintptr_t)addr, e;
	sigset_t saved;
	long p;
	int r;

	/*
	 * MAP_FIXED|MAP_LOCKED: the kernel checks the limit before it
	 * replaces the old mapping, which cannot be undone; so the limit
	 * is checked first by its rules, and over it the call goes to the
	 * kernel as it is, to be refused with the kernel's errno and
	 * nothing changed (engine-native.c says the same).
	 */
	if ((flags & (MAP_LOCKED | MAP_FIXED)) == (MAP_LOCKED | MAP_FIXED) &&
	    !bounds(addr, len, &s, &e) && charge_map_locked(len)) {
		region_lock(&saved);
		p = sys_mmap(addr, len, prot, flags, fd, off);
		if (!(p < 0 && p > -4096))
			sig_forget(s, e);	/* it did fit after all */
		region_unlock(&saved);
		return p;
	}
	if ((flags & MAP_LOCKED) && len >= lof_config.min_size) {
		p = mmap_managed(addr, len, prot, flags & ~MAP_LOCKED, fd, off);
		if (p < 0 && p > -4096)
			return p;
		r = lock_range((void *)p, len, (uintptr_t)p,
			       page_up((uintptr_t)p + len), 0);
		if (r && (flags & MAP_FIXED)) {
			stat_add(failures, 1);
			log_warn_once("mmap(MAP_FIXED|MAP_LOCKED): the old mapping is replaced, the new one cannot be locked (errno %d)",
				      -r);
		} else if (r) {
			/* As mmap(MAP_LOCKED) fails: EPERM, else EAGAIN. */
			sys_munmap((void *)p, len);
			return r == -EPERM ? -EPERM : -EAGAIN;
		}
		return p;
	}
	if (!(flags & MAP_FIXED) || bounds(addr, len, &s, &e)) {
		unsigned long gen = region_gen(&lof_regions);

		p = sys_mmap(addr, len, prot, flags, fd, off);
		forget_stale(p, len, gen);
		return p;
	}
	/* Nothing managed where it goes, and nothing can be until it is. */
	if (fast_begin(s, e, &saved)) {
		p = sys_mmap(addr, len, prot, flags, fd, off);
		region_fast_exit(&saved);
		return p;
	}

	/* MAP_FIXED over managed pages: they leave the table first. */
	region_lock(&saved);
	sig_release(s, e, 0);
	p = sys_mmap(addr, len, prot, flags, fd, off);
	if (!(p < 0 && p > -4096))
		sig_forget(s, e);
	region_unlock(&saved);
	return p;
}

long sig_mmap(void *addr, size_t len, int prot, int flags, int fd, off_t off)
{
	sigset_t saved;
	long p;
	int r;

	if (!__atomic_load_n(&sig_future, __ATOMIC_RELAXED))
		return mmap_managed(addr, len, prot, flags, fd, off);
	if (!sig_relazy() && len < lof_config.min_size)
		return mmap_managed(addr, len, prot, flags, fd, off);
	/*
	 * Under MCL_FUTURE the kernel's def_flags lock the new mapping
	 * (lock-on-fault); in batch-lock mode the kernel was not told, and
	 * the engine locks it, after charging it as the kernel would.
	 */
	if (sig_charge) {
		region_lock(&saved);
		r = sig_future ? charge_future(len) : 0;
		region_unlock(&saved);
		if (r)
			return r;
	}
	/*
	 * The kernel's MCL_ONFAULT makes MAP_POPULATE a no-op (its
	 * populate skips lock-on-fault mappings). Where the engine
	 * supplies MCL_FUTURE (emulation, batch-lock) the kernel was not
	 * told, and would fill the pages the engine then locks.
	 */
	if (sig_relazy())
		flags &= ~MAP_POPULATE;
	p = mmap_managed(addr, len, prot, flags & ~MAP_LOCKED, fd, off);
	region_lock(&saved);
	if (sig_future)
		sig_register_future(p, len, prot, flags);
	region_unlock(&saved);
	return p;
}
