/*
 * sigchain.h - the program's own SIGSEGV disposition, kept behind ours.
 *
 * Once the engine installs its handler, the program's sigaction() and
 * signal() calls for SIGSEGV change only the record here, and faults
 * that are not ours are delivered to that record as the kernel would
 * have delivered them.
 */
#ifndef LOF_SIGCHAIN_H
#define LOF_SIGCHAIN_H

#include <signal.h>

#include "internal.h"

typedef int (*lof_sigaction_fn)(int, const struct sigaction *,
				struct sigaction *);

/* libc's sigaction, resolved in sigchain_init(). */
extern lof_sigaction_fn real_sigaction;

/*
 * Resolve libc's sigaction.
 * Context: init only (constructor or first interposed call).
 */
void sigchain_init(void);

/*
 * Install handler for SIGSEGV, saving the current disposition as the
 * program's. Idempotent.
 * Context: not in a signal handler.
 * Return: 0 or -errno.
 */
int sigchain_install(void (*handler)(int, siginfo_t *, void *));

/* Has sigchain_install() succeeded? */
LOF_AS_SAFE int sigchain_installed(void);

/*
 * The program's sigaction for a signal we own (SIGSEGV once
 * installed): record act, report the program's previous action.
 * Context: as sigaction(2).
 * Return: 1 if handled here, 0 if the caller must pass the call to
 * libc, or -errno.
 */
int sigchain_sigaction(int sig, const struct sigaction *act,
		       struct sigaction *old);

/*
 * Deliver a signal the engine did not take to the program's own
 * disposition, as the kernel would have: its handler with its flags and
 * mask, or the default action (with a core dump), or nothing for an
 * ignored signal that was sent, not caused by a fault.
 * Context: the SIGSEGV handler (async-signal-safe).
 */
LOF_AS_SAFE void sigchain_deliver(int sig, siginfo_t *si, void *uc);

/*
 * The program's view of SIGSEGV on this thread: 1 if it believes the
 * signal blocked. Kept by the interposed sigprocmask/pthread_sigmask.
 * Context: any (async-signal-safe).
 */
LOF_AS_SAFE int sigchain_view(void);
LOF_AS_SAFE void sigchain_set_view(int blocked);

/* Is a sent SIGSEGV held for this thread or for the process (sigpending)? */
LOF_AS_SAFE int sigchain_held(void);

/*
 * A siglongjmp is about to restore a saved mask (if mask_saved): the
 * program's view of SIGSEGV follows it.
 * Context: any (async-signal-safe).
 */
LOF_AS_SAFE void sigchain_longjmp(int mask_saved, const sigset_t *saved);

/*
 * The mask a call is to wait with (sigsuspend, pselect, ppoll,
 * epoll_pwait), with SIGSEGV taken out once we own it: a handler that
 * runs during the wait must be able to touch pending pages. Returns
 * mask, or copy holding the changed mask.
 * Context: any (async-signal-safe).
 */
LOF_AS_SAFE const sigset_t *sigchain_wait_mask(const sigset_t *mask,
					       sigset_t *copy);

/* In a child after fork: forget a section another thread held. */
void sigchain_atfork_child(void);

#endif /* LOF_SIGCHAIN_H */
