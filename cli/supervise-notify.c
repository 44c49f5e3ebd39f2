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
 *      return value aside. (Kernels 5.19 to 6.17, and stable ones
 *      without the backport of commit cce436aafc2a, can drop the answer
 *      when the interrupt wakes T first: the call then returns
 *      -ERESTARTSYS, which restarts the same way once every signal is
 *      blocked, so step 5 takes both);
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
 * A program's signal never interrupts a rewrite once the supervisor has
 * received the call: it waits for step 7. SIGKILL ends T; SIGSTOP stops
 * it (the stop is passed on, and the rewrite goes on after SIGCONT;
 * meanwhile other tasks are served).
 *
 * Before step 1 it can: the kernel makes the wait killable only once the
 * notification is received, and a signal that comes first ends it with
 * -ERESTARTSYS. A handler with SA_RESTART (Go's, glibc signal()'s) has
 * the call restarted and trapped again; one without makes it fail with
 * EINTR, which the kernel's own mlock never returns (lockonfault(1),
 * LIMITATIONS; trace mode has no such window). To keep the window short
 * the listener asks for SECCOMP_USER_NOTIF_FD_SYNC_WAKE_UP where the
 * kernel has it (6.6+): the waiting task hands its CPU to the supervisor.
 *
 * Exec. A thread's execve holds its process's cred_guard_mutex while it
 * waits for the other threads to die and be reaped; PTRACE_SEIZE of one
 * of them waits for that mutex. If such a thread is ours (mid-rewrite),
 * only we can reap it: a seize that blocks would never end. So a seize
 * runs under an interval timer whose handler reaps what is waiting
 * (waitpid) into a queue the loop reads afterwards.
 *
 * A task the supervisor may not trace (a debugger traces it, or it made
 * itself non-dumpable and the supervisor lacks CAP_SYS_PTRACE) has its
 * call run unchanged, eager as without lockonfault, and one warning.
 *
 * Events. Notifications come on the listener; ptrace stops come as
 * SIGCHLD (the tracer is every tracee's ptrace parent), read from a
 * signalfd and reaped with waitpid(WNOHANG). The loop ends when the
 * listener hangs up: no task is left under the filter, reaped or not (a
 * task keeps its filter until it is reaped), so none is ours either.
 * A table entry can outlive its task: a group leader killed by another
 * thread's execve is released without a wait; its TID, taken over by
 * the exec'ing thread, is checked against TracerPid when it calls again.
 *
 * If the supervisor dies. The listener closes and the kernel fails every
 * trapped call with ENOSYS from then on: the program is told its lock
 * calls fail. A task in a rewrite (seized with PTRACE_O_EXITKILL) is
 * killed rather than left with rewritten registers.
 *
 * This is an ordinary program; only on_alarm() is a signal handler.
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
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>

#include "supervise.h"
#include "supervise-call.h"

#define NOTIFY_OPTIONS (PTRACE_O_TRACESYSGOOD | PTRACE_O_EXITKILL)

/* What the kernel's PTRACE_[GS]ETSIGMASK take: its sigset_t. */
#define KSIGSET_SIZE sizeof(uint64_t)

/* Linux 6.6; newer than some headers. */
#ifndef SECCOMP_IOCTL_NOTIF_SET_FLAGS
#define SECCOMP_IOCTL_NOTIF_SET_FLAGS SECCOMP_IOW(4, __u64)
#endif
#ifndef SECCOMP_USER_NOTIF_FD_SYNC_WAKE_UP
#define SECCOMP_USER_NOTIF_FD_SYNC_WAKE_UP (1UL << 0)
#endif

/* How often a blocked PTRACE_SEIZE reaps (see Exec above). */
#define SEIZE_REAP_US 10000
#define EARLY_MAX 1024

/* Events on_alarm() reaped during a seize, for reap() to handle. */
static struct {
	pid_t pid;
	int st;
} early[EARLY_MAX];
static volatile sig_atomic_t n_early;

/*
 * SIGALRM, unblocked only while the loop waits in PTRACE_SEIZE: reap
 * what waits, so that an execve holding the mutex the seize wants can
 * finish. Every event is kept, stops too, in order.
 * Context: signal handler (interrupting only ptrace(PTRACE_SEIZE)).
 */
static void on_alarm(int sig)
{
	int saved = errno, st;
	pid_t pid;

	(void)sig;
	while (n_early < EARLY_MAX &&
	       (pid = waitpid(-1, &st, WNOHANG | __WALL)) > 0) {
		early[n_early].pid = pid;
		early[n_early].st = st;
		n_early++;
	}
	errno = saved;
}

/* PTRACE_SEIZE pid, reaping meanwhile. Return: 0, or an errno. */
static int seize(pid_t pid)
{
	struct itimerval on = { { 0, SEIZE_REAP_US }, { 0, SEIZE_REAP_US } };
	struct itimerval off = { { 0, 0 }, { 0, 0 } };
	sigset_t alrm;
	int err = 0;

	sigemptyset(&alrm);
	sigaddset(&alrm, SIGALRM);
	setitimer(ITIMER_REAL, &on, NULL);
	sigprocmask(SIG_UNBLOCK, &alrm, NULL);
	if (ptrace(PTRACE_SEIZE, pid, NULL,
		   (void *)(uintptr_t)NOTIFY_OPTIONS) != 0)
		err = errno;
	sigprocmask(SIG_BLOCK, &alrm, NULL);
	setitimer(ITIMER_REAL, &off, NULL);
	return err;
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

/* Whether /proc says we trace pid. */
static int traced_by_us(pid_t pid)
{
	unsigned long long tracer;

	return sv_proc_number(pid, "status", "TracerPid:", 10, &tracer) == 0 &&
	       tracer == (unsigned long long)getpid();
}

/* Whether notification id still waits for its answer. */
static int pending(int lfd, uint64_t id)
{
	int r;

	while ((r = ioctl(lfd, SECCOMP_IOCTL_NOTIF_ID_VALID, &id)) != 0 &&
	       errno == EINTR)
		;
	return r == 0;
}

/* Steps 1-4 for one pending notification. */
static void serve(int lfd)
{
	struct seccomp_notif req;
	struct sv_tracee *t;
	unsigned msg;
	pid_t pid;
	int err;

	memset(&req, 0, sizeof(req));
	if (ioctl(lfd, SECCOMP_IOCTL_NOTIF_RECV, &req) != 0)
		return;		/* EINTR, or ENOENT: the task is gone */
	pid = (pid_t)req.pid;
	t = sv_tracee_find(pid);
	if (t && !traced_by_us(pid)) {
		sv_tracee_forget(pid);	/* a stale entry (see Events) */
		t = NULL;
	}
	msg = sv_filter_classify(&req.data);
	if (t || !msg || !sv_call_plan(pid, msg, req.data.args)) {
		run_unchanged(lfd, req.id);
		return;
	}
	err = seize(pid);
	if (err) {
		if (err != ESRCH && pending(lfd, req.id))
			warn_untraceable(pid, err);
		run_unchanged(lfd, req.id);
		return;
	}
	t = sv_tracee(pid);
	t->abi = SV_MSG_ABI(msg);
	t->call = SV_MSG_CALL(msg);
	t->nr = req.data.nr;
	t->state = SV_SEIZED;
	if (!pending(lfd, req.id)) {
		/*
		 * Killed while we seized it (a killable wait ends only so),
		 * or the TID was reused: let it go at its next stop.
		 */
		t->state = SV_ORPHAN;
		ptrace(PTRACE_INTERRUPT, pid, NULL, NULL);
		return;
	}
	if (ptrace(PTRACE_INTERRUPT, pid, NULL, NULL) != 0) {
		/* Cannot happen to a seized task; be safe. */
		ptrace(PTRACE_DETACH, pid, NULL, NULL);
		sv_tracee_forget(pid);
		run_unchanged(lfd, req.id);
		return;
	}
	answer(lfd, req.id, -SV_ERESTARTNOINTR, 0);
}

/* Step 7, or giving up: T runs on untraced with its own signal mask. */
static void release(struct sv_tracee *t, int sig)
{
	if (t->state != SV_SEIZED && t->state != SV_ORPHAN)
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
	if (t->state == SV_ORPHAN) {
		release(t, ev == 0 ? sig : 0);
		return;
	}
	if (ev == PTRACE_EVENT_STOP && sv_is_stop_signal(sig)) {
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

/* One event: an exit or a stop. */
static void event(pid_t pid, int st)
{
	if (WIFEXITED(st) || WIFSIGNALED(st))
		sv_tracee_forget(pid);
	else if (WIFSTOPPED(st))
		stopped(pid, st);
}

/* Every ptrace event and exit waiting to be reaped, in order. */
static void reap(void)
{
	/* SIGALRM is blocked here: the queue is ours. */
	for (int i = 0; i < n_early; i++)
		event(early[i].pid, early[i].st);
	n_early = 0;
	for (;;) {
		int st;
		pid_t pid = waitpid(-1, &st, __WALL | WNOHANG);

		if (pid <= 0) {
			if (pid < 0 && errno == EINTR)
				continue;
			return;		/* none now, or ECHILD */
		}
		event(pid, st);
	}
}

int sv_notify_setup(int lfd)
{
	struct sigaction sa;
	sigset_t mask;
	int sfd;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_alarm;
	sa.sa_flags = SA_RESTART;
	sigemptyset(&sa.sa_mask);
	sigemptyset(&mask);
	sigaddset(&mask, SIGCHLD);
	sigaddset(&mask, SIGALRM);
	if (sigprocmask(SIG_BLOCK, &mask, NULL) != 0 ||
	    sigaction(SIGALRM, &sa, NULL) != 0)
		return -errno;
	sigdelset(&mask, SIGALRM);
	sfd = signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK);
	if (sfd < 0)
		return -errno;
	/*
	 * Linux 6.6+, the flags passed by value; EINVAL before: a longer
	 * window, nothing worse.
	 */
	ioctl(lfd, SECCOMP_IOCTL_NOTIF_SET_FLAGS,
	      (unsigned long)SECCOMP_USER_NOTIF_FD_SYNC_WAKE_UP);
	return sfd;
}

void sv_notify_loop(int lfd, int sfd)
{
	struct signalfd_siginfo si;

	for (;;) {
		struct pollfd p[2] = { { lfd, POLLIN, 0 }, { sfd, POLLIN, 0 } };

		if (poll(p, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		while (read(sfd, &si, sizeof(si)) > 0)
			;
		/* The call first: until received, a signal can end it. */
		if (p[0].revents & POLLIN)
			serve(lfd);
		reap();
		if (!(p[0].revents & POLLIN) &&
		    (p[0].revents & (POLLHUP | POLLERR | POLLNVAL)))
			break;	/* no task is left under the filter */
	}
	close(sfd);
}
