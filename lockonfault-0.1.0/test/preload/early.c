/*
 * early.c - libearly.so, for t-signals: a SIGSEGV handler installed
 * from a shared library's constructor, before the program's main() and
 * possibly before lockonfault's own constructor has run.
 *
 * The constructor first reads the kernel's SIGSEGV action with the raw
 * system call (which nothing interposes), so the test can tell whether
 * the engine's handler was already in place, then installs early_segv
 * with sigaction(SA_SIGINFO) and SIGUSR2 in its sa_mask. The handler
 * records what it got into the exported early_rec and siglongjmps
 * through early_rec.jump, which the test sets; with no jump buffer set
 * it exits EARLY_NOJUMP, since returning from a real fault would only
 * fault again. early_query() copies the record for the test.
 *
 * Keep struct early_rec in step with its copy in t-signals.c.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <setjmp.h>
#include <signal.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#define EARLY_NOJUMP	71

struct early_rec {
	void (*handler)(int, siginfo_t *, void *);	/* early_segv */
	int installed;		/* the constructor's sigaction() returned 0 */
	int kernel_before;	/* kernel action: 0 SIG_DFL, 1 set, -1 ? */
	sigjmp_buf *volatile jump;	/* set by the test */
	volatile int calls, signo, code;
	void *volatile addr;
};

__attribute__((visibility("default"))) struct early_rec early_rec;

void early_query(struct early_rec *out);

static void early_segv(int sig, siginfo_t *si, void *uc)
{
	early_rec.calls++;
	early_rec.signo = si->si_signo == sig ? sig : -1;
	early_rec.code = si->si_code;
	early_rec.addr = si->si_addr;
	if (early_rec.jump)
		siglongjmp(*early_rec.jump, 1);
	_exit(EARLY_NOJUMP);
}

/* The first word of the kernel's struct sigaction is the handler. */
static int kernel_action(void)
{
	unsigned long k[8];

	memset(k, 0, sizeof(k));
	if (syscall(SYS_rt_sigaction, SIGSEGV, NULL, k, _NSIG / 8))
		return -1;
	return k[0] != (unsigned long)SIG_DFL;
}

__attribute__((constructor)) static void early_init(void)
{
	struct sigaction sa;

	early_rec.handler = early_segv;
	early_rec.kernel_before = kernel_action();
	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = early_segv;
	sa.sa_flags = SA_SIGINFO;
	sigemptyset(&sa.sa_mask);
	sigaddset(&sa.sa_mask, SIGUSR2);
	early_rec.installed = sigaction(SIGSEGV, &sa, NULL) == 0;
}

__attribute__((visibility("default"))) void early_query(struct early_rec *out)
{
	memcpy(out, &early_rec, sizeof(*out));
}
