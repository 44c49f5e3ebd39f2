/*
 * interpose.h - what the exported libc names need from init.c.
 */
#ifndef LOF_INTERPOSE_H
#define LOF_INTERPOSE_H

#include "internal.h"

/*
 * Initialise the library if nobody has yet.
 * Context: any interposed call, before or after the constructor.
 * Return: 1 when the engine may be used, 0 while initialisation is
 * under way (a call made from inside it goes straight to the kernel).
 */
int lof_ready(void);

/*
 * Resolve libc's signal-mask and jump calls.
 * Context: init only.
 */
void interpose_sig_init(void);

/*
 * Resolve libc's buffer-taking calls (read, recv, write, ...).
 * Context: init only.
 */
void interpose_io_init(void);

/*
 * A memory or lock call made through syscall(3) with the arguments
 * a[0..5], from return address pc: served as its libc function is
 * (interpose-mm.c). Return: 1 with *ret as syscall(3) returns it, or 0
 * for any other number.
 */
int mm_syscall(long nr, const long *a, uintptr_t pc, long *ret);

/*
 * Open the pending buffers of system call nr, about to be made with
 * the arguments a[0..5], where the kernel would get EFAULT
 * (interpose-kio.c). Other numbers: nothing.
 */
void kio_syscall(long nr, const long *a);

/* The same, after the call returned r (as syscall() returns it). */
void kio_syscall_done(long nr, const long *a, long r);

/*
 * io_uring rings (interpose-uring.c): a ring set up as fd with the
 * parameters the kernel filled in; the program's mmap of its fd at
 * off; an io_uring_enter that submits to_submit entries, whose
 * buffers are opened first.
 */
void uring_setup_done(long fd, const void *params);
void uring_mmap_done(long addr, int fd, long off);
void uring_enter(long fd, long to_submit, long flags);

/*
 * Resolve the allocator's malloc family (interpose-malloc.c).
 * Context: init, or the first allocation.
 */
void interpose_malloc_init(void);

/*
 * Resolve libc's pthread_create.
 * Context: init only.
 */
void interpose_thread_init(void);

#endif /* LOF_INTERPOSE_H */
