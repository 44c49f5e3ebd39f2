/*
 * sigchain.c - keep the engine's SIGSEGV handler first and the
 * program's disposition right behind it.
 *
 * After sigchain_install(), the kernel's SIGSEGV action is always ours;
 * what the program sets with sigaction() or signal() lives in app_act
 * and is what sigaction() reports back. app_act is guarded by a small
 * sequence lock: writers are the interposed sigaction() (with signals
 * blocked) and the handler itself (SA_RESETHAND), readers the handler.
 *
 * Delivery follows the kernel's rules for a signal it would have sent
 * to the program (kernel/signal.c):
 * - a handler runs with the program's sa_mask added, its own signal
 *   added unless SA_NODEFER, and is reset first under SA_RESETHAND;
 * - SIG_DFL dumps core: we restore SIG_DFL and return, so the faulting
 *   instruction runs again and the kernel kills the process itself;
 * - SIG_IGN does not stop a fault (force_sig_fault resets it to
 *   SIG_DFL), but a SIGSEGV sent with kill() is ignored.
 * SIGSEGV is never really blocked once we own it, so pending pages can
 * be resolved anywhere, the program's own handlers included. What the
 * program believes about it is kept per thread in view_blocked: set by
 * its sigprocmask/pthread_sigmask calls and while its SIGSEGV handler
 * runs, reported back by them, and honoured the kernel's way (a fault
 * with SIGSEGV blocked kills the process). A SIGSEGV sent (kill, raise,
 * sigqueue) while the program believes it blocked is held for the
 * thread, one instance as the kernel keeps for a standard signal, and
 * sent again to the thread, same siginfo, when the view unblocks it;
 * sigpending() shows it meanwhile.
 *
 * A SIGSEGV sent to the process (kill(), si_code SI_USER) is not the
 * thread's: the kernel hands it to any thread that does not block it,
 * and keeps it pending for the process while every thread does. The
 * kernel picks by the real masks, where SIGSEGV is never blocked, so
 * the thread it reaches may be one whose view blocks it. That thread
 * keeps it in one process-wide slot (one instance, as the kernel keeps
 * a standard signal) and sends a marker signal to every other thread of
 * the process (/proc/self/task); a thread whose view does not block it
 * takes the slot (the first wins) and delivers the original siginfo,
 * the others drop the marker. A slot nobody could take is taken by the
 * first thread whose view unblocks SIGSEGV. sigpending() on any thread
 * shows it meanwhile. sigqueue() is process-directed too, but its
 * SI_QUEUE is also what pthread_sigqueue() sends to one thread: such a
 * signal is held for the thread that received it.
 */
#include "config.h"
#include "sigchain.h"

#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "arch.h"
#include "backtrace.h"
#include "log.h"
#include "options.h"
#include "stats.h"
#include "sys.h"

lof_sigaction_fn real_sigaction;

/* The program's SIGSEGV action; see the head comment. */
static struct sigaction app_act;
static unsigned int app_seq;
static unsigned int app_waiters;	/* asleep on app_seq */
static int installed;

/* The program's view: is SIGSEGV blocked on this thread? */
static LOF_TLS int view_blocked;

/* A sent SIGSEGV held while the view blocks it. */
static LOF_TLS siginfo_t held_info;
static LOF_TLS int held;

/*
 * A SIGSEGV sent to the process, kept for it while the threads it
 * reached block it; see the head comment. proc_state: PROC_EMPTY,
 * PROC_WRITING, PROC_FULL, PROC_TAKING.
 */
enum { PROC_EMPTY, PROC_WRITING, PROC_FULL, PROC_TAKING };
static siginfo_t proc_info;
static int proc_state;

/* Context: any (async-signal-safe). */
static pid_t gettid_(void)
{
	return (pid_t)arch_syscall6(SYS_gettid, 0, 0, 0, 0, 0, 0);
}

/* Context: any (async-signal-safe). */
static void send_self(siginfo_t *info)
{
	arch_syscall6(SYS_rt_tgsigqueueinfo, sys_getpid(), gettid_(),
		      SIGSEGV, (long)info, 0, 0);
}

/* Is si the marker of the process-wide slot (see forward_proc)? */
static int is_marker(const siginfo_t *si)
{
	return si->si_code == SI_QUEUE && si->si_pid == sys_getpid() &&
	       si->si_value.sival_ptr == (void *)&proc_state;
}

/*
 * Take the process-wide SIGSEGV, if there is one, into *out.
 * Context: any (async-signal-safe).
 */
static int take_proc(siginfo_t *out)
{
	int s = PROC_FULL;

	if (!__atomic_compare_exchange_n(&proc_state, &s, PROC_TAKING, 0,
					 __ATOMIC_ACQUIRE, __ATOMIC_RELAXED))
		return 0;
	*out = proc_info;
	__atomic_store_n(&proc_state, PROC_EMPTY, __ATOMIC_RELEASE);
	return 1;
}

struct lof_dirent64 {
	unsigned long long d_ino;
	long long d_off;
	unsigned short d_reclen;
	unsigned char d_type;
	char d_name[];
};

/*
 * Keep a process-directed SIGSEGV this thread blocks for the process,
 * and tell every other thread: one that does not block it takes it.
 * Context: the SIGSEGV handler (async-signal-safe).
 */
static void forward_proc(const siginfo_t *si)
{
	int s = PROC_EMPTY, fd;
	pid_t self = gettid_();
	char buf[1024];
	long n;

	if (!__atomic_compare_exchange_n(&proc_state, &s, PROC_WRITING, 0,
					 __ATOMIC_ACQUIRE, __ATOMIC_RELAXED))
		return;	/* one pending already: a standard signal is one */
	proc_info = *si;
	__atomic_store_n(&proc_state, PROC_FULL, __ATOMIC_RELEASE);

	fd = sys_open("/proc/self/task", O_RDONLY | O_DIRECTORY | O_CLOEXEC, 0);
	if (fd < 0)
		return;	/* the first thread to unblock it takes it */
	while ((n = arch_syscall6(SYS_getdents64, fd, (long)buf, sizeof(buf),
				  0, 0, 0)) > 0) {
		for (long at = 0; at < n;) {
			struct lof_dirent64 *d = (void *)(buf + at);
			long t = 0;
			siginfo_t m;

			at += d->d_reclen;
			for (const char *c = d->d_name; *c >= '0' && *c <= '9'; c++)
				t = t * 10 + (*c - '0');
			if (t <= 0 || t == self)
				continue;
			memset(&m, 0, sizeof(m));
			m.si_signo = SIGSEGV;
			m.si_code = SI_QUEUE;
			m.si_pid = sys_getpid();
			m.si_uid = (uid_t)arch_syscall6(SYS_getuid, 0, 0, 0, 0,
							0, 0);
			m.si_value.sival_ptr = (void *)&proc_state;
			arch_syscall6(SYS_rt_tgsigqueueinfo, sys_getpid(), t,
				      SIGSEGV, (long)&m, 0, 0);
		}
	}
	sys_close(fd);
}

/*
 * Send the held SIGSEGV again, to this thread: unblocked now, it is
 * delivered (to our handler, then the program's) before the system
 * call returns, as a pending signal is when a mask call unblocks it.
 * Context: any (async-signal-safe).
 */
static void release_held(void)
{
	siginfo_t info;

	if (view_blocked)
		return;
	if (held) {
		info = held_info;
		held = 0;
		send_self(&info);
	}
	/* The process's one: this thread may take it now. */
	if (__atomic_load_n(&proc_state, __ATOMIC_RELAXED) == PROC_FULL &&
	    take_proc(&info))
		send_self(&info);
}

void sigchain_init(void)
{
	if (real_sigaction)
		return;
	real_sigaction = (lof_sigaction_fn)dlsym(RTLD_NEXT, "sigaction");
	if (!real_sigaction)
		real_sigaction = (lof_sigaction_fn)dlsym(RTLD_DEFAULT,
							 "__sigaction");
}

int sigchain_installed(void)
{
	return __atomic_load_n(&installed, __ATOMIC_ACQUIRE);
}

/*
 * app_seq is odd (s) while another thread writes app_act: spin a
 * little, then sleep until it is done (issue 12 i: a SCHED_FIFO thread
 * spinning on the CPU of a preempted writer would never let it end).
 * No thread ever waits for itself: writers block every signal.
 * Context: any, including the SIGSEGV handler (async-signal-safe).
 */
static void app_wait(unsigned int s, unsigned int *spins)
{
	if (++*spins <= 64) {
		cpu_relax();
		return;
	}
	__atomic_fetch_add(&app_waiters, 1, __ATOMIC_SEQ_CST);
	sys_futex_wait(&app_seq, s, 1000000);
	__atomic_fetch_sub(&app_waiters, 1, __ATOMIC_SEQ_CST);
}

/*
 * Take the app_act sequence for writing (waiting for another writer).
 * Context: any, including the SIGSEGV handler (async-signal-safe).
 */
static void app_write_begin(void)
{
	unsigned int s, spins = 0;

	for (;;) {
		s = __atomic_load_n(&app_seq, __ATOMIC_RELAXED);
		if (s & 1)
			app_wait(s, &spins);
		else if (__atomic_compare_exchange_n(&app_seq, &s, s + 1, 0,
						     __ATOMIC_ACQUIRE,
						     __ATOMIC_RELAXED))
			return;
	}
}

static void app_write_end(void)
{
	__atomic_fetch_add(&app_seq, 1, __ATOMIC_SEQ_CST);
	if (__atomic_load_n(&app_waiters, __ATOMIC_SEQ_CST))
		sys_futex_wake(&app_seq);
}

static void app_read(struct sigaction *out)
{
	unsigned int s, spins = 0;

	do {
		while ((s = __atomic_load_n(&app_seq, __ATOMIC_ACQUIRE)) & 1)
			app_wait(s, &spins);
		memcpy(out, &app_act, sizeof(*out));
		__atomic_thread_fence(__ATOMIC_ACQUIRE);
	} while (__atomic_load_n(&app_seq, __ATOMIC_RELAXED) != s);
}

int sigchain_install(void (*handler)(int, siginfo_t *, void *))
{
	struct sigaction ours, cur;
	sigset_t saved, all;

	if (sigchain_installed())
		return 0;
	if (!real_sigaction)
		return -ENOSYS;
	memset(&ours, 0, sizeof(ours));
	ours.sa_sigaction = handler;
	ours.sa_flags = SA_SIGINFO | SA_ONSTACK | SA_NODEFER | SA_RESTART;
	/* No asynchronous handler may run inside ours (engine.c, grace). */
	sys_async_set(&ours.sa_mask);

	/* No signal handler of this thread may call sigaction meanwhile. */
	sigfillset(&all);
	sys_sigprocmask(SIG_BLOCK, &all, &saved);
	app_write_begin();
	if (!installed) {
		if (real_sigaction(SIGSEGV, NULL, &cur) == 0 &&
		    real_sigaction(SIGSEGV, &ours, NULL) == 0) {
			app_act = cur;
			__atomic_store_n(&installed, 1, __ATOMIC_RELEASE);
		}
	}
	app_write_end();
	/*
	 * A pending page touched while SIGSEGV is really blocked kills the
	 * process: this thread's block becomes the program's view only.
	 */
	if (sigismember(&saved, SIGSEGV) == 1 && sigchain_installed()) {
		sigdelset(&saved, SIGSEGV);
		view_blocked = 1;
	}
	sys_sigprocmask(SIG_SETMASK, &saved, NULL);
	return sigchain_installed() ? 0 : -EINVAL;
}

int sigchain_sigaction(int sig, const struct sigaction *act,
		       struct sigaction *old)
{
	struct sigaction prev, next;
	sigset_t saved, all;
	int r = 1;

	if (sig != SIGSEGV)
		return 0;
	/* Read the program's memory before SIGSEGV is blocked below. */
	if (act)
		next = *act;
	sigfillset(&all);
	sys_sigprocmask(SIG_BLOCK, &all, &saved);
	app_write_begin();
	if (!installed) {
		/*
		 * Not ours yet: libc's sigaction does the work, inside the
		 * section, so it cannot interleave with our install.
		 */
		if (real_sigaction(sig, act ? &next : NULL, &prev) != 0)
			r = -errno;
	} else {
		prev = app_act;
		if (act)
			app_act = next;
	}
	app_write_end();
	sys_sigprocmask(SIG_SETMASK, &saved, NULL);
	if (old && r == 1)
		*old = prev;
	return r;
}

/*
 * Die of sig by the default action.
 * Context: the SIGSEGV handler (async-signal-safe).
 */
static void default_action(int sig, int sent)
{
	struct sigaction dfl;
	sigset_t unblock;

	/* LOCKONFAULT_STATS: the process dies here; say so first. */
	stats_report_fatal(sig);
	if (!sent && lof_config.backtrace)
		backtrace_print();
	memset(&dfl, 0, sizeof(dfl));
	dfl.sa_handler = SIG_DFL;
	sigemptyset(&dfl.sa_mask);
	real_sigaction(sig, &dfl, NULL);
	if (!sent)
		return;	/* the instruction faults again, unhandled */
	sigemptyset(&unblock);
	sigaddset(&unblock, sig);
	sys_sigprocmask(SIG_UNBLOCK, &unblock, NULL);
	sys_tgkill_self(sig);
}

void sigchain_deliver(int sig, siginfo_t *si, void *uc)
{
	struct sigaction a;
	siginfo_t taken;
	sigset_t mask;
	int sent = si->si_code <= 0, prev;

	/* A thread that had to keep the process's SIGSEGV calls for us. */
	if (sent && is_marker(si)) {
		if (view_blocked || !take_proc(&taken))
			return;
		si = &taken;
	} else if (sent && si->si_code == SI_USER && view_blocked) {
		forward_proc(si);
		return;
	}
	app_read(&a);
	/* force_sig_fault: a blocked fault kills. */
	if (!sent && view_blocked) {
		default_action(sig, sent);
		return;
	}
	/* A sent one waits, as a blocked signal does. */
	if (sent && view_blocked) {
		if (!held) {
			held_info = *si;
			held = 1;
		}
		return;
	}
	if (!(a.sa_flags & SA_SIGINFO) && a.sa_handler == SIG_IGN) {
		if (sent)
			return;
		a.sa_handler = SIG_DFL;
	}
	if (!(a.sa_flags & SA_SIGINFO) && a.sa_handler == SIG_DFL) {
		default_action(sig, sent);
		return;
	}
	if (a.sa_flags & SA_RESETHAND) {
		app_write_begin();
		memset(&app_act, 0, sizeof(app_act));
		app_act.sa_handler = SIG_DFL;
		app_write_end();
	}

	/* The mask the kernel would have set for the program's handler. */
	mask = ((ucontext_t *)uc)->uc_sigmask;
	sigorset(&mask, &mask, &a.sa_mask);
	prev = view_blocked;
	if (!(a.sa_flags & SA_NODEFER) || sigismember(&a.sa_mask, SIGSEGV))
		view_blocked = 1;
	sigdelset(&mask, SIGSEGV);
	sys_sigprocmask(SIG_SETMASK, &mask, NULL);

	if (a.sa_flags & SA_SIGINFO)
		a.sa_sigaction(sig, si, uc);
	else
		a.sa_handler(sig);
	/* A handler that jumps out instead ends in sigchain_longjmp(). */
	view_blocked = prev;
	release_held();
}

const sigset_t *sigchain_wait_mask(const sigset_t *mask, sigset_t *copy)
{
	if (!mask || !sigchain_installed() || sigismember(mask, SIGSEGV) != 1)
		return mask;
	*copy = *mask;
	sigdelset(copy, SIGSEGV);
	return copy;
}

void sigchain_atfork_child(void)
{
	/* A writer that was on another thread does not exist here. */
	__atomic_store_n(&app_seq, app_seq & ~1u, __ATOMIC_RELAXED);
	/* A child starts with no signal pending (fork(2)). */
	held = 0;
	__atomic_store_n(&proc_state, PROC_EMPTY, __ATOMIC_RELAXED);
}

int sigchain_view(void)
{
	return view_blocked;
}

void sigchain_set_view(int blocked)
{
	view_blocked = blocked;
	release_held();
}

int sigchain_held(void)
{
	return held ||
	       __atomic_load_n(&proc_state, __ATOMIC_RELAXED) != PROC_EMPTY;
}

void sigchain_longjmp(int mask_saved, const sigset_t *saved)
{
	if (mask_saved) {
		view_blocked = sigismember(saved, SIGSEGV) == 1;
		release_held();
	}
}
