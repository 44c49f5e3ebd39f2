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
 * Give the calling thread an alternate signal stack unless it has one.
 * Context: a thread's start, not in a signal handler.
 */
void altstack_thread(void);

/*
 * Does [start, end) hold any thread's alternate stack of ours? The
 * engine never protects such a mapping.
 * Context: any, including signal handlers: lock-free, async-signal-safe.
 */
int altstack_within(uintptr_t start, uintptr_t end);

#endif /* LOF_ALTSTACK_H */
