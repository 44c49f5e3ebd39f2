/*
 * backtrace.h - a backtrace of a crashing thread (backtrace.c).
 */
#ifndef LOF_BACKTRACE_H
#define LOF_BACKTRACE_H

#include "internal.h"

/*
 * Write the calling thread's stack to stderr, one "lockonfault: #N"
 * line a frame, with the object and offset of each address.
 * Context: the SIGSEGV handler (async-signal-safe).
 */
LOF_AS_SAFE void backtrace_print(void);

#endif /* LOF_BACKTRACE_H */
