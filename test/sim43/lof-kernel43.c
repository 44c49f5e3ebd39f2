/*
 * lof-kernel43.c - run a command on this kernel as if it were Linux 4.3.
 *
 *   lof-kernel43 [--] COMMAND [ARG...]
 *
 * Sets PR_SET_NO_NEW_PRIVS, installs a seccomp filter that answers the
 * memory-locking and madvise calls as Linux 4.3 (the last kernel without
 * lock-on-fault) does, and executes COMMAND (execvp). The filter is
 * inherited across fork, clone and exec, so the whole process tree runs
 * under it. Under the filter:
 *
 *   mlock2 (any flags)                  ENOSYS (added in 4.4)
 *   mlockall with MCL_ONFAULT set       EINVAL (4.3 knows CURRENT|FUTURE)
 *   madvise with an advice 4.3 lacks    EINVAL (MADV_FREE 8 and 18..25:
 *                                       WIPEONFORK, KEEPONFORK, COLD,
 *                                       PAGEOUT, POPULATE_READ/WRITE,
 *                                       DONTNEED_LOCKED, COLLAPSE)
 *   memfd_secret, mseal                 ENOSYS
 *   a system call of another ABI        ENOSYS (x32 on x86_64)
 *
 * On x86_64, i386 programs (int $0x80, AUDIT_ARCH_I386, their own call
 * numbers) get the same answers, so a 32-bit program under the filter
 * sees Linux 4.3 too.
 *
 * Every other call is allowed. Only this surface is modelled: the other
 * system calls added since 4.3 (statx, clone3, io_uring...) still work.
 *
 * Exit status: COMMAND's, or as env(1): 127 if COMMAND is not found,
 * 126 if it cannot be executed, 125 for a usage error or a filter the
 * kernel refuses (e.g. a kernel without seccomp filters).
 *
 * x86_64 and aarch64; elsewhere it says so and exits 125.
 */
#include <errno.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#if defined(__x86_64__)
#define K43_ARCH AUDIT_ARCH_X86_64
#elif defined(__aarch64__)
#define K43_ARCH AUDIT_ARCH_AARCH64
#endif

/* i386's numbers for the calls the filter answers (arch/x86/entry/syscalls). */
#define K43_I386_MLOCKALL	152
#define K43_I386_MADVISE	219
#define K43_I386_MLOCK2		376

/* Numbers newer than some headers; the same in every table (>= 424). */
#ifndef SYS_memfd_secret
#define SYS_memfd_secret 447
#endif
#ifndef SYS_mseal
#define SYS_mseal 462
#endif

#define K43_MCL_ONFAULT		4	/* mlockall flag added in 4.4 */
#define K43_MADV_FREE		8	/* added in 4.5 */
#define K43_MADV_FIRST_NEW	18	/* MADV_WIPEONFORK (4.14) ... */
#define K43_MADV_LAST_NEW	25	/* ... MADV_COLLAPSE (6.1) */
#define K43_X32_BIT		0x40000000u

/* The low 32 bits of argument i: where an int argument lives. */
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
#define K43_ARG_LO(i) offsetof(struct seccomp_data, args[i])
#else
#define K43_ARG_LO(i) (offsetof(struct seccomp_data, args[i]) + 4)
#endif

#ifdef K43_ARCH
/*
 * The instructions, by position. BPF jumps are relative, so every jump
 * below names its targets by label and K43_J computes the offsets.
 */
enum {
	L_LD_ARCH, L_ARCH, L_LD_NR, L_X32, L_MLOCK2, L_SECRET, L_MSEAL,
	L_MLOCKALL, L_MADVISE,
	L_ARCH32, L_LD_NR32, L_MLOCK2_32, L_SECRET32, L_MSEAL32,
	L_MLOCKALL32, L_MADVISE32,
	L_LD_FLAGS, L_ONFAULT,
	L_LD_ADVICE, L_FREE, L_NEW_LO, L_NEW_HI,
	L_ALLOW, L_EINVAL, L_ENOSYS,
	L_COUNT
};

#define K43_LD(off) BPF_STMT(BPF_LD | BPF_W | BPF_ABS, (off))
#define K43_J(at, op, k, yes, no) \
	BPF_JUMP(BPF_JMP | (op) | BPF_K, (k), (yes) - (at) - 1, (no) - (at) - 1)
#define K43_RET(v) BPF_STMT(BPF_RET | BPF_K, (v))

static int install_filter(void)
{
	struct sock_filter f[L_COUNT] = {
		[L_LD_ARCH] = K43_LD(offsetof(struct seccomp_data, arch)),
		/* Another ABI's numbers mean other calls: i386's below. */
		[L_ARCH] = K43_J(L_ARCH, BPF_JEQ, K43_ARCH, L_LD_NR, L_ARCH32),
		[L_LD_NR] = K43_LD(offsetof(struct seccomp_data, nr)),
		/* x32 calls (x86_64 only; never set on aarch64): refuse. */
		[L_X32] = K43_J(L_X32, BPF_JGE, K43_X32_BIT, L_ENOSYS, L_MLOCK2),
		/* Calls 4.3 does not have at all. */
		[L_MLOCK2] = K43_J(L_MLOCK2, BPF_JEQ, SYS_mlock2, L_ENOSYS,
				   L_SECRET),
		[L_SECRET] = K43_J(L_SECRET, BPF_JEQ, SYS_memfd_secret,
				   L_ENOSYS, L_MSEAL),
		[L_MSEAL] = K43_J(L_MSEAL, BPF_JEQ, SYS_mseal, L_ENOSYS,
				  L_MLOCKALL),
		/* Calls whose arguments decide. */
		[L_MLOCKALL] = K43_J(L_MLOCKALL, BPF_JEQ, SYS_mlockall,
				     L_LD_FLAGS, L_MADVISE),
		[L_MADVISE] = K43_J(L_MADVISE, BPF_JEQ, SYS_madvise,
				    L_LD_ADVICE, L_ALLOW),
		/*
		 * i386 on x86_64: the same answers by i386's numbers (its
		 * arguments are the 32-bit values, zero-extended). Any other
		 * ABI: refuse every call.
		 */
#if defined(__x86_64__)
		[L_ARCH32] = K43_J(L_ARCH32, BPF_JEQ, AUDIT_ARCH_I386,
				   L_LD_NR32, L_ENOSYS),
#else
		[L_ARCH32] = K43_J(L_ARCH32, BPF_JEQ, K43_ARCH, L_ENOSYS,
				   L_ENOSYS),
#endif
		[L_LD_NR32] = K43_LD(offsetof(struct seccomp_data, nr)),
		[L_MLOCK2_32] = K43_J(L_MLOCK2_32, BPF_JEQ, K43_I386_MLOCK2,
				      L_ENOSYS, L_SECRET32),
		[L_SECRET32] = K43_J(L_SECRET32, BPF_JEQ, SYS_memfd_secret,
				     L_ENOSYS, L_MSEAL32),
		[L_MSEAL32] = K43_J(L_MSEAL32, BPF_JEQ, SYS_mseal, L_ENOSYS,
				    L_MLOCKALL32),
		[L_MLOCKALL32] = K43_J(L_MLOCKALL32, BPF_JEQ,
				       K43_I386_MLOCKALL, L_LD_FLAGS,
				       L_MADVISE32),
		[L_MADVISE32] = K43_J(L_MADVISE32, BPF_JEQ, K43_I386_MADVISE,
				      L_LD_ADVICE, L_ALLOW),
		/* mlockall(flags): MCL_ONFAULT set is EINVAL. */
		[L_LD_FLAGS] = K43_LD(K43_ARG_LO(0)),
		[L_ONFAULT] = K43_J(L_ONFAULT, BPF_JSET, K43_MCL_ONFAULT,
				    L_EINVAL, L_ALLOW),
		/* madvise(addr, len, advice): MADV_FREE or 18..25 is EINVAL. */
		[L_LD_ADVICE] = K43_LD(K43_ARG_LO(2)),
		[L_FREE] = K43_J(L_FREE, BPF_JEQ, K43_MADV_FREE, L_EINVAL,
				 L_NEW_LO),
		[L_NEW_LO] = K43_J(L_NEW_LO, BPF_JGE, K43_MADV_FIRST_NEW,
				   L_NEW_HI, L_ALLOW),
		[L_NEW_HI] = K43_J(L_NEW_HI, BPF_JGT, K43_MADV_LAST_NEW,
				   L_ALLOW, L_EINVAL),
		[L_ALLOW] = K43_RET(SECCOMP_RET_ALLOW),
		[L_EINVAL] = K43_RET(SECCOMP_RET_ERRNO | EINVAL),
		[L_ENOSYS] = K43_RET(SECCOMP_RET_ERRNO | ENOSYS),
	};
	struct sock_fprog prog = { .len = L_COUNT, .filter = f };

	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0)) {
		perror("lof-kernel43: PR_SET_NO_NEW_PRIVS");
		return -1;
	}
	if (syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &prog)) {
		perror("lof-kernel43: seccomp");
		return -1;
	}
	return 0;
}
#else
static int install_filter(void)
{
	fprintf(stderr, "lof-kernel43: no filter for this architecture\n");
	return -1;
}
#endif

int main(int argc, char **argv)
{
	int i = 1;

	if (i < argc && strcmp(argv[i], "--") == 0)
		i++;
	if (i >= argc) {
		fprintf(stderr, "usage: lof-kernel43 [--] COMMAND [ARG...]\n");
		return 125;
	}
	if (install_filter())
		return 125;
	execvp(argv[i], argv + i);
	fprintf(stderr, "lof-kernel43: %s: %s\n", argv[i], strerror(errno));
	return errno == ENOENT ? 127 : 126;
}
