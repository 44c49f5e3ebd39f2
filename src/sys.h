/*
 * sys.h - the kernel calls of the library.
 *
 * Every memory-management and signal system call the library makes goes
 * through these wrappers: they enter the kernel directly (never through
 * the libc names we interpose, so nothing recurses), return the result
 * or -errno and leave errno untouched.
 *
 * Context: any, including the SIGSEGV handler (async-signal-safe).
 */
#ifndef LOF_SYS_H
#define LOF_SYS_H

#include <signal.h>
#include <stddef.h>
#include <sys/types.h>
#include <time.h>

#include "internal.h"

/* off is 64 bits on 32-bit too (mmap64); the kernel's mmap2 on 32-bit. */
LOF_AS_SAFE long sys_mmap(void *addr, size_t len, int prot, int flags, int fd,
			  off64_t off);
LOF_AS_SAFE int sys_munmap(void *addr, size_t len);
LOF_AS_SAFE long sys_mremap(void *old, size_t old_len, size_t new_len,
			    int flags, void *new_addr);
LOF_AS_SAFE int sys_mprotect(void *addr, size_t len, int prot);
LOF_AS_SAFE int sys_mlock(const void *addr, size_t len);
LOF_AS_SAFE int sys_mlock2(const void *addr, size_t len, unsigned int flags);
LOF_AS_SAFE int sys_munlock(const void *addr, size_t len);
LOF_AS_SAFE int sys_mlockall(int flags);
LOF_AS_SAFE int sys_munlockall(void);
LOF_AS_SAFE int sys_madvise(void *addr, size_t len, int advice);
LOF_AS_SAFE int sys_msync(void *addr, size_t len, int flags);
LOF_AS_SAFE int sys_mincore(void *addr, size_t len, unsigned char *vec);
LOF_AS_SAFE int sys_sigprocmask(int how, const sigset_t *set, sigset_t *old);
LOF_AS_SAFE int sys_tgkill_self(int sig);

/*
 * Fill set with every signal that can arrive asynchronously: all but
 * SIGSEGV, SIGBUS, SIGILL, SIGFPE, SIGTRAP and SIGSYS. Blocking those
 * would have the kernel kill the process on a fault instead of telling
 * its handler.
 */
LOF_AS_SAFE void sys_async_set(sigset_t *set);

/* Block the asynchronous signals; the old mask goes to *saved. */
LOF_AS_SAFE void sys_block_async(sigset_t *saved);
LOF_AS_SAFE ssize_t sys_write(int fd, const void *buf, size_t len);
LOF_AS_SAFE ssize_t sys_read(int fd, void *buf, size_t len);
LOF_AS_SAFE ssize_t sys_pread(int fd, void *buf, size_t len, off_t off);
LOF_AS_SAFE int sys_open(const char *path, int flags, int mode);
LOF_AS_SAFE int sys_close(int fd);
LOF_AS_SAFE long sys_file_size(const char *path);
LOF_AS_SAFE int sys_sched_yield(void);
/* The number a file such as /proc/sys/vm/max_map_count holds; 0 if none. */
LOF_AS_SAFE unsigned long sys_read_ulong(const char *path);
/*
 * Sleep while *addr == val, at most ns nanoseconds (a lost wake-up costs
 * that much, never a hang); wake every sleeper on addr. Process-private.
 * Waits are how a spin ends: a thread at a real-time priority spinning
 * with sched_yield() never lets a lower one on its CPU finish.
 */
LOF_AS_SAFE int sys_futex_wait(unsigned int *addr, unsigned int val, long ns);
LOF_AS_SAFE void sys_futex_wake(unsigned int *addr);
LOF_AS_SAFE pid_t sys_getpid(void);
LOF_AS_SAFE long long sys_clock_ns(void);

/* libc's clock_gettime, set once at init (interpose-io.c). */
extern int (*sys_vdso_clock_gettime)(clockid_t, struct timespec *);

#endif /* LOF_SYS_H */
