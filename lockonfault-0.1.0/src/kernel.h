/*
 * kernel.h - what this kernel and this process can do about locking,
 * and the engine LOCKONFAULT_ENGINE=auto chooses from it.
 *
 * The probe has no side effects: every call it makes is one the kernel
 * answers without changing anything (a zero-length mlock2, getrlimit,
 * capget, a read of /proc/sys/vm/max_map_count). The library runs it
 * once at load; the wrapper runs it for --probe.
 */
#ifndef LOF_KERNEL_H
#define LOF_KERNEL_H

#include <stdint.h>

#include "internal.h"

struct lof_kernel {
	int mlock2_errno;	/* errno of mlock2(NULL, 0, 0): 0, EPERM or ENOSYS */
	int onfault_errno;	/* errno of mlock2(NULL, 0, MLOCK_ONFAULT) */
	int has_onfault;	/* MLOCK_ONFAULT (and so MCL_ONFAULT) honoured */
	int cap_ipc_lock;	/* CAP_IPC_LOCK in the effective set */
	uint64_t memlock_cur;	/* RLIMIT_MEMLOCK, bytes; UINT64_MAX: unlimited */
	uint64_t memlock_max;
	unsigned long max_map_count; /* vm.max_map_count, 0 if unreadable */
};

/* The engines, as lof_mode names them (engine.h). */
enum lof_mode {
	LOF_MODE_PASS,	  /* off: every call goes to the kernel as it is */
	LOF_MODE_SIGSEGV, /* the user-space engine: table, PROT_NONE, faults */
	LOF_MODE_NATIVE,  /* the kernel's own ONFAULT flags */
};

/*
 * Fill *k. Context: init, or any thread outside a signal handler.
 */
void kernel_probe(struct lof_kernel *k);

/*
 * Does the calling thread have CAP_IPC_LOCK now? Capabilities can be
 * dropped after load, so the RLIMIT checks ask at each call.
 * Context: any (async-signal-safe: one capget).
 */
LOF_AS_SAFE int kernel_cap_ipc_lock(void);

/* RLIMIT_MEMLOCK's soft limit in bytes, UINT64_MAX for unlimited. */
LOF_AS_SAFE uint64_t kernel_memlock_limit(void);

/*
 * The engine for LOCKONFAULT_ENGINE=engine (enum lof_engine) and
 * LOCKONFAULT_CHARGE=charge on a kernel like *k; *why gets one line
 * saying why, for the info log, the report and --probe. Pure.
 */
int engine_choose(int engine, int charge, const struct lof_kernel *k,
		  const char **why);

/* "sigsegv", "native" or "off". */
const char *engine_mode_name(int mode);

#endif /* LOF_KERNEL_H */
