/*
 * engine.c - lock on fault: how ranges become pending, and how a fault
 * on a pending page is resolved.
 *
 * How it works
 *
 * A lock call (mlock, mlock2, mmap with MAP_LOCKED) on a large range
 * does three things, under the table lock:
 *  1. mlock2(MLOCK_ONFAULT) on the whole range. The kernel charges it
 *     against RLIMIT_MEMLOCK, refuses it with its own errno, locks the
 *     pages already present, and from now on locks every page that is
 *     faulted in, but populates nothing.
 *  2. Each mapping in the range that the engine can safely protect gets
 *     an entry in the region table carrying the program's protection,
 *     and only then is made PROT_NONE: a page is never inaccessible
 *     without an entry that explains it.
 *  3. Mappings it cannot protect (code, the stack in use, vdso, devices,
 *     our own memory) are locked the ordinary way, as the call asked.
 *
 * The first touch of a pending page raises SIGSEGV (SEGV_ACCERR). The
 * handler finds the entry, checks the access is one the program's own
 * protection allows, and mprotects a batch around the fault back to
 * that protection: one system call. The batch is an aligned block,
 * clipped to the entry, so it never leaves the mapping or crosses a
 * change of protection, and neighbouring batches merge back into one
 * kernel mapping. The kernel then locks each page of the batch as it is
 * touched (the range is VM_LOCKED), so locked memory is exactly what
 * the kernel's own MLOCK_ONFAULT would lock; no mlock per fault.
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
 * Order of changes, for the handler's sake: a range is added to the
 * table before it is protected, and made accessible before it leaves
 * the table; a mapping that replaces a managed one leaves the table
 * before it is replaced.
 *
 * When the program changes a managed range itself (mprotect, munmap,
 * mremap, MAP_FIXED), the range is released first, made accessible at
 * its old protection and taken out of the table, and then changed: it
 * stays VM_LOCKED|VM_LOCKONFAULT in the kernel, so its pages are still
 * locked as they are touched.
 *
 * mlockall. The kernel is called first with MCL_ONFAULT added, which
 * never changes its answer (EINVAL, EPERM, ENOMEM over the limit) and
 * makes every mapping VM_LOCKED|VM_LOCKONFAULT without populating it.
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
 *  - Each mlockall replaces the last, as in the kernel; munlockall opens
 *    every pending page and ends MCL_FUTURE.
 *
 * If an mprotect in the handler fails for want of kernel mappings
 * (vm.max_map_count), the whole entry is resolved in one call, which
 * merges mappings rather than splitting them: a fault never fails.
 */
#include "config.h"
#include "engine.h"

#include <errno.h>
#include <fcntl.h>
#include <link.h>
#include <string.h>
#include <sys/mman.h>

#include "altstack.h"
#include "arch.h"
#include "batch.h"
#include "log.h"
#include "maps.h"
#include "options.h"
#include "region.h"
#include "sigchain.h"
#include "stats.h"
#include "sys.h"

#ifndef MLOCK_ONFAULT
#define MLOCK_ONFAULT 0x01
#endif
#ifndef MADV_COLD
#define MADV_COLD 20
#endif

int lof_mode = LOF_MODE_PASS;

/* Our own object's span, found in engine_init(); read-only after. */
static uintptr_t self_lo, self_hi;

/*
 * The mapping budget: vm.max_map_count, read at init, and an estimate
 * of the mappings in use: those the process had at init plus two for
 * every batch resolved (lof_stats.faults: a batch inside a pending
 * range splits it in three). Merges make the estimate high, never low.
 */
static unsigned long map_limit, map_base;

/*
 * Batch-lock mode, set at init: pending ranges are not VM_LOCKED in the
 * kernel, and each batch is locked when it is opened. Used for
 * LOCKONFAULT_CHARGE=touched (so RLIMIT_MEMLOCK is charged batch by
 * batch) and on kernels without MLOCK_ONFAULT (have_onfault 0), where a
 * batch is locked, and populated, with plain mlock.
 */
static int batch_lock;
static int have_onfault;

/*
 * mlockall(MCL_FUTURE) is in force: later mappings made through our
 * mmap become pending. Written under the table lock.
 */
static int future;

/*
 * Is [addr, addr + len) still in mappings the kernel locks, as every
 * managed range is? MADV_COLD is refused (EINVAL) on VM_LOCKED
 * mappings, and is only a reclaim hint on others; ENOMEM means a hole.
 * It stops at the first locked mapping, so a range is checked from its
 * start only: callers probe a page. Kernels before 5.4 refuse the advice
 * itself, which reads as "locked". In batch-lock mode pending memory is
 * not VM_LOCKED: there the probe cannot tell, and says yes.
 * Context: any, including the SIGSEGV handler (async-signal-safe).
 */
static int still_locked(uintptr_t addr, size_t len)
{
	return batch_lock ||
	       sys_madvise((void *)addr, len, MADV_COLD) == -EINVAL;
}

/*
 * Batch-lock mode: lock [addr, addr + len), just opened. A refusal
 * (RLIMIT_MEMLOCK) leaves the pages accessible and unlocked: counted,
 * and said once.
 * Context: any, including the SIGSEGV handler (async-signal-safe).
 */
static void lock_opened(uintptr_t addr, size_t len)
{
	int r = have_onfault ? sys_mlock2((void *)addr, len, MLOCK_ONFAULT)
			     : sys_mlock((void *)addr, len);

	if (r) {
		stat_add(failures, 1);
		log_warn_once("cannot lock %p-%p (errno %d): left unlocked",
			      (void *)addr, (void *)(addr + len), -r);
	}
}


/*
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
 */
static unsigned int grace_epoch;
static unsigned long grace_active[2];

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

static void reader_exit(unsigned int e)
{
	__atomic_fetch_sub(&grace_active[e & 1], 1, __ATOMIC_RELEASE);
}

/* Context: table lock held, not in a signal handler. */
static void wait_for_readers(void)
{
	unsigned int e = __atomic_fetch_add(&grace_epoch, 1, __ATOMIC_SEQ_CST);

	while (__atomic_load_n(&grace_active[e & 1], __ATOMIC_ACQUIRE))
		sys_sched_yield();
}

/* Take [s, e) out of the table, and wait out readers that saw it. */
static void forget(uintptr_t s, uintptr_t e)
{
	if (!region_overlaps(&lof_regions, s, e))
		return;
	region_remove(&lof_regions, s, e);
	wait_for_readers();
}

/* Per thread: the last page resolved, and the last miss retried. */
static LOF_TLS uintptr_t last_page;
static LOF_TLS unsigned long last_gen;
static LOF_TLS uintptr_t tomb_page;
static LOF_TLS unsigned long tomb_gen;

enum { NOT_OURS, HANDLED };

/* ------------------------------------------------------------------ */
/* Init                                                                */
/* ------------------------------------------------------------------ */

static int find_self(struct dl_phdr_info *info, size_t size, void *arg)
{
	uintptr_t me = (uintptr_t)&find_self, lo = UINTPTR_MAX, hi = 0;

	for (int i = 0; i < info->dlpi_phnum; i++) {
		const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
		uintptr_t s = info->dlpi_addr + ph->p_vaddr;

		if (ph->p_type != PT_LOAD)
			continue;
		if (s < lo)
			lo = s;
		if (s + ph->p_memsz > hi)
			hi = s + ph->p_memsz;
	}
	if (me >= lo && me < hi) {
		self_lo = page_down(lo);
		self_hi = page_up(hi);
		return 1;
	}
	return 0;
}

static int count_map(const struct maps_entry *e, void *arg)
{
	(*(unsigned long *)arg)++;
	return 0;
}

static unsigned long read_ulong(const char *path)
{
	char buf[32];
	unsigned long v = 0;
	int fd = sys_open(path, O_RDONLY, 0);
	ssize_t n;

	if (fd < 0)
		return 0;
	n = sys_read(fd, buf, sizeof(buf) - 1);
	sys_close(fd);
	for (ssize_t i = 0; i < n && buf[i] >= '0' && buf[i] <= '9'; i++)
		v = v * 10 + (unsigned long)(buf[i] - '0');
	return v;
}

void engine_init(void)
{
	/* len 0 checks the flags and nothing else; EPERM means it exists. */
	int r = sys_mlock2(NULL, 0, MLOCK_ONFAULT);

	have_onfault = r == 0 || r == -EPERM;

	dl_iterate_phdr(find_self, NULL);
	map_limit = read_ulong("/proc/sys/vm/max_map_count");
	maps_walk(0, UINTPTR_MAX, count_map, &map_base);
	switch (lof_config.engine) {
	case LOF_ENGINE_OFF:
		lof_mode = LOF_MODE_PASS;
		break;
	case LOF_ENGINE_NATIVE:
		if (have_onfault) {
			lof_mode = LOF_MODE_NATIVE;
			break;
		}
		log_info("the kernel refuses MLOCK_ONFAULT (errno %d): falling back to the sigsegv engine",
			 -r);
		/* fall through */
	default:
		lof_mode = LOF_MODE_KERNEL;
		batch_lock = !have_onfault ||
			     lof_config.charge == LOF_CHARGE_TOUCHED;
		break;
	}
	/*
	 * Own SIGSEGV from the start, so that no thread can really block
	 * it before the first lock call (sigchain.c keeps its view).
	 */
	if (lof_mode == LOF_MODE_KERNEL && sigchain_install(engine_handler)) {
		log_warn("cannot install the SIGSEGV handler: memory is locked the ordinary way");
		lof_mode = LOF_MODE_PASS;
	}
	stat_engine(lof_mode == LOF_MODE_KERNEL && batch_lock, have_onfault);
	if (lof_mode == LOF_MODE_KERNEL && !have_onfault)
		log_info("without MLOCK_ONFAULT, each batch is locked with mlock when first touched");
	log_debug("engine mode %d, batch lock %d, batch %zu, max batch %zu, min size %zu",
		  lof_mode, batch_lock, lof_config.batch, lof_config.max_batch,
		  lof_config.min_size);
}

/* ------------------------------------------------------------------ */
/* The handler                                                         */
/* ------------------------------------------------------------------ */

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
 * Resolve the fault at addr if it is on a pending page.
 * Context: the SIGSEGV handler (async-signal-safe).
 * Return: HANDLED (return and let the access run again) or NOT_OURS.
 */
static int fault_locked(uintptr_t addr, void *uc);

static int fault(uintptr_t addr, void *uc)
{
	unsigned int e = reader_enter();
	int r = fault_locked(addr, uc);

	reader_exit(e);
	return r;
}

/* fault(), inside a reader section. */
static int fault_locked(uintptr_t addr, void *uc)
{
	uintptr_t page = page_down(addr), b0, b1;
	unsigned long gen = region_gen(&lof_regions);
	struct batch_hist hist;
	struct region r;
	size_t pages, npages;
	unsigned int shift;
	long t0;
	int rc;

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
		return retry_once(page, gen);
	}
	if (!permits(r.prot, arch_fault_access(uc)))
		return NOT_OURS;
	if (last_page == page && last_gen == gen)
		return NOT_OURS;

	t0 = sys_clock_ns();
	/*
	 * glibc unmaps (free, realloc) without our seeing it: a mapping it
	 * makes there later, a thread stack's guard page say, must not be
	 * opened by the stale entry.
	 */
	if (!still_locked(page, lof_page_size))
		return NOT_OURS;
	hist = (struct batch_hist){ r.hint, r.seen, r.last };
	pages = batch_lock ?
		batch_plan_seq(&hist, lof_config.batch, lof_config.max_batch,
			       addr, lof_page_size, &hist) :
		batch_plan(&hist, lof_config.batch, lof_config.max_batch, addr,
			   (r.end - r.start) >> lof_page_shift, lof_page_size,
			   &hist);
	shift = batch_budget_shift(map_base + 2 * __atomic_load_n(
				&lof_stats.faults, __ATOMIC_RELAXED), map_limit);
	if (shift >= BATCH_SHIFT_ALL) {
		/* The last resort: what the kernel's MLOCK_ONFAULT does. */
		log_warn_once("near vm.max_map_count: resolving whole regions");
		b0 = r.start;
		b1 = r.end;
	} else {
		batch_bounds(addr, r.start, r.end, pages << shift,
			     lof_page_size, &b0, &b1);
	}
	npages = (b1 - b0) >> lof_page_shift;
	rc = sys_mprotect((void *)b0, b1 - b0, r.prot);
	if (rc == -ENOMEM) {
		/* Out of kernel mappings, or unmapped under us. */
		b0 = r.start;
		b1 = r.end;
		rc = sys_mprotect((void *)b0, b1 - b0, r.prot);
		if (rc == 0)
			log_warn_once("out of kernel mappings (vm.max_map_count): resolving whole regions");
	}
	if (rc) {
		/* Unmapped by another thread: retry once, as for a tomb. */
		stat_add(failures, 1);
		return retry_once(page, gen);
	}
	if (batch_lock)
		lock_opened(b0, b1 - b0);
	last_page = page;
	last_gen = gen;
	region_set_hint(&lof_regions, addr, (uint32_t)pages,
			(uint32_t)hist.seen, b1);
	stat_fault(npages, (uint64_t)(sys_clock_ns() - t0));
	return HANDLED;
}

void engine_resolve(uintptr_t addr, size_t len)
{
	uintptr_t s = page_down(addr), e, at;
	unsigned int epoch;
	struct region r;
	sigset_t saved;

	if (lof_mode != LOF_MODE_KERNEL || !len || addr + len < addr)
		return;
	e = page_up(addr + len);
	if (e < s || !region_overlaps(&lof_regions, s, e))
		return;
	sys_block_async(&saved);
	epoch = reader_enter();
	/*
	 * Entry by entry, lock-free like the handler. A piece that is
	 * already open costs an mprotect that changes nothing.
	 */
	for (at = s; at < e && region_next(&lof_regions, at, &r) &&
		     r.start < e;
	     at = r.end) {
		uintptr_t lo = r.start > at ? r.start : at;
		uintptr_t hi = r.end < e ? r.end : e;
		long t0 = sys_clock_ns();

		if (r.prot == PROT_NONE)
			continue;
		if (sys_mprotect((void *)lo, hi - lo, r.prot) == 0) {
			if (batch_lock)
				lock_opened(lo, hi - lo);
			stat_buffer((uint64_t)(sys_clock_ns() - t0));
		} else {
			stat_add(failures, 1);
		}
	}
	reader_exit(epoch);
	sys_sigprocmask(SIG_SETMASK, &saved, NULL);
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

/* ------------------------------------------------------------------ */
/* Registering and releasing ranges (table lock held)                  */
/* ------------------------------------------------------------------ */

/*
 * Make every managed page in [start, end) accessible at the program's
 * protection and drop it from the table. A piece whose mprotect fails
 * (out of kernel mappings) stays in the table: its pages are still
 * resolved on touch, which is all an unlocked page needs. In batch-lock
 * mode, relock locks what is opened, for a caller that changes the
 * range but leaves it locked (mprotect, mremap).
 */
static void release(uintptr_t start, uintptr_t end, int relock)
{
	struct region buf[32];
	uintptr_t at = start;

	while (at < end) {
		size_t n = region_collect(&lof_regions, at, end, buf,
					  ARRAY_SIZE(buf));
		size_t got = n < ARRAY_SIZE(buf) ? n : ARRAY_SIZE(buf);
		uintptr_t stop = got < n ? buf[got - 1].end : end;

		for (size_t i = 0; i < got; i++) {
			struct region *r = &buf[i];

			struct region whole;

			/*
			 * A stale entry (its mapping went away unseen) is
			 * dropped, never opened: what is there now is not
			 * the program's locked memory.
			 */
			if (!still_locked(r->start, lof_page_size)) {
				region_remove(&lof_regions, r->start, r->end);
			} else if (sys_mprotect((void *)r->start,
						r->end - r->start,
						r->prot) == 0) {
				if (relock && batch_lock)
					lock_opened(r->start, r->end - r->start);
				region_remove(&lof_regions, r->start, r->end);
			} else if (region_lookup(&lof_regions, r->start, &whole) &&
				   sys_mprotect((void *)whole.start,
						whole.end - whole.start,
						whole.prot) == 0) {
				/*
				 * Out of kernel mappings: opening the whole
				 * entry merges instead of splitting. The rest
				 * of it stays in the table, open and harmless.
				 */
				if (relock && batch_lock)
					lock_opened(whole.start,
						    whole.end - whole.start);
				region_remove(&lof_regions, r->start, r->end);
			} else {
				stat_add(failures, 1);
				log_warn_once("cannot release %p-%p: left pending",
					      (void *)r->start, (void *)r->end);
			}
		}
		if (!n)
			break;
		at = stop;
	}
	wait_for_readers();
}

struct reg_ctx {
	int populate;	/* the call asked for an ordinary (eager) lock */
	int err;	/* first error of an ordinary lock */
	int added;	/* regions registered */
	uintptr_t sp;	/* the calling thread's stack pointer */
};

static int path_is(const char *path, const char *prefix)
{
	return strncmp(path, prefix, strlen(prefix)) == 0;
}

/* May the engine make this mapping PROT_NONE? */
static int eligible(const struct maps_entry *e, const struct reg_ctx *c)
{
	if (e->prot == PROT_NONE || (e->prot & PROT_EXEC))
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
	/* The stack we run on: a signal frame must always fit below sp. */
	if (c->sp >= e->start && c->sp < e->end)
		return 0;
	if (e->start < self_hi && e->end > self_lo)
		return 0;
	if (region_is_self(&lof_regions, e->start, e->end))
		return 0;
	if (altstack_within(e->start, e->end))
		return 0;
	return 1;
}

/*
 * Would the kernel's populate fail on this file mapping? Pages past the
 * end of the file raise SIGBUS, which mlock reports as ENOMEM.
 */
static int past_eof(const struct maps_entry *e)
{
	char link[64];
	long size;

	if (!e->inode || e->path[0] != '/')
		return 0;
	/* The mapping's own file, even when unlinked (root only)... */
	lof_format(link, sizeof(link), "/proc/self/map_files/%lx-%lx",
		   (unsigned long)e->vma_start, (unsigned long)e->vma_end);
	size = sys_file_size(link);
	/* ...else the path it was mapped from. */
	if (size < 0)
		size = sys_file_size(e->path);
	if (size < 0)
		return 0;
	return e->offset + (e->end - e->start) > page_up((uintptr_t)size);
}

static int register_piece(const struct maps_entry *e, void *arg)
{
	struct reg_ctx *c = arg;
	int r;

	/* What the kernel's populate would answer, lazily or not. */
	if (c->populate && !c->err && past_eof(e))
		c->err = -ENOMEM;

	if (eligible(e, c) &&
	    region_insert(&lof_regions, e->start, e->end, e->prot,
			  e->shared ? REGION_SHARED : 0) == 0) {
		r = sys_mprotect((void *)e->start, e->end - e->start,
				 PROT_NONE);
		if (r == 0) {
			c->added++;
			return 0;
		}
		/* Out of kernel mappings: leave it to the kernel. */
		region_remove(&lof_regions, e->start, e->end);
		stat_add(failures, 1);
		log_warn_once("cannot protect %p-%p (errno %d): locking it the ordinary way",
			      (void *)e->start, (void *)e->end, -r);
	}
	/* Batch-lock mode: nothing locked the range yet. */
	if (c->populate || batch_lock) {
		r = c->populate || !have_onfault ?
			sys_mlock((void *)e->start, e->end - e->start) :
			sys_mlock2((void *)e->start, e->end - e->start,
				   MLOCK_ONFAULT);
		if (r && !c->err)
			c->err = r;
	}
	return 0;
}

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

static int plain_lock(const void *addr, size_t len, unsigned int flags,
		      int is_mlock2)
{
	return is_mlock2 ? sys_mlock2(addr, len, flags) : sys_mlock(addr, len);
}

static int hole_check(const struct maps_entry *m, void *arg)
{
	uintptr_t *next = arg;

	if (m->start != *next)
		return -ENOMEM;
	*next = m->end;
	return 0;
}

/*
 * Batch-lock mode: what the kernel's mlock would refuse before it
 * charges anything. mlock(addr, 0) answers EPERM when the process may
 * not lock at all; then every page must be mapped (ENOMEM).
 */
static int lock_check(uintptr_t s, uintptr_t e)
{
	uintptr_t next = s;
	int r = sys_mlock((void *)s, 0);

	if (r == 0)
		r = maps_walk(s, e, hole_check, &next);
	if (r == 0 && next != e)
		r = -ENOMEM;
	return r;
}

/* Make the pages [s, e) lock-on-fault; addr and len as the program gave. */
static int lock_range(const void *addr, size_t len, uintptr_t s, uintptr_t e,
		      int populate)
{
	struct reg_ctx c = { .populate = populate };
	sigset_t saved;
	int r;

	region_lock(&saved);
	r = batch_lock ? lock_check(s, e) : sys_mlock2(addr, len, MLOCK_ONFAULT);
	if (r == 0) {
		/* Pieces already managed are registered afresh. */
		release(s, e, 0);
		c.sp = (uintptr_t)__builtin_frame_address(0);
		r = maps_walk(s, e, register_piece, &c);
		if (r == 0)
			r = c.err;
		if (c.added)
			stat_add(regions, 1);
	}
	region_unlock(&saved);
	return r;
}

/*
 * The native engine, for a call that asked the kernel to populate
 * (mlock, mlock2 without MLOCK_ONFAULT): what the kernel's populate
 * would have refused. A PROT_NONE piece gets the kernel's own mlock,
 * which locks it and answers ENOMEM; file pages past the end of the
 * file answer ENOMEM.
 */
static int native_piece(const struct maps_entry *e, void *arg)
{
	int *err = arg, r = 0;

	if (e->prot == PROT_NONE)
		r = sys_mlock((void *)e->start, e->end - e->start);
	else if (past_eof(e))
		r = -ENOMEM;
	if (r && !*err)
		*err = r;
	return 0;
}

static int native_lock(const void *addr, size_t len, int populate)
{
	uintptr_t s, e;
	int r = sys_mlock2(addr, len, MLOCK_ONFAULT), err = 0;

	if (r || !populate || bounds(addr, len, &s, &e))
		return r;
	maps_walk(s, e, native_piece, &err);
	return err;
}

int engine_mlock(const void *addr, size_t len, unsigned int flags,
		 int is_mlock2)
{
	uintptr_t s, e;
	sigset_t saved;
	int r;

	if (lof_mode == LOF_MODE_PASS)
		return plain_lock(addr, len, flags, is_mlock2);
	if (flags & ~(unsigned int)MLOCK_ONFAULT)
		return -EINVAL;
	if (lof_mode == LOF_MODE_NATIVE)
		return native_lock(addr, len, !(flags & MLOCK_ONFAULT));
	/* A kernel without MLOCK_ONFAULT refuses it itself. */
	if (!have_onfault && (flags & MLOCK_ONFAULT))
		return plain_lock(addr, len, flags, is_mlock2);
	if (bounds(addr, len, &s, &e))
		return plain_lock(addr, len, flags, is_mlock2);

	if (e - s < lof_config.min_size) {
		if (!region_overlaps(&lof_regions, s, e))
			return plain_lock(addr, len, flags, is_mlock2);
		region_lock(&saved);
		release(s, e, 0);
		r = plain_lock(addr, len, flags, is_mlock2);
		region_unlock(&saved);
		return r;
	}
	return lock_range(addr, len, s, e, !(flags & MLOCK_ONFAULT));
}

int engine_munlock(const void *addr, size_t len)
{
	uintptr_t s, e;
	sigset_t saved;
	int r;

	if (lof_mode != LOF_MODE_KERNEL || bounds(addr, len, &s, &e) ||
	    !region_overlaps(&lof_regions, s, e))
		return sys_munlock(addr, len);
	region_lock(&saved);
	release(s, e, 0);
	r = sys_munlock(addr, len);
	region_unlock(&saved);
	return r;
}

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
		return 0;	/* already managed */
	ok = eligible(e, c);
	if (ok && len >= lof_config.min_size) {
		if (!resident(e->start, e->end))
			return register_piece(e, c);
		return 0;
	}
	/* The kernel's populate skips what it cannot read, and ignores errors. */
	if (c->populate && e->prot != PROT_NONE)
		sys_mlock((void *)e->start, len);
	return 0;
}

int engine_mlockall(int flags)
{
	struct reg_ctx c = { .populate = !(flags & MCL_ONFAULT) };
	sigset_t saved;
	int r;

	if (lof_mode == LOF_MODE_PASS || !have_onfault)
		return sys_mlockall(flags);
	/*
	 * Adding MCL_ONFAULT never changes the kernel's answer: it refuses
	 * 0 and MCL_ONFAULT alone, unknown bits, and a total over
	 * RLIMIT_MEMLOCK for MCL_CURRENT, exactly as for the flags given.
	 */
	if (lof_mode == LOF_MODE_NATIVE)
		return sys_mlockall(flags | MCL_ONFAULT);
	region_lock(&saved);
	r = sys_mlockall(flags | MCL_ONFAULT);
	if (r == 0) {
		/* As in the kernel, each mlockall replaces the last. */
		future = !!(flags & MCL_FUTURE);
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

int engine_munlockall(void)
{
	sigset_t saved;
	int r;

	if (lof_mode != LOF_MODE_KERNEL ||
	    (!region_count(&lof_regions) && !future))
		return sys_munlockall();
	region_lock(&saved);
	release(0, UINTPTR_MAX, 0);
	r = sys_munlockall();
	if (r == 0)
		future = 0;
	region_unlock(&saved);
	return r;
}

int engine_munmap(void *addr, size_t len)
{
	uintptr_t s = (uintptr_t)addr, e;
	sigset_t saved;
	int r;

	/* Let the kernel refuse what it refuses before we change anything. */
	if (lof_mode != LOF_MODE_KERNEL || (s & (lof_page_size - 1)) || !len ||
	    bounds(addr, len, &s, &e) || !region_overlaps(&lof_regions, s, e))
		return sys_munmap(addr, len);
	region_lock(&saved);
	release(s, e, 0);
	r = sys_munmap(addr, len);
	if (r == 0)
		forget(s, e);	/* what release could not open */
	region_unlock(&saved);
	return r;
}

int engine_mprotect(void *addr, size_t len, int prot)
{
	uintptr_t s = (uintptr_t)addr, e;
	sigset_t saved;
	int r;

	if (lof_mode != LOF_MODE_KERNEL || (s & (lof_page_size - 1)) ||
	    bounds(addr, len, &s, &e) || !region_overlaps(&lof_regions, s, e))
		return sys_mprotect(addr, len, prot);
	/*
	 * Release first: if the kernel then refuses the new protection
	 * (EACCES, ENOMEM), the pages are left accessible at the old one,
	 * never PROT_NONE with no entry to explain them.
	 */
	region_lock(&saved);
	release(s, e, 1);
	r = sys_mprotect(addr, len, prot);
	if (r == 0)
		forget(s, e);
	region_unlock(&saved);
	return r;
}

/*
 * A range the kernel just handed out held no mapping, so any entry
 * there is stale: its mapping went away behind our back (glibc's free()
 * and realloc() unmap with internal calls we never see). Left in the
 * table, it would have the handler open up the new mapping's pages.
 */
static void forget_stale(long p, size_t len)
{
	uintptr_t s = (uintptr_t)p, e = page_up(s + len);
	sigset_t saved;

	if ((p < 0 && p > -4096) || !region_overlaps(&lof_regions, s, e))
		return;
	region_lock(&saved);
	forget(s, e);
	region_unlock(&saved);
}

/*
 * Under mlockall(MCL_FUTURE) the kernel made the new mapping
 * VM_LOCKED|VM_LOCKONFAULT already (def_flags); a large one becomes
 * pending like a locked range. Table lock held.
 */
static void register_future(long p, size_t len, int prot, int flags)
{
	struct reg_ctx c = { .populate = 0 };

	if ((p < 0 && p > -4096) || len < lof_config.min_size ||
	    (prot & PROT_EXEC) || prot == PROT_NONE || (flags & MAP_HUGETLB))
		return;
	c.sp = (uintptr_t)__builtin_frame_address(0);
	maps_walk((uintptr_t)p, page_up((uintptr_t)p + len), register_piece, &c);
	if (c.added)
		stat_add(regions, 1);
}

static long mmap_managed(void *addr, size_t len, int prot, int flags, int fd,
			 off_t off);

long engine_mmap(void *addr, size_t len, int prot, int flags, int fd,
		 off_t off)
{
	sigset_t saved;
	long p;

	if (lof_mode != LOF_MODE_KERNEL ||
	    !__atomic_load_n(&future, __ATOMIC_RELAXED) ||
	    len < lof_config.min_size)
		return mmap_managed(addr, len, prot, flags, fd, off);
	p = mmap_managed(addr, len, prot, flags & ~MAP_LOCKED, fd, off);
	region_lock(&saved);
	if (future)
		register_future(p, len, prot, flags);
	region_unlock(&saved);
	return p;
}

/* mmap, keeping the table true, and MAP_LOCKED lazy. */
static long mmap_managed(void *addr, size_t len, int prot, int flags, int fd,
			 off_t off)
{
	uintptr_t s = (uintptr_t)addr, e;
	sigset_t saved;
	long p;
	int r;

	/*
	 * MAP_FIXED|MAP_LOCKED goes to the kernel as it is: it checks the
	 * limit before replacing the old mapping, which we cannot undo.
	 */
	if (lof_mode != LOF_MODE_PASS && (flags & MAP_LOCKED) &&
	    !(flags & MAP_FIXED) && len >= lof_config.min_size) {
		p = mmap_managed(addr, len, prot, flags & ~MAP_LOCKED, fd, off);
		if (p < 0 && p > -4096)
			return p;
		r = lof_mode == LOF_MODE_NATIVE ?
			sys_mlock2((void *)p, len, MLOCK_ONFAULT) :
			lock_range((void *)p, len, (uintptr_t)p,
				   page_up((uintptr_t)p + len), 0);
		if (r) {
			/* As mmap(MAP_LOCKED) fails: EPERM, else EAGAIN. */
			sys_munmap((void *)p, len);
			return r == -EPERM ? -EPERM : -EAGAIN;
		}
		return p;
	}
	if (lof_mode != LOF_MODE_KERNEL)
		return sys_mmap(addr, len, prot, flags, fd, off);
	if (!(flags & MAP_FIXED) || bounds(addr, len, &s, &e) ||
	    !region_overlaps(&lof_regions, s, e)) {
		p = sys_mmap(addr, len, prot, flags, fd, off);
		forget_stale(p, len);
		return p;
	}

	/* MAP_FIXED over managed pages: they leave the table first. */
	region_lock(&saved);
	release(s, e, 0);
	p = sys_mmap(addr, len, prot, flags, fd, off);
	if (!(p < 0 && p > -4096))
		forget(s, e);
	region_unlock(&saved);
	return p;
}

long engine_mremap(void *old, size_t old_len, size_t new_len, int flags,
		   void *new_addr)
{
	uintptr_t s = (uintptr_t)old, e;
	sigset_t saved;
	long p;

	if (lof_mode != LOF_MODE_KERNEL)
		return sys_mremap(old, old_len, new_len, flags, new_addr);
	if ((s & (lof_page_size - 1)) || bounds(old, old_len, &s, &e) ||
	    !region_overlaps(&lof_regions, s, e)) {
		p = sys_mremap(old, old_len, new_len, flags, new_addr);
	} else {
		region_lock(&saved);
		release(s, e, 1);
		p = sys_mremap(old, old_len, new_len, flags, new_addr);
		region_unlock(&saved);
	}
	/* The old range holds no entry now; the rest was unmapped. */
	forget_stale(p, new_len);
	return p;
}

/* ------------------------------------------------------------------ */
/* fork                                                                */
/* ------------------------------------------------------------------ */

/*
 * The table lock is held across fork so that the child never inherits
 * it taken by a thread that does not exist there.
 *
 * The kernel copies no lock into a child, so pending has no meaning
 * there: the child opens every pending page at the program's protection
 * and starts with an empty table, a process like any other. It could
 * not keep the entries safely: with no VM_LOCKED left, the stale-entry
 * probe cannot tell them from memory glibc unmapped and reused. So the
 * parent drops stale entries before it forks, while the probe works.
 * vfork and posix_spawn run no fork hooks; their child shares the
 * parent's memory and table until it execs, and its faults are resolved
 * as the parent's.
 */
void engine_atfork_prepare(void)
{
	struct region buf[32];
	uintptr_t at = 0;
	int dropped = 0;

	region_atfork_prepare();
	if (lof_mode != LOF_MODE_KERNEL || batch_lock)
		return;
	for (;;) {
		size_t n = region_collect(&lof_regions, at, UINTPTR_MAX, buf,
					  ARRAY_SIZE(buf));
		size_t got = n < ARRAY_SIZE(buf) ? n : ARRAY_SIZE(buf);

		for (size_t i = 0; i < got; i++) {
			if (still_locked(buf[i].start, lof_page_size))
				continue;
			region_remove(&lof_regions, buf[i].start, buf[i].end);
			dropped = 1;
		}
		if (got == n)
			break;
		at = buf[got - 1].end;
	}
	if (dropped)
		wait_for_readers();
}

void engine_atfork_parent(void)
{
	region_atfork_release();
}

static int open_piece(const struct maps_entry *e, void *arg)
{
	const struct region *r = arg;

	if (sys_mprotect((void *)e->start, e->end - e->start, r->prot)) {
		stat_add(failures, 1);
		log_warn_once("fork: cannot open %p-%p in the child",
			      (void *)e->start, (void *)e->end);
	}
	return 0;
}

void engine_atfork_child(void)
{
	struct region buf[32];
	size_t n;

	/* Handlers of the parent's other threads do not exist here. */
	grace_active[0] = grace_active[1] = 0;
	sigchain_atfork_child();
	while ((n = region_collect(&lof_regions, 0, UINTPTR_MAX, buf,
				   ARRAY_SIZE(buf))) != 0) {
		size_t got = n < ARRAY_SIZE(buf) ? n : ARRAY_SIZE(buf);

		for (size_t i = 0; i < got; i++) {
			struct region *r = &buf[i];

			/*
			 * ENOMEM: part of it is not in the child at all
			 * (MADV_DONTFORK); open what is, piece by piece.
			 */
			if (r->prot != PROT_NONE &&
			    sys_mprotect((void *)r->start, r->end - r->start,
					 r->prot) == -ENOMEM)
				maps_walk(r->start, r->end, open_piece, r);
			region_remove(&lof_regions, r->start, r->end);
		}
	}
	region_atfork_release();
}
