/*
 * altstack.c - an alternate signal stack for every thread.
 *
 * The engine's handler is installed with SA_ONSTACK. A thread whose own
 * stack lies in a pending range (a pool the program mlock()ed and carved
 * into stacks with pthread_attr_setstack, or a stack inside a region
 * locked with mlockall) faults on its first touch of a new stack page,
 * and the kernel cannot push a signal frame onto that same stack: it
 * kills the process. With an alternate stack the frame goes there and
 * the fault is resolved like any other.
 *
 * Threads get one when they start, the first thread when the library
 * loads. The interposed pthread_create maps it and passes it to the new
 * thread with the start routine stored at its low end (where a signal
 * frame, pushed from the top, never reaches before the thread has read
 * it): no malloc, which in a new thread would set up a malloc arena the
 * program never asked for (64 MiB of address space, locked under
 * mlockall(MCL_FUTURE)). A thread
 * that already has one, the program's own, keeps it; the program may
 * also replace ours at any time. Ours is unmapped when the thread exits,
 * by a thread-specific-data destructor, after it is disabled if it is
 * still the thread's alternate stack.
 *
 * The engine must never make one of these PROT_NONE (mlockall or a lock
 * call over a range that holds one): the kernel could not push a signal
 * frame there and would kill the process. Each is entered in a fixed
 * registry that the engine asks before it protects a mapping; a thread
 * that finds the registry full goes without, as it would without us.
 * The slot also holds the thread's own stack, when glibc mapped it,
 * which the engine must not make pending either (stacks.c).
 */
#include "config.h"
#include "altstack.h"

#include <pthread.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/syscall.h>

#include "arch.h"
#include "log.h"
#include "sys.h"

/* Comfortably above glibc's MINSIGSTKSZ, and the handler's needs. */
#define ALT_SIZE (64 * 1024)

/* Created once by altstack_init(); read-only afterwards. */
static pthread_key_t alt_key;
static int alt_key_ok;

/*
 * The registry: slot i holds the address of a live stack or 0. Slots
 * are claimed with a compare-and-swap; alt_used is one past the highest
 * slot ever claimed, so readers scan only that far.
 */
#define ALT_SLOTS 4096
static uintptr_t alt_slots[ALT_SLOTS];
static unsigned int alt_used;
/*
 * The stack glibc mapped for the slot's thread, [lo, hi), or 0: never
 * to be made pending (stacks.c says why). Set by the thread as it
 * starts, cleared before its slot is.
 */
static uintptr_t alt_stk_lo[ALT_SLOTS], alt_stk_hi[ALT_SLOTS];

static int registry_add(uintptr_t p)
{
	for (unsigned int i = 0; i < ALT_SLOTS; i++) {
		uintptr_t zero = 0;
		unsigned int used;

		if (!__atomic_compare_exchange_n(&alt_slots[i], &zero, p, 0,
						 __ATOMIC_SEQ_CST,
						 __ATOMIC_RELAXED))
			continue;
		used = __atomic_load_n(&alt_used, __ATOMIC_RELAXED);
		while (used < i + 1 &&
		       !__atomic_compare_exchange_n(&alt_used, &used, i + 1, 1,
						    __ATOMIC_SEQ_CST,
						    __ATOMIC_RELAXED))
			;
		return 0;
	}
	return -1;
}

static void registry_del(uintptr_t p)
{
	unsigned int used = __atomic_load_n(&alt_used, __ATOMIC_ACQUIRE);

	for (unsigned int i = 0; i < used; i++) {
		uintptr_t want = p;

		if (__atomic_load_n(&alt_slots[i], __ATOMIC_RELAXED) != p)
			continue;
		__atomic_store_n(&alt_stk_hi[i], 0, __ATOMIC_SEQ_CST);
		__atomic_store_n(&alt_stk_lo[i], 0, __ATOMIC_SEQ_CST);
		if (__atomic_compare_exchange_n(&alt_slots[i], &want, 0, 0,
						__ATOMIC_SEQ_CST,
						__ATOMIC_RELAXED))
			return;
	}
}

void altstack_unlock_all(void)
{
	unsigned int used = __atomic_load_n(&alt_used, __ATOMIC_ACQUIRE);

	for (unsigned int i = 0; i < used; i++) {
		uintptr_t p = __atomic_load_n(&alt_slots[i], __ATOMIC_ACQUIRE);

		if (p)
			sys_munlock((void *)p, ALT_SIZE);
	}
}

int altstack_within(uintptr_t start, uintptr_t end)
{
	unsigned int used = __atomic_load_n(&alt_used, __ATOMIC_ACQUIRE);

	for (unsigned int i = 0; i < used; i++) {
		uintptr_t p = __atomic_load_n(&alt_slots[i], __ATOMIC_ACQUIRE);

		if (p && p < end && p + ALT_SIZE > start)
			return 1;
	}
	return 0;
}

void altstack_thread_stack(const void *p, uintptr_t lo, uintptr_t hi)
{
	unsigned int used = __atomic_load_n(&alt_used, __ATOMIC_ACQUIRE);

	for (unsigned int i = 0; i < used; i++) {
		if (__atomic_load_n(&alt_slots[i], __ATOMIC_ACQUIRE) !=
		    (uintptr_t)p)
			continue;
		__atomic_store_n(&alt_stk_lo[i], lo, __ATOMIC_SEQ_CST);
		__atomic_store_n(&alt_stk_hi[i], hi, __ATOMIC_SEQ_CST);
		return;
	}
}

int altstack_thread_stack_within(uintptr_t start, uintptr_t end)
{
	unsigned int used = __atomic_load_n(&alt_used, __ATOMIC_ACQUIRE);

	for (unsigned int i = 0; i < used; i++) {
		uintptr_t lo = __atomic_load_n(&alt_stk_lo[i], __ATOMIC_ACQUIRE);
		uintptr_t hi = __atomic_load_n(&alt_stk_hi[i], __ATOMIC_ACQUIRE);

		if (hi && lo < end && hi > start)
			return 1;
	}
	return 0;
}

static int get_altstack(stack_t *cur)
{
	return (int)arch_syscall6(SYS_sigaltstack, 0, (long)cur, 0, 0, 0, 0);
}

static int set_altstack(const stack_t *st)
{
	return (int)arch_syscall6(SYS_sigaltstack, (long)st, 0, 0, 0, 0, 0);
}

static void destroy(void *p)
{
	stack_t cur, off = { .ss_flags = SS_DISABLE };

	if (get_altstack(&cur) == 0 && cur.ss_sp == p &&
	    !(cur.ss_flags & SS_ONSTACK))
		set_altstack(&off);
	altstack_free(p);
}

void *altstack_new(void)
{
	long p = sys_mmap(NULL, ALT_SIZE, PROT_READ | PROT_WRITE,
			  MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK, -1, 0);

	if (p < 0 && p > -4096) {
		log_warn_once("cannot map an alternate signal stack (errno %d)",
			      (int)-p);
		return NULL;
	}
	/* Never the program's locked memory: see altstack_unlock_all(). */
	sys_munlock((void *)p, ALT_SIZE);
	/* Entered before it is used: see the head comment. */
	if (registry_add((uintptr_t)p)) {
		log_warn_once("too many threads: some go without an alternate signal stack");
		sys_munmap((void *)p, ALT_SIZE);
		return NULL;
	}
	return (void *)p;
}

void altstack_free(void *p)
{
	sys_munmap(p, ALT_SIZE);
	registry_del((uintptr_t)p);
}

void altstack_use(void *p)
{
	stack_t cur, st;

	if (!p)
		return;
	if (get_altstack(&cur) != 0 || !(cur.ss_flags & SS_DISABLE)) {
		altstack_free(p);	/* the thread has one of its own */
		return;
	}
	st.ss_sp = p;
	st.ss_size = ALT_SIZE;
	st.ss_flags = 0;
	if (set_altstack(&st) != 0 ||
	    (alt_key_ok && pthread_setspecific(alt_key, p) != 0))
		altstack_free(p);
}

void altstack_init(void)
{
	stack_t cur;

	alt_key_ok = pthread_key_create(&alt_key, destroy) == 0;
	if (get_altstack(&cur) == 0 && (cur.ss_flags & SS_DISABLE))
		altstack_use(altstack_new());
}
