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
 * Block every signal that can arrive asynchronously. The synchronous
 * ones stay open: blocking them would make the kernel kill the process
 * on a fault instead of telling us.
 */
static void block_async(sigset_t *saved)
{
	sigset_t all;

	sigfillset(&all);
	sigdelset(&all, SIGSEGV);
	sigdelset(&all, SIGBUS);
	sigdelset(&all, SIGILL);
	sigdelset(&all, SIGFPE);
	sigdelset(&all, SIGTRAP);
	sigdelset(&all, SIGSYS);
	sys_sigprocmask(SIG_BLOCK, &all, saved);
}

void region_lock(sigset_t *saved)
{
	block_async(saved);
	pthread_mutex_lock(&table_mutex);
}

void region_unlock(const sigset_t *saved)
{
	pthread_mutex_unlock(&table_mutex);
	sys_sigprocmask(SIG_SETMASK, saved, NULL);
}

void region_atfork_prepare(void)
{
	pthread_mutex_lock(&table_mutex);
}

void region_atfork_release(void)
{
	pthread_mutex_unlock(&table_mutex);
}
