/*
 * interpose-sig.c - the exported signal calls: sigaction, signal,
 * bsd_signal, sysv_signal, sigset, sigprocmask, pthread_sigmask,
 * sigpending, sigsuspend, siglongjmp and longjmp.
 *
 * For SIGSEGV, once the engine's handler is installed, sigaction and
 * signal only change (and report) the program's own disposition kept
 * in sigchain.c; the mask calls never really block it but keep and
 * report the program's view of it; the jumps restore that view with
 * the mask they restore. With LOCKONFAULT_STATS, the signals whose
 * default action kills keep the report's catcher in place of SIG_DFL,
 * and sigaction reports SIG_DFL for it (fatal.c). Everything else goes
 * to libc unchanged.
 */
#include "config.h"

#include <dlfcn.h>
#include <pthread.h>
#include <setjmp.h>
#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <string.h>

#include "fatal.h"
#include "interpose.h"
#include "sigchain.h"

/* Signals whose handler's sa_mask, as the program gave it, has SIGSEGV. */
static uint64_t mask_segv;

/*
 * After a successful sigaction on sig: put SIGSEGV back into the old
 * mask reported if the program had it there, then record whether the
 * new one has it (segv 1 or 0; -1 when nothing was installed).
 */
static void report_mask(int sig, struct sigaction *old, int segv)
{
	uint64_t bit = sig > 0 && sig <= 64 ? (uint64_t)1 << (sig - 1) : 0;
	uint64_t was;

	if (!bit)
		return;
	if (segv < 0)
		was = __atomic_load_n(&mask_segv, __ATOMIC_RELAXED);
	else if (segv)
		was = __atomic_fetch_or(&mask_segv, bit, __ATOMIC_RELAXED);
	else
		was = __atomic_fetch_and(&mask_segv, ~bit, __ATOMIC_RELAXED);
	if (old && (was & bit))
		sigaddset(&old->sa_mask, SIGSEGV);
}

LOF_EXPORT int sigaction(int sig, const struct sigaction *act,
			 struct sigaction *old)
{
	struct sigaction was;
	int r, f;

	lof_ready();
	sigchain_init();
	if (!real_sigaction) {
		errno = ENOSYS;
		return -1;
	}
	/* The report's catcher stands in for SIG_DFL (fatal.c). */
	f = fatal_sigaction(sig, act, old, &was);
	if (f == 1)
		return 0;
	if (f < 0) {
		errno = -f;
		return -1;
	}
	r = sigchain_sigaction(sig, act, old);
	if (r == 1) {
		if (f == 2 && old)
			*old = was;
		return 0;
	}
	if (r < 0) {
		errno = -r;
		return -1;
	}
	/*
	 * Another signal's handler must not really block SIGSEGV while it
	 * runs: pending pages it touches would kill the process. The bit
	 * for sig in mask_segv remembers that the program asked for it, so
	 * that the mask is reported back as it was given.
	 */
	if (act && sigchain_installed() && sigismember(&act->sa_mask, SIGSEGV)) {
		struct sigaction copy = *act;

		sigdelset(&copy.sa_mask, SIGSEGV);
		r = real_sigaction(sig, &copy, old);
		if (r == 0)
			report_mask(sig, old, 1);
		if (r == 0 && f == 2 && old)
			*old = was;
		return r;
	}
	r = real_sigaction(sig, act, old);
	if (r == 0)
		report_mask(sig, old, act ? 0 : -1);
	if (r == 0 && f == 2 && old)
		*old = was;
	return r;
}

/* Install handler with flags through our sigaction; return the old one. */
static sighandler_t set_handler(int sig, sighandler_t handler, int flags,
				int mask_self)
{
	struct sigaction act, old;

	if (handler == SIG_ERR || sig <= 0 || sig >= NSIG) {
		errno = EINVAL;
		return SIG_ERR;
	}
	memset(&act, 0, sizeof(act));
	act.sa_handler = handler;
	sigemptyset(&act.sa_mask);
	if (mask_self)
		sigaddset(&act.sa_mask, sig);
	act.sa_flags = flags;
	if (sigaction(sig, &act, &old) < 0)
		return SIG_ERR;
	return old.sa_handler;
}

sighandler_t bsd_signal(int sig, sighandler_t handler);
sighandler_t sysv_signal(int sig, sighandler_t handler);

/* signal() and bsd_signal(): glibc's BSD semantics. */
LOF_EXPORT sighandler_t signal(int sig, sighandler_t handler)
{
	return set_handler(sig, handler, SA_RESTART, 1);
}

LOF_EXPORT sighandler_t bsd_signal(int sig, sighandler_t handler)
{
	return set_handler(sig, handler, SA_RESTART, 1);
}

/* sysv_signal(): reset on delivery, not blocked while it runs. */
LOF_EXPORT sighandler_t sysv_signal(int sig, sighandler_t handler)
{
	return set_handler(sig, handler, SA_RESETHAND | SA_NODEFER, 0);
}

/*
 * sigset() (System V): SIG_HOLD blocks the signal; anything else
 * installs it and unblocks the signal. Returns SIG_HOLD if the signal
 * was blocked before, else the previous handler.
 */
LOF_EXPORT sighandler_t sigset(int sig, sighandler_t disp)
{
	struct sigaction old;
	sighandler_t prev;
	sigset_t one, was;

	if (sig <= 0 || sig >= NSIG || disp == SIG_ERR) {
		errno = EINVAL;
		return SIG_ERR;
	}
	sigemptyset(&one);
	sigaddset(&one, sig);
	if (disp == SIG_HOLD) {
		if (sigaction(sig, NULL, &old) < 0 ||
		    sigprocmask(SIG_BLOCK, &one, &was) < 0)
			return SIG_ERR;
		return sigismember(&was, sig) == 1 ? SIG_HOLD : old.sa_handler;
	}
	prev = set_handler(sig, disp, 0, 0);
	if (prev == SIG_ERR || sigprocmask(SIG_UNBLOCK, &one, &was) < 0)
		return SIG_ERR;
	return sigismember(&was, sig) == 1 ? SIG_HOLD : prev;
}

typedef int (*mask_fn)(int, const sigset_t *, sigset_t *);
typedef void (*jump_fn)(struct __jmp_buf_tag *, int);

/*
 * libc's versions, resolved by interpose_sig_init() at start-up (these
 * calls may come from signal handlers, where dlsym must not run), or on
 * a first call made before it.
 */
static mask_fn real_sigprocmask, real_pthread_sigmask;
static int (*real_sigsuspend)(const sigset_t *);
static jump_fn real_siglongjmp, real_longjmp, real_longjmp_chk;

static void *next(const char *name)
{
	return dlsym(RTLD_NEXT, name);
}

void interpose_sig_init(void)
{
	real_sigprocmask = (mask_fn)next("sigprocmask");
	real_pthread_sigmask = (mask_fn)next("pthread_sigmask");
	real_sigsuspend = (int (*)(const sigset_t *))next("sigsuspend");
	real_siglongjmp = (jump_fn)next("siglongjmp");
	real_longjmp = (jump_fn)next("longjmp");
	real_longjmp_chk = (jump_fn)next("__longjmp_chk");
}

/*
 * Call real with set less SIGSEGV, then record and report the
 * program's view. Returns what real returned.
 */
static int mask_call(mask_fn real, int how, const sigset_t *set,
		     sigset_t *old)
{
	int prev = sigchain_view(), now = prev, r;
	sigset_t copy;

	if (set && sigchain_installed()) {
		if (how == SIG_BLOCK && sigismember(set, SIGSEGV))
			now = 1;
		else if (how == SIG_UNBLOCK && sigismember(set, SIGSEGV))
			now = 0;
		else if (how == SIG_SETMASK)
			now = sigismember(set, SIGSEGV) == 1;
		copy = *set;
		sigdelset(&copy, SIGSEGV);
		set = &copy;
	}
	r = real(how, set, old);
	if (r == 0) {
		if (old && prev)
			sigaddset(old, SIGSEGV);
		sigchain_set_view(now);
	}
	return r;
}

LOF_EXPORT int sigprocmask(int how, const sigset_t *set, sigset_t *old)
{
	if (!real_sigprocmask)
		real_sigprocmask = (mask_fn)next("sigprocmask");
	return mask_call(real_sigprocmask, how, set, old);
}

LOF_EXPORT int pthread_sigmask(int how, const sigset_t *set, sigset_t *old)
{
	if (!real_pthread_sigmask)
		real_pthread_sigmask = (mask_fn)next("pthread_sigmask");
	return mask_call(real_pthread_sigmask, how, set, old);
}

/* A SIGSEGV held for the thread is pending, as far as it can tell. */
LOF_EXPORT int sigpending(sigset_t *set)
{
	static int (*real_sigpending)(sigset_t *);
	int r;

	if (!real_sigpending)
		real_sigpending = (int (*)(sigset_t *))next("sigpending");
	r = real_sigpending(set);
	if (r == 0 && sigchain_held())
		sigaddset(set, SIGSEGV);
	return r;
}

static void before_jump(struct __jmp_buf_tag *env)
{
	sigchain_longjmp(env->__mask_was_saved, &env->__saved_mask);
}

LOF_EXPORT void siglongjmp(sigjmp_buf env, int val)
{
	if (!real_siglongjmp)
		real_siglongjmp = (jump_fn)next("siglongjmp");
	before_jump(env);
	real_siglongjmp(env, val);
	__builtin_unreachable();
}

LOF_EXPORT void longjmp(jmp_buf env, int val)
{
	if (!real_longjmp)
		real_longjmp = (jump_fn)next("longjmp");
	before_jump(env);
	real_longjmp(env, val);
	__builtin_unreachable();
}

/* What longjmp and siglongjmp become under _FORTIFY_SOURCE. */
void __longjmp_chk(jmp_buf env, int val) __attribute__((noreturn));

LOF_EXPORT void __longjmp_chk(jmp_buf env, int val)
{
	if (!real_longjmp_chk)
		real_longjmp_chk = (jump_fn)next("__longjmp_chk");
	before_jump(env);
	real_longjmp_chk(env, val);
	__builtin_unreachable();
}

/* sigsuspend: wait with the program's mask, less SIGSEGV (sigchain.c). */
LOF_EXPORT int sigsuspend(const sigset_t *mask)
{
	sigset_t copy;

	if (!real_sigsuspend)
		real_sigsuspend = (int (*)(const sigset_t *))next("sigsuspend");
	return real_sigsuspend(sigchain_wait_mask(mask, &copy));
}
