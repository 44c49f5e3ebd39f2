/*
 * supervise-call.c - rewrite one trapped lock call into its lock-on-fault
 * form, in the stopped tracee's registers. Both modes (supervise.h) meet
 * here: trace mode at the call's seccomp stop, before the kernel runs it;
 * notify mode at the stop after the kernel answered it -ERESTARTNOINTR,
 * where the rewritten registers are what the kernel restarts
 * (sv_call_interrupted(); the restarted call's entry stop is one more).
 *
 * The rewrites (issue 13):
 *   mlock(a, l)        ->  mlock2(a, l, MLOCK_ONFAULT)
 *   mlock2(a, l, 0)    ->  mlock2(a, l, MLOCK_ONFAULT)
 *   mlockall(f)        ->  mlockall(f | MCL_ONFAULT)
 *   mmap(.., f, ..)    ->  mmap(.., f & ~MAP_LOCKED, ..), then, if it
 *     with MAP_LOCKED      succeeded, mlock2(result, len, MLOCK_ONFAULT)
 *                          injected into the tracee; the program sees the
 *                          mmap's result
 * A 4.4+ kernel gives these the errno the program would get for the call
 * with the flags: mlock and mlock2 run the same do_mlock(), and mlockall
 * refuses f | MCL_ONFAULT exactly when it refuses f (0 and MCL_ONFAULT
 * alone are both EINVAL). For MAP_LOCKED the kernel refuses at mmap time
 * when RLIMIT_MEMLOCK cannot hold the mapping (EPERM at a limit of 0,
 * else EAGAIN): a mapping that would be refused is let through unchanged,
 * so the kernel itself refuses it with its own errno, in its own order
 * of checks.
 *
 * Registers. The kernel preserves every register but the return value
 * across a system call, and compiled code relies on it (an inline
 * syscall lists its arguments as inputs, not clobbers). So every rewrite
 * saves the registers at the trap (in notify mode, the restart's: the
 * same but for the return value), resumes to the call's exit stop
 * (PTRACE_SYSCALL) and puts them back there with only the return value
 * changed. One extra stop per lock call; lock calls are rare.
 *
 * Injection. At the mmap's exit stop the tracee's instruction pointer is
 * moved back over the system call instruction (2 bytes for syscall,
 * int $0x80, and the vDSO's landing pad after sysenter, exactly as the
 * kernel restarts a call) with mlock2's number and arguments set; the
 * tracee runs it, and at mlock2's exit stop the saved registers come back
 * with the mmap's result. In notify mode every signal but SIGKILL and
 * SIGSTOP is blocked for the whole rewrite, so what follows is for trace
 * mode. A signal may arrive before the re-executed instruction: its handler runs (with our registers saved in its frame)
 * and returns to it; the handler's own system calls are told apart from
 * ours by number, arguments and instruction pointer, and counted so that
 * their exit stops are skipped. A handler that leaves by longjmp never
 * runs the injected call: the mapping then stays unlocked (the state is
 * dropped at the next trapped call).
 *
 * Only one rewrite is in flight per tracee. A lock call trapped while one
 * is (a signal handler's, between mmap and the injected mlock2) runs
 * unchanged: eager, as without lockonfault, never wrong.
 *
 * This is an ordinary program, not a signal handler.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/ptrace.h>
#include <sys/uio.h>
#include <sys/user.h>
#include <unistd.h>

#include "supervise.h"
#include "supervise-call.h"

#define CAP_IPC_LOCK_BIT 14
#define SYSCALL_INSN_LEN 2

/*
 * The text after key on the line of /proc/PID/file starting with it,
 * blanks skipped, into out. Return: 0, or -1 when there is none.
 */
static int proc_field(pid_t pid, const char *file, const char *key,
		      char *out, size_t outlen)
{
	char path[64], line[256];
	size_t klen = strlen(key);
	int found = -1;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/%s", (int)pid, file);
	f = fopen(path, "re");
	if (!f)
		return -1;
	while (found && fgets(line, sizeof(line), f)) {
		if (!strncmp(line, key, klen)) {
			snprintf(out, outlen, "%s",
				 line + klen + strspn(line + klen, " \t"));
			found = 0;
		}
	}
	fclose(f);
	return found;
}

int sv_proc_number(pid_t pid, const char *file, const char *key, int base,
		   unsigned long long *v)
{
	char text[128], *end;

	if (proc_field(pid, file, key, text, sizeof(text)))
		return -1;
	errno = 0;
	*v = strtoull(text, &end, base);
	return end == text || errno ? -1 : 0;
}

#if defined(__x86_64__)

static unsigned long nr_mlock2(int abi)
{
	return abi == SV_ABI_I386 ? 376 : 325;
}

static unsigned long nr_mmap2(void)
{
	return 192;
}

/* Argument i (0..5) of the call in r, per ABI. */
static unsigned long long *arg(struct user_regs_struct *r, int abi, int i)
{
	unsigned long long *x64[] = { &r->rdi, &r->rsi, &r->rdx,
				      &r->r10, &r->r8, &r->r9 };
	unsigned long long *i386[] = { &r->rbx, &r->rcx, &r->rdx,
				       &r->rsi, &r->rdi, &r->rbp };

	return abi == SV_ABI_I386 ? i386[i] : x64[i];
}

/* A register's value as the ABI sees it: 32 bits for i386. */
static unsigned long long word(int abi, unsigned long long v)
{
	return abi == SV_ABI_I386 ? (uint32_t)v : v;
}

/* The return value, sign-extended from 32 bits for i386. */
static long ret_of(const struct user_regs_struct *r, int abi)
{
	return abi == SV_ABI_I386 ? (long)(int32_t)r->rax : (long)r->rax;
}

static int is_error(long ret)
{
	return ret < 0 && ret >= -4095;
}

static int get_regs(pid_t pid, struct user_regs_struct *r)
{
	return (int)ptrace(PTRACE_GETREGS, pid, NULL, r);
}

static int set_regs(pid_t pid, const struct user_regs_struct *r)
{
	return (int)ptrace(PTRACE_SETREGS, pid, NULL, r);
}

/*
 * Whether the kernel would refuse a MAP_LOCKED mapping of len bytes for
 * pid on RLIMIT_MEMLOCK (mm/mmap.c: can_do_mlock(), mlock_future_ok()):
 * not when CAP_IPC_LOCK is effective, else when locked_vm plus len pass
 * the soft limit, or the limit is 0. The figures come from /proc (VmLck
 * and CapEff in status, the limit in limits: readable for a tracee of
 * another user, where prlimit() wants CAP_SYS_RESOURCE). Unknown counts
 * as refused: the call then runs unchanged and the kernel decides.
 */
static int would_refuse(pid_t pid, unsigned long long len)
{
	unsigned long long locked_kb, cap, lim;
	char text[128];

	if (sv_proc_number(pid, "status", "VmLck:", 10, &locked_kb) ||
	    sv_proc_number(pid, "status", "CapEff:", 16, &cap))
		return 1;
	if (cap >> CAP_IPC_LOCK_BIT & 1)
		return 0;
	if (proc_field(pid, "limits", "Max locked memory", text,
		       sizeof(text)))
		return 1;
	if (!strncmp(text, "unlimited", 9))
		return 0;
	if (sv_proc_number(pid, "limits", "Max locked memory", 10, &lim) ||
	    lim == 0)
		return 1;
	return (len + 4095) / 4096 + locked_kb / 4 > lim / 4096;
}

/* old_mmap's six words at addr in pid. Return: 0, or -1 (unreadable). */
static int old_mmap_args(pid_t pid, unsigned long long addr, uint32_t a[6])
{
	struct iovec local = { a, 6 * sizeof(a[0]) };
	struct iovec remote = { (void *)(uintptr_t)(uint32_t)addr,
				6 * sizeof(a[0]) };

	return process_vm_readv(pid, &local, 1, &remote, 1, 0) ==
	       (ssize_t)(6 * sizeof(a[0])) ? 0 : -1;
}

/* Whether old_mmap's words ask for a mapping we rewrite. */
static int old_mmap_locked(const uint32_t a[6])
{
	return (a[3] & MAP_LOCKED) && !(a[5] & 4095);	/* else nothing to
							   do, or its own
							   EINVAL */
}

int sv_call_plan(pid_t pid, unsigned msg, const unsigned long long args[6])
{
	int abi = SV_MSG_ABI(msg);
	uint32_t a[6];

	switch (SV_MSG_CALL(msg)) {
	case SV_MLOCK:
	case SV_MLOCK2:
	case SV_MLOCKALL:
		return 1;
	case SV_OLD_MMAP:
		if (abi != SV_ABI_I386 || old_mmap_args(pid, args[0], a) ||
		    !old_mmap_locked(a))
			return 0;	/* the kernel will say EFAULT, or */
		return !would_refuse(pid, a[1]);
	case SV_MMAP:
		return !would_refuse(pid, word(abi, args[1]));
	default:
		return 0;
	}
}

/*
 * i386 old_mmap(struct mmap_arg_struct *): read its six words and turn
 * the call into the equivalent mmap2 when MAP_LOCKED is set.
 * Return: 1 when rewritten into r (flags still with MAP_LOCKED), 0 to
 * let it run unchanged.
 */
static int old_mmap_to_mmap2(pid_t pid, struct user_regs_struct *r)
{
	uint32_t a[6];

	if (old_mmap_args(pid, r->rbx, a) || !old_mmap_locked(a))
		return 0;
	r->orig_rax = nr_mmap2();
	r->rbx = a[0];
	r->rcx = a[1];
	r->rdx = a[2];
	r->rsi = a[3];
	r->rdi = a[4];
	r->rbp = a[5] / 4096;
	return 1;
}

/*
 * Rewrite t's call (t->abi, t->call) in r, the registers t->saved holds.
 * Return: 0, or -1 to let it run unchanged.
 */
static int rewrite(struct sv_tracee *t, struct user_regs_struct *r)
{
	int abi = t->abi;

	switch (t->call) {
	case SV_MLOCK:
		r->orig_rax = nr_mlock2(abi);
		*arg(r, abi, 2) = MLOCK_ONFAULT;
		break;
	case SV_MLOCK2:
		*arg(r, abi, 2) = MLOCK_ONFAULT;
		break;
	case SV_MLOCKALL:
		*arg(r, abi, 0) |= MCL_ONFAULT;
		break;
	case SV_OLD_MMAP:
		if (abi != SV_ABI_I386 || !old_mmap_to_mmap2(t->pid, r))
			return -1;
		/* Now an mmap2 with MAP_LOCKED. */
		__attribute__((fallthrough));
	case SV_MMAP:
		t->map_len = word(abi, *arg(r, abi, 1));
		*arg(r, abi, 3) &= ~(unsigned long long)MAP_LOCKED;
		break;
	default:
		return -1;
	}
	if (set_regs(t->pid, r) != 0)
		return -1;
	t->other = 0;
	t->rewrites++;
	return 0;
}

int sv_call_trap(struct sv_tracee *t, unsigned long msg)
{
	struct user_regs_struct r;
	unsigned long long args[6];

	if (t->state != SV_IDLE) {
		/*
		 * A lock call inside a rewrite in flight (we are in
		 * PTRACE_SYSCALL mode, its entry stop counted in other):
		 * run it as is.
		 */
		return PTRACE_SYSCALL;
	}
	if (get_regs(t->pid, &r) != 0)
		return PTRACE_CONT;
	for (int i = 0; i < 6; i++)
		args[i] = *arg(&r, SV_MSG_ABI(msg), i);
	if (!sv_call_plan(t->pid, (unsigned)msg, args))
		return PTRACE_CONT;	/* unchanged: the kernel decides */
	t->saved = r;
	t->abi = SV_MSG_ABI(msg);
	t->call = SV_MSG_CALL(msg);
	if (rewrite(t, &r) != 0)
		return PTRACE_CONT;
	t->state = SV_AT_EXIT;
	return PTRACE_SYSCALL;
}

int sv_call_interrupted(struct sv_tracee *t)
{
	struct user_regs_struct r;

	/*
	 * The kernel restarts the call from these registers: orig_rax
	 * becomes the number again and the instruction pointer goes back
	 * over the system call instruction.
	 */
	if (get_regs(t->pid, &r) != 0 ||
	    (ret_of(&r, t->abi) != -SV_ERESTARTNOINTR &&
	     ret_of(&r, t->abi) != -SV_ERESTARTSYS) ||
	    word(t->abi, r.orig_rax) != (unsigned long long)t->nr)
		return -1;
	/* ERESTARTSYS: the kernel dropped our answer (supervise-notify.c). */
	r.rax = (unsigned long long)-SV_ERESTARTNOINTR;
	t->saved = r;
	if (rewrite(t, &r) != 0)
		return -1;
	t->state = SV_AT_ENTRY;
	return PTRACE_SYSCALL;
}

/* The first refused injection, in one line. */
static void warn_inject(const struct sv_tracee *t)
{
	static int said;

	if (said)
		return;
	said = 1;
	fprintf(stderr, "lockonfault: warning: supervisor: process %d: "
		"mlock2(MLOCK_ONFAULT) after mmap(MAP_LOCKED) was refused; "
		"that mapping is not locked\n", (int)t->pid);
}

/* Put the program's registers back with ret as the call's result. */
static void restore(struct sv_tracee *t, long ret)
{
	struct user_regs_struct r = t->saved;

	r.rax = (unsigned long long)ret;
	set_regs(t->pid, &r);
	t->state = SV_IDLE;
}

int sv_call_syscall_stop(struct sv_tracee *t)
{
	struct user_regs_struct r;
	long ret;

	if (get_regs(t->pid, &r) != 0)
		return PTRACE_CONT;
	switch (t->state) {
	case SV_AT_ENTRY:
		/* The restarted call's entry; signals are blocked. */
		t->state = SV_AT_EXIT;
		return PTRACE_SYSCALL;
	case SV_AT_EXIT:
		ret = ret_of(&r, t->abi);
		if ((t->call != SV_MMAP && t->call != SV_OLD_MMAP) ||
		    is_error(ret)) {
			restore(t, ret);
			return PTRACE_CONT;
		}
		/* Re-execute the system call instruction as mlock2. */
		t->map_ret = ret;
		r = t->saved;
		r.rax = nr_mlock2(t->abi);
		r.orig_rax = nr_mlock2(t->abi);
		*arg(&r, t->abi, 0) = word(t->abi, (unsigned long long)ret);
		*arg(&r, t->abi, 1) = t->map_len;
		*arg(&r, t->abi, 2) = MLOCK_ONFAULT;
		r.rip -= SYSCALL_INSN_LEN;
		if (set_regs(t->pid, &r) != 0) {
			restore(t, ret);
			return PTRACE_CONT;
		}
		t->state = SV_INJECT_ENTRY;
		t->other = 0;
		return PTRACE_SYSCALL;
	case SV_INJECT_ENTRY:
		if (t->other > 0) {
			t->other--;	/* exit of a handler's call */
			return PTRACE_SYSCALL;
		}
		if (r.orig_rax == nr_mlock2(t->abi) &&
		    r.rip == t->saved.rip &&
		    word(t->abi, *arg(&r, t->abi, 0)) ==
		    word(t->abi, (unsigned long long)t->map_ret) &&
		    word(t->abi, *arg(&r, t->abi, 2)) == MLOCK_ONFAULT) {
			t->state = SV_INJECT_EXIT;
			return PTRACE_SYSCALL;
		}
		t->other++;		/* entry of a handler's call */
		return PTRACE_SYSCALL;
	case SV_INJECT_EXIT:
		ret = ret_of(&r, t->abi);
		if (is_error(ret))
			warn_inject(t);
		restore(t, t->map_ret);
		return PTRACE_CONT;
	default:
		return PTRACE_CONT;
	}
}

#else /* !__x86_64__ */

int sv_call_plan(pid_t pid, unsigned msg, const unsigned long long args[6])
{
	(void)pid;
	(void)msg;
	(void)args;
	return 0;
}

int sv_call_interrupted(struct sv_tracee *t)
{
	(void)t;
	return -1;
}

int sv_call_trap(struct sv_tracee *t, unsigned long msg)
{
	(void)t;
	(void)msg;
	return PTRACE_CONT;
}

int sv_call_syscall_stop(struct sv_tracee *t)
{
	(void)t;
	return PTRACE_CONT;
}

#endif
