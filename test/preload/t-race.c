/*
 * t-race.c - lock calls racing the program's other memory calls on
 * another thread, and the region table running out of room (issue 12
 * g and l). Each case runs in a child with a watchdog, so a crash or a
 * hang fails the case instead of the whole test.
 *
 * g. The engine's munlock, munlockall, munmap, mprotect and mremap once
 *    skipped the table's lock when the table held nothing in their
 *    range. A lock call on another thread, registering that very range
 *    meanwhile, could then see the mapping before the call and protect
 *    it after:
 *     1. munlock (or munlockall) landing inside an mlock's registration
 *        left the pages PROT_NONE in the table but no longer locked; the
 *        fault path took them for stale and the next touch killed the
 *        process. Natively every order of the two calls leaves the
 *        memory accessible. One thread locks the range and writes a
 *        page, in a loop; the other unlocks it, in a loop.
 *     2. mprotect(PROT_READ) landing inside an mlock's registration was
 *        lost: the table kept the old read-write protection and a write
 *        opened the page read-write. Natively the write dies of SIGSEGV
 *        whichever call came first. One thread locks a fresh mapping,
 *        the other makes it read-only at a random moment around the
 *        lock; then a write to it must fault, every time.
 *     3. mremap moving a range, or munmap and mmap(MAP_FIXED) replacing
 *        it, inside a lock call's registration left PROT_NONE pages with
 *        no entry at the new place, or made the new mapping pending
 *        though it was never locked. One thread locks both places in a
 *        loop, the other moves (or replaces) the range back and forth;
 *        then every page must be accessible.
 * l. region_remove fails when it must split an entry and the table
 *    cannot grow: here, RLIMIT_AS leaves no room for a bigger block. An
 *    mprotect(PROT_READ) of every other page of a locked range splits
 *    an entry each time; every page made read-only must refuse writes,
 *    and every other page must take them.
 *
 * i. Waits are bounded: a thread waiting for another inside the engine
 *    spins briefly, then sleeps. A SCHED_FIFO thread takes a fault the
 *    program handles, many times, on the CPU of a thread that keeps
 *    setting the program's SIGSEGV action: the fault's delivery once
 *    spun on the action's sequence count while the writer it had
 *    preempted could not run (until the kernel's real-time throttling
 *    stopped it, most of a second later). Needs CAP_SYS_NICE; the
 *    longest delivery must stay under 50 ms.
 *
 * Under the kernel's own lock-on-fault (the default engine on a 4.4+
 * kernel) every case holds trivially: they are the kernel's semantics.
 * run-engines.sh runs them again under the SIGSEGV engine and the
 * simulated 4.3 kernel, where they test the engine.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <setjmp.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#ifndef MAP_FIXED_NOREPLACE
#define MAP_FIXED_NOREPLACE 0x100000
#endif

#include "probe.h"
#include "tap.h"

#define WATCHDOG 60	/* seconds per case */
#define SECONDS 3	/* of hammering per race case */
#define PAGES 64	/* of the raced range */

static size_t pg;

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* ------------------------------------------------------------------ */
/* g1: an unlock racing a lock                                         */
/* ------------------------------------------------------------------ */

static char *range;
static volatile int stop;
static int use_munlockall;

/*
 * A timer signal on the unlocking thread, whose handler runs a few to
 * some tens of microseconds: it stands for preemption, which may land
 * between the library's look at the table and its system call.
 */
static volatile unsigned long ticks;

static void on_alarm(int sig)
{
	double end = now() + (ticks++ % 16 + 1) * 10e-6;

	(void)sig;
	while (now() < end)
		;
}

static void *unlocker(void *arg)
{
	unsigned long *n = arg;
	sigset_t alrm;

	sigemptyset(&alrm);
	sigaddset(&alrm, SIGALRM);
	pthread_sigmask(SIG_UNBLOCK, &alrm, NULL);
	while (!stop) {
		if (use_munlockall)
			munlockall();
		else
			munlock(range, PAGES * pg);
		(*n)++;
	}
	return NULL;
}

static void unlock_vs_lock(void *arg)
{
	struct itimerval it = { { 0, 100 }, { 0, 100 } };
	unsigned long locks = 0, unlocks = 0;
	sigset_t alrm;
	pthread_t t;
	double end;

	use_munlockall = arg != NULL;
	range = mmap(NULL, PAGES * pg, PROT_READ | PROT_WRITE,
		     MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	sigemptyset(&alrm);
	sigaddset(&alrm, SIGALRM);
	/* Only the unlocking thread takes the timer's signal. */
	if (range == MAP_FAILED || signal(SIGALRM, on_alarm) == SIG_ERR ||
	    pthread_sigmask(SIG_BLOCK, &alrm, NULL) ||
	    pthread_create(&t, NULL, unlocker, &unlocks) ||
	    setitimer(ITIMER_REAL, &it, NULL))
		_exit(10);
	/*
	 * Every other page present: a lock call on a range with holes
	 * takes longer to register it (emulation locks each run of present
	 * pages), the window the unlock must not land in.
	 */
	for (size_t i = 1; i < PAGES; i += 2)
		range[i * pg] = 1;
	end = now() + SECONDS;
	while (now() < end) {
		if (mlock(range, PAGES * pg)) {
			printf("# mlock failed, errno %d, after %lu calls\n",
			       errno, locks);
			_exit(11);
		}
		/* A page left PROT_NONE and unlocked kills us here... */
		range[(locks % (PAGES / 2) * 2 + 1) * pg + 8] = (char)locks;
		locks++;
	}
	stop = 1;
	pthread_join(t, NULL);
	it.it_value.tv_usec = it.it_interval.tv_usec = 0;
	setitimer(ITIMER_REAL, &it, NULL);
	/* ...or here, where the absent ones are touched. */
	for (size_t i = 0; i < PAGES; i++)
		range[i * pg + 9] = 1;
	printf("# %lu mlock calls, %lu %s calls, %lu timer signals\n", locks,
	       unlocks, use_munlockall ? "munlockall" : "munlock", ticks);
	_exit(0);
}

/* ------------------------------------------------------------------ */
/* g3: mremap, or munmap and mmap(MAP_FIXED), racing a lock            */
/* ------------------------------------------------------------------ */

static char *places[2];
static volatile int where;	/* which of places holds the range */
static int by_remap;

/*
 * The place left behind is reserved again at once (PROT_NONE), so that
 * nothing else is mapped there (a thread stack, the library's table)
 * for the next move to replace; if something was, the moves stop.
 */
static int reserve_place(char *at)
{
	return mmap(at, PAGES * pg, PROT_NONE,
		    MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1,
		    0) == at;
}

static void *mover(void *arg)
{
	unsigned long *n = arg;

	while (!stop) {
		char *from = places[where], *to = places[!where];

		if (by_remap) {
			if (mremap(from, PAGES * pg, PAGES * pg,
				   MREMAP_MAYMOVE | MREMAP_FIXED, to) != to)
				_exit(50);
		} else {
			/* A fresh mapping at the other place, then this gone. */
			if (mmap(to, PAGES * pg, PROT_READ | PROT_WRITE,
				 MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1,
				 0) != to || munmap(from, PAGES * pg))
				_exit(51);
		}
		where = !where;
		(*n)++;
		if (!reserve_place(from))
			break;
	}
	return NULL;
}

static void move_vs_lock(void *arg)
{
	unsigned long locks = 0, moves = 0;
	pthread_t t;
	double end;
	char *p;

	by_remap = arg != NULL;
	/* Two places: the range, and a reservation it moves over. */
	p = mmap(NULL, 2 * PAGES * pg, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED ||
	    mprotect(p + PAGES * pg, PAGES * pg, PROT_NONE))
		_exit(52);
	places[0] = p;
	places[1] = p + PAGES * pg;
	if (pthread_create(&t, NULL, mover, &moves))
		_exit(53);
	end = now() + SECONDS;
	while (now() < end) {
		/* One place or the other is the PROT_NONE reservation. */
		mlock(places[locks & 1], PAGES * pg);
		locks++;
	}
	stop = 1;
	pthread_join(t, NULL);
	/* Pages left PROT_NONE, with or without an entry, kill us here. */
	for (size_t i = 0; i < PAGES; i++)
		places[where][i * pg + 9] = 1;
	printf("# %lu mlock calls, %lu %s\n", locks, moves,
	       by_remap ? "mremap moves" : "mmap(MAP_FIXED) and munmap pairs");
	_exit(0);
}

/* ------------------------------------------------------------------ */
/* g2: mprotect(PROT_READ) racing a lock                               */
/* ------------------------------------------------------------------ */

static sigjmp_buf jb;
static volatile sig_atomic_t jb_armed;

static void on_segv(int sig)
{
	(void)sig;
	if (jb_armed)
		siglongjmp(jb, 1);
	signal(SIGSEGV, SIG_DFL);
}

/* 1 if a write to p faults, 0 if it goes through. */
static int write_faults(volatile char *p)
{
	if (sigsetjmp(jb, 1)) {
		jb_armed = 0;
		return 1;
	}
	jb_armed = 1;
	*p = 1;
	jb_armed = 0;
	return 0;
}

static volatile unsigned int go, gone;	/* rounds started, finished */
static volatile long delay_ns;	/* the protector's wait this round */

static void spin_ns(long ns)
{
	double end = now() + ns / 1e9;

	while (now() < end)
		;
}

static void *protector(void *arg)
{
	unsigned int round = 0;
	int *bad = arg;

	for (;;) {
		while (go == round && !stop)
			;
		if (stop)
			return NULL;
		round = go;
		spin_ns(delay_ns);
		if (mprotect(range, PAGES * pg, PROT_READ))
			(*bad)++;
		gone = round;
	}
}

static void protect_vs_lock(void *arg)
{
	unsigned long rounds = 0, lost = 0;
	long lock_ns;
	int bad = 0;
	pthread_t t;
	double t0, end;

	(void)arg;
	signal(SIGSEGV, on_segv);
	srand(12);
	/* How long one lock call takes here: the protector aims into it. */
	range = mmap(NULL, PAGES * pg, PROT_READ | PROT_WRITE,
		     MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (range == MAP_FAILED)
		_exit(20);
	t0 = now();
	for (int i = 0; i < 20; i++) {
		mlock(range, PAGES * pg);
		munlock(range, PAGES * pg);
	}
	lock_ns = (long)((now() - t0) / 40 * 1e9);
	munmap(range, PAGES * pg);
	if (pthread_create(&t, NULL, protector, &bad))
		_exit(21);
	end = now() + SECONDS;
	while (now() < end) {
		range = mmap(NULL, PAGES * pg, PROT_READ | PROT_WRITE,
			     MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (range == MAP_FAILED)
			_exit(22);
		range[0] = 1;	/* one page present, the rest absent */
		delay_ns = rand() % (2 * lock_ns + 1);
		go = go + 1;
		if (mlock(range, PAGES * pg))
			_exit(23);
		while (gone != go)
			;
		/* Read-only now, whatever the order: writes must fault. */
		if (!write_faults(range + 5 * pg) || !write_faults(range))
			lost++;
		else if (range[5 * pg] != 0 || range[0] != 1)
			_exit(24);
		munmap(range, PAGES * pg);
		rounds++;
	}
	stop = 1;
	pthread_join(t, NULL);
	printf("# %lu rounds, one lock call %ld ns: %lu writes went through a read-only page, %d mprotect failed\n",
	       rounds, lock_ns, lost, bad);
	_exit(lost || bad ? 25 : 0);
}

/* ------------------------------------------------------------------ */
/* l: the table cannot grow                                            */
/* ------------------------------------------------------------------ */

/* The process's address-space size in bytes, from /proc/self/statm. */
static long vm_size(void)
{
	char buf[64];
	int fd = open("/proc/self/statm", O_RDONLY);
	ssize_t n;

	if (fd < 0)
		return -1;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return -1;
	buf[n] = 0;
	return atol(buf) * (long)pg;
}

#define SPLITS 1500	/* more entries than the table's first blocks hold */

static void table_full(void *arg)
{
	size_t len = 2 * SPLITS * pg;
	struct rlimit old, tight;
	unsigned long refused = 0, writable_ro = 0, lost_rw = 0;
	char *p;
	long vm;

	(void)arg;
	signal(SIGSEGV, on_segv);
	p = mmap(NULL, len, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED || getrlimit(RLIMIT_AS, &old))
		_exit(30);
	p[0] = 3;
	if (mlock(p, len))
		_exit(31);
	printf("# locking %zu pages, then mprotect of every other one\n",
	       len / pg);
	vm = vm_size();
	if (vm < 0)
		_exit(32);
	/* No room for anything new: no block for a bigger table either. */
	tight = old;
	tight.rlim_cur = (rlim_t)vm;
	if (setrlimit(RLIMIT_AS, &tight))
		_exit(33);
	for (size_t i = 0; i < SPLITS; i++)
		if (mprotect(p + 2 * i * pg, pg, PROT_READ))
			refused++;
	setrlimit(RLIMIT_AS, &old);
	for (size_t i = 0; i < SPLITS; i++) {
		if (!write_faults(p + 2 * i * pg))
			writable_ro++;
		if (write_faults(p + (2 * i + 1) * pg))
			lost_rw++;
	}
	printf("# %lu mprotect refused, %lu read-only pages took a write, %lu read-write pages refused one; first byte %d\n",
	       refused, writable_ro, lost_rw, p[0]);
	_exit(refused || writable_ro || lost_rw || p[0] != 3 ? 34 : 0);
}

/* ------------------------------------------------------------------ */
/* i: a real-time thread's fault while a preempted thread sets SIGSEGV */
/* ------------------------------------------------------------------ */

static __thread sigjmp_buf rt_jb;
static __thread volatile int rt_armed;

static void on_rt_segv(int sig)
{
	(void)sig;
	if (rt_armed)
		siglongjmp(rt_jb, 1);
	signal(SIGSEGV, SIG_DFL);
}

static cpu_set_t one_cpu;

static void *setter(void *arg)
{
	struct sigaction sa;
	unsigned long *n = arg;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_rt_segv;
	pthread_setaffinity_np(pthread_self(), sizeof(one_cpu), &one_cpu);
	while (!stop) {
		sigaction(SIGSEGV, &sa, NULL);
		(*n)++;
	}
	return NULL;
}

static void *rt_faulter(void *arg)
{
	struct timespec nap = { 0, 50000 };
	double *worst = arg, end = now() + SECONDS;
	volatile char *ro = (volatile char *)range;
	volatile unsigned long faults = 0;

	while (now() < end) {
		double t0;

		nanosleep(&nap, NULL);
		t0 = now();
		if (!sigsetjmp(rt_jb, 1)) {
			rt_armed = 1;
			ro[0] = 1;	/* read-only: the program's own fault */
		}
		rt_armed = 0;
		if (now() - t0 > *worst)
			*worst = now() - t0;
		faults++;
	}
	printf("# %lu faults handled\n", faults);
	return NULL;
}

static void rt_fault_vs_sigaction(void *arg)
{
	struct sched_param sp = { .sched_priority = 1 };
	pthread_attr_t at;
	unsigned long sets = 0;
	double worst = 0;
	pthread_t w, r;
	int e;

	(void)arg;
	signal(SIGSEGV, on_rt_segv);
	range = mmap(NULL, PAGES * pg, PROT_READ | PROT_WRITE,
		     MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (range == MAP_FAILED || mlock(range, PAGES * pg))
		_exit(40);
	range[0] = 1;
	if (mprotect(range, pg, PROT_READ))
		_exit(41);
	CPU_ZERO(&one_cpu);
	CPU_SET(sched_getcpu() > 0 ? sched_getcpu() : 0, &one_cpu);
	pthread_attr_init(&at);
	pthread_attr_setinheritsched(&at, PTHREAD_EXPLICIT_SCHED);
	pthread_attr_setschedpolicy(&at, SCHED_FIFO);
	pthread_attr_setschedparam(&at, &sp);
	pthread_attr_setaffinity_np(&at, sizeof(one_cpu), &one_cpu);
	if (pthread_create(&w, NULL, setter, &sets))
		_exit(42);
	e = pthread_create(&r, &at, rt_faulter, &worst);
	if (e) {
		stop = 1;
		pthread_join(w, NULL);
		printf("# SCHED_FIFO refused (errno %d)\n", e);
		_exit(e == EPERM ? 77 : 43);
	}
	pthread_join(r, NULL);
	stop = 1;
	pthread_join(w, NULL);
	printf("# %lu sigaction calls; longest fault delivery %.3f ms\n", sets,
	       worst * 1e3);
	_exit(worst < 0.050 ? 0 : 44);
}

/* ------------------------------------------------------------------ */

static void run(void (*fn)(void *), void *arg, const char *what)
{
	char buf[80];
	pid_t c = fork();
	int st = -1;

	if (c == 0) {
		setpgid(0, 0);
		fn(arg);
		_exit(0);
	}
	if (c > 0)
		probe_watch(c, WATCHDOG, &st);
	if (c > 0 && WIFEXITED(st) && WEXITSTATUS(st) == 77) {
		skip(1, "no CAP_SYS_NICE for SCHED_FIFO");
		return;
	}
	ok(c > 0 && WIFEXITED(st) && WEXITSTATUS(st) == 0, "%s (%s)", what,
	   probe_status_str(st, buf, sizeof(buf)));
}

int main(void)
{
	probe_require_preloaded();
	pg = probe_page_size();
	plan(7);
	run(unlock_vs_lock, NULL,
	    "g1: munlock on one thread, mlock and a write on another, for "
	    "3 s: no page left inaccessible");
	run(unlock_vs_lock, "all",
	    "g1: munlockall on one thread, mlock and a write on another, "
	    "for 3 s: no page left inaccessible");
	run(protect_vs_lock, NULL,
	    "g2: mprotect(PROT_READ) racing mlock of a fresh mapping, for "
	    "3 s: a write faults after every round");
	run(move_vs_lock, "remap",
	    "g3: mremap moving a range back and forth on one thread, mlock "
	    "of both places on another, for 3 s: every page accessible");
	run(move_vs_lock, NULL,
	    "g3: mmap(MAP_FIXED) and munmap moving a range on one thread, "
	    "mlock of both places on another, for 3 s: every page "
	    "accessible");
	run(table_full, NULL,
	    "l: the table cannot grow (RLIMIT_AS): mprotect(PROT_READ) of "
	    "every other page is never lost");
	run(rt_fault_vs_sigaction, NULL,
	    "i: a SCHED_FIFO thread's handled faults, on the CPU of a thread "
	    "calling sigaction(SIGSEGV): each delivered within 50 ms");
	return tap_failed ? 1 : 0;
}
