/*
 * engine.h - lock on fault: registering ranges and resolving faults.
 *
 * The functions the interposed libc names call: each goes to the engine
 * chosen at load (engine.c) and returns what the kernel would, 0 or
 * -errno (or a mapping address for mmap and mremap).
 */
#ifndef LOF_ENGINE_H
#define LOF_ENGINE_H

#include <stddef.h>
#include <stdint.h>
#include <signal.h>
#include <sys/types.h>

#include "internal.h"

#include "kernel.h"

struct maps_entry;

/* The engine that runs (enum lof_mode), and why: set once by engine_init(). */
extern int lof_mode;
extern const char *lof_engine_why;

/*
 * Choose the mode from lof_config and the kernel's abilities.
 * Context: init only.
 */
void engine_init(void);

/* mlock2(addr, len, flags) as the program called it; mlock is flags 0. */
int engine_mlock(const void *addr, size_t len, unsigned int flags,
		 int is_mlock2);
int engine_munlock(const void *addr, size_t len);
int engine_mlockall(int flags);
int engine_munlockall(void);
int engine_munmap(void *addr, size_t len);
int engine_mprotect(void *addr, size_t len, int prot);
long engine_mmap(void *addr, size_t len, int prot, int flags, int fd,
		 off_t off);
long engine_mremap(void *old, size_t old_len, size_t new_len, int flags,
		   void *new_addr);

/*
 * Make the pending pages of [addr, addr + len) accessible, before the
 * kernel reads or writes them for a system call: it would fail with
 * EFAULT instead of faulting. Pages are opened at the program's
 * protection, so an access it forbids still fails as without us.
 * Context: any, including signal handlers (async-signal-safe).
 */
LOF_AS_SAFE void engine_resolve(uintptr_t addr, size_t len);

/*
 * The same for a buffer the kernel only reads (write(2), send(2)): under
 * the emulation a private file mapping is opened read-only, so that the
 * pages the program has not written keep showing the file (fault.c).
 * Context: any, including signal handlers (async-signal-safe).
 */
LOF_AS_SAFE void engine_resolve_in(uintptr_t addr, size_t len);

/*
 * engine_resolve and engine_resolve_in open a buffer only up to its
 * first hole or PROT_NONE page, where the kernel's copy stops. This
 * opens every pending page of the range, past holes too: for
 * madvise(MADV_POPULATE_*), which the kernel applies mapping by
 * mapping across holes, and lof_resolve().
 * Context: any, including signal handlers (async-signal-safe).
 */
LOF_AS_SAFE void engine_open_range(uintptr_t addr, size_t len);

/*
 * Open the pending pages of the NUL-terminated string s (at most max
 * bytes long), and of the NULL-terminated array v and its strings,
 * before the kernel reads them. Never faults: a bad pointer is left for
 * the kernel to refuse with EFAULT (resolve-str.c).
 * Context: any thread, not in a signal handler.
 */
void engine_resolve_str(const char *s, size_t max);
void engine_resolve_strv(char *const *v, size_t max);

/*
 * The SIGSEGV handler.
 * Context: the SIGSEGV handler (async-signal-safe).
 */
LOF_AS_SAFE void engine_handler(int sig, siginfo_t *si, void *uc);

/* The kernel-flags engine (engine-native.c). */
int native_mlock(const void *addr, size_t len, unsigned int flags);
int native_mlockall(int flags);
long native_mmap(void *addr, size_t len, int prot, int flags, int fd,
		 off_t off);

/*
 * Would the kernel's populate fail on this file mapping? Pages past the
 * end of the file raise SIGBUS, which mlock reports as ENOMEM.
 */
/*
 * Does [start, end) meet a loaded object's PT_LOAD range (its code)?
 * Context: not in a signal handler (dl_iterate_phdr).
 */
int engine_is_object(uintptr_t start, uintptr_t end);

int engine_past_eof(const struct maps_entry *e);

/* Fork hooks, registered with pthread_atfork by init. */
void engine_atfork_prepare(void);
void engine_atfork_parent(void);
void engine_atfork_child(void);

#endif /* LOF_ENGINE_H */
