/*
 * stats-ends.c - a program that locks 16 MiB, touches 1 MiB of it and
 * then ends the way its argument says, for test-stats-ends.sh:
 *
 *   exit       return from main
 *   _exit      _exit(3)           _Exit   _Exit(4)
 *   exec       execv /bin/true (the new image writes its own report)
 *   execfail   execv of a file that does not exist, then exit(5)
 *   vforkexec  vfork, the child execs /bin/true; the parent exits 0
 *   segv       a write to address 0 (a real fault, SIGSEGV)
 *   sentsegv   kill(getpid(), SIGSEGV)
 *   abort      abort()
 *   term       kill(getpid(), SIGTERM)
 *   bus        SIGBUS by a touch of a page beyond a file's end
 *   query      print what sigaction() shows for SIGTERM at start, after
 *              a handler is set, and after SIG_DFL is set again (with
 *              signal() too): the same lines as natively, the catcher
 *              is not visible
 *
 * Before ending it prints "touched_kb=N locked_kb=M": the size it
 * touched and the kernel's Locked: for the process (smaps_rollup).
 */
#define _GNU_SOURCE
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#define SIZE (16UL << 20)
#define TOUCH (1UL << 20)

static void on_term(int sig)
{
	(void)sig;
}

/* One line of what sigaction() reports, to compare with the kernel's. */
static void show(const char *step, const struct sigaction *a)
{
	unsigned long long mask = 0;

	for (int s = 1; s < 64; s++)
		if (sigismember(&a->sa_mask, s) == 1)
			mask |= 1ULL << (s - 1);
	printf("%s: handler=%s flags=%#x mask=%#llx\n", step,
	       a->sa_handler == SIG_DFL ? "dfl" :
	       a->sa_handler == on_term ? "on_term" : "other",
	       (unsigned)a->sa_flags, mask);
}

/* The kernel's Locked: for the whole process, in kB, or -1. */
static long locked_kb(void)
{
	FILE *f = fopen("/proc/self/smaps_rollup", "r");
	char line[256];
	long kb = -1;

	while (f && fgets(line, sizeof(line), f))
		if (sscanf(line, "Locked: %ld kB", &kb) == 1)
			break;
	if (f)
		fclose(f);
	return kb;
}

int main(int argc, char **argv)
{
	const char *how = argc > 1 ? argv[1] : "exit";
	char *p = mmap(NULL, SIZE, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	char *args[] = { "true", NULL };

	if (p == MAP_FAILED || mlock(p, SIZE)) {
		perror("mlock");
		return 99;
	}
	for (size_t i = 0; i < TOUCH; i += 4096)
		p[i] = 1;
	printf("touched_kb=%lu locked_kb=%ld\n", TOUCH >> 10, locked_kb());
	fflush(stdout);

	if (!strcmp(how, "_exit"))
		_exit(3);
	if (!strcmp(how, "_Exit"))
		_Exit(4);
	if (!strcmp(how, "exec")) {
		execv("/bin/true", args);
		return 98;
	}
	if (!strcmp(how, "execfail")) {
		if (execv("/nonexistent/stats-ends", args) == 0)
			return 98;
		exit(5);
	}
	if (!strcmp(how, "vforkexec")) {
		pid_t pid = vfork();
		int status;

		if (pid == 0) {
			execv("/bin/true", args);
			_exit(97);
		}
		waitpid(pid, &status, 0);
		printf("child=%d status=%d\n", (int)pid, status);
		return 0;
	}
	if (!strcmp(how, "segv"))
		*(volatile int *)0 = 1;
	if (!strcmp(how, "sentsegv"))
		kill(getpid(), SIGSEGV);
	if (!strcmp(how, "abort"))
		abort();
	if (!strcmp(how, "term"))
		kill(getpid(), SIGTERM);
	if (!strcmp(how, "bus")) {
		FILE *f = tmpfile();
		char *m = f ? mmap(NULL, 8192, PROT_READ, MAP_SHARED,
				   fileno(f), 0) : MAP_FAILED;

		if (m != MAP_FAILED)
			return m[4096];
		return 96;
	}
	if (!strcmp(how, "query")) {
		struct sigaction a, b;

		sigaction(SIGTERM, NULL, &a);
		show("initial", &a);
		memset(&b, 0, sizeof(b));
		b.sa_handler = on_term;
		sigaction(SIGTERM, &b, NULL);
		sigaction(SIGTERM, NULL, &a);
		show("handler", &a);
		b.sa_handler = SIG_DFL;
		sigaddset(&b.sa_mask, SIGUSR1);
		sigaction(SIGTERM, &b, &a);
		show("old", &a);
		sigaction(SIGTERM, NULL, &a);
		show("dfl", &a);
		printf("signal=%s\n",
		       signal(SIGTERM, SIG_DFL) == SIG_DFL ? "dfl" : "other");
		sigaction(SIGTERM, NULL, &a);
		show("signal", &a);
		return 0;
	}
	return 0;
}
