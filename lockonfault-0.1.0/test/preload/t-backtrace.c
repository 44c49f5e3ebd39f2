/*
 * t-backtrace.c - LOCKONFAULT_BACKTRACE=1: a genuine crash prints a
 * backtrace naming the crashing function on stderr, then dies of
 * SIGSEGV as it would have; without the variable, nothing is printed.
 *
 * The crash runs in a re-executed copy of this program (the library
 * reads its variables when it loads), with stderr on a pipe.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include "probe.h"
#include "tap.h"

__attribute__((noinline)) void lof_test_crash_here(void);

__attribute__((noinline)) void lof_test_crash_here(void)
{
	*(volatile int *)(uintptr_t)0x10000 = 42;
}

/* Run this program with --crash and env; return its status and stderr. */
static int run_crash(const char *env, char *err, size_t size)
{
	int p[2], st;
	size_t n = 0;
	ssize_t r;
	pid_t pid;

	if (pipe(p))
		bail("pipe");
	pid = fork();
	if (pid == 0) {
		struct rlimit no = { 0, 0 };

		setrlimit(RLIMIT_CORE, &no);
		dup2(p[1], 2);
		close(p[0]);
		if (env)
			putenv((char *)env);
		else
			unsetenv("LOCKONFAULT_BACKTRACE");
		execl("/proc/self/exe", "t-backtrace", "--crash", (char *)NULL);
		_exit(127);
	}
	close(p[1]);
	while (n + 1 < size && (r = read(p[0], err + n, size - 1 - n)) > 0)
		n += (size_t)r;
	err[n] = '\0';
	close(p[0]);
	waitpid(pid, &st, 0);
	return st;
}

int main(int argc, char **argv)
{
	static char err[65536];
	int st;

	if (argc > 1 && !strcmp(argv[1], "--crash")) {
		lof_test_crash_here();
		return 0;
	}
	probe_require_preloaded();
	plan(4);

	st = run_crash("LOCKONFAULT_BACKTRACE=1", err, sizeof(err));
	ok(WIFSIGNALED(st) && WTERMSIG(st) == SIGSEGV,
	   "with LOCKONFAULT_BACKTRACE=1 the crash still dies of SIGSEGV");
	if (probe_native()) {
		/* The backtrace comes from the sigsegv engine's handler. */
		skip(2, "the native engine installs no SIGSEGV handler to "
		     "print a backtrace from");
	} else {
		ok(strstr(err, "lockonfault: backtrace") != NULL,
		   "a backtrace is printed on stderr");
		ok(strstr(err, "lof_test_crash_here") != NULL,
		   "the backtrace names the crashing function");
		if (!strstr(err, "lof_test_crash_here"))
			diag("stderr was: %s", err);
	}

	st = run_crash(NULL, err, sizeof(err));
	ok(WIFSIGNALED(st) && WTERMSIG(st) == SIGSEGV && !strstr(err, "backtrace"),
	   "without it the crash dies of SIGSEGV and prints nothing");
	return done();
}
