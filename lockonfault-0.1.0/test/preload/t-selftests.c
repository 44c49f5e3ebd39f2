/*
 * t-selftests.c - the intent of the kernel's mlock selftests
 * (tools/testing/selftests/mm/mlock2-tests.c, on-fault-limit.c and
 * mlock-random-test.c), checked through libc under the library.
 *
 * Each mlock2-tests case is run twice on fresh mappings: once through
 * libc's mlock, mlock2, munlock, mlockall and munlockall (the library's
 * interposers), once through the kernel's own calls with MLOCK_ONFAULT
 * or MCL_ONFAULT (the reference: lock-on-fault as the kernel does it).
 * After every step the two are compared page by page: present bit
 * (pagemap), locked (kpageflags MLOCKED or UNEVICTABLE: MLOCKED is set
 * as the page is locked, UNEVICTABLE only when the kernel's per-CPU
 * batch drains, so a touched page's MLOCKED bit is also compared on its
 * own), VmFlags lo,
 * and Locked: in smaps. The library's pages may be PROT_NONE while
 * pending; nothing else may differ. The kernel's own rules are checked
 * too: untouched pages absent, a touched page present and locked.
 *
 * On a kernel without lock-on-fault (Linux 4.3, or under
 * test/sim43/lof-kernel43, which answers the raw mlock2 with ENOSYS and
 * MCL_ONFAULT with EINVAL) the reference cannot run: the kernel's own
 * calls fail, and a child cannot escape the seccomp filter, which is
 * inherited. There the reference is fixed: what a 4.4+ kernel gives by
 * the rules of research/kernel-semantics.md (b), which the library must
 * supply (SPEC 3.12):
 *   - a lock call returns 0 and gives every page of the range VmFlags lo
 *     without populating (rules 1, 14, 17);
 *   - a page present in a VM_LOCKED range is locked (MLOCKED) at the
 *     lock call or as it is faulted in (rules 12, 13), and Locked: in
 *     smaps is the size of those pages (rule 18);
 *   - munlock and munlockall clear lo and unlock the present pages,
 *     keeping them present (rules 10, 12, 17);
 *   - a lock or unlock of part of a VMA splits it, and it merges again
 *     once its flags match (rule 10): lo 7, 5, 0, one VMA;
 *   - under mlockall(MCL_ONFAULT|MCL_FUTURE) an mmap over the limit
 *     fails with EAGAIN (rule 7), MAP_POPULATE or not.
 * Each step spells out the pages it expects present and whether the
 * range is locked (struct step, and the arguments of ref_snap()). Where
 * the kernel has lock-on-fault these rules are checked against its own
 * run too, so the fixed reference cannot drift from the kernel's. The
 * absolute checks (present_only(), the returns, the data) are the same
 * on both. mlock-random-test's own raw mlock2_(MLOCK_ONFAULT) calls go
 * to the library's mlock2 there, as the raw call would only give ENOSYS.
 *
 * on-fault-limit and mlock-random-test need RLIMIT_MEMLOCK to apply:
 * they run in a forked child that becomes nobody, and report through a
 * shared result array.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include "probe.h"
#include "tap.h"

#define NPG 16

static size_t pg;
static int kref;	/* the kernel has lock-on-fault: it is the reference */
static int kpf;		/* /proc/kpageflags is readable */
static int rules_bad;	/* steps where the rules and the kernel disagree */

struct snap {
	struct probe_page p[NPG];
	long locked_kb;
};

/*
 * npages read-write between two PROT_NONE guard pages, so that two test
 * mappings never merge into one VMA (smaps would sum them).
 */
static char *map_rw(size_t npages)
{
	char *p = mmap(NULL, (npages + 2) * pg, PROT_NONE,
		       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	if (p == MAP_FAILED ||
	    mprotect(p + pg, npages * pg, PROT_READ | PROT_WRITE))
		bail("mmap: %s", strerror(errno));
	return p + pg;
}

static void unmap(char *p, size_t npages)
{
	munmap(p - pg, (npages + 2) * pg);
}

static void take(const char *a, struct snap *s)
{
	for (int i = 0; i < NPG; i++)
		probe_page_state(a + i * pg, &s->p[i]);
	s->locked_kb = probe_locked_kb(a, NPG * pg);
}

static int locked(const struct probe_page *p)
{
	return p->mlocked == 1 || p->unevictable == 1;
}

/* The library's snapshot against the kernel's, with a diagnostic. */
static int same(const struct snap *lib, const struct snap *ref)
{
	for (int i = 0; i < NPG; i++) {
		const struct probe_page *a = &lib->p[i], *b = &ref->p[i];

		if (a->present != b->present || locked(a) != locked(b) ||
		    a->lo != b->lo) {
			diag("page %d: library present %d mlocked %d unevictable %d lo %d (%s), kernel %d %d %d %d (%s)",
			     i, a->present, a->mlocked, a->unevictable, a->lo,
			     a->perms, b->present, b->mlocked, b->unevictable,
			     b->lo, b->perms);
			return 0;
		}
	}
	if (lib->locked_kb != ref->locked_kb) {
		diag("Locked: library %ld kB, kernel %ld kB", lib->locked_kb,
		     ref->locked_kb);
		return 0;
	}
	return 1;
}

/* Exactly the pages in mask are present, and they are locked iff lk. */
static int present_only(const struct snap *s, unsigned int mask, int lk)
{
	for (int i = 0; i < NPG; i++) {
		int want = !!(mask & 1U << i);

		if (s->p[i].present != want || (want && locked(&s->p[i]) != lk)) {
			diag("page %d: present %d locked %d, expected %d %d",
			     i, s->p[i].present, locked(&s->p[i]), want,
			     want && lk);
			return 0;
		}
	}
	return 1;
}

/*
 * What a 4.4+ kernel shows for the 16 pages by the rules: exactly the
 * pages in mask present, every page lo iff lo, a present page locked
 * iff lo (the lock bits read -1 when kpageflags cannot be read).
 */
static void rules_snap(struct snap *s, unsigned int mask, int lo)
{
	int n = 0;

	for (int i = 0; i < NPG; i++) {
		struct probe_page *p = &s->p[i];
		int pr = !!(mask & 1U << i);

		p->present = pr;
		p->mlocked = p->unevictable = kpf ? pr && lo : -1;
		p->lo = lo;
		strcpy(p->perms, "rw-");
		n += pr && lo;
	}
	s->locked_kb = (long)(n * (pg >> 10));
}

/*
 * The reference snapshot: the kernel's own run at ref when it has
 * lock-on-fault, else the rules (mask, lo). With the kernel, the rules
 * are compared with it too (rules_bad, checked at the end).
 */
static void ref_snap(const char *ref, struct snap *s, unsigned int mask,
		     int lo)
{
	struct snap r;

	rules_snap(&r, mask, lo);
	if (!kref) {
		*s = r;
		return;
	}
	take(ref, s);
	for (int i = 0; i < NPG; i++)
		if (s->p[i].present != r.p[i].present ||
		    locked(&s->p[i]) != locked(&r.p[i]) ||
		    s->p[i].lo != r.p[i].lo || s->locked_kb != r.locked_kb) {
			diag("rules: page %d present %d locked %d lo %d, Locked: %ld kB; the kernel %d %d %d, %ld kB",
			     i, r.p[i].present, locked(&r.p[i]), r.p[i].lo,
			     r.locked_kb, s->p[i].present, locked(&s->p[i]),
			     s->p[i].lo, s->locked_kb);
			rules_bad++;
			break;
		}
}

/* The kernel's own calls for the reference; 0 (the rules) without it. */
static int ref_mlock2(void *p, size_t len)
{
	return kref ? probe_sys_mlock2(p, len, MLOCK_ONFAULT) : 0;
}

static int ref_munlock(void *p, size_t len)
{
	return kref ? probe_sys_munlock(p, len) : 0;
}

static char *ref_map(void)
{
	return kref ? map_rw(NPG) : NULL;
}

static void ref_unmap(char *p)
{
	if (p)
		unmap(p, NPG);
}

static void ref_touch(char *p, size_t off, char v)
{
	if (p)
		p[off] = v;
}

/* ---- mlock2-tests: test_mlock_lock, test_mlock_onfault ---- */

enum api { API_MLOCK, API_MLOCK2_0, API_MLOCK2_ONFAULT };
static const char *const api_name[] = {
	"mlock", "mlock2(0)", "mlock2(MLOCK_ONFAULT)"
};

static int lib_lock(enum api api, void *p, size_t len)
{
	switch (api) {
	case API_MLOCK:
		return mlock(p, len);
	case API_MLOCK2_0:
		return mlock2(p, len, 0);
	default:
		return mlock2(p, len, MLOCK_ONFAULT);
	}
}

static void test_lock(enum api api)
{
	char *lib = map_rw(NPG), *ref = ref_map();
	struct snap a, b;
	const char *n = api_name[api];

	ok(lib_lock(api, lib, NPG * pg) == 0 &&
	   ref_mlock2(ref, NPG * pg) == 0,
	   "%s: returns 0", n);
	take(lib, &a);
	ref_snap(ref, &b, 0, 1);
	ok(same(&a, &b) && present_only(&a, 0, 0) && a.p[0].lo == 1,
	   "%s: range marked lo, nothing present, as the kernel's ONFAULT",
	   n);

	lib[3 * pg] = 'x';
	ref_touch(ref, 3 * pg, 'x');
	take(lib, &a);
	ref_snap(ref, &b, 1U << 3, 1);
	ok(same(&a, &b) && present_only(&a, 1U << 3, 1) &&
	   a.locked_kb == (long)(pg >> 10),
	   "%s: touching page 3 makes it alone present and locked", n);
	ok(a.p[3].mlocked == b.p[3].mlocked && a.p[3].mlocked != 0,
	   "%s: page 3 has KPF_MLOCKED %d (kernel %d), KPF_UNEVICTABLE %d (kernel %d)",
	   n, a.p[3].mlocked, b.p[3].mlocked, a.p[3].unevictable,
	   b.p[3].unevictable);

	ok(munlock(lib, NPG * pg) == 0 &&
	   ref_munlock(ref, NPG * pg) == 0, "%s: munlock returns 0", n);
	take(lib, &a);
	ref_snap(ref, &b, 1U << 3, 0);
	ok(same(&a, &b) && present_only(&a, 1U << 3, 0) && a.p[3].lo == 0 &&
	   lib[3 * pg] == 'x' && !strcmp(a.p[0].perms, "rw-"),
	   "%s: munlock unlocks page 3, keeps its data, leaves the rest accessible",
	   n);
	unmap(lib, NPG);
	ref_unmap(ref);
}

/* ---- test_lock_onfault_of_present ---- */

static void test_onfault_of_present(enum api api)
{
	char *lib = map_rw(NPG), *ref = ref_map();
	struct snap a, b;

	lib[0] = 1;
	lib[pg] = 2;
	ref_touch(ref, 0, 1);
	ref_touch(ref, pg, 2);
	lib_lock(api, lib, NPG * pg);
	ref_mlock2(ref, NPG * pg);
	take(lib, &a);
	ref_snap(ref, &b, 3, 1);
	ok(same(&a, &b) && present_only(&a, 3, 1),
	   "%s: pages present before the call are locked at once, no other page is faulted in",
	   api_name[api]);
	munlock(lib, NPG * pg);
	ok(lib[0] == 1 && lib[pg] == 2, "%s: their data is kept",
	   api_name[api]);
	unmap(lib, NPG);
	ref_unmap(ref);
}

/* ---- test_munlockall0 / test_munlockall1 ---- */

/*
 * The same steps through libc (flags as given) and through the kernel
 * (flags | MCL_ONFAULT), on two fresh mappings one after the other:
 * mlockall acts on every mapping, so the two runs must not overlap.
 */
struct step {
	int mlockall_flags;	/* 0: munlockall */
	int touch;		/* page to touch after the call, or -1 */
	unsigned int present;	/* the rules: pages present afterwards */
	int lo;			/* the rules: the mapping is locked */
};

static void run_steps(const struct step *st, int n, int lib, struct snap *out)
{
	char *p;

	if (!lib && !kref) {
		for (int i = 0; i < n; i++)
			rules_snap(&out[i], st[i].present, st[i].lo);
		return;
	}
	p = map_rw(NPG);

	for (int i = 0; i < n; i++) {
		int r;

		if (st[i].mlockall_flags)
			r = lib ? mlockall(st[i].mlockall_flags) :
				  probe_sys_mlockall(st[i].mlockall_flags |
						     MCL_ONFAULT);
		else
			r = lib ? munlockall() : probe_sys_munlockall();
		if (r)
			diag("step %d: %s errno %d", i, lib ? "lib" : "kernel",
			     errno);
		if (st[i].touch >= 0)
			p[st[i].touch * pg] = (char)(i + 1);
		if (lib)
			take(p, &out[i]);
		else
			ref_snap(p, &out[i], st[i].present, st[i].lo);
	}
	if (lib)
		munlockall();
	else
		probe_sys_munlockall();
	unmap(p, NPG);
}

static void test_munlockall(void)
{
	static const struct step s0[] = {
		{ MCL_CURRENT, 5, 1U << 5, 1 },
		{ 0, -1, 1U << 5, 0 },
	};
	static const struct step s1[] = {
		{ MCL_CURRENT | MCL_ONFAULT, 0, 1U << 0, 1 },
		{ 0, -1, 1U << 0, 0 },
		{ MCL_CURRENT | MCL_FUTURE, -1, 1U << 0, 1 },
		{ MCL_CURRENT | MCL_FUTURE, 2, 1U << 0 | 1U << 2, 1 },
		{ 0, -1, 1U << 0 | 1U << 2, 0 },
	};
	static const char *const s1_name[] = {
		"mlockall(MCL_CURRENT|MCL_ONFAULT), page 0 touched: locked on fault",
		"munlockall: nothing locked, the touched page kept",
		"mlockall(MCL_CURRENT|MCL_FUTURE) of a partly resident mapping: lock-on-fault, not populated",
		"then touching page 2 locks it",
		"munlockall: nothing locked",
	};
	struct snap a[5], b[5];

	run_steps(s0, 2, 1, a);
	run_steps(s0, 2, 0, b);
	ok(same(&a[0], &b[0]) && present_only(&a[0], 1U << 5, 1),
	   "munlockall0: mlockall(MCL_CURRENT) of an empty mapping: lazy, the touched page locked");
	ok(same(&a[1], &b[1]) && present_only(&a[1], 1U << 5, 0) &&
	   a[1].p[0].lo == 0, "munlockall0: munlockall unlocks it");

	run_steps(s1, 5, 1, a);
	run_steps(s1, 5, 0, b);
	for (int i = 0; i < 5; i++)
		ok(same(&a[i], &b[i]), "munlockall1: %s", s1_name[i]);
	ok(present_only(&a[3], 1U << 0 | 1U << 2, 1),
	   "munlockall1: exactly the touched pages present and locked");
}

/* ---- test_vma_management, test_mlockall ---- */

/*
 * 3 pages between two PROT_NONE guards: lock all, unlock the middle,
 * unlock all. out: the lo flags of the 3 pages after each step (a bit
 * per page), then 1 if the 3 pages are one VMA again at the end.
 */
static void vma_steps(int lib, int future, unsigned int out[4])
{
	char *g, *m;
	uintptr_t s, e;

	if (future && (lib ? mlockall(MCL_CURRENT | MCL_FUTURE | MCL_ONFAULT) :
			     probe_sys_mlockall(MCL_CURRENT | MCL_FUTURE |
						MCL_ONFAULT)))
		diag("mlockall: errno %d", errno);
	g = map_rw(5);
	m = g + pg;
	mprotect(g, pg, PROT_NONE);
	mprotect(g + 4 * pg, pg, PROT_NONE);
	if (!future)
		(lib ? mlock2 : probe_sys_mlock2)(m, 3 * pg, MLOCK_ONFAULT);
	for (int step = 0; step < 3; step++) {
		if (step == 1)
			(lib ? munlock : probe_sys_munlock)(m + pg, pg);
		if (step == 2) {
			if (future)
				lib ? munlockall() : probe_sys_munlockall();
			else
				(lib ? munlock : probe_sys_munlock)(m, 3 * pg);
		}
		out[step] = 0;
		for (int i = 0; i < 3; i++)
			if (probe_vmflag(m + i * pg, "lo") == 1)
				out[step] |= 1U << i;
	}
	out[3] = probe_vma(m, &s, &e) == 0 && s == (uintptr_t)m &&
		 e == (uintptr_t)m + 3 * pg;
	unmap(g, 5);
}

static void test_vma_management(int future)
{
	unsigned int a[4], b[4];
	const char *n = future ? "mlockall(MCL_CURRENT|MCL_FUTURE|MCL_ONFAULT), then mmap"
			       : "mlock2(MLOCK_ONFAULT)";

	static const unsigned int rules[4] = { 7, 5, 0, 1 };

	vma_steps(1, future, a);
	if (kref) {
		vma_steps(0, future, b);
		if (memcmp(b, rules, sizeof(rules))) {
			diag("rules: lo 7 5 0, one VMA; the kernel %x %x %x, %u",
			     b[0], b[1], b[2], b[3]);
			rules_bad++;
		}
	} else {
		memcpy(b, rules, sizeof(b));
	}
	ok(a[0] == 7 && a[1] == 5 && a[2] == 0 && a[0] == b[0] &&
	   a[1] == b[1] && a[2] == b[2],
	   "vma management, %s: lo %x, %x after munlock of the middle page, %x at the end (kernel %x %x %x)",
	   n, a[0], a[1], a[2], b[0], b[1], b[2]);
	ok(a[3] && b[3], "vma management, %s: one VMA again once unlocked", n);
}

/* ---- on-fault-limit and mlock-random-test, as nobody ---- */

#define LIMIT_UNIT (128 * 1024)

enum {
	R_NOBODY, R_OFL_LIB_MLOCKALL, R_OFL_LIB_MMAP, R_OFL_LIB_ERRNO,
	R_OFL_SYS_MMAP, R_OFL_SYS_ERRNO, R_WITHIN_FAIL, R_WITHIN_VMLCK,
	R_WITHIN_DATA, R_OUT_OK, R_OUT_ERRNO, R_OUT_VMLCK, R_OUT_BEFORE,
	R_OFL_RULES_BAD, R_N
};

static long *res;

/* on-fault-limit: a MAP_POPULATE mapping of twice the limit must fail. */
static void ofl_child(void *arg)
{
	size_t len = 2 * (size_t)LIMIT_UNIT * 8;
	void *m;

	(void)arg;
	if (probe_become_nobody(LIMIT_UNIT * 8))
		return;
	res[R_NOBODY] = 1;
	res[R_OFL_LIB_MLOCKALL] = mlockall(MCL_ONFAULT | MCL_FUTURE);
	errno = 0;
	m = mmap(NULL, len, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
	res[R_OFL_LIB_MMAP] = m != MAP_FAILED;
	res[R_OFL_LIB_ERRNO] = errno;
	if (m != MAP_FAILED)
		munmap(m, len);
	munlockall();

	if (!kref) {
		/* The rules: EAGAIN (rule 7), nothing mapped. */
		res[R_OFL_SYS_MMAP] = 0;
		res[R_OFL_SYS_ERRNO] = EAGAIN;
		return;
	}
	probe_sys_mlockall(MCL_ONFAULT | MCL_FUTURE);
	errno = 0;
	m = probe_sys_mmap(NULL, len, PROT_READ | PROT_WRITE,
			   MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
	res[R_OFL_SYS_MMAP] = m != MAP_FAILED;
	res[R_OFL_SYS_ERRNO] = errno;
	probe_sys_munlockall();
	if (res[R_OFL_SYS_MMAP] || res[R_OFL_SYS_ERRNO] != EAGAIN)
		res[R_OFL_RULES_BAD] = 1;
}

/*
 * mlock-random-test's mlock2_(MLOCK_ONFAULT): the raw call, or the
 * library's where the kernel lacks it.
 */
static int random_mlock2(void *p, size_t len)
{
	return kref ? probe_sys_mlock2(p, len, MLOCK_ONFAULT) :
		      mlock2(p, len, MLOCK_ONFAULT);
}

/* mlock-random-test: 100 random locks within, then over, the limit. */
static void random_child(void *arg)
{
	size_t within = LIMIT_UNIT, outof = 3 * LIMIT_UNIT;
	uint64_t seed = 0x6d6c6f636b;
	long vm;
	char *p;

	(void)arg;
	if (probe_become_nobody(2 * LIMIT_UNIT))
		return;
	res[R_NOBODY] = 1;

	p = malloc(within);
	for (int i = 0; i < 100 && p; i++) {
		size_t len = probe_rand(&seed) % within;
		size_t off = probe_rand(&seed) % (within - len);
		int r = probe_rand(&seed) & 1 ?
			mlock(p + off, len) : random_mlock2(p + off, len);

		res[R_WITHIN_FAIL] += r != 0;
	}
	vm = probe_status_kb("VmLck:");
	res[R_WITHIN_VMLCK] = vm >= 0 &&
		(size_t)vm << 10 <= ((within + pg - 1) & ~(pg - 1)) + pg;
	if (p) {
		memset(p, 0x5a, within);
		res[R_WITHIN_DATA] = p[0] == 0x5a && p[within - 1] == 0x5a;
		munlock(p, within);
		free(p);
	}

	p = malloc(outof);
	res[R_OUT_BEFORE] = probe_status_kb("VmLck:");
	for (int i = 0; i < 100 && p; i++) {
		size_t lim = 2 * LIMIT_UNIT;
		size_t len = probe_rand(&seed) % (outof - lim) + lim;
		size_t off = probe_rand(&seed) % (outof - len);
		int r;

		errno = 0;
		r = probe_rand(&seed) & 1 ?
			mlock(p + off, len) : random_mlock2(p + off, len);
		res[R_OUT_OK] += r == 0;
		res[R_OUT_ERRNO] += r != 0 && errno != ENOMEM;
	}
	res[R_OUT_VMLCK] = probe_status_kb("VmLck:");
	free(p);
}

static int run_child(void (*fn)(void *))
{
	char buf[64];
	int st;

	memset(res, 0, R_N * sizeof(*res));
	st = probe_fork(fn, NULL);
	if (!WIFEXITED(st) || WEXITSTATUS(st) || !res[R_NOBODY]) {
		diag("child: %s, nobody %ld", probe_status_str(st, buf,
			sizeof(buf)), res[R_NOBODY]);
		return 0;
	}
	return 1;
}

static void test_limits(void)
{
	int okc;

	res = mmap(NULL, R_N * sizeof(*res), PROT_READ | PROT_WRITE,
		   MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (res == MAP_FAILED)
		bail("mmap: %s", strerror(errno));
	if (geteuid() != 0) {
		skip(4, "needs root to make an unprivileged child");
		return;
	}

	okc = run_child(ofl_child);
	rules_bad += res[R_OFL_RULES_BAD] != 0;
	ok(okc && res[R_OFL_LIB_MLOCKALL] == 0 && !res[R_OFL_LIB_MMAP] &&
	   !res[R_OFL_SYS_MMAP] && res[R_OFL_LIB_ERRNO] == res[R_OFL_SYS_ERRNO],
	   "on-fault-limit: after mlockall(MCL_ONFAULT|MCL_FUTURE), mmap(MAP_POPULATE) of twice RLIMIT_MEMLOCK fails (errno %ld, kernel %ld)",
	   res[R_OFL_LIB_ERRNO], res[R_OFL_SYS_ERRNO]);

	okc = run_child(random_child);
	ok(okc && res[R_WITHIN_FAIL] == 0 && res[R_WITHIN_VMLCK],
	   "mlock-random: 100 random mlock/mlock2(ONFAULT) within the limit succeed, VmLck at most the buffer plus a page (%ld failed)",
	   res[R_WITHIN_FAIL]);
	ok(okc && res[R_WITHIN_DATA], "mlock-random: the buffer is usable");
	ok(okc && res[R_OUT_OK] == 0 && res[R_OUT_ERRNO] == 0 &&
	   res[R_OUT_VMLCK] == res[R_OUT_BEFORE],
	   "mlock-random: 100 random locks over the limit all fail with ENOMEM, VmLck unchanged (%ld succeeded, %ld other errno, VmLck %ld -> %ld kB)",
	   res[R_OUT_OK], res[R_OUT_ERRNO], res[R_OUT_BEFORE],
	   res[R_OUT_VMLCK]);
}

int main(void)
{
	plan(0);
	probe_require_preloaded();
	alarm(120);
	pg = probe_page_size();
	kpf = probe_kpageflags(&pg) != PROBE_KPF_NONE;
	if (!kpf)
		diag("kpageflags unreadable (not root?): lock bits read as -1 on both sides");
	kref = probe_kernel_onfault();
	if (!kref)
		diag("the kernel has no lock-on-fault: the reference is a 4.4+ kernel's rules");

	for (int api = API_MLOCK; api <= API_MLOCK2_ONFAULT; api++)
		test_lock(api);
	test_onfault_of_present(API_MLOCK);
	test_onfault_of_present(API_MLOCK2_ONFAULT);
	test_munlockall();
	test_vma_management(0);
	test_vma_management(1);
	test_limits();
	if (kref)
		ok(rules_bad == 0,
		   "the 4.4+ rules used without lock-on-fault agree with this kernel's own at every step (%d differ)",
		   rules_bad);
	else
		skip(1, "the kernel has no lock-on-fault to check the rules against");
	return done();
}
