/*
 * fatal.c - write the LOCKONFAULT_STATS report when a signal's default
 * action ends the process.
 *
 * Only when a report was asked for. At start-up every signal whose
 * default action terminates the process (with or without a core), and
 * whose disposition is still SIG_DFL, gets our catcher instead; SIGKILL
 * cannot be caught and the real-time signals are left alone. SIGSEGV
 * is the engine's own under the SIGSEGV engine: sigchain.c writes the
 * report when it gives a SIGSEGV to the default action; under the other
 * engines it is caught here like the rest.
 *
 * The catcher writes the counter lines (stats_report_fatal: no malloc,
 * no stdio, no lock; the lines by call site take a lock and are left
 * out), restores SIG_DFL and lets the signal act: a fault (SIGILL,
 * SIGFPE, SIGBUS, SIGSEGV raised by an instruction) returns and
 * faults again, anything else is sent again to the thread with its
 * siginfo and unblocked, so the process dies of it as it would have,
 * core dump included.
 *
 * The program never sees the catcher: sigaction() reports SIG_DFL with
 * the flags and mask the kernel kept when the program last set it
 * (fatal_sigaction gives the kernel that SIG_DFL, reads it back, then
 * puts the catcher over it); setting
 * a handler or SIG_IGN replaces the catcher, setting SIG_DFL again puts
 * it back. A handler the kernel resets (SA_RESETHAND) goes to the real
 * SIG_DFL: that death is not reported.
 */
#include "config.h"
#include "fatal.h"

#include <errno.h>
#include <string.h>
#include <sys/syscall.h>

#include "arch.h"
#include "sigchain.h"
#include "stats.h"
#include "sys.h"

static const int fatal_sigs[] = {
	SIGHUP, SIGINT, SIGQUIT, SIGILL, SIGTRAP, SIGABRT, SIGBUS, SIGFPE,
	SIGUSR1, SIGUSR2, SIGPIPE, SIGALRM, SIGTERM, SIGSTKFLT, SIGXCPU,
	SIGXFSZ, SIGVTALRM, SIGPROF, SIGIO, SIGPWR, SIGSYS, SIGSEGV,
};

#define NSIG_STD 32

/* Per signal: 1 while the catcher stands for the program's SIG_DFL. */
static int ours[NSIG_STD];
/* What the program gave for it (SIG_DFL, its flags and mask). */
static struct sigaction prog[NSIG_STD];
/* Signals this file may catch at all (set once, at init). */
static int catchable[NSIG_STD];
/* Serialises the program's sigaction calls for these signals. */
static int busy;

static int is_dfl(const struct sigaction *a)
{
	return !(a->sa_flags & SA_SIGINFO) && a->sa_handler == SIG_DFL;
}

/* Context: a signal handler (async-signal-safe). */
static void catcher(int sig, siginfo_t *si, void *uc)
{
	struct sigaction dfl;
	sigset_t one;
	int fault = si->si_code > 0 &&
		    (sig == SIGILL || sig == SIGFPE || sig == SIGBUS ||
		     sig == SIGSEGV);

	(void)uc;
	stats_report_fatal(sig);
	memset(&dfl, 0, sizeof(dfl));
	dfl.sa_handler = SIG_DFL;
	sigemptyset(&dfl.sa_mask);
	real_sigaction(sig, &dfl, NULL);
	if (fault)
		return;	/* the instruction runs again, unhandled */
	arch_syscall6(SYS_rt_tgsigqueueinfo, sys_getpid(),
		      arch_syscall6(SYS_gettid, 0, 0, 0, 0, 0, 0), sig,
		      (long)si, 0, 0);
	sigemptyset(&one);
	sigaddset(&one, sig);
	sys_sigprocmask(SIG_UNBLOCK, &one, NULL);
	/* Not reached, unless the program really blocks it elsewhere. */
}

static void catcher_act(struct sigaction *a)
{
	memset(a, 0, sizeof(*a));
	a->sa_sigaction = catcher;
	a->sa_flags = SA_SIGINFO | SA_ONSTACK;
	sigfillset(&a->sa_mask);
}

void fatal_init(void)
{
	struct sigaction cur, c;

	if (!stats_wanted() || !real_sigaction)
		return;
	catcher_act(&c);
	for (size_t i = 0; i < ARRAY_SIZE(fatal_sigs); i++) {
		int sig = fatal_sigs[i];

		if (sig == SIGSEGV && sigchain_installed())
			continue;	/* the engine's; see sigchain.c */
		if (real_sigaction(sig, NULL, &cur) || !is_dfl(&cur))
			continue;
		if (real_sigaction(sig, &c, NULL))
			continue;
		prog[sig] = cur;
		ours[sig] = 1;
		catchable[sig] = 1;
	}
}

static void lock(sigset_t *saved)
{
	sigset_t all;

	sigfillset(&all);
	sys_sigprocmask(SIG_BLOCK, &all, saved);
	while (__atomic_exchange_n(&busy, 1, __ATOMIC_ACQUIRE))
		cpu_relax();
}

static void unlock(const sigset_t *saved)
{
	__atomic_store_n(&busy, 0, __ATOMIC_RELEASE);
	sys_sigprocmask(SIG_SETMASK, saved, NULL);
}

int fatal_sigaction(int sig, const struct sigaction *act,
		    struct sigaction *old, struct sigaction *was)
{
	struct sigaction c, prev;
	sigset_t saved;
	int r = 0;

	if (sig <= 0 || sig >= NSIG_STD || !catchable[sig])
		return 0;
	lock(&saved);
	if (act && is_dfl(act)) {
		/*
		 * Give the kernel the program's SIG_DFL and read it back, so
		 * that what we report is what the kernel (and libc, which
		 * adds its restorer) would: then put the catcher over it.
		 * Every signal is blocked on this thread meanwhile.
		 */
		struct sigaction now;

		if (real_sigaction(sig, act, &prev) ||
		    real_sigaction(sig, NULL, &now)) {
			r = -errno;
		} else {
			if (ours[sig])
				prev = prog[sig];
			prog[sig] = now;
			ours[sig] = 1;
			catcher_act(&c);
			real_sigaction(sig, &c, NULL);
			r = 1;
		}
	} else if (!act) {
		if (ours[sig]) {
			prev = prog[sig];
			r = 1;
		}
	} else if (ours[sig]) {
		/* A handler or SIG_IGN: the caller installs it. */
		*was = prog[sig];
		ours[sig] = 0;
		r = 2;
	}
	unlock(&saved);
	if (r == 1 && old)
		*old = prev;
	return r;
}
