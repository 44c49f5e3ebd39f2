/*
 * supervise-filter.c - the seccomp filter the supervised command runs
 * under: it traps the lock calls that would lock eagerly, and nothing
 * else.
 *
 * Trapped (to the supervisor: SECCOMP_RET_USER_NOTIF in notify mode,
 * SECCOMP_RET_TRACE in trace mode; see supervise.c), per system call ABI:
 *   mlock               always
 *   mlock2              when flags == 0 (with MLOCK_ONFAULT it is lazy
 *                       already; other flags the kernel refuses itself)
 *   mlockall            when MCL_ONFAULT is not set
 *   mmap (x86_64),      when MAP_LOCKED is set
 *   mmap2 (i386)
 *   old_mmap (i386)     always: its arguments are in memory, where BPF
 *                       cannot look; glibc never uses it
 * Everything else returns SECCOMP_RET_ALLOW on the first comparison
 * that fails, so the rest of the program's system calls pay a few BPF
 * instructions (run in the kernel, no stop, no context switch).
 *
 * Calls already in their lock-on-fault form pass: the preload library's
 * native engine makes exactly those, so a dynamic program under the
 * supervisor (--supervise=always) pays nothing for the calls the library
 * already rewrote, and the supervisor only sees raw syscall() calls.
 *
 * x32 system calls (nr | __X32_SYSCALL_BIT) match nothing and pass.
 * Arguments are compared on their low 32 bits: every flag tested lives
 * there, and the kernel reads mlock2's flags as an int.
 *
 * The TRACE data tells the supervisor which call and ABI it stopped on
 * (supervise.h), so it need not guess the ABI from the registers (a
 * 64-bit program may use int $0x80). A notification carries no such
 * data, but it has the architecture, number and arguments the filter
 * saw: sv_filter_classify() runs the same table over them.
 *
 * This is an ordinary program, not a signal handler.
 */
#include "config.h"

#include <stddef.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <sys/mman.h>

#include "supervise.h"

#define LD_ABS(off) BPF_STMT(BPF_LD | BPF_W | BPF_ABS, (off))
#define JEQ(k, jt, jf) BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, (k), (jt), (jf))
#define JSET(k, jt, jf) BPF_JUMP(BPF_JMP | BPF_JSET | BPF_K, (k), (jt), (jf))
#define RET(k) BPF_STMT(BPF_RET | BPF_K, (k))

#define OFF_NR offsetof(struct seccomp_data, nr)
#define OFF_ARCH offsetof(struct seccomp_data, arch)
/* The low word of args[i]: x86 is little-endian. */
#define OFF_ARG(i) (offsetof(struct seccomp_data, args) + 8 * (i))

#define ALLOW SECCOMP_RET_ALLOW

/* System call numbers of one ABI, and its audit architecture. */
struct sv_abi_nrs {
	int abi;
	unsigned arch;
	unsigned mlock, mlock2, mlockall, mmap;	/* mmap: the one with flags
						   in args[3] */
	unsigned old_mmap;			/* 0: none */
};

static const struct sv_abi_nrs abis[] = {
	{ SV_ABI_X86_64, AUDIT_ARCH_X86_64, 149, 325, 151, 9, 0 },
	{ SV_ABI_I386, AUDIT_ARCH_I386, 150, 376, 152, 192, 90 },
};

struct prog {
	struct sock_filter *ins;
	size_t n, max;
	int mode;	/* enum sv_mode */
};

/* The action trapping call of abi. */
static unsigned trap(const struct prog *p, int abi, int call)
{
	if (p->mode == SV_MODE_NOTIFY)
		return SECCOMP_RET_USER_NOTIF;
	return SECCOMP_RET_TRACE | SV_MSG(abi, call);
}

static void emit(struct prog *p, struct sock_filter f)
{
	if (p->n < p->max)
		p->ins[p->n] = f;
	p->n++;
}

/*
 * One ABI's block, entered with the arch in A. Every path through it
 * returns, so the next block starts with A still the arch.
 * Length: 2 + body, the body being 2 + 5 + 5 + 5 + (2) + 1.
 */
static size_t body_len(const struct sv_abi_nrs *a)
{
	return 1 + 2 + 5 + 5 + 5 + (a->old_mmap ? 2 : 0) + 1;
}

static void emit_abi(struct prog *p, const struct sv_abi_nrs *a)
{
	int abi = a->abi;

	/* Not this ABI: skip the whole body. */
	emit(p, (struct sock_filter)JEQ(a->arch, 0, body_len(a)));
	emit(p, (struct sock_filter)LD_ABS(OFF_NR));

	emit(p, (struct sock_filter)JEQ(a->mlock, 0, 1));
	emit(p, (struct sock_filter)RET(trap(p, abi, SV_MLOCK)));

	emit(p, (struct sock_filter)JEQ(a->mlock2, 0, 4));
	emit(p, (struct sock_filter)LD_ABS(OFF_ARG(2)));
	emit(p, (struct sock_filter)JEQ(0, 0, 1));
	emit(p, (struct sock_filter)RET(trap(p, abi, SV_MLOCK2)));
	emit(p, (struct sock_filter)RET(ALLOW));

	emit(p, (struct sock_filter)JEQ(a->mlockall, 0, 4));
	emit(p, (struct sock_filter)LD_ABS(OFF_ARG(0)));
	emit(p, (struct sock_filter)JSET(MCL_ONFAULT, 1, 0));
	emit(p, (struct sock_filter)RET(trap(p, abi, SV_MLOCKALL)));
	emit(p, (struct sock_filter)RET(ALLOW));

	emit(p, (struct sock_filter)JEQ(a->mmap, 0, 4));
	emit(p, (struct sock_filter)LD_ABS(OFF_ARG(3)));
	emit(p, (struct sock_filter)JSET(MAP_LOCKED, 0, 1));
	emit(p, (struct sock_filter)RET(trap(p, abi, SV_MMAP)));
	emit(p, (struct sock_filter)RET(ALLOW));

	if (a->old_mmap) {
		emit(p, (struct sock_filter)JEQ(a->old_mmap, 0, 1));
		emit(p, (struct sock_filter)RET(trap(p, abi, SV_OLD_MMAP)));
	}
	emit(p, (struct sock_filter)RET(ALLOW));
}

int sv_available(void)
{
#if defined(__x86_64__)
	return 1;
#else
	return 0;
#endif
}

size_t sv_filter_build(struct sock_filter *out, size_t max, int mode)
{
	struct prog p = { out, 0, max, mode };

	if (!sv_available())
		return 0;
	emit(&p, (struct sock_filter)LD_ABS(OFF_ARCH));
	for (size_t i = 0; i < sizeof(abis) / sizeof(abis[0]); i++)
		emit_abi(&p, &abis[i]);
	emit(&p, (struct sock_filter)RET(ALLOW));
	return p.n <= max ? p.n : 0;
}

unsigned sv_filter_classify(const struct seccomp_data *d)
{
	for (size_t i = 0; i < sizeof(abis) / sizeof(abis[0]); i++) {
		const struct sv_abi_nrs *a = &abis[i];
		unsigned a0 = (unsigned)d->args[0], a2 = (unsigned)d->args[2];
		unsigned a3 = (unsigned)d->args[3];

		if (d->arch != a->arch)
			continue;
		if ((unsigned)d->nr == a->mlock)
			return SV_MSG(a->abi, SV_MLOCK);
		if ((unsigned)d->nr == a->mlock2 && a2 == 0)
			return SV_MSG(a->abi, SV_MLOCK2);
		if ((unsigned)d->nr == a->mlockall && !(a0 & MCL_ONFAULT))
			return SV_MSG(a->abi, SV_MLOCKALL);
		if ((unsigned)d->nr == a->mmap && (a3 & MAP_LOCKED))
			return SV_MSG(a->abi, SV_MMAP);
		if (a->old_mmap && (unsigned)d->nr == a->old_mmap)
			return SV_MSG(a->abi, SV_OLD_MMAP);
		return 0;
	}
	return 0;
}
