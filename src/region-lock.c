/*
 * region-lock.c - the writer lock of the region table.
 *
 * Kept apart from region.c because nothing here may run in the signal
 * handler: a pthread mutex, taken with every asynchronous signal
 * blocked so that no handler on the locking thread can try to take it
 * again (see region.c for the whole protocol).
 */
#include "config.h"
#include "region.h"

#include <pthread.h>
#include <signal.h>

#include "sys.h"

/* The writer lock of lof_regions. */
static pthread_mutex_t table_mutex = PTHREAD_MUTEX_INITIALIZER;

/*
 * How deep this thread is inside the engine: holding the writer lock,
 * or inside a reader section of the fault path (fault.c). A signal the
 * engine's own system call raises synchronously there (a seccomp
 * SIGSYS, which blocking cannot hold back) may run a program handler
 * that calls mlock or munmap: that call must not wait for the lock or
 * the reader this thread already holds (issue 12 h). engine.c sends it
 * straight to the kernel instead. (Defined in fault.c, whose readers
 * count in it too.)
 */
void region_lock(sigset_t *saved)
{
	sys_block_async(saved);
	pthread_mutex_lock(&table_mutex);
	lof_in_engine++;
}

void region_unlock(const sigset_t *saved)
{
	lof_in_engine--;
	pthread_mutex_unlock(&table_mutex);
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
