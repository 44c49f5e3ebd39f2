/*
 * t-crash.c - faults that are not pending pages reach the program
 * exactly as without lockonfault.
 *
 * In forked children (the parent checks the wait status): a NULL
 * dereference dies of SIGSEGV (and dumps core when allowed); a write to a
 * locked PROT_READ region dies of SIGSEGV; a touch past the end of a
 * locked file mapping dies of SIGBUS; with SIGSEGV ignored, pending pages
 * still work and a real fault still kills; a stack overflow reaches the
 * program's SA_ONSTACK handler on its alternate stack.
 *
 * sigaction(SIGSEGV, NULL, &old) reports the program's own disposition
 * back. The program's SA_SIGINFO handler, installed before any mlock and
 * again after one, gets its own faults with the right si_signo, si_code
 * (SEGV_MAPERR, SEGV_ACCERR), si_addr and signal mask, and siglongjmps
 * out; pending pages touched in the handler still resolve; pending pages
 * touched outside never reach it; signal() returns the previous handler;
 * SA_RESETHAND resets; a real fault inside the handler kills, because
 * SIGSEGV is blocked there. The faults run in forked children that record
 * what the handler saw in shared memory, so one failure cannot hide the
 * others.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include "probe.h"
#include "tap.h"

#define RPAGES 256

static size_t pg;
static char *rw;	/* locked, read-write, pending */
static char *ro;	/* locked, PROT_READ, pending */
static char *none;	/* locked (ONFAULT), PROT_NONE by the program */
static char *unmapped;	/* an address that is never mapped */
static char scratch[4096];

static volatile uint64_t *word(char *p, size_t page)
{
	return (volatile uint64_t *)(p + page * pg + 16);
}

/*
 * NULL, hidden from the compiler so that it cannot treat a store through
 * it as unreachable and drop the stores before it.
 */
static volatile int *volatile null_ptr;

/* ---- the program's own handlers ---- */

static sigjmp_buf jb;
static volatile sig_atomic_t h_calls, h_signo, h_code, h_ctx;
static volatile sig_atomic_t h_mask_segv, h_mask_usr1;
static void *volatile h_addr;
static char *volatile h_touch;	/* pending pages to use in the handler */
static volatile uint64_t h_read;

static void handler(int sig, siginfo_t *si, void *uc)
{
	sigset_t m;

	h_calls++;
	h_signo = sig == si->si_signo ? sig : -1;
	h_code = si->si_code;
	h_addr = si->si_addr;
	h_ctx = uc != NULL;
	sigprocmask(SIG_BLOCK, NULL, &m);
	h_mask_segv = sigismember(&m, SIGSEGV);
	h_mask_usr1 = sigismember(&m, SIGUSR1);
	if (h_touch) {
		h_read = *word(h_touch, 0);
		*word(h_touch, 1) = 0xfeed;
	}
	siglongjmp(jb, 1);
}

static void plain_handler(int sig)
{
	h_calls++;
	h_signo = sig;
	siglongjmp(jb, 1);
}

/* 1 if the access faulted into the program's handler. */
static int fault(volatile char *a, int write)
{
	h_calls = 0;
	h_code = h_signo = 0;
	h_addr = NULL;
	if (sigsetjmp(jb, 1) == 0) {
		if (write)
			*a = 1;
		else
			(void)*a;
		return 0;
	}
	return 1;
}

static int reports(void (*fn)(int, siginfo_t *, void *), int flags)
{
	struct sigaction old;

	if (sigaction(SIGSEGV, NULL, &old))
		return 0;
	if ((old.sa_flags & SA_SIGINFO) != (flags & SA_SIGINFO))
		return 0;
	if (flags & SA_SIGINFO)
		return old.sa_sigaction == fn && sigismember(&old.sa_mask,
							     SIGUSR1) == 1 &&
		       (old.sa_flags & flags) == flags;
	return old.sa_handler == (void (*)(int))(void (*)(void))fn;
}

/* SA_RESETHAND resets the handler only: the flags stay as they were. */
static int reports_default(void)
{
	struct sigaction old;

	return !sigaction(SIGSEGV, NULL, &old) && old.sa_handler == SIG_DFL;
}

/*
 * Faults into the program's handler run in forked children, so that a
 * library that gets them wrong cannot take the rest of the test down:
 * the child records what its handler saw in shared memory.
 */
struct rec {
	int faulted, calls, signo, code, ctx, mask_segv, mask_usr1;
	void *addr;
};

static struct shared {
	struct rec rec[3];
	uint64_t val[4];
	volatile int step;	/* how far the child got */
} *sh;

static void record(struct rec *r, int faulted)
{
	r->faulted = faulted;
	r->calls = h_calls;
	r->signo = h_signo;
	r->code = h_code;
	r->ctx = h_ctx;
	r->mask_segv = h_mask_segv;
	r->mask_usr1 = h_mask_usr1;
	r->addr = h_addr;
}

static void child_faults(void *arg)
{
	(void)arg;
	record(&sh->rec[0], fault(unmapped + 123, 0));
	sh->step = 1;
	/* a page never touched before */
	record(&sh->rec[1], fault(ro + 5 * pg + 9, 1));
	sh->step = 2;
	record(&sh->rec[2], fault(none + 3 * pg + 1, 0));
	sh->step = 3;
}

static int run_child(void (*fn)(void *), const char *what)
{
	char buf[80];
	int st;

	memset(sh, 0, sizeof(*sh));
	st = probe_fork(fn, NULL);
	if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
		diag("%s: child %s after step %d", what,
		     probe_status_str(st, buf, sizeof(buf)), sh->step);
	return st;
}

/* The MAPERR / ACCERR checks of one installed handler: 4 tests. */
static void handler_checks(const char *when)
{
	struct rec *r = sh->rec;

	run_child(child_faults, when);
	ok(r[0].faulted && r[0].calls == 1 && r[0].signo == SIGSEGV &&
	   r[0].code == SEGV_MAPERR && r[0].addr == unmapped + 123 &&
	   r[0].ctx,
	   "%s: unmapped read -> program handler, SEGV_MAPERR, si_addr ok "
	   "(calls %d, code %d, addr %p want %p)", when, r[0].calls,
	   r[0].code, r[0].addr, (void *)(unmapped + 123));
	ok(r[0].faulted && r[0].mask_segv == 1 && r[0].mask_usr1 == 1,
	   "%s: the handler runs with SIGSEGV and its sa_mask blocked "
	   "(SIGSEGV %d, SIGUSR1 %d)", when, r[0].mask_segv, r[0].mask_usr1);
	ok(r[1].faulted && r[1].calls == 1 && r[1].code == SEGV_ACCERR &&
	   r[1].addr == ro + 5 * pg + 9,
	   "%s: write to a pending PROT_READ page -> handler, SEGV_ACCERR, "
	   "si_addr ok (calls %d, code %d, addr %p want %p)", when,
	   r[1].calls, r[1].code, r[1].addr, (void *)(ro + 5 * pg + 9));
	ok(r[2].faulted && r[2].calls == 1 && r[2].code == SEGV_ACCERR &&
	   r[2].addr == none + 3 * pg + 1,
	   "%s: read of a locked PROT_NONE page -> handler, SEGV_ACCERR "
	   "(calls %d, code %d, addr %p want %p)", when, r[2].calls,
	   r[2].code, r[2].addr, (void *)(none + 3 * pg + 1));
}

static void child_pending(void *arg)
{
	size_t i;

	(void)arg;
	h_calls = 0;
	for (i = 200; i < 210; i++)
		*word(rw, i) = i;
	sh->val[0] = (uint64_t)h_calls;
	sh->val[1] = *word(rw, 205) == 205 && *word(rw, 0) == 0xabc;
	sh->step = 1;
	h_touch = rw + 100 * pg;
	sh->val[2] = (uint64_t)fault(unmapped, 0);
	sh->val[3] = h_read == 0x100 && *word(rw, 101) == 0xfeed;
	sh->step = 2;
}

/* Pending pages outside and inside the program's handler: 2 tests. */
static void pending_checks(void)
{
	run_child(child_pending, "pending pages");
	ok(sh->step >= 1 && sh->val[0] == 0 && sh->val[1] == 1,
	   "pending pages touched outside the handler never reach it (calls "
	   "%d)", (int)sh->val[0]);
	ok(sh->step == 2 && sh->val[2] == 1 && sh->val[3] == 1,
	   "pending pages read and written inside the program's handler");
}

static void child_plain(void *arg)
{
	(void)arg;
	record(&sh->rec[0], fault(unmapped + 1, 1));
	sh->step = 1;
}

static volatile sig_atomic_t depth;

static void nesting_handler(int sig, siginfo_t *si, void *uc)
{
	if (++depth > 1)
		_exit(7);	/* entered again: SIGSEGV was not blocked */
	(void)*(volatile char *)unmapped;
}

static void child_nested(void *arg)
{
	(void)arg;
	if (probe_install_segv(nesting_handler, 0))
		_exit(3);
	(void)*(volatile char *)unmapped;
	_exit(4);
}

static void child_resethand(void *arg)
{
	(void)arg;
	record(&sh->rec[0], fault(unmapped, 0));
	sh->val[0] = reports_default();
	sh->step = 1;
	*null_ptr = 1;	/* must now kill */
}

/* ---- crashes in forked children ---- */

static void null_deref(void *arg)
{
	(void)arg;
	*null_ptr = 1;
}

static void null_deref_core(void *arg)
{
	struct rlimit rl = { 64 << 20, RLIM_INFINITY };

	(void)arg;
	if (chdir(scratch) || setrlimit(RLIMIT_CORE, &rl))
		_exit(3);
	prctl(PR_SET_DUMPABLE, 1);
	*null_ptr = 1;
}

static void write_ro(void *arg)
{
	*(volatile char *)arg = 1;
}

static void read_then_write_ro(void *arg)
{
	char *a = arg;

	if (*(volatile char *)a != 0)
		_exit(2);
	*(volatile char *)a = 1;
}

static void touch_past_eof(void *arg)
{
	char *f = arg;

	if (*(volatile char *)f != 'x')
		_exit(2);
	(void)*(volatile char *)(f + 2 * pg);
}

static void ignored_segv(void *arg)
{
	(void)arg;
	signal(SIGSEGV, SIG_IGN);
	*word(rw, 40) = 0x4040;
	if (*word(rw, 40) != 0x4040 || *word(rw, 0) != 0xabc)
		_exit(2);
	*null_ptr = 1;
}

static void overflow_handler(int sig, siginfo_t *si, void *uc)
{
	(void)sig;
	(void)si;
	(void)uc;
	_exit(42);
}

static volatile int never = -1;

static int recurse(int n)
{
	volatile char buf[1024];

	if (n == never)
		return 0;
	buf[0] = (char)n;
	return recurse(n + 1) + buf[0];
}

static void stack_overflow(void *arg)
{
	struct sigaction sa;
	stack_t ss;

	(void)arg;
	ss.ss_sp = malloc(1 << 16);
	ss.ss_size = 1 << 16;
	ss.ss_flags = 0;
	if (!ss.ss_sp || sigaltstack(&ss, NULL))
		_exit(3);
	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = overflow_handler;
	sa.sa_flags = SA_SIGINFO | SA_ONSTACK;
	sigemptyset(&sa.sa_mask);
	if (sigaction(SIGSEGV, &sa, NULL))
		_exit(4);
	recurse(0);
}

static int killed_by(int st, int sig, const char *what)
{
	char buf[80];

	if (WIFSIGNALED(st) && WTERMSIG(st) == sig)
		return 1;
	diag("%s: child %s", what, probe_status_str(st, buf, sizeof(buf)));
	return 0;
}

static void rm_scratch(void)
{
	char path[8192];
	struct dirent *d;
	DIR *dir = opendir(scratch);

	while (dir && (d = readdir(dir))) {
		if (!strcmp(d->d_name, ".") || !strcmp(d->d_name, ".."))
			continue;
		snprintf(path, sizeof(path), "%s/%s", scratch, d->d_name);
		unlink(path);
	}
	if (dir)
		closedir(dir);
	rmdir(scratch);
}

static void crash_children(void)
{
	char buf[80], path[8300], *f;
	int st, fd;

	st = probe_fork(null_deref, NULL);
	ok(killed_by(st, SIGSEGV, "NULL"),
	   "a NULL dereference dies of SIGSEGV");

	st = probe_fork(null_deref_core, NULL);
	ok(killed_by(st, SIGSEGV, "NULL+core") && WCOREDUMP(st),
	   "... and dumps core when allowed (%s)",
	   probe_status_str(st, buf, sizeof(buf)));

	st = probe_fork(write_ro, ro + 20 * pg);
	ok(killed_by(st, SIGSEGV, "write RO"),
	   "a write to a pending page of a locked PROT_READ region dies of "
	   "SIGSEGV");
	st = probe_fork(read_then_write_ro, ro + 21 * pg);
	ok(killed_by(st, SIGSEGV, "read+write RO"),
	   "a read, then a write, of a locked PROT_READ page dies of SIGSEGV");

	snprintf(path, sizeof(path), "%s/short", scratch);
	fd = open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	f = MAP_FAILED;
	if (fd >= 0 && write(fd, "x", 1) == 1)
		f = mmap(NULL, 4 * pg, PROT_READ, MAP_SHARED, fd, 0);
	if (f != MAP_FAILED && mlock2(f, 4 * pg, MLOCK_ONFAULT) == 0) {
		st = probe_fork(touch_past_eof, f);
		ok(killed_by(st, SIGBUS, "past EOF"),
		   "a touch past the end of a locked file mapping dies of "
		   "SIGBUS");
	} else {
		ok(0, "a locked one-byte file mapping of 4 pages (errno %d)",
		   errno);
	}
	if (f != MAP_FAILED)
		munmap(f, 4 * pg);
	if (fd >= 0)
		close(fd);

	st = probe_fork(ignored_segv, NULL);
	ok(killed_by(st, SIGSEGV, "SIG_IGN"),
	   "with SIGSEGV ignored, pending pages work and a real fault still "
	   "kills by SIGSEGV");

	st = probe_fork(stack_overflow, NULL);
	ok(WIFEXITED(st) && WEXITSTATUS(st) == 42,
	   "a stack overflow reaches the program's SA_ONSTACK handler (%s)",
	   probe_status_str(st, buf, sizeof(buf)));
}

static char *map_locked(size_t npages, int prot, int onfault)
{
	char *p = mmap(NULL, npages * pg, prot, MAP_PRIVATE | MAP_ANONYMOUS,
		       -1, 0);

	if (p == MAP_FAILED)
		bail("mmap failed: %s", strerror(errno));
	if ((onfault ? mlock2(p, npages * pg, MLOCK_ONFAULT) :
		       mlock(p, npages * pg)) != 0)
		diag("locking %zu pages (prot %d) failed: %s", npages, prot,
		     strerror(errno));
	return p;
}

int main(void)
{
	struct sigaction old;
	void (*prev)(int);
	char buf[80], perms[5];
	int st;

	plan(29);
	probe_require_preloaded();
	alarm(60);
	pg = probe_page_size();
	sh = mmap(NULL, sizeof(*sh), PROT_READ | PROT_WRITE,
		  MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (sh == MAP_FAILED)
		bail("mmap failed: %s", strerror(errno));

	ok(reports_default(), "sigaction(SIGSEGV, NULL, &old) reports SIG_DFL "
	   "at start");
	ok(probe_install_segv(handler, 0) == 0 && reports(handler, SA_SIGINFO),
	   "a handler installed before any mlock is reported back "
	   "(function, SA_SIGINFO, sa_mask)");

	/*
	 * A page freed with munmap() can be reused by any later mapping,
	 * the library's own included; nothing is ever mapped this low
	 * without MAP_FIXED.
	 */
	unmapped = (char *)(uintptr_t)0x10000;
	if (probe_perms(unmapped, perms) == 0)
		bail("%p is mapped (%s)", (void *)unmapped, perms);
	rw = mmap(NULL, RPAGES * pg, PROT_READ | PROT_WRITE,
		  MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (rw == MAP_FAILED)
		bail("mmap failed: %s", strerror(errno));
	*word(rw, 0) = 0xabc;
	*word(rw, 100) = 0x100;
	if (mlock(rw, RPAGES * pg))
		diag("mlock failed: %s", strerror(errno));
	ro = map_locked(64, PROT_READ, 0);
	none = map_locked(64, PROT_NONE, 1);

	handler_checks("handler before mlock");
	pending_checks();

	memset(&old, 0, sizeof(old));
	old.sa_handler = SIG_DFL;
	ok(sigaction(SIGSEGV, &old, NULL) == 0 && reports_default(),
	   "SIG_DFL restored and reported");
	*word(rw, 50) = 0x50;
	ok(*word(rw, 50) == 0x50 && *word(rw, 0) == 0xabc,
	   "pending pages still resolve after SIG_DFL is restored");

	/* For core files and a short file: only these children use it. */
	if (probe_tmpdir(scratch, sizeof(scratch), "t-crash.tmp"))
		bail("cannot create a scratch directory: %s", strerror(errno));
	crash_children();
	rm_scratch();

	ok(probe_install_segv(handler, 0) == 0 && reports(handler, SA_SIGINFO),
	   "a handler installed after mlock is reported back");
	handler_checks("handler after mlock");

	st = probe_fork(child_nested, NULL);
	ok(WIFSIGNALED(st) && WTERMSIG(st) == SIGSEGV,
	   "a real fault inside the program's handler kills by SIGSEGV, as "
	   "with SIGSEGV blocked (%s; 7 = handler re-entered)",
	   probe_status_str(st, buf, sizeof(buf)));

	prev = signal(SIGSEGV, plain_handler);
	ok(prev == (void (*)(int))(void (*)(void))handler,
	   "signal() returns the previous handler");
	ok(reports((void (*)(int, siginfo_t *, void *))(void (*)(void))
		   plain_handler, 0),
	   "sigaction reports the signal() handler");
	run_child(child_plain, "signal() handler");
	ok(sh->rec[0].faulted && sh->rec[0].calls == 1 &&
	   sh->rec[0].signo == SIGSEGV,
	   "a signal() handler gets its fault (calls %d)", sh->rec[0].calls);

	ok(probe_install_segv(handler, SA_RESETHAND) == 0 &&
	   reports(handler, SA_SIGINFO | SA_RESETHAND),
	   "an SA_RESETHAND handler is reported back with its flag");
	memset(sh, 0, sizeof(*sh));
	st = probe_fork(child_resethand, NULL);	/* dies on purpose */
	ok(sh->step >= 1 && sh->rec[0].faulted && sh->rec[0].calls == 1 &&
	   sh->val[0] == 1,
	   "SA_RESETHAND: the handler runs once, then SIG_DFL is reported");
	ok(WIFSIGNALED(st) && WTERMSIG(st) == SIGSEGV,
	   "SA_RESETHAND: the next fault kills by SIGSEGV (%s)",
	   probe_status_str(st, buf, sizeof(buf)));

	signal(SIGSEGV, SIG_DFL);
	munlock(rw, RPAGES * pg);
	munmap(rw, RPAGES * pg);
	munmap(ro, 64 * pg);
	munmap(none, 64 * pg);
	return done();
}
