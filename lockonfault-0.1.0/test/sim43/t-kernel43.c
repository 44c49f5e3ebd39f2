/*
 * t-kernel43.c - lof-kernel43 makes this kernel answer as Linux 4.3.
 *
 * Run without the library (it lives outside test/preload). First, with
 * no filter, the controls: this kernel has mlock2(MLOCK_ONFAULT) and
 * mlockall(MCL_ONFAULT), so the filter is what refuses them below; and
 * lof-kernel43 exits as env(1) does for a command it cannot run. Then
 * the program executes itself under lof-kernel43 and, numbering on,
 * checks every answer of the filter with the raw system calls, in this
 * process (so across exec) and in a forked child.
 *
 * Environment: LOF_TOP_BUILDDIR (where test/sim43/lof-kernel43 is).
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../preload/tap.h"

#ifndef MLOCK_ONFAULT
#define MLOCK_ONFAULT 1
#endif
#ifndef MCL_ONFAULT
#define MCL_ONFAULT 4
#endif
#define K43_MADV_COLD 20

#define LEN (64 * 4096)

static char tool[4096];

/* The raw call, never a library's: its result, errno set on failure. */
static long sys(long nr, long a, long b, long c)
{
	errno = 0;
	return syscall(nr, a, b, c);
}

/* The raw call failed with err. */
static int fails(long r, int err)
{
	return r == -1 && errno == err;
}

/* lof-kernel43 ARGS... in a child, stderr silenced: its exit status. */
static int tool_status(char *const args[])
{
	char *argv[8] = { tool };
	pid_t pid;
	int st, i;

	for (i = 0; args[i] && i < 6; i++)
		argv[i + 1] = args[i];
	fflush(NULL);
	pid = fork();
	if (pid == 0) {
		if (!freopen("/dev/null", "w", stderr))
			_exit(120);
		execv(tool, argv);
		_exit(121);
	}
	if (pid < 0 || waitpid(pid, &st, 0) != pid || !WIFEXITED(st))
		return -1;
	return WEXITSTATUS(st);
}

/* The controls, without the filter; then exec self under it. */
static void outside(char *self)
{
	char *p = mmap(NULL, LEN, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	char *missing[] = { "--", "/nonexistent/lof-k43", NULL };
	char *noexec[] = { "/dev/null", NULL };
	char *none[] = { NULL };
	char n[16];

	if (p == MAP_FAILED)
		bail("mmap: %s", strerror(errno));
	ok(sys(SYS_mlock2, (long)p, LEN, MLOCK_ONFAULT) == 0 &&
	   sys(SYS_munlock, (long)p, LEN, 0) == 0,
	   "control: without the filter this kernel has mlock2(MLOCK_ONFAULT)");
	ok(sys(SYS_mlockall, MCL_CURRENT | MCL_ONFAULT, 0, 0) == 0 &&
	   sys(SYS_munlockall, 0, 0, 0) == 0,
	   "control: without the filter mlockall(MCL_CURRENT|MCL_ONFAULT) works");
	ok(tool_status(missing) == 127, "a command not found exits 127");
	ok(tool_status(noexec) == 126, "a command not executable exits 126");
	ok(tool_status(none) == 125, "no command is a usage error, 125");

	/* Go on under the filter: the same program, numbering on. */
	snprintf(n, sizeof(n), "%d", tap_run);
	{
		char *argv[] = { tool, "--", self, "--under", n, NULL };

		fflush(NULL);
		execv(tool, argv);
	}
	bail("execv %s: %s", tool, strerror(errno));
}

/*
 * What the filter answers, in order; a0 0 stands for the test mapping.
 * err 0: the call works.
 */
static const struct call {
	const char *what;
	long nr, a0, a1, a2;
	int err;
} calls[] = {
	{ "mlock2(flags 0) gives", SYS_mlock2, 0, LEN, 0, ENOSYS },
	{ "mlock2(MLOCK_ONFAULT) gives", SYS_mlock2, 0, LEN, MLOCK_ONFAULT,
	  ENOSYS },
	{ "mlockall(MCL_CURRENT|MCL_ONFAULT) gives", SYS_mlockall,
	  MCL_CURRENT | MCL_ONFAULT, 0, 0, EINVAL },
	{ "mlockall(MCL_FUTURE|MCL_ONFAULT) gives", SYS_mlockall,
	  MCL_FUTURE | MCL_ONFAULT, 0, 0, EINVAL },
	{ "mlockall(MCL_FUTURE)", SYS_mlockall, MCL_FUTURE, 0, 0, 0 },
	{ "then munlockall()", SYS_munlockall, -1, 0, 0, 0 },
	{ "madvise(MADV_COLD) gives", SYS_madvise, 0, LEN, K43_MADV_COLD,
	  EINVAL },
	{ "madvise(MADV_FREE) gives", SYS_madvise, 0, LEN, 8, EINVAL },
	{ "madvise(MADV_DONTNEED), which 4.3 has,", SYS_madvise, 0, LEN,
	  MADV_DONTNEED, 0 },
	{ "a plain mlock", SYS_mlock, 0, LEN, 0, 0 },
	{ "and munlock", SYS_munlock, 0, LEN, 0, 0 },
};

/* What a forked child of the filtered process checks again. */
static int child_checks(char *p)
{
	int bad = 0;

	if (!fails(sys(SYS_mlock2, (long)p, LEN, 0), ENOSYS))
		bad |= 1;
	if (!fails(sys(SYS_mlockall, MCL_CURRENT | MCL_ONFAULT, 0, 0), EINVAL))
		bad |= 2;
	if (sys(SYS_mlock, (long)p, LEN, 0) != 0)
		bad |= 4;
	return bad;
}

/* Under the filter (inherited across lof-kernel43's exec). */
static void under(char *p)
{
	char line[256];
	int seccomp = -1, nnp = -1, st = -1;
	FILE *f = fopen("/proc/self/status", "re");
	size_t i;
	pid_t pid;

	while (f && fgets(line, sizeof(line), f)) {
		sscanf(line, "Seccomp: %d", &seccomp);
		sscanf(line, "NoNewPrivs: %d", &nnp);
	}
	if (f)
		fclose(f);
	ok(seccomp == 2 && nnp == 1,
	   "under lof-kernel43: Seccomp: 2 (filter), NoNewPrivs: 1 (%d, %d)",
	   seccomp, nnp);

	for (i = 0; i < sizeof(calls) / sizeof(calls[0]); i++) {
		const struct call *c = &calls[i];
		long r = sys(c->nr, c->a0 ? c->a0 : (long)p, c->a1, c->a2);
		int e = r ? errno : 0;

		ok(c->err ? r == -1 && e == c->err : r == 0,
		   "%s %s (returns %ld, errno %d)", c->what,
		   c->err ? strerror(c->err) : "works", r, e);
	}

	fflush(NULL);
	pid = fork();
	if (pid == 0)
		_exit(child_checks(p));
	if (pid > 0)
		waitpid(pid, &st, 0);
	ok(pid > 0 && WIFEXITED(st) && WEXITSTATUS(st) == 0,
	   "a forked child inherits the filter (status %#x)", st);
}

int main(int argc, char **argv)
{
	const char *top = getenv("LOF_TOP_BUILDDIR");
	char self[4096], *p;

	snprintf(tool, sizeof(tool), "%s/test/sim43/lof-kernel43",
		 top ? top : ".");
	if (argc == 3 && strcmp(argv[1], "--under") == 0) {
		tap_planned = 0;
		tap_run = atoi(argv[2]);
		setvbuf(stdout, NULL, _IOLBF, 0);
		p = mmap(NULL, LEN, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (p == MAP_FAILED)
			bail("mmap: %s", strerror(errno));
		under(p);
		return done();
	}
	plan(0);
	if (access(tool, X_OK))
		bail("%s is not built", tool);
	if (!realpath(argv[0], self))
		bail("realpath %s: %s", argv[0], strerror(errno));
	outside(self);
	return done();
}
