/*
 * supervise-trace.c - the supervisor's loop in trace mode (kernels
 * before 5.19, or where only a registered ptracer may trace: see
 * supervise.c for when).
 *
 * Every task of the command is traced all its life: PTRACE_O_TRACEFORK,
 * VFORK and CLONE attach each new process and thread. The filter traps
 * the eager lock calls with SECCOMP_RET_TRACE: a PTRACE_EVENT_SECCOMP
 * stop, where supervise-call.c rewrites the call before the kernel runs
 * it.
 *
 * Signals pass through: a signal-delivery-stop is resumed with the same
 * signal (its siginfo kept by the kernel); a group-stop is left stopped
 * with PTRACE_LISTEN, so job control works; a tracee's death is only
 * noted. The cost: every signal the command gets is a round trip through
 * this loop, and a program taking signals faster than that round trip
 * makes no progress (lockonfault(1), LIMITATIONS). Notify mode has no
 * such stop.
 *
 * If the supervisor dies, PTRACE_O_EXITKILL kills every tracee.
 *
 * This is an ordinary program, not a signal handler.
 */
#include "config.h"

#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <sys/ptrace.h>
#include <sys/wait.h>

#include "supervise.h"
#include "supervise-call.h"

void sv_trace_loop(pid_t first)
{
	sv_tracee(first);
	for (;;) {
		struct sv_tracee *t;
		unsigned long msg;
		int st, sig, ev, req, inject = 0;
		pid_t pid = waitpid(-1, &st, __WALL);

		if (pid < 0) {
			if (errno == EINTR)
				continue;
			return;		/* ECHILD: nobody left */
		}
		if (WIFEXITED(st) || WIFSIGNALED(st)) {
			sv_tracee_forget(pid);
			continue;
		}
		if (!WIFSTOPPED(st))
			continue;
		t = sv_tracee(pid);
		sig = WSTOPSIG(st);
		ev = (unsigned)st >> 16;
		req = t->state == SV_IDLE ? PTRACE_CONT : PTRACE_SYSCALL;
		switch (ev) {
		case PTRACE_EVENT_SECCOMP:
			if (ptrace(PTRACE_GETEVENTMSG, pid, NULL, &msg) == 0)
				req = sv_call_trap(t, msg);
			break;
		case PTRACE_EVENT_STOP:
			if (sv_is_stop_signal(sig)) {
				/* Group-stop: stay stopped until SIGCONT. */
				ptrace(PTRACE_LISTEN, pid, NULL, NULL);
				continue;
			}
			/*
			 * SIGTRAP: a new tracee's first stop, or the re-trap
			 * of one leaving a group-stop (SIGCONT). The latter
			 * may be in the middle of a rewrite: keep its state
			 * and its resume request.
			 */
			break;
		case PTRACE_EVENT_EXEC:
			sv_tracee_reset(t);
			req = PTRACE_CONT;
			break;
		case 0:
			if (sig == (SIGTRAP | 0x80))
				req = sv_call_syscall_stop(t);
			else
				inject = sig;	/* signal-delivery-stop */
			break;
		default:
			/* fork, vfork, clone, vfork-done: nothing to do. */
			break;
		}
		ptrace((enum __ptrace_request)req, pid, NULL,
		       (void *)(uintptr_t)inject);
	}
}
