/*
 * t-exec.c - exec and spawn with their path, arguments and environment
 * in pending pages.
 *
 * The kernel reads them with copy_from_user, which cannot fault a
 * pending page in: without the library opening them first, each call
 * fails with EFAULT. The strings and arrays are written into a file (a
 * memfd), which is then mapped afresh and locked before anything
 * touches the mapping (probe_map_fresh): its pages hold the data but
 * are absent from the page tables, so they are pending under every
 * mode of the sigsegv engine. Writing into a locked anonymous range and
 * locking it again would not do: the emulation of lock-on-fault (a
 * kernel without MLOCK_ONFAULT, the sim43 variant) locks pages already
 * present at once and leaves them accessible, as the kernel's
 * MLOCK_ONFAULT does. Each call must then run /bin/sh and get its exit
 * status back. vfork and posix_spawn run no fork hooks, so the child
 * sees the parent's pending pages as they are.
 *
 * By engine: under sigsegv (either mode) the pages are checked ---p
 * before the calls; under native nothing is protected, and they are
 * checked rw-p, VmFlags lo and lf, and absent (probe_pending()).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include "probe.h"
#include "tap.h"

#define SIZE (1UL << 20)

static char *region;
static int fd;
static char *path, *opt, *cmd, *env0;
static char **argv_p, **envp_p;

/* Write n bytes of p at offset off of the file. */
static void put(size_t off, const void *p, size_t n)
{
	if (pwrite(fd, p, n, (off_t)off) != (ssize_t)n)
		bail("pwrite");
}

/*
 * Lay the call out in the file, with pointers into the region, then map
 * the region afresh over it and lock it: all of it is pending.
 */
static void lay_out(int code)
{
	char buf[128], *argv_w[4], *envp_w[2];

	path = region;
	opt = region + 64;
	cmd = region + 128;
	env0 = region + 256;
	put(0, "/bin/sh", sizeof("/bin/sh"));
	put(64, "-c", sizeof("-c"));
	snprintf(buf, sizeof(buf), "exit $((%d + ${T_EXEC_ADD:-100}))", code);
	put(128, buf, strlen(buf) + 1);
	put(256, "T_EXEC_ADD=0", sizeof("T_EXEC_ADD=0"));
	argv_p = (char **)(region + SIZE / 2);
	argv_w[0] = path;
	argv_w[1] = opt;
	argv_w[2] = cmd;
	argv_w[3] = NULL;
	put(SIZE / 2, argv_w, sizeof(argv_w));
	envp_p = argv_p + 8;
	envp_w[0] = env0;
	envp_w[1] = NULL;
	put(SIZE / 2 + 8 * sizeof(char *), envp_w, sizeof(envp_w));
	if (probe_map_fresh(region, SIZE, fd) == MAP_FAILED)
		bail("mmap");
	if (mlock(region, SIZE))
		bail("mlock");
}

/*
 * ---p under the sigsegv engine; under native the kernel's
 * MLOCK_ONFAULT: rw-p, VmFlags lo and lf, absent.
 */
static int pending(void)
{
	return probe_pending(region, "rw-p") && probe_pending(argv_p, "rw-p");
}

static int status_of(pid_t pid)
{
	int st;

	if (pid < 0 || waitpid(pid, &st, 0) != pid)
		return -1;
	return WIFEXITED(st) ? WEXITSTATUS(st) : 256 + WTERMSIG(st);
}

int main(void)
{
	pid_t pid;
	int r;

	probe_require_preloaded();
	plan(6);
	fd = probe_memfd("t-exec", SIZE);
	if (fd < 0)
		bail("memfd");
	region = probe_map_fresh(NULL, SIZE, fd);
	if (region == MAP_FAILED)
		bail("mmap");

	lay_out(1);
	ok(pending(), "path, arguments and environment are in pending pages");

	pid = vfork();
	if (pid == 0) {
		execve(path, argv_p, envp_p);
		_exit(errno == EFAULT ? 90 : 91);
	}
	r = status_of(pid);
	ok(r == 1, "vfork + execve from pending pages runs (status %d)", r);

	lay_out(2);
	pid = vfork();
	if (pid == 0) {
		execl(path, "sh", opt, cmd, (char *)NULL);
		_exit(errno == EFAULT ? 90 : 91);
	}
	r = status_of(pid);
	ok(r == 102, "vfork + execl from pending pages runs (status %d)", r);

	lay_out(3);
	r = posix_spawn(&pid, path, NULL, NULL, argv_p, envp_p);
	if (r == 0)
		r = status_of(pid);
	ok(r == 3, "posix_spawn from pending pages runs (status %d)", r);

	lay_out(4);
	r = posix_spawnp(&pid, "sh", NULL, NULL, argv_p, envp_p);
	if (r == 0)
		r = status_of(pid);
	ok(r == 4, "posix_spawnp from pending pages runs (status %d)", r);

	lay_out(5);
	r = system(cmd);
	ok(WIFEXITED(r) && WEXITSTATUS(r) == 105,
	   "system() of a command in a pending page runs (status %d)",
	   WIFEXITED(r) ? WEXITSTATUS(r) : -1);
	return done();
}
