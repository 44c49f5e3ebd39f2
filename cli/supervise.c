/*
 * supervise.c - the supervisor: lock on fault for commands LD_PRELOAD
 * cannot serve (static binaries, raw syscall() lock calls). This file
 * chooses its mode and starts it.
 *
 * Design. The command runs under a seccomp filter that traps only the
 * eager lock calls (supervise-filter.c); the supervisor rewrites each
 * trapped call into its lock-on-fault form in the task's registers
 * (supervise-call.c). Every other system call runs untouched, with no
 * stop. Only a 4.4+ kernel can run the rewritten calls: the wrapper does
 * not start a supervisor on a kernel without MLOCK_ONFAULT (and says so).
 *
 * Two modes (supervise.h):
 *   notify (supervise-notify.c): the filter answers SECCOMP_RET_USER_NOTIF
 *     and the supervisor traces a task only for the stops of one rewrite.
 *     Needs Linux 5.19 (SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV: without
 *     it a signal ends the wait, and a handler without SA_RESTART would
 *     make mlock fail with EINTR, which the kernel never does), and the
 *     right to seize any task of the command when it calls: without
 *     CAP_SYS_PTRACE, Yama's ptrace_scope must be 0 (at 1 only the
 *     wrapper's own process could be named with PR_SET_PTRACER, not its
 *     children).
 *   trace (supervise-trace.c): the filter answers SECCOMP_RET_TRACE and
 *     every task is traced all its life. Works from 4.4 and under Yama 1,
 *     but every signal is a ptrace stop: a program taking signals faster
 *     than that round trip makes no progress (lockonfault(1)).
 * Notify where it can run, trace elsewhere.
 *
 * Who traces whom. The wrapper process itself becomes the command, as
 * without a supervisor: it keeps its PID, its parent, its exit status
 * and its signals, so shells, systemd and `timeout` see the command
 * itself. The supervisor is a grandchild, detached (double fork, as
 * `strace -D` does): the command never sees it as a child, so its
 * wait() calls are not disturbed. The handshake, in order:
 *   1. the wrapper forks a helper, which forks the supervisor, then
 *      installs the filters in itself (a throw-away test: seccomp
 *      present, which mode the kernel takes, no_new_privs needed or not),
 *      sends the result and exits; the wrapper reaps it (the supervisor,
 *      orphaned, is nobody's child);
 *   2. the supervisor sends its PID up a pipe; the wrapper names it with
 *      PR_SET_PTRACER (Yama's ptrace_scope 1) and says go, with the mode;
 *   3. trace: the supervisor seizes the wrapper (PTRACE_SEIZE: no stop,
 *      no SIGSTOP for the program to see), says so, and the wrapper
 *      installs the filter;
 *      notify: the wrapper installs the filter and passes its listener
 *      down (SCM_RIGHTS); the supervisor says it has it;
 *   4. the wrapper execs the command.
 * Any failure before the filter is in leaves the wrapper untouched (no
 * filter, not traced; a supervisor never told to go exits at the end of
 * its pipe), and the caller warns and runs the command unsupervised. A
 * notify filter whose listener did not reach the supervisor would fail
 * every lock call with ENOSYS: the wrapper then does not run the command.
 *
 * Following children. The filter is inherited by every process and
 * thread and kept across exec, so a static program that execs a dynamic
 * one, or the reverse, stays served (LD_PRELOAD stays in the environment
 * for dynamic ones); trace mode also attaches each new task.
 *
 * If the supervisor dies. Trace mode: PTRACE_O_EXITKILL kills every
 * tracee with SIGKILL (a filter without its tracer fails the trapped
 * calls with ENOSYS, and a program that would go on with lock calls
 * failing must not). Notify mode: the trapped calls fail with ENOSYS, an
 * error the program sees (supervise-notify.c). To make either rare the
 * supervisor leaves the terminal's session (no ^C, ^Z or SIGHUP reach
 * it), ignores the signals a service manager sends to a whole group, and
 * asks for the lowest OOM score its privileges allow. It exits when no
 * task is left to serve.
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
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/ptrace.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "supervise.h"
#include "supervise-call.h"
#include "sys.h"

#ifndef PR_SET_PTRACER
#define PR_SET_PTRACER 0x59616d61
#endif

#define SV_NAME "lockonfault-sv"
#define CAP_SYS_PTRACE_BIT 19
#define MAX_FILTER 64

#define SV_OPTIONS (PTRACE_O_TRACESECCOMP | PTRACE_O_TRACEFORK |	\
		    PTRACE_O_TRACEVFORK | PTRACE_O_TRACECLONE |		\
		    PTRACE_O_TRACEEXEC | PTRACE_O_TRACESYSGOOD |	\
		    PTRACE_O_EXITKILL)

/* What goes up the pipe to the wrapper. */
enum { MSG_FILTER = 1, MSG_PID, MSG_READY };
struct msg {
	int kind;
	int val;	/* errno, or the supervisor's PID */
	int mode;	/* MSG_FILTER: what the probe found (PROBE_*) */
};

#define NOTIFY_FLAGS (SECCOMP_FILTER_FLAG_NEW_LISTENER |		\
		      SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV)

/* ------------------------------------------------------------------ */
/* The filter                                                           */
/* ------------------------------------------------------------------ */

/*
 * Install the filter of mode in this process. Without CAP_SYS_ADMIN the
 * kernel wants no_new_privs first; root keeps setuid programs working by
 * not setting it. Return: the listener (notify) or 0 (trace), or -errno.
 */
static int install_filter(int mode)
{
	struct sock_filter f[MAX_FILTER];
	struct sock_fprog prog;
	unsigned long flags = mode == SV_MODE_NOTIFY ? NOTIFY_FLAGS : 0;
	long r;

	prog.len = (unsigned short)sv_filter_build(f, MAX_FILTER, mode);
	prog.filter = f;
	if (!prog.len)
		return -ENOSYS;
	r = syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, flags, &prog);
	if (r < 0 && errno == EACCES) {
		if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0)
			return -errno;
		r = syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, flags,
			    &prog);
	}
	return r < 0 ? -errno : (int)r;
}

/* What probe_mode() found. */
enum { PROBE_NOTIFY = 1, PROBE_OLD, PROBE_BUSY, PROBE_ABOVE };

/*
 * Whether a raw mlock is lazy here already: a supervisor above us (this
 * wrapper run by a supervised command, whatever its environment says)
 * rewrites it, and a second one would only stand in its way (its filter
 * against the first one's listener, its tracing against the first one's
 * PTRACE_SEIZE). An untouched page left out of memory by mlock says so.
 * The system call instruction is our own (sys_mlock, src/sys.c): a
 * preloaded liblockonfault (inherited from an outer wrapper) would
 * rewrite mlock() and syscall().
 */
static int lazy_above(void)
{
	unsigned char vec = 1;
	char *p = mmap(NULL, 4096, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	if (p == MAP_FAILED)
		return 0;
	if (sys_mlock(p, 4096) != 0 || mincore(p, 4096, &vec) != 0)
		vec = 1;	/* not known: not lazy */
	munmap(p, 4096);
	return !(vec & 1);
}

/*
 * The filters this kernel takes, tried in this throw-away process.
 * Return: PROBE_ABOVE (lazy_above()); PROBE_NOTIFY; PROBE_OLD (no
 * WAIT_KILLABLE_RECV: before 5.19)
 * or PROBE_BUSY (a listener is there already: a supervisor or a
 * container runtime above us) when only trace mode's filter goes in
 * (trace filters stack under a listener); or -errno.
 */
static int probe_mode(void)
{
	int r, probed;

	if (lazy_above())
		return PROBE_ABOVE;
	r = install_filter(SV_MODE_NOTIFY);
	if (r >= 0)
		return PROBE_NOTIFY;
	if (r != -EINVAL && r != -EBUSY)
		return r;
	probed = r == -EBUSY ? PROBE_BUSY : PROBE_OLD;
	r = install_filter(SV_MODE_TRACE);
	return r < 0 ? r : probed;
}

/*
 * Whether the supervisor may seize any task of the command, not only
 * the wrapper: CAP_SYS_PTRACE, or no Yama restriction.
 */
static int may_trace_all(void)
{
	unsigned long long cap = 0;
	int scope = 0;
	FILE *f = fopen("/proc/sys/kernel/yama/ptrace_scope", "re");

	if (f) {
		if (fscanf(f, "%d", &scope) != 1)
			scope = 1;
		fclose(f);
	}
	sv_proc_number(getpid(), "status", "CapEff:", 16, &cap);
	return scope <= 0 || (cap >> CAP_SYS_PTRACE_BIT & 1);
}

/*
 * The mode for want (SV_MODE_AUTO, _NOTIFY or _TRACE) where the probe
 * found probed; *fallback says why not notify mode, when want did not.
 */
static int choose(int want, int probed, const char **fallback)
{
	*fallback = NULL;
	if (probed == PROBE_ABOVE)
		return SV_MODE_ABOVE;
	if (want == SV_MODE_TRACE)
		return SV_MODE_TRACE;
	if (probed == PROBE_OLD)
		*fallback = "this kernel has no SECCOMP_FILTER_FLAG_WAIT_"
			    "KILLABLE_RECV (Linux 5.19)";
	else if (probed == PROBE_BUSY)
		*fallback = "a seccomp listener is installed already";
	else if (!may_trace_all())
		*fallback = "under Yama's ptrace_scope only the wrapper's own "
			    "process can be traced without CAP_SYS_PTRACE";
	return *fallback ? SV_MODE_TRACE : SV_MODE_NOTIFY;
}

int sv_mode(int want, const char **fallback)
{
	pid_t pid;
	int st, probed;

	*fallback = NULL;
	if (!sv_available())
		return 0;
	pid = fork();
	if (pid < 0)
		return 0;
	if (pid == 0) {
		probed = probe_mode();
		_exit(probed < 0 ? 0 : probed);
	}
	while (waitpid(pid, &st, 0) < 0) {
		if (errno != EINTR)
			return 0;
	}
	probed = WIFEXITED(st) ? WEXITSTATUS(st) : 0;
	return probed ? choose(want, probed, fallback) : 0;
}

/* ------------------------------------------------------------------ */
/* Starting                                                             */
/* ------------------------------------------------------------------ */

static void send_msg(int fd, int kind, int val, int mode)
{
	struct msg m = { kind, val, mode };

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

/*
 * The go byte from the wrapper: 't' (trace) or 'n' (notify, with the
 * listener in *fd). Return: the byte, or 0 when the wrapper gave up.
 */
static char recv_go(int down, int *fd)
{
	char go = 0, ctl[CMSG_SPACE(sizeof(int))];
	struct iovec iov = { &go, 1 };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1,
			     .msg_control = ctl,
			     .msg_controllen = sizeof(ctl) };
	struct cmsghdr *c;
	ssize_t n;

	*fd = -1;
	do
		n = recvmsg(down, &mh, MSG_CMSG_CLOEXEC);
	while (n < 0 && errno == EINTR);
	if (n != 1)
		return 0;
	for (c = CMSG_FIRSTHDR(&mh); c; c = CMSG_NXTHDR(&mh, c)) {
		if (c->cmsg_level == SOL_SOCKET &&
		    c->cmsg_type == SCM_RIGHTS)
			memcpy(fd, CMSG_DATA(c), sizeof(int));
	}
	return go;
}

static int send_go(int down, char go, int fd)
{
	char ctl[CMSG_SPACE(sizeof(int))];
	struct iovec iov = { &go, 1 };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };
	struct cmsghdr *c;

	if (fd >= 0) {
		memset(ctl, 0, sizeof(ctl));
		mh.msg_control = ctl;
		mh.msg_controllen = sizeof(ctl);
		c = CMSG_FIRSTHDR(&mh);
		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_RIGHTS;
		c->cmsg_len = CMSG_LEN(sizeof(int));
		memcpy(CMSG_DATA(c), &fd, sizeof(int));
	}
	return sendmsg(down, &mh, MSG_NOSIGNAL) == 1 ? 0 : -1;
}

/* The supervisor: take target in hand, then serve it and its tasks. */
static void __attribute__((noreturn)) tracer(pid_t target, int up,
					      int down)
{
	int err = 0, lfd;
	char go;

	detach_self(up, down);
	send_msg(up, MSG_PID, (int)getpid(), 0);
	go = recv_go(down, &lfd);
	if (go == 'n') {
		int sfd = lfd < 0 ? -EBADF : sv_notify_setup(lfd);

		send_msg(up, MSG_READY, sfd < 0 ? -sfd : 0, 0);
		close(up);
		close(down);
		if (sfd >= 0)
			sv_notify_loop(lfd, sfd);
		_exit(0);
	}
	if (go != 't')
		_exit(0);
	if (ptrace(PTRACE_SEIZE, target, NULL,
		   (void *)(uintptr_t)SV_OPTIONS) != 0)
		err = errno;
	send_msg(up, MSG_READY, err, 0);
	close(up);
	close(down);
	if (err)
		_exit(0);
	sv_trace_loop(target);
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

/*
 * Steps 2-3 of the handshake in mode, the supervisor's PID known.
 * Return: 0; -1 with why (nothing changed); -2 with why (the filter is
 * in, without its supervisor).
 */
static int hand_over(int mode, int up, int down, pid_t sv, char *why,
		     size_t whylen)
{
	struct msg m;
	int lfd;

	prctl(PR_SET_PTRACER, (unsigned long)sv, 0, 0, 0);
	if (mode == SV_MODE_TRACE) {
		if (send_go(down, 't', -1) != 0 || recv_msg(up, &m) != 0 ||
		    m.kind != MSG_READY) {
			snprintf(why, whylen, "the supervisor did not start");
			return -1;
		}
		if (m.val) {
			snprintf(why, whylen, "cannot trace the command: %s%s",
				 strerror(m.val), m.val == EPERM ?
				 " (is it already being traced?)" : "");
			return -1;
		}
		lfd = install_filter(mode);
		if (lfd < 0) {
			/* The helper could; we cannot. Traced but harmless. */
			snprintf(why, whylen, "cannot install a seccomp "
				 "filter: %s", strerror(-lfd));
			return -1;
		}
		return 0;
	}
	lfd = install_filter(mode);
	if (lfd < 0) {
		snprintf(why, whylen, "cannot install a seccomp filter: %s",
			 strerror(-lfd));
		return -1;
	}
	if (send_go(down, 'n', lfd) != 0 || recv_msg(up, &m) != 0 ||
	    m.kind != MSG_READY || m.val) {
		close(lfd);
		snprintf(why, whylen, "the supervisor did not take the "
			 "filter's listener");
		return -2;
	}
	close(lfd);
	return 0;
}

int sv_start(int want, const char **fallback, char *why, size_t whylen)
{
	int up[2], down[2], st, err, filter_err, mode;
	pid_t me = getpid(), helper, tracer_pid;
	struct msg m;

	*fallback = NULL;
	if (!sv_available()) {
		snprintf(why, whylen, "no supervisor for this architecture");
		return -1;
	}
	if (pipe2(up, O_CLOEXEC) != 0 ||
	    socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, down) != 0) {
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
		 * The supervisor first, so that it does not inherit the test
		 * filter; then the test, in this throw-away process.
		 */
		pid_t t;

		close(up[0]);
		close(down[1]);
		t = fork();
		if (t == 0)
			tracer(me, up[1], down[0]);
		mode = t < 0 ? -errno : probe_mode();	/* PROBE_* */
		send_msg(up[1], MSG_FILTER, mode < 0 ? -mode : 0,
			 mode < 0 ? 0 : mode);
		_exit(0);
	}
	close(up[1]);
	close(down[0]);
	while (waitpid(helper, &st, 0) < 0 && errno == EINTR)
		;

	/* Two messages, in either order: the test's result, the PID. */
	err = -1;
	filter_err = -1;
	mode = 0;
	tracer_pid = 0;
	while ((filter_err < 0 || !tracer_pid) && recv_msg(up[0], &m) == 0) {
		if (m.kind == MSG_FILTER) {
			filter_err = m.val;
			mode = m.mode;
		} else if (m.kind == MSG_PID) {
			tracer_pid = m.val;
		}
	}
	if (filter_err > 0) {
		snprintf(why, whylen, "cannot install a seccomp filter: %s",
			 strerror(filter_err));
	} else if (filter_err < 0 || !tracer_pid || !mode) {
		snprintf(why, whylen, "the supervisor did not start");
	} else if ((mode = choose(want, mode, fallback)) == SV_MODE_ABOVE) {
		err = 1;	/* the supervisor, told nothing, exits */
	} else {
		err = hand_over(mode, up[0], down[1], tracer_pid, why,
				whylen);
	}
	close(up[0]);
	close(down[1]);
	return err;
}
