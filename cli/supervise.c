/*
 * supervise.c - the supervisor: lock on fault for commands LD_PRELOAD
 * cannot serve (static binaries, raw syscall() lock calls).
 *
 * Design. The command runs under a seccomp filter that traps only the
 * eager lock calls (supervise-filter.c) with SECCOMP_RET_TRACE; a tracer
 * rewrites each trapped call into its lock-on-fault form in the tracee's
 * registers before the kernel runs it (supervise-call.c). Every other
 * system call runs untouched, with no stop. Only a 4.4+ kernel can run
 * the rewritten calls: the wrapper does not start a supervisor on a
 * kernel without MLOCK_ONFAULT (and says so).
 *
 * Who traces whom. The wrapper process itself becomes the command, as
 * without a supervisor: it keeps its PID, its parent, its exit status
 * and its signals, so shells, systemd and `timeout` see the command
 * itself. The tracer is a grandchild, detached (double fork, as
 * `strace -D` does): the command never sees it as a child, so its
 * wait() calls are not disturbed. The handshake, in order:
 *   1. the wrapper forks a helper, which forks the tracer, then installs
 *      the filter in itself (a throw-away test: seccomp present,
 *      no_new_privs needed or not), sends the result and exits; the
 *      wrapper reaps it (the tracer, orphaned, is nobody's child);
 *   2. the tracer sends its PID up a pipe; the wrapper names it with
 *      PR_SET_PTRACER (Yama's ptrace_scope 1) and says go;
 *   3. the tracer seizes the wrapper (PTRACE_SEIZE: no stop, no SIGSTOP
 *      for the program to see) and sends the result up;
 *   4. the wrapper installs the filter and execs the command.
 * Any failure before 4 leaves the wrapper untouched (no filter, not
 * traced; a tracer never told to go exits at the end of its pipe), and
 * the caller warns and runs the command unsupervised.
 *
 * Following children. PTRACE_O_TRACEFORK/VFORK/CLONE attach every new
 * process and thread; the filter is inherited by them and kept across
 * exec, so a static program that execs a dynamic one, or the reverse,
 * stays served (LD_PRELOAD stays in the environment for dynamic ones).
 *
 * Signals pass through: a signal-delivery-stop is resumed with the same
 * signal (its siginfo kept by the kernel); a group-stop is left stopped
 * with PTRACE_LISTEN, so job control works; a tracee's death is only
 * noted. The command's exit status is its own.
 *
 * If the supervisor dies. PTRACE_O_EXITKILL kills every tracee with
 * SIGKILL: a filter without its tracer fails the trapped calls with
 * ENOSYS, and a program that would go on with lock calls failing (a
 * secret no longer locked) must not. To make that rare the tracer leaves
 * the terminal's session (no ^C, ^Z or SIGHUP reach it), ignores the
 * signals a service manager sends to a whole group, and asks for the
 * lowest OOM score its privileges allow. It exits when its last tracee
 * is gone.
 *
 * This is an ordinary program, not a signal handler.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <sys/prctl.h>
#include <sys/ptrace.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "supervise.h"
#include "supervise-call.h"

#ifndef PR_SET_PTRACER
#define PR_SET_PTRACER 0x59616d61
#endif

#define SV_NAME "lockonfault-sv"
#define MAX_FILTER 64

#define SV_OPTIONS (PTRACE_O_TRACESECCOMP | PTRACE_O_TRACEFORK |	\
		    PTRACE_O_TRACEVFORK | PTRACE_O_TRACECLONE |		\
		    PTRACE_O_TRACEEXEC | PTRACE_O_TRACESYSGOOD |	\
		    PTRACE_O_EXITKILL)

/* What goes up the pipe to the wrapper. */
enum { MSG_FILTER = 1, MSG_PID, MSG_SEIZE };
struct msg {
	int kind;
	int val;	/* errno, or the tracer's PID */
};

/* ------------------------------------------------------------------ */
/* The filter                                                           */
/* ------------------------------------------------------------------ */

/*
 * Install the filter in this process. Without CAP_SYS_ADMIN the kernel
 * wants no_new_privs first; root keeps setuid programs working by not
 * setting it. Return: 0, or an errno.
 */
static int install_filter(void)
{
	struct sock_filter f[MAX_FILTER];
	struct sock_fprog prog;

	prog.len = (unsigned short)sv_filter_build(f, MAX_FILTER);
	prog.filter = f;
	if (!prog.len)
		return ENOSYS;
	if (prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog) == 0)
		return 0;
	if (errno != EACCES)
		return errno;
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0)
		return errno;
	return prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog) == 0 ?
	       0 : errno;
}

/* ------------------------------------------------------------------ */
/* The tracees                                                          */
/* ------------------------------------------------------------------ */

/* Open addressing on the PID; grown at half full. */
static struct sv_tracee *tab;
static size_t tab_size, tab_used;

static struct sv_tracee *slot(pid_t pid)
{
	size_t i = (size_t)pid * 2654435761u & (tab_size - 1);

	while (tab[i].pid && tab[i].pid != pid)
		i = (i + 1) & (tab_size - 1);
	return &tab[i];
}

static void grow(void)
{
	struct sv_tracee *old = tab;
	size_t n = tab_size;

	tab_size = n ? n * 2 : 64;
	tab = calloc(tab_size, sizeof(*tab));
	if (!tab) {
		fprintf(stderr, "lockonfault: supervisor: out of memory\n");
		_exit(1);	/* PTRACE_O_EXITKILL: the tracees go too */
	}
	tab_used = 0;
	for (size_t i = 0; i < n; i++) {
		if (old[i].pid > 0) {
			*slot(old[i].pid) = old[i];
			tab_used++;
		}
	}
	free(old);
}

static struct sv_tracee *tracee(pid_t pid)
{
	struct sv_tracee *t;

	if (2 * (tab_used + 1) > tab_size)
		grow();
	t = slot(pid);
	if (t->pid != pid) {
		memset(t, 0, sizeof(*t));
		t->pid = pid;
		tab_used++;
	}
	return t;
}

/* Forget pid, re-inserting the cluster after it (linear probing). */
static void forget(pid_t pid)
{
	struct sv_tracee *t;
	size_t i;

	if (!tab_size)
		return;
	t = slot(pid);
	if (t->pid != pid)
		return;
	t->pid = 0;
	tab_used--;
	i = (size_t)(t - tab);
	for (i = (i + 1) & (tab_size - 1); tab[i].pid;
	     i = (i + 1) & (tab_size - 1)) {
		struct sv_tracee e = tab[i];

		tab[i].pid = 0;
		*slot(e.pid) = e;
	}
}

/* A fresh state: a new process, an exec, a PID reused. */
static void reset(struct sv_tracee *t)
{
	pid_t pid = t->pid;

	memset(t, 0, sizeof(*t));
	t->pid = pid;
}

/* ------------------------------------------------------------------ */
/* The loop                                                             */
/* ------------------------------------------------------------------ */

static int is_stop_signal(int sig)
{
	return sig == SIGSTOP || sig == SIGTSTP || sig == SIGTTIN ||
	       sig == SIGTTOU;
}

static void warn_inject(const struct sv_tracee *t)
{
	static int said;

	if (said || !t->inject_failed)
		return;
	said = 1;
	fprintf(stderr, "lockonfault: warning: supervisor: process %d: "
		"mlock2(MLOCK_ONFAULT) after mmap(MAP_LOCKED) was refused; "
		"that mapping is not locked\n", (int)t->pid);
}

/* Run until no tracee is left. */
static void loop(pid_t first)
{
	tracee(first);
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
			forget(pid);
			continue;
		}
		if (!WIFSTOPPED(st))
			continue;
		t = tracee(pid);
		sig = WSTOPSIG(st);
		ev = (unsigned)st >> 16;
		req = t->state == SV_IDLE ? PTRACE_CONT : PTRACE_SYSCALL;
		switch (ev) {
		case PTRACE_EVENT_SECCOMP:
			if (ptrace(PTRACE_GETEVENTMSG, pid, NULL, &msg) == 0)
				req = sv_call_trap(t, msg);
			break;
		case PTRACE_EVENT_STOP:
			if (is_stop_signal(sig)) {
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
			reset(t);
			req = PTRACE_CONT;
			break;
		case 0:
			if (sig == (SIGTRAP | 0x80)) {
				req = sv_call_syscall_stop(t);
				warn_inject(t);
			} else {
				inject = sig;	/* signal-delivery-stop */
			}
			break;
		default:
			/* fork, vfork, clone, vfork-done: nothing to do. */
			break;
		}
		ptrace((enum __ptrace_request)req, pid, NULL,
		       (void *)(uintptr_t)inject);
	}
}

/* ------------------------------------------------------------------ */
/* Starting                                                             */
/* ------------------------------------------------------------------ */

static void send_msg(int fd, int kind, int val)
{
	struct msg m = { kind, val };

	if (write(fd, &m, sizeof(m)) != sizeof(m))
		_exit(1);
}

/* Leave the program's session, signals and descriptors behind. */
static void detach_self(int keep1, int keep2)
{
	static const int ignored[] = { SIGHUP, SIGINT, SIGQUIT, SIGTERM,
				       SIGTSTP, SIGTTIN, SIGTTOU, SIGPIPE,
				       SIGUSR1, SIGUSR2, SIGALRM };
	long maxfd = sysconf(_SC_OPEN_MAX);
	int fd, oom;

	setsid();
	prctl(PR_SET_NAME, SV_NAME, 0, 0, 0);
	for (size_t i = 0; i < sizeof(ignored) / sizeof(ignored[0]); i++)
		signal(ignored[i], SIG_IGN);
	fd = open("/dev/null", O_RDWR | O_CLOEXEC);
	if (fd >= 0) {
		dup2(fd, 0);
		dup2(fd, 1);
	}
	if (maxfd < 0 || maxfd > 65536)
		maxfd = 65536;
	for (fd = 3; fd < maxfd; fd++) {
		if (fd != keep1 && fd != keep2)
			close(fd);
	}
	/* The lowest OOM score allowed: -1000 as root, else no change. */
	oom = open("/proc/self/oom_score_adj", O_WRONLY | O_CLOEXEC);
	if (oom >= 0) {
		if (write(oom, "-1000", 5) < 0) {
			/* unprivileged: keep the inherited score */
		}
		close(oom);
	}
}

/* The tracer: seize target, then serve it and its descendants. */
static void __attribute__((noreturn)) tracer(pid_t target, int up,
					      int down)
{
	char go;
	int err = 0;

	detach_self(up, down);
	send_msg(up, MSG_PID, (int)getpid());
	if (read(down, &go, 1) != 1)
		_exit(0);
	if (ptrace(PTRACE_SEIZE, target, NULL,
		   (void *)(uintptr_t)SV_OPTIONS) != 0)
		err = errno;
	send_msg(up, MSG_SEIZE, err);
	close(up);
	close(down);
	if (err)
		_exit(0);
	loop(target);
	_exit(0);
}

/* Read one message, or fail with a reason. */
static int recv_msg(int fd, struct msg *m)
{
	ssize_t n;

	do
		n = read(fd, m, sizeof(*m));
	while (n < 0 && errno == EINTR);
	return n == sizeof(*m) ? 0 : -1;
}

int sv_start(char *why, size_t whylen)
{
	int up[2], down[2], st, err, filter_err;
	pid_t me = getpid(), helper, tracer_pid;
	struct msg m;

	if (!sv_available()) {
		snprintf(why, whylen, "no supervisor for this architecture");
		return -1;
	}
	if (pipe2(up, O_CLOEXEC) != 0 || pipe2(down, O_CLOEXEC) != 0) {
		snprintf(why, whylen, "pipe: %s", strerror(errno));
		return -1;
	}
	helper = fork();
	if (helper < 0) {
		snprintf(why, whylen, "fork: %s", strerror(errno));
		return -1;
	}
	if (helper == 0) {
		/*
		 * The tracer first, so that it does not inherit the test
		 * filter; then the test, in this throw-away process.
		 */
		pid_t t;

		close(up[0]);
		close(down[1]);
		t = fork();
		if (t == 0)
			tracer(me, up[1], down[0]);
		err = t < 0 ? errno : install_filter();
		send_msg(up[1], MSG_FILTER, err);
		_exit(0);
	}
	close(up[1]);
	close(down[0]);
	while (waitpid(helper, &st, 0) < 0 && errno == EINTR)
		;

	/* Two messages, in either order: the test's result, the PID. */
	err = -1;
	filter_err = -1;
	tracer_pid = 0;
	while ((filter_err < 0 || !tracer_pid) && recv_msg(up[0], &m) == 0) {
		if (m.kind == MSG_FILTER)
			filter_err = m.val;
		else if (m.kind == MSG_PID)
			tracer_pid = m.val;
	}
	if (filter_err > 0) {
		snprintf(why, whylen, "cannot install a seccomp filter: %s",
			 strerror(filter_err));
	} else if (filter_err < 0 || !tracer_pid) {
		snprintf(why, whylen, "the supervisor did not start");
	} else {
		prctl(PR_SET_PTRACER, (unsigned long)tracer_pid, 0, 0, 0);
		if (write(down[1], "g", 1) != 1 || recv_msg(up[0], &m) != 0 ||
		    m.kind != MSG_SEIZE)
			snprintf(why, whylen, "the supervisor did not start");
		else if (m.val)
			snprintf(why, whylen, "cannot trace the command: %s%s",
				 strerror(m.val), m.val == EPERM ?
				 " (is it already being traced?)" : "");
		else
			err = 0;
	}
	close(up[0]);
	close(down[1]);
	if (err)
		return -1;
	err = install_filter();
	if (err) {
		/* The helper could; we cannot. Traced but harmless. */
		snprintf(why, whylen, "cannot install a seccomp filter: %s",
			 strerror(err));
		return -1;
	}
	return 0;
}
