/*
 * t-transitions.c - the transition table of SPEC section 3: every call
 * against every state of a range, observed through the kernel.
 *
 * States of a 16-page private read-write range (between guard pages):
 *   E  unlocked, nothing resident;
 *   U  unlocked, pages 0-3 written;
 *   P  pending: pages 0-3 written, then mlock(); pages 0-3 present and
 *      locked;
 *   L  locked: as P, then every page written (past the pattern's
 *      word): accessible, lo, all present and locked.
 * After each call the range is classified from /proc/self/maps and
 * smaps at pages 1 (written before) and 9 (never written in E, U, P).
 * What "pending" looks like depends on the engine (probe_engine()):
 *
 *   sigsegv (and sim43, where auto picks it): pending is the library's
 *   table plus PROT_NONE, so
 *     gone      no mapping there;
 *     unlocked  no lo;
 *     pending   lo and ---p although the program's protection is not;
 *     locked    lo, otherwise.
 *   native: nothing is ever protected; a lock call is the kernel's own
 *   MLOCK_ONFAULT/MCL_ONFAULT, so a pending page is simply a page of a
 *   lock-on-fault VMA that is not present yet. Every state must show
 *   the program's own protection (anything else is "wrong protection"),
 *   and
 *     unlocked  no lo;
 *     onfault   lo and lf: what the kernel's MLOCK_ONFAULT gives; this
 *               is the expected state wherever sigsegv expects pending
 *               or locked, since under native every lock call carries
 *               the ONFAULT flag;
 *     locked    lo without lf: the kernel's eager lock, expected
 *               nowhere (mmap(MAP_FIXED|MAP_LOCKED), doc/transitions.md
 *               T12, was passed on as it is before the library checked
 *               the limit itself).
 *   Under native, "pending" and "locked" differ only in which pages are
 *   present, and the page checks below say that for each row.
 *   emulation (sigsegv over a kernel without MLOCK_ONFAULT, as under
 *   sim43: probe_emulated()): the range is plain VM_LOCKED (lo, never
 *   lf), pages present at the lock call stay accessible and locked, and
 *   only absent pages are made PROT_NONE. Every page of the range is
 *   classified (classify_emu()), and
 *     pending   absent pages ---p and lo, the present ones at the
 *               program's protection, lo and mlocked: what the kernel's
 *               MLOCK_ONFAULT leaves, wherever some page is absent;
 *     locked    every page present, accessible, lo and mlocked (or the
 *               program's own PROT_NONE);
 *     unlocked  no lo and the program's protection on every page;
 *   anything else (lf, a present page ---p, a present page of a lo
 *   range not mlocked, an absent accessible one...) is "mixed". Where
 *   sigsegv expects pending or locked, emulation expects locked if
 *   every page is meant to be present (L with its data kept, or
 *   MAP_FIXED|MAP_LOCKED), else pending.
 *
 * Then the call's return value and errno, the data of pages 0-3 (kept,
 * zero, or not applicable), page 1's lock bit (kpageflags: locked iff
 * the range is, for data kept; never, for a range of zeros that was
 * only read, as a 4.4+ kernel maps the zero page there), that no page
 * past 3 is present, before and after pages 0-3 were read, unless they
 * held data or the kernel populated the range (locking stays lazy, and
 * locks only what is touched), and what a write to
 * page 9 does (locked iff the range is pending or locked) are checked,
 * under every engine alike. Where the program made the range PROT_NONE
 * itself, a touch must be the program's own SIGSEGV. Every row of
 * doc/transitions.md names the TAP test here that backs it:
 * "<row> <call> on <state>".
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include "probe.h"
#include "tap.h"

#ifndef MAP_FIXED_NOREPLACE
#define MAP_FIXED_NOREPLACE 0x100000
#endif

#define NPG	16
#define RW	(PROT_READ | PROT_WRITE)

enum state { S_E, S_U, S_P, S_L, NSTATES, S_GONE, S_UNLOCKED, S_PENDING,
	     S_LOCKED, S_MIXED, S_ONFAULT, S_WRONGPROT };
static const char *const sname[] = {
	"E (unlocked, empty)", "U (unlocked)", "P (pending)", "L (locked)",
	"", "gone", "unlocked", "pending", "locked", "mixed",
	"onfault (lo lf)", "wrong protection"
};

enum data { D_ANY, D_KEPT, D_ZERO };

struct expect {
	int state;	/* 0: row not run on this state */
	int ret;
	int err;
	int data;
};

struct row {
	const char *id;
	const char *call;
	/* Makes the call on *p (may move it); returns its result. */
	int (*fn)(char **p);
	int prot;		/* the program's protection afterwards */
	struct expect e[NSTATES];
};

static size_t pg;
static char *extra;	/* a second mapping a row may make */
static int native;	/* probe_native(): the kernel's own lock-on-fault */
static int emulated;	/* probe_emulated(): the engine supplies it */

/* ---- states ---- */

static uint64_t pat(size_t i)
{
	return probe_mix(i, 0x7472616e);
}

static char *make(enum state s)
{
	char *g = mmap(NULL, (NPG + 2) * pg, PROT_NONE,
		       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0), *p;

	if (g == MAP_FAILED || mprotect(g + pg, NPG * pg, RW))
		bail("mmap: %s", strerror(errno));
	p = g + pg;
	if (s != S_E)
		for (size_t i = 0; i < 4; i++)
			*(uint64_t *)(p + i * pg) = pat(i);
	if (s == S_P || s == S_L)
		if (mlock(p, NPG * pg))
			bail("mlock: %s", strerror(errno));
	/* Every page written: resolved, whatever the batch sizes. */
	if (s == S_L)
		for (size_t i = 0; i < NPG; i++)
			p[i * pg + 8] = 1;
	return p;
}

static int data_is(char *p, enum data d, int prot)
{
	if (!(prot & PROT_READ))
		return d == D_ANY;
	for (size_t i = 0; i < 4; i++) {
		uint64_t v = *(volatile uint64_t *)(p + i * pg);

		if ((d == D_KEPT && v != pat(i)) || (d == D_ZERO && v))
			return 0;
	}
	return 1;
}

static int classify1(char *a, int prot)
{
	char perms[5], want[5];
	int lo;

	if (probe_perms(a, perms))
		return S_GONE;
	lo = probe_vmflag(a, "lo");
	if (native) {
		snprintf(want, sizeof(want), "%c%c-p",
			 prot & PROT_READ ? 'r' : '-',
			 prot & PROT_WRITE ? 'w' : '-');
		if (strcmp(perms, want))
			return S_WRONGPROT;
		if (lo != 1)
			return S_UNLOCKED;
		return probe_vmflag(a, "lf") == 1 ? S_ONFAULT : S_LOCKED;
	}
	if (lo != 1)
		return S_UNLOCKED;
	if (!strcmp(perms, "---p") && prot != PROT_NONE)
		return S_PENDING;
	return S_LOCKED;
}

/*
 * Under emulation, one page as the kernel shows it, as a letter:
 *   L  locked: lo, no lf, the program's protection, present and mlocked
 *      (or absent in the program's own PROT_NONE range);
 *   p  pending: lo, no lf, ---p though the program's protection is not,
 *      absent;
 *   u  unlocked: no lo, the program's protection (its page may still
 *      be mlocked when it is shared with a process that locks it, as a
 *      fork child's pages are with its parent's: kpageflags are the
 *      page's, not the mapping's);
 * and what a 4.4+ kernel's MLOCK_ONFAULT never shows, each a failure:
 *   f  lf (the range must be plain VM_LOCKED);
 *   h  present but ---p (a present page is hidden: the kernel leaves it
 *      accessible);
 *   n  lo and present, but not mlocked;
 *   o  lo, accessible and absent (neither locked nor pending);
 *   w  another protection;
 *   -  no mapping.
 */
static char page_emu(char *a, int prot)
{
	char perms[5], want[5];
	int lo, present;

	if (probe_perms(a, perms))
		return '-';
	snprintf(want, sizeof(want), "%c%c-p", prot & PROT_READ ? 'r' : '-',
		 prot & PROT_WRITE ? 'w' : '-');
	lo = probe_vmflag(a, "lo") == 1;
	present = probe_present(a) == 1;
	if (!lo)
		return strcmp(perms, want) ? 'w' : 'u';
	if (probe_vmflag(a, "lf") == 1)
		return 'f';
	if (!strcmp(perms, "---p") && prot != PROT_NONE)
		return present ? 'h' : 'p';
	if (strcmp(perms, want))
		return 'w';
	if (present)
		return probe_page_locked(a) == 1 ? 'L' : 'n';
	return prot == PROT_NONE ? 'L' : 'o';
}

/*
 * Under emulation, the range's first n pages: locked if every page is
 * (fully present), pending if the absent ones are pending and the
 * present ones locked and accessible (what the kernel's MLOCK_ONFAULT
 * leaves: present pages locked, absent ones locked when touched),
 * unlocked or gone if every page is; anything else is mixed, and every
 * page is named.
 */
static int classify_emu(char *p, int prot, int n)
{
	char map[NPG + 1];
	int has[128] = { 0 }, bad;

	for (int i = 0; i < n; i++) {
		map[i] = page_emu(p + i * pg, prot);
		has[(unsigned char)map[i]] = 1;
	}
	map[n] = '\0';
	bad = has['f'] || has['h'] || has['n'] || has['o'] || has['w'];
	if (!bad && has['-'] + has['u'] + has['L'] + has['p'] == 1)
		return has['-'] ? S_GONE : has['u'] ? S_UNLOCKED :
		       has['L'] ? S_LOCKED : S_PENDING;
	if (!bad && !has['-'] && !has['u'])
		return S_PENDING;	/* L and p */
	diag("mixed: pages 0-%d %s (L locked, p pending, u unlocked; "
	     "f lf, h present but ---p, n present not mlocked, "
	     "o lo absent accessible, w protection, - gone)",
	     n - 1, map);
	return S_MIXED;
}

/*
 * The range's state: from pages 1 and 9 (strict), or under emulation
 * from each of its first n pages.
 */
static int classify(char *p, int prot, int n)
{
	int a, b;

	if (emulated)
		return classify_emu(p, prot, n);
	a = classify1(p + pg, prot);
	b = classify1(p + 9 * pg, prot);
	if (a != b)
		diag("mixed: page 1 %s, page 9 %s", sname[a], sname[b]);
	return a == b ? a : S_MIXED;
}

/* ---- the calls ---- */

static int c_mlock(char **p)
{
	return mlock(*p, NPG * pg);
}

static int c_mlock2_0(char **p)
{
	return mlock2(*p, NPG * pg, 0);
}

static int c_mlock2_onfault(char **p)
{
	return mlock2(*p, NPG * pg, MLOCK_ONFAULT);
}

static int c_munlock(char **p)
{
	return munlock(*p, NPG * pg);
}

static int c_mlockall_cur(char **p)
{
	(void)p;
	return mlockall(MCL_CURRENT);
}

static int c_mlockall_cur_onfault(char **p)
{
	(void)p;
	return mlockall(MCL_CURRENT | MCL_ONFAULT);
}

static int c_mlockall_future(char **p)
{
	(void)p;
	return mlockall(MCL_FUTURE);
}

static int c_munlockall(char **p)
{
	(void)p;
	return munlockall();
}

static int c_mlockall_future_mmap(char **p)
{
	int r = mlockall(MCL_FUTURE);

	*p = mmap(NULL, NPG * pg, RW, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	return *p == MAP_FAILED ? -1 : r;
}

static int c_mmap_locked(char **p)
{
	*p = mmap(NULL, NPG * pg, RW, MAP_PRIVATE | MAP_ANONYMOUS | MAP_LOCKED,
		  -1, 0);
	return *p == MAP_FAILED ? -1 : 0;
}

static int c_mmap_fixed(char **p)
{
	void *q = mmap(*p, NPG * pg, RW, MAP_PRIVATE | MAP_ANONYMOUS |
		       MAP_FIXED, -1, 0);

	return q == *p ? 0 : -1;
}

static int c_mmap_fixed_locked(char **p)
{
	void *q = mmap(*p, NPG * pg, RW, MAP_PRIVATE | MAP_ANONYMOUS |
		       MAP_FIXED | MAP_LOCKED, -1, 0);

	return q == *p ? 0 : -1;
}

/* munmap, then the same place mapped again by someone else. */
static int c_munmap(char **p)
{
	int r = munmap(*p, NPG * pg);
	void *q = mmap(*p, NPG * pg, RW, MAP_PRIVATE | MAP_ANONYMOUS |
		       MAP_FIXED_NOREPLACE, -1, 0);

	if (q != *p)
		return -2;
	return r;
}

/* munmap of pages 12-15: pages 0-11 keep their state. */
static int c_munmap_tail(char **p)
{
	return munmap(*p + 12 * pg, 4 * pg);
}

static int c_mprotect_read(char **p)
{
	return mprotect(*p, NPG * pg, PROT_READ);
}

static int c_mprotect_rw(char **p)
{
	return mprotect(*p, NPG * pg, RW);
}

static int c_mprotect_none(char **p)
{
	return mprotect(*p, NPG * pg, PROT_NONE);
}

static int c_mremap_grow(char **p)
{
	void *q = mremap(*p, NPG * pg, 2 * NPG * pg, MREMAP_MAYMOVE);

	if (q == MAP_FAILED)
		return -1;
	*p = q;
	return 0;
}

static int c_mremap_shrink(char **p)
{
	void *q = mremap(*p, NPG * pg, 12 * pg, 0);

	return q == *p ? 0 : -1;
}

static int c_mremap_move(char **p)
{
	void *q;

	extra = mmap(NULL, NPG * pg, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS,
		     -1, 0);
	q = mremap(*p, NPG * pg, NPG * pg, MREMAP_MAYMOVE | MREMAP_FIXED,
		   extra);
	if (q == MAP_FAILED)
		return -1;
	*p = q;
	extra = NULL;
	return 0;
}

static int c_madv_dontneed(char **p)
{
	return madvise(*p, NPG * pg, MADV_DONTNEED);
}

/*
 * fork: the row's checks run in the child, which reports its
 * classification, data and lock bit through shared memory; the parent
 * then checks it is unchanged.
 */
struct fork_view {
	int state, data, locked1, vmlck0;
};
static struct fork_view *fv;
static char *fork_p;

static void fork_child(void *arg)
{
	(void)arg;
	fv->state = classify(fork_p, RW, NPG);
	fv->data = data_is(fork_p, D_KEPT, RW);
	fork_p[9 * pg] = 1;
	fv->locked1 = probe_page_locked(fork_p + 9 * pg);
	fv->vmlck0 = probe_status_kb("VmLck:") == 0;
}

static int c_fork(char **p)
{
	int st;

	fork_p = *p;
	memset(fv, 0, sizeof(*fv));
	st = probe_fork(fork_child, NULL);
	return WIFEXITED(st) && WEXITSTATUS(st) == 0 ? 0 : -1;
}

/* exec: a vfork child, sharing this memory, execs this test again. */
static const char *self;

static int c_exec(char **p)
{
	extern char **environ;
	char *argv[] = { (char *)self, "--exec-check", NULL };
	int st = -1;
	pid_t pid;

	(void)p;
	fflush(NULL);
	pid = vfork();
	if (pid == 0) {
		execve("/proc/self/exe", argv, environ);
		_exit(127);
	}
	if (pid < 0 || waitpid(pid, &st, 0) != pid)
		return -1;
	return WIFEXITED(st) && WEXITSTATUS(st) == 0 ? 0 : -1;
}

/* The exec'd image: nothing locked, nothing pending. */
static int exec_check(void)
{
	return probe_status_kb("VmLck:") == 0 &&
	       probe_rollup_kb("Locked:") == 0 ? 0 : 1;
}

static void touch_child(void *arg)
{
	(void)*(volatile char *)arg;
}

/*
 * Is every page of the range present after fn on state s, the data
 * expectation being d? Only a range whose every page was written (L)
 * and kept.
 */
static int all_present(int (*fn)(char **), enum state s, int d)
{
	(void)fn;
	return s == S_L && d != D_ZERO;
}

/*
 * The state the table's expectation st (written for sigsegv) means
 * under the running engine, for fn on state s with data expectation d,
 * the program's protection being prot: see the head comment. Under
 * emulation a locked range whose pages are not all present is pending,
 * unless the program made it PROT_NONE itself (nothing is pending
 * there: its pages are the program's ---p, and the table says locked).
 */
static int want_state(int (*fn)(char **), int st, enum state s, int d,
		      int prot)
{
	if (st != S_PENDING && st != S_LOCKED)
		return st;
	if (native)
		return S_ONFAULT;
	if (emulated && prot != PROT_NONE)
		return all_present(fn, s, d) ? S_LOCKED : S_PENDING;
	return st;
}

/* ---- the table ---- */

#define E(st, r, er, d) { st, r, er, d }
#define ALL(st, r, er, d) { E(st, r, er, d), E(st, r, er, d), E(st, r, er, d), E(st, r, er, d) }

static const struct row rows[] = {
	{ "T01", "mlock", c_mlock, RW, {
		E(S_PENDING, 0, 0, D_ZERO), E(S_PENDING, 0, 0, D_KEPT),
		E(S_PENDING, 0, 0, D_KEPT), E(S_PENDING, 0, 0, D_KEPT) } },
	{ "T02", "mlock2(0)", c_mlock2_0, RW, {
		E(0, 0, 0, 0), E(S_PENDING, 0, 0, D_KEPT),
		E(S_PENDING, 0, 0, D_KEPT), E(S_PENDING, 0, 0, D_KEPT) } },
	{ "T03", "mlock2(MLOCK_ONFAULT)", c_mlock2_onfault, RW, {
		E(0, 0, 0, 0), E(S_PENDING, 0, 0, D_KEPT),
		E(S_PENDING, 0, 0, D_KEPT), E(S_PENDING, 0, 0, D_KEPT) } },
	{ "T04", "munlock", c_munlock, RW, {
		E(0, 0, 0, 0), E(S_UNLOCKED, 0, 0, D_KEPT),
		E(S_UNLOCKED, 0, 0, D_KEPT), E(S_UNLOCKED, 0, 0, D_KEPT) } },
	{ "T05", "mlockall(MCL_CURRENT)", c_mlockall_cur, RW, {
		E(S_PENDING, 0, 0, D_ZERO), E(S_LOCKED, 0, 0, D_KEPT),
		E(S_PENDING, 0, 0, D_KEPT), E(S_LOCKED, 0, 0, D_KEPT) } },
	{ "T06", "mlockall(MCL_CURRENT|MCL_ONFAULT)", c_mlockall_cur_onfault, RW, {
		E(S_PENDING, 0, 0, D_ZERO), E(S_LOCKED, 0, 0, D_KEPT),
		E(S_PENDING, 0, 0, D_KEPT), E(S_LOCKED, 0, 0, D_KEPT) } },
	{ "T07", "mlockall(MCL_FUTURE)", c_mlockall_future, RW, {
		E(0, 0, 0, 0), E(S_UNLOCKED, 0, 0, D_KEPT),
		E(S_PENDING, 0, 0, D_KEPT), E(S_LOCKED, 0, 0, D_KEPT) } },
	{ "T08", "mlockall(MCL_FUTURE), then a new mmap", c_mlockall_future_mmap,
	  RW, { E(S_PENDING, 0, 0, D_ZERO) } },
	{ "T09", "munlockall", c_munlockall, RW, {
		E(0, 0, 0, 0), E(S_UNLOCKED, 0, 0, D_KEPT),
		E(S_UNLOCKED, 0, 0, D_KEPT), E(S_UNLOCKED, 0, 0, D_KEPT) } },
	{ "T10", "a new mmap(MAP_LOCKED)", c_mmap_locked, RW, {
		E(S_PENDING, 0, 0, D_ZERO) } },
	{ "T11", "mmap(MAP_FIXED) over it", c_mmap_fixed, RW, {
		E(0, 0, 0, 0), E(S_UNLOCKED, 0, 0, D_ZERO),
		E(S_UNLOCKED, 0, 0, D_ZERO), E(S_UNLOCKED, 0, 0, D_ZERO) } },
	{ "T12", "mmap(MAP_FIXED|MAP_LOCKED) over it", c_mmap_fixed_locked, RW, {
		E(0, 0, 0, 0), E(S_PENDING, 0, 0, D_ZERO),
		E(S_PENDING, 0, 0, D_ZERO), E(S_PENDING, 0, 0, D_ZERO) } },
	{ "T13", "munmap, then a new mapping there", c_munmap, RW, {
		E(0, 0, 0, 0), E(S_UNLOCKED, 0, 0, D_ZERO),
		E(S_UNLOCKED, 0, 0, D_ZERO), E(S_UNLOCKED, 0, 0, D_ZERO) } },
	{ "T14", "munmap of the last 4 pages", c_munmap_tail, RW, {
		E(0, 0, 0, 0), E(S_UNLOCKED, 0, 0, D_KEPT),
		E(S_PENDING, 0, 0, D_KEPT), E(S_LOCKED, 0, 0, D_KEPT) } },
	{ "T15", "mprotect(PROT_READ)", c_mprotect_read, PROT_READ, {
		E(0, 0, 0, 0), E(S_UNLOCKED, 0, 0, D_KEPT),
		E(S_LOCKED, 0, 0, D_KEPT), E(S_LOCKED, 0, 0, D_KEPT) } },
	{ "T16", "mprotect(PROT_READ|PROT_WRITE), unchanged", c_mprotect_rw, RW, {
		E(0, 0, 0, 0), E(S_UNLOCKED, 0, 0, D_KEPT),
		E(S_LOCKED, 0, 0, D_KEPT), E(S_LOCKED, 0, 0, D_KEPT) } },
	{ "T17", "mprotect(PROT_NONE)", c_mprotect_none, PROT_NONE, {
		E(0, 0, 0, 0), E(S_UNLOCKED, 0, 0, D_ANY),
		E(S_LOCKED, 0, 0, D_ANY), E(S_LOCKED, 0, 0, D_ANY) } },
	{ "T18", "mremap growing it (MREMAP_MAYMOVE)", c_mremap_grow, RW, {
		E(0, 0, 0, 0), E(S_UNLOCKED, 0, 0, D_KEPT),
		E(S_LOCKED, 0, 0, D_KEPT), E(S_LOCKED, 0, 0, D_KEPT) } },
	{ "T19", "mremap shrinking it", c_mremap_shrink, RW, {
		E(0, 0, 0, 0), E(S_UNLOCKED, 0, 0, D_KEPT),
		E(S_LOCKED, 0, 0, D_KEPT), E(S_LOCKED, 0, 0, D_KEPT) } },
	{ "T20", "mremap moving it (MREMAP_FIXED)", c_mremap_move, RW, {
		E(0, 0, 0, 0), E(S_UNLOCKED, 0, 0, D_KEPT),
		E(S_LOCKED, 0, 0, D_KEPT), E(S_LOCKED, 0, 0, D_KEPT) } },
	{ "T21", "madvise(MADV_DONTNEED)", c_madv_dontneed, RW, {
		E(0, 0, 0, 0), E(S_UNLOCKED, 0, 0, D_ZERO),
		E(S_PENDING, -1, EINVAL, D_KEPT),
		E(S_LOCKED, -1, EINVAL, D_KEPT) } },
	{ "T22", "fork (the child's view)", c_fork, RW, {
		E(0, 0, 0, 0), E(S_UNLOCKED, 0, 0, D_KEPT),
		E(S_UNLOCKED, 0, 0, D_KEPT), E(S_UNLOCKED, 0, 0, D_KEPT) } },
	{ "T23", "exec (the new image)", c_exec, RW, {
		E(0, 0, 0, 0), E(S_GONE, 0, 0, D_ANY),
		E(S_GONE, 0, 0, D_ANY), E(S_GONE, 0, 0, D_ANY) } },
};

#define NROWS ((int)(sizeof(rows) / sizeof(rows[0])))

/* Pages of the range left after the row's call (T14, T19 keep 12). */
static int npages(const struct row *r)
{
	return r->fn == c_munmap_tail || r->fn == c_mremap_shrink ? 12 : NPG;
}

/* Rows whose call makes a new mapping rather than act on one. */
static int is_new(const struct row *r)
{
	return r->fn == c_mmap_locked || r->fn == c_mlockall_future_mmap;
}

static void run(const struct row *r, enum state s)
{
	const struct expect *e = &r->e[s];
	char *p = is_new(r) ? NULL : make(s), *orig = p;
	int ret, err, got, data, l1 = -1, l9 = -1, want_locked, want_l1;
	int p9, want_p9, segv = 1, grown = 1, extra_present = 0, late = 0;
	const char *ctx = is_new(r) ? "a new mapping" : sname[s];
	int want = want_state(r->fn, e->state, s, e->data, r->prot);

	errno = 0;
	ret = r->fn(&p);
	err = ret ? errno : 0;

	if (r->fn == c_fork) {
		/* The parent is unchanged; the rest is the child's view. */
		int parent = classify(p, RW, NPG);
		int pwant = want_state(r->fn, s == S_P ? S_PENDING :
					   s == S_L ? S_LOCKED : S_UNLOCKED,
				       s, D_KEPT, RW);

		got = fv->state;
		data = fv->data;
		l9 = fv->locked1;
		want_locked = 0;
		ok(ret == e->ret && got == want && data && l9 == 0 &&
		   fv->vmlck0 && parent == pwant,
		   "%s %s on %s: child %s, data %s, page 9 written and locked %d, VmLck 0 %d; parent %s",
		   r->id, r->call, ctx, sname[got], data ? "kept" : "LOST",
		   l9, fv->vmlck0, sname[parent]);
		goto out;
	}
	if (r->fn == c_exec) {
		ok(ret == 0 && classify(p, RW, NPG) ==
		   want_state(r->fn, s == S_P ? S_PENDING :
			      s == S_L ? S_LOCKED : S_UNLOCKED, s, D_KEPT,
			      RW),
		   "%s %s on %s: no locks and nothing pending in the new image, the caller unchanged",
		   r->id, r->call, ctx);
		goto out;
	}

	got = classify(p, r->prot, npages(r));
	/*
	 * Lazy, before anything is read: pages 4 and up were never
	 * touched, so none is present unless every page is meant to be.
	 */
	if (got != S_GONE && !all_present(r->fn, s, e->data))
		for (int i = 4; i < npages(r); i++)
			extra_present += probe_present(p + i * pg) == 1;
	if (extra_present)
		diag("%d of pages 4-%d present, never touched",
		     extra_present, npages(r) - 1);
	data = data_is(p, e->data, r->prot);
	/*
	 * Lazy: reading pages 0-3 opened at least their batch, yet page 9
	 * is present only if it held data, or the kernel populated; nor is
	 * any other page past 3 (a batch may open them, but a 4.4+
	 * kernel's MLOCK_ONFAULT makes present only the pages touched).
	 */
	p9 = got == S_GONE ? -1 : probe_present(p + 9 * pg);
	want_p9 = all_present(r->fn, s, e->data);
	if (got != S_GONE && !want_p9 && !extra_present)
		for (int i = 4; i < npages(r); i++)
			late += probe_present(p + i * pg) == 1;
	if (late)
		diag("after pages 0-3 were read, %d of pages 4-%d present, "
		     "never touched", late, npages(r) - 1);
	if (got != S_GONE)
		l1 = probe_page_locked(p + pg);
	/* Growth: the new part is lock-on-fault like the rest, not populated. */
	if (r->fn == c_mremap_grow && !ret) {
		char *n = p + (NPG + 4) * pg;

		char perms[5] = "";

		probe_perms(n, perms);
		grown = probe_present(n) == 0 &&
			probe_vmflag(n, "lo") == (e->state != S_UNLOCKED) &&
			(!native ||
			 probe_vmflag(n, "lf") == (e->state != S_UNLOCKED));
		/* Under emulation it is pending: ---p, plain VM_LOCKED. */
		if (emulated && e->state != S_UNLOCKED)
			grown &= !strcmp(perms, "---p") &&
				 probe_vmflag(n, "lf") == 0;
		n[0] = 1;
		grown &= probe_page_locked(n) == (e->state != S_UNLOCKED);
	}
	/* The program's own PROT_NONE: a touch is the program's fault. */
	if (r->prot == PROT_NONE && got != S_GONE) {
		int st = probe_fork(touch_child, p + pg);

		segv = WIFSIGNALED(st) && WTERMSIG(st) == SIGSEGV;
	}
	/* A page written now: locked iff the range locks on fault. */
	if ((r->prot & PROT_WRITE) && got != S_GONE) {
		p[9 * pg] = 2;
		l9 = probe_page_locked(p + 9 * pg);
	}
	want_locked = e->state == S_PENDING || e->state == S_LOCKED;
	/*
	 * Page 1 of a range of zeros was only read: a 4.4+ kernel maps the
	 * shared zero page there, present and never mlocked.
	 */
	want_l1 = e->data == D_KEPT ? want_locked :
		  e->data == D_ZERO && (r->prot & PROT_READ) ? 0 : -2;
	if (want_l1 != -2 && l1 != want_l1)
		diag("page 1 locked %d, want %d%s", l1, want_l1,
		     e->data == D_ZERO ? " (it was only read: the zero page)" :
		     "");
	ok(ret == e->ret && err == e->err && got == want && data &&
	   (!(r->prot & PROT_WRITE) || l9 == want_locked) &&
	   (want_l1 == -2 || l1 == want_l1) && p9 == want_p9 &&
	   !extra_present && !late && segv && grown,
	   "%s %s on %s: %s%s%s%s, returns %d errno %d, data %s, page 1 locked %d, page 9 present %d and locked on touch %d%s",
	   r->id, r->call, ctx, sname[got], got == want ? "" : " (want ",
	   got == want ? "" : sname[want], got == want ? "" : ")", ret, err,
	   data ? (e->data == D_KEPT ? "kept" : e->data == D_ZERO ?
		   "zero" : "n/a") : "WRONG", l1, p9, l9,
	   r->prot == PROT_NONE ? (segv ? ", a touch is the program's SIGSEGV" :
				   ", a touch did NOT fault") :
	   r->fn == c_mremap_grow ? (grown ? ", the new part locks on fault" :
				     ", the new part is WRONG") : "");
out:
	if (r->fn == c_mlockall_cur || r->fn == c_mlockall_cur_onfault ||
	    r->fn == c_mlockall_future || r->fn == c_mlockall_future_mmap)
		munlockall();
	if (r->fn == c_mremap_grow && p)
		munmap(p, 2 * NPG * pg);
	else if (p && p != MAP_FAILED)
		munmap(p, NPG * pg);
	if (orig && orig != p)
		munmap(orig, NPG * pg);
	if (orig)
		munmap(orig - pg, pg), munmap(orig + NPG * pg, pg);
	if (extra) {
		munmap(extra, NPG * pg);
		extra = NULL;
	}
}

int main(int argc, char **argv)
{
	if (argc > 1 && !strcmp(argv[1], "--exec-check"))
		return exec_check();
	plan(0);
	probe_require_preloaded();
	alarm(120);
	pg = probe_page_size();
	native = probe_native();
	emulated = probe_emulated();
	self = argv[0];
	fv = mmap(NULL, sizeof(*fv), RW, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (fv == MAP_FAILED)
		bail("mmap: %s", strerror(errno));
	if (probe_kpageflags(&pg) == PROBE_KPF_NONE)
		bail("kpageflags unreadable: the table needs root");

	for (int i = 0; i < NROWS; i++)
		for (int s = 0; s < NSTATES; s++)
			if (rows[i].e[s].state)
				run(&rows[i], s);
	return done();
}
