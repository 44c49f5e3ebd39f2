/*
 * t-leftovers.c - the leftovers of issue 12 (item o), each against the
 * kernel's own behaviour:
 *
 *  - paths: every call that hands the kernel a path (and the small
 *    structures and buffers that go with it) works when its strings sit
 *    in pending pages, as it does natively. The kernel copies them with
 *    strncpy_from_user/copy_from_user, which cannot fault a pending page
 *    in: without the library opening them first each call fails with
 *    EFAULT. The strings are written into a memfd that is then mapped
 *    afresh and locked before anything touches it (probe_map_fresh), so
 *    they are pending under every engine. Calls that root could use to
 *    change the machine (chroot, mount) are made so that they cannot:
 *    chroot("/"), and mount on a target that does not exist; their
 *    result is compared with the same call on ordinary strings.
 *
 *  - signals: a SIGSEGV sent to the process with kill() while the
 *    thread the kernel picks blocks it must reach another thread that
 *    does not block it, as the kernel delivers a process-directed
 *    signal; with every thread blocking it, it stays pending for the
 *    process (sigpending() on any thread shows it) until some thread
 *    unblocks it, and is delivered there, once.
 *
 *  - neighbours: a range made pending next to pages the program itself
 *    made PROT_NONE (the kernel merges the two PROT_NONE mappings once
 *    both are locked alike): through locks, touches and releases, the
 *    program's pages stay PROT_NONE and ours open as the program asked
 *    (and the other way round: the program's PROT_NONE inside a
 *    pending range).
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/fanotify.h>
#include <sys/inotify.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <sys/xattr.h>
#include <time.h>
#include <unistd.h>
#include <utime.h>

#include "probe.h"
#include "tap.h"

#define SIZE (1UL << 20)
#define DIR_ "t-leftovers.dir"

static char *region, *region2;
static size_t pg;
static int fd;

/* ------------------------------------------------------------------ */
/* Strings in pending pages                                            */
/* ------------------------------------------------------------------ */

/*
 * Slots one page apart, so that each string has a page of its own:
 * those below 8 in region, the rest in region2, a separate mapping of
 * the same file (and a separate lock call) beyond a hole, so that a
 * fault libc takes on a structure there opens nothing in region.
 */
static char *slot(int i)
{
	return (i < 8 ? region : region2) + (size_t)i * 2 * pg + 16;
}

static void put_bytes(int i, const void *s, size_t n)
{
	if (pwrite(fd, s, n, (off_t)((size_t)i * 2 * pg + 16)) != (ssize_t)n)
		bail("pwrite");
}

/* Write the string of each slot (NULL: leave it), then make all pending. */
static void stage(const char *s0, const char *s1, const char *s2)
{
	const char *s[3] = { s0, s1, s2 };

	for (int i = 0; i < 3; i++)
		if (s[i])
			put_bytes(i, s[i], strlen(s[i]) + 1);
	if (probe_map_fresh(region, SIZE, fd) == MAP_FAILED ||
	    probe_map_fresh(region2, SIZE, fd) == MAP_FAILED)
		bail("mmap");
	if (mlock(region, SIZE) || mlock(region2, SIZE))
		bail("mlock");
}

static int pending(const void *p)
{
	return probe_pending(p, "rw-p");
}

#define P0 slot(0)
#define P1 slot(1)
#define P2 slot(2)
#define B8 slot(8)
#define B9 slot(9)

/* The result of a call: its value and errno, for comparing two calls. */
struct res {
	long r;
	int e;
};

#define RES(call) ({ long r_ = (long)(call); (struct res){ r_, r_ < 0 ? errno : 0 }; })

static int same(struct res a, struct res b)
{
	return a.r == b.r && a.e == b.e;
}

static void test_paths(void)
{
	const char *f = DIR_ "/f", *g = DIR_ "/g", *h = DIR_ "/h";
	uid_t uid = getuid();
	gid_t gid = getgid();
	struct utimbuf ub = { 1000, 2000 };
	struct timeval tv[2] = { { 3000, 0 }, { 4000, 0 } };
	struct timespec ts[2] = { { 5000, 0 }, { 6000, 0 } };
	struct stat st;
	struct stat64 st64;
	struct statfs sfs, sfs_ref;
	struct statvfs svfs;
	struct res a, b;
	char cwd[PATH_MAX], v[16];
	void *dl;
	int o, r, e;

	if (mkdir(DIR_, 0700) && errno != EEXIST)
		bail("mkdir");
	o = open(f, O_CREAT | O_WRONLY | O_TRUNC, 0600);
	if (o < 0)
		bail("create");
	close(o);

	stage(f, NULL, NULL);
	r = pending(P0) ? chown(P0, uid, gid) : -2;
	ok(r == 0, "chown() of a pending path (%d, errno %d)", r, errno);
	stage(f, NULL, NULL);
	r = pending(P0) ? lchown(P0, uid, gid) : -2;
	ok(r == 0, "lchown() of a pending path (%d, errno %d)", r, errno);
	stage(f, NULL, NULL);
	r = pending(P0) ? fchownat(AT_FDCWD, P0, uid, gid, 0) : -2;
	ok(r == 0, "fchownat() of a pending path (%d, errno %d)", r, errno);
	stage(f, NULL, NULL);
	r = pending(P0) ? fchmodat(AT_FDCWD, P0, 0640, 0) : -2;
	ok(r == 0 && stat(f, &st) == 0 && (st.st_mode & 0777) == 0640,
	   "fchmodat() of a pending path (%d, errno %d)", r, errno);
	stage(f, NULL, NULL);
	r = pending(P0) ? euidaccess(P0, R_OK) : -2;
	ok(r == 0, "euidaccess() of a pending path (%d, errno %d)", r, errno);

	/* Times: the path and the times, both pending. */
	put_bytes(8, &ub, sizeof(ub));
	stage(f, NULL, NULL);
	r = pending(P0) && pending(B8) ? utime(P0, (void *)B8) : -2;
	ok(r == 0 && stat(f, &st) == 0 && st.st_mtime == 2000,
	   "utime() with its path and times pending (%d, errno %d)", r, errno);
	put_bytes(8, tv, sizeof(tv));
	stage(f, NULL, NULL);
	r = pending(P0) && pending(B8) ? utimes(P0, (void *)B8) : -2;
	ok(r == 0 && stat(f, &st) == 0 && st.st_mtime == 4000,
	   "utimes() with its path and times pending (%d, errno %d)", r, errno);
	stage(f, NULL, NULL);
	r = pending(P0) && pending(B8) ? lutimes(P0, (void *)B8) : -2;
	ok(r == 0 && stat(f, &st) == 0 && st.st_mtime == 4000,
	   "lutimes() with its path and times pending (%d, errno %d)", r, errno);
	stage(f, NULL, NULL);
	r = pending(P0) && pending(B8) ? futimesat(AT_FDCWD, P0, (void *)B8) : -2;
	ok(r == 0, "futimesat() with its path and times pending (%d, errno %d)",
	   r, errno);
	put_bytes(8, ts, sizeof(ts));
	stage(f, NULL, NULL);
	r = pending(P0) && pending(B8) ?
		    utimensat(AT_FDCWD, P0, (void *)B8, 0) : -2;
	ok(r == 0 && stat(f, &st) == 0 && st.st_mtime == 6000,
	   "utimensat() with its path and times pending (%d, errno %d)", r,
	   errno);

	/* Special files and links. */
	stage(g, NULL, NULL);
	r = pending(P0) ? mknod(P0, S_IFIFO | 0600, 0) : -2;
	ok(r == 0 && stat(g, &st) == 0 && S_ISFIFO(st.st_mode) && !unlink(g),
	   "mknod() of a pending path (%d, errno %d)", r, errno);
	stage(g, NULL, NULL);
	r = pending(P0) ? mknodat(AT_FDCWD, P0, S_IFIFO | 0600, 0) : -2;
	ok(r == 0 && !unlink(g), "mknodat() of a pending path (%d, errno %d)",
	   r, errno);
	stage(g, NULL, NULL);
	r = pending(P0) ? mkfifo(P0, 0600) : -2;
	ok(r == 0 && !unlink(g), "mkfifo() of a pending path (%d, errno %d)",
	   r, errno);
	stage(g, NULL, NULL);
	r = pending(P0) ? mkfifoat(AT_FDCWD, P0, 0600) : -2;
	ok(r == 0 && !unlink(g), "mkfifoat() of a pending path (%d, errno %d)",
	   r, errno);
	stage(f, g, NULL);
	r = pending(P0) && pending(P1) ?
		    linkat(AT_FDCWD, P0, AT_FDCWD, P1, 0) : -2;
	ok(r == 0 && !unlink(g), "linkat() of two pending paths (%d, errno %d)",
	   r, errno);
	stage("f", g, NULL);
	r = pending(P0) && pending(P1) ? symlinkat(P0, AT_FDCWD, P1) : -2;
	ok(r == 0 && stat(g, &st) == 0 && !unlink(g),
	   "symlinkat() of two pending paths (%d, errno %d)", r, errno);
	stage(f, h, NULL);
	r = pending(P0) && pending(P1) ?
		    renameat2(AT_FDCWD, P0, AT_FDCWD, P1, RENAME_NOREPLACE) : -2;
	ok(r == 0 && !rename(h, f),
	   "renameat2() of two pending paths (%d, errno %d)", r, errno);

	/* The stat family's large-file names, and file-system statistics. */
	stage(f, NULL, NULL);
	r = pending(P0) ? stat64(P0, &st64) : -2;
	ok(r == 0 && S_ISREG(st64.st_mode), "stat64() of a pending path (%d, errno %d)",
	   r, errno);
	stage(f, NULL, NULL);
	r = pending(P0) ? fstatat64(AT_FDCWD, P0, &st64, AT_SYMLINK_NOFOLLOW) : -2;
	ok(r == 0 && S_ISREG(st64.st_mode),
	   "fstatat64() of a pending path (%d, errno %d)", r, errno);
	if (statfs(f, &sfs_ref))
		bail("statfs");
	stage(f, NULL, NULL);
	r = pending(P0) && pending(B8) ? statfs(P0, (void *)B8) : -2;
	memcpy(&sfs, B8, sizeof(sfs));
	ok(r == 0 && sfs.f_type == sfs_ref.f_type && sfs.f_bsize == sfs_ref.f_bsize,
	   "statfs() with its path and result pending (%d, errno %d)", r, errno);
	o = open(f, O_RDONLY);
	stage(NULL, NULL, NULL);
	r = pending(B8) ? fstatfs(o, (void *)B8) : -2;
	memcpy(&sfs, B8, sizeof(sfs));
	ok(r == 0 && sfs.f_type == sfs_ref.f_type,
	   "fstatfs() with its result pending (%d, errno %d)", r, errno);
	close(o);
	stage(f, NULL, NULL);
	r = pending(P0) ? statvfs(P0, &svfs) : -2;
	ok(r == 0 && svfs.f_bsize == (unsigned long)sfs_ref.f_bsize,
	   "statvfs() of a pending path (%d, errno %d)", r, errno);
	/* On failure pathconf answers a default: compare with the real one. */
	e = (int)pathconf(f, _PC_LINK_MAX);
	stage(f, NULL, NULL);
	r = pending(P0) ? (int)pathconf(P0, _PC_LINK_MAX) : -2;
	ok(r == e, "pathconf() of a pending path: %d, as natively %d", r, e);
	if (!getcwd(cwd, sizeof(cwd)))
		bail("getcwd");
	stage(NULL, NULL, NULL);
	ok(pending(B8) && getcwd(B8, pg) == B8 && !strcmp(B8, cwd),
	   "getcwd() into a pending buffer (errno %d)", errno);

	/* Extended attributes: path, name, value and list all pending. */
	put_bytes(8, "value", 5);
	stage(f, "user.lof", NULL);
	a = RES(pending(P0) && pending(P1) && pending(B8) ?
			setxattr(P0, P1, B8, 5, 0) : -2);
	if (a.r && (a.e == ENOTSUP || a.e == EOPNOTSUPP)) {
		skip(3, "no user extended attributes on this file system");
	} else {
		ok(a.r == 0, "setxattr() with path, name and value pending (errno %d)",
		   a.e);
		stage(f, "user.lof", NULL);
		r = pending(B9) ? (int)getxattr(P0, P1, B9, 16) : -2;
		memcpy(v, B9, 5);
		ok(r == 5 && !memcmp(v, "value", 5),
		   "getxattr() into a pending buffer (%d, errno %d)", r, errno);
		stage(f, "user.lof", NULL);
		r = pending(B9) ? (int)listxattr(P0, B9, 64) : -2;
		ok(r > 0 && memmem(B9, (size_t)r, "user.lof", 9) &&
		   (stage(f, "user.lof", NULL), removexattr(P0, P1) == 0),
		   "listxattr() into a pending buffer, removexattr() (%d, errno %d)",
		   r, errno);
	}

	/* Calls of the administrator, made so that they change nothing. */
	a = RES(chroot("/"));
	stage("/", NULL, NULL);
	b = RES(pending(P0) ? chroot(P0) : -2);
	ok(same(a, b), "chroot(\"/\") pending: %ld errno %d, as natively %ld errno %d",
	   b.r, b.e, a.r, a.e);
	if (access("/nonexistent-t-leftovers", F_OK) == 0)
		bail("/nonexistent-t-leftovers exists");
	a = RES(mount("none", "/nonexistent-t-leftovers/x", "tmpfs", 0, NULL));
	stage("none", "/nonexistent-t-leftovers/x", "tmpfs");
	b = RES(pending(P0) && pending(P1) && pending(P2) ?
			mount(P0, P1, P2, 0, NULL) : -2);
	ok(same(a, b) && a.e != EFAULT,
	   "mount() of pending strings: %ld errno %d, as natively %ld errno %d",
	   b.r, b.e, a.r, a.e);
	a = RES(umount2("/nonexistent-t-leftovers/x", 0));
	stage("/nonexistent-t-leftovers/x", NULL, NULL);
	b = RES(pending(P0) ? umount2(P0, 0) : -2);
	ok(same(a, b) && a.e != EFAULT,
	   "umount2() of a pending path: %ld errno %d, as natively %ld errno %d",
	   b.r, b.e, a.r, a.e);

	/* Watches and handles. */
	o = inotify_init1(IN_CLOEXEC);
	stage(f, NULL, NULL);
	r = pending(P0) ? inotify_add_watch(o, P0, IN_ALL_EVENTS) : -2;
	ok(r >= 0, "inotify_add_watch() of a pending path (%d, errno %d)", r,
	   errno);
	close(o);
	o = fanotify_init(FAN_CLASS_NOTIF | FAN_CLOEXEC, O_RDONLY);
	a = RES(o >= 0 ? fanotify_mark(o, FAN_MARK_ADD, FAN_OPEN, AT_FDCWD, f) : -1);
	if (o >= 0)
		fanotify_mark(o, FAN_MARK_FLUSH, 0, AT_FDCWD, NULL);
	stage(f, NULL, NULL);
	b = RES(o >= 0 && pending(P0) ?
			fanotify_mark(o, FAN_MARK_ADD, FAN_OPEN, AT_FDCWD, P0) : -1);
	ok(o < 0 || same(a, b),
	   "fanotify_mark() of a pending path: %ld errno %d, as natively %ld errno %d",
	   b.r, b.e, a.r, a.e);
	if (o >= 0)
		close(o);
	{
		struct {
			struct file_handle h;
			unsigned char b[MAX_HANDLE_SZ];
		} fh;
		int mid;

		fh.h.handle_bytes = MAX_HANDLE_SZ;
		a = RES(name_to_handle_at(AT_FDCWD, f, &fh.h, &mid, 0));
		fh.h.handle_bytes = MAX_HANDLE_SZ;
		stage(f, NULL, NULL);
		b = RES(pending(P0) ? name_to_handle_at(AT_FDCWD, P0, &fh.h,
							&mid, 0) : -2);
		ok(same(a, b), "name_to_handle_at() of a pending path: %ld errno %d, as natively %ld errno %d",
		   b.r, b.e, a.r, a.e);
	}

	/* dlopen: the name is read in user space first. */
	stage("libm.so.6", NULL, NULL);
	dl = pending(P0) ? dlopen(P0, RTLD_NOW) : NULL;
	ok(dl != NULL, "dlopen() of a pending name (%s)", dl ? "" : dlerror());
	if (dl)
		dlclose(dl);

	/* execveat: path, argv array and strings pending. */
	{
		char *argv[4] = { P1, P2, slot(4), NULL };
		pid_t pid;
		int status = -1;

		put_bytes(3, argv, sizeof(argv));
		put_bytes(4, "exit 7", 7);
		stage("/bin/sh", "sh", "-c");
		if (!pending(P0) || !pending(slot(3)) || !pending(slot(4)))
			bail("execveat setup");
		/* vfork: a forked child would have no pending page left. */
		pid = vfork();
		if (pid == 0) {
			extern char **environ;

			execveat(AT_FDCWD, P0, (char **)slot(3), environ, 0);
			_exit(100 + errno);
		}
		waitpid(pid, &status, 0);
		ok(WIFEXITED(status) && WEXITSTATUS(status) == 7,
		   "execveat() of a pending path, argv and strings (status 0x%x)",
		   status);
	}
	e = unlink(f) || rmdir(DIR_);
	if (e)
		diag("cleanup: errno %d", errno);
}

/* ------------------------------------------------------------------ */
/* A process-directed SIGSEGV                                          */
/* ------------------------------------------------------------------ */

static volatile int got, got_code, got_pid;
static volatile pid_t got_tid;
static volatile int worker_block, worker_pending, worker_unblock, worker_stop;

static pid_t tid(void)
{
	return (pid_t)syscall(SYS_gettid);
}

static void on_segv(int sig, siginfo_t *si, void *uc)
{
	(void)sig;
	(void)uc;
	got_tid = tid();
	got_code = si->si_code;
	got_pid = si->si_pid;
	__atomic_fetch_add(&got, 1, __ATOMIC_SEQ_CST);
}

static void nap(void)
{
	struct timespec ts = { 0, 1000000 };

	nanosleep(&ts, NULL);
}

/* Wait up to 3 s for cond to hold. */
#define WAIT_FOR(cond)                                                    \
	do {                                                              \
		for (int i_ = 0; i_ < 3000 && !(cond); i_++)              \
			nap();                                            \
	} while (0)

static volatile pid_t worker_tid;

static void *worker(void *arg)
{
	sigset_t one, pend;

	(void)arg;
	sigemptyset(&one);
	sigaddset(&one, SIGSEGV);
	worker_tid = tid();
	if (worker_block)
		pthread_sigmask(SIG_BLOCK, &one, NULL);
	__atomic_store_n(&worker_block, 2, __ATOMIC_SEQ_CST);
	while (!worker_stop) {
		if (worker_unblock == 1) {
			sigpending(&pend);
			worker_pending = sigismember(&pend, SIGSEGV) == 1;
			worker_unblock = 2;
			pthread_sigmask(SIG_UNBLOCK, &one, NULL);
		}
		nap();
	}
	return NULL;
}

static void test_kill(void)
{
	struct sigaction sa;
	sigset_t one;
	pthread_t t;
	int n;

	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = on_segv;
	sa.sa_flags = SA_SIGINFO;
	sigemptyset(&sa.sa_mask);
	if (sigaction(SIGSEGV, &sa, NULL))
		bail("sigaction");
	sigemptyset(&one);
	sigaddset(&one, SIGSEGV);

	/* The thread the kernel picks blocks it; another does not. */
	worker_block = 0;
	worker_stop = 0;
	got = 0;
	if (pthread_create(&t, NULL, worker, NULL))
		bail("pthread_create");
	WAIT_FOR(worker_block == 2);
	pthread_sigmask(SIG_BLOCK, &one, NULL);
	kill(getpid(), SIGSEGV);
	WAIT_FOR(got);
	n = got;
	ok(n == 1 && got_tid == worker_tid,
	   "kill(SIGSEGV) with this thread blocking it reaches the thread that does not (%d deliveries, on %s)",
	   n, !n ? "none" : got_tid == worker_tid ? "the other thread" :
	   "this thread");
	ok(!n || (got_code == SI_USER && got_pid == getpid()),
	   "with the sender's siginfo (si_code %d, si_pid %d)", got_code,
	   got_pid);
	pthread_sigmask(SIG_UNBLOCK, &one, NULL);
	for (int i = 0; i < 50; i++)
		nap();
	ok(got == n, "unblocking it here delivers nothing more (%d)", got);
	worker_stop = 1;
	pthread_join(t, NULL);

	/* Every thread blocks it: pending for the process, then one takes it. */
	worker_block = 1;
	worker_stop = 0;
	worker_unblock = 0;
	worker_pending = 0;
	got = 0;
	pthread_sigmask(SIG_BLOCK, &one, NULL);
	if (pthread_create(&t, NULL, worker, NULL))
		bail("pthread_create");
	WAIT_FOR(worker_block == 2);
	kill(getpid(), SIGSEGV);
	for (int i = 0; i < 50; i++)
		nap();
	ok(got == 0, "with every thread blocking it, kill(SIGSEGV) waits (%d)",
	   got);
	worker_unblock = 1;
	WAIT_FOR(got);
	ok(worker_pending,
	   "sigpending() on another thread shows the process's SIGSEGV");
	ok(got == 1 && got_tid == worker_tid,
	   "the thread that unblocks it first takes it (%d deliveries, on %s)",
	   got, !got ? "none" : got_tid == worker_tid ? "that thread" :
	   "another thread");
	pthread_sigmask(SIG_UNBLOCK, &one, NULL);
	for (int i = 0; i < 50; i++)
		nap();
	ok(got == 1, "and only once (%d)", got);
	worker_stop = 1;
	pthread_join(t, NULL);
	sa.sa_handler = SIG_DFL;
	sa.sa_flags = 0;
	sigaction(SIGSEGV, &sa, NULL);
}

/* ------------------------------------------------------------------ */
/* Our PROT_NONE next to the program's own                            */
/* ------------------------------------------------------------------ */

#define NP 8

/*
 * Every page of [q, q + NP pages) whose protection the program set to
 * PROT_NONE (own[i]) is ---p in maps, and every other one is either
 * the program's protection or ---p (pending); at the end (strict) every
 * page is exactly the program's. Return: the first page that is not,
 * or -1.
 */
static int check_pages(char *q, const int *own, int strict)
{
	for (int i = 0; i < NP; i++) {
		char perms[5];

		if (probe_perms(q + (size_t)i * pg, perms))
			return i;
		if (own[i] && strcmp(perms, "---p"))
			return i;
		if (!own[i] && strcmp(perms, "rw-p") &&
		    (strict || strcmp(perms, "---p")))
			return i;
	}
	return -1;
}

static void test_neighbours(void)
{
	char *q = mmap(NULL, NP * pg, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	int own[NP] = { 0 }, bad, sum = 0;
	uintptr_t s, e;

	if (q == MAP_FAILED)
		bail("mmap");
	/* The program's guards, pages 0 and 7, around a locked range. */
	ok(mlock(q + pg, 6 * pg) == 0, "mlock of pages 1-6");
	ok(mprotect(q, pg, PROT_NONE) == 0 &&
	   mprotect(q + 7 * pg, pg, PROT_NONE) == 0,
	   "the program makes pages 0 and 7 PROT_NONE itself");
	own[0] = own[7] = 1;
	bad = check_pages(q, own, 0);
	ok(bad < 0, "guards ---p, the rest open or pending (page %d)", bad);
	/*
	 * Locking the guards too. The kernel locks the whole range, then
	 * fails to populate the PROT_NONE pages: ENOMEM, with the lock
	 * kept. Under the emulation our pending pages and the guards are
	 * then alike (PROT_NONE, VM_LOCKED): one kernel mapping.
	 */
	errno = 0;
	ok(mlock(q, NP * pg) == -1 && errno == ENOMEM,
	   "mlock of pages 0-7, guards included: ENOMEM, as the kernel's (errno %d)",
	   errno);
	if (probe_vma(q, &s, &e) == 0)
		diag("the mapping at page 0 spans %lu pages",
		     (unsigned long)((e - s) / pg));
	ok(probe_vmflag(q, "lo") == 1 && probe_vmflag(q + 3 * pg, "lo") == 1,
	   "the guards and the range are locked all the same");
	bad = check_pages(q, own, 0);
	ok(bad < 0, "after the lock: guards ---p (page %d)", bad);
	q[3 * pg] = 3;
	q[6 * pg] = 6;
	bad = check_pages(q, own, 0);
	ok(bad < 0, "after touching pages 3 and 6: guards still ---p (page %d)",
	   bad);
	ok(munlock(q, pg) == 0 && munlock(q + 7 * pg, pg) == 0,
	   "munlock of the guards alone");
	bad = check_pages(q, own, 0);
	ok(bad < 0, "guards still ---p, pending pages still pending (page %d)",
	   bad);
	for (int i = 1; i < 7; i++)
		sum += q[(size_t)i * pg];
	ok(sum == 9, "pages 1-6 read back what was written (%d)", sum);
	ok(munlock(q + pg, 6 * pg) == 0, "munlock of pages 1-6");
	bad = check_pages(q, own, 1);
	ok(bad < 0, "after every unlock, each page has the program's protection (page %d)",
	   bad);
	/* The program opens its guards: nothing of ours is left there. */
	ok(mprotect(q, pg, PROT_READ | PROT_WRITE) == 0 &&
	   mprotect(q + 7 * pg, pg, PROT_READ | PROT_WRITE) == 0,
	   "the program opens its guards");
	q[0] = 1;
	q[7 * pg] = 1;
	own[0] = own[7] = 0;
	bad = check_pages(q, own, 1);
	ok(bad < 0, "and writes them (page %d)", bad);

	/*
	 * The other way round: the program makes part of a pending range
	 * PROT_NONE, next to pending pages; then opens one page of it
	 * read-only and reads it, and releases everything.
	 */
	ok(mlock(q, NP * pg) == 0, "mlock of pages 0-7 again");
	ok(mprotect(q + 3 * pg, 2 * pg, PROT_NONE) == 0,
	   "the program makes pending pages 3-4 PROT_NONE");
	own[3] = own[4] = 1;
	bad = check_pages(q, own, 0);
	ok(bad < 0, "pages 3-4 ---p (page %d)", bad);
	q[2 * pg] = 2;
	q[5 * pg] = 5;
	bad = check_pages(q, own, 0);
	ok(bad < 0, "after touching their neighbours 2 and 5: 3-4 still ---p (page %d)",
	   bad);
	ok(munlockall() == 0, "munlockall");
	bad = check_pages(q, own, 1);
	ok(bad < 0, "every page has the program's protection (page %d)", bad);
	ok(q[2 * pg] == 2 && q[5 * pg] == 5, "2 and 5 hold what was written");
	munmap(q, NP * pg);
}

/*
 * Under LOCKONFAULT_CHARGE=touched (run in a child made for it, see
 * main): memory the program made PROT_NONE itself, 1 MiB beside a
 * pending 1 MiB (the kernel merges the two: in this mode neither is
 * locked) and 2 MiB alone, then mlockall(MCL_CURRENT | MCL_ONFAULT).
 * When the program opens them and writes a page, that page is locked,
 * as the kernel's MCL_ONFAULT locks it. Return: a bit per page found
 * unlocked.
 */
/* Locked as the kernel counts it: present, in a VM_LOCKED mapping. */
static int page_locked(const void *p)
{
	return probe_present(p) == 1 && probe_vmflag(p, "lo") == 1;
}

static int touched_child(void)
{
	/* Above LOCKONFAULT_MIN_SIZE: smaller ones are locked as present. */
	size_t big = 2UL << 20;
	char *q = mmap(NULL, big, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	char *g = mmap(NULL, big, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS,
		       -1, 0);
	int bad = 0;

	if (q == MAP_FAILED || g == MAP_FAILED)
		return 64;
	if (mlock(q + big / 2, big / 2) ||
	    mprotect(q, big / 2, PROT_NONE))
		return 65;
	if (mlockall(MCL_CURRENT | MCL_ONFAULT))
		return 66;
	if (mprotect(q, big / 2, PROT_READ | PROT_WRITE) ||
	    mprotect(g, big, PROT_READ | PROT_WRITE))
		return 67;
	q[big / 2 - pg] = 1;
	q[big / 2 + 3 * pg] = 3;
	g[pg] = 1;
	if (!page_locked(q + big / 2 - pg))
		bad |= 1;
	if (!page_locked(q + big / 2 + 3 * pg))
		bad |= 2;
	if (!page_locked(g + pg))
		bad |= 4;
	munlockall();
	return bad;
}

static void test_touched(const char *self)
{
	int status = -1;
	pid_t pid = fork();

	if (pid == 0) {
		char *args[] = { (char *)self, "touched-child", NULL };

		setenv("LOCKONFAULT_CHARGE", "touched", 1);
		execv("/proc/self/exe", args);
		_exit(127);
	}
	waitpid(pid, &status, 0);
	ok(WIFEXITED(status) && WEXITSTATUS(status) < 64,
	   "CHARGE=touched child ran (status 0x%x)", status);
	ok(WIFEXITED(status) && !(WEXITSTATUS(status) & 1),
	   "CHARGE=touched: the program's PROT_NONE page merged with a pending range, opened and written after mlockall, is locked");
	ok(WIFEXITED(status) && !(WEXITSTATUS(status) & 2),
	   "CHARGE=touched: the pending page beside it, written, is locked");
	ok(WIFEXITED(status) && !(WEXITSTATUS(status) & 4),
	   "CHARGE=touched: a PROT_NONE mapping of the program's alone, opened and written after mlockall, is locked");
}

int main(int argc, char **argv)
{
	pg = probe_page_size();
	if (argc > 1 && !strcmp(argv[1], "touched-child"))
		return touched_child();
	probe_require_preloaded();
	plan(0);
	fd = probe_memfd("t-leftovers", SIZE);
	if (fd < 0)
		bail("memfd");
	/* region, a hole of a page, region2. */
	region = mmap(NULL, 2 * SIZE + pg, PROT_NONE,
		      MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (region == MAP_FAILED || munmap(region + SIZE, pg))
		bail("mmap");
	region2 = region + SIZE + pg;
	test_paths();
	test_kill();
	test_neighbours();
	test_touched(argv[0]);
	return done();
}
