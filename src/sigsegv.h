/*
 * sigsegv.h - the user-space engine's parts, shared between its files:
 *
 *   fault.c          the fault path: handler, grace period, resolve
 *   sigsegv.c        lock calls and the program's own changes of ranges
 *   lockall.c        mlockall, munlockall and MCL_FUTURE
 *   sigsegv-fork.c   fork
 *   charge.c         RLIMIT_MEMLOCK, where the kernel cannot charge
 *   present.c        pages already present in a range
 *
 * Two ways of running, fixed at init:
 *  - over the kernel's lock-on-fault (sig_batch_lock 0): every managed
 *    range is VM_LOCKED|VM_LOCKONFAULT in the kernel, which charges it,
 *    locks what is present and locks each page as it is faulted in; the
 *    engine only makes pages PROT_NONE and opens them on touch. Used
 *    when it is forced on a kernel that has the flags.
 *  - batch-lock (sig_batch_lock 1): pending ranges are not VM_LOCKED;
 *    each batch is locked when it is opened. Used where the kernel has
 *    no MLOCK_ONFAULT (sig_emulate: the engine supplies the flags, the
 *    RLIMIT charge and MCL_FUTURE itself) and for CHARGE=touched.
 */
#ifndef LOF_SIGSEGV_H
#define LOF_SIGSEGV_H

#include <signal.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "internal.h"

struct maps_entry;

#ifndef MLOCK_ONFAULT
#define MLOCK_ONFAULT 0x01
#endif
#ifndef MCL_ONFAULT
#define MCL_ONFAULT 0x04
#endif

/* Set once by sig_init(); read-only afterwards. */
extern int sig_batch_lock;	/* each batch is locked as it is opened */
extern int sig_emulate;		/* no MLOCK_ONFAULT: the engine supplies it */
extern int sig_charge;		/* the engine charges RLIMIT_MEMLOCK itself */
extern uintptr_t sig_self_lo, sig_self_hi; /* our own object */

/*
 * mlockall(MCL_FUTURE) is in force (lockall.c). Written under the table
 * lock, read with relaxed loads by the fast paths.
 */
extern int sig_future;

/* Context: init only. */
void sig_init(int batch_lock, int emulate, int charge);

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
};

/* May the engine make this mapping PROT_NONE? */
int sig_eligible(const struct maps_entry *e, const struct reg_ctx *c);

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

/* ---- sigsegv-fork.c --------------------------------------------- */

void sig_atfork_prepare(void);
void sig_atfork_parent(void);
void sig_atfork_child(void);

#endif /* LOF_SIGSEGV_H */
