/*
 * t-regress.c - regression tests for defects found by hand or by a
 * differential comparison with the kernel's own lock-on-fault
 * (issue 12), each failing before its fix. Every case runs in a child
 * with a watchdog, so a hang fails the test instead of stalling it.
 *
 *  b. A zero-length mlock inside a file mapping, then fork: the engine
 *     once registered an empty range, which no removal could take out
 *     of the table; the child's fork hook looped on it for ever.
 *  h. A synchronous signal raised by one of the engine's own system
 *     calls while it holds its table lock (a seccomp SIGSYS trapping
 *     openat, which the engine uses to read /proc under the lock, as a
 *     sandbox might), whose handler calls mlock: the handler's call
 *     must not wait for the lock its own thread holds. The handler
 *     makes the trapped call fail with ENOSYS, as a sandbox would.
 *  j. Two threads forking at once, each with its own signal mask: the
 *     mask saved across fork was one static, so a thread could come
 *     back from fork with the other's mask.
 *  k. A thread running on a stack the program gave it, in a pool the
 *     program locks after the thread started: the top of that stack
 *     holds the thread's descriptor and TLS, which must never become
 *     PROT_NONE (the thread's own errno, and the fault handler's
 *     per-thread state, live there).
 *  m. No file descriptor left (RLIMIT_NOFILE reached), so the engine
 *     cannot read /proc/self/maps: mlock used to fail with EMFILE after
 *     the kernel had accepted the lock. It must return 0, and the
 *     range be locked (lazily, or the ordinary way where the kernel
 *     has no lock-on-fault), with the data intact.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <stddef.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <ucontext.h>
#include <unistd.h>

#include "probe.h"
#include "tap.h"

#define WATCHDOG 20	/* seconds */

static void zero_length_then_fork(void *arg)
{
	char dir[256], path[300];
	char *p;
	pid_t c;
	int fd, st;

	(void)arg;
	if (probe_tmpdir(dir, sizeof(dir), "regress"))
		_exit(10);
	snprintf(path, sizeof(path), "%s/data", dir);
	fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
	unlink(path);
	rmdir(dir);
	if (fd < 0 || ftruncate(fd, 1 << 20))
		_exit(11);
	p = mmap(NULL, 1 << 20, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
	if (p == MAP_FAILED)
		_exit(12);
	if (mlock(p + 0xd000, 0))
		_exit(13);
	c = fork();
	if (c == 0) {
		p[5] = 1;
		_exit(0);
	}
	if (c < 0 || waitpid(c, &st, 0) != c || !WIFEXITED(st) ||
	    WEXITSTATUS(st) != 0)
		_exit(14);
	p[6] = 1;
	_exit(0);
}

static void no_fd_left(void *arg)
{
	struct rlimit rl, tight;
	size_t len = 16 << 20, pg = probe_page_size();
	char *p;
	long kb;
	int r, err, fd;

	(void)arg;
	p = mmap(NULL, len, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED || getrlimit(RLIMIT_NOFILE, &rl))
		_exit(20);
	p[0] = 7;
	/* The lowest free descriptor is the count in use (0, 1, 2...). */
	fd = dup(0);
	if (fd < 0)
		_exit(21);
	close(fd);
	tight = rl;
	tight.rlim_cur = (rlim_t)fd;
	if (setrlimit(RLIMIT_NOFILE, &tight))
		_exit(22);
	r = mlock(p, len);
	err = errno;
	setrlimit(RLIMIT_NOFILE, &rl);
	if (r) {
		printf("# m: mlock gave %d errno %d\n", r, err);
		_exit(23);
	}
	p[5 * pg] = 8;
	kb = probe_locked_kb(p, len);
	if (kb < 8 || p[0] != 7) {
		printf("# m: Locked %ld kB, data %d\n", kb, p[0]);
		_exit(24);
	}
	_exit(0);
}

static volatile int mask_bad;

static void *forker(void *arg)
{
	int sig = (int)(intptr_t)arg;
	sigset_t mine, now;

	sigemptyset(&mine);
	sigaddset(&mine, sig);
	pthread_sigmask(SIG_SETMASK, &mine, NULL);
	for (int i = 0; i < 300; i++) {
		pid_t c = fork();

		if (c == 0)
			_exit(0);
		if (c > 0)
			waitpid(c, NULL, 0);
		pthread_sigmask(SIG_SETMASK, NULL, &now);
		if (sigismember(&now, sig) != 1 ||
		    sigismember(&now, sig == SIGUSR1 ? SIGUSR2 : SIGUSR1) != 0)
			mask_bad++;
	}
	return NULL;
}

static void forks_at_once(void *arg)
{
	pthread_t a, b;

	(void)arg;
	if (pthread_create(&a, NULL, forker, (void *)(intptr_t)SIGUSR1) ||
	    pthread_create(&b, NULL, forker, (void *)(intptr_t)SIGUSR2))
		_exit(30);
	pthread_join(a, NULL);
	pthread_join(b, NULL);
	if (mask_bad)
		printf("# j: %d forks came back with the wrong mask\n", mask_bad);
	_exit(mask_bad ? 31 : 0);
}

static char *scratch;
static volatile int sigsys_seen;

static void on_sigsys(int sig, siginfo_t *si, void *uc)
{
	(void)sig;
	(void)si;
#if defined(__x86_64__)
	((ucontext_t *)uc)->uc_mcontext.gregs[REG_RAX] = -ENOSYS;
#elif defined(__i386__)
	((ucontext_t *)uc)->uc_mcontext.gregs[REG_EAX] = -ENOSYS;
#else
	(void)uc;
#endif
	sigsys_seen++;
	if (scratch) {
		/* Re-enters the library, which takes its table lock. */
		mlock(scratch, 4096);
		scratch = NULL;
	}
}

static void sigsys_reentry(void *arg)
{
	struct sock_filter f[] = {
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS,
			 offsetof(struct seccomp_data, nr)),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_openat, 0, 1),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_TRAP),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
	};
	struct sock_fprog prog = { .len = 4, .filter = f };
	struct sigaction sa;
	char *big;

	(void)arg;
	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = on_sigsys;
	sa.sa_flags = SA_SIGINFO;
	scratch = mmap(NULL, 4096, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	big = mmap(NULL, 64 << 20, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (scratch == MAP_FAILED || big == MAP_FAILED ||
	    sigaction(SIGSYS, &sa, NULL) ||
	    prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) ||
	    prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog))
		_exit(50);
	if (mlock(big, 64 << 20))
		_exit(51);
	big[12345] = 1;
	munlock(big, 64 << 20);
	printf("# h: %d SIGSYS delivered\n", sigsys_seen);
	_exit(big[12345] == 1 ? 0 : 52);
}

#define POOL (16 << 20)
#define STACK (1 << 20)

static char *pool;
static volatile int phase;

static void *pool_thread(void *arg)
{
	volatile char *far = pool;	/* the pool's bottom, far from us */

	(void)arg;
	phase = 1;
	while (phase < 2)
		;
	/* The pool is locked now: TLS, our stack, and a pending page. */
	errno = 0;
	far[0] = 1;
	far[4096 * 7] = 2;
	errno = EINTR;
	phase = errno == EINTR && far[0] == 1 ? 3 : 4;
	return NULL;
}

static void tls_in_pool(void *arg)
{
	pthread_attr_t at;
	pthread_t t;

	(void)arg;
	pool = mmap(NULL, POOL, PROT_READ | PROT_WRITE,
		    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (pool == MAP_FAILED || pthread_attr_init(&at) ||
	    pthread_attr_setstack(&at, pool + POOL - STACK, STACK) ||
	    pthread_create(&t, &at, pool_thread, NULL))
		_exit(40);
	while (phase < 1)
		;
	if (mlock(pool, POOL))
		_exit(41);
	phase = 2;
	pthread_join(t, NULL);
	_exit(phase == 3 ? 0 : 42);
}

static void run(void (*fn)(void *), const char *what)
{
	char buf[80];
	pid_t c = fork();
	int st = -1;

	if (c == 0) {
		setpgid(0, 0);	/* its own group, grandchildren included */
		fn(NULL);
		_exit(0);
	}
	if (c > 0)
		probe_watch(c, WATCHDOG, &st);	/* ours: see probe.h */
	ok(c > 0 && WIFEXITED(st) && WEXITSTATUS(st) == 0, "%s (%s)", what,
	   probe_status_str(st, buf, sizeof(buf)));
}

int main(void)
{
	probe_require_preloaded();
	plan(5);
	run(zero_length_then_fork,
	    "b: mlock(p + 0xd000, 0) in a file mapping, then fork: both sides "
	    "run on");
	run(sigsys_reentry,
	    "h: a SIGSYS raised inside the engine, whose handler calls "
	    "mlock, does not deadlock");
	run(forks_at_once,
	    "j: two threads fork 300 times each at once: each keeps its own "
	    "signal mask");
	run(tls_in_pool,
	    "k: a pool locked after a thread started on a stack in it: the "
	    "thread's TLS stays usable");
	run(no_fd_left,
	    "m: no file descriptor left: mlock of 16 MiB returns 0, pages "
	    "locked, data kept");
	return tap_failed ? 1 : 0;
}
