/*
 * supervise.h - the wrapper's supervisor: lock on fault for what
 * LD_PRELOAD cannot reach (static binaries, raw syscall() lock calls).
 *
 * supervise.c starts it and runs its loop, supervise-filter.c builds the
 * seccomp filter that traps the lock calls, supervise-call.c rewrites one
 * trapped call. See supervise.c for the design.
 */
#ifndef LOF_SUPERVISE_H
#define LOF_SUPERVISE_H

#include <stddef.h>
#include <linux/filter.h>

/* The flags the calls are rewritten into, for headers before Linux 4.4. */
#ifndef MLOCK_ONFAULT
#define MLOCK_ONFAULT 1
#endif
#ifndef MCL_ONFAULT
#define MCL_ONFAULT 4
#endif

/*
 * What the filter tells the supervisor about a trapped call: the
 * SECCOMP_RET_TRACE data, read back with PTRACE_GETEVENTMSG. The low
 * byte is the call, the next one the system call ABI it came through.
 */
enum sv_call {
	SV_MLOCK = 1,		/* mlock(addr, len) */
	SV_MLOCK2,		/* mlock2(addr, len, 0) */
	SV_MLOCKALL,		/* mlockall(flags) without MCL_ONFAULT */
	SV_MMAP,		/* mmap or mmap2 with MAP_LOCKED */
	SV_OLD_MMAP,		/* i386 old_mmap(struct *): every call */
};

enum sv_abi {
	SV_ABI_X86_64 = 1,
	SV_ABI_I386,
};

#define SV_MSG(abi, call) ((unsigned)(abi) << 8 | (unsigned)(call))
#define SV_MSG_ABI(msg) ((int)((msg) >> 8 & 0xff))
#define SV_MSG_CALL(msg) ((int)((msg) & 0xff))

/*
 * Build the filter into out (room for max instructions).
 * Return: the number of instructions, or 0 where the supervisor is not
 * built for this architecture.
 */
size_t sv_filter_build(struct sock_filter *out, size_t max);

/* Whether this build has a supervisor at all (x86_64 only for now). */
int sv_available(void);

/*
 * Start the supervisor for this process, which is about to exec the
 * command: fork a detached tracer, let it seize us, install the filter.
 * Return: 0 when supervised; -1 with a one-line reason in why (the
 * caller warns and runs the command unsupervised; nothing was changed).
 */
int sv_start(char *why, size_t whylen);

#endif
