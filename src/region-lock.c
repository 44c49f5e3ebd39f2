/*
 * region-lock.c - the writer lock of the region table, and the fast
 * sections that let the program's calls skip it.
 *
 * Kept apart from region.c because nothing here may run in the signal
 * handler: a pthread mutex, taken with every asynchronous signal
 * blocked so that no handler on the locking thread can try to take it
 * again (see region.c for the whole protocol).
 *
 * Fast sections (issue 12 g). munlock, munlockall, munmap, mprotect,
 * mremap and mmap(MAP_FIXED) on memory the table knows nothing of go
 * straight to the kernel: taking the lock for each would serialize
 * every thread's munmap behind every other's. But "the table knows
 * nothing of it" must stay true until the kernel has answered. A lock
 * call registering the same range on another thread reads the mapping
 * (/proc/self/maps), adds an entry and protects it; a munlock that
 * looked at the table before the entry and reached the kernel after
 * the protection left a PROT_NONE page that was no longer locked (the
 * fault path took it for stale, and the next touch killed the
 * process), and an mprotect(PROT_READ) in the same window was lost
 * (the entry kept the protection read before it, and a write opened
 * the page read-write). A check of a generation before and after the
 * call cannot help: the kernel has acted by then, and some of these
 * calls (munmap, mremap) cannot be undone or repeated.
 *
 * So the fast section is a Dekker handshake with the writer lock:
 *  - a fast section counts itself in fast_active, then looks at
 *    writer_in; a writer sets writer_in, then waits until fast_active
 *    holds no one but its own thread. Both with sequentially
 *    consistent operations: at least one of the two sees the other.
 *  - a fast section that sees a writer leaves at once and takes the
 *    lock instead (the slow path). One that sees none holds the table
 *    still: no entry can be added until it leaves, so its look at the
 *    table stays true across its system call, and any registration
 *    after it reads the mapping as the kernel left it. Every order of
 *    the two calls is then one the kernel could have given.
 *  - a writer waits only for sections that began before it: the ones
 *    that begin after it see writer_in and leave within a few
 *    instructions. It spins briefly, then sleeps on fast_active
 *    (issue 12 i): a section preempted by a real-time writer on its
 *    CPU gets to run.
 *  - fast sections run with asynchronous signals blocked, so a program
 *    handler never runs inside one (nor leaves it by longjmp, which
 *    would stall every writer), and with lof_in_engine raised, so a
 *    synchronous signal raised by its system call (a seccomp SIGSYS)
 *    whose handler calls mlock sends that call straight to the kernel.
 *    A writer on a thread already inside a fast section (such a
 *    handler reaching the lock some other way) does not wait for it.
 * Fast sections never wait for each other, nor for the fault path.
 */
#include "config.h"
#include "region.h"

#include <pthread.h>
#include <signal.h>

#include "sys.h"

/* The writer lock of lof_regions. */
static pthread_mutex_t table_mutex = PTHREAD_MUTEX_INITIALIZER;

/* Fast sections in progress, and this thread's share of them. */
static unsigned int fast_active;
static LOF_TLS unsigned int fast_mine;
/* A writer holds the lock; a writer sleeps on fast_active. */
static unsigned int writer_in;
static unsigned int writer_waiting;

/* Wait until no other thread's fast section is left. Lock held. */
static void wait_for_fast(void)
{
	unsigned int n, spins = 0;

	while ((n = __atomic_load_n(&fast_active, __ATOMIC_SEQ_CST)) !=
	       fast_mine) {
		if (++spins <= 128) {
			cpu_relax();
			continue;
		}
		__atomic_store_n(&writer_waiting, 1, __ATOMIC_SEQ_CST);
		if (__atomic_load_n(&fast_active, __ATOMIC_SEQ_CST) == n)
			sys_futex_wait(&fast_active, n, 1000000);
	}
	__atomic_store_n(&writer_waiting, 0, __ATOMIC_RELAXED);
}

/*
 * How deep this thread is inside the engine: holding the writer lock,
 * in a fast section, or inside a reader section of the fault path
 * (fault.c). A signal the engine's own system call raises synchronously
 * there (a seccomp SIGSYS, which blocking cannot hold back) may run a
 * program handler that calls mlock or munmap: that call must not wait
 * for the lock or the reader this thread already holds (issue 12 h).
 * engine.c sends it straight to the kernel instead. (Defined in
 * fault.c, whose readers count in it too.)
 */
void region_lock(sigset_t *saved)
{
	sys_block_async(saved);
	pthread_mutex_lock(&table_mutex);
	lof_in_engine++;
	__atomic_store_n(&writer_in, 1, __ATOMIC_SEQ_CST);
	wait_for_fast();
}

void region_unlock(const sigset_t *saved)
{
	__atomic_store_n(&writer_in, 0, __ATOMIC_RELEASE);
	lof_in_engine--;
	pthread_mutex_unlock(&table_mutex);
	sys_sigprocmask(SIG_SETMASK, saved, NULL);
}

static void fast_leave(void)
{
	__atomic_sub_fetch(&fast_active, 1, __ATOMIC_SEQ_CST);
	if (__atomic_load_n(&writer_waiting, __ATOMIC_SEQ_CST))
		sys_futex_wake(&fast_active);
	fast_mine--;
	lof_in_engine--;
}

int region_fast_enter(sigset_t *saved)
{
	sys_block_async(saved);
	lof_in_engine++;
	fast_mine++;
	__atomic_add_fetch(&fast_active, 1, __ATOMIC_SEQ_CST);
	if (!__atomic_load_n(&writer_in, __ATOMIC_SEQ_CST))
		return 1;
	fast_leave();
	sys_sigprocmask(SIG_SETMASK, saved, NULL);
	return 0;
}

void region_fast_exit(const sigset_t *saved)
{
	fast_leave();
	sys_sigprocmask(SIG_SETMASK, saved, NULL);
}

/*
 * The mask of the forking thread while it holds the lock across fork.
 * Per thread: two threads forking at once take the lock in turn, and
 * region_unlock restores the mask after it lets the next one in, which
 * would then overwrite a shared copy before it was read (issue 12 j).
 */
static LOF_TLS sigset_t fork_saved;

void region_atfork_prepare(void)
{
	region_lock(&fork_saved);
}

void region_atfork_release(void)
{
	region_unlock(&fork_saved);
}

void region_atfork_child(void)
{
	/*
	 * A thread of the parent may have counted itself in a fast section
	 * after the lock's wait and before fork, and left it only there.
	 */
	__atomic_store_n(&fast_active, 0, __ATOMIC_RELAXED);
	__atomic_store_n(&writer_waiting, 0, __ATOMIC_RELAXED);
	region_unlock(&fork_saved);
}
