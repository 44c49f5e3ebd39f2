/*
 * t-fork.c - fork, vfork and posix_spawn with pending and locked memory
 * (SPEC 3.6).
 *
 * A 4 MiB private region gets a pattern in its first 256 pages, then
 * mlock(): those pages are present and locked, the rest pending, and
 * all of it PROT_NONE. A MAP_SHARED anonymous region is locked too.
 *  - fork: the child reads the pattern, writes every other page and
 *    reads it back, and holds no locks (VmLck and smaps_rollup Locked:
 *    0); its writes to the shared region reach the parent, its writes to
 *    the private one do not. The parent is unchanged: the same pages
 *    pending (PROT_NONE, not present; under the native engine rw-p,
 *    lo lf, not present), the same Locked: and VmLck.
 *  - vfork: the child, sharing the parent's memory, reads a pending
 *    page and execs /bin/true; posix_spawn runs /bin/true and /bin/echo
 *    with an argument that lives in a pending page (the library opens
 *    it first; the kernel's execve would fail with EFAULT).
 *  - no deadlock: 200 forks (every 20th a posix_spawn) while another
 *    thread loops mlock/munlock over a second region and touches it;
 *    every child touches pending memory and checks the pattern.
 * Each phase has an alarm(): a hang fails the test instead of blocking
 * make check.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <pthread.h>
#include <spawn.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include "probe.h"
#include "tap.h"

#define NPG	1024	/* pages in the region */
#define DATA	256	/* pages with the pattern, present before mlock */
#define FORKS	200

extern char **environ;

static size_t pg;
static char *reg, *shr, *churn;

static uint64_t pattern(size_t page)
{
	return probe_mix(page, 0x666f726b);
}

static volatile uint64_t *word(char *base, size_t page)
{
	return (volatile uint64_t *)(base + page * pg + 64);
}

/* Pattern pages that read wrong, in [0, DATA). */
static int bad_pattern(char *base)
{
	int bad = 0;

	for (size_t i = 0; i < DATA; i++)
		bad += *word(base, i) != pattern(i);
	return bad;
}

static char *map(int flags, size_t npages)
{
	char *p = mmap(NULL, npages * pg, PROT_READ | PROT_WRITE,
		       flags | MAP_ANONYMOUS, -1, 0);

	if (p == MAP_FAILED)
		bail("mmap: %s", strerror(errno));
	return p;
}

struct parent_view {
	char perms[5];
	int present;
	long locked_kb, vmlck;
};

static void view(struct parent_view *v)
{
	probe_perms(reg + 600 * pg, v->perms);
	v->present = probe_present(reg + 600 * pg);
	v->locked_kb = probe_locked_kb(reg, NPG * pg);
	v->vmlck = probe_status_kb("VmLck:");
}

/* ---- fork ---- */

enum {
	C_PATTERN = 1, C_WRITE = 2, C_VMLCK = 4, C_LOCKED = 8, C_SHARED = 16,
};

static void fork_child(void *arg)
{
	int fails = 0;

	(void)arg;
	if (bad_pattern(reg))
		fails |= C_PATTERN;
	for (size_t i = DATA; i < NPG; i++)
		*word(reg, i) = ~pattern(i);
	for (size_t i = DATA; i < NPG; i++)
		if (*word(reg, i) != ~pattern(i))
			fails |= C_WRITE;
	*word(shr, 5) = 0xc0ffee;
	if (*word(shr, 0) != 42)
		fails |= C_SHARED;
	if (probe_status_kb("VmLck:") != 0)
		fails |= C_VMLCK;
	if (probe_rollup_kb("Locked:") != 0)
		fails |= C_LOCKED;
	fflush(NULL);
	_exit(fails);
}

static void test_fork(void)
{
	struct parent_view before, after;
	char buf[64];
	int st;

	view(&before);
	st = probe_fork(fork_child, NULL);
	ok(WIFEXITED(st), "fork: the child ran (%s)",
	   probe_status_str(st, buf, sizeof(buf)));
	st = WIFEXITED(st) ? WEXITSTATUS(st) : 0xff;
	ok(!(st & C_PATTERN), "fork: the child reads the pattern written before mlock");
	ok(!(st & C_WRITE), "fork: the child writes and reads back every pending page");
	ok(!(st & C_VMLCK), "fork: the child's VmLck is 0");
	ok(!(st & C_LOCKED), "fork: the child's smaps_rollup Locked: is 0");
	ok(!(st & C_SHARED), "fork: the child reads the shared region's data");

	view(&after);
	ok(probe_pending(reg + 600 * pg, "rw-p") && !after.present &&
	   !strcmp(before.perms, after.perms),
	   "fork: the parent's untouched pages are still pending (%s, present %d, %s engine)",
	   after.perms, after.present, probe_engine());
	ok(after.locked_kb == before.locked_kb &&
	   after.locked_kb == (long)(DATA * pg >> 10) &&
	   after.vmlck == before.vmlck,
	   "fork: the parent's Locked: (%ld kB) and VmLck (%ld kB) are unchanged",
	   after.locked_kb, after.vmlck);
	ok(*word(reg, 600) == 0 && !bad_pattern(reg),
	   "fork: the parent keeps its data, the child's private writes are not seen");
	ok(*word(shr, 5) == 0xc0ffee && probe_page_locked(shr + 5 * pg) != 0,
	   "fork: the child's write to the shared region is seen, locked in the parent");
}

/* ---- vfork, posix_spawn ---- */

static volatile int vfork_read;

static void test_vfork(void)
{
	long vm = probe_status_kb("VmLck:");
	int st = -1;
	pid_t pid;

	vfork_read = 0;
	fflush(NULL);
	pid = vfork();
	if (pid == 0) {
		char *argv[] = { "true", NULL };

		vfork_read = *word(reg, 100) == pattern(100);
		execve("/bin/true", argv, environ);
		_exit(127);
	}
	if (pid > 0)
		waitpid(pid, &st, 0);
	ok(pid > 0 && WIFEXITED(st) && WEXITSTATUS(st) == 0,
	   "vfork: exec of /bin/true works");
	ok(vfork_read, "vfork: the child reads a pending page of the shared memory");
	ok(probe_status_kb("VmLck:") == vm, "vfork: the parent's VmLck is unchanged");
}

static int spawn(const char *path, char *const argv[], int out_fd)
{
	posix_spawn_file_actions_t fa;
	pid_t pid;
	int st = -1, r;

	posix_spawn_file_actions_init(&fa);
	if (out_fd >= 0)
		posix_spawn_file_actions_adddup2(&fa, out_fd, 1);
	r = posix_spawn(&pid, path, &fa, NULL, argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	if (r)
		return -r;
	if (waitpid(pid, &st, 0) != pid)
		return -1;
	return st;
}

static void test_spawn(void)
{
	char *argv[] = { "true", NULL }, *eargv[3];
	char *arg = reg + 700 * pg, got[64] = "";
	int fds[2], st;
	ssize_t n;

	st = spawn("/bin/true", argv, -1);
	ok(st >= 0 && WIFEXITED(st) && WEXITSTATUS(st) == 0,
	   "posix_spawn: /bin/true runs (status %d)", st);

	/* The argument string is written, then made pending again. */
	strcpy(arg, "pending-argument");
	mlock(reg, NPG * pg);
	eargv[0] = "echo";
	eargv[1] = arg;
	eargv[2] = NULL;
	if (pipe(fds))
		bail("pipe: %s", strerror(errno));
	st = spawn("/bin/echo", eargv, fds[1]);
	close(fds[1]);
	n = read(fds[0], got, sizeof(got) - 1);
	close(fds[0]);
	got[n > 0 ? n : 0] = '\0';
	ok(st >= 0 && WIFEXITED(st) && WEXITSTATUS(st) == 0 &&
	   !strcmp(got, "pending-argument\n"),
	   "posix_spawn: an argument in a pending page reaches the program (status %d, got \"%.20s\")",
	   st, got);
}

/* ---- forks while another thread changes the table ---- */

static volatile int stop;
static long churns;

static void *churner(void *arg)
{
	(void)arg;
	while (!stop) {
		mlock(churn, 256 * pg);
		churn[(churns % 256) * pg] = 1;
		munlock(churn, 256 * pg);
		churns++;
	}
	return NULL;
}

static void fork_touch_child(void *arg)
{
	(void)arg;
	churn[7 * pg] = 2;
	_exit(bad_pattern(reg) || *word(reg, 900) != 0 ? 1 : 0);
}

static void test_fork_churn(void)
{
	char *argv[] = { "true", NULL };
	pthread_t t;
	int bad = 0, spawned_bad = 0;
	double t0 = probe_now_ms();

	if (pthread_create(&t, NULL, churner, NULL))
		bail("pthread_create");
	for (int i = 0; i < FORKS; i++) {
		int st;

		if (i % 20 == 19) {
			st = spawn("/bin/true", argv, -1);
			spawned_bad += !(st >= 0 && WIFEXITED(st) &&
					 WEXITSTATUS(st) == 0);
			continue;
		}
		st = probe_fork(fork_touch_child, NULL);
		bad += !(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	}
	stop = 1;
	pthread_join(t, NULL);
	ok(bad == 0 && spawned_bad == 0 && churns > 0,
	   "%d forks and posix_spawns while a thread looped mlock/munlock %ld times: no deadlock, %d children failed, %d spawns failed (%.0f ms)",
	   FORKS, churns, bad, spawned_bad, probe_now_ms() - t0);
	ok(!bad_pattern(reg) && probe_locked_kb(reg, NPG * pg) >=
	   (long)(DATA * pg >> 10), "after the forks the parent's region is intact and locked");
}

int main(void)
{
	plan(0);
	probe_require_preloaded();
	watchdog("a phase hung");
	pg = probe_page_size();

	reg = map(MAP_PRIVATE, NPG);
	shr = map(MAP_SHARED, 16);
	churn = map(MAP_PRIVATE, 256);
	for (size_t i = 0; i < DATA; i++)
		*word(reg, i) = pattern(i);
	*word(shr, 0) = 42;
	if (mlock(reg, NPG * pg) || mlock(shr, 16 * pg))
		bail("mlock: %s", strerror(errno));

	alarm(30);
	test_fork();
	alarm(30);
	test_vfork();
	alarm(30);
	test_spawn();
	alarm(60);
	test_fork_churn();
	alarm(0);
	return done();
}
