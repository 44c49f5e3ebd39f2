/*
 * init.c - start-up and shut-down of the library.
 *
 * The constructor initialises everything, but interposed calls may come
 * first (other libraries' constructors run before ours), so every
 * exported name calls lof_ready(), which initialises on first use. A
 * call made while initialisation runs (dlsym may mmap) goes straight to
 * the kernel.
 */
#include "config.h"
#include "interpose.h"

#include <errno.h>
#include <pthread.h>
#include <sys/mman.h>
#include <unistd.h>

#include "lockonfault.h"
#include "altstack.h"
#include "engine.h"
#include "fatal.h"
#include "log.h"
#include "options.h"
#include "report.h"
#include "sigchain.h"
#include "sites.h"
#include "stats.h"
#include "sys.h"

extern char **environ;

enum { INIT_NONE, INIT_RUNNING, INIT_DONE };

/* Written once by the thread that initialises; see lof_ready(). */
static int init_state = INIT_NONE;

static void init(void)
{
	lof_page_init();
	config_load(environ);
	sigchain_init();
	interpose_sig_init();
	interpose_io_init();
	interpose_thread_init();
	interpose_malloc_init();
	engine_init();
	stats_init();
	report_init();
	fatal_init();
	if (lof_mode == LOF_MODE_SIGSEGV)
		altstack_init();
	pthread_atfork(engine_atfork_prepare, engine_atfork_parent,
		       engine_atfork_child);
	pthread_atfork(sites_atfork_prepare, sites_atfork_release,
		       sites_atfork_release);
}

int lof_ready(void)
{
	int s = __atomic_load_n(&init_state, __ATOMIC_ACQUIRE);

	if (likely(s == INIT_DONE))
		return 1;
	if (s == INIT_NONE &&
	    __atomic_compare_exchange_n(&init_state, &s, INIT_RUNNING, 0,
					__ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE)) {
		init();
		__atomic_store_n(&init_state, INIT_DONE, __ATOMIC_RELEASE);
		return 1;
	}
	/* Another thread, or this one further up, is initialising. */
	return 0;
}

__attribute__((constructor)) static void lof_constructor(void)
{
	lof_ready();
}

__attribute__((destructor)) static void lof_destructor(void)
{
	if (__atomic_load_n(&init_state, __ATOMIC_ACQUIRE) != INIT_DONE)
		return;
	report_final("exit");
}

LOF_EXPORT const char *lof_version(void)
{
	return LOF_VERSION_STRING;
}

LOF_EXPORT const char *lof_engine(void)
{
	lof_ready();
	return engine_mode_name(lof_mode);
}

LOF_EXPORT int lof_lock_onfault(const void *addr, size_t len)
{
	int r = lof_ready() ? engine_mlock(addr, len, MLOCK_ONFAULT, 1)
			    : sys_mlock2(addr, len, MLOCK_ONFAULT);

	if (r < 0) {
		errno = -r;
		return -1;
	}
	stats_locked();
	sites_record((uintptr_t)__builtin_return_address(0),
		     LOF_CALL_LOCK_ONFAULT, addr, len, 0);
	return 0;
}

LOF_EXPORT void lof_resolve(const void *addr, size_t len)
{
	if (lof_ready())
		engine_open_range((uintptr_t)addr, len);
}
