/*
 * sigsegv.h - the user-space engine's parts, shared between its files:
 *
 *   fault.c          the fault path: handler, grace period, resolve
 *   sigsegv.c        lock calls and the program's own changes of ranges
 *   lockall.c        mlockall, munlockall and MCL_FUTURE
 *   sigsegv-fork.c   fork
 *   charge.c         RLIMIT_MEMLOCK, where the kernel cannot charge
 *   present.c        pages already present in a range
 *   stacks.c         stacks and TLS the engine runs on, never pending
 *
 * Three ways of running, fixed at init:
 *  - over the kernel's lock-on-fault (a kernel with MLOCK_ONFAULT, the
 *    engine forced): every managed range is VM_LOCKED|VM_LOCKONFAULT in
 *    the kernel, which charges it, locks what is present and locks each
 *    page as it is faulted in; the engine only makes pages PROT_NONE and
 *    opens them on touch.
 *  - emulation (sig_emulate, sig_charge: no MLOCK_ONFAULT, CHARGE=range):
 *    a managed range is made PROT_NONE where its pages are absent, and
 *    then locked with plain mlock. The kernel marks it VM_LOCKED and
 *    charges it (RLIMIT_MEMLOCK, VmLck) exactly as a 4.4+ kernel charges
 *    MLOCK_ONFAULT, and its populate stops at the first PROT_NONE page
 *    (EFAULT, ignored), so nothing absent is faulted in. Pages already
 *    present are locked and left accessible. A fault opens a batch with
 *    mprotect; a page faulted into the VM_LOCKED range is locked by the
 *    kernel, and a private range becoming writable is populated by the
 *    kernel's mprotect, so such batches lock what they open (fault.c's
 *    batch policy keeps them small). The engine also supplies mlock2
 *    and MCL_ONFAULT, and MCL_FUTURE (lockall.c), the kernel has not.
 *  - batch-lock (sig_batch_lock: CHARGE=touched, on any kernel): pending
 *    ranges are not VM_LOCKED, so nothing is charged at the call; each
 *    batch is locked (mlock2(MLOCK_ONFAULT), or mlock without it) as it
 *    is opened, and charged then.
 * In the last two, the kernel is never given mlockall's flags, and a
 * range the program changes but keeps locked (mprotect, mremap) is
 * registered again after the change (sig_relazy()).
 */
#ifndef LOF_SIGSEGV_H
#define LOF_SIGSEGV_H

#include <signal.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "internal.h"
#include "maps.h"
#include "region.h"
#include "sys.h"

struct maps_entry;


/* Set once by sig_init(); read-only afterwards. */
extern int sig_batch_lock;	/* each batch is locked as it is opened */
extern int sig_emulate;		/* no MLOCK_ONFAULT: the engine supplies it */
extern int sig_charge;		/* the engine charges RLIMIT_MEMLOCK itself */
extern uintptr_t sig_self_lo, sig_self_hi; /* our own object */
extern uintptr_t sig_libc_lo, sig_libc_hi; /* libc's (sig_eligible) */

/*
 * A sequence count, odd while a writer is in the middle of a change
 * the fault path could take for the program's own fault (emulation
 * only, whatever LOCKONFAULT_CHARGE):
 *  - a release unlocks a piece before it opens it, and a registration
 *    protects a piece before it locks it: with CHARGE=range, the fault
 *    path's stale-entry probe cannot be trusted across such a window;
 *  - a release has taken pieces out of the table that a handler which
 *    found them before may have opened read-only after the release
 *    opened them (fault.c), until the release opens them again
 *    (sig_release): a write there misses the table, and is retried
 *    for as long as the window lasts, not once. With CHARGE=touched a
 *    fault retried only once took a page still read-only for the
 *    program's (t-stress: SIGSEGV on a worker's write under sim43).
 * Bumped under the table lock (sig_unsettle), read by the handler.
 */
extern unsigned int sig_unsettled;
extern unsigned int sig_unsettled_waiters;

/*
 * mlockall(MCL_FUTURE) is in force (lockall.c). Written under the table
 * lock, read with relaxed loads by the fast paths.
 */
extern int sig_future;

/*
 * Non-zero while mlockall(MCL_FUTURE) is in force and the kernel was
 * not told of it (sig_relazy()): allocations are then watched for
 * memory glibc maps itself (interpose-malloc.c, interpose-thread.c).
 */
extern int sig_future_watch;

/*
 * Lock what is new around an allocation [p, p + n), as the kernel's
 * MCL_FUTURE would have: the mapping malloc made for it, an arena it
 * came from, brk growth. Cheap when there is nothing new.
 * Context: any thread, not in a signal handler.
 */
void sig_future_cover(uintptr_t p, size_t n);

/*
 * A new thread, on its own stack, under the same conditions: lock the
 * part of its stack it uses, with a margin (lockall.c explains why not
 * all of it).
 */
void sig_future_stack(uintptr_t sp);

/* Context: init only. */
void sig_init(int batch_lock, int emulate, int charge);

/* Open (begin 1) or close (begin 0) an unsettled window, in emulation. */
static inline void sig_unsettle(int begin)
{
	if (!sig_emulate)
		return;
	__atomic_fetch_add(&sig_unsettled, 1, __ATOMIC_SEQ_CST);
	if (!begin && __atomic_load_n(&sig_unsettled_waiters, __ATOMIC_SEQ_CST))
		sys_futex_wake(&sig_unsettled);
}

/* The kernel was told nothing of mlockall, and relocks are lazy. */
static inline int sig_relazy(void)
{
	return sig_batch_lock || sig_emulate;
}

/* ---- fault.c ---------------------------------------------------- */

/*
 * Is [addr, addr + len) still in mappings the kernel locks, as every
 * managed range over the kernel's lock-on-fault is? (MADV_COLD is
 * refused on VM_LOCKED mappings.) In batch-lock mode it cannot tell
 * and says yes.
 * Context: any, including the SIGSEGV handler (async-signal-safe).
 */
LOF_AS_SAFE int sig_still_locked(uintptr_t addr, size_t len);

/*
 * Batch-lock mode: lock [addr, addr + len), just opened; a refusal is
 * counted and said once, and the pages stay open.
 * Context: any, including the SIGSEGV handler (async-signal-safe).
 */
LOF_AS_SAFE void sig_lock_opened(uintptr_t addr, size_t len);

/*
 * The grace period (fault.c's head comment). A writer that took
 * entries out of the table waits until no reader that may have seen
 * them is left.
 * Context: table lock held, not in a signal handler.
 */
void sig_wait_for_readers(void);

/* Take [s, e) out of the table, and wait out readers that saw it. */
void sig_forget(uintptr_t s, uintptr_t e);

/* fork: no reader of the parent's other threads exists in the child. */
void sig_readers_reset(void);

/* The mapping budget's base: mappings at init. */
void sig_budget_init(unsigned long map_limit, unsigned long map_base);

/* ---- sigsegv.c -------------------------------------------------- */

/* The context of a walk that registers pieces of a range. */
struct reg_ctx {
	int populate;	/* the call asked for an ordinary (eager) lock */
	int err;	/* first error of an ordinary lock */
	int added;	/* regions registered */
	uintptr_t sp;	/* the calling thread's stack pointer */
	int current;	/* mlockall(MCL_CURRENT)'s walk of what exists */
};

/* The table's flags for a mapping: REGION_SHARED, REGION_FILE. */
static inline unsigned int sig_region_flags(const struct maps_entry *e)
{
	return (e->shared ? REGION_SHARED : 0) | (e->inode ? REGION_FILE : 0);
}

/*
 * Add the piece e to the table at prot, as a piece of its kernel
 * mapping (struct region: ino and base).
 * Return: 0, or -ENOMEM (region_insert). Table lock held.
 */
static inline int sig_region_add(const struct maps_entry *e, int prot)
{
	return region_insert_file(&lof_regions, e->start, e->end, prot,
				  sig_region_flags(e), e->inode,
				  e->inode ? e->start - e->offset : 0);
}

/* May the engine make this mapping PROT_NONE? */
int sig_eligible(const struct maps_entry *e, const struct reg_ctx *c);

/*
 * Never make [lo, hi) pending: the top of a stack the program gave a
 * thread (its descriptor and TLS). Takes the table lock.
 */
void sig_keep_open(uintptr_t lo, uintptr_t hi);

/*
 * Emulation: remember the program's own PROT_NONE mapping e, in a range
 * locked on fault, with an entry (sigsegv.c). 1 if it did. Table lock held.
 */
int sig_remember_none(const struct maps_entry *e, struct reg_ctx *c);

/* A maps_walk callback: make one mapping of a locked range pending. */
int sig_register_piece(const struct maps_entry *e, void *arg);

/*
 * Open every managed page in [start, end) at the program's protection
 * and drop it from the table (sigsegv.c). Table lock held.
 */
void sig_release(uintptr_t start, uintptr_t end, int relock);

int sig_mlock(const void *addr, size_t len, unsigned int flags,
	      int is_mlock2);
int sig_munlock(const void *addr, size_t len);
int sig_munmap(void *addr, size_t len);
int sig_mprotect(void *addr, size_t len, int prot);
long sig_mmap(void *addr, size_t len, int prot, int flags, int fd, off_t off);
long sig_mremap(void *old, size_t old_len, size_t new_len, int flags,
		void *new_addr);

/* ---- remap.c ---------------------------------------------------- */

/* The managed pieces of a range before a change, adjacent ones joined. */
struct sig_pieces {
	uintptr_t start[64], end[64];
	size_t n;
};

/* Collect them, unclipped. Table lock held. */
void sig_pieces_collect(struct sig_pieces *pc, uintptr_t s, uintptr_t e);

/*
 * The kernel's mremap of a released managed range; where it says
 * EFAULT only because the engine split the range into several VMAs
 * (pc: its pieces before the release), the same call done piece by
 * piece (remap.c); with scar_ok (the caller found no lock edge in the
 * range, sig_remap_crosses_lock), inside a scar too. Table lock held.
 * Return: the new address or -errno.
 */
long sig_remap_pieces(void *old, size_t old_len, size_t new_len, int flags,
		      void *new_addr, const struct sig_pieces *pc, int scar_ok);

/*
 * Remember that the engine cut the private range [s, e) into several
 * VMAs; does [s, e) meet such a range? (remap.c). Table lock held.
 */
void sig_scar(uintptr_t s, uintptr_t e);
int sig_scarred(uintptr_t s, uintptr_t e);

/*
 * Would the kernel's own lock-on-fault keep [s, s + old_len) in VMAs
 * split at the edge of a locked range (managed: pc, its pieces before
 * the release; or VM_LOCKED), where this call needs one? Then it
 * answers EFAULT. Table lock held, before the release.
 */
int sig_remap_crosses_lock(uintptr_t s, size_t old_len, size_t new_len,
			   int flags, void *new_addr,
			   const struct sig_pieces *pc);

/* ---- lockall.c -------------------------------------------------- */

int sig_mlockall(int flags);
int sig_munlockall(void);

/*
 * Under mlockall(MCL_FUTURE): make the new mapping [p, p + len) locked
 * as the kernel's def_flags would. Table lock held.
 */
void sig_register_future(long p, size_t len, int prot, int flags);

/* ---- charge.c --------------------------------------------------- */

/*
 * What a 4.4+ kernel answers for locking [s, e) as the program sees it
 * (sig_charge only): 0, -EPERM (limit 0, no CAP_IPC_LOCK) or -ENOMEM
 * (over RLIMIT_MEMLOCK). Pages of [s, e) already locked are not charged
 * twice. Table lock held.
 */
int charge_range(uintptr_t s, uintptr_t e);

/* mlockall(MCL_CURRENT): the whole address space must fit. */
int charge_all(void);

/* An mmap of len bytes under MCL_FUTURE: -EAGAIN if over the limit. */
int charge_future(size_t len);

/*
 * mmap(MAP_LOCKED) of len bytes, as the kernel checks it before it maps
 * anything: 0, -EPERM or -EAGAIN. Any engine; not in a signal handler.
 */
int charge_map_locked(size_t len);

/* ---- present.c -------------------------------------------------- */

/*
 * Call fn(start, end, arg) for every run of pages of [s, e) present in
 * this process's page tables (/proc/self/pagemap; mincore where that
 * cannot be read), in address order. fn returns 0 to go on.
 * Context: not in a signal handler; allocation-free.
 * Return: fn's non-zero value, 0, or -errno if neither source works.
 */
int present_runs(uintptr_t s, uintptr_t e,
		 int (*fn)(uintptr_t start, uintptr_t end, void *arg),
		 void *arg);

/*
 * The same for the runs of present pages of [s, e) that are anonymous
 * (a private copy: pagemap's "file or shared anonymous" bit clear), from
 * pagemap alone.
 * Context: not in a signal handler; allocation-free.
 * Return: fn's non-zero value, 0, or -errno if pagemap cannot be read.
 */
int present_anon_runs(uintptr_t s, uintptr_t e,
		      int (*fn)(uintptr_t start, uintptr_t end, void *arg),
		      void *arg);

/* ---- stacks.c --------------------------------------------------- */

/*
 * Find the main thread's stack and TLS.
 * Context: init only, on the main thread.
 */
void sig_stacks_init(void);

/*
 * Is the mapping e memory the engine runs on, never to be pending: a
 * piece of the main thread's stack (however /proc/self/maps labels it),
 * the calling thread's stack at sp and ENGINE_STACK below it, the main
 * thread's TLS? A piece of the main stack below what was seen before
 * extends it.
 * Context: table lock held (or init).
 */
int sig_runs_on(const struct maps_entry *e, uintptr_t sp);

/* ---- sigsegv-fork.c --------------------------------------------- */

void sig_atfork_prepare(void);
void sig_atfork_parent(void);
void sig_atfork_child(void);

#endif /* LOF_SIGSEGV_H */
