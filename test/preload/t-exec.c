/*
 * t-exec.c - exec and spawn with their path, arguments and environment
 * in pending pages.
 *
 * The kernel reads them with copy_from_user, which cannot fault a
 * pending page in: without the library opening them first, each call
 * fails with EFAULT. The strings and arrays are written into a locked
 * range, which a second mlock makes pending again (the data stays), and
 * each call must then run /bin/sh and get its exit status back. vfork
 * and posix_spawn run no fork hooks, so the child sees the parent's
 * pending pages as they are.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <spawn.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include "probe.h"
#include "tap.h"

#define SIZE (1UL << 20)

static char *region;
static char *path, *opt, *cmd, *env0;
static char **argv_p, **envp_p;

/* Lay the call out in the region, then make it all pending again. */
static void lay_out(int code)
{
	char *at = region;

	if (munlock(region, SIZE))
		bail("munlock");
	path = strcpy(at, "/bin/sh");
	at += 64;
	opt = strcpy(at, "-c");
	at += 64;
	cmd = at;
	sprintf(cmd, "exit $((%d + ${T_EXEC_ADD:-100}))", code);
	at += 128;
	env0 = strcpy(at, "T_EXEC_ADD=0");
	at += 64;
	argv_p = (char **)(region + SIZE / 2);
	argv_p[0] = path;
	argv_p[1] = opt;
	argv_p[2] = cmd;
	argv_p[3] = NULL;
	envp_p = argv_p + 8;
	envp_p[0] = env0;
	envp_p[1] = NULL;
	if (mlock(region, SIZE))
		bail("mlock");
}

/*
 * The sigsegv engine protects the written pages again (---p); the
 * native engine leaves them to the kernel's MLOCK_ONFAULT, which locks
 * present pages at once: rw-p, VmFlags lo and lf.
 */
static int pending(void)
{
	return probe_onfault_written(region) &&
	       probe_onfault_written(argv_p);
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
	region = mmap(NULL, SIZE, PROT_READ | PROT_WRITE,
		      MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (region == MAP_FAILED)
		bail("mmap");
	if (mlock(region, SIZE))
		bail("mlock");

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
