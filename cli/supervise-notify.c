/*
 * supervise-notify.c - the supervisor's loop in notify mode (Linux 5.19+,
 * a tracer allowed to trace the command's tasks: see supervise.c).
 *
 * Why. A traced task stops for every signal it gets; a program taking
 * signals faster than that round trip makes no progress at all (trace
 * mode's limit, measured at over 50 µs on a loaded VM). Here no task is
 * traced but one in the middle of a rewrite, and only for its few stops.
 *
 * One rewrite, for task T whose trapped call (SECCOMP_RET_USER_NOTIF)
 * waits in the kernel:
 *   1. receive the notification; classify the call from its number and
 *      arguments (sv_filter_classify) and decide whether to rewrite it
 *      (sv_call_plan). If not, answer SECCOMP_USER_NOTIF_FLAG_CONTINUE:
 *      the kernel runs the call as it is;
 *   2. PTRACE_SEIZE T, then check that the notification is still
 *      pending (SECCOMP_IOCTL_NOTIF_ID_VALID): T still waits in it, so
 *      the TID was not reused by another task;
 *   3. PTRACE_INTERRUPT T. The filter was installed with
 *      SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV, so once received, the
 *      wait is killable only: the interrupt marks T (TIF_SIGPENDING)
 *      but does not end the wait, and no signal of the program can;
 *   4. answer the notification with -ERESTARTNOINTR. T leaves the call
 *      with it; on the way out it finds the interrupt: a
 *      PTRACE_EVENT_STOP with T's registers those of the call, the
 *      return value aside;
 *   5. at that stop, block every signal T can block (PTRACE_SETSIGMASK;
 *      its own mask is kept) and rewrite the registers: the kernel
 *      restarts the call from them, as it restarts any interrupted call
 *      (ERESTARTNOINTR restarts whatever a handler's SA_RESTART). The
 *      filter lets the lock-on-fault form through;
 *   6. follow the restarted call (and the mlock2 injected after a
 *      MAP_LOCKED mmap) with PTRACE_SYSCALL, as trace mode does
 *      (supervise-call.c); with signals blocked, every syscall stop is
 *      ours;
 *   7. put the registers back with the call's result, restore T's
 *      signal mask and PTRACE_DETACH. A signal that came meanwhile is
 *      delivered then, a few microseconds late.
 * A program's signal never interrupts a rewrite: it waits for step 7,
 * and before step 3 it cannot end the wait. SIGKILL ends T; SIGSTOP
 * stops it (the stop is passed on, and the rewrite goes on after
 * SIGCONT; meanwhile other tasks are served).
 *
 * A task the supervisor may not trace (a debugger traces it, or it made
 * itself non-dumpable and the supervisor lacks CAP_SYS_PTRACE) has its
 * call run unchanged, eager as without lockonfault, and one warning.
 *
 * Events. Notifications come on the listener; ptrace stops come as
 * SIGCHLD (the tracer is every tracee's ptrace parent), read from a
 * signalfd and reaped with waitpid(WNOHANG). The loop ends when the
 * listener hangs up (no task is left under the filter) and no rewrite
 * is in flight.
 *
 * If the supervisor dies. The listener closes and the kernel fails every
 * trapped call with ENOSYS from then on: the program is told its lock
 * calls fail. A task in a rewrite (seized with PTRACE_O_EXITKILL) is
 * killed rather than left with rewritten registers.
 *
 * This is an ordinary program, not a signal handler.
 */
#include "config.h"

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/ptrace.h>
#include <sys/signalfd.h>
#include <sys/wait.h>
#include <unistd.h>

#include "supervise.h"
#include "supervise-call.h"

#define NOTIFY_OPTIONS (PTRACE_O_TRACESYSGOOD | PTRACE_O_EXITKILL)

/* What the kernel's PTRACE_[GS]ETSIGMASK take: its sigset_t. */
#define KSIGSET_SIZE sizeof(uint64_t)

static int is_stop_signal(int sig)
{
	return sig == SIGSTOP || sig == SIGTSTP || sig == SIGTTIN ||
	       sig == SIGTTOU;
}

/* The first task we may not trace, in one line. */
static void warn_untraceable(pid_t pid, int err)
{
	static int said;

	if (said)
		return;
	said = 1;
	fprintf(stderr, "lockonfault: warning: supervisor: cannot trace "
		"process %d (%s%s); its lock calls run unchanged (eager)\n",
		(int)pid, strerror(err), err == EPERM ?
		": a debugger, or not dumpable" : "");
}

static void answer(int lfd, uint64_t id, int32_t error, uint32_t flags)
{
	struct seccomp_notif_resp resp;

	memset(&resp, 0, sizeof(resp));
	resp.id = id;
	resp.error = error;
	resp.flags = flags;
	/* ENOENT: the task died meanwhile; nothing left to answer. */
	while (ioctl(lfd, SECCOMP_IOCTL_NOTIF_SEND, &resp) != 0 &&
	       errno == EINTR)
		;
}

static void run_unchanged(int lfd, uint64_t id)
{
	answer(lfd, id, 0, SECCOMP_USER_NOTIF_FLAG_CONTINUE);
}

/* Steps 1-4 for one pending notification. */
static void serve(int lfd)
{
	struct seccomp_notif req;
	struct sv_tracee *t;
	unsigned msg;

	memset(&req, 0, sizeof(req));
	if (ioctl(lfd, SECCOMP_IOCTL_NOTIF_RECV, &req) != 0)
		return;		/* EINTR, or ENOENT: the task is gone */
	msg = sv_filter_classify(&req.data);
	if (!msg || !sv_call_plan((pid_t)req.pid, msg, req.data.args) ||
	    sv_tracee_find((pid_t)req.pid)) {
		run_unchanged(lfd, req.id);
		return;
	}
	if (ptrace(PTRACE_SEIZE, (pid_t)req.pid, NULL,
		   (void *)(uintptr_t)NOTIFY_OPTIONS) != 0) {
		if (errno != ESRCH)
			warn_untraceable((pid_t)req.pid, errno);
		run_unchanged(lfd, req.id);
		return;
	}
	t = sv_tracee((pid_t)req.pid);
	t->abi = SV_MSG_ABI(msg);
	t->call = SV_MSG_CALL(msg);
	t->nr = req.data.nr;
	t->state = SV_SEIZED;
	if (ioctl(lfd, SECCOMP_IOCTL_NOTIF_ID_VALID, &req.id) != 0) {
		/*
		 * Killed while we seized it (a killable wait ends only so):
		 * its exit comes through waitpid. Keep it until then.
		 */
		return;
	}
	if (ptrace(PTRACE_INTERRUPT, t->pid, NULL, NULL) != 0) {
		/* Cannot happen to a seized task; be safe. */
		ptrace(PTRACE_DETACH, t->pid, NULL, NULL);
		sv_tracee_forget(t->pid);
		run_unchanged(lfd, req.id);
		return;
	}
	answer(lfd, req.id, -SV_ERESTARTNOINTR, 0);
}

/* Step 7, or giving up: T runs on untraced with its own signal mask. */
static void release(struct sv_tracee *t, int sig)
{
	if (t->state != SV_SEIZED)
		ptrace(PTRACE_SETSIGMASK, t->pid, (void *)KSIGSET_SIZE,
		       &t->sigmask);
	ptrace(PTRACE_DETACH, t->pid, NULL, (void *)(uintptr_t)sig);
	sv_tracee_forget(t->pid);
}

/* Step 5, at T's stop after -ERESTARTNOINTR. Return: resume request. */
static int interrupted(struct sv_tracee *t)
{
	uint64_t all = ~(uint64_t)0;

	if (ptrace(PTRACE_GETSIGMASK, t->pid, (void *)KSIGSET_SIZE,
		   &t->sigmask) != 0)
		return -1;
	t->state = SV_AT_ENTRY;		/* from here the mask is ours */
	if (ptrace(PTRACE_SETSIGMASK, t->pid, (void *)KSIGSET_SIZE,
		   &all) != 0 || sv_call_interrupted(t) < 0)
		return -1;
	return PTRACE_SYSCALL;
}

/* One ptrace event of a task in a rewrite. */
static void stopped(pid_t pid, int st)
{
	struct sv_tracee *t = sv_tracee_find(pid);
	int sig = WSTOPSIG(st), ev = (unsigned)st >> 16, req;

	if (!t) {
		/* Not ours any more (cannot happen): let it go. */
		ptrace(PTRACE_DETACH, pid, NULL, NULL);
		return;
	}
	if (ev == PTRACE_EVENT_STOP && is_stop_signal(sig)) {
		/* Group-stop: stay stopped until SIGCONT. */
		ptrace(PTRACE_LISTEN, pid, NULL, NULL);
		return;
	}
	if (ev == 0 && sig != (SIGTRAP | 0x80)) {
		/*
		 * A signal-delivery-stop: before step 5 any signal, after it
		 * only SIGKILL and SIGSTOP (and faults, which a system call
		 * instruction does not raise). Pass it on.
		 */
		ptrace(t->state == SV_SEIZED ? PTRACE_CONT : PTRACE_SYSCALL,
		       pid, NULL, (void *)(uintptr_t)sig);
		return;
	}
	if (ev == PTRACE_EVENT_STOP && t->state != SV_SEIZED) {
		/* The re-trap after SIGCONT, in the middle of a rewrite. */
		ptrace(PTRACE_SYSCALL, pid, NULL, NULL);
		return;
	}
	if (ev == PTRACE_EVENT_STOP)
		req = interrupted(t);
	else if (ev == 0)
		req = sv_call_syscall_stop(t);
	else
		req = PTRACE_CONT;	/* no other event is asked for */
	if (req == PTRACE_SYSCALL && t->state != SV_IDLE)
		ptrace(PTRACE_SYSCALL, pid, NULL, NULL);
	else
		release(t, 0);
}

/* Every ptrace event and exit waiting to be reaped. */
static void reap(void)
{
	for (;;) {
		int st;
		pid_t pid = waitpid(-1, &st, __WALL | WNOHANG);

		if (pid <= 0) {
			if (pid < 0 && errno == EINTR)
				continue;
			return;		/* none now, or ECHILD */
		}
		if (WIFEXITED(st) || WIFSIGNALED(st))
			sv_tracee_forget(pid);
		else if (WIFSTOPPED(st))
			stopped(pid, st);
	}
}

void sv_notify_loop(int lfd)
{
	struct signalfd_siginfo si;
	sigset_t chld;
	int sfd;

	sigemptyset(&chld);
	sigaddset(&chld, SIGCHLD);
	sigprocmask(SIG_BLOCK, &chld, NULL);
	sfd = signalfd(-1, &chld, SFD_CLOEXEC | SFD_NONBLOCK);
	if (sfd < 0) {
		fprintf(stderr, "lockonfault: supervisor: signalfd: %s\n",
			strerror(errno));
		return;
	}
	for (;;) {
		struct pollfd p[2] = { { lfd, POLLIN, 0 }, { sfd, POLLIN, 0 } };

		if (poll(p, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		while (read(sfd, &si, sizeof(si)) > 0)
			;
		reap();
		if (p[0].revents & POLLIN) {
			serve(lfd);
		} else if (p[0].revents & (POLLHUP | POLLERR | POLLNVAL)) {
			/* No task is left under the filter. */
			if (!sv_tracee_count())
				break;
			lfd = -1;	/* poll ignores it from now on */
		}
	}
	close(sfd);
}
