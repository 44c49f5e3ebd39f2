/*
 * supervise.h - the wrapper's supervisor: lock on fault for what
 * LD_PRELOAD cannot reach (static binaries, raw syscall() lock calls).
 *
 * supervise.c starts it, supervise-filter.c builds the seccomp filter
 * that traps the lock calls, supervise-notify.c and supervise-trace.c
 * are its two loops (one per mode, below), supervise-call.c rewrites one
 * trapped call, supervise-table.c keeps the tasks in a rewrite. See
 * supervise.c for the design.
 */
#ifndef LOF_SUPERVISE_H
#define LOF_SUPERVISE_H

#include <signal.h>
#include <stddef.h>
#include <sys/types.h>
#include <linux/filter.h>
#include <linux/seccomp.h>

/* The flags the calls are rewritten into, for headers before Linux 4.4. */
#ifndef MLOCK_ONFAULT
#define MLOCK_ONFAULT 1
#endif
#ifndef MCL_ONFAULT
#define MCL_ONFAULT 4
#endif

/*
 * The kernel's own "restart this call, whatever the signal handler's
 * SA_RESTART" (include/linux/errno.h; never seen by programs). Notify
 * mode answers a trapped call with it, see supervise-notify.c.
 */
#define SV_ERESTARTSYS 512
#define SV_ERESTARTNOINTR 513

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
 * How trapped calls reach the supervisor (supervise.c says which and why).
 *   notify: SECCOMP_RET_USER_NOTIF; the supervisor traces a task only
 *           for the few stops of one rewrite (Linux 5.19+);
 *   trace:  SECCOMP_RET_TRACE; every task is traced all its life, and
 *           every signal it gets is a ptrace stop.
 */
enum sv_mode {
	SV_MODE_AUTO,		/* notify where it can run, else trace */
	SV_MODE_TRACE,
	SV_MODE_NOTIFY,
	SV_MODE_ABOVE,		/* found: lock calls are lazy already (a
				   supervisor above us): none started */
};

/*
 * Build the filter of mode into out (room for max instructions).
 * Return: the number of instructions, or 0 where the supervisor is not
 * built for this architecture.
 */
size_t sv_filter_build(struct sock_filter *out, size_t max, int mode);

/*
 * What the filter traps in d: SV_MSG(abi, call), or 0 for a call it
 * lets through.
 */
unsigned sv_filter_classify(const struct seccomp_data *d);

/*
 * The mode sv_start(want) would choose here (probed in a throw-away
 * child), or 0 when it could start none. *fallback: why not notify mode
 * when want was not SV_MODE_TRACE, or NULL.
 */
int sv_mode(int want, const char **fallback);

/*
 * The number after key on the line of /proc/PID/file starting with it,
 * in base, into *v (supervise-call.c). Return: 0, or -1 when there is
 * none.
 */
int sv_proc_number(pid_t pid, const char *file, const char *key, int base,
		   unsigned long long *v);

/* A signal whose default action stops the process (a group-stop). */
static inline int sv_is_stop_signal(int sig)
{
	return sig == SIGSTOP || sig == SIGTSTP || sig == SIGTTIN ||
	       sig == SIGTTOU;
}

/* The loops: they return when no task is left to serve. */
void sv_trace_loop(pid_t first);
/*
 * Notify mode's set-up, before the supervisor says it is ready: its
 * signals and the signalfd for its tracees' stops. Return: the signalfd,
 * or -errno.
 */
int sv_notify_setup(int listener);
void sv_notify_loop(int listener, int sfd);

/* Whether this build has a supervisor at all (x86_64 only for now). */
int sv_available(void);

/*
 * Start the supervisor for this process, which is about to exec the
 * command, in mode want (enum sv_mode): fork a detached supervisor, hand
 * it the command, install the filter. *fallback as for sv_mode().
 * Return: 0 when supervised; 1 when a supervisor above serves the
 * command already (SV_MODE_ABOVE: nothing started); -1 with a one-line
 * reason in why (the
 * caller warns and runs the command unsupervised; nothing was changed);
 * -2 with a reason when the filter is in but its supervisor is not (the
 * lock calls would fail: the caller must not run the command).
 */
int sv_start(int want, const char **fallback, char *why, size_t whylen);

#endif
