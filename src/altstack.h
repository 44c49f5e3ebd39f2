/*
 * altstack.h - an alternate signal stack for every thread (altstack.c).
 */
#ifndef LOF_ALTSTACK_H
#define LOF_ALTSTACK_H

#include <stdint.h>

/*
 * Create the per-thread key and give the calling thread its stack.
 * Context: init only.
 */
void altstack_init(void);

/*
 * Map a new 64 KiB alternate stack, registered; NULL if
 * none can be had (said once).
 * Context: not in a signal handler.
 */
void *altstack_new(void);

/* Unmap one that was never used. */
void altstack_free(void *p);

/*
 * Make p (from altstack_new, or NULL) the calling thread's alternate
 * stack, unless the thread has one already: then p is freed.
 * Context: a thread's start, not in a signal handler.
 */
void altstack_use(void *p);

/*
 * Unlock every alternate stack of ours: mlockall() locked them, and
 * charged them to the program's RLIMIT_MEMLOCK, as its own memory.
 * Context: any (raw system calls and atomic loads only).
 */
void altstack_unlock_all(void);

/*
 * Does [start, end) hold any thread's alternate stack of ours? The
 * engine never protects such a mapping.
 * Context: any, including signal handlers: lock-free, async-signal-safe.
 */
int altstack_within(uintptr_t start, uintptr_t end);

/*
 * Record [lo, hi) as the stack of the thread whose alternate stack is p
 * (from altstack_new), until p is freed.
 * Context: the thread's start, not in a signal handler.
 */
void altstack_thread_stack(const void *p, uintptr_t lo, uintptr_t hi);

/*
 * Does [start, end) meet the stack of a live thread recorded so?
 * Context: any (lock-free).
 */
int altstack_thread_stack_within(uintptr_t start, uintptr_t end);

#endif /* LOF_ALTSTACK_H */
