/*
 * t-supervise.c - the lock calls of a program LD_PRELOAD cannot reach,
 * run under the wrapper's supervisor (test-supervise.sh).
 *
 * Built three times: static x86_64 (t-static), static i386 (t-static32,
 * where gcc -m32 -static works) and dynamic (t-dynamic, for the exec
 * chains). Every lock call here goes straight to the kernel: through
 * glibc's static wrappers, syscall(), or inline asm, so only the
 * supervisor can make it lazy.
 *
 *   t-supervise all        TAP: every lock call is lazy (smaps Locked and
 *                          VmFlags "lf" of its range, as the kernel's own
 *                          MLOCK_ONFAULT gives), errno parity, RLIMIT as
 *                          nobody, registers kept, fork, a thread, signals
 *                          during MAP_LOCKED
 *   t-supervise lazy       exit 0 when an mlock here is lazy, 1 if eager;
 *                          prints "preload=yes|no" (liblockonfault mapped)
 *   t-supervise exec PROG ARG...   fork+exec, vfork+exec PROG ARG...;
 *                          exit 0 when both children exit 0
 *   t-supervise kill SIG   raise SIG (default action)
 *   t-supervise stop       stop ourselves with SIGSTOP, then run lazy
 *   t-supervise sleep N    mlock lazily, print "ready", sleep N seconds
 *   t-supervise euid       print "euid=N"
 *   t-supervise attach PID PTRACE_ATTACH to PID: print "attach: <errno
 *                          name>" or "attach: ok" (then detach)
 *   t-supervise late N     print "ready", sleep N seconds, then mlock a
 *                          page: print "mlock: ok" or "mlock: <errno name>"
 *   t-supervise debugged   a child traced by us (PTRACE_TRACEME) runs
 *                          lazy: print "debugged child: lazy|eager"
 *   t-supervise eintr US N N raw mlock + munlock pairs under a US µs
 *                          timer whose handler has no SA_RESTART: print
 *                          "calls=N eintr=E other=O ticks=T"; exit 0
 *                          when no call failed
 *   t-supervise execmt     three threads in raw mlock + munlock loops,
 *                          and the main thread execs "/proc/self/exe
 *                          lazy" 5 ms later
 *
 * Plain test program: stdio is fine.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/ptrace.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../preload/tap.h"

#ifndef MLOCK_ONFAULT
#define MLOCK_ONFAULT 1
#endif
#ifndef MCL_ONFAULT
#define MCL_ONFAULT 4
#endif

#define KB 1024UL
#define MB (1024 * KB)
#define PAGE 4096UL

/* Locked: (kB) and whether VmFlags has "lf", for the mapping at p. */
struct vma_lock {
	long locked_kb;
	int lf, lo;
	int found;
};

static struct vma_lock vma_of(const void *p)
{
	struct vma_lock v = { -1, 0, 0, 0 };
	uintptr_t a = (uintptr_t)p;
	char line[512];
	int in = 0;
	FILE *f = fopen("/proc/self/smaps", "re");

	if (!f)
		return v;
	while (fgets(line, sizeof(line), f)) {
		unsigned long lo, hi;

		if (sscanf(line, "%lx-%lx ", &lo, &hi) == 2 &&
		    strchr(line, '-') < strchr(line, ' ')) {
			if (in)
				break;
			in = a >= lo && a < hi;
			continue;
		}
		if (!in)
			continue;
		v.found = 1;
		sscanf(line, "Locked: %ld kB", &v.locked_kb);
		if (!strncmp(line, "VmFlags:", 8)) {
			v.lf = strstr(line, " lf") != NULL;
			v.lo = strstr(line, " lo") != NULL;
		}
	}
	fclose(f);
	return v;
}

/* Locked and lazy: "lo lf" on the range, and exactly want_kb locked. */
static int quiet = 1 << 30;	/* diagnostics left to print */

static int lazy_locked(const void *p, long want_kb)
{
	struct vma_lock v = vma_of(p);

	if (!(v.found && v.lo && v.lf && v.locked_kb == want_kb) &&
	    quiet-- >= 0)
		diag("at %p: found %d lo %d lf %d Locked %ld kB, want %ld kB",
		     p, v.found, v.lo, v.lf, v.locked_kb, want_kb);
	return v.found && v.lo && v.lf && v.locked_kb == want_kb;
}

/* A raw system call's result is -errno (the last page of addresses). */
static int is_err(long r)
{
	return (unsigned long)r > -4096UL;
}

static void *anon(size_t len)
{
	void *p = mmap(NULL, len, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	if (p == MAP_FAILED)
		bail("mmap %zu: %s", len, strerror(errno));
	return p;
}

static void touch(char *p, size_t len)
{
	for (size_t i = 0; i < len; i += PAGE)
		p[i] = 1;
}

static int preload_mapped(void)
{
	char line[512];
	int yes = 0;
	FILE *f = fopen("/proc/self/maps", "re");

	while (f && fgets(line, sizeof(line), f))
		yes |= strstr(line, "liblockonfault") != NULL;
	if (f)
		fclose(f);
	return yes;
}

/* ------------------------------------------------------------------ */
/* Calls with registers checked                                         */
/* ------------------------------------------------------------------ */

#if defined(__x86_64__)
/*
 * mlock by inline asm, with canaries in every register the kernel keeps
 * and mlock does not use. Return: the result; *kept: all canaries back.
 */
static long asm_mlock(void *p, size_t len, int *kept)
{
	register long r10 __asm__("r10") = 0x1010101010L;
	register long r8 __asm__("r8") = 0x0808080808L;
	register long r9 __asm__("r9") = 0x0909090909L;
	long rdx = 0x0d0d0d0d0dL, rdi = (long)p, rsi = (long)len;
	long ret = SYS_mlock;

	__asm__ volatile("syscall"
			 : "+a"(ret), "+D"(rdi), "+S"(rsi), "+d"(rdx),
			   "+r"(r10), "+r"(r8), "+r"(r9)
			 :
			 : "rcx", "r11", "memory");
	*kept = rdi == (long)p && rsi == (long)len && rdx == 0x0d0d0d0d0dL &&
		r10 == 0x1010101010L && r8 == 0x0808080808L &&
		r9 == 0x0909090909L;
	return ret;
}

/* mmap(MAP_LOCKED) by inline asm; *kept as above, for all six. */
static long asm_mmap_locked(size_t len, int *kept)
{
	long flags = MAP_PRIVATE | MAP_ANONYMOUS | MAP_LOCKED;
	register long r10 __asm__("r10") = flags;
	register long r8 __asm__("r8") = -1;
	register long r9 __asm__("r9") = 0;
	long rdi = 0, rsi = (long)len, rdx = PROT_READ | PROT_WRITE;
	long ret = SYS_mmap;

	__asm__ volatile("syscall"
			 : "+a"(ret), "+D"(rdi), "+S"(rsi), "+d"(rdx),
			   "+r"(r10), "+r"(r8), "+r"(r9)
			 :
			 : "rcx", "r11", "memory");
	*kept = rdi == 0 && rsi == (long)len &&
		rdx == (PROT_READ | PROT_WRITE) && r10 == flags && r8 == -1 &&
		r9 == 0;
	return ret;
}
#else
/* i386: int $0x80, registers ebx..ebp. */
static long asm_mlock(void *p, size_t len, int *kept)
{
	long ret = SYS_mlock, b = (long)p, c = (long)len, d = 0x0d0d0d0d;
	long S = 0x51515151, D = 0x0d1d1d1d;

	__asm__ volatile("push %%ebp\n\tmov $0x0b0b0b0b, %%ebp\n\t"
			 "int $0x80\n\tcmp $0x0b0b0b0b, %%ebp\n\t"
			 "je 1f\n\tmovl $0, %%edi\n1:\n\tpop %%ebp"
			 : "+a"(ret), "+b"(b), "+c"(c), "+d"(d), "+S"(S),
			   "+D"(D)
			 :
			 : "memory");
	*kept = b == (long)p && c == (long)len && d == 0x0d0d0d0d &&
		S == 0x51515151 && D == 0x0d1d1d1d;
	return ret;
}

static long asm_mmap_locked(size_t len, int *kept)
{
	void *p = mmap(NULL, len, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_LOCKED, -1, 0);

	*kept = 1;	/* glibc's mmap2 wrapper: registers not visible */
	return p == MAP_FAILED ? -errno : (long)p;
}
#endif

/* ------------------------------------------------------------------ */
/* all                                                                  */
/* ------------------------------------------------------------------ */

static void test_mlock(void)
{
	size_t len = 512 * MB;
	char *p = anon(len);
	int kept;

	ok(mlock(p, len) == 0, "mlock of 512 MiB succeeds");
	ok(lazy_locked(p, 0), "mlock: nothing locked before a touch, "
	   "VmFlags lo lf (the kernel's MLOCK_ONFAULT)");
	touch(p, 2 * MB);
	ok(lazy_locked(p, 2048), "mlock: 2 MiB touched, 2 MiB locked");
	munlock(p, len);

	ok(syscall(SYS_mlock2, p, len, 0) == 0 && lazy_locked(p, 2048),
	   "mlock2(flags 0) through syscall(): lazy");
	munlock(p, len);

	ok(asm_mlock(p + 2 * MB, 64 * MB, &kept) == 0 &&
	   lazy_locked(p + 2 * MB, 0), "mlock by inline asm: lazy");
	ok(kept, "mlock by inline asm: every other register kept");
	munmap(p, len);
}

static void test_map_locked(void)
{
	size_t len = 64 * MB;
	long r;
	char *p, *q;
	int kept;

	p = mmap(NULL, len, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS | MAP_LOCKED, -1, 0);
	ok(p != MAP_FAILED && lazy_locked(p, 0),
	   "mmap(MAP_LOCKED) 64 MiB: lo lf, nothing locked");
	if (p != MAP_FAILED) {
		touch(p, 3 * PAGE);
		ok(lazy_locked(p, 12), "mmap(MAP_LOCKED): 3 pages touched, "
		   "12 kB locked");
	} else {
		ok(0, "mmap(MAP_LOCKED): touched");
	}
	/* MAP_FIXED over part of it: the new mapping, lazy too. */
	q = mmap(p + 4 * MB, 4 * MB, PROT_READ,
		 MAP_PRIVATE | MAP_ANONYMOUS | MAP_LOCKED | MAP_FIXED, -1, 0);
	ok(q == p + 4 * MB && lazy_locked(q, 0),
	   "mmap(MAP_LOCKED | MAP_FIXED): at the address, lazy");
	munmap(p, len);

	r = asm_mmap_locked(len, &kept);
	ok(!is_err(r) && lazy_locked((void *)r, 0),
	   "mmap(MAP_LOCKED) by inline asm: the address, lazy");
	ok(kept, "mmap(MAP_LOCKED) by inline asm: registers kept");
	if (!is_err(r))
		munmap((void *)r, len);

	errno = 0;
	ok(mmap(NULL, 0, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS | MAP_LOCKED,
		-1, 0) == MAP_FAILED && errno == EINVAL,
	   "mmap(MAP_LOCKED) of 0 bytes: EINVAL, as the kernel");
}

static void test_mlockall(void)
{
	char *p;

	ok(mlockall(MCL_CURRENT | MCL_FUTURE) == 0,
	   "mlockall(MCL_CURRENT | MCL_FUTURE) succeeds");
	p = anon(64 * MB);
	ok(lazy_locked(p, 0), "after mlockall: a new 64 MiB mapping is "
	   "lo lf with nothing locked");
	touch(p, 5 * PAGE);
	ok(lazy_locked(p, 20), "after mlockall: 5 pages touched, 20 kB");
	munmap(p, 64 * MB);
	ok(munlockall() == 0, "munlockall");
}

static void test_errno(void)
{
	char *p = anon(PAGE);

	errno = 0;
	ok(mlock2(p, PAGE, 2) == -1 && errno == EINVAL,
	   "mlock2 with an unknown flag: EINVAL");
	errno = 0;
	ok(mlock((void *)PAGE, PAGE) == -1 && errno == ENOMEM,
	   "mlock of a hole: ENOMEM");
	errno = 0;
	ok(mlockall(0) == -1 && errno == EINVAL, "mlockall(0): EINVAL");
	errno = 0;
	ok(mlockall(MCL_ONFAULT) == -1 && errno == EINVAL,
	   "mlockall(MCL_ONFAULT) alone: EINVAL");
	errno = 0;
	ok(mlockall(MCL_CURRENT | 8) == -1 && errno == EINVAL,
	   "mlockall with an unknown flag: EINVAL");
	munmap(p, PAGE);
}

/*
 * In a child that drops to nobody under a small RLIMIT_MEMLOCK (at most
 * the default hard limit, 8 MiB: root may lack CAP_SYS_RESOURCE): each call
 * gives what the kernel's own ONFAULT form gives (same child, same
 * limit), and MAP_LOCKED the kernel's EPERM/EAGAIN.
 */
static int rlimit_child(rlim_t lim)
{
	struct rlimit rl = { lim, lim };
	char *p, *q;
	int bad = 0, e1, e2;
	long r1, r2;

	if (setrlimit(RLIMIT_MEMLOCK, &rl) || setgid(65534) ||
	    setuid(65534)) {
		fprintf(stderr, "# cannot drop to nobody: %s\n",
			strerror(errno));
		return 100;
	}
	p = anon(4 * MB);
	errno = 0;
	r1 = mlock2(p, 1 * MB, MLOCK_ONFAULT);	/* the reference */
	e1 = errno;
	munlock(p, 1 * MB);
	errno = 0;
	r2 = mlock(p, 1 * MB);
	e2 = errno;
	munlock(p, 1 * MB);
	if (r1 != r2 || e1 != e2) {
		fprintf(stderr, "# limit %lu: mlock %ld/%d, ONFAULT %ld/%d\n",
			(unsigned long)lim, r2, e2, r1, e1);
		bad |= 1;
	}
	errno = 0;
	r1 = mlockall(MCL_CURRENT | MCL_ONFAULT);
	e1 = errno;
	munlockall();
	errno = 0;
	r2 = mlockall(MCL_CURRENT);
	e2 = errno;
	munlockall();
	if (r1 != r2 || e1 != e2) {
		fprintf(stderr, "# limit %lu: mlockall %ld/%d, ONFAULT %ld/%d\n",
			(unsigned long)lim, r2, e2, r1, e1);
		bad |= 2;
	}
	/* MAP_LOCKED: EPERM at 0, EAGAIN over the limit, else lazy. */
	errno = 0;
	q = mmap(NULL, 1 * MB, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS | MAP_LOCKED, -1, 0);
	if (lim < 1 * MB ? q != MAP_FAILED || errno != (lim ? EAGAIN : EPERM)
			 : q == MAP_FAILED || !lazy_locked(q, 0)) {
		fprintf(stderr, "# limit %lu: MAP_LOCKED %p errno %d\n",
			(unsigned long)lim, (void *)q, errno);
		bad |= 4;
	}
	return bad;
}

static void test_rlimit(void)
{
	static const rlim_t lims[] = { 0, 64 * KB, 4 * MB };

	for (size_t i = 0; i < sizeof(lims) / sizeof(lims[0]); i++) {
		pid_t pid = fork();
		int st = -1;

		if (pid == 0)
			_exit(rlimit_child(lims[i]));
		waitpid(pid, &st, 0);
		ok(WIFEXITED(st) && WEXITSTATUS(st) == 0,
		   "as nobody with RLIMIT_MEMLOCK %lu kB: mlock, mlockall and "
		   "MAP_LOCKED give the kernel's ONFAULT results (status %#x)",
		   (unsigned long)(lims[i] / KB), st);
	}
}

/* 4 MiB: within the default RLIMIT_MEMLOCK, for set-user-ID runs. */
static int lazy_here(void)
{
	char *p = anon(4 * MB);
	int lazy;

	if (mlock(p, 4 * MB) != 0)
		return 0;
	touch(p, PAGE);
	lazy = lazy_locked(p, 4);
	munmap(p, 4 * MB);
	return lazy;
}

static void *thread_main(void *arg)
{
	(void)arg;
	return (void *)(intptr_t)lazy_here();
}

static void test_fork_thread(void)
{
	pthread_t th;
	void *res = NULL;
	pid_t pid = fork();
	int st = -1;

	if (pid == 0)
		_exit(lazy_here() ? 0 : 1);
	waitpid(pid, &st, 0);
	ok(WIFEXITED(st) && WEXITSTATUS(st) == 0,
	   "a forked child's mlock is lazy");
	ok(pthread_create(&th, NULL, thread_main, NULL) == 0 &&
	   pthread_join(th, &res) == 0 && res == (void *)1,
	   "a thread's mlock is lazy");
}

static volatile sig_atomic_t ticks;

static void on_alarm(int sig)
{
	(void)sig;
	ticks++;
	syscall(SYS_getppid);	/* a system call inside the handler */
}

/*
 * MAP_LOCKED under a 50 µs interval timer whose handler makes system
 * calls: signals land between the mmap and the injected mlock2, and in
 * notify mode while a call waits for the supervisor.
 *
 * LOF_TEST_TIMER_US sets another interval: test-supervise.sh gives trace
 * mode a longer one, as that mode documents that a program taking
 * signals faster than a ptrace stop's round trip makes no progress.
 */
static void test_signals(void)
{
	struct sigaction sa = { .sa_handler = on_alarm,
				.sa_flags = SA_RESTART };
	const char *e = getenv("LOF_TEST_TIMER_US");
	long us = e && atol(e) > 0 ? atol(e) : 50;
	struct itimerval it = { { 0, us }, { 0, us } };
	int bad = 0, n = 2000, kept_all = 1;

	sigaction(SIGALRM, &sa, NULL);
	setitimer(ITIMER_REAL, &it, NULL);
	quiet = 3;
	for (int i = 0; i < n; i++) {
		int kept;
		long r = asm_mmap_locked(64 * KB, &kept);

		if (!kept && kept_all)
			diag("registers changed at call %d", i);
		kept_all &= kept;
		if (is_err(r)) {
			bad++;
			continue;
		}
		if (!lazy_locked((void *)r, 0))
			bad++;
		munmap((void *)r, 64 * KB);
	}
	memset(&it, 0, sizeof(it));
	setitimer(ITIMER_REAL, &it, NULL);
	quiet = 1 << 30;
	ok(bad == 0 && kept_all, "%d MAP_LOCKED calls under a %ld us timer "
	   "(%d signals): all lazy, registers kept (%d wrong)", n, us,
	   (int)ticks, bad);
	ok(ticks > 0, "the timer's signals reached the program");
}

/*
 * MAP_LOCKED while a child stops and continues us over and over: a
 * tracee leaving a group-stop in the middle of a rewrite must keep it.
 */
static void test_stop_storm(void)
{
	volatile int *quit = mmap(NULL, PAGE, PROT_READ | PROT_WRITE,
				  MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	pid_t parent = getpid(), pid;
	int bad = 0, kept_all = 1, n = 1000, st;

	if (quit == MAP_FAILED)
		bail("mmap: %s", strerror(errno));
	*quit = 0;
	pid = fork();
	if (pid == 0) {
		/* Every SIGSTOP is followed by a SIGCONT, the last one too. */
		while (!*quit) {
			kill(parent, SIGSTOP);
			usleep(50);
			kill(parent, SIGCONT);
			usleep(50);
		}
		_exit(0);
	}
	quiet = 3;
	for (int i = 0; i < n; i++) {
		int kept;
		long r = asm_mmap_locked(64 * KB, &kept);

		kept_all &= kept;
		if (is_err(r) || !lazy_locked((void *)r, 0))
			bad++;
		if (!is_err(r))
			munmap((void *)r, 64 * KB);
	}
	quiet = 1 << 30;
	*quit = 1;
	waitpid(pid, &st, 0);
	munmap((void *)quit, PAGE);
	ok(bad == 0 && kept_all, "%d MAP_LOCKED calls while stopped and "
	   "continued by a child: all lazy, registers kept (%d wrong)", n,
	   bad);
}

#if defined(__i386__)
/* i386's old_mmap(struct *): the supervisor reads the struct. */
static void test_old_mmap(void)
{
	unsigned long a[6] = { 0, 16 * MB, PROT_READ | PROT_WRITE,
			       MAP_PRIVATE | MAP_ANONYMOUS | MAP_LOCKED,
			       (unsigned long)-1, 0 };
	long r = syscall(SYS_mmap, a);

	ok(r != -1 && lazy_locked((void *)r, 0),
	   "old_mmap(MAP_LOCKED) (i386): lazy");
}
#endif

static int all(void)
{
	plan(0);
	diag("preload=%s", preload_mapped() ? "yes" : "no");
	test_mlock();
	test_map_locked();
	test_mlockall();
	test_errno();
	test_rlimit();
	test_fork_thread();
	test_signals();
	test_stop_storm();
#if defined(__i386__)
	test_old_mmap();
#endif
	return done();
}

/* ------------------------------------------------------------------ */
/* The other modes                                                      */
/* ------------------------------------------------------------------ */

static int lazy(void)
{
	int l = lazy_here();

	printf("preload=%s lazy=%s\n", preload_mapped() ? "yes" : "no",
	       l ? "yes" : "no");
	return l ? 0 : 1;
}

static int run_exec(char **argv)
{
	int bad = 0;

	for (int v = 0; v < 2; v++) {
		pid_t pid = v ? vfork() : fork();
		int st = -1;

		if (pid == 0) {
			execv(argv[0], argv);
			_exit(127);
		}
		waitpid(pid, &st, 0);
		if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) {
			fprintf(stderr, "%s child: status %#x\n",
				v ? "vfork" : "fork", st);
			bad = 1;
		}
	}
	return bad;
}

static volatile sig_atomic_t eintr_ticks;

static void on_eintr_alarm(int sig)
{
	(void)sig;
	eintr_ticks++;
}

static int eintr_test(long us, int n)
{
	struct sigaction sa = { .sa_handler = on_eintr_alarm };	/* no
								   SA_RESTART */
	struct itimerval it = { { 0, us }, { 0, us } };
	char *p = anon(PAGE);
	int eintr = 0, other = 0;

	sigaction(SIGALRM, &sa, NULL);
	setitimer(ITIMER_REAL, &it, NULL);
	for (int i = 0; i < n; i++) {
		if (syscall(SYS_mlock, p, PAGE) != 0) {
			if (errno == EINTR)
				eintr++;
			else
				other++;
		}
		syscall(SYS_munlock, p, PAGE);
	}
	memset(&it, 0, sizeof(it));
	setitimer(ITIMER_REAL, &it, NULL);
	printf("calls=%d eintr=%d other=%d ticks=%d\n", n, eintr, other,
	       (int)eintr_ticks);
	return eintr || other;
}

static char *execmt_page;

static void *execmt_locker(void *arg)
{
	(void)arg;
	for (;;) {
		syscall(SYS_mlock, execmt_page, PAGE);
		syscall(SYS_munlock, execmt_page, PAGE);
	}
	return NULL;
}

static int execmt(void)
{
	pthread_t th;

	execmt_page = anon(PAGE);
	for (int i = 0; i < 3; i++)
		pthread_create(&th, NULL, execmt_locker, NULL);
	usleep(5000);
	execl("/proc/self/exe", "t-supervise", "lazy", (char *)NULL);
	return 3;
}

static int late(unsigned secs)
{
	char *p = anon(PAGE);

	printf("ready\n");
	fflush(stdout);
	sleep(secs);
	if (syscall(SYS_mlock, p, PAGE) != 0)
		printf("mlock: %s\n", strerrorname_np(errno));
	else
		printf("mlock: ok\n");
	return 0;
}

/* A child under our own ptrace, as under a debugger, resumed each stop. */
static int debugged(void)
{
	pid_t pid = fork();
	int st;

	if (pid < 0)
		return 2;
	if (pid == 0) {
		if (ptrace(PTRACE_TRACEME, 0, NULL, NULL) != 0)
			_exit(2);
		raise(SIGSTOP);
		_exit(lazy_here() ? 0 : 1);
	}
	while (waitpid(pid, &st, 0) == pid && WIFSTOPPED(st)) {
		int sig = WSTOPSIG(st);

		ptrace(PTRACE_CONT, pid, NULL,
		       (void *)(intptr_t)(sig == SIGSTOP ? 0 : sig));
	}
	if (!WIFEXITED(st) || WEXITSTATUS(st) > 1)
		return 2;
	printf("debugged child: %s\n", WEXITSTATUS(st) ? "eager" : "lazy");
	return 0;
}

int main(int argc, char **argv)
{
	const char *mode = argc > 1 ? argv[1] : "all";

	if (!strcmp(mode, "all"))
		return all();
	if (!strcmp(mode, "lazy"))
		return lazy();
	if (!strcmp(mode, "exec") && argc > 2)
		return run_exec(argv + 2);
	if (!strcmp(mode, "kill") && argc > 2) {
		raise(atoi(argv[2]));
		return 0;
	}
	if (!strcmp(mode, "stop")) {
		raise(SIGSTOP);
		return lazy();
	}
	if (!strcmp(mode, "sleep") && argc > 2) {
		int l = lazy_here();

		printf("ready\n");
		fflush(stdout);
		sleep((unsigned)atoi(argv[2]));
		return l ? 0 : 1;
	}
	if (!strcmp(mode, "euid")) {
		printf("euid=%d\n", (int)geteuid());
		return 0;
	}
	if (!strcmp(mode, "attach") && argc > 2) {
		pid_t pid = (pid_t)atoi(argv[2]);

		if (ptrace(PTRACE_ATTACH, pid, NULL, NULL) != 0) {
			printf("attach: %s\n", strerrorname_np(errno));
			return 1;
		}
		waitpid(pid, NULL, __WALL);
		ptrace(PTRACE_DETACH, pid, NULL, NULL);
		printf("attach: ok\n");
		return 0;
	}
	if (!strcmp(mode, "late") && argc > 2)
		return late((unsigned)atoi(argv[2]));
	if (!strcmp(mode, "debugged"))
		return debugged();
	if (!strcmp(mode, "eintr") && argc > 3)
		return eintr_test(atol(argv[2]), atoi(argv[3]));
	if (!strcmp(mode, "execmt"))
		return execmt();
	fprintf(stderr, "usage: %s [all|lazy|exec PROG ARG...|kill SIG|stop|"
		"sleep N|attach PID|late N|debugged|eintr US N|execmt]\n",
		argv[0]);
	return 2;
}
