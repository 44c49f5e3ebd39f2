/*
 * t-sigmask.c - pending pages work wherever a program blocks signals,
 * and the program still sees the mask it asked for.
 *
 * Programs block every signal in worker threads, in handlers
 * (sigfillset(&sa.sa_mask)) and around critical sections. With SIGSEGV
 * really blocked, the first touch of a pending page would kill the
 * process; the library never blocks it, but reports it blocked to the
 * program, and a genuine fault then kills as the kernel would. Under
 * the native engine nothing is pending and the library leaves masks
 * alone: the same calls must work, and the kernel holds the program's
 * own masks.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include "probe.h"
#include "tap.h"

#define SIZE (64UL << 20)

static size_t pg;
static char *region;
static volatile uint64_t sum;

/* Touch n pages from page first on: write, then read back. */
static int touch(size_t first, size_t n)
{
	for (size_t i = first; i < first + n; i++)
		region[i * pg * 7 % SIZE] = (char)i;
	for (size_t i = first; i < first + n; i++)
		if (region[i * pg * 7 % SIZE] != (char)i)
			return 0;
	return 1;
}

static void *worker(void *arg)
{
	return (void *)(intptr_t)touch(1000, 200);
}

static volatile int usr1_ok;
static volatile size_t usr1_first = 3000;

static void on_usr1(int sig)
{
	usr1_ok = touch(usr1_first, 100);
}

static void blocked_fault(void *arg)
{
	sigset_t all;

	sigfillset(&all);
	sigprocmask(SIG_BLOCK, &all, NULL);
	*(volatile int *)(uintptr_t)0x10000 = 1;
}

static volatile sig_atomic_t segv_sent, segv_code;

static void on_segv_sent(int sig, siginfo_t *si, void *uc)
{
	segv_sent++;
	segv_code = si->si_code;
}

int main(void)
{
	sigset_t all, m;
	pthread_t t;
	void *res;
	struct sigaction sa;
	int st;

	probe_require_preloaded();
	pg = probe_page_size();
	plan(15);

	/* Block everything before any lock call, as daemons do at start. */
	sigfillset(&all);
	ok(pthread_sigmask(SIG_BLOCK, &all, NULL) == 0,
	   "pthread_sigmask blocks every signal");
	region = mmap(NULL, SIZE, PROT_READ | PROT_WRITE,
		      MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (region == MAP_FAILED || mlock(region, SIZE))
		bail("mmap/mlock: %s", strerror(errno));
	ok(touch(0, 200), "pending pages work with every signal blocked");
	pthread_sigmask(SIG_BLOCK, NULL, &m);
	ok(sigismember(&m, SIGSEGV) == 1 && sigismember(&m, SIGUSR1) == 1,
	   "the program sees SIGSEGV blocked, as it asked");

	/* A thread inherits the full mask. */
	ok(pthread_create(&t, NULL, worker, NULL) == 0 &&
	   pthread_join(t, &res) == 0 && res == (void *)1,
	   "a thread created with every signal blocked uses pending pages");

	/* A handler whose sa_mask is full. */
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_usr1;
	sigfillset(&sa.sa_mask);
	sigaction(SIGUSR1, &sa, NULL);
	sigemptyset(&m);
	pthread_sigmask(SIG_SETMASK, &m, NULL);
	raise(SIGUSR1);
	ok(usr1_ok, "a handler with sigfillset(sa_mask) uses pending pages");
	memset(&sa, 0, sizeof(sa));
	sigaction(SIGUSR1, NULL, &sa);
	ok(sigismember(&sa.sa_mask, SIGUSR1) == 1 &&
	   sigismember(&sa.sa_mask, SIGSEGV) == 1,
	   "sigaction reports that handler's mask back whole, SIGSEGV included");
	{
		/* The kernel's layout of struct sigaction (x86_64, arm64). */
		struct {
			void *handler;
			unsigned long flags;
			void *restorer;
			uint64_t mask;
		} raw;

		/*
		 * The kernel's own record: the sigsegv engine leaves SIGSEGV
		 * out; the native engine has no handler to keep it open for,
		 * so the mask is the program's, whole.
		 */
		int segv;

		memset(&raw, 0, sizeof(raw));
		segv = probe_native();
		ok(syscall(SYS_rt_sigaction, SIGUSR1, NULL, &raw, 8) == 0 &&
		   (raw.mask & (1ULL << (SIGUSR1 - 1))) &&
		   !(raw.mask & (1ULL << (SIGSEGV - 1))) == !segv,
		   "the kernel's copy of that mask %s SIGSEGV (%s engine)",
		   segv ? "keeps" : "leaves out", probe_engine());
		sa.sa_handler = on_usr1;
		sigemptyset(&sa.sa_mask);
		sigaction(SIGUSR1, &sa, NULL);
		sigaction(SIGUSR1, NULL, &sa);
		ok(sigismember(&sa.sa_mask, SIGSEGV) == 0,
		   "a later mask without SIGSEGV is reported without it");
	}

	pthread_sigmask(SIG_SETMASK, NULL, &m);
	ok(sigismember(&m, SIGSEGV) == 0,
	   "unblocking is reported back too");

	/*
	 * Waiting with every signal but SIGUSR1 blocked: the SIGUSR1
	 * handler that runs inside the wait uses pending pages.
	 */
	{
		sigset_t one, wait_mask;

		usr1_ok = 0;
		sigemptyset(&one);
		sigaddset(&one, SIGUSR1);
		pthread_sigmask(SIG_BLOCK, &one, NULL);
		raise(SIGUSR1);
		sigfillset(&wait_mask);
		sigdelset(&wait_mask, SIGUSR1);
		usr1_first = 5000;
		ok(sigsuspend(&wait_mask) == -1 && errno == EINTR && usr1_ok,
		   "a handler run inside sigsuspend(all but one) uses pending pages");

		usr1_ok = 0;
		raise(SIGUSR1);
		usr1_first = 6000;
		ok(ppoll(NULL, 0, NULL, &wait_mask) == -1 && errno == EINTR &&
		   usr1_ok,
		   "a handler run inside ppoll(all but one) uses pending pages");
		pthread_sigmask(SIG_UNBLOCK, &one, NULL);
	}

	/* A SIGSEGV sent while the program blocks it waits, as the kernel's. */
	{
		sigset_t one, pend;

		memset(&sa, 0, sizeof(sa));
		sa.sa_sigaction = on_segv_sent;
		sa.sa_flags = SA_SIGINFO;
		sigaction(SIGSEGV, &sa, NULL);
		sigemptyset(&one);
		sigaddset(&one, SIGSEGV);
		sigprocmask(SIG_BLOCK, &one, NULL);
		raise(SIGSEGV);
		raise(SIGSEGV);
		sigemptyset(&pend);
		ok(segv_sent == 0 && sigpending(&pend) == 0 &&
		   sigismember(&pend, SIGSEGV) == 1,
		   "a SIGSEGV raised while blocked is held, and sigpending shows it");
		sigprocmask(SIG_UNBLOCK, &one, NULL);
		ok(segv_sent == 1 && segv_code == SI_TKILL,
		   "unblocking delivers it once, with its siginfo (%d, code %d)",
		   segv_sent, segv_code);
		sigemptyset(&pend);
		sigpending(&pend);
		ok(sigismember(&pend, SIGSEGV) == 0,
		   "and it is no longer pending");
		sa.sa_handler = SIG_DFL;
		sa.sa_flags = 0;
		sigaction(SIGSEGV, &sa, NULL);
	}

	/* With SIGSEGV blocked (as the program sees it), a real fault kills. */
	st = probe_fork(blocked_fault, NULL);
	ok(WIFSIGNALED(st) && WTERMSIG(st) == SIGSEGV,
	   "a genuine fault with SIGSEGV blocked kills by SIGSEGV");
	return done();
}
