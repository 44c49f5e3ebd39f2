/*
 * t-rlimit.c - RLIMIT_MEMLOCK without CAP_IPC_LOCK: every lock call
 * through libc under the library fails or succeeds exactly as the
 * kernel's own call does in the same process.
 *
 * Each case runs in a forked child that sets RLIMIT_MEMLOCK and becomes
 * nobody (setgroups, setresgid, setresuid 65534). The child makes the
 * call through libc (the library's interposer), records the return
 * value, errno and VmLck growth, undoes it (munlockall, munmap), then
 * makes the same call with the raw system call and records the same.
 * The two must agree, and the kernel's answer must be the documented
 * rule (research/kernel-semantics.md), so a case cannot pass because
 * the child failed to drop its privileges.
 *
 * Covered: a limit of 0 (EPERM for mlock, mlock2, mmap(MAP_LOCKED),
 * every mlockall; munlock and munlockall still allowed), a 64 KiB limit
 * (under, at and over it; a relock not charged twice; MAP_LOCKED over
 * it is EAGAIN, and with MAP_FIXED over a mapping it leaves that
 * mapping and its data alone, since the library checks the limit
 * before it replaces anything; mlockall(MCL_CURRENT) over it is ENOMEM; MCL_FUTURE
 * charges later mappings, EAGAIN over the limit; 4 MiB: MCL_FUTURE and
 * a mapping under it; 8 MiB (the hard limit here, which a root without
 * CAP_SYS_RESOURCE cannot raise) is above this small program's whole
 * address space, so mlockall(MCL_CURRENT) succeeds (VmLck not compared:
 * the library keeps its own memory unlocked).
 *
 * On a kernel without lock-on-fault (Linux 4.3, or the seccomp filter
 * of test/sim43/lof-kernel43) the raw mlock2 is ENOSYS and a raw
 * mlockall with MCL_ONFAULT EINVAL, while the library must answer as a
 * 4.4+ kernel: for those cases the rule itself is the reference. The
 * raw calls 4.3 has (mlock, mmap(MAP_LOCKED), mlockall without
 * MCL_ONFAULT) charge the limit as 4.4 does and stay the reference.
 *
 * Under MCL_FUTURE the library's own memory (its table blocks, made
 * on the first lock) must not be charged: VmLck grows by the program's
 * mapping alone.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include "probe.h"
#include "tap.h"

#define KB 1024UL
#define MB (1024 * KB)
#define NO_VM (-99999)	/* VmLck growth not compared */

enum op {
	OP_MLOCK, OP_MLOCK2_0, OP_MLOCK2_ONFAULT, OP_MLOCK_TWICE,
	OP_MMAP_LOCKED, OP_MMAP_FIXED_LOCKED, OP_MLOCKALL, OP_MLOCKALL_MMAP, OP_MUNLOCK,
	OP_MUNLOCKALL,
};

struct ucase {
	const char *name;
	unsigned long limit;
	enum op op;
	size_t len;
	int flags;	/* mlockall flags */
	int err;	/* the kernel's rule: errno, 0 for success */
	long vm;	/* VmLck growth in kB the rule predicts, or NO_VM */
};

static const struct ucase cases[] = {
	{ "limit 0: mlock", 0, OP_MLOCK, 16 * KB, 0, EPERM, 0 },
	{ "limit 0: mlock2(0)", 0, OP_MLOCK2_0, 16 * KB, 0, EPERM, 0 },
	{ "limit 0: mlock2(MLOCK_ONFAULT)", 0, OP_MLOCK2_ONFAULT, 16 * KB, 0,
	  EPERM, 0 },
	{ "limit 0: mmap(MAP_LOCKED)", 0, OP_MMAP_LOCKED, MB, 0, EPERM, 0 },
	{ "limit 0: mmap(MAP_FIXED|MAP_LOCKED) over a mapping", 0,
	  OP_MMAP_FIXED_LOCKED, MB, 0, EPERM, 0 },
	{ "limit 0: mlockall(MCL_CURRENT)", 0, OP_MLOCKALL, 0, MCL_CURRENT,
	  EPERM, 0 },
	{ "limit 0: mlockall(MCL_CURRENT|MCL_ONFAULT)", 0, OP_MLOCKALL, 0,
	  MCL_CURRENT | MCL_ONFAULT, EPERM, 0 },
	{ "limit 0: mlockall(MCL_FUTURE)", 0, OP_MLOCKALL, 0, MCL_FUTURE,
	  EPERM, 0 },
	{ "limit 0: munlock", 0, OP_MUNLOCK, MB, 0, 0, 0 },
	{ "limit 0: munlockall", 0, OP_MUNLOCKALL, 0, 0, 0, 0 },
	{ "limit 64K: mlock 32K", 64 * KB, OP_MLOCK, 32 * KB, 0, 0, 32 },
	{ "limit 64K: mlock 1M", 64 * KB, OP_MLOCK, MB, 0, ENOMEM, 0 },
	{ "limit 64K: mlock2(0) 1M", 64 * KB, OP_MLOCK2_0, MB, 0, ENOMEM, 0 },
	{ "limit 64K: mlock2(MLOCK_ONFAULT) 1M", 64 * KB, OP_MLOCK2_ONFAULT,
	  MB, 0, ENOMEM, 0 },
	{ "limit 64K: mlock2(MLOCK_ONFAULT) 64K, exactly the limit", 64 * KB,
	  OP_MLOCK2_ONFAULT, 64 * KB, 0, 0, 64 },
	{ "limit 64K: mlock2(MLOCK_ONFAULT) 68K, a page over", 64 * KB,
	  OP_MLOCK2_ONFAULT, 68 * KB, 0, ENOMEM, 0 },
	{ "limit 64K: mlock 32K, then mlock 64K over it (not charged twice)",
	  64 * KB, OP_MLOCK_TWICE, 64 * KB, 0, 0, 64 },
	{ "limit 64K: mmap(MAP_LOCKED) 32K", 64 * KB, OP_MMAP_LOCKED, 32 * KB,
	  0, 0, 32 },
	{ "limit 64K: mmap(MAP_LOCKED) 1M", 64 * KB, OP_MMAP_LOCKED, MB, 0,
	  EAGAIN, 0 },
	{ "limit 64K: mmap(MAP_FIXED|MAP_LOCKED) 32K over a mapping", 64 * KB,
	  OP_MMAP_FIXED_LOCKED, 32 * KB, 0, 0, 32 },
	{ "limit 64K: mmap(MAP_FIXED|MAP_LOCKED) 1M over a mapping", 64 * KB,
	  OP_MMAP_FIXED_LOCKED, MB, 0, EAGAIN, 0 },
	{ "limit 64K: mlockall(MCL_CURRENT)", 64 * KB, OP_MLOCKALL, 0,
	  MCL_CURRENT, ENOMEM, 0 },
	{ "limit 64K: mlockall(MCL_CURRENT|MCL_ONFAULT)", 64 * KB, OP_MLOCKALL,
	  0, MCL_CURRENT | MCL_ONFAULT, ENOMEM, 0 },
	{ "limit 64K: mlockall(MCL_FUTURE), then mmap 1M", 64 * KB,
	  OP_MLOCKALL_MMAP, MB, MCL_FUTURE, EAGAIN, 0 },
	{ "limit 64K: mlockall(MCL_FUTURE|MCL_ONFAULT), then mmap 1M", 64 * KB,
	  OP_MLOCKALL_MMAP, MB, MCL_FUTURE | MCL_ONFAULT, EAGAIN, 0 },
	{ "limit 64K: mlockall(MCL_FUTURE|MCL_ONFAULT), then mmap 32K",
	  64 * KB, OP_MLOCKALL_MMAP, 32 * KB, MCL_FUTURE | MCL_ONFAULT, 0,
	  32 },
	{ "limit 4M: mlockall(MCL_FUTURE|MCL_ONFAULT), then mmap 1M",
	  4 * MB, OP_MLOCKALL_MMAP, MB, MCL_FUTURE | MCL_ONFAULT, 0, 1024 },
	{ "limit 4M: mlockall(MCL_FUTURE), then mmap 1M", 4 * MB,
	  OP_MLOCKALL_MMAP, MB, MCL_FUTURE, 0, 1024 },
	{ "limit 8M: mlockall(MCL_CURRENT), under the limit", 8 * MB,
	  OP_MLOCKALL, 0, MCL_CURRENT, 0, NO_VM },
	{ "limit 8M: mlockall(MCL_CURRENT|MCL_ONFAULT), under the limit",
	  8 * MB, OP_MLOCKALL, 0, MCL_CURRENT | MCL_ONFAULT, 0, NO_VM },
	{ "limit 8M: mlockall(MCL_CURRENT|MCL_FUTURE), then mmap 1M", 8 * MB,
	  OP_MLOCKALL_MMAP, MB, MCL_CURRENT | MCL_FUTURE, 0, NO_VM },
	{ "limit 8M: mlockall(MCL_CURRENT|MCL_FUTURE), then mmap 8M", 8 * MB,
	  OP_MLOCKALL_MMAP, 8 * MB, MCL_CURRENT | MCL_FUTURE, EAGAIN, NO_VM },
};

#define NCASES ((int)(sizeof(cases) / sizeof(cases[0])))

struct out {
	long ret;
	long err;
	long vm;
	int byte;	/* the first byte of the old mapping afterwards */
};

struct result {
	int dropped;
	long vmsize;	/* kB, before the calls */
	struct out lib, sys;
};

static struct result *results;

/*
 * VmLck in kB, read without malloc: under MCL_FUTURE and a small limit
 * the heap cannot grow, so stdio could fail.
 */
static long vmlck(void)
{
	char buf[4096], *s;
	int fd = open("/proc/self/status", O_RDONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		return -1;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return -1;
	buf[n] = '\0';
	s = strstr(buf, "VmLck:");
	return s ? strtol(s + 6, NULL, 10) : -1;
}

static void record(struct out *o, long ok, long before)
{
	o->ret = ok ? 0 : -1;
	o->err = ok ? 0 : errno;
	o->vm = vmlck() - before;
}

/* One call through libc (lib 1) or the kernel (lib 0), then undone. */
static void one(const struct ucase *c, int lib, struct out *o)
{
	char *p = mmap(NULL, MB, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	long before = vmlck(), r = -1;
	void *m = MAP_FAILED;
	int mf = MAP_PRIVATE | MAP_ANONYMOUS;

	if (p == MAP_FAILED)
		_exit(3);
	p[0] = 0x5a;
	errno = 0;
	switch (c->op) {
	case OP_MLOCK:
		r = lib ? mlock(p, c->len) : probe_sys_mlock(p, c->len);
		break;
	case OP_MLOCK2_0:
		r = (lib ? mlock2 : probe_sys_mlock2)(p, c->len, 0);
		break;
	case OP_MLOCK2_ONFAULT:
		r = (lib ? mlock2 : probe_sys_mlock2)(p, c->len, MLOCK_ONFAULT);
		break;
	case OP_MLOCK_TWICE:
		(lib ? mlock : probe_sys_mlock)(p, c->len / 2);
		r = (lib ? mlock : probe_sys_mlock)(p, c->len);
		break;
	case OP_MMAP_LOCKED:
		m = (lib ? mmap : probe_sys_mmap)(NULL, c->len,
						  PROT_READ | PROT_WRITE,
						  mf | MAP_LOCKED, -1, 0);
		r = m == MAP_FAILED ? -1 : 0;
		break;
	case OP_MMAP_FIXED_LOCKED:
		r = (lib ? mmap : probe_sys_mmap)(p, c->len,
						  PROT_READ | PROT_WRITE,
						  mf | MAP_FIXED | MAP_LOCKED,
						  -1, 0) == p ? 0 : -1;
		break;
	case OP_MLOCKALL:
		r = (lib ? mlockall : probe_sys_mlockall)(c->flags);
		break;
	case OP_MLOCKALL_MMAP:
		r = (lib ? mlockall : probe_sys_mlockall)(c->flags);
		if (r)
			break;
		m = (lib ? mmap : probe_sys_mmap)(NULL, c->len,
						  PROT_READ | PROT_WRITE,
						  mf, -1, 0);
		r = m == MAP_FAILED ? -1 : 0;
		break;
	case OP_MUNLOCK:
		r = (lib ? munlock : probe_sys_munlock)(p, c->len);
		break;
	case OP_MUNLOCKALL:
		r = (lib ? munlockall : probe_sys_munlockall)();
		break;
	}
	record(o, r == 0, before);
	o->byte = p[0];
	(lib ? munlockall : probe_sys_munlockall)();
	if (m != MAP_FAILED)
		munmap(m, c->len);
	munmap(p, MB);
}

static void child(void *arg)
{
	const struct ucase *c = arg;
	struct result *res = &results[c - cases];
	unsigned long limit = c->limit;

	res->vmsize = probe_status_kb("VmSize:");
	if (probe_become_nobody(limit))
		return;
	res->dropped = 1;
	one(c, 1, &res->lib);
	one(c, 0, &res->sys);
}

/* The case needs lock-on-fault from the kernel for its raw reference. */
static int needs_onfault(const struct ucase *c)
{
	return c->op == OP_MLOCK2_0 || c->op == OP_MLOCK2_ONFAULT ||
	       (c->flags & MCL_ONFAULT);
}

static const char *ename(long e)
{
	static char buf[16];

	switch (e) {
	case 0:
		return "0";
	case EPERM:
		return "EPERM";
	case ENOMEM:
		return "ENOMEM";
	case EAGAIN:
		return "EAGAIN";
	case EINVAL:
		return "EINVAL";
	}
	snprintf(buf, sizeof(buf), "E%ld", e);
	return buf;
}

int main(void)
{
	int onfault = probe_kernel_onfault();

	plan(NCASES);
	probe_require_preloaded();
	alarm(120);
	if (geteuid() != 0) {
		skip(NCASES, "needs root to make an unprivileged child");
		return done();
	}
	results = mmap(NULL, sizeof(*results) * NCASES, PROT_READ | PROT_WRITE,
		       MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (results == MAP_FAILED)
		bail("mmap: %s", strerror(errno));

	for (int i = 0; i < NCASES; i++) {
		const struct ucase *c = &cases[i];
		const struct out *l = &results[i].lib, *k = &results[i].sys;
		struct out rule = { c->err ? -1 : 0, c->err,
				    c->vm == NO_VM ? 0 : c->vm, 0 };
		char buf[64];
		int st = probe_fork(child, (void *)c);

		if (!onfault && needs_onfault(c))
			k = &rule;	/* what a 4.4+ kernel answers */

		if (!WIFEXITED(st) || WEXITSTATUS(st) || !results[i].dropped) {
			ok(0, "%s: child %s, dropped to nobody %d", c->name,
			   probe_status_str(st, buf, sizeof(buf)),
			   results[i].dropped);
			continue;
		}
		if (k->err != c->err || (c->vm != NO_VM && k->vm != c->vm))
			diag("%s: the kernel gives %s (VmLck +%ld kB), the rule %s (+%ld kB); VmSize was %ld kB",
			     c->name, ename(k->err), k->vm, ename(c->err),
			     c->vm, results[i].vmsize);
		if (k == &rule)
			rule.byte = l->byte;	/* no reference for the data */
		ok(l->ret == k->ret && l->err == k->err &&
		   (c->vm == NO_VM || l->vm == k->vm) && k->err == c->err &&
		   l->byte == k->byte,
		   "%s: %s, VmLck +%ld kB, old data %s (kernel %s, +%ld kB, %s)",
		   c->name, ename(l->err), l->vm,
		   l->byte == 0x5a ? "kept" : "replaced", ename(k->err), k->vm,
		   k->byte == 0x5a ? "kept" : "replaced");
	}
	return done();
}
