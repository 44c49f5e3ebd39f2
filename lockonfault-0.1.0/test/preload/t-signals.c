/*
 * t-signals.c - the program's SIGSEGV disposition, however and whenever
 * it is set, gets exactly what the kernel would give it.
 *
 * Linked against libearly.so (early.c), whose constructor installs a
 * SA_SIGINFO handler before main(): sigaction() reports it back in
 * main, and it gets its own fault (SEGV_MAPERR, si_addr). A handler
 * installed by another thread gets a later fault of the main thread, and
 * 64 MiB of pending pages still resolve afterwards. A SIGSEGV sent with
 * kill(), sigqueue() or raise() reaches the program's handler with the
 * sender's si_code (and si_value, si_pid), kills under SIG_DFL and is
 * ignored under SIG_IGN, where a real fault still kills. An SA_NODEFER
 * handler runs with SIGSEGV unblocked and is re-entered by a fault of
 * its own. sigset(), bsd_signal() and sysv_signal() install handlers
 * that get faults, are reported back, leave pending pages to the
 * library, and return the previous handler; sysv_signal()'s is reset on
 * delivery. A stack overflow kills by SIGSEGV with no handler, and
 * reaches an SA_ONSTACK handler on the program's alternate stack. A
 * thread whose stack lies in a region the program mlock()s runs 4 MiB
 * deep into it.
 *
 * Every fault runs in a forked child; the parent checks its wait status
 * and what its handlers recorded in shared memory. "Pending" is what the
 * engine leaves (probe_pending): PROT_NONE under sigsegv; rw-p, lo lf
 * and absent under native, where every check must hold as well.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include "probe.h"
#include "tap.h"

/* libearly.so (early.c): keep struct early_rec in step with it. */
#define EARLY_NOJUMP	71

struct early_rec {
	void (*handler)(int, siginfo_t *, void *);
	int installed;
	int kernel_before;
	sigjmp_buf *volatile jump;
	volatile int calls, signo, code;
	void *volatile addr;
};

extern struct early_rec early_rec;
void early_query(struct early_rec *out);

/*
 * glibc exports these; the headers hide bsd_signal under _GNU_SOURCE
 * and mark sigset deprecated, so they are bound by their symbol names.
 */
typedef void (*handler_fn)(int);
extern handler_fn t_sigset(int sig, handler_fn h) __asm__("sigset");
extern handler_fn t_bsd_signal(int sig, handler_fn h) __asm__("bsd_signal");
extern handler_fn t_sysv_signal(int sig, handler_fn h) __asm__("sysv_signal");

#define LPAGES		256		/* the parent's locked region */
#define BIG		(64UL << 20)	/* item 2: mlock()ed in a child */
#define BIG_TOUCH	1024		/* scattered pages written there */
#define TS_REGION	(16UL << 20)	/* item 7: the thread stack region */
#define TS_STACK	(8UL << 20)
#define TS_DEPTH	4096		/* frames of > 1 KiB: > 4 MiB */
#define TS_WORDS	128
#define STACK_CAP	(8UL << 20)	/* RLIMIT_STACK for overflows */
#define QVAL		0x5eed

static size_t pg;
static char *lk;	/* locked in the parent, pending */
static char *unmapped;	/* an address that is never mapped */

static volatile uint64_t *word(char *p, size_t page)
{
	return (volatile uint64_t *)(p + page * pg + 24);
}

/* ---- the program's handlers ---- */

static sigjmp_buf jb;
static volatile sig_atomic_t h_calls, h_signo, h_code, h_value;
static volatile sig_atomic_t h_mask_segv, h_mask_usr1, h_jump, h_refault;
static volatile pid_t h_pid;
static void *volatile h_addr;
static void *volatile h_addr2;	/* si_addr of a second, nested entry */

static void handler(int sig, siginfo_t *si, void *uc)
{
	sigset_t m;

	if (++h_calls == 1) {
		h_signo = sig == si->si_signo ? sig : -1;
		h_code = si->si_code;
		h_addr = si->si_addr;
		h_pid = si->si_pid;
		h_value = si->si_value.sival_int;
		sigprocmask(SIG_BLOCK, NULL, &m);
		h_mask_segv = sigismember(&m, SIGSEGV);
		h_mask_usr1 = sigismember(&m, SIGUSR1);
		if (h_refault)
			(void)*(volatile char *)(unmapped + 8);
	} else {
		h_addr2 = si->si_addr;
	}
	if (h_jump)
		siglongjmp(jb, 1);
}

static void plain(int sig)
{
	sigset_t m;

	h_calls++;
	h_signo = sig;
	sigprocmask(SIG_BLOCK, NULL, &m);
	h_mask_segv = sigismember(&m, SIGSEGV);
	siglongjmp(jb, 1);
}

/* The disposition before sigset() and co; never meant to run. */
static void plain_prev(int sig)
{
	_exit(9);
}

static void reset_h(void)
{
	h_calls = h_signo = h_code = h_value = 0;
	h_mask_segv = h_mask_usr1 = -1;
	h_pid = 0;
	h_addr = h_addr2 = NULL;
}

/* 1 if the access faulted into a program's handler that jumped out. */
static int fault(volatile char *a, int write)
{
	reset_h();
	h_jump = 1;
	if (sigsetjmp(jb, 1) == 0) {
		if (write)
			*a = 1;
		else
			(void)*a;
		return 0;
	}
	return 1;
}

/*
 * Writes a value of its own to each listed page of p, then reads them
 * all back. 1 if every value is right, 0 if not, -1 if a touch reached
 * the program's handler (which then jumps here) instead of the library.
 */
static int touch_pages(char *p, const size_t *pages, size_t n)
{
	volatile size_t i;

	reset_h();
	h_jump = 1;
	if (sigsetjmp(jb, 1))
		return -1;
	for (i = 0; i < n; i++)
		*word(p, pages[i]) = probe_mix(pages[i], 0x77);
	for (i = 0; i < n; i++)
		if (*word(p, pages[i]) != probe_mix(pages[i], 0x77))
			return 0;
	return 1;
}

/* 1 if sigaction() reports fn (SA_SIGINFO iff flags has it) and flags. */
static int reports(void *fn, int flags)
{
	struct sigaction old;

	if (sigaction(SIGSEGV, NULL, &old))
		return 0;
	if ((old.sa_flags & SA_SIGINFO) != (flags & SA_SIGINFO) ||
	    (old.sa_flags & flags) != flags)
		return 0;
	if (flags & SA_SIGINFO)
		return (void *)old.sa_sigaction == fn;
	return (void *)old.sa_handler == fn;
}

static int reports_default(void)
{
	struct sigaction old;

	return !sigaction(SIGSEGV, NULL, &old) && old.sa_handler == SIG_DFL;
}

/* ---- shared memory: what the children saw ---- */

struct rec {
	int faulted, calls, signo, code, value, mask_segv, mask_usr1;
	pid_t pid;
	void *addr, *addr2;
};

static struct shared {
	struct rec rec[3];
	int64_t val[8];
	void *ptr[4];
	char perms[8];
	volatile int step;	/* how far the child got */
} *sh;

static void record(struct rec *r, int faulted)
{
	r->faulted = faulted;
	r->calls = h_calls;
	r->signo = h_signo;
	r->code = h_code;
	r->value = h_value;
	r->mask_segv = h_mask_segv;
	r->mask_usr1 = h_mask_usr1;
	r->pid = h_pid;
	r->addr = h_addr;
	r->addr2 = h_addr2;
}

static int run_child(void (*fn)(void *), void *arg, const char *what)
{
	char buf[80];
	int st;

	memset(sh, 0, sizeof(*sh));
	st = probe_fork(fn, arg);
	if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
		diag("%s: child %s after step %d", what,
		     probe_status_str(st, buf, sizeof(buf)), sh->step);
	return st;
}

static int killed_by(int st, int sig, const char *what)
{
	char buf[80];

	if (WIFSIGNALED(st) && WTERMSIG(st) == sig)
		return 1;
	diag("%s: child %s, step %d", what,
	     probe_status_str(st, buf, sizeof(buf)), sh->step);
	return 0;
}

/* ---- 1. the constructor's handler ---- */

static void child_early(void *arg)
{
	struct early_rec e;
	volatile int faulted = 0;

	early_rec.jump = &jb;
	if (sigsetjmp(jb, 1) == 0)
		(void)*(volatile char *)unmapped;
	else
		faulted = 1;
	early_query(&e);
	sh->rec[0].faulted = faulted;
	sh->rec[0].calls = e.calls;
	sh->rec[0].signo = e.signo;
	sh->rec[0].code = e.code;
	sh->rec[0].addr = e.addr;
	sh->step = 1;
}

static void early_checks(void)
{
	struct early_rec e;
	struct sigaction old;
	struct rec *r = sh->rec;
	int got;

	early_query(&e);
	diag("libearly's constructor saw the kernel's SIGSEGV action %s",
	     e.kernel_before == 0 ? "SIG_DFL (engine not installed yet)" :
	     e.kernel_before == 1 ? "set (the engine's handler)" :
	     "unreadable");
	memset(&old, 0, sizeof(old));
	got = sigaction(SIGSEGV, NULL, &old) == 0;
	ok(e.installed && got && (old.sa_flags & SA_SIGINFO) &&
	   old.sa_sigaction == e.handler &&
	   sigismember(&old.sa_mask, SIGUSR2) == 1,
	   "sigaction(SIGSEGV, NULL) in main reports the handler libearly's "
	   "constructor installed (installed %d, got %p want %p, flags %#x)",
	   e.installed, (void *)old.sa_sigaction, (void *)e.handler,
	   (unsigned int)old.sa_flags);

	run_child(child_early, NULL, "early handler");
	ok(sh->step == 1 && r->faulted && r->calls == 1 &&
	   r->signo == SIGSEGV && r->code == SEGV_MAPERR &&
	   r->addr == unmapped,
	   "the constructor's handler gets its own fault: unmapped read, "
	   "SEGV_MAPERR, si_addr ok (calls %d, code %d, addr %p want %p)",
	   r->calls, r->code, r->addr, (void *)unmapped);
}

/* ---- 2. a handler installed by another thread ---- */

static void *installer(void *arg)
{
	*(int *)arg = probe_install_segv(handler, 0);
	return NULL;
}

static void child_thread_handler(void *arg)
{
	static size_t pages[BIG_TOUCH];
	size_t i, span = BIG / pg / BIG_TOUCH;
	uint64_t seed = 0x51e7a1ULL;
	pthread_t t;
	char *big;
	int r = -1;

	if (pthread_create(&t, NULL, installer, &r) ||
	    pthread_join(t, NULL))
		_exit(3);
	sh->val[0] = r == 0 && reports(handler, SA_SIGINFO);
	record(&sh->rec[0], fault(unmapped + 5, 0));
	sh->step = 1;

	big = mmap(NULL, BIG, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (big == MAP_FAILED)
		_exit(4);
	sh->val[1] = mlock(big, BIG) == 0 ? 0 : errno;
	probe_perms(big + BIG / 2, sh->perms);
	sh->val[2] = probe_present(big + BIG / 2);
	sh->val[5] = probe_pending(big + BIG / 2, "rw-p");
	sh->step = 2;
	for (i = 0; i < BIG_TOUCH; i++)
		pages[i] = i * span + probe_rand(&seed) % span;
	sh->val[3] = touch_pages(big, pages, BIG_TOUCH);
	sh->val[4] = h_calls;
	sh->step = 3;
}

static void thread_handler_checks(void)
{
	struct rec *r = sh->rec;

	run_child(child_thread_handler, NULL, "thread handler");
	ok(sh->step >= 1 && sh->val[0] == 1,
	   "a handler installed with sigaction() by another thread is "
	   "reported back in the main thread");
	ok(sh->step >= 1 && r->faulted && r->calls == 1 &&
	   r->code == SEGV_MAPERR && r->addr == unmapped + 5,
	   "... and gets a later fault of the main thread (calls %d, code %d, "
	   "addr %p want %p)", r->calls, r->code, r->addr,
	   (void *)(unmapped + 5));
	ok(sh->step >= 2 && sh->val[1] == 0 && sh->val[5] == 1 &&
	   sh->val[2] == 0,
	   "then a 64 MiB mlock() leaves its pages pending (mlock errno %d, "
	   "perms %s, present %d)", (int)sh->val[1], sh->perms,
	   (int)sh->val[2]);
	ok(sh->step == 3 && sh->val[3] == 1 && sh->val[4] == 0,
	   "%d scattered pending pages written and read back, none reaching "
	   "the program's handler (result %d: -1 = reached it, 0 = wrong "
	   "value)", BIG_TOUCH, (int)sh->val[3]);
}

/* ---- 3. SIGSEGV sent by kill(), sigqueue(), raise() ---- */

enum { BY_KILL, BY_SIGQUEUE, BY_RAISE, NSENDERS };

static const char *const sender_name[NSENDERS] = {
	"kill()", "sigqueue()", "raise()"
};

static int send_segv(int how)
{
	union sigval v;

	switch (how) {
	case BY_KILL:
		return kill(getpid(), SIGSEGV);
	case BY_SIGQUEUE:
		v.sival_int = QVAL;
		return sigqueue(getpid(), SIGSEGV, v);
	default:
		return raise(SIGSEGV);
	}
}

static void child_sent(void *arg)
{
	int how;

	(void)arg;
	if (probe_install_segv(handler, 0))
		_exit(3);
	h_jump = 0;	/* a sent signal's handler returns */
	sh->val[0] = getpid();
	for (how = 0; how < NSENDERS; how++) {
		reset_h();
		sh->val[1 + how] = send_segv(how);
		record(&sh->rec[how], 1);
		sh->step = how + 1;
	}
}

static void child_sent_dfl(void *arg)
{
	if (signal(SIGSEGV, SIG_DFL) == SIG_ERR)
		_exit(3);
	send_segv((int)(intptr_t)arg);
	sh->step = 1;	/* still alive: wrong */
}

static void child_sent_ign(void *arg)
{
	int how;

	(void)arg;
	if (signal(SIGSEGV, SIG_IGN) == SIG_ERR)
		_exit(3);
	for (how = 0; how < NSENDERS; how++) {
		if (send_segv(how))
			_exit(4);
		sh->step = how + 1;
	}
	(void)*(volatile char *)unmapped;	/* must kill */
	sh->step = 10;
}

static void sent_checks(void)
{
	static const int want[NSENDERS] = { SI_USER, SI_QUEUE, SI_TKILL };
	struct rec *r = sh->rec;
	int how, st;

	run_child(child_sent, NULL, "sent signals");
	for (how = 0; how < NSENDERS; how++)
		ok(sh->step > how && sh->val[1 + how] == 0 &&
		   r[how].calls == 1 && r[how].signo == SIGSEGV &&
		   r[how].code == want[how] && r[how].pid == sh->val[0] &&
		   (how != BY_SIGQUEUE || r[how].value == QVAL),
		   "SIGSEGV sent with %s reaches the program's handler with "
		   "si_code %d (calls %d, code %d, pid %d want %d, value %#x)",
		   sender_name[how], want[how], r[how].calls, r[how].code,
		   (int)r[how].pid, (int)sh->val[0], r[how].value);

	for (how = 0; how < NSENDERS; how++) {
		memset(sh, 0, sizeof(*sh));
		st = probe_fork(child_sent_dfl, (void *)(intptr_t)how);
		ok(killed_by(st, SIGSEGV, sender_name[how]) && sh->step == 0,
		   "SIGSEGV sent with %s under SIG_DFL kills by SIGSEGV",
		   sender_name[how]);
	}

	memset(sh, 0, sizeof(*sh));
	st = probe_fork(child_sent_ign, NULL);
	ok(sh->step >= NSENDERS,
	   "SIGSEGV sent with kill(), sigqueue() and raise() under SIG_IGN "
	   "is ignored (got through %d of 3)", sh->step);
	ok(killed_by(st, SIGSEGV, "SIG_IGN fault") && sh->step == NSENDERS,
	   "... while a real fault under SIG_IGN still kills by SIGSEGV");
}

/* ---- 4. SA_NODEFER ---- */

static void child_nodefer(void *arg)
{
	(void)arg;
	if (probe_install_segv(handler, SA_NODEFER))
		_exit(3);
	sh->val[0] = reports(handler, SA_SIGINFO | SA_NODEFER);
	h_refault = 1;
	record(&sh->rec[0], fault(unmapped + 1, 0));
	h_refault = 0;
	sh->step = 1;
}

static void nodefer_checks(void)
{
	struct rec *r = sh->rec;

	run_child(child_nodefer, NULL, "SA_NODEFER");
	ok(sh->step == 1 && sh->val[0] == 1 && r->faulted &&
	   r->addr == unmapped + 1 && r->mask_segv == 0 && r->mask_usr1 == 1,
	   "an SA_NODEFER handler is reported back and runs with SIGSEGV "
	   "unblocked, its sa_mask blocked (SIGSEGV %d, SIGUSR1 %d)",
	   r->mask_segv, r->mask_usr1);
	ok(sh->step == 1 && r->calls == 2 && r->addr2 == unmapped + 8,
	   "a fault inside the SA_NODEFER handler enters it again (calls %d, "
	   "second si_addr %p want %p)", r->calls, r->addr2,
	   (void *)(unmapped + 8));
}

/* ---- 5. sigset(), bsd_signal(), sysv_signal() ---- */

static const struct {
	const char *name;
	handler_fn (*set)(int, handler_fn);
	int oneshot;	/* SA_RESETHAND | SA_NODEFER, as glibc's */
} setter[] = {
	{ "sigset", t_sigset, 0 },
	{ "bsd_signal", t_bsd_signal, 0 },
	{ "sysv_signal", t_sysv_signal, 1 },
};

#define NSETTERS	((int)(sizeof(setter) / sizeof(setter[0])))
#define SET_PAGES	16

static void child_setter(void *arg)
{
	int i = (int)(intptr_t)arg;
	size_t pages[SET_PAGES], k;
	handler_fn prev;

	if (signal(SIGSEGV, plain_prev) == SIG_ERR)
		_exit(3);
	prev = setter[i].set(SIGSEGV, plain);
	sh->ptr[0] = (void *)prev;
	sh->val[0] = reports((void *)plain, 0);
	sh->step = 1;
	for (k = 0; k < SET_PAGES; k++)
		pages[k] = 64 * (size_t)i + k;
	sh->val[1] = touch_pages(lk, pages, SET_PAGES);
	sh->step = 2;
	record(&sh->rec[0], fault(unmapped + 3, 0));
	sh->val[2] = reports_default();
	sh->step = 3;
	if (!setter[i].oneshot)
		return;
	record(&sh->rec[1], fault(unmapped + 4, 0));	/* must kill */
	sh->step = 4;
}

static void setter_checks(void)
{
	struct rec *r = sh->rec;
	const char *n;
	char buf[80];
	int i, st;

	for (i = 0; i < NSETTERS; i++) {
		n = setter[i].name;
		memset(sh, 0, sizeof(*sh));
		st = probe_fork(child_setter, (void *)(intptr_t)i);
		ok(sh->step >= 1 && sh->ptr[0] == (void *)plain_prev,
		   "%s() returns the previous handler (got %p want %p)", n,
		   sh->ptr[0], (void *)plain_prev);
		ok(sh->step >= 1 && sh->val[0] == 1,
		   "sigaction() reports the %s() handler", n);
		ok(sh->step >= 2 && sh->val[1] == 1,
		   "pending pages touched after %s() resolve without reaching "
		   "its handler (result %d: -1 = reached it)", n,
		   (int)sh->val[1]);
		ok(sh->step >= 3 && r[0].faulted && r[0].calls == 1 &&
		   r[0].signo == SIGSEGV &&
		   r[0].mask_segv == !setter[i].oneshot,
		   "the %s() handler gets a fault, with SIGSEGV %s (calls %d, "
		   "SIGSEGV blocked %d)", n,
		   setter[i].oneshot ? "unblocked" : "blocked", r[0].calls,
		   r[0].mask_segv);
		if (!setter[i].oneshot) {
			if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
				diag("%s: child %s, step %d", n,
				     probe_status_str(st, buf, sizeof(buf)),
				     sh->step);
			continue;
		}
		ok(sh->step >= 3 && sh->val[2] == 1,
		   "%s(): SIG_DFL is reported after one delivery", n);
		ok(killed_by(st, SIGSEGV, n) && sh->step == 3,
		   "%s(): a second fault kills by SIGSEGV (calls %d)", n,
		   r[1].calls);
	}
}

/* ---- 6. stack overflow ---- */

static volatile int never = -1;
static volatile uintptr_t lowest;	/* the deepest frame reached */

static int recurse(int n)
{
	volatile char buf[1024];

	if (n == never)
		return 0;
	buf[0] = (char)n;
	lowest = (uintptr_t)buf;
	return recurse(n + 1) + buf[0];
}

static void cap_stack(void)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_STACK, &rl))
		_exit(5);
	if (rl.rlim_cur == RLIM_INFINITY || rl.rlim_cur > STACK_CAP)
		rl.rlim_cur = STACK_CAP;
	if (setrlimit(RLIMIT_STACK, &rl))
		_exit(5);
}

static void child_overflow_dfl(void *arg)
{
	struct rlimit core = { 0, 0 };

	(void)arg;
	if (getrlimit(RLIMIT_CORE, &core) == 0) {
		core.rlim_cur = 0;
		setrlimit(RLIMIT_CORE, &core);
	}
	if (signal(SIGSEGV, SIG_DFL) == SIG_ERR)
		_exit(3);
	cap_stack();
	recurse(0);
	sh->step = 1;
}

static char *alt;
#define ALT_SIZE	(1 << 16)

static void onstack_handler(int sig, siginfo_t *si, void *uc)
{
	stack_t cur;
	char here;

	sh->rec[0].calls++;
	sh->rec[0].signo = sig;
	sh->rec[0].code = si->si_code;
	sh->rec[0].addr = si->si_addr;
	sh->ptr[0] = (void *)lowest;
	sh->val[0] = &here >= alt && &here < alt + ALT_SIZE;
	sh->val[1] = sigaltstack(NULL, &cur) == 0 &&
		     (cur.ss_flags & SS_ONSTACK);
	_exit(0);
}

static void child_overflow_onstack(void *arg)
{
	struct sigaction sa;
	stack_t ss;

	(void)arg;
	cap_stack();
	alt = malloc(ALT_SIZE);
	ss.ss_sp = alt;
	ss.ss_size = ALT_SIZE;
	ss.ss_flags = 0;
	if (!alt || sigaltstack(&ss, NULL))
		_exit(3);
	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = onstack_handler;
	sa.sa_flags = SA_SIGINFO | SA_ONSTACK;
	sigemptyset(&sa.sa_mask);
	if (sigaction(SIGSEGV, &sa, NULL))
		_exit(4);
	recurse(0);
	_exit(6);
}

static void overflow_checks(void)
{
	struct rec *r = sh->rec;
	uintptr_t a, low;
	char buf[80];
	int st;

	memset(sh, 0, sizeof(*sh));
	st = probe_fork(child_overflow_dfl, NULL);
	ok(killed_by(st, SIGSEGV, "overflow, no handler"),
	   "a stack overflow with no handler dies of SIGSEGV");

	st = run_child(child_overflow_onstack, NULL, "overflow, SA_ONSTACK");
	a = (uintptr_t)r->addr;
	low = (uintptr_t)sh->ptr[0];
	ok(WIFEXITED(st) && WEXITSTATUS(st) == 0 && r->calls == 1 &&
	   r->signo == SIGSEGV && r->code == SEGV_MAPERR && low &&
	   a < low && low - a < 65536,
	   "a stack overflow reaches the SA_ONSTACK handler: SEGV_MAPERR, "
	   "si_addr just below the deepest frame (%s, code %d, %#lx below "
	   "it)", probe_status_str(st, buf, sizeof(buf)), r->code,
	   (unsigned long)(low - a));
	ok(WIFEXITED(st) && WEXITSTATUS(st) == 0 && sh->val[0] == 1 &&
	   sh->val[1] == 1,
	   "... running on the program's alternate stack (in it %d, "
	   "SS_ONSTACK %d)", (int)sh->val[0], (int)sh->val[1]);
}

/* ---- 7. a thread stack in a region the program locks ---- */

static uint64_t deep(int n)
{
	volatile uint64_t buf[TS_WORDS];
	uint64_t s;
	int i;

	for (i = 0; i < TS_WORDS; i++)
		buf[i] = probe_mix((uint64_t)n, (uint64_t)i);
	if (n == TS_DEPTH - 1)
		lowest = (uintptr_t)buf;
	s = n + 1 < TS_DEPTH ? deep(n + 1) : 0;
	for (i = 0; i < TS_WORDS; i += 17)
		s += buf[i];
	return s;
}

static uint64_t deep_want(void)
{
	uint64_t s = 0;
	int n, i;

	for (n = 0; n < TS_DEPTH; n++)
		for (i = 0; i < TS_WORDS; i += 17)
			s += probe_mix((uint64_t)n, (uint64_t)i);
	return s;
}

static void *stack_thread(void *arg)
{
	*(uint64_t *)arg = deep(0);
	return NULL;
}

static void child_thread_stack(void *arg)
{
	pthread_attr_t at;
	pthread_t t;
	uint64_t sum = 0;
	char *r;

	(void)arg;
	r = mmap(NULL, TS_REGION, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (r == MAP_FAILED)
		_exit(3);
	sh->val[0] = mlock(r, TS_REGION) == 0 ? 0 : errno;
	probe_perms(r + TS_REGION - pg, sh->perms);
	sh->val[1] = probe_present(r + TS_REGION - pg);
	sh->val[5] = probe_pending(r + TS_REGION - pg, "rw-p");
	sh->ptr[1] = r + TS_REGION - TS_STACK;
	sh->ptr[2] = r + TS_REGION;
	sh->step = 1;
	if (pthread_attr_init(&at) ||
	    pthread_attr_setstack(&at, r + TS_REGION - TS_STACK, TS_STACK) ||
	    pthread_create(&t, &at, stack_thread, &sum))
		_exit(4);
	sh->step = 2;
	if (pthread_join(t, NULL))
		_exit(5);
	sh->val[2] = (int64_t)sum;
	sh->ptr[0] = (void *)lowest;
	sh->step = 3;
}

static void thread_stack_checks(void)
{
	uintptr_t low, lo, hi;
	char buf[80];
	int st;

	st = run_child(child_thread_stack, NULL, "thread stack");
	ok(sh->step >= 1 && sh->val[0] == 0 && sh->val[5] == 1 &&
	   sh->val[1] == 0,
	   "a 16 MiB mlock()ed region is pending before a thread's stack is "
	   "put there (mlock errno %d, perms %s, present %d)",
	   (int)sh->val[0], sh->perms, (int)sh->val[1]);
	ok(WIFEXITED(st) && WEXITSTATUS(st) == 0 && sh->step == 3,
	   "a thread whose stack lies in it runs 4 MiB deep without dying "
	   "(%s, step %d)", probe_status_str(st, buf, sizeof(buf)), sh->step);
	low = (uintptr_t)sh->ptr[0];
	lo = (uintptr_t)sh->ptr[1];
	hi = (uintptr_t)sh->ptr[2];
	if (low < lo || low >= hi)
		low = hi;	/* not reached, or not in the region */
	ok(sh->step == 3 && (uint64_t)sh->val[2] == deep_want() &&
	   hi - low >= (4UL << 20),
	   "... and its frames, %lu KiB deep in the region, hold their "
	   "values (checksum %s)", (unsigned long)((hi - low) >> 10),
	   (uint64_t)sh->val[2] == deep_want() ? "right" : "wrong");
}

int main(void)
{
	char perms[5];

	plan(37);
	probe_require_preloaded();
	alarm(60);
	pg = probe_page_size();
	sh = mmap(NULL, sizeof(*sh), PROT_READ | PROT_WRITE,
		  MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (sh == MAP_FAILED)
		bail("mmap failed: %s", strerror(errno));
	/* Nothing is ever mapped this low without MAP_FIXED. */
	unmapped = (char *)(uintptr_t)0x10000;
	if (probe_perms(unmapped, perms) == 0)
		bail("%p is mapped (%s)", (void *)unmapped, perms);

	lk = mmap(NULL, LPAGES * pg, PROT_READ | PROT_WRITE,
		  MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (lk == MAP_FAILED)
		bail("mmap failed: %s", strerror(errno));
	if (mlock(lk, LPAGES * pg))
		diag("mlock failed: %s", strerror(errno));
	probe_perms(lk, perms);
	ok(probe_pending(lk, "rw-p") && probe_present(lk) == 0,
	   "a locked region of %d pages is pending (perms %s, %s engine)",
	   LPAGES, perms, probe_engine());

	early_checks();
	thread_handler_checks();
	sent_checks();
	nodefer_checks();
	setter_checks();
	overflow_checks();
	thread_stack_checks();

	munlock(lk, LPAGES * pg);
	munmap(lk, LPAGES * pg);
	return done();
}
