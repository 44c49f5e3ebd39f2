/*
 * t-stackhang.c - the engine never makes the main thread's stack
 * pending, whichever piece of it, and never hangs on its own stack.
 *
 * The main thread's stack is one kernel mapping until something splits
 * it: a lock call over part of it (the program's mlock, or CHARGE=touched
 * mlockall locking its present pages), an mprotect of part of it. Then
 * /proc/self/maps labels only the piece that holds the stack's start
 * "[stack]"; the pieces below it are plain anonymous mappings. The
 * engine used to take such a piece for data and make it pending. The
 * first touch of it is the stack growing, and when the thread doing so
 * is inside the engine with the table's writer lock held (in the middle
 * of a table update, which the fault handler waits out), the handler
 * waits for itself, with asynchronous signals blocked: a hang that not
 * even SIGTERM ends.
 *
 * Each case runs in a child watched from here (a hang is a failure,
 * not a stalled make check):
 *  - split by mlock: the stack is grown to 1 MiB and its lower part
 *    made absent again (MADV_DONTNEED); one page above that part is
 *    locked, which splits the mapping, and then the absent part. No
 *    page of the stack may be PROT_NONE afterwards, and calls into the
 *    engine from ever deeper frames (a managed mlock and mprotect,
 *    which register the range again under the writer lock) must
 *    all return;
 *  - split by mlockall: the same stack, then mlockall(MCL_CURRENT|
 *    MCL_ONFAULT) twice; run again under LOCKONFAULT_CHARGE=touched
 *    (the test re-executes itself), where the first mlockall locks the
 *    stack's present pages only and so splits it;
 *  - a second thread's stack (glibc's), mostly unused, split by the
 *    thread's mlock of one page 256 pages below where it runs, through
 *    mlockall twice: no page of it pending, and the thread then calls
 *    the engine from deeper frames.
 */
#define _GNU_SOURCE
#include <alloca.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include "probe.h"
#include "tap.h"

#define WATCHDOG 60		/* seconds a case may take */
#define GROW (1UL << 20)	/* how deep the stack is grown */
#define DEEPEST (768UL << 10)	/* how deep the engine is called from */
#define STEP 104		/* bytes deeper each call: not a divisor of a page */
#define BUF_PAGES 16

static size_t pg;
static char *buf;		/* a managed range the engine is called on */
static uintptr_t top;		/* the main stack's top */

/* Touch n bytes of stack below the caller, one write per page. */
static __attribute__((noinline)) void grow(size_t n)
{
	volatile char *p = alloca(n);

	for (size_t i = 0; i < n; i += pg)
		p[i] = 1;
	p[0] = 1;
}

/*
 * Is any page of the main stack mapping, whichever piece, PROT_NONE
 * (---p)? The pieces are the anonymous mappings that meet without a gap
 * from the one holding the stack pointer down; the walk goes down from
 * the top.
 */
static int range_pending(uintptr_t bottom, uintptr_t end, char *what,
			 size_t n)
{
	char perms[5];

	for (uintptr_t a = bottom; a < end; a += pg) {
		if (probe_perms((void *)a, perms) == 0 &&
		    strcmp(perms, "---p") == 0) {
			snprintf(what, n, "%lx ---p", (unsigned long)a);
			return 1;
		}
	}
	return 0;
}

static int stack_pending(char *what, size_t n)
{
	uintptr_t s[256], e[256], lo;
	char perms[256][5], path[256], line[512];
	int count = 0, bad = 0, i;
	FILE *f = fopen("/proc/self/maps", "r");

	if (!f)
		return -1;
	while (count < 256 && fgets(line, sizeof(line), f)) {
		unsigned long a, b;

		path[0] = 0;
		if (sscanf(line, "%lx-%lx %4s %*s %*s %*s %255s", &a, &b,
			   perms[count], path) < 3)
			continue;
		if (b <= top - (8UL << 20) || a >= top)
			continue;
		s[count] = a;
		e[count] = b;
		count++;
	}
	fclose(f);
	/* Down from the piece that ends at the top, while they meet. */
	lo = top;
	for (i = count - 1; i >= 0; i--) {
		if (e[i] != lo)
			break;
		if (strcmp(perms[i], "---p") == 0) {
			snprintf(what, n, "%lx-%lx ---p", (unsigned long)s[i],
				 (unsigned long)e[i]);
			bad = 1;
		}
		lo = s[i];
	}
	return bad;
}

/*
 * Call into the engine with a frame d bytes deeper, never touched:
 * mlock (and, every 8th time, mprotect) of a managed range registers it
 * again under the writer lock. Before the fix, the sigsegv engine hung
 * here (with the first check of check() left out): the frame of
 * region.c's split_at, inside a table update, was the first to touch a
 * pending stack page, and the handler waited for the update.
 */
static __attribute__((noinline)) int engine_at(size_t d)
{
	volatile char *p = alloca(d + 16);

	p[d] = 0;	/* only the top of it, next to our frame */
	if (mlock(buf, BUF_PAGES * pg))
		return -1;
	if (d % (STEP * 8))
		return 0;
	if (mprotect(buf, BUF_PAGES * pg, PROT_READ) ||
	    mprotect(buf, BUF_PAGES * pg, PROT_READ | PROT_WRITE))
		return -1;
	return 0;
}

static int call_deeper(void)
{
	for (size_t d = 0; d <= DEEPEST; d += STEP)
		if (engine_at(d))
			return -1;
	return 0;
}

static void setup(void)
{
	char here;

	pg = probe_page_size();
	top = (uintptr_t)&here;
	buf = mmap(NULL, BUF_PAGES * pg, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (buf == MAP_FAILED || mlock(buf, BUF_PAGES * pg))
		_exit(10);
	buf[0] = 1;
}

/* Find the top of the stack mapping that holds addr. */
static void find_top(void)
{
	uintptr_t s, e;

	if (probe_vma((void *)top, &s, &e))
		_exit(11);
	top = e;
}

/*
 * Grow the stack by GROW below the caller and make most of it absent
 * again: [*lo, *hi) is then stack that is mapped but holds no page.
 */
static void grow_and_drop(uintptr_t sp, uintptr_t *lo, uintptr_t *hi)
{
	*lo = sp - GROW + 64 * pg;
	*hi = sp - 32 * pg;
	grow(GROW);
	if (madvise((void *)*lo, *hi - *lo, MADV_DONTNEED))
		_exit(12);
}

/* After the split: nothing pending, and the engine called deeper. */
static void check(void)
{
	char what[64] = "";

	if (stack_pending(what, sizeof(what))) {
		fprintf(stderr, "stack piece made pending: %s\n", what);
		_exit(20);
	}
	if (call_deeper())
		_exit(14);
	if (stack_pending(what, sizeof(what))) {
		fprintf(stderr, "stack piece pending after the calls: %s\n",
			what);
		_exit(21);
	}
}

/*
 * Child: the stack split by a lock call on one page above the absent
 * part (every engine leaves that page part of the stack and locks it,
 * which splits the mapping), then its absent part locked: that piece
 * has no "[stack]" label.
 */
static void split_by_mlock(void)
{
	uintptr_t sp = (uintptr_t)__builtin_frame_address(0) & ~(pg - 1);
	uintptr_t lo, hi;

	grow_and_drop(sp, &lo, &hi);
	if (mlock((void *)hi, pg) || mlock((void *)lo, hi - lo))
		_exit(13);
	check();
	munlock((void *)lo, hi + pg - lo);
	_exit(0);
}

/*
 * Child: the stack after mlockall, twice. Under CHARGE=touched the
 * first locks the stack's present pages only, which splits it at the
 * absent part.
 */
static void split_by_mlockall(void)
{
	uintptr_t sp = (uintptr_t)__builtin_frame_address(0) & ~(pg - 1);
	uintptr_t lo, hi;

	grow_and_drop(sp, &lo, &hi);
	if (mlockall(MCL_CURRENT | MCL_ONFAULT) ||
	    mlockall(MCL_CURRENT | MCL_ONFAULT))
		_exit(13);
	check();
	munlockall();
	_exit(0);
}

static int go, split;

static void *thread_main(void *arg)
{
	uintptr_t sp = (uintptr_t)__builtin_frame_address(0) & ~(pg - 1);

	(void)arg;
	/*
	 * One page locked well below where the thread runs splits its
	 * stack: the piece below it is a mapping of its own, without the
	 * thread's stack pointer (or the alternate stack the kernel may
	 * have merged with the top of the stack) in it.
	 */
	if (mlock((void *)(sp - 256 * pg), pg))
		_exit(17);
	__atomic_store_n(&split, 1, __ATOMIC_RELEASE);
	while (!__atomic_load_n(&go, __ATOMIC_ACQUIRE))
		usleep(1000);
	_exit(call_deeper() ? 14 : 0);
	return NULL;
}

/*
 * Child: another thread's stack, glibc's, mostly unused and split
 * below, then mlockall twice on the main thread. No page of that stack may be
 * pending; the thread then calls into the engine from deeper frames.
 */
static void thread_stack(void)
{
	pthread_attr_t a;
	pthread_t t;
	void *stk;
	size_t size;
	char what[64] = "";

	if (pthread_create(&t, NULL, thread_main, NULL) ||
	    pthread_getattr_np(t, &a) || pthread_attr_getstack(&a, &stk, &size))
		_exit(15);
	while (!__atomic_load_n(&split, __ATOMIC_ACQUIRE))
		usleep(1000);
	if (mlockall(MCL_CURRENT | MCL_ONFAULT) ||
	    mlockall(MCL_CURRENT | MCL_ONFAULT))
		_exit(13);
	/* The thread sleeps on a few pages at the top: scan all of it. */
	if (range_pending((uintptr_t)stk, (uintptr_t)stk + size, what,
			  sizeof(what))) {
		fprintf(stderr, "thread stack page made pending: %s\n", what);
		_exit(20);
	}
	__atomic_store_n(&go, 1, __ATOMIC_RELEASE);
	pthread_join(t, NULL);
	_exit(16);
}

static void child(const char *which)
{
	setup();
	find_top();
	if (strcmp(which, "mlock") == 0)
		split_by_mlock();
	if (strcmp(which, "thread") == 0)
		thread_stack();
	split_by_mlockall();
}

/* Run "self CASE" (with env set) in a child; fail on a hang. */
static void run(const char *self, const char *which, int touched,
		const char *what)
{
	char st_buf[80];
	pid_t c = fork();
	int st = -1, done = 0;

	if (c == 0) {
		setpgid(0, 0);
		if (touched)
			setenv("LOCKONFAULT_CHARGE", "touched", 1);
		execl(self, self, which, (char *)NULL);
		_exit(127);
	}
	if (c > 0)
		done = probe_watch(c, WATCHDOG, &st);	/* ours: see probe.h */
	ok(c > 0 && done && WIFEXITED(st) && WEXITSTATUS(st) == 0,
	   "%s (%s)", what,
	   done ? probe_status_str(st, st_buf, sizeof(st_buf)) :
		  "hung: killed by the watchdog");
}

int main(int argc, char **argv)
{
	if (argc > 1) {
		child(argv[1]);
		return 99;
	}
	probe_require_preloaded();
	plan(5);
	run("/proc/self/exe", "mlock", 0,
	    "stack split by mlock of its lower part: no piece pending, "
	    "engine called from deeper frames returns");
	run("/proc/self/exe", "mlockall", 0,
	    "mlockall twice: no stack piece pending, engine called from "
	    "deeper frames returns");
	run("/proc/self/exe", "mlockall", 1,
	    "mlockall twice under CHARGE=touched (splits the stack): no "
	    "piece pending, engine called from deeper frames returns");
	run("/proc/self/exe", "thread", 0,
	    "mlockall twice with a second thread: no page of its stack "
	    "pending, it calls the engine from deeper frames");
	run("/proc/self/exe", "thread", 1,
	    "the same under CHARGE=touched");
	return done();
}
